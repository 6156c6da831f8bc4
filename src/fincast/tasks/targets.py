"""Leakage-free targets: a target dated t describes only what happens after t.

Every target comes with the naive baseline's forecast for the same row (built from data
dated <= t only) and the realised h-step log return, which the finance metrics and plots
use. Thresholds that learn from data (the ``trend3`` flat band, events in training
standard deviations) are never applied here: those tasks get raw h-step returns, labelled
per fold by a :class:`~fincast.tasks.Labeler` fitted on training rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .base import HorizonInputs, shift
from .spec import TaskSpec

__all__ = ["build_targets"]


def build_targets(
    frame: pd.DataFrame,
    column: str,
    task: TaskSpec,
    roles: Mapping[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Targets, naive forecasts and realised returns for every row of a long frame.

    Parameters
    ----------
    frame
        Canonical long frame (``id``, ``date``, fields), sorted by id then date.
    column
        The target column.
    task
        The task specification.
    roles
        OHLCV role -> column (the Parkinson volatility needs ``high`` and ``low``).

    Returns
    -------
    dict
        ``y``, ``naive`` and ``fwd_return``: frames aligned with ``frame``'s index, one
        column per horizon (named by the horizon). Rows whose future is not in the data are
        NaN in ``y`` and ``fwd_return``. What ``y`` and ``naive`` hold is the task's
        :meth:`~fincast.tasks.base.Task.targets` (raw h-step returns for tasks with fitted
        labels).

    Examples
    --------
    >>> f = pd.DataFrame({"id": "a", "date": pd.date_range("2020", periods=3),
    ...                   "x": [1.0, 2.0, 4.0]})
    >>> build_targets(f, "x", TaskSpec("level"))["y"][1].tolist()
    [2.0, 4.0, nan]
    """
    roles = roles or {}
    value = frame[column].astype("float64")
    groups = frame["id"]
    log = task.uses_log(column, roles)  # from the column's meaning, not its values
    log_value = np.log(value.where(value > 0)) if log else None
    y, naive, fwd = {}, {}, {}
    cache: dict = {}
    for h in task.horizons:
        future = shift(value, groups, -h)
        if log_value is not None:
            fwd_h = shift(log_value, groups, -h) - log_value
            past_h = log_value - shift(log_value, groups, h)
        else:
            fwd_h = future - value
            past_h = value - shift(value, groups, h)
        fwd[h] = fwd_h
        inputs = HorizonInputs(frame, column, task, roles, h, value, future, fwd_h, past_h, cache)
        y[h], naive[h] = task.task.targets(inputs)
    return {
        "y": pd.DataFrame(y, index=frame.index),
        "naive": pd.DataFrame(naive, index=frame.index),
        "fwd_return": pd.DataFrame(fwd, index=frame.index),
    }
