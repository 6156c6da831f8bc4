"""Metrics for the ``volatility`` task: MSE, MAE (scikit-learn), QLIKE and Mincer-Zarnowitz."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from .forecast_tests import mincer_zarnowitz, newey_west_lags
from .overlap import independent_rows

__all__ = ["VOLATILITY_METRICS", "qlike", "volatility_metrics"]

#: The keys of :func:`volatility_metrics`' result, in order.
VOLATILITY_METRICS = (
    "mse",
    "rmse",
    "mae",
    "qlike",
    "r2",
    "n_predictions",
    "mz_alpha",
    "mz_beta",
    "mz_r2",
    "mz_pvalue",
    "mz_test",
)


def qlike(sigma_true: ArrayLike, sigma_pred: ArrayLike) -> float:
    """Mean QLIKE loss of volatility forecasts (Patton 2011), on variances.

    ``QLIKE = mean(s2 / f2 - log(s2 / f2) - 1)`` with ``s2`` the realised and ``f2`` the
    forecast variance; 0 for a perfect forecast, >= 0 otherwise, and it ranks forecasts
    consistently even with a noisy realised proxy. Rows whose realised variance is 0 (no
    move at all) are left out, as the log is undefined there; ``nan`` if none is left.

    Examples
    --------
    >>> qlike([0.01, 0.02], [0.01, 0.02])
    0.0
    """
    s2 = np.square(np.asarray(sigma_true, dtype="float64"))
    f2 = np.square(np.asarray(sigma_pred, dtype="float64"))
    keep = (s2 > 0) & (f2 > 0)
    if not keep.any():
        return float("nan")
    ratio = s2[keep] / f2[keep]
    return float(np.mean(ratio - np.log(ratio) - 1.0))


def volatility_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    dates: ArrayLike | None = None,
    horizons: ArrayLike | None = None,
) -> dict[str, Any]:
    """MSE, RMSE, MAE, QLIKE, R² and the Mincer-Zarnowitz regression of volatility forecasts.

    Rows where either value is not finite, or the forecast is not > 0, are left out.
    ``mz_*`` is the Mincer-Zarnowitz regression on variances, realised = a + b forecast
    (:func:`fincast.metrics.forecast_tests.mincer_zarnowitz`): ``mz_alpha``, ``mz_beta``,
    ``mz_r2`` and ``mz_pvalue``, the p-value of the joint test a = 0, b = 1. A small
    p-value means the forecasts are biased or mis-scaled.

    With ``dates`` (and ``horizons``, in steps) the regression is fitted on the rows of
    every H-th date (H the largest horizon: :func:`fincast.metrics.overlap.independent_rows`),
    whose h-step targets do not overlap, in its GLS form (each row weighted by one over its
    forecast variance squared, Patton & Sheppard 2009) with an F test, clustered by date
    when several rows share a date (a panel, or several horizons pooled); ``mz_test`` says
    which. Without ``dates`` the rows are taken in the order given with Newey-West
    standard errors at ``floor(4 (n / 100)^(2/9))`` lags.

    Examples
    --------
    >>> volatility_metrics([0.01, 0.02], [0.01, 0.02])["mae"]
    0.0
    """
    t = np.asarray(y_true, dtype="float64").reshape(-1)
    p = np.asarray(y_pred, dtype="float64").reshape(-1)
    keep = np.isfinite(t) & np.isfinite(p) & (p > 0)
    t, p = t[keep], p[keep]
    out: dict[str, Any] = dict.fromkeys(VOLATILITY_METRICS)
    out["n_predictions"] = len(t)
    if not len(t):
        return out
    mse = float(mean_squared_error(t, p))
    out["mse"], out["rmse"] = mse, math.sqrt(mse)
    out["mae"] = float(mean_absolute_error(t, p))
    q = qlike(t, p)
    out["qlike"] = q if math.isfinite(q) else None
    out["r2"] = float(r2_score(t, p)) if len(t) > 1 and np.var(t) > 0 else None
    if dates is None:
        mz = mincer_zarnowitz(np.square(t), np.square(p), hac_lags=newey_west_lags(len(t)))
    else:
        h = None if horizons is None else np.asarray(horizons).reshape(-1)[keep]
        rows = independent_rows(np.asarray(dates).reshape(-1)[keep], h)
        k = rows.keep
        clusters = rows.cluster[k] if rows.clustered else None
        mz = mincer_zarnowitz(np.square(t[k]), np.square(p[k]), clusters=clusters, gls=True)
        out["mz_test"] = f"{mz['test']} on {rows.describe()}" if mz["test"] else None
    out["mz_alpha"], out["mz_beta"] = mz["alpha"], mz["beta"]
    out["mz_r2"], out["mz_pvalue"] = mz["r2"], mz["pvalue"]
    return out
