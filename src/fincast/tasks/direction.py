"""``direction``: 1 if the target rises over the next h steps, else 0."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .base import HorizonInputs, MetricKit
from .classes import ClassTask

__all__ = ["DirectionTask"]


def _up(change: pd.Series) -> pd.Series:
    return (change > 0).astype("float64").where(change.notna())


class DirectionTask(ClassTask):
    """Up (1) or not (0) over the next h steps; naive repeats the last h-step direction."""

    name = "direction"
    description = "binary: 1 if the target rises over the next h steps, else 0"
    headline_columns = (
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
        "skill_vs_naive",
        "n_predictions",
    )
    signal_is_probability = True

    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        return _up(inp.fwd), _up(inp.past)

    def check_design(self, y: np.ndarray, ids: np.ndarray, source: str, target: str) -> None:
        from ..data.validate import check_two_classes

        check_two_classes(y, ids, source, target)

    def metrics(self, rows: pd.DataFrame, kit: MetricKit) -> dict[str, Any]:
        prob = rows["prob"] if "prob" in rows.columns else None
        if prob is not None and prob.isna().all():
            prob = None
        return kit.classification(rows["y_true"], rows["y_pred"], prob)

    def signal(self, predictions: pd.DataFrame) -> np.ndarray:
        """The probability of up (the 0/1 forecast where it is missing)."""
        y_pred = predictions["y_pred"].to_numpy(dtype="float64")
        if "prob" in predictions.columns:
            prob = predictions["prob"].to_numpy(dtype="float64")
            return np.where(np.isnan(prob), y_pred, prob)
        return y_pred

    def plot_actual(self, ax: Any, actual: pd.DataFrame) -> None:
        ax.scatter(actual["date"], actual["y_true"], s=6, color="black", alpha=0.35, label="actual")
        ax.axhline(0.5, color="0.6", linewidth=0.8)
        ax.set_ylabel("P(up)  ·  actual up = 1 / down = 0")
        ax.set_ylim(-0.05, 1.05)

    def plot_value(self, shown: pd.DataFrame) -> str:
        return "prob" if "prob" in shown.columns else "y_pred"
