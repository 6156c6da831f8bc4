"""Shrinkage of a network's forecast toward its task's baseline, fitted on validation rows.

The combined forecast is ``w * network + (1 - w) * anchor`` with one weight ``w`` in
[0, 1] per horizon (0: the anchor, 1: the network). The anchor is the task's naive
forecast for regression tasks and the training class frequencies (the majority baseline's
probabilities) for class tasks, whose naive "last direction" is not a probability.

The weight is fitted on the validation tail of the training fold only - rows the network
did not train on and that lie before the test block - never on test rows:

- regression: least squares of ``y - anchor`` on ``network - anchor`` through the
  origin (closed form), times ``max(0, 1 - (z / t)^2)`` where ``t`` is the weight's
  t-statistic and ``z`` = :data:`Z` (a positive-part James-Stein factor: a weight that is
  not distinguishable from 0 at about 5 % gives 0), clipped to [0, 1];
- class tasks: the weight minimising the mean log loss of the combined probabilities,
  found by :func:`scipy.optimize.minimize_scalar` on [0, 1]; 0 unless the likelihood-ratio
  statistic of that weight against 0 exceeds ``Z**2`` (about 5 %, chi-squared with one
  degree of freedom).

With early stopping on, the network fits the weight on the second half of the validation
slice only (early stopping chose the epoch on the first half): a weight fitted on the rows
that chose the epoch is optimistic - on ``builtin:nasdaq`` direction one fold's weight of
1.0 cost ``mlp`` 0.011 of log loss over 3 folds. The slice is short (a tenth of the
training fold), so a raw least-squares weight is noisy too: on the first
fold of ``builtin:sp500`` returns (84 validation rows) it was 1.0 and cost 16 % of the
naive MSE on the test block. The significance factor takes such weights to 0. On data
without signal the weight goes to 0 and the forecast to the anchor.
"""

from __future__ import annotations

import numpy as np

__all__ = ["combine", "fit_weight", "fit_weight_logloss", "fit_weight_mse"]

_EPS = 1e-7
#: The critical value of the significance factors (two-sided 5 %: 1.96).
Z = 1.96


def fit_weight_mse(forecast: np.ndarray, anchor: np.ndarray, y: np.ndarray) -> float:
    """The weight in [0, 1] minimising the squared error of the combined forecast.

    Parameters
    ----------
    forecast, anchor, y
        The network's forecasts, the anchor forecasts and the outcomes of the same rows
        (one horizon); rows with a non-finite value are ignored.

    Returns
    -------
    float
        ``w = <f - a, y - a> / <f - a, f - a>`` times ``max(0, 1 - (Z / t)^2)`` (``t``: the
        t-statistic of ``w``), clipped to [0, 1]; 0 when the forecast equals the anchor
        (or fewer than 3 rows are usable).

    Examples
    --------
    >>> y = np.array([1.0, -1.0, 2.0])
    >>> fit_weight_mse(y, np.zeros(3), y)  # a perfect forecast
    1.0
    >>> fit_weight_mse(-y, np.zeros(3), y)
    0.0
    """
    f, a, t = (np.asarray(v, dtype="float64").ravel() for v in (forecast, anchor, y))
    ok = np.isfinite(f) & np.isfinite(a) & np.isfinite(t)
    d, e = f[ok] - a[ok], t[ok] - a[ok]
    denom = float(np.dot(d, d))
    if len(d) < 3 or denom <= 0 or not np.isfinite(denom):
        return 0.0
    w = float(np.dot(d, e) / denom)
    resid = e - w * d
    se2 = float(np.dot(resid, resid)) / (len(d) - 1) / denom
    factor = 1.0 if se2 <= 0 else max(0.0, 1.0 - Z**2 * se2 / w**2) if w else 0.0
    return float(np.clip(w * factor, 0.0, 1.0)) + 0.0  # + 0.0: no -0.0


def _log_loss(prob: np.ndarray, y: np.ndarray) -> float:
    """Mean log loss of probabilities ``prob`` (rows, classes) for one-hot ``y``."""
    return float(-np.mean(np.sum(y * np.log(np.clip(prob, _EPS, 1.0)), axis=-1)))


def fit_weight_logloss(prob: np.ndarray, anchor: np.ndarray, y: np.ndarray) -> float:
    """The weight in [0, 1] minimising the log loss of ``w * prob + (1 - w) * anchor``.

    Parameters
    ----------
    prob, anchor
        Class probabilities of the network and of the anchor, shape (rows, classes).
    y
        One-hot outcomes, shape (rows, classes).
    """
    from scipy.optimize import minimize_scalar

    p, a, t = (np.asarray(v, dtype="float64") for v in (prob, anchor, y))
    if not len(t):
        return 0.0
    result = minimize_scalar(
        lambda w: _log_loss(w * p + (1 - w) * a, t),
        bounds=(0.0, 1.0),
        method="bounded",
        options={"xatol": 1e-4},
    )
    w = float(np.clip(result.x, 0.0, 1.0))
    # the ends are candidates too (the bounded search stops just inside them)
    best = min((0.0, 1.0, w), key=lambda v: _log_loss(v * p + (1 - v) * a, t))
    gain = len(t) * (_log_loss(a, t) - _log_loss(best * p + (1 - best) * a, t))
    return float(best) if 2 * gain > Z**2 else 0.0


def _binary(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], axis=-1)


def fit_weight(
    forecast: np.ndarray, anchor: np.ndarray, y: np.ndarray, *, output: str, width: int = 1
) -> np.ndarray:
    """One weight per horizon (per output column for ``binary``).

    Parameters
    ----------
    forecast, anchor
        Network and anchor forecasts, shape (rows, columns) as the model predicts them
        (``width`` columns per horizon, horizon-major).
    y
        Outcomes, shape (rows, horizons): values, or class indices / 0-1 events.
    output
        ``regression``, ``binary`` or ``multiclass`` (the task's output kind).
    width
        Columns per horizon (classes for ``multiclass``, events for ``binary``).
    """
    f = np.asarray(forecast, dtype="float64")
    a = np.asarray(anchor, dtype="float64")
    t = np.asarray(y, dtype="float64")
    if output == "regression":
        return np.array([fit_weight_mse(f[:, j], a[:, j], t[:, j]) for j in range(f.shape[1])])
    if output == "multiclass":
        weights = []
        for h in range(t.shape[1]):
            cols = slice(h * width, (h + 1) * width)
            ok = np.isfinite(t[:, h])
            onehot = np.eye(width)[t[ok, h].astype("int64")]
            weights.append(fit_weight_logloss(f[ok, cols], a[ok, cols], onehot))
        return np.repeat(np.array(weights), width)
    weights = []
    for j in range(f.shape[1]):  # binary: one column per horizon (x event)
        ok = np.isfinite(t[:, j])
        onehot = _binary(t[ok, j])
        weights.append(fit_weight_logloss(_binary(f[ok, j]), _binary(a[ok, j]), onehot))
    return np.array(weights)


def combine(forecast: np.ndarray, anchor: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``weight * forecast + (1 - weight) * anchor`` (weights broadcast over rows)."""
    w = np.asarray(weight, dtype="float64")
    return w * np.asarray(forecast, dtype="float64") + (1 - w) * np.asarray(anchor, "float64")
