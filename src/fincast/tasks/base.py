"""The :class:`Task` interface: everything that depends on the kind of forecast.

One subclass per task kind (``return``, ``level``, ``direction``, ``trend3``, ``events``,
``volatility``, ``quantile``, ``var``) answers every question the rest of fincast asks about a task: its
targets and naive forecast, fitted labels, output head, prediction columns, forecast
records, metrics, skill, row loss for the significance tests, trading signal, plot labels,
tuning score and default baselines. Consumers ask the task object (``spec.task`` or
:func:`~fincast.tasks.get_task`); none compares a task name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import ConfigError

if TYPE_CHECKING:
    from .spec import TaskSpec

__all__ = ["HorizonInputs", "MetricKit", "Task", "naive_aligned", "shift"]


def shift(values: pd.Series, groups: pd.Series, periods: int) -> pd.Series:
    """``values`` shifted by ``periods`` rows within each series."""
    return values.groupby(groups, sort=False).shift(periods)


def as_column(values: np.ndarray) -> np.ndarray:
    """A 1-D array as sklearn's regression metrics see it: float64, one column."""
    return np.asarray(values, dtype="float64").reshape(-1, 1)


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """``sklearn.metrics.mean_squared_error(y_true, y_pred)`` of 1-D arrays (not empty): the
    numpy operations it runs on them, without its input checks (the same bits; see
    :mod:`fincast.metrics.regression`)."""
    t, p = as_column(y_true), as_column(y_pred)
    return float(np.average(np.average((t - p) ** 2, axis=0)))


@dataclass
class HorizonInputs:
    """What a task builds its targets of horizon ``h`` from (all aligned with ``frame``).

    Attributes
    ----------
    frame, column, spec, roles
        The long frame, the target column, the task spec and the OHLCV roles.
    h
        The horizon.
    value, future
        The target column at t and at t + h.
    fwd, past
        The h-step change from t to t + h and from t - h to t (log or plain, see
        :meth:`TaskSpec.uses_log`).
    cache
        Shared between the horizons of one call (e.g. the per-step variance).
    """

    frame: pd.DataFrame
    column: str
    spec: TaskSpec
    roles: Mapping[str, str]
    h: int
    value: pd.Series
    future: pd.Series
    fwd: pd.Series
    past: pd.Series
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def groups(self) -> pd.Series:
        """The series id of each row."""
        return self.frame["id"]


@dataclass(frozen=True)
class MetricKit:
    """The metric functions a task picks from (handed in by :mod:`fincast.metrics`).

    Tasks sit above the metrics in the flow of data, so they never import them: the
    metrics layer passes its functions in and each task chooses and calls its own.
    """

    regression: Callable[..., dict[str, Any]]
    classification: Callable[..., dict[str, Any]]
    multiclass: Callable[..., dict[str, Any]]
    multilabel: Callable[..., dict[str, Any]]
    volatility: Callable[..., dict[str, Any]]
    quantile: Callable[..., dict[str, Any]] | None = None
    risk: Callable[..., dict[str, Any]] | None = None


def naive_aligned(predictions: pd.DataFrame) -> np.ndarray:
    """The ``naive`` model's y_pred on the same (id, date, horizon) as each row."""
    from ..errors import DataError

    naive = predictions[predictions["model"] == "naive"]
    if naive.empty:
        raise DataError(
            "the level task needs the `naive` model's rows to turn forecasts into changes; "
            "the predictions table has none — keep the naive baseline in the backtest"
        )
    keys = ["id", "date", "horizon"]
    lookup = naive.drop_duplicates(keys).set_index(keys)["y_pred"]
    index = pd.MultiIndex.from_frame(predictions[keys])
    return lookup.reindex(index).to_numpy(dtype="float64")


class Task:
    """One kind of forecast. Subclasses set the class attributes and override methods.

    Attributes
    ----------
    name, description
        Registry name (``--task``) and one line for ``--help``.
    output
        ``regression``, ``binary`` or ``multiclass``: the model's output head.
    fitted_labels
        Labels come from thresholds fitted on each fold's training rows (:meth:`label`).
    forecasts_level
        The target is a value and naive the last value: models forecast ``y - naive``.
    row_per_label
        The predictions table has one row per label (a ``label`` column).
    losses
        The Keras losses that fit the output head; the first is the default.
    default_baselines
        The baselines a backtest runs unless told otherwise.
    headline_columns
        The metrics the summary table shows.
    fold_headline
        The metric and its format (``pct`` or ``num``) of the report's per-fold table.
    loss_skill
        How the significance tests' skill comes from mean row losses: ``ratio``
        (``1 - L / L0``) or ``difference`` (``L0 - L``).
    signal_is_probability
        The trading signal is a probability of up (positions compare it with 0.5).
    significance
        Whether the significance tests compare models by :meth:`row_loss` (and
        :meth:`extra_losses`).
    generic_baselines
        Baselines declared for every task (``tasks = None``: mean, ridge…) apply; false
        for tasks whose forecasts are several values per horizon (quantile, var).
    shrinkable
        Networks may shrink their forecast toward naive (``--shrink``); false for tasks
        whose outputs are not one value per horizon (quantiles).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    output: ClassVar[str] = "regression"
    fitted_labels: ClassVar[bool] = False
    forecasts_level: ClassVar[bool] = False
    row_per_label: ClassVar[bool] = False
    losses: ClassVar[tuple[str, ...]] = ("mse", "mae", "huber")
    default_baselines: ClassVar[tuple[str, ...]] = ("naive", "mean")
    headline_columns: ClassVar[tuple[str, ...]] = (
        "mse",
        "rmse",
        "mae",
        "r2",
        "direction_accuracy",
        "skill_vs_naive",
        "n_predictions",
    )
    fold_headline: ClassVar[tuple[str, str]] = ("mse", "num")
    loss_skill: ClassVar[str] = "ratio"
    signal_is_probability: ClassVar[bool] = False
    significance: ClassVar[bool] = True
    shrinkable: ClassVar[bool] = True
    #: Baselines that forecast one value per horizon (mean, ridge…) apply to this task.
    generic_baselines: ClassVar[bool] = True
    #: Whether prediction intervals (``--intervals``) apply: a continuous target with one
    #: forecast per row (:meth:`interval_score`, :meth:`interval_bounds`).
    intervals: ClassVar[bool] = False
    #: Whether an interval's lower bound is a value at risk (the target is a return): the
    #: live report then gives its hit rate (:mod:`fincast.ledger.coverage`).
    lower_bound_is_var: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"<task {self.name}>"

    # ---- specification ---------------------------------------------------------------
    @property
    def is_classification(self) -> bool:
        """True for tasks whose targets are classes."""
        return self.output != "regression"

    def labels(self, spec: TaskSpec) -> tuple[str, ...]:
        """Outputs per horizon: class or event names, else one value."""
        return ("value",)

    def check_spec(self, spec: TaskSpec) -> None:
        """Reject settings that do not apply to this task (raises ConfigError)."""
        if spec.transform == "diff":
            raise ConfigError(
                f"--transform diff applies to --task level only; --task {self.name} is "
                "defined on log returns (leave --transform out)"
            )

    def uses_log(self, spec: TaskSpec, target: str, roles: Mapping[str, str]) -> bool:
        """True when the target column's steps are log changes (see TaskSpec.uses_log)."""
        return True

    def positive_reason(self, spec: TaskSpec, who: str) -> tuple[str, str]:
        """Why this task needs a positive target and how to get past it (error wording)."""
        return f"{who} {self.name} uses log returns", "use --task level or clean the data"

    # ---- targets and labels ----------------------------------------------------------
    def targets(self, inp: HorizonInputs) -> tuple[pd.Series, pd.Series]:
        """The target and the naive forecast of horizon ``inp.h`` for every row."""
        raise NotImplementedError

    def label(self, spec: TaskSpec, raw: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Labels of raw targets given the training scale (``fitted_labels`` tasks)."""
        raise NotImplementedError(f"task {self.name} has no fitted labels")

    def thresholds(self, spec: TaskSpec, scale: np.ndarray) -> dict[str, Any]:
        """The fitted thresholds per horizon, JSON-ready (``fitted_labels`` tasks)."""
        raise NotImplementedError(f"task {self.name} has no fitted labels")

    def check_design(self, y: np.ndarray, ids: np.ndarray, source: str, target: str) -> None:
        """Reject a design this task cannot learn from or score (raises DataError).

        By default: targets so large that their squared errors overflow float64.
        """
        from ..data.validate import check_scorable

        check_scorable(y, ids, source, target, self.name)

    # ---- networks and naive ------------------------------------------------------------
    def network_levels(self, spec: TaskSpec) -> tuple[float, ...] | None:
        """Quantile levels a network outputs per horizon (pinball loss), or None.

        None (the default): the network has ``spec.width`` outputs per horizon and the
        task's own losses. Otherwise it has one output per level, trained with the pinball
        loss, and :meth:`from_network` turns them into the task's ``width`` columns.
        """
        return None

    def from_network(self, spec: TaskSpec, out: np.ndarray) -> np.ndarray:
        """A network's quantile outputs (rows, horizons * levels) as model outputs."""
        return out

    def fit_naive(self, spec: TaskSpec, y: np.ndarray) -> np.ndarray | None:
        """A naive forecast fitted on training targets (horizons * width,), or None.

        None (the default): the naive forecast is the per-row one of :meth:`targets`.
        """
        return None

    def naive_columns(self, columns: Any) -> list[str]:
        """Forecast columns besides ``y_pred`` that skill compares with naive's (as
        ``naive_<column>``)."""
        return []

    def skill_of(self, rows: pd.DataFrame) -> float | None:
        """Skill against naive of predictions rows with ``y_naive`` (NaN-free rows)."""
        y = rows["y_true"].to_numpy("float64")
        pred = rows["y_pred"].to_numpy("float64")
        naive = rows["y_naive"].to_numpy("float64")
        shared = np.isfinite(y) & np.isfinite(pred) & np.isfinite(naive)
        if not shared.any():
            return None
        return self.skill(y[shared], pred[shared], naive[shared])

    # ---- predictions -------------------------------------------------------------------
    def prediction_columns(self, spec: TaskSpec, out: np.ndarray) -> dict[str, np.ndarray]:
        """``y_pred`` (and probabilities) of model outputs, one row of ``out`` a table row."""
        return {"y_pred": out.reshape(-1)}

    def forecast_records(
        self, spec: TaskSpec, chunk: np.ndarray, last_value: float
    ) -> list[dict[str, Any]]:
        """The ``predict`` output of one horizon from that horizon's model outputs."""
        return [{"forecast": float(chunk[0]), "last_value": last_value}]

    # ---- scoring -----------------------------------------------------------------------
    def metrics(self, rows: pd.DataFrame, kit: MetricKit) -> dict[str, Any]:
        """The metrics of predictions-table rows (with ``y_naive``), without skill."""
        return kit.regression(
            rows["y_true"], rows["y_pred"], dates=rows["date"], horizons=rows["horizon"]
        )

    def skill(self, y: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> float | None:
        """Skill against naive on NaN-free rows: ``1 - MSE / MSE_naive`` by default."""
        mse_naive = mse(y, naive)
        if not mse_naive > 0:
            return None
        return float(1.0 - mse(y, pred) / mse_naive)

    def row_loss(self, predictions: pd.DataFrame) -> tuple[pd.Series, str]:
        """One loss per predictions row (smaller is better) and its name: squared error."""
        y = predictions["y_true"].to_numpy(dtype="float64")
        pred = predictions["y_pred"].to_numpy(dtype="float64")
        return pd.Series((pred - y) ** 2, index=predictions.index), "squared_error"

    def interval_score(self, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Conformal nonconformity score of each row: ``|y - pred|`` by default."""
        return np.abs(np.asarray(y, dtype="float64") - np.asarray(pred, dtype="float64"))

    def interval_bounds(self, pred: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The interval of forecasts ``pred`` whose score quantile is ``q``: ``pred ± q``.

        The inverse of :meth:`interval_score`: ``y`` lies in the interval exactly when its
        score is at most ``q``.
        """
        pred = np.asarray(pred, dtype="float64")
        return pred - q, pred + q

    def extra_losses(self, predictions: pd.DataFrame) -> dict[str, tuple[pd.Series, str]]:
        """Further per-row losses the significance tests compare (Diebold-Mariano only):
        ``{name: (loss per row, reference model)}``; none by default."""
        return {}

    @property
    def tradable(self) -> bool:
        """Whether forecasts of this task can be traded (see :meth:`signal`)."""
        return type(self).signal is not Task.signal

    def signal(self, predictions: pd.DataFrame) -> np.ndarray:
        """What each row expects, larger meaning more bullish (tradable tasks)."""
        raise NotImplementedError(f"task {self.name} has no trading signal")

    #: What :meth:`tune_score` measures, for the tuning summary.
    tune_metric: ClassVar[str] = "mse_vs_naive"

    def tune_score(self, y: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> float:
        """The tuning objective on a validation block (lower is better).

        Default: the MSE relative to the naive forecast's MSE (``1 - skill``; below 1
        beats naive).
        """
        base = float(np.mean((y - naive) ** 2))
        return float(np.mean((y - pred) ** 2) / (base if base > 0 else 1.0))

    def tune_score_of(
        self, spec: TaskSpec, y: np.ndarray, pred: np.ndarray, naive: np.ndarray
    ) -> float:
        """:meth:`tune_score` for tasks whose score needs the spec (default: ignores it)."""
        return self.tune_score(y, pred, naive)

    # ---- plots -------------------------------------------------------------------------
    plot_ylabel: ClassVar[str] = "value at t + h"

    def plot_actual(self, ax: Any, actual: pd.DataFrame) -> None:
        """Draw the actual values on ``ax`` and label its y axis."""
        ax.plot(actual["date"], actual["y_true"], color="black", linewidth=1.4, label="actual")
        ax.set_ylabel(self.plot_ylabel)

    def plot_value(self, shown: pd.DataFrame) -> str:
        """The column plotted as each model's forecast."""
        return "y_pred"

    def plot_view(self, view: pd.DataFrame) -> tuple[pd.DataFrame, Task]:
        """The rows the actual-vs-predicted plot shows and the task it draws them as."""
        return view, self
