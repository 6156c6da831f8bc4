"""Models by name. A new model is one new file plus one line here."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..task import TaskSpec
from .base import ForecastModel
from .baselines import MeanBaseline, NaiveBaseline
from .mlp import MLP, SeedMLP
from .sequence import CNN, GRU, LSTM, Transformer

__all__ = ["MODELS", "ModelInfo", "make_model"]


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
    "seed-mlp": ModelInfo(SeedMLP, "Dense 64 relu -> Dense 64 relu -> Dense 1, Adam, MSE"),
    "mlp": ModelInfo(MLP, "configurable MLP: units 64, layers 2, activation relu"),
    "lstm": ModelInfo(LSTM, "LSTM over the look-back window: units 64, layers 1"),
    "gru": ModelInfo(GRU, "GRU over the look-back window: units 64, layers 1"),
    "cnn": ModelInfo(CNN, "causal 1-D CNN: filters 32, kernel 3, layers 2, pooling"),
    "transformer": ModelInfo(
        Transformer, "Transformer encoder: d_model 32, heads 2, ff 64, layers 1"
    ),
}


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
    if info.baseline:
        return info.factory(task)
    try:
        return info.factory(task, seed=seed, **(params or {}))
    except TypeError as exc:
        raise ConfigError(f"model {name!r}: invalid parameter ({exc})") from None
