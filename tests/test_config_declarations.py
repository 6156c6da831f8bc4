"""Each option is declared once (config.py): sections, constraints, the docs' options table, resume."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fincast.cli import main
from fincast.cli_options import INVOCATION, config_flags, flag, options_table, shown_default
from fincast.config import SECTIONS, RunConfig, build_config, option_info
from fincast.errors import ConfigError, RunError

#: The options reference of the docs site (its table is also rendered at build time).
OPTIONS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference" / "options.md"


def test_every_key_has_a_section_and_a_help_text():
    for name in RunConfig.model_fields:
        info = option_info(name)
        assert info["section"] in SECTIONS and info["help"].strip(), name
    assert sorted(config_flags()) == sorted(RunConfig.model_fields)


def test_training_section_is_what_networks_receive():
    cfg = RunConfig(lr=0.01, epochs=3, patience=2)
    training = cfg.section("training")
    assert training == {
        "epochs": 3,
        "batch_size": 32,
        "lr": 0.01,
        "optimizer": "adam",
        "loss": None,
        "dropout": 0.0,
        "l1": 0.0,
        "l2": 0.0,
        "patience": 2,
        "val_fraction": 0.2,
        "shrink": True,
    }
    assert cfg.lr == 0.01 and cfg.task == "return"  # flat access keeps working
    merged = {k for s in SECTIONS for k in cfg.section(s)}
    assert merged == set(RunConfig.model_fields)
    with pytest.raises(ConfigError, match="unknown config section 'train'"):
        cfg.section("train")


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"dropout": 1.0}, "dropout must be in [0, 1), got 1.0"),
        ({"val_fraction": 0.5}, "val_fraction must be in (0, 0.5), got 0.5"),
        ({"lr": 0}, "lr must be > 0, got 0"),
        ({"epochs": 0}, "epochs must be a whole number >= 1, got 0"),
        ({"horizon": "1,0"}, "horizon must be a whole number of steps >= 1, got 0"),
        ({"workers": 0}, "workers must be a whole number >= 1, got 0"),
        ({"fillna": "x"}, "--fillna must be error, ffill or drop, got 'x'"),
        ({"window": "x"}, "--window must be expanding or rolling, got 'x'"),
    ],
)
def test_constraints_live_on_the_field(values, words):
    with pytest.raises(ConfigError) as info:
        build_config(values, where="command line")
    assert str(info.value).split("; pass e.g.")[0] == f"command line: {words}"


@pytest.mark.parametrize("command", ["backtest", "train", "tune"])
def test_a_constraint_is_a_one_line_exit_2_in_every_command(command, capsys, tmp_path):
    code = main([command, "--dropout", "2", "--out", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "error: command line: dropout must be in [0, 1), got 2.0; pass e.g. --dropout 0.0"
    ]
    assert not (tmp_path / "o").exists()


def _options_page_table() -> str:
    text = OPTIONS_PAGE.read_text(encoding="utf-8")
    found = re.search(r"<!-- options:start -->\n(.*?)\n<!-- options:end -->", text, re.S)
    assert found, "docs/reference/options.md lost its generated options table markers"
    return found.group(1)


def test_options_page_table_is_the_declarations():
    assert _options_page_table() == options_table(), (
        "docs/reference/options.md options table is out of date; paste the output of "
        '`python -c "from fincast.cli_options import options_table as t; print(t())"`'
    )
    table = _options_page_table()
    for name in RunConfig.model_fields:  # every key, with its default
        shown = "`DATA`" if name == "data" else f"`{flag(name)}`"
        row = next(r for r in table.splitlines() if r.startswith(f"| {shown} |"))
        assert f"`{shown_default(name).replace('|', chr(92) + '|')}`" in row, name
    for name in INVOCATION:
        assert any(f"`{n}`" in table for n in ("--" + name.replace("_", "-"), "--json")), name


def _interrupted_run(tmp_path: Path, data: Path) -> Path:
    """A run directory as a killed run leaves it: config.yaml and parts, no manifest."""
    out = tmp_path / "run"
    cfg = build_config({"data": str(data), "models": ["naive"], "folds": 2, "out": str(out)})
    (out / "parts").mkdir(parents=True)
    (out / "config.yaml").write_text(cfg.to_yaml())
    return out


def test_python_resume_with_other_settings_is_refused(tmp_path, ohlcv_csv):
    from fincast import run_backtest

    out = _interrupted_run(tmp_path, ohlcv_csv)
    stored = yaml.safe_load((out / "config.yaml").read_text())
    changed = build_config({**stored, "folds": 3})
    with pytest.raises(RunError, match=r"cannot resume .* different settings \(folds 2 -> 3\)"):
        run_backtest(changed, resume=True)
    assert not (out / "manifest.json").exists()
    moved = build_config({**stored, "workers": 1})  # where units run may change
    result = run_backtest(moved, resume=True)
    assert (result.run_dir / "manifest.json").is_file()


def test_cli_resume_with_other_settings_is_refused(tmp_path, ohlcv_csv, capsys):
    out = _interrupted_run(tmp_path, ohlcv_csv)
    code = main(["backtest", "--resume", str(out), "--folds", "3", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "different settings (folds 2 -> 3)" in err


def test_a_run_config_reruns_exactly(tmp_path, ohlcv_csv):
    out = tmp_path / "a"
    assert main(["backtest", str(ohlcv_csv), "--models", "naive,mean", "--folds", "2",
                 "--out", str(out), "-q"]) == 0  # fmt: skip
    again = tmp_path / "b"
    assert main(["backtest", "--config", str(out / "config.yaml"), "--out", str(again), "-q"]) == 0
    assert (out / "predictions.csv").read_bytes() == (again / "predictions.csv").read_bytes()
