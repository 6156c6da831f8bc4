"""Hyperparameter tuning with Optuna on nested walk-forward folds (``fincast tune``)."""

from .space import default_space, resolve_space
from .study import TuneResult, tune

__all__ = ["TuneResult", "default_space", "resolve_space", "tune"]
