"""The run configuration: every flag a key, flags override the file, errors name the key."""

from __future__ import annotations

import pytest
import typer
import yaml

from fincast.cli import app, main
from fincast.config import RunConfig, load_config
from fincast.errors import ConfigError
from tests.conftest import make_ohlcv

#: Options that are about the invocation, not the run: the config file itself, finishing
#: an existing run directory, and the progress display.
NOT_RUN_SETTINGS = {"config", "resume", "quiet"}


def _backtest_params() -> dict[str, object]:
    command = typer.main.get_command(app).commands["backtest"]  # type: ignore[attr-defined]
    return {p.name: p for p in command.params}


def test_every_backtest_flag_is_a_config_key():
    flags = set(_backtest_params()) - NOT_RUN_SETTINGS
    missing = sorted(flags - set(RunConfig.model_fields))
    assert not missing, f"backtest options with no RunConfig key: {missing}"


def test_every_config_key_is_a_backtest_flag():
    missing = sorted(set(RunConfig.model_fields) - set(_backtest_params()))
    assert not missing, f"RunConfig keys with no backtest option: {missing}"


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
