"""Losses fincast adds to Keras' own: QLIKE for variance forecasts, pinball for quantiles."""

from __future__ import annotations

from typing import Any

from .. import _backend

__all__ = ["Pinball", "qlike"]

keras = _backend.keras()


@keras.saving.register_keras_serializable(package="fincast")
def qlike(y_true: Any, y_pred: Any) -> Any:
    """QLIKE loss of a log-variance forecast: ``y / exp(p) - log(y / exp(p)) - 1``.

    ``y_true`` holds realised variances (any positive scale), ``y_pred`` the forecast's
    log variance. The loss is >= 0, 0 for a perfect forecast; its expectation is smallest at
    ``p = log E[y]``, so the forecast is an unbiased variance forecast. QLIKE is one of the
    losses that rank volatility forecasts consistently under a noisy realised variance
    (Patton 2011), and it weighs errors relative to the level, as volatility needs.
    """
    ops = keras.ops
    y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(y_true, y_pred.dtype)
    ratio = y_true * ops.exp(-y_pred)
    log_true = ops.log(ops.maximum(y_true, 1e-6))  # constant in p: keeps the loss >= 0
    return ops.mean(ratio + y_pred - log_true - 1.0, axis=-1)


@keras.saving.register_keras_serializable(package="fincast")
class Pinball(keras.losses.Loss):  # type: ignore[name-defined]
    """Pinball (quantile) loss of several quantiles per horizon, averaged.

    ``y_true`` is (batch, horizons); ``y_pred`` is (batch, horizons * k), horizon-major,
    column ``j * k + i`` the forecast of quantile ``levels[i]`` of horizon ``j``. The loss
    of one forecast ``q`` of level ``tau`` is ``max(tau (y - q), (tau - 1) (y - q))``
    (Koenker & Bassett 1978); its expectation is smallest at the ``tau``-quantile of ``y``,
    so each output learns its quantile. The per-row value is the mean over horizons and
    levels.

    Parameters
    ----------
    levels
        The quantile levels, each in (0, 1).
    """

    def __init__(self, levels: Any = (0.5,), name: str = "pinball", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.levels = [float(t) for t in levels]

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        y_pred = ops.cast(y_pred, "float32")
        k = len(self.levels)
        y_true = ops.cast(ops.reshape(y_true, (-1, ops.shape(y_pred)[-1] // k, 1)), "float32")
        q = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1] // k, k))
        tau = ops.convert_to_tensor(self.levels, dtype="float32")
        u = y_true - q
        return ops.mean(ops.maximum(tau * u, (tau - 1.0) * u), axis=(-2, -1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "levels": list(self.levels)}
