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

    def extra_losses(self, predictions: pd.DataFrame) -> dict[str, tuple[pd.Series, str]]:
        """The log loss of each row's probabilities (``prob``, or ``prob_*`` per class in
        class-index order), clipped to [1e-6, 1 - 1e-6], against the ``majority`` baseline
        (its training base rates) when it ran, else naive. Naive's hard 0/1 probabilities
        make any probability forecast "beat" it on log loss, so the 0/1 loss stays the
        headline and log loss is compared with the base-rate forecast."""
        y = predictions["y_true"].to_numpy(dtype="float64")
        probs = [c for c in predictions.columns if str(c).startswith("prob_")]
        if "prob" in predictions.columns:
            p1 = predictions["prob"].to_numpy(dtype="float64")
            p_true = np.where(y == 1, p1, 1.0 - p1)
        elif probs:
            table = predictions[probs].to_numpy(dtype="float64")
            idx = np.nan_to_num(y, nan=0.0).astype(int).clip(0, len(probs) - 1)
            p_true = table[np.arange(len(y)), idx]
        else:
            return {}
        loss = -np.log(np.clip(p_true, 1e-6, 1.0 - 1e-6))
        loss = np.where(np.isnan(y) | np.isnan(p_true), np.nan, loss)
        ref = "majority" if (predictions["model"] == "majority").any() else "naive"
        return {"log_loss": (pd.Series(loss, index=predictions.index), ref)}

    def prediction_columns(self, spec: Any, out: np.ndarray) -> dict[str, np.ndarray]:
        return binary_columns(out)

    tune_metric: ClassVar[str] = "log_loss"

    def tune_score(self, y: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> float:
        """Mean binary log loss of the probabilities ``pred`` of the 0/1 labels ``y``."""
        from sklearn.metrics import log_loss

        prob = np.clip(np.asarray(pred, dtype="float64").reshape(-1), 0.0, 1.0)
        return float(log_loss(np.asarray(y).reshape(-1), prob, labels=[0.0, 1.0]))
