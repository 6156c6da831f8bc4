"""The run configuration: every flag a key, flags override the file, errors name the key."""

from __future__ import annotations

import pytest
import typer
import yaml

from fincast.cli import app, main
from fincast.cli_options import INVOCATION
from fincast.config import RunConfig, load_config
from fincast.errors import ConfigError
from tests.conftest import make_ohlcv

#: Options that are about the invocation, not the run: the config file itself, finishing
#: an existing run directory, the progress display, tune's budget… (declared once too).
NOT_RUN_SETTINGS = set(INVOCATION)

RUN_COMMANDS = ("backtest", "train", "tune")


def _params(command: str = "backtest") -> dict[str, object]:
    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {p.name: p for p in cmd.params}


@pytest.mark.parametrize("command", RUN_COMMANDS)
def test_every_flag_is_a_config_key(command):
    flags = set(_params(command)) - NOT_RUN_SETTINGS
    missing = sorted(flags - set(RunConfig.model_fields))
    assert not missing, f"{command} options with no RunConfig key: {missing}"


@pytest.mark.parametrize("command", RUN_COMMANDS)
def test_every_config_key_is_a_flag_with_one_help_text(command):
    params = _params(command)
    missing = sorted(set(RunConfig.model_fields) - set(params))
    assert not missing, f"RunConfig keys with no {command} option: {missing}"
    backtest = _params("backtest")
    for key in RunConfig.model_fields:  # generated from one declaration: the same help
        assert params[key].help == backtest[key].help, key  # type: ignore[attr-defined]
        assert RunConfig.model_fields[key].description in params[key].help  # type: ignore[attr-defined,operator]


@pytest.mark.parametrize("command", RUN_COMMANDS)
def test_run_commands_share_the_invocation_flags(command):
    assert {"config", "quiet", "debug"} <= set(_params(command))


def test_train_accepts_quiet(capsys, tmp_path):
    """`fincast train --quiet` used to be refused as an unknown option."""
    code = main(["train", str(tmp_path / "missing.csv"), "--quiet", "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2 and "missing.csv" in err and "No such option" not in err


def test_flags_override_the_config_file(tmp_path, capsys):
    data = tmp_path / "p.csv"
    make_ohlcv(200).drop(columns="ticker").to_csv(data, index=False)
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump({"data": str(data), "models": ["naive"], "folds": 4, "epochs": 7, "seed": 3})
    )
    out = tmp_path / "run"
    code = main(["backtest", "--config", str(config), "--folds", "2", "--out", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert (saved["folds"], saved["epochs"], saved["seed"]) == (2, 7, 3)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("batchsize: 8\n", "unknown key `batchsize`; did you mean `batch_size`?"),
        ("lookbak: 8\n", "unknown key `lookbak`; did you mean `lookback`?"),
        ("zzz: 1\n", "unknown key `zzz`"),
        ("lr: fast\n", "`lr`: Input should be a valid number, unable to parse string as a number (got 'fast')"),
        ("epochs: 2.5\n", "`epochs`: Input should be a valid integer, got a number with a fractional part (got 2.5)"),
        ("window: sideways\n", "`window`: Input should be 'expanding' or 'rolling' (got 'sideways')"),
        ("horizon: soon\n", "`horizon`: Value error, expected whole numbers like 1 or 1,5,20, got 'soon'"),
        ("baselines: 3\n", "`baselines`"),
    ],
)  # fmt: skip
def test_bad_config_values_name_the_key_and_the_value(tmp_path, text, words):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert words in message and str(path) in message
    assert "\n" not in message


def test_a_config_file_round_trips(tmp_path):
    cfg = RunConfig(models={"mlp": {"units": 8}}, horizon=[1, 5], folds=3)
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    assert load_config(path) == cfg


def test_models_flag_picks_models_and_keeps_their_hyperparameters_from_the_file(tmp_path):
    """``--config zoo.yaml --models gru`` trains zoo.yaml's gru, not a default one."""
    path = tmp_path / "zoo.yaml"
    path.write_text("models:\n  lstm: {epochs: 5, units: 8}\n  gru: {epochs: 7}\n")
    assert load_config(path).models == {"lstm": {"epochs": 5, "units": 8}, "gru": {"epochs": 7}}
    assert load_config(path, {"models": "gru"}).models == {"gru": {"epochs": 7}}
    assert load_config(path, {"models": ["gru", "lstm", "mlp"]}).models == {
        "gru": {"epochs": 7},
        "lstm": {"epochs": 5, "units": 8},
        "mlp": {},
    }
    # a mapping on the command line (the Python API) replaces the file's
    assert load_config(path, {"models": {"gru": {"epochs": 2}}}).models == {"gru": {"epochs": 2}}
