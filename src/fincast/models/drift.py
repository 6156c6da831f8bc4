"""Drift baseline: each series' own random walk with drift."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from .base import Batch, TaskOnlyBaseline

__all__ = ["DriftBaseline"]


class DriftBaseline(TaskOnlyBaseline):
    """The last value plus the series' mean h-step change over its training rows.

    ``return``: each series' training mean h-step return; ``level``: the last value plus
    the series' training mean h-step change. Unlike ``mean``, which pools every series, the
    drift is fitted per series; a series without training rows gets the pooled drift.
    """

    name = "drift"
    description = "per-series random walk with drift"
    tasks = ("return", "level")

    def _change(self, batch: Batch) -> np.ndarray:
        assert batch.y is not None
        y = np.asarray(batch.y, dtype="float64")
        return y - batch.naive if self.task.forecasts_level else y

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        change = self._change(train)
        ids = train.ids if train.ids is not None else np.zeros(len(train))
        self.pooled_ = change.mean(axis=0)
        self.drift_ = pd.DataFrame(change).groupby(np.asarray(ids, dtype=str)).mean()
        return self

    def predict(self, data: Batch) -> np.ndarray:
        ids = data.ids if data.ids is not None else np.zeros(len(data))
        drift = self.drift_.reindex(np.asarray(ids, dtype=str)).to_numpy(dtype="float64")
        drift = np.where(np.isnan(drift), self.pooled_, drift)
        if self.task.forecasts_level:
            return np.asarray(data.naive, dtype="float64") + drift
        return drift
