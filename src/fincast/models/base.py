"""What every fincast model is: a small scikit-learn-like estimator over a :class:`Batch`.

``__init__`` only stores parameters, ``fit`` learns (state in attributes ending in ``_``)
and returns ``self``, ``predict`` returns ``task.width`` columns per horizon (horizon-major): values in target
units for regression tasks, the probability of class 1 for ``direction``, of each event for
``events``, and of down / flat / up for ``trend3``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Self

import numpy as np

from ..tasks import TaskSpec

__all__ = [
    "Batch",
    "ForecastModel",
    "TaskOnlyBaseline",
    "feature_column",
    "one_hot",
    "return_window",
]


@dataclass(frozen=True)
class Batch:
    """Rows handed to a model.

    Attributes
    ----------
    X
        Features, shape (n, f), float32, unscaled (models scale inside ``fit``).
    naive
        The naive forecast of each row, shape (n, horizons).
    y
        Targets, shape (n, horizons); ``None`` when predicting.
    ids
        Series id of each row, shape (n,).
    windows
        Per-step features over the look-back window, shape (n, lookback, s), for
        sequence models; ``None`` otherwise.
    feature_names
        Names of the columns of ``X`` (baselines that read one feature use them).
    """

    X: np.ndarray
    naive: np.ndarray
    y: np.ndarray | None = None
    ids: np.ndarray | None = None
    windows: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def take(self, mask: np.ndarray) -> Batch:
        """The rows selected by a boolean mask or index array."""
        return Batch(
            self.X[mask],
            self.naive[mask],
            None if self.y is None else self.y[mask],
            None if self.ids is None else self.ids[mask],
            None if self.windows is None else self.windows[mask],
            self.feature_names,
        )


class ForecastModel(Protocol):
    """The protocol every model follows."""

    task: TaskSpec

    def fit(self, train: Batch, validation: Batch | None = None) -> Self: ...

    def predict(self, data: Batch) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]: ...


def one_hot(classes: np.ndarray, width: int) -> np.ndarray:
    """Class indices (n, horizons) as probabilities (n, horizons * width), horizon-major."""
    idx = np.nan_to_num(np.asarray(classes, dtype="float64"), nan=0.0).astype("int64")
    return np.eye(width)[idx].reshape(len(idx), -1)


def feature_column(data: Batch, name: str, owner: str) -> np.ndarray:
    """The column ``name`` of ``data.X``; a ConfigError when the feature set lacks it."""
    from ..errors import ConfigError

    names = list(data.feature_names or ())
    if name not in names:
        raise ConfigError(
            f"baseline {owner!r} needs the feature {name!r}, which the feature set lacks; "
            "use --features default"
        )
    return np.asarray(data.X[:, names.index(name)], dtype="float64")


def return_window(data: Batch, owner: str) -> np.ndarray:
    """The one-step returns at t, t-1, …, t-lookback+1 of every row, (n, lookback).

    Column 0 is the latest return (feature ``ret``), column k the ``ret_lag{k}`` feature.
    """
    cols = [feature_column(data, "ret", owner)]
    k = 1
    while f"ret_lag{k}" in (data.feature_names or ()):
        cols.append(feature_column(data, f"ret_lag{k}", owner))
        k += 1
    return np.stack(cols, axis=1)


class TaskOnlyBaseline:
    """Base of the baselines whose only parameter is the task (nothing to tune)."""

    def __init__(self, task: TaskSpec) -> None:
        self.task = task

    def get_params(self) -> dict[str, Any]:
        """No hyperparameters."""
        return {}
