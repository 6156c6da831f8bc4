"""Custom Keras layers of fincast's networks, registered for ``.keras`` files.

Importing this module imports Keras; :func:`fincast.models.keras_base.load_keras_state`
imports it before loading a saved network.
"""

from __future__ import annotations

from typing import Any

from .. import _backend

__all__ = ["ColumnSlice", "PositionalEmbedding"]

keras = _backend.keras()


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


@keras.saving.register_keras_serializable(package="fincast")
class ColumnSlice(keras.layers.Layer):  # type: ignore[name-defined]
    """Columns ``start:stop`` of a (batch, columns) input (unpacks packed inputs)."""

    def __init__(self, start: int, stop: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start = int(start)
        self.stop = int(stop)

    def call(self, inputs: Any) -> Any:
        return inputs[:, self.start : self.stop]

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0], self.stop - self.start)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "start": self.start, "stop": self.stop}
