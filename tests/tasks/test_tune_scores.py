"""Tune scores every task by the right quantity, with labels fitted per inner fold."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import log_loss

from fincast.tasks import TaskSpec, get_task

RNG = np.random.default_rng(0)


def test_trend3_is_scored_by_multiclass_log_loss():
    task = get_task("trend3")
    y = RNG.integers(0, 3, size=(50, 2)).astype("float64")  # two horizons
    uniform = np.full((50, 6), 1 / 3)
    assert task.tune_score(y, uniform, y) == pytest.approx(math.log(3))
    sure = np.zeros((50, 2, 3))
    sure[np.arange(50)[:, None], np.arange(2)[None, :], y.astype(int)] = 1.0
    assert task.tune_score(y, sure.reshape(50, 6), y) < 1e-6  # right with certainty
    assert task.tune_metric == "log_loss"


@pytest.mark.parametrize("name", ["direction", "events"])
def test_binary_tasks_are_scored_by_mean_binary_log_loss(name):
    task = get_task(name)
    y = RNG.integers(0, 2, size=(40, 3)).astype("float64")  # e.g. three events
    assert task.tune_score(y, np.full((40, 3), 0.5), y) == pytest.approx(math.log(2))
    p = RNG.uniform(0.05, 0.95, size=(40, 3))
    per_label = [log_loss(y[:, j], p[:, j], labels=[0, 1]) for j in range(3)]
    assert task.tune_score(y, p, y) == pytest.approx(np.mean(per_label))
    assert task.tune_metric == "log_loss"


@pytest.mark.parametrize("name", ["return", "level", "volatility"])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_regression_tasks_are_scored_by_mse_relative_to_naive(name, seed):
    rng = np.random.default_rng(seed)
    task = get_task(name)
    y, naive, pred = rng.normal(size=(3, 30, 2)) + 2.0
    expected = np.mean((y - pred) ** 2) / np.mean((y - naive) ** 2)
    assert task.tune_score(y, pred, naive) == pytest.approx(expected)
    assert task.tune_score(y, naive, naive) == pytest.approx(1.0)  # naive itself: 1
    assert task.tune_score(y, y, naive) == 0.0
    assert task.tune_metric == "mse_vs_naive"


def test_tune_objective_uses_the_tasks_score():
    from fincast.tune.objective import score

    y = np.array([[0.0], [1.0]])
    assert score(TaskSpec("direction"), y, np.full((2, 1), 0.5), y) == pytest.approx(math.log(2))
    assert score(TaskSpec("return"), y, y, np.zeros((2, 1))) == 0.0


@pytest.mark.parametrize("name", ["trend3", "events"])
def test_class_task_trials_fit_labels_on_each_inner_folds_training_rows(
    name, tmp_path, ohlcv_csv, monkeypatch
):
    """A trend3 / events trial trains on labels (never raw returns), fitted per inner fold."""
    optuna = pytest.importorskip("optuna")
    import fincast.design as design_module
    from fincast.backtest import prepare
    from fincast.backtest.engine import training_rows
    from fincast.config import build_config
    from fincast.tune.objective import Objective, for_tuning, inner_folds
    from fincast.tune.space import resolve_space

    cfg = build_config(
        {
            "data": str(ohlcv_csv),
            "out": str(tmp_path / "t"),
            "task": name,
            "models": {"mlp": {"epochs": 1, "batch_size": 64, "units": 8, "layers": 1}},
            "folds": 2,
        }
    )
    prep = for_tuning(prepare(cfg))
    folds = inner_folds(prep, 2)
    fitted: list[int] = []
    original = design_module.fit_labeler
    monkeypatch.setattr(
        design_module,
        "fit_labeler",
        lambda task, raw: fitted.append(len(raw)) or original(task, raw),
    )
    trained: list[np.ndarray] = []
    real_fit = None

    def spy(self, train, *args, **kwargs):
        trained.append(np.asarray(train.y))
        return real_fit(self, train, *args, **kwargs)

    from fincast.models.keras_base import KerasForecaster

    real_fit = KerasForecaster.fit
    monkeypatch.setattr(KerasForecaster, "fit", spy)
    space = resolve_space("mlp", {"epochs": {"low": 1, "high": 1}, "batch_size": [64]})
    value = Objective(prep, "mlp", space, folds)(optuna.create_study().ask())

    assert fitted == [int(training_rows(prep.design, f).sum()) for f in folds]
    for y in trained:  # class labels, not h-step returns
        allowed = {0.0, 1.0, 2.0} if name == "trend3" else {0.0, 1.0}
        assert set(np.unique(y)) <= allowed
    width = 3 if name == "trend3" else 2
    assert 0.0 < value < 3 * math.log(width)  # a log loss near log(width), not an MSE ratio
