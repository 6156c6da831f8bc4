"""Every sensible model x task combination, end to end through the backtest engine."""

import json

import numpy as np
import pandas as pd
import pytest

import fincast
from fincast.models import MODELS
from fincast.report.diagnostics import trained_by_epoch
from fincast.tasks import TASKS, get_task

from ..conftest import make_ohlcv

#: Tiny versions of every Keras network (1 epoch), so the whole matrix stays cheap.
TINY = {
    "seed-mlp": {},
    "mlp": {"units": 4, "layers": 1, "activation": "tanh"},
    "lstm": {"units": 4},
    "gru": {"units": 4},
    "cnn": {"filters": 4, "layers": 1},
    "transformer": {"d_model": 4, "heads": 1, "ff_units": 4},
}
KERAS = [n for n in MODELS if MODELS[n].kind == "network"]
#: Metric keys each task must report for every model.
KEYS = {
    "return": {"mse", "mae", "r2", "direction_accuracy", "skill_vs_naive"},
    "level": {"mse", "mae", "r2", "direction_accuracy", "skill_vs_naive"},
    "direction": {"accuracy", "f1", "roc_auc", "log_loss", "confusion_matrix", "skill_vs_naive"},
    "trend3": {
        "accuracy",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "precision_weighted",
        "recall_weighted",
        "f1_weighted",
        "confusion_matrix",
        "log_loss",
        "skill_vs_naive",
    },
    "events": {"hamming_loss", "subset_accuracy", "f1_macro", "labels", "skill_vs_naive"},
    "volatility": {"mse", "mae", "qlike", "skill_vs_naive"},
    "quantile": {"pinball", "pinball_by_level", "coverage", "coverage_error", "skill_vs_naive"},
    "var": {"levels", "fz0", "hit_rate_error", "skill_vs_naive"},
}


def baselines_for(task: str) -> list[str]:
    return [
        n
        for n, i in MODELS.items()
        if i.kind == "baseline"
        and (
            (i.tasks is None and (i.any_task or get_task(task).generic_baselines))
            or (i.tasks is not None and task in i.tasks)
        )
    ]


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("zoo") / "panel.csv"
    make_ohlcv(260, ids=("AAA", "BBB"), seed=3).to_csv(path, index=False)
    return path


def test_every_model_is_in_the_matrix():
    assert set(KERAS) == set(TINY)
    assert set(KEYS) == set(TASKS)
    for task in TASKS:
        assert set(get_task(task).default_baselines) <= set(baselines_for(task))


@pytest.mark.parametrize("task", list(TASKS))
def test_every_task_runs_end_to_end_with_every_baseline(tmp_path, panel_csv, task):
    """Quick: every baseline the task supports and a tiny MLP, over two folds."""
    run_and_check(tmp_path, panel_csv, task, {"mlp": TINY["mlp"]}, folds=2)


@pytest.mark.slow
@pytest.mark.parametrize("task", list(TASKS))
def test_every_model_runs_every_task_end_to_end(tmp_path, panel_csv, task):
    """The whole matrix: every network on every task (the baselines run in the quick test)."""
    run_and_check(tmp_path, panel_csv, task, TINY, folds=1, baselines=["naive"])


def run_and_check(
    tmp_path, panel_csv, task: str, nets: dict, folds: int, baselines: list | None = None
) -> None:
    baselines = baselines or baselines_for(task)
    result = fincast.backtest(
        str(panel_csv),
        task=task,
        horizon=[1, 3],
        lookback=6,
        folds=folds,
        epochs=1,
        batch_size=64,
        models=nets,
        baselines=baselines,
        out=str(tmp_path / "run"),
    )
    assert result.failures == []
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["task"] == task and metrics["horizon"] == [1, 3]
    assert set(metrics["models"]) == set(baselines) | set(nets)
    pred = result.predictions
    naive_rows = pred[pred["model"] == "naive"].shape[0]
    for name, m in metrics["models"].items():
        assert KEYS[task] <= set(m), (name, set(KEYS[task]) - set(m))
        assert set(m["horizons"]) == {"1", "3"}
        assert set(m["series"]) == {"AAA", "BBB"}  # per series next to the pooled figure
        assert m["n_predictions"] > 0
        assert (pred["model"] == name).sum() == naive_rows  # same rows as naive
    assert metrics["models"]["naive"]["skill_vs_naive"] == pytest.approx(0.0)
    if task in ("trend3", "events"):  # the thresholds each fold learnt from its training rows
        fitted = [f["thresholds"] for f in metrics["folds"]]
        assert len(fitted) == folds and all(set(t) == {"1", "3"} for t in fitted)
    if task == "trend3":
        probs = pred[["prob_down", "prob_flat", "prob_up"]].to_numpy()
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        assert set(pred["y_true"].unique()) <= {0.0, 1.0, 2.0}
        assert np.array(metrics["models"]["mlp"]["confusion_matrix"]).shape == (3, 3)
        # naive is scored with the same per-fold labels: every class occurs
        shares = metrics["models"]["naive"]["class_shares"]
        assert set(shares) == {"down", "flat", "up"} and shares["flat"] > 0
    if task == "events":
        assert set(pred["label"]) == {"up_1pct", "down_1pct", "big_move"}
        assert set(metrics["models"]["mlp"]["labels"]) == {"up_1pct", "down_1pct", "big_move"}
    if task == "volatility":
        assert (pred["y_pred"] > 0).all() and (pred["y_true"] >= 0).all()
    if task == "quantile":
        q = pred[["q_0.01", "q_0.05", "q_0.5", "q_0.95"]].to_numpy()
        assert np.isfinite(q).all() and (np.diff(q, axis=1) >= 0).all()
    if task == "var":
        assert (pred["es_0.01"] >= pred["var_0.01"]).all()
        assert set(metrics["models"]["mlp"]["levels"]) == {"0.01", "0.05"}
    # training and validation history per model and fold for the networks; every other
    # baseline than naive has its validation-tail loss (the verdict's rival is chosen on it)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert set(trained_by_epoch(history)) == set(nets)
    rivals = {m for m in history if m not in nets}
    if get_task(task).significance and set(baselines) - {"naive"}:
        assert rivals == set(metrics["models"]) - set(nets) - {"naive"}
        assert all(
            "loss" in h["validation"] or "error" in h["validation"]
            for m in rivals
            for h in history[m].values()
        )
        assert "rival" in metrics["significance"] and "rival" in metrics["verdict"]
    else:
        assert not rivals


def test_default_baselines_follow_the_task(tmp_path, panel_csv):
    result = fincast.backtest(
        str(panel_csv),
        task="volatility",
        lookback=6,
        folds=1,
        models={"mlp": {"units": 2, "layers": 1}},
        epochs=1,
        out=str(tmp_path / "run"),
    )
    assert set(result.metrics["models"]) == {"naive", "ewma", "garch", "ridge", "mlp"}
    pd.testing.assert_index_equal(
        pd.Index(list(result.metrics["models"])[:4]), pd.Index(["naive", "ridge", "garch", "ewma"])
    )
