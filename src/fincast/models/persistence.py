"""Persistence baseline for class tasks: the last observed class, with Markov probabilities."""

from __future__ import annotations

from typing import Self

import numpy as np

from .base import Batch, TaskOnlyBaseline

__all__ = ["PersistenceBaseline"]


class PersistenceBaseline(TaskOnlyBaseline):
    """First-order Markov persistence: the next class given the last observed class.

    ``naive`` repeats the class (or events) of the last h steps with certainty; this
    baseline learns, on the training fold, how often each last class is followed by each
    next class (transition frequencies, Laplace-smoothed) and forecasts that distribution.
    When classes persist it forecasts the last class again, with calibrated probabilities,
    so probability metrics (log loss) are meaningful where naive's 0/1 certainty is not.
    """

    name = "persistence"
    description = "Markov persistence: next class given the last"
    tasks = ("direction", "trend3", "events")

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        assert train.y is not None
        y = np.asarray(train.y, dtype="float64")
        last = np.asarray(train.naive, dtype="float64")
        k = self.task.width if self.task.output == "multiclass" else 2
        # transitions_[j, a, b]: P(next = b | last = a) for output column j
        trans = np.ones((y.shape[1], k, k))
        for j in range(y.shape[1]):
            ok = np.isfinite(y[:, j]) & np.isfinite(last[:, j])
            np.add.at(trans[j], (last[ok, j].astype(int), y[ok, j].astype(int)), 1.0)
        self.transitions_ = trans / trans.sum(axis=2, keepdims=True)
        return self

    def predict(self, data: Batch) -> np.ndarray:
        last = np.nan_to_num(np.asarray(data.naive, dtype="float64")).astype(int)
        cols = []
        for j in range(last.shape[1]):
            prob = self.transitions_[j][last[:, j]]  # (n, k)
            cols.append(prob if self.task.output == "multiclass" else prob[:, 1:2])
        return np.concatenate(cols, axis=1)
