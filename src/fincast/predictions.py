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

import io
from collections.abc import Iterable, Sequence
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
    "join_parts",
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


def _kept_as_text(values: Iterable[str]) -> bool:
    """Whether pandas' ``read_csv`` reads each value, alone in its column, back as itself.

    Then it reads any column of them as those strings (not numbers, booleans or missing):
    a column is converted only when every value in it converts.
    """
    values = list(dict.fromkeys(values))
    if not values or not all(type(v) is str for v in values):
        return not values
    row = pd.DataFrame([values], columns=[f"c{i}" for i in range(len(values))], dtype=object)
    back = pd.read_csv(io.StringIO(row.to_csv(index=False)))
    return all(
        pd.api.types.is_string_dtype(back[c].dtype) and back[c].iloc[0] == v
        for c, v in zip(row.columns, values, strict=True)
    )


def _other_columns_numeric(path: Path, lines: int = 1000) -> bool:
    """Whether the first ``lines`` rows of a part read back as numbers outside ``id``,
    ``date``, ``model`` and ``label``, and print as they were written."""
    from ._csv import to_csv_text

    with open(path, "rb") as fh:
        sample = b"".join(line for _, line in zip(range(lines + 1), fh, strict=False))
    head = pd.read_csv(io.BytesIO(sample))
    if any(
        not pd.api.types.is_numeric_dtype(head[c].dtype)
        for c in head.columns
        if c not in ("id", "date", "model", "label")
    ):
        return False
    return to_csv_text(head).encode() == sample


def join_parts(paths: Sequence[Path], strings: Iterable[str]) -> bytes | None:
    """The bytes of ``write_predictions(concat(read_csv(p) for p in paths))``, or None.

    The parts are CSV written by :func:`write_predictions`; reading them back and writing
    them again gives their own text when they share one header, none is empty, and pandas
    reads every string value in them (``strings``: the ids, models and labels of the ``id``,
    ``model`` and ``label`` columns; any other column must be numeric, and the first rows of
    the first part must print as they were written) back as
    itself (:func:`_kept_as_text`), and no field is ``-0`` (an integer column reads it as 0),
    since floats written with ``%.10g`` read back to values that print the same. Then the table is the parts' text joined, without parsing
    and formatting it again; otherwise None (the caller reads and writes the parts).
    """
    if not paths or not _kept_as_text(strings):
        return None
    if not _other_columns_numeric(Path(paths[0])):
        return None
    header: bytes | None = None
    bodies = []
    for path in paths:
        text = Path(path).read_bytes()
        first, sep, body = text.partition(b"\n")
        if not sep or not body or not text.endswith(b"\n"):
            return None
        if b",-0," in body or b",-0\n" in body:  # read as the integer 0 if all its column is
            return None
        if header is None:
            header = first
        elif first != header:
            return None
        bodies.append(body)
    assert header is not None
    return header + b"\n" + b"".join(bodies)
