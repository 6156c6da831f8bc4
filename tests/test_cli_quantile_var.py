"""``--task quantile`` and ``--task var`` from the command line: backtest, train, predict, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fincast.cli import main
from fincast.predictions import read_predictions
from tests.conftest import make_ohlcv


@pytest.fixture(scope="module")
def prices(tmp_path_factory):
    path = tmp_path_factory.mktemp("qv") / "prices.csv"
    make_ohlcv(500, seed=4).drop(columns="ticker").to_csv(path, index=False)
    return path


def _run(args: list[str]) -> int:
    return main(["backtest", *args, "--quiet"])


def test_quantile_backtest_end_to_end(tmp_path, prices):
    out = tmp_path / "q"
    args = [str(prices), "--task", "quantile", "--quantiles", "0.05,0.5,0.95"]
    args += ["--models", "mlp", "--epochs", "2", "--folds", "2", "--seeds", "2"]
    assert _run([*args, "--out", str(out)]) == 0
    pred = read_predictions(out / "predictions.csv")
    assert {"q_0.05", "q_0.5", "q_0.95"} <= set(pred.columns)
    assert set(pred["model"]) >= {"naive", "fhs", "riskmetrics", "mlp", "mlp-ensemble"}
    q = pred[["q_0.05", "q_0.5", "q_0.95"]].to_numpy()
    assert np.isfinite(q).all() and (np.diff(q, axis=1) >= 0).all()
    assert np.array_equal(pred["y_pred"], pred["q_0.5"])
    ens = pred[pred["model"] == "mlp-ensemble"]["q_0.05"].to_numpy()
    seeds = [pred[(pred["model"] == "mlp") & (pred["seed"] == s)]["q_0.05"] for s in (0, 1)]
    assert np.allclose(ens, np.mean([s.to_numpy() for s in seeds], axis=0))
    metrics = json.loads((out / "metrics.json").read_text())
    naive = pred[pred["model"] == "naive"]
    for level in ("0.05", "0.5", "0.95"):  # coverage is the share at or below the quantile
        want = float(np.mean(naive["y_true"] <= naive[f"q_{level}"]))
        assert metrics["models"]["naive"]["coverage"][level] == pytest.approx(want)
    assert metrics["significance"]["loss"] == "pinball"
    assert (out / "report.html").is_file()


def test_var_backtest_end_to_end_short_position(tmp_path, prices):
    out = tmp_path / "v"
    args = [str(prices), "--task", "var", "--alpha", "0.01,0.05", "--position", "short"]
    args += ["--models", "gru", "--epochs", "2", "--folds", "2"]
    assert _run([*args, "--out", str(out)]) == 0
    pred = read_predictions(out / "predictions.csv")
    cols = ["var_0.01", "es_0.01", "var_0.05", "es_0.05"]
    assert set(cols) <= set(pred.columns)
    assert set(pred["model"]) == {"naive", "fhs", "riskmetrics", "garch-normal", "gru"}
    assert (pred["es_0.01"] >= pred["var_0.01"]).all()
    assert (pred["var_0.01"] >= pred["var_0.05"]).all()
    assert np.allclose(pred["y_true"], -pred["fwd_return"])  # a short position's return
    metrics = json.loads((out / "metrics.json").read_text())
    entry = metrics["models"]["garch-normal"]["levels"]["0.05"]
    rows = pred[pred["model"] == "garch-normal"]
    assert entry["exceptions"] == int(np.sum(rows["y_true"] < -rows["var_0.05"]))
    assert entry["verdict"].startswith("95 % VaR breached")
    assert f"garch-normal: {entry['verdict']}" in metrics["verdict"]["notes"]
    assert "95 % VaR breached" in (out / "report.html").read_text()
    assert metrics["significance"]["loss"] == "fz0"
    assert (out / "report.html").is_file()


def test_train_and_predict_a_var_network(tmp_path, prices):
    model_dir = tmp_path / "m"
    code = main(["train", str(prices), "--task", "var", "--alpha", "0.025", "--models", "mlp",
                 "--epochs", "2", "--out", str(model_dir), "--quiet"])  # fmt: skip
    assert code == 0
    out = tmp_path / "f.csv"
    assert main(["predict", "--model", str(model_dir), "--data", str(prices),
                 "--out", str(out)]) == 0  # fmt: skip
    forecast = pd.read_csv(out)
    assert {"var_0.025", "es_0.025"} <= set(forecast.columns)
    assert (forecast["es_0.025"] >= forecast["var_0.025"]).all()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--task", "quantile", "--quantiles", "0.5,0.05"], "increasing order"),
        (["--task", "quantile", "--quantiles", "0.05,0.05"], "given twice"),
        (["--task", "quantile", "--quantiles", "0,0.5"], "outside (0, 1)"),
        (["--task", "var", "--alpha", "1"], "outside (0, 1)"),
        (["--task", "var", "--alpha", "0.05,0.01"], "increasing order"),
        (["--task", "var", "--transform", "diff"], "--transform diff applies to --task level"),
        (["--task", "quantile", "--baselines", "mean"], "baselines of quantile are naive"),
        (["--task", "var", "--position", "flat"], "position"),
    ],
)
def test_bad_quantile_and_var_flags_are_one_line_errors(capsys, tmp_path, prices, args, words):
    out_dir = tmp_path / "run"
    code = main(["backtest", str(prices), "--out", str(out_dir), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert not out_dir.exists()


def test_var_on_a_series_that_is_not_a_price_is_refused(capsys, tmp_path):
    frame = make_ohlcv(300, seed=1)[["date", "Close"]].rename(columns={"Close": "spread"})
    frame["spread"] = np.sin(np.arange(300) / 7.0)  # crosses zero: no log returns
    path = tmp_path / "spread.csv"
    frame.to_csv(path, index=False)
    code = main(["backtest", str(path), "--task", "var", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "var" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_tune_a_quantile_network(tmp_path, prices):
    out = tmp_path / "t"
    code = main(["tune", str(prices), "--task", "quantile", "--models", "mlp", "--trials", "2",
                 "--epochs", "2", "--folds", "2", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    pred = read_predictions(out / "tuned" / "predictions.csv")
    assert {"q_0.01", "q_0.95"} <= set(pred.columns)
    assert (out / "best_config.yaml").is_file()
