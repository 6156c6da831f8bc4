"""``quantile``: quantiles of the h-step log return (``--quantiles 0.01,0.05,0.5,0.95``).

Every model forecasts one value per quantile level and horizon; the predictions table gets
a ``q_<level>`` column per level (``q_0.05``) and ``y_pred``, the quantile nearest the
median. Quantiles never cross: every model's forecasts of a row are **sorted** (monotone
rearrangement, Chernozhukov, Fernández-Val & Galichon 2010, which never increases the
pinball loss). Networks train on the pinball loss. The naive forecast is the historical
quantile of the training fold's h-step returns (the same for every row of a fold).
Scores: pinball loss per level and in total, skill ``1 - pinball / pinball_naive``,
coverage (share of rows at or below each quantile); the significance tests compare
models by the pinball loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .base import HorizonInputs, MetricKit, Task

if TYPE_CHECKING:
    from .spec import TaskSpec

__all__ = ["DEFAULT_QUANTILES", "QuantileTask", "check_levels", "level_name"]

DEFAULT_QUANTILES = (0.01, 0.05, 0.5, 0.95)
_PREFIX = "q_"


def level_name(level: float) -> str:
    """A level as it appears in column names (``0.05``, ``0.5``)."""
    return f"{float(level):g}"


def check_levels(levels: Sequence[float], flag: str) -> tuple[float, ...]:
    """Levels as a tuple after checking them: each in (0, 1), sorted, no duplicates.

    Raises
    ------
    ConfigError
        Naming the flag, the offending value and the fix.
    """
    values = tuple(float(v) for v in levels)
    example = "0.01,0.05,0.5,0.95" if flag == "--quantiles" else "0.01,0.05"
    if not values:
        raise ConfigError(f"{flag} is empty; pass levels in (0, 1), e.g. {flag} {example}")
    for v in values:
        if not 0.0 < v < 1.0:
            raise ConfigError(f"{flag}: level {v:g} is outside (0, 1); pass e.g. {flag} {example}")
    if len(set(values)) != len(values):
        dup = next(v for v in values if values.count(v) > 1)
        raise ConfigError(f"{flag}: level {dup:g} is given twice; pass each level once")
    if list(values) != sorted(values):
        raise ConfigError(
            f"{flag}: levels must be in increasing order, got {','.join(map(level_name, values))}; "
            f"pass {','.join(map(level_name, sorted(values)))}"
        )
    return values


def _columns(columns: Iterable[str], prefix: str) -> list[str]:
    return [c for c in columns if str(c).startswith(prefix)]


class QuantileTask(Task):
    """Quantiles of the h-step log return; naive: the training fold's historical quantiles."""

    name = "quantile"
    description = "quantiles of the h-step log return (--quantiles), pinball loss"
    losses = ("pinball",)
    default_baselines: ClassVar[tuple[str, ...]] = ("naive", "fhs", "riskmetrics")
    headline_columns: ClassVar[tuple[str, ...]] = (
        "pinball",
        "coverage_error",
        "skill_vs_naive",
        "n_predictions",
    )
    fold_headline = ("pinball", "num")
    shrinkable = False
    generic_baselines = False
    plot_ylabel = "h-step log return and lowest quantile"
    tune_metric: ClassVar[str] = "pinball"

    # ---- specification ---------------------------------------------------------------
    def levels(self, spec: TaskSpec) -> tuple[float, ...]:
        """The quantile levels forecast per horizon."""
        return spec.quantiles

    def labels(self, spec: TaskSpec) -> tuple[str, ...]:
        return tuple(f"{_PREFIX}{level_name(q)}" for q in spec.quantiles)

    def check_spec(self, spec: TaskSpec) -> None:
        super().check_spec(spec)
        check_levels(spec.quantiles, "--quantiles")

    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        """The h-step log return; the per-row naive is unused (see :meth:`fit_naive`)."""
        return inp.fwd, pd.Series(0.0, index=inp.frame.index)

    # ---- networks and naive ------------------------------------------------------------
    def network_levels(self, spec: TaskSpec) -> tuple[float, ...] | None:
        return self.levels(spec)

    def fit_naive(self, spec: TaskSpec, y: np.ndarray) -> np.ndarray | None:
        """Historical quantiles of the training rows' targets, per horizon."""
        return np.concatenate(
            [self.from_sample(spec, y[:, j][np.isfinite(y[:, j])]) for j in range(y.shape[1])]
        )

    def from_sample(self, spec: TaskSpec, sample: np.ndarray) -> np.ndarray:
        """One horizon's outputs from a sample of its distribution (historical quantiles)."""
        if not len(sample):
            return np.full(self.width_of(spec), np.nan)
        return np.quantile(sample, self.levels(spec))

    def from_normal(self, spec: TaskSpec, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """Outputs (n, width) of normal distributions N(mean, sd^2), one per row."""
        from scipy import stats

        z = stats.norm.ppf(np.asarray(self.levels(spec)))
        return mean[:, None] + sd[:, None] * z[None, :]

    def from_scaled(self, spec: TaskSpec, sd: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Outputs (n, width) of ``sd * Z``, Z distributed as the sample ``z`` (filtered HS)."""
        return sd[:, None] * self.from_sample(spec, z)[None, :]

    def width_of(self, spec: TaskSpec) -> int:
        """Outputs per horizon."""
        return len(self.labels(spec))

    def naive_columns(self, columns: Any) -> list[str]:
        return _columns(columns, _PREFIX)

    # ---- predictions -------------------------------------------------------------------
    def prediction_columns(self, spec: TaskSpec, out: np.ndarray) -> dict[str, np.ndarray]:
        """``q_<level>`` columns, sorted across levels (no crossing), and ``y_pred``."""
        q = np.sort(np.asarray(out, dtype="float64"), axis=1)
        levels = np.asarray(self.levels(spec))
        cols = {"y_pred": q[:, int(np.argmin(np.abs(levels - 0.5)))]}
        for k, label in enumerate(self.labels(spec)):
            cols[label] = q[:, k]
        return cols

    def forecast_records(
        self, spec: TaskSpec, chunk: np.ndarray, last_value: float
    ) -> list[dict[str, Any]]:
        cols = self.prediction_columns(spec, np.asarray(chunk, dtype="float64")[None, :])
        rec: dict[str, Any] = {"forecast": float(cols.pop("y_pred")[0])}
        rec.update({k: float(v[0]) for k, v in cols.items()})
        rec["last_value"] = last_value
        return [rec]

    # ---- scoring -----------------------------------------------------------------------
    @staticmethod
    def _quantiles(rows: pd.DataFrame, prefix: str = _PREFIX) -> dict[float, np.ndarray]:
        return {
            float(c[len(prefix) :]): rows[c].to_numpy(dtype="float64")
            for c in _columns(rows.columns, prefix)
        }

    def metrics(self, rows: pd.DataFrame, kit: MetricKit) -> dict[str, Any]:
        assert kit.quantile is not None
        return kit.quantile(rows["y_true"].to_numpy(dtype="float64"), self._quantiles(rows))

    def _row_pinball(self, rows: pd.DataFrame, prefix: str) -> np.ndarray:
        y = rows["y_true"].to_numpy(dtype="float64")
        parts = []
        for level, q in self._quantiles(rows, prefix).items():
            u = y - q
            parts.append(np.maximum(level * u, (level - 1.0) * u))
        return np.mean(parts, axis=0) if parts else np.full(len(rows), np.nan)

    def skill_of(self, rows: pd.DataFrame) -> float | None:
        """``1 - pinball / pinball_naive`` on the rows shared with naive."""
        own = self._row_pinball(rows, _PREFIX)
        naive = self._row_pinball(rows, f"naive_{_PREFIX}")
        shared = np.isfinite(own) & np.isfinite(naive)
        if not shared.any() or not naive[shared].mean() > 0:
            return None
        return float(1.0 - own[shared].mean() / naive[shared].mean())

    def row_loss(self, predictions: pd.DataFrame) -> tuple[pd.Series, str]:
        """The pinball loss of each row, averaged over the levels."""
        return pd.Series(self._row_pinball(predictions, _PREFIX), index=predictions.index), (
            "pinball"
        )

    def tune_score_of(
        self, spec: TaskSpec, y: np.ndarray, pred: np.ndarray, naive: np.ndarray
    ) -> float:
        """Mean pinball loss of the outputs (rows, horizons * levels) over levels and rows."""
        y = np.asarray(y, dtype="float64")
        k = len(self.levels(spec))
        q = np.sort(np.asarray(pred, dtype="float64").reshape(len(y), y.shape[1], k), axis=2)
        levels = np.asarray(self.levels(spec))
        u = y[:, :, None] - q
        return float(np.mean(np.maximum(levels * u, (levels - 1.0) * u)))

    def plot_actual(self, ax: Any, actual: pd.DataFrame) -> None:
        """The realised returns as dots (the forecast lines are tail quantiles)."""
        ax.scatter(actual["date"], actual["y_true"], s=4, color="black", alpha=0.35, label="actual")
        ax.set_ylabel(self.plot_ylabel)

    def plot_value(self, shown: pd.DataFrame) -> str:
        """The lowest quantile: the tail path the realised returns should rarely cross."""
        cols = _columns(shown.columns, _PREFIX)
        return min(cols, key=lambda c: float(c[len(_PREFIX) :])) if cols else "y_pred"
