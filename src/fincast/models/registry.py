"""Models by name. A new model is one new file (a :class:`~fincast.models.base.Model`
subclass declaring its ``name``) plus one line in :data:`_BUILTIN`."""

from __future__ import annotations

import difflib
from typing import Any

from ..errors import ConfigError
from ..tasks import TaskSpec
from .ar import ARBaseline
from .base import Model
from .baselines import MeanBaseline, NaiveBaseline
from .drift import DriftBaseline
from .ewma import EWMABaseline
from .garch import GarchBaseline
from .gbdt import LightGBMBaseline
from .har import HARBaseline, LogHARBaseline
from .latent import LatentHAR
from .majority import MajorityBaseline
from .mlp import MLP, SeedMLP
from .persistence import PersistenceBaseline
from .ridge import RidgeBaseline
from .riskbase import FHSBaseline, GarchNormalBaseline, RiskMetricsBaseline
from .sequence import CNN, GRU, LSTM, Transformer

__all__ = [
    "MODELS",
    "baseline_names",
    "is_baseline",
    "make_model",
    "model_parameters",
    "model_params",
    "register",
]

#: Every model: ``fincast models`` lists them in this order (baselines first).
MODELS: dict[str, type[Model]] = {}


def register(cls: type[Model]) -> type[Model]:
    """Add ``cls`` to :data:`MODELS` under its ``name`` (usable as a class decorator)."""
    if not cls.name or cls.kind not in ("network", "baseline"):
        raise ValueError(f"{cls.__qualname__} needs a `name` and a kind network/baseline")
    MODELS[cls.name] = cls
    return cls


_BUILTIN: tuple[type[Model], ...] = (
    NaiveBaseline,
    MeanBaseline,
    DriftBaseline,
    RidgeBaseline,
    ARBaseline,
    MajorityBaseline,
    PersistenceBaseline,
    GarchBaseline,
    EWMABaseline,
    HARBaseline,
    LogHARBaseline,
    LatentHAR,
    LightGBMBaseline,
    FHSBaseline,
    RiskMetricsBaseline,
    GarchNormalBaseline,
    SeedMLP,
    MLP,
    LSTM,
    GRU,
    CNN,
    Transformer,
)
for _cls in _BUILTIN:
    register(_cls)


def is_baseline(name: str) -> bool:
    """True for a registered baseline (false for networks and unknown names)."""
    return name in MODELS and MODELS[name].kind == "baseline"


def baseline_names() -> tuple[str, ...]:
    """The registered baselines, ``naive`` first, in registry order."""
    return tuple(n for n, cls in MODELS.items() if cls.kind == "baseline")


def model_parameters(name: str) -> dict[str, Any]:
    """The hyperparameters model ``name`` accepts, with their defaults.

    Read from the constructors along the model's class hierarchy (a network's own
    parameters, then the training options of
    :class:`~fincast.models.keras_base.KerasForecaster`); ``seed`` is left out (the run
    sets it).
    """
    return {k: v for k, v in MODELS[name].param_defaults().items() if k != "seed"}


def _lookup(name: str) -> type[Model]:
    cls = MODELS.get(name)
    if cls is None:
        close = difflib.get_close_matches(name, MODELS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"model {name!r} is not known{hint} (available: {', '.join(MODELS)}); "
            "`fincast models` lists them"
        )
    return cls


def _serves(cls: type[Model], task: str) -> bool:
    return cls.any_task or (cls.tasks is not None and task in cls.tasks)


def make_model(
    name: str, task: TaskSpec, params: dict[str, Any] | None = None, seed: int = 0
) -> Model:
    """Build the model registered as ``name`` for ``task`` and validate its parameters.

    Parameters
    ----------
    name
        A key of :data:`MODELS`.
    task
        The task.
    params
        Constructor parameters (hyperparameters); run-wide training options a baseline
        does not have are ignored.
    seed
        Seed for models that use randomness.

    Raises
    ------
    ConfigError
        For an unknown name, an unsupported task, an unknown parameter or a value outside
        its allowed range (before any work).
    """
    cls = _lookup(name)
    if cls.tasks is not None and task.kind not in cls.tasks:
        raise ConfigError(
            f"model {name!r} does not support task {task.kind!r}; it supports "
            f"{', '.join(cls.tasks)}"
        )
    if (
        cls.kind == "baseline"
        and cls.tasks is None
        and not cls.any_task
        and not task.task.generic_baselines
    ):
        fits = [n for n, c in MODELS.items() if c.kind == "baseline" and _serves(c, task.kind)]
        raise ConfigError(
            f"model {name!r} does not support task {task.kind!r} (it forecasts one value per "
            f"horizon); the baselines of {task.kind} are {', '.join(fits)}"
        )
    accepted = model_parameters(name)
    params = dict(params or {})
    if cls.kind == "baseline":  # run-wide training options do not concern baselines
        params = {k: v for k, v in params.items() if k in accepted}
    unknown = [k for k in params if k not in accepted]
    if unknown:
        close = difflib.get_close_matches(unknown[0], accepted, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        known = ", ".join(accepted) or "none"
        raise ConfigError(
            f"model {name!r} has no parameter `{unknown[0]}`{hint} (its parameters: {known}); "
            f"fix `models: {{{name}: …}}` in the config"
        )
    if "seed" in cls.param_defaults():
        params["seed"] = seed
    model = cls(task, **params)
    model._validate_params()
    return model


def model_params(config: Any, name: str) -> dict[str, Any]:
    """Hyperparameters of model ``name``: run-wide training options, then its own.

    ``config`` is a :class:`~fincast.config.RunConfig`.
    """
    accepted = model_parameters(name)
    if is_baseline(name):  # run-wide options it declares too (lightgbm: val_fraction)
        shared = {k: v for k, v in config.section("training").items() if k in accepted}
        return {**shared, **config.models.get(name, {})}
    params: dict[str, Any] = config.section("training")
    if params.get("patience") is None:  # unset: the model's own default
        params.pop("patience", None)
    # run-wide options only where the model has them
    params = {k: v for k, v in params.items() if k in accepted}
    params.update(config.models.get(name, {}))
    return params
