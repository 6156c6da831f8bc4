"""Models by name. A new model is one new file plus one line here."""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..task import TaskSpec
from .base import ForecastModel
from .baselines import MeanBaseline, NaiveBaseline
from .drift import DriftBaseline
from .ewma import EWMABaseline
from .majority import MajorityBaseline
from .persistence import PersistenceBaseline

__all__ = ["DEFAULT_BASELINES", "MODELS", "ModelInfo", "make_model", "model_parameters"]

_CLASS = ("direction", "trend3", "events")


class _Lazy:
    """A model class imported on first use: Keras, statsmodels, arch and scikit-learn load
    only when a model that needs them is made, so ``fincast models`` starts at once."""

    def __init__(self, module: str, name: str) -> None:
        self._where = (module, name)
        self._cls: Any = None

    def _resolve(self) -> Any:
        if self._cls is None:
            module, name = self._where
            self._cls = getattr(importlib.import_module(f".{module}", __package__), name)
        return self._cls

    def __call__(self, *args: Any, **kwargs: Any) -> ForecastModel:
        return self._resolve()(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:  # class attributes, ``__mro__``…
        return getattr(self._resolve(), attr)


ARBaseline = _Lazy("ar", "ARBaseline")
GarchBaseline = _Lazy("garch", "GarchBaseline")
RidgeBaseline = _Lazy("ridge", "RidgeBaseline")
MLP, SeedMLP = _Lazy("mlp", "MLP"), _Lazy("mlp", "SeedMLP")
LSTM, GRU = _Lazy("sequence", "LSTM"), _Lazy("sequence", "GRU")
CNN, Transformer = _Lazy("sequence", "CNN"), _Lazy("sequence", "Transformer")


@dataclass(frozen=True)
class ModelInfo:
    """A registered model: how to make it and what it is."""

    factory: Callable[..., ForecastModel]
    description: str
    baseline: bool = False
    #: Tasks it supports (None: all).
    tasks: tuple[str, ...] | None = None

    @property
    def sequence(self) -> bool:
        """True when the model reads look-back windows."""
        return bool(getattr(self.factory, "sequence", False))


MODELS: dict[str, ModelInfo] = {
    "naive": ModelInfo(NaiveBaseline, "zero return / last value / last direction", True),
    "mean": ModelInfo(MeanBaseline, "training mean return / drift / majority class", True),
    "drift": ModelInfo(
        DriftBaseline, "per-series random walk with drift", True, ("return", "level")
    ),
    "ridge": ModelInfo(
        RidgeBaseline, "ridge (L2 logistic for classes) on the features: alpha 1.0", True
    ),
    "ar": ModelInfo(
        ARBaseline,
        "AR(5) per series on one-step returns (statsmodels)",
        True,
        ("return", "level", "direction"),
    ),
    "majority": ModelInfo(MajorityBaseline, "training class frequencies", True, _CLASS),
    "persistence": ModelInfo(
        PersistenceBaseline, "Markov persistence: next class given the last", True, _CLASS
    ),
    "garch": ModelInfo(GarchBaseline, "GARCH(1,1) per series (arch)", True, ("volatility",)),
    "ewma": ModelInfo(EWMABaseline, "RiskMetrics EWMA variance, lam 0.94", True, ("volatility",)),
    "seed-mlp": ModelInfo(SeedMLP, "Dense 64 relu -> Dense 64 relu -> Dense 1, Adam, MSE"),
    "mlp": ModelInfo(MLP, "configurable MLP: units 64, layers 2, activation relu"),
    "lstm": ModelInfo(LSTM, "LSTM over the look-back window: units 64, layers 1"),
    "gru": ModelInfo(GRU, "GRU over the look-back window: units 64, layers 1"),
    "cnn": ModelInfo(CNN, "causal 1-D CNN: filters 32, kernel 3, layers 2, pooling"),
    "transformer": ModelInfo(
        Transformer, "Transformer encoder: d_model 32, heads 2, ff 64, layers 1"
    ),
}


#: The baselines each task runs unless ``--baselines`` says otherwise (naive always runs).
DEFAULT_BASELINES: dict[str, tuple[str, ...]] = {
    "return": ("naive", "mean"),
    "level": ("naive", "mean"),
    "direction": ("naive", "mean"),
    "trend3": ("naive", "majority", "persistence", "ridge"),
    "events": ("naive", "majority", "persistence", "ridge"),
    "volatility": ("naive", "ewma", "garch", "ridge"),
}


def model_parameters(name: str) -> dict[str, Any]:
    """The hyperparameters model ``name`` accepts, with their defaults.

    Collected from the constructors along the model's class hierarchy (a network's own
    parameters, then the training options of
    :class:`~fincast.models.keras_base.KerasForecaster`); ``task`` and ``seed`` are left
    out.
    """
    factory = MODELS[name].factory
    fixed = set(getattr(factory, "fixed_params", ()))
    out: dict[str, Any] = {}
    for cls in getattr(factory, "__mro__", (factory,)):
        init = getattr(cls, "__init__", None)
        if init is None or init is object.__init__:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in ("self", "task", "seed"):
                continue
            if p.name not in fixed:
                out.setdefault(p.name, p.default)
    return out


def make_model(
    name: str, task: TaskSpec, params: dict[str, Any] | None = None, seed: int = 0
) -> ForecastModel:
    """Build the model registered as ``name`` for ``task``.

    Parameters
    ----------
    name
        A key of :data:`MODELS`.
    task
        The task.
    params
        Constructor parameters (hyperparameters); baselines take none.
    seed
        Seed for models that use randomness.

    Raises
    ------
    ConfigError
        For an unknown name or parameter.
    """
    info = MODELS.get(name)
    if info is None:
        close = difflib.get_close_matches(name, MODELS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"model {name!r} is not known{hint} (available: {', '.join(MODELS)}); "
            "`fincast models` lists them"
        )
    if info.tasks is not None and task.kind not in info.tasks:
        raise ConfigError(
            f"model {name!r} does not support task {task.kind!r}; it supports "
            f"{', '.join(info.tasks)}"
        )
    accepted = model_parameters(name)
    params = dict(params or {})
    if info.baseline:  # run-wide training options do not concern baselines
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
    if not accepted:
        return info.factory(task)
    try:
        return info.factory(task, seed=seed, **params)
    except TypeError as exc:
        raise ConfigError(f"model {name!r}: invalid parameter ({exc})") from None
