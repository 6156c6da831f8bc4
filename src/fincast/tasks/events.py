"""``events``: several binary events of the next h-step log return at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .base import HorizonInputs, MetricKit, Task
from .classes import ClassTask
from .direction import DirectionTask

if TYPE_CHECKING:
    from .spec import TaskSpec

__all__ = ["EventsTask"]


class EventsTask(ClassTask):
    """One 0/1 label per event and horizon; thresholds in training sd fitted per fold."""

    name = "events"
    description = "multi-label: several binary events of the next h-step return at once"
    fitted_labels = True
    row_per_label = True
    default_baselines = ("naive", "majority", "persistence", "ridge")
    headline_columns = (
        "hamming_loss",
        "subset_accuracy",
        "f1_macro",
        "f1_micro",
        "skill_vs_naive",
        "n_predictions",
    )
    fold_headline = ("hamming_loss", "num")

    def labels(self, spec: TaskSpec) -> tuple[str, ...]:
        return tuple(e.name for e in spec.events)

    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        """Raw future and past h-step returns, labelled per fold by :meth:`label`."""
        return inp.fwd, inp.past

    def label(self, spec: TaskSpec, raw: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """(n, horizons * events) 0/1 labels, horizon-major; NaN stays NaN."""
        missing = np.isnan(raw)
        cols = []
        for j in range(raw.shape[1]):
            r, sd = raw[:, j], scale[j]
            for e in spec.events:
                x = e.threshold * sd if e.rule.endswith("_std") else e.threshold
                if e.rule.startswith("above"):
                    hit = r > x
                elif e.rule.startswith("below"):
                    hit = r < x
                else:
                    hit = np.abs(r) > x
                cols.append(np.where(missing[:, j], np.nan, hit.astype("float64")))
        return np.stack(cols, axis=1)

    def thresholds(self, spec: TaskSpec, scale: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for j, h in enumerate(spec.horizons):
            sd = float(scale[j])
            out[str(h)] = {
                e.name: (e.threshold * sd if e.rule.endswith("_std") else e.threshold)
                for e in spec.events
            }
        return out

    def forecast_records(
        self, spec: TaskSpec, chunk: np.ndarray, last_value: float
    ) -> list[dict[str, Any]]:
        """One record per event: its probability."""
        return [
            {"label": name, "forecast": float(p), "last_value": last_value}
            for name, p in zip(self.labels(spec), chunk, strict=True)
        ]

    def metrics(self, rows: pd.DataFrame, kit: MetricKit) -> dict[str, Any]:
        return kit.multilabel(rows)

    def skill(self, y: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> float | None:
        """Fewer wrong labels than naive: Hamming loss of naive minus the model's."""
        from sklearn.metrics import hamming_loss

        return float(hamming_loss(y, naive) - hamming_loss(y, pred))

    def plot_view(self, view: pd.DataFrame) -> tuple[pd.DataFrame, Task]:
        """The first event, drawn as a direction forecast (probability of 1)."""
        if "label" not in view.columns:
            return view, self
        first = view[view["label"].astype(str) == str(view["label"].iloc[0])]
        return first, DirectionTask()
