"""What to forecast: one :class:`Task` object per kind, a registry by name, the spec.

A target dated t describes only what happens after t: the value of the target column at
t + h, the log return from t to t + h, its sign, its class (down / flat / up), a set of
binary events, the realised volatility over t+1 … t+h, quantiles of the h-step return, or
its Value-at-Risk and Expected Shortfall. Everything that depends on the
kind of forecast is a method of its task object (``spec.task`` or :func:`get_task`); a new
task is one module plus one line in :mod:`fincast.tasks.registry`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .base import HorizonInputs, Task
from .eventspec import DEFAULT_EVENTS, EVENT_RULES, EventSpec, parse_events
from .level import PRICE_ROLES
from .registry import REGISTRY, get_task, register, task_names
from .spec import TRANSFORMS, Labeler, TaskSpec, fit_labeler
from .targets import build_targets
from .trend3 import TREND3_CLASSES
from .volatility import VOL_ESTIMATORS, VOL_FLOOR

__all__ = [
    "CLASSIFICATION_TASKS",
    "DEFAULT_EVENTS",
    "EVENT_RULES",
    "PRICE_ROLES",
    "REGISTRY",
    "REGRESSION_TASKS",
    "TASKS",
    "TRANSFORMS",
    "TREND3_CLASSES",
    "VOL_ESTIMATORS",
    "VOL_FLOOR",
    "EventSpec",
    "HorizonInputs",
    "Labeler",
    "Task",
    "TaskSpec",
    "build_targets",
    "fit_labeler",
    "get_task",
    "parse_events",
    "register",
    "task_names",
]


class _Descriptions(Mapping[str, str]):
    """Task name -> one-line description, live over the registry."""

    def __getitem__(self, name: str) -> str:
        return REGISTRY[name].description

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)


#: Every registered task with its description.
TASKS: Mapping[str, str] = _Descriptions()
#: The built-in tasks by output (registered tasks may add to either).
REGRESSION_TASKS = tuple(n for n, t in REGISTRY.items() if not t.is_classification)
CLASSIFICATION_TASKS = tuple(n for n, t in REGISTRY.items() if t.is_classification)
