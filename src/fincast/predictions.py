"""The predictions table: the hand-over between forecasting and everything after it.

One row per (model, id, date, horizon) — and per event label for tasks with
``row_per_label`` (``events``) — with the columns of :data:`COLUMNS` in that order (those
that apply) plus the task's forecast columns:

- regression tasks (``return``, ``level``, ``volatility``): ``y_true``, ``y_pred``
  (volatility forecasts are floored at ``VOL_FLOOR``, a volatility being >= 0);
- ``direction``: ``y_pred`` (1 when ``prob`` > 0.5) and ``prob`` (probability of up);
- ``trend3``: ``y_true`` / ``y_pred`` as class indices 0 = down, 1 = flat, 2 = up, and
  ``prob_down``, ``prob_flat``, ``prob_up``;
- ``events``: a ``label`` column (the event name), ``y_true`` / ``y_pred`` 0 or 1 and
  ``prob``;
- ``quantile``: ``q_<level>`` per quantile level (``q_0.05``; sorted across levels, never
  crossing) and ``y_pred``, the quantile nearest the median;
- ``var``: ``var_<alpha>`` and ``es_<alpha>`` per level (positive losses of the position;
  ``y_true`` is the position's return) and ``y_pred`` = ``-var`` of the first level.

With ``--intervals`` (regression tasks), ``lo_<level>`` / ``hi_<level>`` (e.g. ``lo_0.9``,
``hi_0.9``) follow the forecast columns: the prediction interval of nominal coverage
``level`` (:func:`interval_columns`, :func:`interval_levels`).

Metrics, plots and the report work from this table alone, so they can be rebuilt from
``predictions.csv`` without retraining. This module owns its columns, building, reading,
writing and checking; it depends on the task objects only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError
from .rundir import write_csv
from .tasks import TaskSpec

__all__ = [
    "COLUMNS",
    "REQUIRED",
    "SEED_COLUMN",
    "build_predictions",
    "check_predictions",
    "interval_columns",
    "interval_levels",
    "read_predictions",
    "with_intervals",
    "write_predictions",
]

#: Key and score columns, in table order (``fold``/``model``/``seed`` come from the
#: backtest; ``label`` only for per-label tasks; forecast columns follow ``y_true``).
COLUMNS = ("id", "date", "fold", "model", "seed", "horizon", "label", "y_true", "y_pred")
#: The columns every scored table has.
REQUIRED = ("id", "date", "fold", "model", "horizon", "y_true", "y_pred")
#: The column that numbers the seeds of a multi-seed model (``--seeds`` > 1).
SEED_COLUMN = "seed"


def build_predictions(
    task: TaskSpec,
    ids: np.ndarray,
    dates: np.ndarray,
    y: np.ndarray,
    out: np.ndarray,
    fwd_return: np.ndarray,
    **constants: Any,
) -> pd.DataFrame:
    """The predictions-table rows of one model on some rows.

    Parameters
    ----------
    task
        The task.
    ids, dates
        Series id and date of each row, (n,).
    y
        Targets, (n, horizons), or (n, horizons * labels) for per-label tasks.
    out
        The model's output, (n, horizons * task.width), horizon-major.
    fwd_return
        Realised h-step log returns, (n, horizons).
    **constants
        Columns with one value (e.g. ``fold=0, model="naive"``), placed after ``date``.
    """
    kind = task.task
    n, horizons = len(ids), np.asarray(task.horizons)
    n_h, width = len(horizons), task.width
    per = width if kind.row_per_label else 1
    cols: dict[str, Any] = {
        "id": np.repeat(ids, n_h * per),
        "date": np.repeat(dates, n_h * per),
        **constants,
    }
    cols["horizon"] = np.tile(np.repeat(horizons, per), n)
    if kind.row_per_label:
        cols["label"] = np.tile(np.asarray(task.labels, dtype=object), n * n_h)
    cols["y_true"] = np.asarray(y, dtype="float64").reshape(-1)
    flat = np.asarray(out, dtype="float64").reshape(n * n_h * per, -1)
    cols.update(kind.prediction_columns(task, flat))
    cols["fwd_return"] = np.repeat(np.asarray(fwd_return, dtype="float64").reshape(-1), per)
    return pd.DataFrame(cols)


def interval_columns(level: float) -> tuple[str, str]:
    """The ``(lo, hi)`` column names of the ``level`` interval, e.g. ``lo_0.9``, ``hi_0.9``."""
    return f"lo_{level:g}", f"hi_{level:g}"


def interval_levels(predictions: pd.DataFrame) -> list[float]:
    """The interval levels a table has both columns of, increasing."""
    levels = []
    for col in predictions.columns:
        if str(col).startswith("lo_"):
            try:
                level = float(str(col)[3:])
            except ValueError:
                continue
            if interval_columns(level)[1] in predictions.columns:
                levels.append(level)
    return sorted(levels)


def with_intervals(
    frame: pd.DataFrame, bounds: dict[float, tuple[np.ndarray, np.ndarray]]
) -> pd.DataFrame:
    """``frame`` with the ``lo_<level>`` / ``hi_<level>`` columns of ``bounds`` inserted
    after the forecast columns (before ``fwd_return``), levels in increasing order."""
    out = frame.copy()
    at = out.columns.get_loc("fwd_return") if "fwd_return" in out.columns else len(out.columns)
    for level in sorted(bounds):
        lo, hi = bounds[level]
        lo_name, hi_name = interval_columns(level)
        out.insert(int(at), lo_name, np.asarray(lo, dtype="float64").reshape(-1))
        out.insert(int(at) + 1, hi_name, np.asarray(hi, dtype="float64").reshape(-1))
        at += 2
    return out


def check_predictions(
    predictions: pd.DataFrame, needed: Iterable[str] = REQUIRED, *, what: str = "score"
) -> None:
    """Raise DataError when ``predictions`` lacks a needed column or is empty.

    Parameters
    ----------
    predictions
        The table.
    needed
        The columns the caller reads.
    what
        What the caller does with it (``score``, ``plot``…), for the message.
    """
    needed = tuple(needed)
    missing = [c for c in needed if c not in predictions.columns]
    if missing:
        raise DataError(
            f"the predictions table lacks the column(s) {', '.join(missing)}; expected "
            f"{', '.join(needed)} (and prob for direction); was it written by fincast?"
        )
    if predictions.empty:
        raise DataError(f"the predictions table is empty: there is nothing to {what}")


def read_predictions(path: Path) -> pd.DataFrame:
    """Read a predictions table written by fincast."""
    frame = pd.read_csv(path, dtype={"id": str})
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def write_predictions(path: Path, predictions: pd.DataFrame) -> Path:
    """Write a predictions table atomically (CSV with a stable float format)."""
    return write_csv(path, predictions)
