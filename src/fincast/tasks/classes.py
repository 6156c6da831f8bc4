"""What the class tasks (direction, trend3, events) share: 0/1 loss, accuracy skill, log loss."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .base import Task

__all__ = ["ClassTask", "binary_columns"]


def binary_columns(out: np.ndarray) -> dict[str, np.ndarray]:
    """``y_pred`` (1 when ``prob`` > 0.5) and ``prob`` of probabilities of 1."""
    prob = np.clip(out.reshape(-1), 0.0, 1.0)
    return {"y_pred": (prob > 0.5).astype("float64"), "prob": prob}


class ClassTask(Task):
    """A task whose targets are classes (binary labels or class indices)."""

    output: ClassVar[str] = "binary"
    losses: ClassVar[tuple[str, ...]] = ("binary_crossentropy",)
    loss_skill: ClassVar[str] = "difference"
    fold_headline: ClassVar[tuple[str, str]] = ("accuracy", "pct")

    def skill(self, y: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> float | None:
        """Accuracy minus the naive forecast's accuracy."""
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, pred) - accuracy_score(y, naive))

    def row_loss(self, predictions: pd.DataFrame) -> tuple[pd.Series, str]:
        """The 0/1 loss of each row."""
        y = predictions["y_true"].to_numpy(dtype="float64")
        pred = predictions["y_pred"].to_numpy(dtype="float64")
        loss = np.where(np.isnan(y) | np.isnan(pred), np.nan, (pred != y).astype("float64"))
        return pd.Series(loss, index=predictions.index), "zero_one"

    def prediction_columns(self, spec: Any, out: np.ndarray) -> dict[str, np.ndarray]:
        return binary_columns(out)

    tune_metric: ClassVar[str] = "log_loss"

    def tune_score(self, y: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> float:
        """Mean binary log loss of the probabilities ``pred`` of the 0/1 labels ``y``."""
        from sklearn.metrics import log_loss

        prob = np.clip(np.asarray(pred, dtype="float64").reshape(-1), 0.0, 1.0)
        return float(log_loss(np.asarray(y).reshape(-1), prob, labels=[0.0, 1.0]))
