"""Scoring forecasts from the predictions table alone.

:func:`compute_metrics` scores every model of a predictions table (pooled, per fold, per
horizon, and against the naive baseline); :func:`metrics_table` turns that into one row per
model. :func:`evaluate` adds the finance metrics, the significance tests and the verdict
(everything ``metrics.json`` holds). :func:`regression_metrics` and
:func:`classification_metrics` score plain arrays.
"""

from __future__ import annotations

from .classification import classification_metrics
from .evaluation import evaluate
from .regression import regression_metrics
from .summary import BASELINE_NAMES, compute_metrics, metrics_table, order_models

__all__ = [
    "BASELINE_NAMES",
    "classification_metrics",
    "compute_metrics",
    "evaluate",
    "metrics_table",
    "order_models",
    "regression_metrics",
]
