"""Sequence networks over (lookback, features) windows: LSTM, GRU, 1-D CNN, Transformer.

Keras is imported when a network is built, not with this module (the registry's metadata
stays cheap); custom layers live in :mod:`fincast.models.layers`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .. import _backend
from ..tasks import TaskSpec
from .base import Constraint, Interval
from .keras_base import TRAINING_SPACE, KerasForecaster

__all__ = ["CNN", "GRU", "LSTM", "Transformer"]


class _Recurrent(KerasForecaster):
    """Stacked recurrent layers; the last returns only its final state."""

    sequence = True
    row_skip = True
    cell: str = "LSTM"
    search_space: ClassVar[dict[str, Any]] = {
        **TRAINING_SPACE,
        "units": [16, 32, 64],
        "layers": {"low": 1, "high": 2},
    }
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "units": Interval(1, None, integer=True),
        "layers": Interval(1, None, integer=True),
    }

    def __init__(self, task: TaskSpec, *, units: int = 64, layers: int = 1, **kwargs: Any) -> None:
        super().__init__(task, **kwargs)
        self.units = units
        self.layers = layers

    def body(self, inputs: Any) -> Any:
        keras = _backend.keras()
        layer = getattr(keras.layers, self.cell)
        x = inputs
        for i in range(int(self.layers)):
            x = layer(
                int(self.units),
                return_sequences=i < self.layers - 1,
                dropout=float(self.dropout),
                kernel_regularizer=self.regularizer(),
                name=f"{self.cell.lower()}_{i + 1}",
            )(x)
        return x


class LSTM(_Recurrent):
    """LSTM over the look-back window (units 64, 1 layer by default)."""

    name = "lstm"
    description = "LSTM over the look-back window: units 64, layers 1"
    cell = "LSTM"


class GRU(_Recurrent):
    """GRU over the look-back window (units 64, 1 layer by default)."""

    name = "gru"
    description = "GRU over the look-back window: units 64, layers 1"
    cell = "GRU"


class CNN(KerasForecaster):
    """1-D convolutions over the look-back window, then global average pooling.

    Parameters
    ----------
    filters
        Filters per convolution (default 32).
    kernel_size
        Width of each convolution in steps (default 3).
    layers
        Number of convolution layers (default 2).
    """

    name = "cnn"
    description = "causal 1-D CNN: filters 32, kernel 3, layers 2, pooling"
    sequence = True
    row_skip = True
    search_space: ClassVar[dict[str, Any]] = {
        **TRAINING_SPACE,
        "filters": [16, 32, 64],
        "kernel_size": [2, 3, 5],
        "layers": {"low": 1, "high": 3},
    }
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "filters": Interval(1, None, integer=True),
        "kernel_size": Interval(1, None, integer=True),
        "layers": Interval(1, None, integer=True),
    }

    def __init__(
        self,
        task: TaskSpec,
        *,
        filters: int = 32,
        kernel_size: int = 3,
        layers: int = 2,
        **kwargs: Any,
    ) -> None:
        super().__init__(task, **kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.layers = layers

    def body(self, inputs: Any) -> Any:
        keras = _backend.keras()
        x = inputs
        for i in range(int(self.layers)):
            x = keras.layers.Conv1D(
                int(self.filters),
                int(self.kernel_size),
                padding="causal",
                activation="relu",
                kernel_regularizer=self.regularizer(),
                name=f"conv_{i + 1}",
            )(x)
            if self.dropout:
                x = keras.layers.Dropout(float(self.dropout))(x)
        return keras.layers.GlobalAveragePooling1D(name="pool")(x)


class Transformer(KerasForecaster):
    """A small Transformer encoder with learned positional embeddings.

    Parameters
    ----------
    d_model
        Width of the projected inputs (default 32).
    heads
        Attention heads (default 2).
    ff_units
        Units of each block's feed-forward layer (default 64).
    layers
        Encoder blocks (default 1).
    """

    name = "transformer"
    description = "Transformer encoder: d_model 32, heads 2, ff 64, layers 1"
    sequence = True
    row_skip = True
    search_space: ClassVar[dict[str, Any]] = {
        **TRAINING_SPACE,
        "d_model": [16, 32, 64],
        "heads": [1, 2, 4],
        "ff_units": [32, 64, 128],
        "layers": {"low": 1, "high": 2},
    }
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "d_model": Interval(1, None, integer=True),
        "heads": Interval(1, None, integer=True),
        "ff_units": Interval(1, None, integer=True),
        "layers": Interval(1, None, integer=True),
    }

    def __init__(
        self,
        task: TaskSpec,
        *,
        d_model: int = 32,
        heads: int = 2,
        ff_units: int = 64,
        layers: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(task, **kwargs)
        self.d_model = d_model
        self.heads = heads
        self.ff_units = ff_units
        self.layers = layers

    def body(self, inputs: Any) -> Any:
        from .layers import PositionalEmbedding

        keras = _backend.keras()
        length = int(inputs.shape[1])
        d = int(self.d_model)
        x = keras.layers.Dense(d, name="project")(inputs)
        x = PositionalEmbedding(length, d, name="positions")(x)
        for i in range(int(self.layers)):
            attn = keras.layers.MultiHeadAttention(
                num_heads=int(self.heads),
                key_dim=max(1, d // int(self.heads)),
                dropout=float(self.dropout),
                name=f"attention_{i + 1}",
            )(x, x)
            x = keras.layers.LayerNormalization(name=f"norm_a{i + 1}")(x + attn)
            ff = keras.layers.Dense(
                int(self.ff_units), activation="gelu", kernel_regularizer=self.regularizer()
            )(x)
            ff = keras.layers.Dense(d)(ff)
            if self.dropout:
                ff = keras.layers.Dropout(float(self.dropout))(ff)
            x = keras.layers.LayerNormalization(name=f"norm_b{i + 1}")(x + ff)
        return keras.layers.GlobalAveragePooling1D(name="pool")(x)
