"""``trend3``: down / flat / up over the next h steps, the flat band fitted per fold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .base import HorizonInputs, MetricKit
from .classes import ClassTask

if TYPE_CHECKING:
    from .spec import TaskSpec

__all__ = ["TREND3_CLASSES", "Trend3Task"]

TREND3_CLASSES = ("down", "flat", "up")
_PROB = [f"prob_{c}" for c in TREND3_CLASSES]


class Trend3Task(ClassTask):
    """Class 0 down, 1 flat (``|r| <= flat_band * sd``), 2 up of the h-step log return."""

    name = "trend3"
    description = "3 classes: down / flat / up over the next h steps (flat band fitted per fold)"
    output = "multiclass"
    losses = ("categorical_crossentropy",)
    fitted_labels = True
    default_baselines = ("naive", "majority", "persistence", "ridge")
    headline_columns = (
        "accuracy",
        "f1_macro",
        "f1_weighted",
        "precision_macro",
        "recall_macro",
        "log_loss",
        "skill_vs_naive",
        "n_predictions",
    )

    def labels(self, spec: TaskSpec) -> tuple[str, ...]:
        return TREND3_CLASSES

    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        """Raw future and past h-step returns, labelled per fold by :meth:`label`."""
        return inp.fwd, inp.past

    def label(self, spec: TaskSpec, raw: np.ndarray, scale: np.ndarray) -> np.ndarray:
        missing = np.isnan(raw)
        band = spec.flat_band * scale
        out = np.where(raw > band, 2.0, np.where(raw < -band, 0.0, 1.0))
        return np.where(missing, np.nan, out)

    def thresholds(self, spec: TaskSpec, scale: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for j, h in enumerate(spec.horizons):
            sd = float(scale[j])
            out[str(h)] = {"flat_band": spec.flat_band * sd, "sd": sd}
        return out

    def prediction_columns(self, spec: TaskSpec, out: np.ndarray) -> dict[str, np.ndarray]:
        prob = np.clip(out, 0.0, 1.0)
        cols = {"y_pred": prob.argmax(axis=1).astype("float64")}
        for k, name in enumerate(TREND3_CLASSES):
            cols[f"prob_{name}"] = prob[:, k]
        return cols

    def forecast_records(
        self, spec: TaskSpec, chunk: np.ndarray, last_value: float
    ) -> list[dict[str, Any]]:
        """The most likely class and the three probabilities."""
        rec: dict[str, Any] = {"forecast": TREND3_CLASSES[int(chunk.argmax())]}
        rec.update({f"prob_{c}": float(p) for c, p in zip(TREND3_CLASSES, chunk, strict=True)})
        rec["last_value"] = last_value
        return [rec]

    def metrics(self, rows: pd.DataFrame, kit: MetricKit) -> dict[str, Any]:
        prob = rows[_PROB] if set(_PROB) <= set(rows.columns) else None
        if prob is not None and prob.isna().all().all():
            prob = None
        return kit.multiclass(rows["y_true"], rows["y_pred"], prob)

    def signal(self, predictions: pd.DataFrame) -> np.ndarray:
        """P(up) - P(down), or the class minus 1 (-1 down, 0 flat, 1 up) without them."""
        if {"prob_up", "prob_down"} <= set(predictions.columns):
            up = predictions["prob_up"].to_numpy(dtype="float64")
            down = predictions["prob_down"].to_numpy(dtype="float64")
            score = up - down
            fallback = predictions["y_pred"].to_numpy(dtype="float64") - 1.0
            return np.where(np.isnan(score), fallback, score)
        return predictions["y_pred"].to_numpy(dtype="float64") - 1.0

    def tune_score(self, y: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> float:
        """Multi-class log loss of the class probabilities (3 per horizon)."""
        from sklearn.metrics import log_loss

        prob = np.clip(np.asarray(pred, dtype="float64"), 0.0, 1.0)
        prob = prob.reshape(-1, len(TREND3_CLASSES))
        prob = prob / prob.sum(axis=1, keepdims=True)  # float32 softmax: sums off by 1e-7
        return float(log_loss(np.asarray(y).reshape(-1), prob, labels=[0.0, 1.0, 2.0]))

    def plot_actual(self, ax: Any, actual: pd.DataFrame) -> None:
        ax.scatter(actual["date"], actual["y_true"], s=6, color="black", alpha=0.35, label="actual")
        ax.set_ylabel("class: 0 down · 1 flat · 2 up")
        ax.set_ylim(-0.1, 2.1)
