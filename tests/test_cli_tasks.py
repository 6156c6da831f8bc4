"""Command-line flags of the task options, the baselines and the per-model parameters."""

import pytest

from fincast.cli import main


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--task", "trend3", "--flat-band", "-1"], "flat_band must be >= 0"),
        (["--task", "volatility", "--vol-estimator", "garman"], "vol_estimator"),
        (
            ["--task", "trend3", "--loss", "mse"],
            "parameter `loss` 'mse' does not fit task 'trend3'",
        ),
        (["--task", "return", "--loss", "categorical_crossentropy"], "does not fit task"),
        (["--task", "return", "--baselines", "garch"], "does not support task 'return'"),
        (["--task", "volatility", "--models", "lstm", "--baselines", "majority"], "majority"),
    ],
)
def test_bad_task_flags_are_one_line_errors(capsys, tmp_path, ohlcv_csv, args, words):
    out_dir = tmp_path / "run"
    code = main(["backtest", str(ohlcv_csv), "--out", str(out_dir), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert not out_dir.exists()


def test_unknown_model_parameter_in_the_config_file(capsys, tmp_path, ohlcv_csv):
    config = tmp_path / "c.yaml"
    config.write_text("models:\n  lstm: {units: 8, layer: 2}\n")
    code = main(["backtest", str(ohlcv_csv), "--config", str(config), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert "model 'lstm' has no parameter `layer`; did you mean `layers`?" in err


@pytest.mark.parametrize("estimator", ["garman-klass", "rogers-satchell", "yang-zhang"])
def test_range_estimators_need_ohlc_one_line_error(capsys, tmp_path, ohlcv, estimator):
    path = tmp_path / "close.csv"
    ohlcv[["date", "Close"]].to_csv(path, index=False)
    out_dir = tmp_path / "run"
    args = ["--task", "volatility", "--vol-estimator", estimator, "--models", "ridge"]
    code = main(["backtest", str(path), "--out", str(out_dir), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.strip().splitlines() == [
        f"error: vol_estimator {estimator} needs open, high, low and close columns, and the "
        "data has no open, high and low column; add them or use --vol-estimator close"
    ]
    assert not out_dir.exists()


def test_garman_klass_backtest_on_the_builtin_sp500(capsys, tmp_path):
    out_dir = tmp_path / "run"
    args = ["--task", "volatility", "--vol-estimator", "garman-klass", "--models", "ridge"]
    code = main(["backtest", "builtin:sp500", *args, "--folds", "2", "--out", str(out_dir)])
    assert code == 0, capsys.readouterr().err
    config = (out_dir / "config.yaml").read_text()
    assert "vol_estimator: garman-klass" in config


def test_realized_without_an_rv_column_is_one_line_error(capsys, tmp_path, ohlcv_csv):
    out_dir = tmp_path / "run"
    args = ["--task", "volatility", "--vol-estimator", "realized", "--models", "ridge"]
    code = main(["backtest", str(ohlcv_csv), "--out", str(out_dir), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "realized needs a realised-variance column" in lines[0]
