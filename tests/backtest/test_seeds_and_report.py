"""--seeds, --cost-bps, report.html in the run directory, and `fincast report RUN_DIR`."""

from __future__ import annotations

import contextlib
import io
import json
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from fincast.backtest import run_backtest
from fincast.backtest.engine import read_predictions
from fincast.cli import main
from fincast.config import build_config

TINY = {"mlp": {"epochs": 1, "units": 8, "layers": 1, "shrink": False}}  # seeds must differ


def cfg(data, out, **kw):
    values = {"data": str(data), "out": str(out), "models": TINY, "folds": 2, "lookback": 5}
    values.update(kw)
    return build_config(values)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from ..conftest import make_ohlcv

    root = tmp_path_factory.mktemp("seeds")
    path = root / "prices.csv"
    make_ohlcv(160).drop(columns="ticker").to_csv(path, index=False)
    config = root / "config.yaml"
    config.write_text(
        yaml.safe_dump({"data": str(path), "models": TINY, "folds": 2, "lookback": 5})
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["backtest", "--config", str(config), "--seeds", "2", "--cost-bps", "10",
                     "--out", str(root / "a"), "--quiet"])  # fmt: skip
    assert code == 0
    run = root / "a"
    result = SimpleNamespace(
        run_dir=run,
        predictions=read_predictions(run / "predictions.csv"),
        metrics=json.loads((run / "metrics.json").read_text()),
        output=out.getvalue(),
    )
    return path, result


def test_the_terminal_summary_shows_the_verdict(seeded):
    _, result = seeded
    text = result.output
    assert "verdict ·" in text and "beats naive at 5%" in text
    assert result.metrics["verdict"]["summary"] in " ".join(text.split())
    assert "mlp (2 seeds)" in text and "mlp-ensemble" in text
    assert "report: " in text and "report.html" in text


def test_seeds_train_each_keras_model_n_times_plus_an_ensemble(seeded):
    _, result = seeded
    pred = pd.read_csv(result.run_dir / "predictions.csv")
    assert set(pred["model"]) == {"naive", "mean", "mlp", "mlp-ensemble"}
    mlp = pred[pred["model"] == "mlp"]
    assert sorted(mlp["seed"].unique()) == [0, 1]
    assert pred.loc[pred["model"] != "mlp", "seed"].isna().all()
    by_seed = {s: g.set_index(["date", "fold"])["y_pred"] for s, g in mlp.groupby("seed")}
    assert not by_seed[0].equals(by_seed[1])  # different seeds, different nets
    ens = pred[pred["model"] == "mlp-ensemble"].set_index(["date", "fold"])["y_pred"]
    pd.testing.assert_series_equal(
        ens, ((by_seed[0] + by_seed[1]) / 2).rename("y_pred"), check_exact=False, rtol=1e-8
    )
    m = result.metrics["models"]["mlp"]
    assert m["seeds"]["n"] == 2 and m["seeds"]["std"]["mse"] > 0


def test_metrics_json_carries_finance_significance_and_verdict(seeded):
    _, result = seeded
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["finance"]["cost_bps"] == 10.0
    for name in ("naive", "mean", "mlp", "mlp-ensemble"):
        assert {"trading", "ic"} <= set(metrics["models"][name]["finance"])
    assert set(metrics["significance"]["models"]) == {"mean", "mlp", "mlp-ensemble"}
    assert metrics["verdict"]["summary"]
    assert metrics["folds"] and metrics["failures"] == []


def test_run_directory_has_a_self_contained_report(seeded):
    _, result = seeded
    text = (result.run_dir / "report.html").read_text(encoding="utf-8")
    assert text.count("src='data:image/png;base64,") == len(
        list((result.run_dir / "plots").iterdir())
    )
    assert "id='verdict'" in text and "seed: 0" in text  # resolved config
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"


def test_seeds_are_deterministic(seeded, tmp_path):
    path, result = seeded
    again = run_backtest(cfg(path, tmp_path / "b", seeds=2, cost_bps=10))
    assert (again.run_dir / "predictions.csv").read_bytes() == (
        result.run_dir / "predictions.csv"
    ).read_bytes()
    assert (again.run_dir / "metrics.json").read_bytes() == (
        result.run_dir / "metrics.json"
    ).read_bytes()
    # seed 0 of a multi-seed run is exactly the single-seed run
    single = run_backtest(cfg(path, tmp_path / "c"))
    one = single.predictions
    assert "seed" not in one.columns
    mlp = again.predictions
    mlp = mlp[(mlp["model"] == "mlp") & (mlp["seed"] == 0)]
    assert mlp["y_pred"].tolist() == one.loc[one["model"] == "mlp", "y_pred"].tolist()


def test_fincast_report_rebuilds_without_retraining(seeded, tmp_path, capsys):
    import shutil

    _, result = seeded
    run = tmp_path / "copy"
    shutil.copytree(result.run_dir, run)
    metrics_before = (run / "metrics.json").read_bytes()
    (run / "report.html").unlink()
    shutil.rmtree(run / "plots")
    code = main(["report", str(run)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "verdict" in out and "report.html" in out
    assert (run / "report.html").is_file() and (run / "plots" / "drawdown.png").is_file()
    assert (run / "metrics.json").read_bytes() == metrics_before  # same table, same metrics


def test_fincast_report_errors_are_one_line(tmp_path, capsys):
    code = main(["report", str(tmp_path / "nope")])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: ") and "nope" in err
    (tmp_path / "half").mkdir()
    code = main(["report", str(tmp_path / "half")])
    _, err = capsys.readouterr()
    assert code == 2 and "predictions.csv" in err and "--resume" in err


@pytest.mark.parametrize(("flag", "value"), [("--seeds", "0"), ("--cost-bps", "-1")])
def test_bad_seeds_and_costs_are_config_errors(flag, value, capsys, tmp_path):
    code = main(["backtest", "builtin:sp500", flag, value, "--out", str(tmp_path / "r")])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: ")
    assert not (tmp_path / "r").exists()
