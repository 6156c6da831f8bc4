"""Forecasting models: Keras networks and naive baselines, registered by name."""

from .base import Batch, ForecastModel
from .registry import MODELS, ModelInfo, make_model

__all__ = ["MODELS", "Batch", "ForecastModel", "ModelInfo", "make_model"]
