"""Tune trials and backtests train with one loop: the same fold and seed give the same
validation losses, epoch by epoch."""

from __future__ import annotations

import dataclasses

import optuna
import pytest

from fincast.backtest import prepare
from fincast.backtest.engine import _fold_predictions, model_seed
from fincast.backtest.splits import Fold
from fincast.config import build_config
from fincast.models import fastfit
from fincast.tune import resolve_space
from fincast.tune.objective import Objective, for_tuning, inner_folds

TRAINING = {"epochs": 4, "batch_size": 32, "lr": 3e-3, "optimizer": "adam", "dropout": 0.1}


@pytest.mark.skipif(not fastfit.available(), reason="needs the JAX backend")
def test_a_tune_trial_and_a_backtest_of_the_same_fold_and_seed_give_the_same_val_losses(
    tmp_path, ohlcv_csv
):
    cfg = build_config(
        {
            "data": str(ohlcv_csv),
            "out": str(tmp_path / "x"),
            "models": {"seed-mlp": {**TRAINING, "l2": 1e-4}},
            "folds": 2,
        }
    )
    full = prepare(cfg)
    prep = for_tuning(full)
    inner = inner_folds(prep, 2)[-1]
    # the whole space fixed to the run's settings: the trial trains what a backtest trains
    space = resolve_space("seed-mlp", {**TRAINING, "l2": 1e-4})
    study = optuna.create_study()
    trial = study.ask()
    Objective(prep, "seed-mlp", space, [inner])(trial)
    stored = study._storage.get_trial(trial._trial_id)
    tuned = stored.user_attrs["fold0"]["val_loss"]
    assert len(tuned) == TRAINING["epochs"] == len(stored.intermediate_values)

    # a backtest fold whose early-stopping slice is exactly that inner validation block:
    # it trains on the inner training block and holds out the same rows after the same gap
    gap = inner.test_start - inner.train_end
    n_train, n_val = inner.test_end - inner.train_start, inner.test_end - inner.test_start
    outer = Fold(
        index=inner.index,
        train_start=inner.train_start,
        train_end=inner.test_end,
        test_start=inner.test_end + gap,
        test_end=inner.test_end + gap + 1,
    )
    update = {"patience": 100, "val_fraction": (n_val + 0.25) / n_train}
    backtest = dataclasses.replace(full, config=full.config.model_copy(update=update))
    seed = model_seed(cfg.seed, "tune:seed-mlp", inner.index)  # the trial's seed
    _, history = _fold_predictions(backtest, "seed-mlp", outer, seed)
    assert history["val_loss"] == tuned
