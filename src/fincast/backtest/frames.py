"""Model outputs -> rows of the predictions table, for every task.

One row per (id, date, horizon) — and per event label for ``events``:

- regression tasks (``return``, ``level``, ``volatility``): ``y_true``, ``y_pred``
  (volatility forecasts are floored at :data:`VOL_FLOOR`, a volatility being >= 0);
- ``direction``: ``y_pred`` (1 when ``prob`` > 0.5) and ``prob`` (probability of up);
- ``trend3``: ``y_true`` / ``y_pred`` as class indices 0 = down, 1 = flat, 2 = up, and
  ``prob_down``, ``prob_flat``, ``prob_up``;
- ``events``: a ``label`` column (the event name), ``y_true`` / ``y_pred`` 0 or 1 and
  ``prob``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..task import TREND3_CLASSES, TaskSpec

__all__ = ["VOL_FLOOR", "predictions_frame"]

#: Smallest volatility forecast written (a linear model can go below zero).
VOL_FLOOR = 1e-8


def predictions_frame(
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
        Targets, (n, horizons) or (n, horizons * events) for ``events``.
    out
        The model's output, (n, horizons * task.width), horizon-major.
    fwd_return
        Realised h-step log returns, (n, horizons).
    **constants
        Columns with one value (e.g. ``fold=0, model="naive"``), placed after ``date``.
    """
    n, horizons = len(ids), np.asarray(task.horizons)
    n_h, width = len(horizons), task.width
    per_row = n_h * (width if task.kind == "events" else 1)
    cols: dict[str, Any] = {
        "id": np.repeat(ids, per_row),
        "date": np.repeat(dates, per_row),
        **constants,
    }
    out = np.asarray(out, dtype="float64").reshape(n, -1)
    if task.kind == "events":
        cols["horizon"] = np.tile(np.repeat(horizons, width), n)
        cols["label"] = np.tile(np.asarray(task.labels, dtype=object), n * n_h)
        cols["y_true"] = np.asarray(y, dtype="float64").reshape(-1)
        prob = np.clip(out.reshape(-1), 0.0, 1.0)
        cols["y_pred"] = (prob > 0.5).astype("float64")
        cols["prob"] = prob
        cols["fwd_return"] = np.repeat(np.asarray(fwd_return).reshape(-1), width)
        return pd.DataFrame(cols)
    cols["horizon"] = np.tile(horizons, n)
    cols["y_true"] = np.asarray(y, dtype="float64").reshape(-1)
    if task.kind == "trend3":
        prob = np.clip(out.reshape(n * n_h, width), 0.0, 1.0)
        cols["y_pred"] = prob.argmax(axis=1).astype("float64")
        for k, name in enumerate(TREND3_CLASSES):
            cols[f"prob_{name}"] = prob[:, k]
    elif task.is_classification:
        prob = np.clip(out.reshape(-1), 0.0, 1.0)
        cols["y_pred"] = (prob > 0.5).astype("float64")
        cols["prob"] = prob
    elif task.kind == "volatility":
        cols["y_pred"] = np.maximum(out.reshape(-1), VOL_FLOOR)
    else:
        cols["y_pred"] = out.reshape(-1)
    cols["fwd_return"] = np.asarray(fwd_return, dtype="float64").reshape(-1)
    return pd.DataFrame(cols)
