"""A model written the way a user adds one: this file plus one registry line."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np

from fincast.models.base import Batch, Constraint, Interval, Model
from fincast.tasks import TaskSpec


class ShrunkMean(Model):
    """The training mean target, shrunk towards zero by ``shrink``."""

    name = "toy-mean"
    kind = "baseline"
    tasks = ("return",)
    description = "training mean times (1 - shrink)"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {"shrink": Interval(0, 1)}

    def __init__(self, task: TaskSpec, *, shrink: float = 0.5, seed: int = 0) -> None:
        self.task = task
        self.shrink = shrink
        self.seed = seed

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        assert train.y is not None
        self.mean_ = np.asarray(train.y, dtype="float64").mean(axis=0) * (1 - self.shrink)
        return self

    def predict(self, data: Batch) -> np.ndarray:
        return np.tile(self.mean_, (len(data), 1))


__all__: list[Any] = ["ShrunkMean"]
