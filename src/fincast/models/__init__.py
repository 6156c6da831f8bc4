"""Forecasting models: Keras networks and naive baselines, registered by name."""

from .base import Batch, ForecastModel, Model
from .registry import MODELS, make_model, register

__all__ = ["MODELS", "Batch", "ForecastModel", "Model", "make_model", "register"]
