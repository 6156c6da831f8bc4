"""Point-forecast metrics for the ``return`` and ``level`` tasks.

Every number is :mod:`sklearn.metrics`' (``mean_squared_error``, ``root_mean_squared_error``,
``mean_absolute_error``, ``r2_score``, ``accuracy_score``), computed by the numpy operations
those functions run on 1-D float arrays without weights, without their input checks (a
panel scores every series on its own, thousands of calls whose time went to the checks):
the same operations on the same arrays, so the same bits (``tests/metrics/test_metrics_scale``
compares them with sklearn). This module decides which rows count and turns the results
into plain Python floats (``None`` where a metric is undefined).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DataError
from ..tasks.base import as_column
from .forecast_tests import pesaran_timmermann, pesaran_timmermann_clustered
from .overlap import independent_rows

__all__ = ["REGRESSION_METRICS", "regression_metrics"]

#: The keys of :func:`regression_metrics`' result, in order.
REGRESSION_METRICS = (
    "mse",
    "rmse",
    "mae",
    "r2",
    "direction_accuracy",
    "n_predictions",
    "pt_statistic",
    "pt_pvalue",
    "direction_call_share",
    "pt_test",
)


def _as_float_array(values: ArrayLike, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype="float64").reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"`{name}` must hold numbers: {exc}") from exc


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _point_errors(actual: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float, float]:
    """sklearn's ``mean_squared_error``, ``root_mean_squared_error``,
    ``mean_absolute_error`` and ``r2_score`` (``force_finite``) of 1-D float arrays (at
    least one row; R² NaN below two), by the operations sklearn runs on them."""
    t, p = as_column(actual), as_column(predicted)
    squared = np.average((t - p) ** 2, axis=0)  # mean_squared_error's "raw_values"
    mse_ = float(np.average(squared))
    rmse = float(np.average(np.sqrt(squared)))
    mae = float(np.average(np.average(np.abs(p - t), axis=0)))
    if len(t) < 2:
        return mse_, rmse, mae, math.nan
    numerator = np.sum(1.0 * (t - p) ** 2, axis=0)
    denominator = np.sum(1.0 * (t - np.average(t, axis=0)) ** 2, axis=0)
    scores = np.ones(1)  # force_finite: a perfect forecast scores 1, a flat target 0
    valid = (denominator != 0) & (numerator != 0)
    scores[valid] = 1 - numerator[valid] / denominator[valid]
    scores[(numerator != 0) & ~(denominator != 0)] = 0.0
    return mse_, rmse, mae, float(np.average(scores))


def _sign_accuracy(actual: np.ndarray, predicted: np.ndarray) -> tuple[float | None, float | None]:
    """Direction accuracy over the calls, and the share of rows with a call.

    Among the rows whose actual value moved (non-zero), a forecast of exactly 0 makes no
    call (a network shrunk to naive's "no change" on that day). The accuracy is the share
    of the calls whose sign matches the move, so a forecast that abstains is not scored as
    wrong; the share is the fraction of moved rows with a call. Both are None when nothing
    moved; the accuracy is None when the forecast never calls a direction (the naive one
    of ``return``).
    """
    moved = actual != 0
    if not moved.any():
        return None, None
    called = moved & (predicted != 0)
    share = float(called.sum() / moved.sum())
    if not called.any():
        return None, share
    # accuracy_score of the signs (-1 or 1 here): the mean of the matches
    hits = np.sign(actual[called]) == np.sign(predicted[called])
    return float(np.average(hits)), share


def regression_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    y_naive: ArrayLike | None = None,
    relative: bool = False,
    dates: ArrayLike | None = None,
    horizons: ArrayLike | None = None,
) -> dict[str, Any]:
    """Error and direction metrics of point forecasts.

    Rows where ``y_true`` or ``y_pred`` is not finite are left out.

    Parameters
    ----------
    y_true
        Realised values: h-step log returns, or the value at t + h (``relative``).
    y_pred
        Forecasts of the same rows.
    y_naive
        With ``relative``: the naive forecast of each row (the value at t), the reference
        against which a predicted move up or down is measured. Rows where it is missing are
        left out of ``direction_accuracy``.
    relative
        True for forecasts of a value (``level``): directions are moves relative to
        ``y_naive``; False for forecasts of a change (``return``): their signs.
    dates, horizons
        The date and horizon (in steps) of each row. With them the Pesaran-Timmermann test
        takes the rows of every H-th date only (H the largest horizon), whose h-step
        targets do not overlap (:func:`fincast.metrics.overlap.independent_rows`), and
        pools the rows that share a date (a panel's series) by clustering on the date;
        without them every row counts as an independent observation.

    Returns
    -------
    dict
        ``mse``, ``rmse``, ``mae``, ``r2``, ``direction_accuracy`` (floats or ``None`` when
        undefined) and ``n_predictions`` (int). ``r2`` needs at least 2 rows.
        ``direction_accuracy`` is the share of the forecast's calls whose direction
        matches the actual one, among the rows that actually moved; a forecast of no
        change makes no call on that row (``direction_call_share`` is the share of moved
        rows with a call): the sign of ``y_pred`` against the sign of ``y_true`` by
        default; the sign of ``y_pred - y_naive`` against the sign of ``y_true - y_naive``
        with ``relative`` (``None`` without ``y_naive``, and ``None`` for a forecast that
        never moves, such as naive itself).
        ``pt_statistic`` / ``pt_pvalue`` (``return`` only): the Pesaran-Timmermann test that
        the sign of ``y_pred`` anticipates the sign of ``y_true`` (one-sided; ``None`` for
        a forecast whose sign never changes, such as naive's 0); ``pt_test`` says which
        rows it used (with ``dates``).

    Raises
    ------
    DataError
        If the arrays differ in length or hold non-numbers.

    Examples
    --------
    >>> m = regression_metrics([1.0, -1.0, 2.0], [0.5, 0.5, 2.0])
    >>> m["mse"], m["direction_accuracy"], m["n_predictions"]
    (0.8333333333333334, 0.6666666666666666, 3)
    """
    actual = _as_float_array(y_true, "y_true")
    predicted = _as_float_array(y_pred, "y_pred")
    naive = None if y_naive is None else _as_float_array(y_naive, "y_naive")
    if len(predicted) != len(actual) or (naive is not None and len(naive) != len(actual)):
        raise DataError(
            f"regression_metrics: y_true has {len(actual)} rows but y_pred has "
            f"{len(predicted)}" + ("" if naive is None else f" and y_naive {len(naive)}")
        )
    keep = np.isfinite(actual) & np.isfinite(predicted)
    actual, predicted = actual[keep], predicted[keep]
    sample = None
    if dates is not None:
        h = None if horizons is None else np.asarray(horizons).reshape(-1)[keep]
        sample = independent_rows(np.asarray(dates).reshape(-1)[keep], h)
    n = len(actual)
    out: dict[str, Any] = dict.fromkeys(REGRESSION_METRICS)
    out["n_predictions"] = n
    if n == 0:
        return out
    mse_, rmse, mae, r2 = _point_errors(actual, predicted)
    out["mse"] = _finite_or_none(mse_)
    out["rmse"] = _finite_or_none(rmse)
    out["mae"] = _finite_or_none(mae)
    out["r2"] = _finite_or_none(r2) if n >= 2 else None
    if not relative:
        out["direction_accuracy"], out["direction_call_share"] = _sign_accuracy(actual, predicted)
        if sample is None:
            pt = pesaran_timmermann(actual, predicted)
        else:
            k = sample.keep
            if sample.clustered:
                pt = pesaran_timmermann_clustered(actual[k], predicted[k], sample.cluster[k])
            else:
                pt = pesaran_timmermann(actual[k], predicted[k])
            if pt["statistic"] is not None:
                kind = "regression form, clustered" if sample.clustered else "1992"
                out["pt_test"] = f"PT ({kind}) on {sample.describe()}"
        out["pt_statistic"], out["pt_pvalue"] = pt["statistic"], pt["pvalue"]
    elif naive is not None:
        naive = naive[keep]
        known = np.isfinite(naive)
        out["direction_accuracy"], out["direction_call_share"] = _sign_accuracy(
            actual[known] - naive[known], predicted[known] - naive[known]
        )
    return out
