"""Majority baseline for class tasks: the training fold's class frequencies."""

from __future__ import annotations

from typing import Self

import numpy as np

from .base import Batch, TaskOnlyBaseline

__all__ = ["MajorityBaseline"]


class MajorityBaseline(TaskOnlyBaseline):
    """Forecasts the training fold's most frequent class, with its frequencies as probabilities.

    ``direction`` and ``events``: the probability of each label is its training base rate
    (so the class is the majority one); ``trend3``: the training shares of down / flat / up
    for every horizon.
    """

    name = "majority"
    description = "training class frequencies"
    tasks = ("direction", "trend3", "events")

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        assert train.y is not None
        y = np.asarray(train.y, dtype="float64")
        if self.task.output == "multiclass":
            shares = [(y == c).mean(axis=0) for c in range(self.task.width)]
            self.prob_ = np.stack(shares, axis=1).reshape(-1)  # horizon-major
        else:
            self.prob_ = y.mean(axis=0)
        return self

    def predict(self, data: Batch) -> np.ndarray:
        return np.tile(self.prob_, (len(data), 1))
