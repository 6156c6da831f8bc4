"""A new task is one file plus one registry line: backtest, report and tune run it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fincast.api import rebuild_report
from fincast.backtest import run_backtest
from fincast.config import build_config
from fincast.tasks import REGISTRY, TaskSpec

from .toy_task import AbsMove


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(REGISTRY, AbsMove.name, AbsMove())  # the one registry line
    return AbsMove.name


def test_the_toy_task_is_unknown_until_registered():
    from fincast.errors import ConfigError

    with pytest.raises(ConfigError, match="absmove"):
        TaskSpec("absmove")


@pytest.mark.slow
def test_a_toy_task_runs_through_backtest_report_and_tune(toy, tmp_path, ohlcv_csv):
    optuna = pytest.importorskip("optuna")
    from fincast.tune import tune

    values = {
        "data": str(ohlcv_csv),
        "task": toy,
        "models": {"mlp": {"epochs": 2, "batch_size": 64, "units": 8, "layers": 1}},
        "folds": 2,
    }
    run = run_backtest(build_config({**values, "out": str(tmp_path / "bt")}))
    assert not run.failures
    pred = pd.read_csv(tmp_path / "bt" / "predictions.csv")
    naive = pred[pred["model"] == "naive"]
    assert (naive["y_true"] >= 0).all() and (naive["y_pred"] >= 0).all()  # sizes of moves
    assert np.allclose(naive["y_true"], naive["fwd_return"].abs())
    metrics = json.loads((tmp_path / "bt" / "metrics.json").read_text())
    assert metrics["task"] == toy and set(metrics["models"]) >= {"naive", "mean", "mlp"}
    assert metrics["models"]["mlp"]["skill_vs_naive"] is not None
    assert "cumulative_returns" not in "".join(p.name for p in (tmp_path / "bt/plots").iterdir())

    (tmp_path / "bt" / "report.html").unlink()
    rebuilt = rebuild_report(tmp_path / "bt")
    assert (tmp_path / "bt" / "report.html").is_file()
    assert rebuilt.metrics["models"]["mlp"]["mse"] == metrics["models"]["mlp"]["mse"]

    space = {"epochs": {"low": 1, "high": 2}, "batch_size": [64]}
    cfg = build_config({**values, "out": str(tmp_path / "tune"), "search_space": space})
    result = tune(cfg, trials=1, inner=2, backtest=False)
    assert result.score == "mse_vs_naive" and np.isfinite(result.best_value) and optuna
