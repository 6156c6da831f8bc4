"""``volatility``: realised volatility over the next h steps.

The target is built from a per-step variance proxy ``v_t`` (one row, one step), averaged
over the horizon: ``y(t) = sqrt(mean(v_{t+1} … v_{t+h}))`` and the naive forecast
``sqrt(mean(v_{t-h+1} … v_t))``. ``v_t`` reads only the row dated t and, for the estimators
that need the previous close, the row before it, so the target at t reads only rows
dated t and after (the close at t, known at t, starts the next step's return) and the
naive forecast only rows dated <= t.

Per-step estimators (``--vol-estimator``), with ``O, H, L, C`` the row's open, high, low
and close and ``C'`` the previous row's close:

``close``
    ``ln(C/C')^2``: the squared log return of the target column.
``parkinson`` (Parkinson 1980)
    ``ln(H/L)^2 / (4 ln 2)``.
``garman-klass`` (Garman & Klass 1980)
    ``0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2``.
``rogers-satchell`` (Rogers & Satchell 1991)
    ``ln(H/C) ln(H/O) + ln(L/C) ln(L/O)`` (unbiased under a drift).
``yang-zhang`` (Yang & Zhang 2000)
    ``ln(O/C')^2 + k ln(C/O)^2 + (1 - k) RS`` with ``RS`` the Rogers–Satchell term and
    ``k = 0.34 / (1.34 + (n + 1) / (n - 1))`` taken as ``n -> inf``, i.e.
    ``k = 0.34 / 2.34``: Yang and Zhang's ``(n+1)/(n-1)`` corrects the sample variances of
    an n-day window for their estimated mean; fincast's per-step terms are not demeaned
    (as the close-to-close proxy is ``r^2``, not ``(r - mean)^2``), for which the factor
    is 1. Each term is unbiased for its part of the day (overnight, open to close), so
    the mean is unbiased for any k; k only weighs efficiency. It alone of the range
    estimators includes the overnight jump, as ``close`` does.
``realized``
    A daily realised-variance column the data carries (``rv``, ``realized_variance`` or
    ``realised_variance``, e.g. the sum of squared intraday log returns of each session:
    :func:`fincast.data.session_bars` computes it from intraday bars). fincast's rows are
    the data's rows, so intraday bars are refused: aggregate them to one row per session
    first.

Garman–Klass, Parkinson and Rogers–Satchell measure the open-to-close part of the
variance; ``close`` and ``yang-zhang`` the whole close-to-close step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .base import HorizonInputs, MetricKit, Task, shift

__all__ = ["RV_COLUMNS", "VOL_ESTIMATORS", "VOL_FLOOR", "YZ_K", "VolatilityTask", "step_variance"]

VOL_ESTIMATORS = ("close", "parkinson", "garman-klass", "rogers-satchell", "yang-zhang", "realized")
#: Smallest volatility forecast written (a linear model can go below zero).
VOL_FLOOR = 1e-8
#: Yang–Zhang's weight of the open-to-close variance, ``0.34 / (1.34 + 1)`` (see above).
YZ_K = 0.34 / 2.34
#: Column names (compared lower-case, without spaces, ``_`` or ``-``) of a realised variance.
RV_COLUMNS = ("rv", "realizedvariance", "realisedvariance")
#: The OHLC roles each range estimator reads.
_NEEDS = {
    "parkinson": ("high", "low"),
    "garman-klass": ("open", "high", "low", "close"),
    "rogers-satchell": ("open", "high", "low", "close"),
    "yang-zhang": ("open", "high", "low", "close"),
}


def _and(words: tuple[str, ...] | list[str]) -> str:
    """``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _log_prices(frame: pd.DataFrame, roles: Mapping[str, str], estimator: str) -> dict[str, Any]:
    """The logs of the OHLC columns ``estimator`` needs (NaN where a price is <= 0)."""
    needs = _NEEDS[estimator]
    missing = [r for r in needs if r not in roles]
    if missing:
        other = " or parkinson" if "high" in roles and "low" in roles else ""
        raise ConfigError(
            f"vol_estimator {estimator} needs {_and(needs)} columns, and the data has no "
            f"{_and(missing)} column; add them or use --vol-estimator close{other}"
        )
    out: dict[str, Any] = {}
    for role in needs:
        price = frame[roles[role]].astype("float64")
        out[role] = np.log(price.where(price > 0))
    return out


def _rv_column(frame: pd.DataFrame) -> str:
    """The realised-variance column of ``frame`` (see :data:`RV_COLUMNS`)."""
    for col in frame.columns:
        key = "".join(ch for ch in str(col).lower() if ch.isalnum())
        if key in RV_COLUMNS:
            return str(col)
    raise ConfigError(
        "vol_estimator realized needs a realised-variance column (rv, realized_variance or "
        "realised_variance: one row per session); the data has none; add one (from intraday "
        "bars: fincast.data.session_bars) or use --vol-estimator close"
    )


def _check_not_intraday(frame: pd.DataFrame) -> None:
    """Refuse rows that are intraday bars: the realised variance is one value per session."""
    day = frame["date"].dt.normalize()
    dup = pd.DataFrame({"id": frame["id"], "day": day}).duplicated()
    if dup.any():
        row = frame.loc[dup.idxmax()]
        raise DataError(
            f"vol_estimator realized: series {row['id']} has several rows on "
            f"{row['date']:%Y-%m-%d} (intraday bars); fincast forecasts the data's rows, so "
            "aggregate the bars to one row per session with its realised variance first "
            "(fincast.data.session_bars) and forecast that"
        )


def step_variance(inp: HorizonInputs) -> pd.Series:
    """The per-step variance proxy ``v_t`` of ``inp.spec.vol_estimator`` (see the module)."""
    frame, roles, estimator = inp.frame, inp.roles, inp.spec.vol_estimator
    if estimator == "realized":
        _check_not_intraday(frame)
        rv = frame[_rv_column(frame)].astype("float64")
        return rv.where(rv >= 0)
    if estimator == "close":
        column = inp.column
        logged = np.log(frame[column].astype("float64").where(frame[column] > 0))
        return (logged - shift(logged, inp.groups, 1)) ** 2
    lp = _log_prices(frame, roles, estimator)
    hl = lp["high"] - lp["low"]
    if estimator == "parkinson":
        return hl**2 / (4.0 * np.log(2.0))
    co = lp["close"] - lp["open"]
    if estimator == "garman-klass":
        return 0.5 * hl**2 - (2.0 * np.log(2.0) - 1.0) * co**2
    rs = (lp["high"] - lp["close"]) * (lp["high"] - lp["open"]) + (lp["low"] - lp["close"]) * (
        lp["low"] - lp["open"]
    )
    if estimator == "rogers-satchell":
        return rs
    overnight = lp["open"] - shift(lp["close"], inp.groups, 1)
    return overnight**2 + YZ_K * co**2 + (1.0 - YZ_K) * rs


class VolatilityTask(Task):
    """``sqrt(mean per-step variance over t+1 … t+h)``; naive: the same over t-h+1 … t."""

    name = "volatility"
    description = (
        "realised volatility over the next h steps (close-to-close, range estimators or "
        "a realised-variance column)"
    )
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
