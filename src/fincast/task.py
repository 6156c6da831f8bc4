"""What to forecast: the task specification and leakage-free target construction.

A target dated t describes only what happens after t: the value of the target column at
t + h, the log return from t to t + h, or its sign. Every target comes with the naive
baseline's forecast for the same row (built from data dated <= t only) and the realised
h-step log return, which the finance metrics and plots use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = ["CLASSIFICATION_TASKS", "REGRESSION_TASKS", "TASKS", "TaskSpec", "build_targets"]

TaskKind = Literal["return", "level", "direction"]
REGRESSION_TASKS = ("return", "level")
CLASSIFICATION_TASKS = ("direction",)
TASKS: dict[str, str] = {
    "return": "h-step-ahead log return of the target column (default)",
    "level": "the value of the target column h steps ahead",
    "direction": "binary: 1 if the target rises over the next h steps, else 0",
}


@dataclass(frozen=True)
class TaskSpec:
    """The forecasting task.

    Parameters
    ----------
    kind
        One of :data:`TASKS`.
    horizons
        Forecast horizons in steps (rows of each series), each >= 1.
    """

    kind: str = "return"
    horizons: tuple[int, ...] = (1,)

    def __post_init__(self) -> None:
        if self.kind not in TASKS:
            raise ConfigError(
                f"task {self.kind!r} is not known; expected one of {', '.join(TASKS)}"
            )
        if not self.horizons:
            raise ConfigError("horizon is empty; pass at least one horizon, e.g. --horizon 1")
        for h in self.horizons:
            if int(h) != h or h < 1:
                raise ConfigError(
                    f"horizon must be a whole number of steps >= 1, got {h}; pass e.g. --horizon 1"
                )

    @property
    def is_classification(self) -> bool:
        """True for tasks whose targets are classes."""
        return self.kind in CLASSIFICATION_TASKS

    @property
    def needs_positive(self) -> bool:
        """True when the task takes logarithms of the target column."""
        return self.kind in ("return", "direction")

    @property
    def max_horizon(self) -> int:
        """The longest horizon."""
        return max(self.horizons)


def _shift(values: pd.Series, groups: pd.Series, periods: int) -> pd.Series:
    return values.groupby(groups, sort=False).shift(periods)


def build_targets(frame: pd.DataFrame, column: str, task: TaskSpec) -> dict[str, pd.DataFrame]:
    """Targets, naive forecasts and realised returns for every row of a long frame.

    Parameters
    ----------
    frame
        Canonical long frame (``id``, ``date``, fields), sorted by id then date.
    column
        The target column.
    task
        The task specification.

    Returns
    -------
    dict
        ``y``, ``naive`` and ``fwd_return``: frames aligned with ``frame``'s index, one
        column per horizon (named by the horizon). Rows whose future is not in the data are
        NaN in ``y`` and ``fwd_return``.

    Examples
    --------
    >>> f = pd.DataFrame({"id": "a", "date": pd.date_range("2020", periods=3),
    ...                   "x": [1.0, 2.0, 4.0]})
    >>> build_targets(f, "x", TaskSpec("level"))["y"][1].tolist()
    [2.0, 4.0, nan]
    """
    value = frame[column].astype("float64")
    groups = frame["id"]
    positive = bool((value > 0).all())
    log_value = np.log(value.where(value > 0)) if positive else None
    y, naive, fwd = {}, {}, {}
    for h in task.horizons:
        future = _shift(value, groups, -h)
        if log_value is not None:
            fwd_h = _shift(log_value, groups, -h) - log_value
            past_h = log_value - _shift(log_value, groups, h)
        else:
            fwd_h = future - value
            past_h = value - _shift(value, groups, h)
        fwd[h] = fwd_h
        if task.kind == "return":
            y[h] = fwd_h
            naive[h] = pd.Series(0.0, index=frame.index)
        elif task.kind == "level":
            y[h] = future
            naive[h] = value
        else:  # direction
            y[h] = (fwd_h > 0).astype("float64").where(fwd_h.notna())
            naive[h] = (past_h > 0).astype("float64").where(past_h.notna())
    return {
        "y": pd.DataFrame(y, index=frame.index),
        "naive": pd.DataFrame(naive, index=frame.index),
        "fwd_return": pd.DataFrame(fwd, index=frame.index),
    }
