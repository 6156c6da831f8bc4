"""Sequence networks over (lookback, features) windows: LSTM, GRU, 1-D CNN, Transformer."""

from __future__ import annotations

from typing import Any

from .. import _backend
from ..errors import ConfigError
from ..tasks import TaskSpec
from .keras_base import KerasForecaster

__all__ = ["CNN", "GRU", "LSTM", "PositionalEmbedding", "Transformer"]

keras = _backend.keras()


class _Recurrent(KerasForecaster):
    """Stacked recurrent layers; the last returns only its final state."""

    sequence = True
    cell: str = "LSTM"

    def __init__(self, task: TaskSpec, *, units: int = 64, layers: int = 1, **kwargs: Any) -> None:
        super().__init__(task, **kwargs)
        self.units = units
        self.layers = layers

    def _check_params(self) -> None:
        super()._check_params()
        if self.units < 1 or self.layers < 1:
            raise ConfigError(f"units and layers must be >= 1, got {self.units}, {self.layers}")

    def body(self, inputs: Any) -> Any:
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

    cell = "LSTM"


class GRU(_Recurrent):
    """GRU over the look-back window (units 64, 1 layer by default)."""

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

    sequence = True

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

    def _check_params(self) -> None:
        super()._check_params()
        if min(self.filters, self.kernel_size, self.layers) < 1:
            raise ConfigError("filters, kernel_size and layers must be >= 1")

    def body(self, inputs: Any) -> Any:
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


@keras.saving.register_keras_serializable(package="fincast")
class PositionalEmbedding(keras.layers.Layer):  # type: ignore[name-defined]
    """Adds a learned embedding of each step's position to the projected inputs."""

    def __init__(self, length: int, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.length = length
        self.dim = dim

    def build(self, input_shape: Any) -> None:
        self.positions = self.add_weight(
            shape=(self.length, self.dim), initializer="glorot_uniform", name="positions"
        )

    def call(self, inputs: Any) -> Any:
        return inputs + self.positions

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "length": self.length, "dim": self.dim}


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

    sequence = True

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

    def _check_params(self) -> None:
        super()._check_params()
        if min(self.d_model, self.heads, self.ff_units, self.layers) < 1:
            raise ConfigError("d_model, heads, ff_units and layers must be >= 1")

    def body(self, inputs: Any) -> Any:
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
