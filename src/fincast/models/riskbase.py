"""Baselines of the ``quantile`` and ``var`` tasks: volatility times a standard distribution.

Each forecasts the h-step return as ``sd(t, h) * Z`` with ``sd`` a volatility forecast made
from data dated <= t and ``Z`` a standard distribution; the task turns that into its
columns (quantiles; VaR and ES):

- ``fhs`` — filtered historical simulation (Barone-Adesi, Giannopoulos & Vosper 1999):
  ``sd`` the GARCH(1, 1) forecast of the :class:`~fincast.models.garch.GarchBaseline`
  (``arch``), ``Z`` the empirical distribution of the training rows' h-step returns divided
  by their own ``sd`` (for h = 1 the standardised residuals);
- ``garch-normal`` — the same GARCH ``sd`` with a standard normal ``Z``;
- ``riskmetrics`` — the RiskMetrics EWMA volatility (lambda 0.94,
  :class:`~fincast.models.ewma.EWMABaseline`) with a standard normal ``Z`` (J.P. Morgan
  RiskMetrics Technical Document, 1996).

The h-step ``sd`` is ``sqrt(h)`` times the per-step volatility the volatility baselines
forecast (the root of the mean variance over t+1 … t+h), so ``sd^2`` is the forecast
variance of the h-step return. For h > 1 the normal models treat the h-step return as
normal, which a GARCH process is only approximately.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np

from ..tasks import TaskSpec
from ..tasks.quantile import QuantileTask
from .base import Batch, Model
from .ewma import EWMABaseline
from .garch import GarchBaseline

__all__ = ["FHSBaseline", "GarchNormalBaseline", "RiskMetricsBaseline"]

_TASKS = ("quantile", "var")


class _ScaledBaseline(Model):
    """``sd(t, h) * Z`` with ``sd`` from a volatility baseline; subclasses choose both."""

    tasks: ClassVar[tuple[str, ...] | None] = _TASKS
    #: Z is the training rows' standardised returns (else a standard normal).
    empirical: ClassVar[bool] = False
    returns_input = True  # its volatility baseline reads the ret features as returns

    def __init__(self, task: TaskSpec, *, seed: int = 0) -> None:
        self.task = task
        self.seed = seed

    def _sd(self, data: Batch) -> np.ndarray:
        """The h-step volatility forecast of every row, (n, horizons)."""
        per_step = np.asarray(self.vol_.predict(data), dtype="float64")
        return per_step * np.sqrt(np.asarray(self.task.horizons, dtype="float64"))[None, :]

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        vol_task = TaskSpec("volatility", tuple(self.task.horizons))
        self.vol_ = self._vol_model_for(vol_task).fit(train)
        self.z_: list[np.ndarray] = []
        if self.empirical:
            assert train.y is not None
            y = np.asarray(train.y, dtype="float64")
            sd = self._sd(train)
            for j in range(y.shape[1]):
                z = y[:, j] / sd[:, j]
                self.z_.append(z[np.isfinite(z)])
        return self

    def _vol_model_for(self, vol_task: TaskSpec) -> Any:
        raise NotImplementedError

    def predict(self, data: Batch) -> np.ndarray:
        kind = self.task.task
        assert isinstance(kind, QuantileTask)
        sd = self._sd(data)
        cols = []
        for j in range(sd.shape[1]):
            if self.empirical:
                cols.append(kind.from_scaled(self.task, sd[:, j], self.z_[j]))
            else:
                mean = np.zeros(len(sd))
                cols.append(kind.from_normal(self.task, mean, sd[:, j]))
        return np.concatenate(cols, axis=1)


class FHSBaseline(_ScaledBaseline):
    """Filtered historical simulation: GARCH(1, 1) volatility x empirical standardised returns."""

    name = "fhs"
    description = "filtered historical simulation: GARCH vol x standardised returns (arch)"
    empirical = True

    def _vol_model_for(self, vol_task: TaskSpec) -> Any:
        return GarchBaseline(vol_task)


class GarchNormalBaseline(_ScaledBaseline):
    """Gaussian GARCH(1, 1): the GARCH volatility with normal quantiles."""

    name = "garch-normal"
    description = "Gaussian GARCH(1,1): GARCH vol x normal quantiles (arch)"

    def _vol_model_for(self, vol_task: TaskSpec) -> Any:
        return GarchBaseline(vol_task)


class RiskMetricsBaseline(_ScaledBaseline):
    """RiskMetrics: EWMA volatility (lambda 0.94) with normal quantiles."""

    name = "riskmetrics"
    description = "RiskMetrics: EWMA vol (0.94) x normal quantiles"

    def _vol_model_for(self, vol_task: TaskSpec) -> Any:
        return EWMABaseline(vol_task)
