"""EWMA (RiskMetrics) volatility baseline."""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np

from ..tasks import TaskSpec
from .base import Batch, Constraint, Interval, Model, return_window

__all__ = ["EWMABaseline"]


class EWMABaseline(Model):
    """Exponentially weighted variance of past returns, RiskMetrics style.

    ``s2(t+1) = (1 - lam) * sum_k lam^k r(t-k)^2`` over the row's look-back window of
    one-step returns (weights renormalised to sum to 1 over the finite window), the same for
    every horizon (an EWMA forecast is flat). Nothing is fitted; ``lam`` is the classic
    0.94 of daily RiskMetrics by default.

    Parameters
    ----------
    task
        The task (``volatility``).
    lam
        Decay in (0, 1) (default 0.94).
    seed
        Unused; accepted like every model's.
    """

    name = "ewma"
    description = "RiskMetrics EWMA variance, lam 0.94"
    returns_input = True  # reads the ret features as one-step returns
    tasks = ("volatility",)
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "lam": Interval(0, 1, closed="neither")
    }

    def __init__(self, task: TaskSpec, *, lam: float = 0.94, seed: int = 0) -> None:
        self.task = task
        self.lam = lam
        self.seed = seed

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        return_window(train, "ewma")  # the features it needs are there
        self.fitted_ = True
        return self

    def predict(self, data: Batch) -> np.ndarray:
        r2 = return_window(data, "ewma") ** 2  # column k: r(t-k)^2
        weights = (1 - self.lam) * self.lam ** np.arange(r2.shape[1])
        var = r2 @ (weights / weights.sum())
        return np.tile(np.sqrt(var)[:, None], (1, len(self.task.horizons)))
