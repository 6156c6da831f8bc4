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

The inner folds of a trial train at once on the process's threads (``--threads``, one per
core by default): the first fold reports to Optuna as it trains; the others record their
scores and are reported afterwards, fold by fold and epoch by epoch, so Optuna sees the
same reports in the same order, prunes at the same step and the study is the same as when
the folds train one after another. A pruned trial stops the folds still training.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from .._threads import unit_scope
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

    def score(self, run: TrainingRun) -> float:
        """The validation score of the network as it is after this epoch."""
        f = self.forecaster
        if self._x is None:
            self._x = f._scale(self.val)
        pred = f.outputs(run.predict(self._x))
        assert self.val.y is not None
        return score(self.task, self.val.y, pred, self.val.naive)

    def on_epoch_end(
        self, epoch: int, train_loss: float, val_loss: float | None, run: TrainingRun
    ) -> bool:
        self.report(epoch, self.score(run))
        return False

    def report(self, epoch: int, value: float) -> None:
        """Report ``value`` for ``epoch`` to the trial; raise ``TrialPruned`` to prune."""
        import optuna

        if not np.isfinite(value):
            raise optuna.TrialPruned(f"validation score became {value} at epoch {epoch + 1}")
        self.trial.report(value, self.offset + epoch)
        if self.trial.should_prune():
            fold = self.offset // STEP_STRIDE + 1
            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} of inner fold {fold}")


class _RecordEachEpoch(EpochHook):
    """:class:`PruneEachEpoch`'s scores of a fold trained beside the first, kept to be
    reported later in order; stops at a score that is not finite (which prunes the trial)
    or once the trial is given up (``stop``)."""

    def __init__(self, scorer: PruneEachEpoch, stop: threading.Event) -> None:
        self.scorer, self.stop = scorer, stop
        self.scores: list[float] = []

    def on_epoch_end(
        self, epoch: int, train_loss: float, val_loss: float | None, run: TrainingRun
    ) -> bool:
        value = self.scorer.score(run)
        self.scores.append(value)
        return self.stop.is_set() or not np.isfinite(value)


def _iso(value: Any) -> str:
    return str(np.datetime_as_string(np.datetime64(value, "D")))


@dataclass
class _FoldFit:
    """One inner fold of one trial: its rows, network and results."""

    objective: Objective
    trial: Any
    params: dict[str, Any]
    k: int
    fold: Fold
    dates: dict[str, list[str]] = field(init=False)
    value: float = field(init=False)
    frame: pd.DataFrame = field(init=False)
    val_loss: list[float] = field(init=False)
    forecaster: Any = field(init=False)  # the fold's network, built by fit()
    scorer: PruneEachEpoch = field(init=False)

    def __post_init__(self) -> None:
        prep = self.objective.prep
        self.train = training_rows(prep.design, self.fold)
        self.val = self.fold.test_mask(prep.design.date_pos)
        self.design = d = prep.design.for_fold(self.train)  # trend3 / events: fitted here
        self.dates = {
            "train": [_iso(d.dates[self.train].min()), _iso(d.dates[self.train].max())],
            "validation": [_iso(d.dates[self.val].min()), _iso(d.dates[self.val].max())],
        }
        self.val_batch = d.batch(self.val)
        self.recorder: _RecordEachEpoch | None = None
        self.error: Exception | None = None  # raised by a fold trained beside the first

    def fit(self, stop: threading.Event | None = None) -> None:
        """Build and train the fold's network: reporting to the trial as it trains, or,
        with ``stop`` (beside the first fold, on a pool thread), keeping the scores."""
        prep = self.objective.prep
        seed = model_seed(prep.config.seed, f"tune:{self.objective.model}", self.fold.index)
        try:
            self.forecaster = make_model(self.objective.model, prep.task, self.params, seed=seed)
            self.scorer = PruneEachEpoch(
                self.trial, self.forecaster, self.val_batch, prep.task, self.k * STEP_STRIDE
            )
            hook: EpochHook = self.scorer
            if stop is not None:
                hook = self.recorder = _RecordEachEpoch(self.scorer, stop)
            with unit_scope(stop) if stop is not None else nullcontext():
                if self.forecaster.kind != "network":  # lightgbm: no epochs, no early stop
                    self.forecaster.fit(self.design.batch(self.train))
                else:
                    self.forecaster.fit(self.design.batch(self.train), self.val_batch, hooks=[hook])
        except FloatingPointError as exc:  # a training loss that is not finite
            self.error = exc
        except Exception as exc:
            if stop is None:
                raise
            self.error = exc  # raised in the fold's turn, after the folds before it

    def finish(self) -> None:
        """Report the recorded scores in order (pruning as the live hook would have), then
        score the validation block."""
        import optuna

        if self.recorder is not None:
            for epoch, value in enumerate(self.recorder.scores):
                self.scorer.report(epoch, value)
        if isinstance(self.error, FloatingPointError):
            raise optuna.TrialPruned(str(self.error)) from None
        if self.error is not None:
            raise self.error
        task = self.objective.prep.task
        self.val_loss = getattr(self.forecaster, "history_", {}).get("val_loss", [])
        pred = self.forecaster.predict(self.val_batch)
        assert self.val_batch.y is not None
        self.value = score(task, self.val_batch.y, pred, self.val_batch.naive)
        if self.forecaster.kind != "network":  # one report per fold, at its first step
            self.scorer.report(0, self.value)
        self.frame = _trading_rows(task, self.design, self.val, np.asarray(pred), self.k)


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
    threads
        How many inner folds train at once (1: one after another); the study is the
        same either way.
    """

    prep: Prepared
    model: str
    space: dict[str, Any]
    folds: list[Fold]
    threads: int = 1

    def __call__(self, trial: Any) -> float:
        """Train and score the trial's configuration; raises ``TrialPruned`` to prune."""
        prep = self.prep
        params = {**model_params(prep.config, self.model), **sample(trial, self.space)}
        params["patience"] = None  # the inner validation block is the only holdout
        trial.set_user_attr("pid", os.getpid())  # which worker process ran it
        fits = [_FoldFit(self, trial, params, k, f) for k, f in enumerate(self.folds)]
        stop = threading.Event()  # set when the trial ends: folds still training stop
        n = min(self.threads, len(fits)) - 1
        pool = ThreadPoolExecutor(n, thread_name_prefix="fincast-tune") if n > 0 else None
        later = sorted(fits[1:], key=lambda f: -int(f.train.sum())) if pool else []
        beside: dict[int, Future[None]] = {}  # folds training on the pool, the largest first
        recorded: set[int] = set()  # folds this thread trained beside the first
        try:
            if pool is not None:
                beside = {f.k: pool.submit(f.fit, stop) for f in later}
            for f in fits:
                trial.set_user_attr(f"fold{f.k}", f.dates)
                if f.k in beside:
                    beside[f.k].result()
                elif f.k not in recorded:
                    f.fit()  # the first fold: reports to the trial as it trains
                    for g in later:
                        if beside[g.k].cancel():  # not started yet: train it here
                            del beside[g.k]
                            g.fit(stop)
                            recorded.add(g.k)
                f.finish()
                trial.set_user_attr(f"fold{f.k}", {**f.dates, "val_loss": f.val_loss})
        finally:
            stop.set()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        # the trial's long/flat trades of its validation forecasts (deflated Sharpe, PBO)
        frames = pd.concat([f.frame for f in fits])
        trial.set_user_attr("returns", trial_returns(frames, prep.task.kind, prep.config.cost_bps))
        return float(np.mean([f.value for f in fits]))


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
