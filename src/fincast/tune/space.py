"""Search spaces: what ``fincast tune`` may change, declared in the config.

A space maps a model parameter to one of

- ``{low: 1.0e-4, high: 1.0e-2, log: true}``: a float range (an int range when ``low`` and
  ``high`` are whole numbers; ``step`` is allowed, ``log`` scales the sampling);
- ``[32, 64, 128]``: a list of choices;
- a single value: fixed, not searched.

Every network (and ``lightgbm``) declares its default space as its class attribute
``search_space``
(:func:`default_space` reads it); the config's ``search_space`` overrides it parameter by
parameter.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..models import MODELS

__all__ = ["default_space", "is_tunable", "resolve_space", "sample"]

_RANGE_KEYS = {"low", "high", "log", "step"}


def default_space(model: str) -> dict[str, Any]:
    """The default search space of ``model``: its class attribute ``search_space``."""
    if not is_tunable(model):
        tunable = [name for name in MODELS if is_tunable(name)]
        raise ConfigError(f"model {model!r} has nothing to tune; tune one of {', '.join(tunable)}")
    return dict(MODELS[model].search_space)


def _check(name: str, spec: Any) -> Any:
    where = f"search_space.{name}"
    if isinstance(spec, dict):
        unknown = set(spec) - _RANGE_KEYS
        if unknown or not {"low", "high"} <= set(spec):
            raise ConfigError(
                f"{where}: a range needs `low` and `high` (optional `log`, `step`), got "
                f"{sorted(spec)}; e.g. {{low: 1.0e-4, high: 1.0e-2, log: true}}"
            )
        low, high = spec["low"], spec["high"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
            raise ConfigError(f"{where}: `low` and `high` must be numbers, got {low!r}, {high!r}")
        if low > high:
            raise ConfigError(f"{where}: `low` {low} is above `high` {high}")
        if spec.get("log") and low <= 0:
            raise ConfigError(f"{where}: a log range needs `low` > 0, got {low}")
        if spec.get("log") and spec.get("step") is not None:
            raise ConfigError(f"{where}: use either `log` or `step`, not both")
    elif isinstance(spec, list) and not spec:
        raise ConfigError(f"{where}: the list of choices is empty")
    return spec


def resolve_space(model: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The search space of ``model``: its default space updated with ``overrides``.

    Raises
    ------
    ConfigError
        For a malformed entry.
    """
    space = default_space(model)
    space.update(overrides or {})
    return {name: _check(name, spec) for name, spec in space.items()}


def sample(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    """Draw one configuration from ``space`` with an Optuna trial."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        if isinstance(spec, dict):
            low, high = spec["low"], spec["high"]
            if isinstance(low, int) and isinstance(high, int) and not spec.get("log"):
                params[name] = trial.suggest_int(name, low, high, step=int(spec.get("step") or 1))
            elif isinstance(low, int) and isinstance(high, int):
                params[name] = trial.suggest_int(name, low, high, log=True)
            else:
                params[name] = trial.suggest_float(
                    name, float(low), float(high), log=bool(spec.get("log")), step=spec.get("step")
                )
        elif isinstance(spec, list):
            params[name] = trial.suggest_categorical(name, spec)
        else:
            params[name] = spec
    return params


def is_tunable(model: str) -> bool:
    """True for a model with a search space: every network and ``lightgbm`` (the other
    baselines have nothing to tune)."""
    return model in MODELS and bool(MODELS[model].search_space)
