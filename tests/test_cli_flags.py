"""One consistent set of flags: the shared options are accepted by every command using them."""

from __future__ import annotations

import pytest

from fincast.cli import main

DATA_FLAGS = ("--date-col", "--id-col", "--fillna", "--sep", "--decimal", "--thousands")
DATA_FLAGS += ("--wide", "--values", "--calendar")
USES = {
    "backtest": ("--quiet", "--debug", "--seed", "--out", "--config", *DATA_FLAGS, "--target"),
    "train": ("--quiet", "--debug", "--seed", "--out", "--config", *DATA_FLAGS, "--target"),
    "tune": ("--quiet", "--debug", "--seed", "--out", "--config", *DATA_FLAGS, "--target"),
    "validate": ("--quiet", "--debug", *DATA_FLAGS, "--target"),
    "predict": ("--quiet", "--debug", "--out", "--model", "--data", *DATA_FLAGS),
    "report": ("--quiet", "--debug"),
}


@pytest.mark.parametrize("command", sorted(USES))
def test_every_command_takes_the_shared_flags_it_can_use(command, capsys):
    assert main([command, "--help"]) == 0
    shown = capsys.readouterr().out
    missing = [f for f in USES[command] if f not in shown]
    assert not missing, f"`fincast {command}` lacks {missing}"


def test_predict_checks_its_data_flags(capsys, tmp_path):
    code = main(["predict", str(tmp_path / "d.csv"), "--model", str(tmp_path), "--fillna", "x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--fillna must be error, ffill or drop" in err[0]
    assert main(["predict", "--model", str(tmp_path)]) == 2
    assert "pass DATA (or --data)" in capsys.readouterr().err


def test_quiet_validate_prints_nothing_but_keeps_the_exit_code(capsys, ohlcv_csv, tmp_path):
    assert main(["validate", str(ohlcv_csv), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["validate", str(tmp_path / "missing.csv"), "--quiet"]) == 2
