"""What to forecast: the task specification and leakage-free target construction.

A target dated t describes only what happens after t: the value of the target column at
t + h, the log return from t to t + h, its sign, its class (down / flat / up), a set of
binary events, or the realised volatility over t+1 … t+h. Every target comes with the naive
baseline's forecast for the same row (built from data dated <= t only) and the realised
h-step log return, which the finance metrics and plots use.

Thresholds that learn from data (the ``trend3`` flat band, events in training standard
deviations) are never applied here: :func:`build_targets` returns the raw h-step returns for
those tasks, and a :class:`Labeler` fitted on each fold's training rows turns them into
classes (see :func:`fit_labeler`), so no label depends on test-period statistics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = [
    "CLASSIFICATION_TASKS",
    "DEFAULT_EVENTS",
    "EVENT_RULES",
    "REGRESSION_TASKS",
    "TASKS",
    "TREND3_CLASSES",
    "EventSpec",
    "Labeler",
    "TaskSpec",
    "build_targets",
    "fit_labeler",
    "parse_events",
]

REGRESSION_TASKS = ("return", "level", "volatility")
CLASSIFICATION_TASKS = ("direction", "trend3", "events")
TASKS: dict[str, str] = {
    "return": "h-step-ahead log return of the target column (default)",
    "level": "the value of the target column h steps ahead",
    "direction": "binary: 1 if the target rises over the next h steps, else 0",
    "trend3": "3 classes: down / flat / up over the next h steps (flat band fitted per fold)",
    "events": "multi-label: several binary events of the next h-step return at once",
    "volatility": "realised volatility over the next h steps (close-to-close or Parkinson)",
}
TREND3_CLASSES = ("down", "flat", "up")
VOL_ESTIMATORS = ("close", "parkinson")
#: How the target column's steps are measured: ``log`` changes (prices), plain ``diff``
#: (rates, spreads, anything that can be zero or negative), or ``auto``.
TRANSFORMS = ("auto", "log", "diff")
#: Loader roles whose columns are prices (positive by nature): ``auto`` takes logs of them.
PRICE_ROLES = ("open", "high", "low", "close", "adj_close")

#: How an event compares the h-step log return r with its threshold x; ``*_std`` rules
#: measure x in standard deviations of the training fold's h-step returns.
EVENT_RULES: dict[str, str] = {
    "above": "r > x",
    "below": "r < x",
    "abs_above": "|r| > x",
    "above_std": "r > x * sd",
    "below_std": "r < x * sd",
    "abs_above_std": "|r| > x * sd",
}


@dataclass(frozen=True)
class EventSpec:
    """One binary event of the h-step log return.

    Parameters
    ----------
    name
        Label name (a column of the forecast).
    rule
        One of :data:`EVENT_RULES`.
    threshold
        The threshold ``x`` (a log return, or a number of training standard deviations).
    """

    name: str
    rule: str
    threshold: float

    def __post_init__(self) -> None:
        if self.rule not in EVENT_RULES:
            raise ConfigError(
                f"event {self.name!r}: rule {self.rule!r} is not known; expected one of "
                f"{', '.join(EVENT_RULES)}, e.g. {{name: up1, above: 0.01}}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The event as a config mapping, e.g. ``{"name": "up_1pct", "above": 0.01}``."""
        return {"name": self.name, self.rule: self.threshold}


#: Default events: up more than 1 %, down more than 1 % (as log returns), and an absolute
#: move larger than 2 training standard deviations.
DEFAULT_EVENTS = (
    EventSpec("up_1pct", "above", 0.01),
    EventSpec("down_1pct", "below", -0.01),
    EventSpec("big_move", "abs_above_std", 2.0),
)


def parse_events(value: Iterable[Any] | None) -> tuple[EventSpec, ...]:
    """Events from config mappings like ``[{name: up1, above: 0.01}, …]``.

    Raises
    ------
    ConfigError
        For a mapping without a name, with no or several rules, or a duplicate name.
    """
    if value is None:
        return DEFAULT_EVENTS
    out: list[EventSpec] = []
    for i, item in enumerate(value):
        if isinstance(item, EventSpec):
            out.append(item)
            continue
        if not isinstance(item, Mapping) or "name" not in item:
            raise ConfigError(
                f"events[{i}] must be a mapping with a name and one rule, e.g. "
                f"{{name: up1, above: 0.01}}; got {item!r}"
            )
        rules = [k for k in item if k != "name"]
        if len(rules) != 1:
            raise ConfigError(
                f"event {item['name']!r} needs exactly one rule of {', '.join(EVENT_RULES)}; "
                f"got {', '.join(map(str, rules)) or 'none'}"
            )
        try:
            threshold = float(item[rules[0]])
        except (TypeError, ValueError):
            raise ConfigError(
                f"event {item['name']!r}: threshold must be a number, got {item[rules[0]]!r}"
            ) from None
        out.append(EventSpec(str(item["name"]), str(rules[0]), threshold))
    names = [e.name for e in out]
    if not out or len(set(names)) != len(names):
        raise ConfigError(f"events must be a non-empty list with distinct names, got {names}")
    return tuple(out)


@dataclass(frozen=True)
class TaskSpec:
    """The forecasting task.

    Parameters
    ----------
    kind
        One of :data:`TASKS`.
    horizons
        Forecast horizons in steps (rows of each series), each >= 1.
    flat_band
        ``trend3``: the flat class is ``|r| <= flat_band * sd``, sd the standard deviation
        of the training fold's h-step returns (fitted per fold).
    events
        ``events``: the binary events (default :data:`DEFAULT_EVENTS`).
    vol_estimator
        ``volatility``: ``close`` (close-to-close squared log returns) or ``parkinson``
        (``log(high/low)^2 / (4 log 2)``, needs high and low columns).
    transform
        How steps of the target column are measured in features and in ``level``'s
        changes: ``log``, ``diff`` or ``auto`` (see :meth:`uses_log`). Never decided from
        the data's values, which would let later rows change earlier features.
    """

    kind: str = "return"
    horizons: tuple[int, ...] = (1,)
    flat_band: float = 0.25
    events: tuple[EventSpec, ...] = field(default=DEFAULT_EVENTS)
    vol_estimator: str = "close"
    transform: str = "auto"

    def __post_init__(self) -> None:
        if self.kind not in TASKS:
            raise ConfigError(
                f"task {self.kind!r} is not known; expected one of {', '.join(TASKS)}"
            )
        if not self.horizons:
            raise ConfigError("horizon is empty; pass at least one horizon, e.g. --horizon 1")
        for h in self.horizons:
            if int(h) != h or h < 1:
                raise ConfigError(
                    f"horizon must be a whole number of steps >= 1, got {h}; pass e.g. --horizon 1"
                )
        if not self.flat_band >= 0:
            raise ConfigError(
                f"flat_band must be >= 0 (standard deviations), got {self.flat_band}; "
                "pass e.g. --flat-band 0.25"
            )
        if self.vol_estimator not in VOL_ESTIMATORS:
            raise ConfigError(
                f"vol_estimator must be one of {', '.join(VOL_ESTIMATORS)}, "
                f"got {self.vol_estimator!r}"
            )
        if self.transform not in TRANSFORMS:
            raise ConfigError(
                f"transform must be one of {', '.join(TRANSFORMS)}, got {self.transform!r}; "
                "pass e.g. --transform diff"
            )
        if self.transform == "diff" and self.kind != "level":
            raise ConfigError(
                f"--transform diff applies to --task level only; --task {self.kind} is "
                "defined on log returns (leave --transform out)"
            )
        object.__setattr__(self, "events", parse_events(self.events))

    @property
    def is_classification(self) -> bool:
        """True for tasks whose targets are classes."""
        return self.kind in CLASSIFICATION_TASKS

    @property
    def output(self) -> str:
        """``regression``, ``binary`` (direction, events) or ``multiclass`` (trend3)."""
        if self.kind == "trend3":
            return "multiclass"
        return "binary" if self.is_classification else "regression"

    @property
    def labels(self) -> tuple[str, ...]:
        """Outputs per horizon: the classes of ``trend3``, the events, else one value."""
        if self.kind == "trend3":
            return TREND3_CLASSES
        if self.kind == "events":
            return tuple(e.name for e in self.events)
        return ("value",)

    @property
    def width(self) -> int:
        """Number of model outputs per horizon."""
        return len(self.labels)

    @property
    def fitted_labels(self) -> bool:
        """True when labels come from thresholds fitted on each fold's training rows."""
        return self.kind in ("trend3", "events")

    def uses_log(self, target: str, roles: Mapping[str, str]) -> bool:
        """True when the target column's steps are log changes (it must then be positive).

        Every task but ``level`` is defined on log returns. For ``level``, ``transform``
        decides; ``auto`` takes logs of a price column (a loader role: open, high, low,
        close, adjusted close) and plain differences of any other column. The choice
        depends on the column's meaning, never on its values: deciding it from
        ``(value > 0).all()`` over the whole series let a value after date T change the
        features of every row before T.
        """
        if self.kind != "level" or self.transform == "log":
            return True
        if self.transform == "diff":
            return False
        return any(roles.get(role) == target for role in PRICE_ROLES)

    def positive_reason(self, who: str = "--task") -> tuple[str, str]:
        """Why this task needs a positive target and how to get past it (error wording)."""
        if self.kind == "level":
            return (
                f"{who} level takes log changes of a price column",
                "pass --transform diff (plain differences) or clean the data",
            )
        return f"{who} {self.kind} uses log returns", "use --task level or clean the data"

    @property
    def max_horizon(self) -> int:
        """The longest horizon."""
        return max(self.horizons)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form that :meth:`from_dict` reads back."""
        return {
            "kind": self.kind,
            "horizons": list(self.horizons),
            "flat_band": self.flat_band,
            "events": [e.to_dict() for e in self.events],
            "vol_estimator": self.vol_estimator,
            "transform": self.transform,
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> TaskSpec:
        """The inverse of :meth:`to_dict`."""
        return cls(
            value["kind"],
            tuple(value["horizons"]),
            float(value.get("flat_band", 0.25)),
            parse_events(value.get("events")),
            value.get("vol_estimator", "close"),
            value.get("transform", "auto"),
        )


@dataclass(frozen=True)
class Labeler:
    """Turns raw h-step returns into ``trend3`` classes or ``events`` labels.

    Attributes
    ----------
    task
        The task.
    scale
        Standard deviation of the training fold's h-step returns, one per horizon.
    """

    task: TaskSpec
    scale: np.ndarray

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Labels of raw returns (n, horizons); NaN stays NaN.

        Returns (n, horizons) class indices 0 = down, 1 = flat, 2 = up for ``trend3``;
        (n, horizons * events) 0/1 labels, horizon-major, for ``events``.
        """
        raw = np.asarray(raw, dtype="float64")
        missing = np.isnan(raw)
        if self.task.kind == "trend3":
            band = self.task.flat_band * self.scale
            out = np.where(raw > band, 2.0, np.where(raw < -band, 0.0, 1.0))
            return np.where(missing, np.nan, out)
        cols = []
        for j in range(raw.shape[1]):
            r, sd = raw[:, j], self.scale[j]
            for e in self.task.events:
                x = e.threshold * sd if e.rule.endswith("_std") else e.threshold
                if e.rule.startswith("above"):
                    hit = r > x
                elif e.rule.startswith("below"):
                    hit = r < x
                else:
                    hit = np.abs(r) > x
                cols.append(np.where(missing[:, j], np.nan, hit.astype("float64")))
        return np.stack(cols, axis=1)

    def thresholds(self) -> dict[str, Any]:
        """The fitted thresholds, per horizon, JSON-ready."""
        out: dict[str, Any] = {}
        for j, h in enumerate(self.task.horizons):
            sd = float(self.scale[j])
            if self.task.kind == "trend3":
                out[str(h)] = {"flat_band": self.task.flat_band * sd, "sd": sd}
            else:
                out[str(h)] = {
                    e.name: (e.threshold * sd if e.rule.endswith("_std") else e.threshold)
                    for e in self.task.events
                }
        return out


def fit_labeler(task: TaskSpec, raw_train: np.ndarray) -> Labeler:
    """Fit the thresholds of ``trend3`` / ``events`` on training rows' raw h-step returns.

    Parameters
    ----------
    task
        The task (``trend3`` or ``events``).
    raw_train
        Raw h-step log returns of the training rows only, (n, horizons).
    """
    raw = np.asarray(raw_train, dtype="float64")
    sd = np.nanstd(raw, axis=0) if len(raw) else np.zeros(raw.shape[1])
    return Labeler(task, np.where(np.isfinite(sd), sd, 0.0))


def _shift(values: pd.Series, groups: pd.Series, periods: int) -> pd.Series:
    return values.groupby(groups, sort=False).shift(periods)


def _step_variance(
    frame: pd.DataFrame, column: str, task: TaskSpec, roles: Mapping[str, str]
) -> pd.Series:
    """Per-step variance proxy: squared log return, or the Parkinson range estimator."""
    groups = frame["id"]
    if task.vol_estimator == "parkinson":
        if "high" not in roles or "low" not in roles:
            raise ConfigError(
                "vol_estimator parkinson needs high and low columns, which the data lacks; "
                "use --vol-estimator close"
            )
        hi = frame[roles["high"]].astype("float64")
        lo = frame[roles["low"]].astype("float64")
        return np.log(hi.where(hi > 0) / lo.where(lo > 0)) ** 2 / (4.0 * np.log(2.0))
    logged = np.log(frame[column].astype("float64").where(frame[column] > 0))
    return (logged - _shift(logged, groups, 1)) ** 2


def build_targets(
    frame: pd.DataFrame,
    column: str,
    task: TaskSpec,
    roles: Mapping[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Targets, naive forecasts and realised returns for every row of a long frame.

    Parameters
    ----------
    frame
        Canonical long frame (``id``, ``date``, fields), sorted by id then date.
    column
        The target column.
    task
        The task specification.
    roles
        OHLCV role -> column (the Parkinson volatility needs ``high`` and ``low``).

    Returns
    -------
    dict
        ``y``, ``naive`` and ``fwd_return``: frames aligned with ``frame``'s index, one
        column per horizon (named by the horizon). Rows whose future is not in the data are
        NaN in ``y`` and ``fwd_return``. For ``trend3`` and ``events``, ``y`` and ``naive``
        are the raw future and past h-step log returns (label them with a
        :class:`Labeler` fitted on training rows). For ``volatility``, ``y`` is
        ``sqrt(mean of the per-step variance over t+1 … t+h)`` and ``naive`` the same over
        t-h+1 … t (the last realised volatility).

    Examples
    --------
    >>> f = pd.DataFrame({"id": "a", "date": pd.date_range("2020", periods=3),
    ...                   "x": [1.0, 2.0, 4.0]})
    >>> build_targets(f, "x", TaskSpec("level"))["y"][1].tolist()
    [2.0, 4.0, nan]
    """
    value = frame[column].astype("float64")
    groups = frame["id"]
    log = task.uses_log(column, roles or {})  # from the column's meaning, not its values
    log_value = np.log(value.where(value > 0)) if log else None
    step_var = (
        _step_variance(frame, column, task, roles or {}) if task.kind == "volatility" else None
    )
    y, naive, fwd = {}, {}, {}
    for h in task.horizons:
        future = _shift(value, groups, -h)
        if log_value is not None:
            fwd_h = _shift(log_value, groups, -h) - log_value
            past_h = log_value - _shift(log_value, groups, h)
        else:
            fwd_h = future - value
            past_h = value - _shift(value, groups, h)
        fwd[h] = fwd_h
        if task.kind == "return":
            y[h] = fwd_h
            naive[h] = pd.Series(0.0, index=frame.index)
        elif task.kind == "level":
            y[h] = future
            naive[h] = value
        elif task.kind == "direction":
            y[h] = (fwd_h > 0).astype("float64").where(fwd_h.notna())
            naive[h] = (past_h > 0).astype("float64").where(past_h.notna())
        elif task.kind == "volatility":
            assert step_var is not None
            past_var = (
                step_var.groupby(groups, sort=False)
                .rolling(h, min_periods=h)
                .mean()
                .reset_index(level=0, drop=True)
                .reindex(frame.index)
            )
            naive[h] = np.sqrt(past_var)
            y[h] = np.sqrt(_shift(past_var, groups, -h))
        else:  # trend3, events: raw returns, labelled per fold
            y[h] = fwd_h
            naive[h] = past_h
    return {
        "y": pd.DataFrame(y, index=frame.index),
        "naive": pd.DataFrame(naive, index=frame.index),
        "fwd_return": pd.DataFrame(fwd, index=frame.index),
    }
