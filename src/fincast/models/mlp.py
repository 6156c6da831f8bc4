"""Multi-layer perceptrons: the classic seed network and a configurable MLP."""

from __future__ import annotations

from typing import Any, ClassVar

from .. import _backend
from ..tasks import TaskSpec
from .base import Constraint, Interval, Options
from .keras_base import TRAINING_SPACE, KerasForecaster

__all__ = ["MLP", "SeedMLP"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu")


class MLP(KerasForecaster):
    """A configurable MLP.

    Parameters
    ----------
    units
        Units per hidden layer (default 64).
    layers
        Number of hidden layers (default 2).
    activation
        relu (default), tanh, sigmoid, elu or gelu.
    **kwargs
        Training options of :class:`KerasForecaster` (dropout, l1, l2, patience, …).
    """

    name = "mlp"
    description = "configurable MLP: units 64, layers 2, activation relu"
    search_space: ClassVar[dict[str, Any]] = {
        **TRAINING_SPACE,
        "units": [16, 32, 64, 128],
        "layers": {"low": 1, "high": 3},
    }
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "units": Interval(1, None, integer=True),
        "layers": Interval(1, None, integer=True),
        "activation": Options(ACTIVATIONS),
    }

    def __init__(
        self,
        task: TaskSpec,
        *,
        units: int = 64,
        layers: int = 2,
        activation: str = "relu",
        **kwargs: Any,
    ) -> None:
        super().__init__(task, **kwargs)
        self.units = units
        self.layers = layers
        self.activation = activation

    def body(self, inputs: Any) -> Any:
        keras_layers = _backend.keras().layers
        x = inputs
        for i in range(int(self.layers)):
            x = keras_layers.Dense(
                int(self.units),
                activation=self.activation,
                kernel_regularizer=self.regularizer(),
                name=f"dense_{i + 1}",
            )(x)
            if self.dropout:
                x = keras_layers.Dropout(float(self.dropout), name=f"dropout_{i + 1}")(x)
        return x


class SeedMLP(MLP):
    """The classic network: Dense(64, relu) -> Dense(64, relu) -> Dense(1).

    Adam, MSE (binary cross-entropy with a sigmoid output for ``direction``), 100 epochs,
    batch 32 by default. Training options (epochs, batch_size, lr, optimizer, loss, and
    dropout / l1 / l2 / patience, off by default; with patience, the lowest validation
    epoch is restored, ``stop_se`` 0) can be overridden; the shape cannot, and
    fincast's improvements of the other networks (linear skip path, weight decay,
    shrinkage, early stopping by default) stay off: this is the
    seed's recipe, kept to show what it does.
    """

    name = "seed-mlp"
    description = "Dense 64 relu -> Dense 64 relu -> Dense 1, Adam, MSE"
    search_space: ClassVar[dict[str, Any]] = TRAINING_SPACE  # the shape is fixed
    #: Parameters the classic network does not let you change (the seed's exact recipe:
    #: no skip path, no weight decay, no shrinkage, no early stopping unless asked for).
    fixed_params = ("units", "layers", "activation", "skip", "weight_decay", "shrink")

    def __init__(
        self, task: TaskSpec, *, patience: int | None = None, stop_se: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(
            task,
            units=64,
            layers=2,
            activation="relu",
            patience=patience,
            stop_se=stop_se,
            skip=False,
            weight_decay=0.0,
            shrink=False,
            **kwargs,
        )
