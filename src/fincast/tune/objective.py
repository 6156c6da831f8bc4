"""The tuning objective: nested walk-forward inside the training period.

Every outer fold of the backtest trains on dates before its test block. Tuning uses only
the dates the *first* outer fold may train on (before its test block and its gap), cuts
them into inner walk-forward folds with the same gap, trains each trial on the inner
training blocks and scores it on the inner validation blocks. No trial ever sees a date of
any test block; the outer test folds are used once, to backtest the best configuration.

The score (lower is better) is, per validation fold, the task's
:meth:`~fincast.tasks.base.Task.tune_score`: the MSE relative to the naive forecast's MSE
(``1 - skill``; below 1 beats naive) for ``return``, ``level`` and ``volatility``, the
binary log loss for ``direction`` and ``events`` (mean over labels), the multi-class log
loss for ``trend3``; a trial's value is the mean over the inner folds. Tasks with fitted
labels (``trend3``, ``events``) fit their thresholds on each inner fold's training rows.

Trials train with the same compiled loop as backtests
(:meth:`fincast.models.fastfit.Trainer.fit`): the inner validation block is the loop's
validation data (its loss per epoch is kept in the trial's ``fold{k}`` attribute), and an
epoch hook (:class:`PruneEachEpoch`) reports the score after every epoch (step
``fold * 10000 + epoch``) so the median pruner stops poor trials early. A training loss
that is not finite stops the loop and prunes the trial.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from ..backtest.engine import Prepared, model_params, model_seed, training_rows
from ..backtest.splits import Fold, walk_forward_folds
from ..errors import DataError
from ..models import make_model
from ..models.base import Batch
from ..models.hooks import EpochHook, TrainingRun
from ..predictions import build_predictions
from ..tasks import TaskSpec
from .overfitting import trial_returns
from .space import sample

__all__ = ["STEP_STRIDE", "Objective", "PruneEachEpoch", "inner_folds", "score"]

#: Pruning steps of inner fold k are k * STEP_STRIDE + epoch.
STEP_STRIDE = 10_000


def inner_folds(prep: Prepared, n: int) -> list[Fold]:
    """Validation folds carved from the dates before the first outer test block.

    Raises
    ------
    DataError
        When the training period is too short for ``n`` inner folds.
    """
    first = min(prep.folds, key=lambda f: f.test_start)
    gap = first.test_start - first.train_end
    cfg = prep.config
    try:
        return walk_forward_folds(
            first.train_end,
            folds=n,
            gap=gap,
            window=cfg.window,
            train_size=cfg.train_size,
            min_train=max(2, cfg.lookback),
        )
    except DataError:
        raise DataError(
            f"the training period before the first test block has {first.train_end} dates, "
            f"too few for {n} inner validation folds with a gap of {gap}; use fewer "
            "--inner-folds or --folds, or more data"
        ) from None


def score(task: TaskSpec, y: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> float:
    """The validation score of forecasts ``pred`` (lower is better): the task's own."""
    return task.task.tune_score_of(task, y, pred, naive)


class PruneEachEpoch(EpochHook):
    """Scores the validation block after each epoch and asks Optuna whether to prune.

    Parameters
    ----------
    trial
        The Optuna trial.
    forecaster
        The network being trained (its scalers are fitted before the first epoch).
    val
        The inner validation rows.
    task
        The task (its tuning score).
    offset
        Added to the epoch to make the pruning step.
    """

    def __init__(
        self, trial: Any, forecaster: Any, val: Batch, task: TaskSpec, offset: int
    ) -> None:
        self.trial, self.forecaster, self.val = trial, forecaster, val
        self.task, self.offset = task, offset
        self._x: np.ndarray | None = None

    def on_epoch_end(
        self, epoch: int, train_loss: float, val_loss: float | None, run: TrainingRun
    ) -> bool:
        import optuna

        f = self.forecaster
        if self._x is None:
            self._x = f._scale(self.val)
        pred = f.outputs(run.predict(self._x))
        assert self.val.y is not None
        value = score(self.task, self.val.y, pred, self.val.naive)
        if not np.isfinite(value):
            raise optuna.TrialPruned(f"validation score became {value} at epoch {epoch + 1}")
        self.trial.report(value, self.offset + epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} of inner fold {self.offset}")
        return False


def _iso(value: Any) -> str:
    return str(np.datetime_as_string(np.datetime64(value, "D")))


@dataclass
class Objective:
    """One trial: sample a configuration, train and score it on every inner fold.

    Parameters
    ----------
    prep
        The prepared run (its outer folds are never touched).
    model
        The model to tune.
    space
        Its resolved search space.
    folds
        The inner folds (:func:`inner_folds`).
    """

    prep: Prepared
    model: str
    space: dict[str, Any]
    folds: list[Fold]

    def __call__(self, trial: Any) -> float:
        """Train and score the trial's configuration; raises ``TrialPruned`` to prune."""
        import optuna

        prep, d = self.prep, self.prep.design
        params = {**model_params(prep.config, self.model), **sample(trial, self.space)}
        params["patience"] = None  # the inner validation block is the only holdout
        trial.set_user_attr("pid", os.getpid())  # which worker process ran it
        values: list[float] = []
        frames: list[pd.DataFrame] = []
        for k, fold in enumerate(self.folds):
            train, val = training_rows(prep.design, fold), fold.test_mask(d.date_pos)
            d = prep.design.for_fold(train)  # trend3 / events: this fold's training rows
            trial.set_user_attr(
                f"fold{k}",
                {
                    "train": [_iso(d.dates[train].min()), _iso(d.dates[train].max())],
                    "validation": [_iso(d.dates[val].min()), _iso(d.dates[val].max())],
                },
            )
            seed = model_seed(prep.config.seed, f"tune:{self.model}", fold.index)
            forecaster: Any = make_model(self.model, prep.task, params, seed=seed)
            val_batch = d.batch(val)
            prune = PruneEachEpoch(trial, forecaster, val_batch, prep.task, k * STEP_STRIDE)
            try:
                forecaster.fit(d.batch(train), val_batch, hooks=[prune])
            except FloatingPointError as exc:
                raise optuna.TrialPruned(str(exc)) from None
            attrs = trial.user_attrs.get(f"fold{k}", {})
            val_loss = forecaster.history_.get("val_loss", [])
            trial.set_user_attr(f"fold{k}", {**attrs, "val_loss": val_loss})
            pred = forecaster.predict(val_batch)
            assert val_batch.y is not None
            values.append(score(prep.task, val_batch.y, pred, val_batch.naive))
            frames.append(_trading_rows(prep.task, d, val, np.asarray(pred), k))
        # the trial's long/flat trades of its validation forecasts (deflated Sharpe, PBO)
        trial.set_user_attr(
            "returns", trial_returns(pd.concat(frames), prep.task.kind, prep.config.cost_bps)
        )
        return float(np.mean(values))


def _trading_rows(
    task: TaskSpec, d: Any, rows: np.ndarray, pred: np.ndarray, fold: int
) -> pd.DataFrame:
    """Predictions-table rows of a trial's validation forecasts (``trial``), plus naive's
    for tasks whose trading signal reads them (``level``)."""
    args = (task, d.ids[rows], d.dates[rows], d.y[rows])
    frames = [build_predictions(*args, pred, d.fwd_return[rows], fold=fold, model="trial")]
    if task.forecasts_level:
        naive = d.naive[rows]
        frames.append(build_predictions(*args, naive, d.fwd_return[rows], fold=fold, model="naive"))
    return pd.concat(frames, ignore_index=True)


def for_tuning(prep: Prepared) -> Prepared:
    """``prep`` without the outer test rows: what a trial may see at most.

    Kept: rows dated before the first outer fold's training end whose target does not
    reach the first test block (which a ragged panel's rows can).
    """
    first = min(prep.folds, key=lambda f: f.test_start)
    d = prep.design
    keep = d.date_pos < first.train_end
    if d.target_end_pos is not None:
        keep &= d.target_end_pos < first.test_start
    n = len(d)
    rows = {  # every per-row array of the design (not the calendar)
        f.name: getattr(d, f.name)[keep]
        for f in fields(d)
        if f.name != "calendar"
        and isinstance(getattr(d, f.name), np.ndarray)
        and getattr(d, f.name).shape[:1] == (n,)
    }
    design = replace(d, **rows)
    return replace(prep, design=design)
