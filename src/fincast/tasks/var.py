"""``var``: Value-at-Risk and Expected Shortfall of the h-step return (``--alpha 0.01,0.05``).

**Sign convention** (as :mod:`fincast.metrics.risk`): ``y_true`` is the position's h-step
log return (the asset's for ``--position long``, its negative for ``short``); ``var_<a>``
and ``es_<a>`` are *positive losses*: the VaR is minus the ``a``-quantile of that return and
the ES minus its mean below that quantile, so a breach is ``y_true < -var_<a>`` and
``es_<a> >= var_<a>``. ``y_pred`` is the return quantile ``-var`` of the first level (the
line a VaR plot draws under the returns).

The naive forecast is historical simulation over the training fold (its empirical quantile
and tail mean). Networks forecast, per level ``a``, the quantiles at ``a`` and at ``K``
levels ``a (k - 1/2) / K`` below it with the pinball loss; the VaR is the ``a``-quantile and
the ES the mean of the ``K`` tail quantiles, the midpoint rule of
``ES_a = (1/a) * integral_0^a q(u) du`` (the "ES from the quantile path"). We chose this
over the joint FZ0 loss of Patton, Ziegel & Chen (2019) for training because the pinball
loss is convex and trains stably from the ridge start; FZ0 is used to *score* the
(VaR, ES) pairs (it is the consistent joint loss) and by the significance tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .base import HorizonInputs, MetricKit, Task
from .quantile import QuantileTask, _columns, check_levels, level_name

if TYPE_CHECKING:
    from .spec import TaskSpec

__all__ = ["DEFAULT_ALPHA", "ES_GRID", "POSITIONS", "VaRTask", "fz0"]

DEFAULT_ALPHA = (0.01, 0.05)
POSITIONS = ("long", "short")
#: Tail quantiles per level a network forecasts for the ES (midpoints of K slices of (0, a)).
ES_GRID = 10


def fz0(y: np.ndarray, var: np.ndarray, es: np.ndarray, alpha: float) -> np.ndarray:
    """FZ0 loss per row of (VaR, ES) given as positive losses (Patton, Ziegel & Chen 2019).

    With ``v = -VaR``, ``e = -ES < 0``:
    ``-1/(alpha e) 1{y <= v} (v - y) + v / e + log(-e) - 1``; NaN where ``ES <= 0``.
    """
    y = np.asarray(y, dtype="float64")
    v = -np.asarray(var, dtype="float64")
    e = -np.asarray(es, dtype="float64")
    safe = np.where(e < 0, e, -1.0)
    hit = (y <= v).astype("float64")
    out = -hit * (v - y) / (alpha * safe) + v / safe + np.log(-safe) - 1.0
    return np.where(e < 0, out, np.nan)


class VaRTask(QuantileTask):
    """VaR and ES (positive losses) of the position's h-step log return."""

    name = "var"
    description = "Value-at-Risk and Expected Shortfall of the h-step return (--alpha)"
    default_baselines = ("naive", "fhs", "riskmetrics", "garch-normal")
    headline_columns = ("hit_rate_error", "fz0", "skill_vs_naive", "n_predictions")
    fold_headline = ("fz0", "num")
    loss_skill = "difference"
    plot_ylabel = "position return and -VaR (first level)"
    tune_metric: ClassVar[str] = "fz0"

    def levels(self, spec: TaskSpec) -> tuple[float, ...]:
        return spec.alpha

    def plot_value(self, shown: pd.DataFrame) -> str:
        """``y_pred``: minus the VaR of the first level (the line breaches fall below)."""
        return "y_pred"

    def labels(self, spec: TaskSpec) -> tuple[str, ...]:
        return tuple(f"{kind}_{level_name(a)}" for a in spec.alpha for kind in ("var", "es"))

    def check_spec(self, spec: TaskSpec) -> None:
        Task.check_spec(self, spec)
        check_levels(spec.alpha, "--alpha")
        if spec.position not in POSITIONS:
            raise ConfigError(
                f"--position must be long or short, got {spec.position!r}; pass --position long"
            )

    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        """The position's h-step log return (negated for a short position)."""
        sign = -1.0 if inp.spec.position == "short" else 1.0
        return sign * inp.fwd, pd.Series(0.0, index=inp.frame.index)

    # ---- networks and baselines --------------------------------------------------------
    def network_levels(self, spec: TaskSpec) -> tuple[float, ...] | None:
        """Per level a: the ES_GRID tail midpoints a (k - 1/2) / K, then a itself."""
        out: list[float] = []
        for a in spec.alpha:
            out.extend(a * (k - 0.5) / ES_GRID for k in range(1, ES_GRID + 1))
            out.append(a)
        return tuple(out)

    def from_network(self, spec: TaskSpec, out: np.ndarray) -> np.ndarray:
        """Quantile outputs -> (var, es) per level and horizon, horizon-major."""
        n_a, step = len(spec.alpha), ES_GRID + 1
        q = np.asarray(out, dtype="float64").reshape(len(out), -1, n_a, step)
        q = np.sort(q, axis=-1)  # no crossing within a level's tail
        var = -q[..., -1]
        es = -q[..., :-1].mean(axis=-1)
        return np.stack([var, es], axis=-1).reshape(len(out), -1)

    def from_sample(self, spec: TaskSpec, sample: np.ndarray) -> np.ndarray:
        """Historical simulation: VaR the empirical quantile, ES the mean beyond it."""
        out = []
        for a in spec.alpha:
            if not len(sample):
                out.extend([np.nan, np.nan])
                continue
            q = float(np.quantile(sample, a))
            out.extend([-q, -float(np.mean(sample[sample <= q]))])
        return np.asarray(out)

    def from_normal(self, spec: TaskSpec, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """VaR ``-(m + s z_a)`` and ES ``-(m - s phi(z_a) / a)`` of N(m, s^2) per row."""
        from scipy import stats

        cols = []
        for a in spec.alpha:
            z = stats.norm.ppf(a)
            cols.append(-(mean + sd * z))
            cols.append(-(mean - sd * stats.norm.pdf(z) / a))
        return np.stack(cols, axis=1)

    def naive_columns(self, columns: Any) -> list[str]:
        return _columns(columns, "var_") + _columns(columns, "es_")

    # ---- predictions -------------------------------------------------------------------
    def prediction_columns(self, spec: TaskSpec, out: np.ndarray) -> dict[str, np.ndarray]:
        """``var_<a>`` and ``es_<a>`` (ES at least the VaR); ``y_pred`` = -VaR of the first a."""
        pairs = np.asarray(out, dtype="float64").reshape(len(out), -1, 2)
        var, es = pairs[..., 0], np.maximum(pairs[..., 1], pairs[..., 0])
        cols = {"y_pred": -var[:, 0]}
        for k, a in enumerate(spec.alpha):
            cols[f"var_{level_name(a)}"] = var[:, k]
            cols[f"es_{level_name(a)}"] = es[:, k]
        return cols

    def forecast_records(
        self, spec: TaskSpec, chunk: np.ndarray, last_value: float
    ) -> list[dict[str, Any]]:
        cols = self.prediction_columns(spec, np.asarray(chunk, dtype="float64")[None, :])
        cols.pop("y_pred")
        first = f"var_{level_name(spec.alpha[0])}"
        rec: dict[str, Any] = {"forecast": float(cols[first][0])}
        rec.update({k: float(v[0]) for k, v in cols.items()})
        rec["last_value"] = last_value
        return [rec]

    # ---- scoring -----------------------------------------------------------------------
    @staticmethod
    def _pairs(rows: pd.DataFrame, prefix: str = "") -> dict[float, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for c in _columns(rows.columns, f"{prefix}var_"):
            name = c[len(prefix) + 4 :]
            es = f"{prefix}es_{name}"
            if es in rows.columns:
                out[float(name)] = (
                    rows[c].to_numpy(dtype="float64"),
                    rows[es].to_numpy(dtype="float64"),
                )
        return out

    def metrics(self, rows: pd.DataFrame, kit: MetricKit) -> dict[str, Any]:
        """The VaR / ES backtests. Rows of one series and horizon are tested in time order
        on non-overlapping periods (every h-th date: overlapping h-step returns would make
        breaches cluster by construction); rows pooled over series or horizons get only
        the tests that need no order (hit rate, Kupiec, Z2), on the rows of every H-th
        date (H the largest horizon), whose periods do not overlap either, clustered by
        date: rows of one date share its shocks."""
        assert kit.risk is not None
        ordered = rows["id"].nunique() == 1 and rows["horizon"].nunique() == 1
        if ordered:
            rows = rows.sort_values("date", kind="stable")
            rows = rows.iloc[:: int(rows["horizon"].iloc[0])] if len(rows) else rows
        clusters = None
        if not ordered and len(rows):
            dates = pd.to_datetime(rows["date"]).to_numpy()
            position = np.searchsorted(np.unique(dates), dates)
            kept = position % max(int(rows["horizon"].max()), 1) == 0
            rows, clusters = rows[kept], position[kept]
        pairs = self._pairs(rows)
        return kit.risk(
            rows["y_true"].to_numpy(dtype="float64"),
            {a: v for a, (v, _) in pairs.items()},
            {a: e for a, (_, e) in pairs.items()},
            ordered=ordered,
            clusters=clusters,
        )

    def _row_fz0(self, rows: pd.DataFrame, prefix: str) -> np.ndarray:
        y = rows["y_true"].to_numpy(dtype="float64")
        parts = [fz0(y, v, e, a) for a, (v, e) in self._pairs(rows, prefix).items()]
        return np.mean(parts, axis=0) if parts else np.full(len(rows), np.nan)

    def skill_of(self, rows: pd.DataFrame) -> float | None:
        """Mean FZ0 loss of naive minus the model's (> 0: better than naive)."""
        own = self._row_fz0(rows, "")
        naive = self._row_fz0(rows, "naive_")
        shared = np.isfinite(own) & np.isfinite(naive)
        if not shared.any():
            return None
        return float(naive[shared].mean() - own[shared].mean())

    def row_loss(self, predictions: pd.DataFrame) -> tuple[pd.Series, str]:
        """The FZ0 loss of each row, averaged over the levels."""
        return pd.Series(self._row_fz0(predictions, ""), index=predictions.index), "fz0"

    def tune_score_of(
        self, spec: TaskSpec, y: np.ndarray, pred: np.ndarray, naive: np.ndarray
    ) -> float:
        """Mean FZ0 loss of the (var, es) outputs over levels, horizons and rows."""
        y = np.asarray(y, dtype="float64")
        pairs = np.asarray(pred, dtype="float64").reshape(len(y), y.shape[1], -1, 2)
        losses = [
            fz0(y, pairs[:, :, k, 0], np.maximum(pairs[:, :, k, 1], pairs[:, :, k, 0]), a)
            for k, a in enumerate(spec.alpha)
        ]
        value = float(np.nanmean(losses))
        return value if np.isfinite(value) else float("inf")
