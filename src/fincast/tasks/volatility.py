"""``volatility``: realised volatility over the next h steps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .base import HorizonInputs, MetricKit, Task, shift

__all__ = ["VOL_ESTIMATORS", "VOL_FLOOR", "VolatilityTask"]

VOL_ESTIMATORS = ("close", "parkinson")
#: Smallest volatility forecast written (a linear model can go below zero).
VOL_FLOOR = 1e-8


def step_variance(inp: HorizonInputs) -> pd.Series:
    """Per-step variance proxy: squared log return, or the Parkinson range estimator."""
    frame, roles, column = inp.frame, inp.roles, inp.column
    if inp.spec.vol_estimator == "parkinson":
        if "high" not in roles or "low" not in roles:
            raise ConfigError(
                "vol_estimator parkinson needs high and low columns, which the data lacks; "
                "use --vol-estimator close"
            )
        hi = frame[roles["high"]].astype("float64")
        lo = frame[roles["low"]].astype("float64")
        return np.log(hi.where(hi > 0) / lo.where(lo > 0)) ** 2 / (4.0 * np.log(2.0))
    logged = np.log(frame[column].astype("float64").where(frame[column] > 0))
    return (logged - shift(logged, inp.groups, 1)) ** 2


class VolatilityTask(Task):
    """``sqrt(mean per-step variance over t+1 … t+h)``; naive: the same over t-h+1 … t."""

    name = "volatility"
    description = "realised volatility over the next h steps (close-to-close or Parkinson)"
    default_baselines = ("naive", "ewma", "garch", "ridge")
    #: ``qlike``: the variance loss (the network then outputs log variance).
    losses = ("mse", "mae", "huber", "qlike")
    headline_columns = ("mse", "rmse", "mae", "qlike", "r2", "skill_vs_naive", "n_predictions")
    plot_ylabel = "realised volatility over h steps"
    intervals = True

    def qlike_loss(self, predictions: pd.DataFrame) -> pd.Series:
        """QLIKE of each row, ``s2 / f2 - log(s2 / f2) - 1`` on variances (Patton 2011; the
        loss that ranks volatility forecasts consistently under a noisy proxy); NaN where the
        realised variance is 0, as in :func:`fincast.metrics.volatility.qlike`."""
        s2 = np.square(predictions["y_true"].to_numpy(dtype="float64"))
        f2 = np.square(np.maximum(predictions["y_pred"].to_numpy(dtype="float64"), VOL_FLOOR))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = s2 / f2
            loss = np.where(s2 > 0, ratio - np.log(ratio) - 1.0, np.nan)
        return pd.Series(loss, index=predictions.index)

    def extra_losses(self, predictions: pd.DataFrame) -> dict[str, tuple[pd.Series, str]]:
        """QLIKE against naive, beside the squared error of the verdict.

        The verdict keeps the squared error of the volatility (the loss of its skill
        figure): naive's one-step volatility ``|r_t|`` is sometimes near 0, which QLIKE
        punishes without bound, so one such row decides the QLIKE test (on
        ``builtin:sp500`` at h 1 every model's QLIKE p-value was 0.156, against
        p < 1e-20 for the squared error).
        """
        return {"qlike": (self.qlike_loss(predictions), "naive")}

    def interval_score(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """``|y - pred| / pred``: volatility errors grow with the level (Lei et al. 2018's
        locally weighted conformal score, the forecast as the scale)."""
        pred = np.maximum(np.asarray(pred, dtype="float64"), VOL_FLOOR)
        return np.abs(np.asarray(y, dtype="float64") - pred) / pred

    def interval_bounds(self, pred: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``pred (1 ± q)``, the lower bound floored at 0 (a volatility is >= 0)."""
        pred = np.maximum(np.asarray(pred, dtype="float64"), VOL_FLOOR)
        return np.maximum(pred * (1.0 - q), 0.0), pred * (1.0 + q)

    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        if "step_var" not in inp.cache:
            inp.cache["step_var"] = step_variance(inp)
        step_var, groups, index = inp.cache["step_var"], inp.groups, inp.frame.index
        past_var = (
            step_var.groupby(groups, sort=False)
            .rolling(inp.h, min_periods=inp.h)
            .mean()
            .reset_index(level=0, drop=True)
            .reindex(index)
        )
        return np.sqrt(shift(past_var, groups, -inp.h)), np.sqrt(past_var)

    def prediction_columns(self, spec: Any, out: np.ndarray) -> dict[str, np.ndarray]:
        return {"y_pred": np.maximum(out.reshape(-1), VOL_FLOOR)}

    def forecast_records(
        self, spec: Any, chunk: np.ndarray, last_value: float
    ) -> list[dict[str, Any]]:
        return [{"forecast": max(float(chunk[0]), 0.0), "last_value": last_value}]

    def metrics(self, rows: pd.DataFrame, kit: MetricKit) -> dict[str, Any]:
        return kit.volatility(
            rows["y_true"], rows["y_pred"], dates=rows["date"], horizons=rows["horizon"]
        )
