"""Losses fincast adds to Keras' own: QLIKE for variance forecasts."""

from __future__ import annotations

from typing import Any

from .. import _backend

__all__ = ["qlike"]

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
