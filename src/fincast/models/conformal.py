"""Conformal prediction intervals around point forecasts (pure numpy, no model).

- :func:`split_conformal`: the symmetric interval ``y_pred ± q`` with ``q`` the
  finite-sample-corrected quantile of the absolute validation residuals (Vovk et al. 2005;
  Lei et al. 2018, "Distribution-free predictive inference for regression", JASA 113):
  the ``ceil((n + 1) level)``-th smallest of the ``n`` scores, infinite when that exceeds
  ``n``. Under exchangeability of validation and test residuals it covers at least
  ``level``. Computed per horizon (per column).
- :func:`adaptive_conformal`: adaptive conformal inference (Gibbs & Candès 2021, "Adaptive
  conformal inference under distribution shift", NeurIPS), which tracks the miss rate
  online: ``alpha_{t+1} = alpha_t + gamma (alpha - err_t)`` and the interval of row t
  uses the ``1 - alpha_t`` quantile of the scores known at t. It uses the outcomes of
  earlier test rows, each only once it is known (``delay`` rows later, the horizon), so it
  needs the test rows of one series in time order.

Residuals are ``y_true - y_pred`` of the fold's own validation tail, so a fold never sees
its test block (split conformal) or sees only its past (adaptive).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from ..errors import ConfigError, DataError

__all__ = ["adaptive_conformal", "conformal_quantile", "split_conformal"]


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ConfigError(f"interval level must lie in (0, 1), got {level}; e.g. 0.9 for 90 %")
    return level


def conformal_quantile(scores: ArrayLike, level: float) -> float:
    """The ``ceil((n + 1) level)``-th smallest of ``n`` finite scores (``inf`` if > n).

    Examples
    --------
    >>> conformal_quantile([1.0, 2.0, 3.0, 4.0], 0.5)
    3.0
    >>> conformal_quantile([1.0, 2.0, 3.0, 4.0], 0.9)
    inf
    """
    return _order_statistic(np.asarray(scores, dtype="float64"), _check_level(level))


def _order_statistic(scores: np.ndarray, level: float) -> float:
    s = scores.reshape(-1)
    s = s[np.isfinite(s)]
    k = math.ceil((len(s) + 1) * level)
    if k > len(s):
        return float("inf")
    return float(np.partition(s, k - 1)[k - 1])


def split_conformal(
    val_residuals: ArrayLike, y_pred: ArrayLike, levels: Iterable[float]
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Split-conformal intervals ``y_pred ± q(level)`` from validation residuals.

    Parameters
    ----------
    val_residuals
        ``y_true - y_pred`` on the validation tail: shape ``(n,)``, or ``(n, H)`` with one
        column per horizon. Non-finite values are left out (per column).
    y_pred
        Point forecasts of the test rows: ``(m,)``, or ``(m, H)`` matching the columns.
    levels
        Nominal coverages, each in (0, 1).

    Returns
    -------
    dict
        ``{level: (lo, hi)}`` with arrays shaped like ``y_pred`` (infinite bounds when the
        validation tail is too short for the level: fewer than ``1 / (1 - level) - 1``).

    Raises
    ------
    DataError
        If the numbers of horizons differ.

    Examples
    --------
    >>> lo, hi = split_conformal([-2.0, 1.0, -1.0, 0.5], [10.0], [0.5])[0.5]
    >>> lo.tolist(), hi.tolist()
    ([9.0], [11.0])
    """
    res = np.abs(np.asarray(val_residuals, dtype="float64"))
    pred = np.asarray(y_pred, dtype="float64")
    if res.ndim != pred.ndim or (res.ndim == 2 and res.shape[1] != pred.shape[1]):
        raise DataError(
            f"split_conformal: validation residuals {res.shape} and forecasts {pred.shape} "
            "need the same number of horizons (columns)"
        )
    cols = res.reshape(len(res), -1)
    out = {}
    for level in levels:
        q = np.array([conformal_quantile(cols[:, j], level) for j in range(cols.shape[1])])
        q = q.reshape(()) if pred.ndim == 1 else q
        out[_check_level(level)] = (pred - q, pred + q)
    return out


def adaptive_conformal(
    val_residuals: ArrayLike,
    y_pred: ArrayLike,
    y_true: ArrayLike,
    level: float,
    *,
    gamma: float = 0.005,
    delay: int = 1,
    window: int | None = None,
    cap: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive conformal inference (ACI) intervals for one series and one horizon.

    Row t (in time order) gets ``y_pred[t] ± Q(1 - alpha_t)``, ``Q`` the empirical
    quantile (finite-sample corrected, :func:`conformal_quantile`) of the absolute
    residuals known at t: the validation tail's and those of test rows ``s <= t - delay``
    (the last ``window`` of them if given). After ``y_true[s]`` is known,
    ``alpha <- alpha + gamma * (1 - level - miss_s)`` (Gibbs & Candès 2021, eq. 2). An
    ``alpha_t <= 0`` gives an infinite interval, ``alpha_t >= 1`` an empty one (lo = hi).

    Parameters
    ----------
    val_residuals
        ``y_true - y_pred`` on the validation tail, shape ``(n,)``.
    y_pred, y_true
        Point forecasts and outcomes of the test rows, in time order, shape ``(m,)``.
    level
        Nominal coverage in (0, 1).
    gamma
        Step size; 0 gives split conformal with a growing calibration set. Gibbs & Candès
        use 0.005.
    delay
        Rows until an outcome is known (the forecast horizon).
    window
        Keep only the most recent ``window`` scores (``None``: all).
    cap
        Largest half-width of each test row, shape ``(m,)`` (``None``: no cap). The capped
        interval is the one returned and the one whose misses update ``alpha``: were the
        update to see the uncapped (possibly infinite) interval, a capped row that misses
        would count as covered, and after a volatility jump the reported intervals would
        miss at 15-23 % for a 10 % target.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lo, hi)``, shape ``(m,)``.

    Examples
    --------
    >>> lo, hi = adaptive_conformal([1.0, -1.0, 2.0], [0.0, 0.0], [5.0, 0.0], 0.5)
    >>> hi.tolist()
    [1.0, 2.0]
    """
    level = _check_level(level)
    if gamma < 0 or delay < 1 or (window is not None and window < 1):
        raise ConfigError(
            f"adaptive_conformal needs gamma >= 0, delay >= 1 and window >= 1, got "
            f"gamma={gamma}, delay={delay}, window={window}"
        )
    pred = np.asarray(y_pred, dtype="float64").reshape(-1)
    true = np.asarray(y_true, dtype="float64").reshape(-1)
    if len(pred) != len(true):
        raise DataError(f"y_pred has {len(pred)} rows but y_true has {len(true)}")
    limit = None if cap is None else np.asarray(cap, dtype="float64").reshape(-1)
    if limit is not None and len(limit) != len(pred):
        raise DataError(f"cap has {len(limit)} rows but y_pred has {len(pred)}")
    res = np.abs(np.asarray(val_residuals, dtype="float64").reshape(-1))
    scores = list(res[np.isfinite(res)])
    target = 1.0 - level
    alpha = target
    lo, hi = np.empty_like(pred), np.empty_like(pred)
    for t in range(len(pred)):
        s = t - delay
        if s >= 0 and np.isfinite(true[s]) and np.isfinite(pred[s]):
            miss = not lo[s] <= true[s] <= hi[s]
            alpha += gamma * (target - float(miss))
            scores.append(abs(true[s] - pred[s]))
        pool = scores[-window:] if window else scores
        if 1.0 - alpha >= 1.0 or not pool:  # alpha <= 0 (also after rounding)
            q = float("inf")
        elif alpha >= 1.0:
            q = 0.0
        else:
            q = _order_statistic(np.asarray(pool), 1.0 - alpha)
        if limit is not None:
            q = min(q, float(limit[t]))
        lo[t], hi[t] = pred[t] - q, pred[t] + q
    return lo, hi
