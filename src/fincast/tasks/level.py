"""``level``: the value of the target column h steps ahead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .base import HorizonInputs, MetricKit, Task, naive_aligned

if TYPE_CHECKING:
    from .spec import TaskSpec

__all__ = ["PRICE_ROLES", "LevelTask"]

#: Loader roles whose columns are prices (positive by nature): ``auto`` takes logs of them.
PRICE_ROLES = ("open", "high", "low", "close", "adj_close")


class LevelTask(Task):
    """The value at t + h; naive forecasts the last value (models forecast the change)."""

    name = "level"
    description = "the value of the target column h steps ahead"
    intervals = True
    forecasts_level = True

    def check_spec(self, spec: TaskSpec) -> None:
        """Every ``transform`` applies to ``level``."""

    def uses_log(self, spec: TaskSpec, target: str, roles: Mapping[str, str]) -> bool:
        """``transform`` decides; ``auto`` takes logs of a price column only.

        The choice depends on the column's meaning, never on its values: deciding it from
        ``(value > 0).all()`` over the whole series let a value after date T change the
        features of every row before T.
        """
        if spec.transform == "log":
            return True
        if spec.transform == "diff":
            return False
        return any(roles.get(role) == target for role in PRICE_ROLES)

    def positive_reason(self, spec: TaskSpec, who: str) -> tuple[str, str]:
        return (
            f"{who} level takes log changes of a price column",
            "pass --transform diff (plain differences) or clean the data",
        )

    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        return inp.future, inp.value

    def metrics(self, rows: pd.DataFrame, kit: MetricKit) -> dict[str, Any]:
        """Regression metrics; direction accuracy of moves relative to naive."""
        return kit.regression(
            rows["y_true"], rows["y_pred"], y_naive=rows["y_naive"], relative=True
        )

    def signal(self, predictions: pd.DataFrame) -> np.ndarray:
        """The forecast change: y_pred minus the naive forecast (the last value)."""
        return predictions["y_pred"].to_numpy(dtype="float64") - naive_aligned(predictions)
