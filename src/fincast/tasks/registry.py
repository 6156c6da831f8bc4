"""The task registry: every task kind by name.

A new task is one module with a :class:`~fincast.tasks.base.Task` subclass plus one line
here (or one :func:`register` call).
"""

from __future__ import annotations

from .base import Task
from .direction import DirectionTask
from .events import EventsTask
from .level import LevelTask
from .quantile import QuantileTask
from .returns import ReturnTask
from .trend3 import Trend3Task
from .var import VaRTask
from .volatility import VolatilityTask

__all__ = ["REGISTRY", "get_task", "register", "task_names"]

#: Task objects by name, in the order ``--help`` lists them.
REGISTRY: dict[str, Task] = {
    t.name: t
    for t in (
        ReturnTask(),
        LevelTask(),
        DirectionTask(),
        Trend3Task(),
        EventsTask(),
        VolatilityTask(),
        QuantileTask(),
        VaRTask(),
    )
}


def register(task: Task) -> Task:
    """Add (or replace) a task under its ``name``; returns it."""
    REGISTRY[task.name] = task
    return task


def task_names() -> tuple[str, ...]:
    """The registered task names."""
    return tuple(REGISTRY)


def get_task(name: str) -> Task:
    """The task object called ``name``.

    Raises
    ------
    ConfigError
        For an unknown name.
    """
    task = REGISTRY.get(str(name))
    if task is None:
        from ..errors import ConfigError

        raise ConfigError(f"task {name!r} is not known; expected one of {', '.join(REGISTRY)}")
    return task
