"""What every fincast model is: a small scikit-learn-like estimator over a :class:`Batch`.

``__init__`` only stores parameters, ``fit`` learns (state in attributes ending in ``_``)
and returns ``self``, ``predict`` returns one column per horizon: values in target units for
regression tasks, the probability of class 1 for ``direction``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Self

import numpy as np

from ..task import TaskSpec

__all__ = ["Batch", "ForecastModel"]


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
    """

    X: np.ndarray
    naive: np.ndarray
    y: np.ndarray | None = None
    ids: np.ndarray | None = None
    windows: np.ndarray | None = None

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
        )


class ForecastModel(Protocol):
    """The protocol every model follows."""

    task: TaskSpec

    def fit(self, train: Batch, validation: Batch | None = None) -> Self: ...

    def predict(self, data: Batch) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]: ...
