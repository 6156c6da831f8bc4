"""Prediction intervals of a backtest fold (``--intervals``): conformal, honestly held out.

Every model row gets, for each nominal coverage ``level``, the interval
``Task.interval_bounds(y_pred, q)`` where ``q`` is a conformal quantile of the scores
``Task.interval_score(y, y_pred)``. The scores start from a calibration block of the
fold's own training period, never its test block:

- a model that held out a validation tail (networks with early stopping or shrinkage) is
  scored on that tail, with the weights it forecasts the test block with;
- any other model (baselines, a network with ``--patience 0 --no-shrink``) is refitted on
  the training rows before a tail of the same size (``--val-fraction`` of the fold's
  training dates, after a purge gap of the horizon) and scored on that tail; the test
  block is forecast by the model fitted on all training rows, as without intervals.

Scores are absolute errors for ``return`` and ``level`` and relative errors
``|y - pred| / pred`` for ``volatility`` (a locally weighted score: volatility errors scale
with the level). One quantile per horizon; panels pool their series. Under exchangeability of
calibration and test scores split conformal covers at least ``level`` (Lei et al. 2018,
"Distribution-free predictive inference for regression", JASA 113).

Two methods (``--interval-method``):

- ``split``: ``q`` is the ``ceil((n + 1) level)``-th smallest calibration score
  (:func:`~fincast.models.conformal.conformal_quantile`), fixed for the whole test block;
  it never looks at a test outcome.
- ``aci`` (default): adaptive conformal inference (Gibbs & Candès 2021,
  :func:`~fincast.models.conformal.adaptive_conformal`), per series and horizon in time
  order: the scores of test rows join the pool once their outcome is known (``h`` rows
  later) and the working miss rate moves by :data:`ACI_GAMMA` after each outcome. Where
  ACI's level would exceed 1 (an unbounded interval after a run of misses) ``q`` is the
  largest score known so far instead, and ACI's update sees that capped interval (a capped
  row that misses counts as a miss). Measured on builtin:sp500 (return, naive baseline,
  5 folds, 90 % intervals): split covered 89.5 % overall but 72 % in the most volatile
  fifth of days (trailing 20-day volatility) and 72 % in the 2008 fold, Winkler 0.0637;
  ACI with gamma 0.05 covered 89.9 % overall, 91.3 % in the most volatile fifth, 89-90 %
  in every fold, Winkler 0.0463 (gamma 0.01: 90.3 %, 86.6 %, 0.0477; gamma 0.005: 90.8 %,
  84.0 %, 0.0492). docs/guide/risk.md "Prediction intervals" has the numbers.

A saved model (``fincast train --intervals``) keeps split-conformal quantiles
(:func:`saved_calibration`): scored on the validation tail the network held out (or, for a
network that holds none out, by a refit on the rows before that tail, as a backtest does),
one quantile per level and horizon, stored in ``fincast.json``; ``fincast predict`` puts
the bounds beside each forecast (:func:`saved_bounds`). ACI needs the outcomes of earlier
test rows, which a saved model forecasting one day at a time does not have: saved
intervals are split conformal.

This module sits between the models and the backtest engine: it imports the design and
the models, and the engine calls :func:`fold_intervals` once per (model, fold).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .design import Design
from .errors import ConfigError, ModelError
from .models.conformal import adaptive_conformal, conformal_quantile
from .predictions import interval_columns
from .tasks import TaskSpec

#: ACI's step size (Gibbs & Candès use 0.005 on long series; fincast's test blocks are a
#: few hundred rows, where 0.05 tracked volatile periods best, see the module docstring).
ACI_GAMMA = 0.05

__all__ = [
    "ACI_GAMMA",
    "adaptive_bounds",
    "calibration_rows",
    "check_calibration",
    "check_intervals",
    "check_saved_tail",
    "fold_intervals",
    "interval_bounds",
    "mean_intervals",
    "saved_bounds",
    "saved_calibration",
]


def check_intervals(task: TaskSpec, levels: Sequence[float] | None) -> None:
    """Refuse ``--intervals`` on a task without a continuous target (ConfigError)."""
    if levels and not task.task.intervals:
        raise ConfigError(
            f"--intervals applies to the return, level and volatility tasks, not --task "
            f"{task.kind} (its forecasts are classes or probabilities); leave --intervals out"
        )


def _min_rows(level: float) -> int:
    """Calibration scores needed for a finite conformal quantile: ``ceil((n+1) l) <= n``."""
    return math.ceil(level / (1.0 - level) - 1e-9)


def check_calibration(
    levels: Sequence[float] | None, folds: Sequence[Any], val_fraction: float
) -> None:
    """Refuse levels the smallest fold's calibration tail cannot reach (ConfigError).

    A tail of ``n`` dates gives a finite ``level`` interval only if ``n >= level / (1 -
    level)`` (e.g. 9 for 0.9, 99 for 0.99).
    """
    if not levels:
        return
    top = max(levels)
    need = _min_rows(top)
    for fold in folds:
        n_train = fold.train_end - fold.train_start
        n_cal = max(1, round(n_train * val_fraction))
        if n_cal < need:
            raise ConfigError(
                f"--intervals {top:g} needs a calibration tail of at least {need} dates but "
                f"fold {fold.index} holds out {n_cal} ({val_fraction:g} of {n_train} training "
                "dates); raise --val-fraction, use fewer --folds or a lower level"
            )


def calibration_rows(
    d: Design, fold: Any, train_mask: np.ndarray, val_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(fit_mask, cal_mask)``: training rows before a purged tail, and the tail.

    The tail is the last ``round(val_fraction * training dates)`` dates of the fold's
    training rows; the rows fitted end a gap (the fold's test gap) before it, and their
    targets end before it too.
    """
    n_train = fold.train_end - fold.train_start
    n_cal = max(1, round(n_train * val_fraction))
    cal_start = fold.train_end - n_cal
    gap = fold.test_start - fold.train_end
    cal_mask = train_mask & (d.date_pos >= cal_start)
    fit_mask = train_mask & (d.date_pos < cal_start - gap)
    if d.target_end_pos is not None:
        fit_mask &= d.target_end_pos < cal_start
    return fit_mask, cal_mask


def interval_bounds(
    task: TaskSpec,
    y_cal: np.ndarray,
    pred_cal: np.ndarray,
    pred: np.ndarray,
    levels: Sequence[float],
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Split-conformal bounds of forecasts ``pred`` (n, H) from calibration rows (m, H).

    Returns ``{level: (lo, hi)}``, each (n, H). Rows whose target is unknown (NaN) are left
    out of the calibration scores.

    Raises
    ------
    ModelError
        When the calibration block is too short for a level (an infinite interval).
    """
    out: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    kind = task.task
    scores = kind.interval_score(y_cal, pred_cal).reshape(len(y_cal), -1)
    for level in levels:
        q = np.array([conformal_quantile(scores[:, j], level) for j in range(scores.shape[1])])
        if not np.isfinite(q).all():
            n = int(np.isfinite(scores).all(axis=1).sum())
            raise ModelError(
                f"only {n} calibration rows: too few for a {level:g} interval (needs "
                f"{_min_rows(level)}); raise --val-fraction or lower the level"
            )
        out[float(level)] = kind.interval_bounds(pred, q[None, :])
    return out


def fold_intervals(
    task: TaskSpec,
    d: Design,
    fold: Any,
    train_mask: np.ndarray,
    frame: pd.DataFrame,
    levels: Sequence[float],
    *,
    model: Any,
    validation_mask: np.ndarray | None,
    refit: Callable[[], Any],
    val_fraction: float,
    method: str = "aci",
    gamma: float = ACI_GAMMA,
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """The interval bounds of one (model, fold)'s predictions rows ``frame``.

    Parameters
    ----------
    task, d, fold
        The task, the fold's design and the fold.
    train_mask
        The fold's training rows (before any validation tail was carved out).
    frame
        The fold's predictions rows (``build_predictions``), one per test row and horizon.
    levels
        Nominal coverages.
    model
        The fitted model that forecast ``frame``.
    validation_mask
        The validation tail ``model`` held out, or None (then ``refit()`` builds a fresh,
        unfitted model that is fitted before the calibration tail).
    refit
        Makes a fresh model with the same parameters and seed.
    val_fraction
        Share of the training dates in the calibration tail (refit route).
    method, gamma
        ``aci`` (adaptive, step ``gamma``) or ``split``.

    Returns
    -------
    dict
        ``{level: (lo, hi)}``, flat arrays aligned with ``frame``'s rows.
    """
    if validation_mask is not None:
        fitted, cal_mask = model, validation_mask
    else:
        fit_mask, cal_mask = calibration_rows(d, fold, train_mask, val_fraction)
        if not fit_mask.any() or not cal_mask.any():
            raise ModelError(
                f"fold {fold.index} is too short to hold out a calibration tail for the "
                "intervals; use fewer --folds or leave --intervals out"
            )
        fitted = refit()
        fitted.fit(d.batch(fit_mask), None)
    cal = d.batch(cal_mask)
    raw = np.asarray(fitted.predict(cal), dtype="float64")
    n_h = len(task.horizons)
    pred_cal = task.task.prediction_columns(task, raw.reshape(-1, 1))["y_pred"].reshape(-1, n_h)
    y_cal = np.asarray(d.y[cal_mask], dtype="float64").reshape(-1, n_h)
    pred = frame["y_pred"].to_numpy(dtype="float64").reshape(-1, n_h)
    if method == "aci":
        y_test = frame["y_true"].to_numpy(dtype="float64").reshape(-1, n_h)
        ids = frame["id"].to_numpy().reshape(-1, n_h)[:, 0]
        bounds = adaptive_bounds(task, y_cal, pred_cal, pred, y_test, ids, levels, gamma=gamma)
    else:
        bounds = interval_bounds(task, y_cal, pred_cal, pred, levels)
    return {level: (lo.reshape(-1), hi.reshape(-1)) for level, (lo, hi) in bounds.items()}


def _known_max(cal: np.ndarray, test: np.ndarray, delay: int) -> np.ndarray:
    """The largest score known at each test row: calibration and rows ``delay`` earlier."""
    base = float(np.nanmax(cal)) if np.isfinite(cal).any() else 0.0
    past = np.fmax.accumulate(np.where(np.isfinite(test), test, base))
    shifted = np.concatenate([np.full(min(delay, len(test)), base), past[: len(test) - delay]])
    return np.fmax(shifted, base)


def adaptive_bounds(
    task: TaskSpec,
    y_cal: np.ndarray,
    pred_cal: np.ndarray,
    pred: np.ndarray,
    y_test: np.ndarray,
    ids: np.ndarray,
    levels: Sequence[float],
    *,
    gamma: float,
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Adaptive conformal bounds (Gibbs & Candès 2021), per series and horizon, in time order.

    The score quantile of test row t uses the calibration scores and those of the test
    rows whose outcome is known at t (``h`` rows earlier). Each level runs its own ACI;
    a level's ``q`` is then raised to the next narrower level's where it fell below it, so
    the intervals stay nested.
    """
    kind = task.task
    cal = kind.interval_score(y_cal, pred_cal).reshape(len(y_cal), -1)
    test = kind.interval_score(y_test, pred).reshape(len(pred), -1)
    out: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    narrower = np.zeros_like(pred)
    for level in sorted(levels):
        q = np.empty_like(pred)
        for j, h in enumerate(task.horizons):
            for sid in pd.unique(ids):
                rows = np.flatnonzero(ids == sid)
                zeros = np.zeros(len(rows))
                cap = _known_max(cal[:, j], test[rows, j], int(h))
                _, q[rows, j] = adaptive_conformal(
                    cal[:, j], zeros, test[rows, j], level, gamma=gamma, delay=int(h), cap=cap
                )
        q = narrower = np.maximum(q, narrower)  # nested: a wider level is never narrower
        out[float(level)] = kind.interval_bounds(pred, q)
    return out


def mean_intervals(frames: Sequence[pd.DataFrame], out: pd.DataFrame) -> pd.DataFrame:
    """``out`` with each interval column the mean over the seeds' ``frames`` (ensembles)."""
    from .predictions import interval_levels

    for level in interval_levels(frames[0]):
        for col in interval_columns(level):
            out[col] = np.mean([f[col].to_numpy(dtype="float64") for f in frames], axis=0)
    return out


def saved_calibration(
    task: TaskSpec,
    d: Design,
    levels: Sequence[float],
    *,
    fitted: Any,
    cal_mask: np.ndarray,
    source: str,
) -> dict[str, Any]:
    """The split-conformal quantiles a saved model keeps (``fincast.json`` ``intervals``).

    Parameters
    ----------
    fitted
        A model fitted on rows that end before ``cal_mask``'s dates (with a purge gap).
    cal_mask
        The calibration rows (the tail of the training data).
    source
        The data's name, for the error message.

    Returns
    -------
    dict
        ``method`` (``split``), ``levels``, ``q`` (``{"0.9": [q of each horizon]}``),
        ``rows`` (calibration rows with a score) and ``start`` (their first date).

    Raises
    ------
    DataError
        When the tail holds too few rows for a level (an unbounded interval).
    """
    raw = np.asarray(fitted.predict(d.batch(cal_mask)), dtype="float64")
    n_h = len(task.horizons)
    pred = task.task.prediction_columns(task, raw.reshape(-1, 1))["y_pred"].reshape(-1, n_h)
    y = np.asarray(d.y[cal_mask], dtype="float64").reshape(-1, n_h)
    scores = task.task.interval_score(y, pred).reshape(len(y), -1)
    rows = int(np.isfinite(scores).all(axis=1).sum())
    quantiles: dict[str, list[float]] = {}
    for level in sorted(float(v) for v in levels):
        q = [conformal_quantile(scores[:, j], level) for j in range(n_h)]
        if not all(math.isfinite(v) for v in q):  # fewer scored rows than the level needs
            check_saved_tail(rows, [level], source)
        quantiles[f"{level:g}"] = q
    start = pd.Timestamp(np.asarray(d.dates)[cal_mask].min()).date().isoformat()
    return {
        "method": "split",
        "levels": sorted(float(v) for v in levels),
        "q": quantiles,
        "rows": rows,
        "start": start,
    }


def check_saved_tail(rows: int, levels: Sequence[float], source: str) -> None:
    """Refuse levels a calibration tail of ``rows`` rows cannot reach (DataError)."""
    from .errors import DataError

    for level in sorted(float(v) for v in levels):
        if rows < _min_rows(level):
            raise DataError(
                f"{source}: the calibration tail holds {rows} rows, too few for a {level:g} "
                f"interval (needs {_min_rows(level)}); raise --val-fraction, pass more data "
                "or lower --intervals"
            )


def saved_bounds(
    task: TaskSpec, out: np.ndarray, saved: dict[str, Any]
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """``{level: (lo, hi)}``, each (horizons,), of one row ``out`` of model outputs."""
    pred = task.task.prediction_columns(task, np.asarray(out, dtype="float64").reshape(-1, 1))
    bounds = {}
    for level, q in saved["q"].items():
        lo, hi = task.task.interval_bounds(pred["y_pred"], np.asarray(q, dtype="float64"))
        bounds[float(level)] = (np.asarray(lo).reshape(-1), np.asarray(hi).reshape(-1))
    return bounds
