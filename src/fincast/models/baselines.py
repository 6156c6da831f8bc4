"""Naive baselines: the bar every model has to clear, run on the same folds."""

from __future__ import annotations

from typing import Self

import numpy as np

from .base import Batch, TaskOnlyBaseline, one_hot

__all__ = ["MeanBaseline", "NaiveBaseline"]


class NaiveBaseline(TaskOnlyBaseline):
    """Tomorrow looks like today: the last observed outcome over the same horizon.

    ``return``: a zero return; ``level``: the last value; ``direction``, ``trend3``,
    ``events``: the class / events of the last h-step return (labelled with the training
    fold's thresholds); ``volatility``: the realised volatility of the last h steps;
    ``quantile`` / ``var``: the training fold's historical quantiles (historical
    simulation), fitted by the task (:meth:`~fincast.tasks.Task.fit_naive`).
    """

    name = "naive"
    description = "zero return / last value / last direction / historical quantiles"
    #: Works for every task: tasks with a fitted naive (``quantile``, ``var``) fit it here.
    any_task = True

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        self.fitted_ = True
        self.fixed_ = None
        if train.y is not None:
            self.fixed_ = self.task.task.fit_naive(self.task, np.asarray(train.y, "float64"))
        return self

    def predict(self, data: Batch) -> np.ndarray:
        fixed = getattr(self, "fixed_", None)
        if fixed is not None:
            return np.tile(fixed, (len(data), 1))
        naive = np.asarray(data.naive, dtype="float64")
        if self.task.output == "multiclass":
            return one_hot(naive, self.task.width)
        return naive.copy()


class MeanBaseline(TaskOnlyBaseline):
    """The training fold's mean (regression) or majority class (class tasks).

    For ``level`` it predicts the last value plus the training mean change, which is the
    random walk with drift.
    """

    name = "mean"
    description = "training mean return / drift / majority class"

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        assert train.y is not None
        y = np.asarray(train.y, dtype="float64")
        if self.task.forecasts_level:
            self.mean_ = (y - train.naive).mean(axis=0)
        elif self.task.output == "multiclass":
            counts = np.stack(
                [(y == c).sum(axis=0) for c in range(self.task.width)], axis=1
            )  # (horizons, classes)
            self.mean_ = one_hot(counts.argmax(axis=1)[None, :], self.task.width)[0]
        elif self.task.is_classification:
            self.mean_ = (y.mean(axis=0) > 0.5).astype("float64")
        else:
            self.mean_ = y.mean(axis=0)
        return self

    def predict(self, data: Batch) -> np.ndarray:
        base = np.zeros((len(data), self.mean_.shape[0]))
        if self.task.forecasts_level:
            base = np.asarray(data.naive, dtype="float64")
        return base + self.mean_
