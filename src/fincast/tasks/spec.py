"""The task specification (what to forecast, with its settings) and fitted labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from .base import Task
from .eventspec import DEFAULT_EVENTS, EventSpec, parse_events
from .quantile import DEFAULT_QUANTILES
from .registry import REGISTRY, get_task
from .var import DEFAULT_ALPHA
from .volatility import VOL_ESTIMATORS

__all__ = ["DEFAULT_TASK", "TRANSFORMS", "Labeler", "TaskSpec", "fit_labeler"]

#: How the target column's steps are measured: ``log`` changes (prices), plain ``diff``
#: (rates, spreads, anything that can be zero or negative), or ``auto``.
TRANSFORMS = ("auto", "log", "diff")
#: The task of a run that names none.
DEFAULT_TASK = "return"


@dataclass(frozen=True)
class TaskSpec:
    """The forecasting task.

    Parameters
    ----------
    kind
        A registered task name (see :data:`~fincast.tasks.TASKS`).
    horizons
        Forecast horizons in steps (rows of each series), each >= 1.
    flat_band
        ``trend3``: the flat class is ``|r| <= flat_band * sd``, sd the standard deviation
        of the training fold's h-step returns (fitted per fold).
    events
        ``events``: the binary events (default :data:`DEFAULT_EVENTS`).
    vol_estimator
        ``volatility``: the per-step variance proxy, one of :data:`VOL_ESTIMATORS`:
        ``close`` (close-to-close squared log returns), ``parkinson``
        (``log(high/low)^2 / (4 log 2)``, needs high and low columns), ``garman-klass``,
        ``rogers-satchell`` and ``yang-zhang`` (need open, high, low and close) or
        ``realized`` (a realised-variance column); formulas in
        :mod:`fincast.tasks.volatility`.
    transform
        How steps of the target column are measured in features and in ``level``'s
        changes: ``log``, ``diff`` or ``auto`` (see :meth:`uses_log`). Never decided from
        the data's values, which would let later rows change earlier features.
    quantiles
        ``quantile``: the quantile levels, increasing, each in (0, 1).
    alpha
        ``var``: the tail levels of VaR and ES (0.01: 99 % VaR), increasing, in (0, 1).
    position
        ``var``: ``long`` (losses are falls) or ``short`` (losses are rises).
    """

    kind: str = DEFAULT_TASK
    horizons: tuple[int, ...] = (1,)
    flat_band: float = 0.25
    events: tuple[EventSpec, ...] = field(default=DEFAULT_EVENTS)
    vol_estimator: str = "close"
    transform: str = "auto"
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    alpha: tuple[float, ...] = DEFAULT_ALPHA
    position: str = "long"

    def __post_init__(self) -> None:
        if self.kind not in REGISTRY:
            raise ConfigError(
                f"task {self.kind!r} is not known; expected one of {', '.join(REGISTRY)}"
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
        object.__setattr__(self, "quantiles", tuple(float(q) for q in self.quantiles))
        object.__setattr__(self, "alpha", tuple(float(a) for a in self.alpha))
        self.task.check_spec(self)
        object.__setattr__(self, "events", parse_events(self.events))

    @property
    def task(self) -> Task:
        """The task object that answers every task-dependent question."""
        return get_task(self.kind)

    @property
    def is_classification(self) -> bool:
        """True for tasks whose targets are classes."""
        return self.task.is_classification

    @property
    def output(self) -> str:
        """``regression``, ``binary`` (direction, events) or ``multiclass`` (trend3)."""
        return self.task.output

    @property
    def labels(self) -> tuple[str, ...]:
        """Outputs per horizon: the classes of ``trend3``, the events, else one value."""
        return self.task.labels(self)

    @property
    def width(self) -> int:
        """Number of model outputs per horizon."""
        return len(self.labels)

    @property
    def fitted_labels(self) -> bool:
        """True when labels come from thresholds fitted on each fold's training rows."""
        return self.task.fitted_labels

    @property
    def forecasts_level(self) -> bool:
        """True when the target is a value and naive the last value (``level``)."""
        return self.task.forecasts_level

    def uses_log(self, target: str, roles: Mapping[str, str]) -> bool:
        """True when the target column's steps are log changes (it must then be positive).

        Every task but ``level`` is defined on log returns. For ``level``, ``transform``
        decides; ``auto`` takes logs of a price column (a loader role: open, high, low,
        close, adjusted close) and plain differences of any other column. The choice
        depends on the column's meaning, never on its values: deciding it from
        ``(value > 0).all()`` over the whole series let a value after date T change the
        features of every row before T.
        """
        return self.task.uses_log(self, target, roles)

    def positive_reason(self, who: str = "--task") -> tuple[str, str]:
        """Why this task needs a positive target and how to get past it (error wording)."""
        return self.task.positive_reason(self, who)

    @property
    def max_horizon(self) -> int:
        """The longest horizon."""
        return max(self.horizons)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form that :meth:`from_dict` reads back."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "horizons": list(self.horizons),
            "flat_band": self.flat_band,
            "events": [e.to_dict() for e in self.events],
            "vol_estimator": self.vol_estimator,
            "transform": self.transform,
        }
        # the levels only where they differ from the defaults (older files stay the same)
        if self.quantiles != DEFAULT_QUANTILES:
            out["quantiles"] = list(self.quantiles)
        if self.alpha != DEFAULT_ALPHA:
            out["alpha"] = list(self.alpha)
        if self.position != "long":
            out["position"] = self.position
        return out

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
            tuple(value.get("quantiles", DEFAULT_QUANTILES)),
            tuple(value.get("alpha", DEFAULT_ALPHA)),
            value.get("position", "long"),
        )

    @classmethod
    def from_config(cls, config: Any) -> TaskSpec:
        """The task a run configuration (:class:`~fincast.config.RunConfig`) describes."""
        return cls(
            config.task,
            tuple(config.horizon),
            flat_band=config.flat_band,
            events=parse_events(config.events),
            vol_estimator=config.vol_estimator,
            transform=config.transform,
            quantiles=tuple(config.quantiles),
            alpha=tuple(config.alpha),
            position=config.position,
        )


@dataclass(frozen=True)
class Labeler:
    """Turns raw h-step returns into the labels of a ``fitted_labels`` task.

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
        return self.task.task.label(self.task, np.asarray(raw, dtype="float64"), self.scale)

    def thresholds(self) -> dict[str, Any]:
        """The fitted thresholds, per horizon, JSON-ready."""
        return self.task.task.thresholds(self.task, self.scale)


def fit_labeler(task: TaskSpec, raw_train: np.ndarray) -> Labeler:
    """Fit the thresholds of ``trend3`` / ``events`` on training rows' raw h-step returns.

    Parameters
    ----------
    task
        The task (one with ``fitted_labels``).
    raw_train
        Raw h-step log returns of the training rows only, (n, horizons).
    """
    raw = np.asarray(raw_train, dtype="float64")
    sd = np.nanstd(raw, axis=0) if len(raw) else np.zeros(raw.shape[1])
    return Labeler(task, np.where(np.isfinite(sd), sd, 0.0))
