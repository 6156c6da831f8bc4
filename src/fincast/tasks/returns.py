"""``return``: the h-step-ahead log return of the target column (the default task)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .base import HorizonInputs, Task

__all__ = ["ReturnTask"]


class ReturnTask(Task):
    """The h-step log return; naive forecasts no change (0)."""

    name = "return"
    description = "h-step-ahead log return of the target column (default)"
    plot_ylabel = "h-step log return"
    intervals = True
    lower_bound_is_var = True

    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        return inp.fwd, pd.Series(0.0, index=inp.frame.index)

    def forecast_records(
        self, spec: Any, chunk: np.ndarray, last_value: float
    ) -> list[dict[str, Any]]:
        value = float(chunk[0])
        rec = {"forecast": value, "last_value": last_value}
        rec["forecast_level"] = last_value * float(np.exp(value))
        return [rec]

    def signal(self, predictions: pd.DataFrame) -> np.ndarray:
        return predictions["y_pred"].to_numpy(dtype="float64")
