"""Scoring forecasts from the predictions table alone.

:func:`compute_metrics` scores every model of a predictions table (pooled, per fold, per
horizon, and against the naive baseline); :func:`metrics_table` turns that into one row per
model. :func:`evaluate` adds the finance metrics, the significance tests and the verdict
(everything ``metrics.json`` holds). :func:`regression_metrics`,
:func:`classification_metrics`, :func:`multiclass_metrics`, :func:`multilabel_metrics` and
:func:`volatility_metrics` score plain arrays or rows.
"""

from __future__ import annotations

from .classification import classification_metrics
from .evaluation import evaluate
from .multiclass import multiclass_metrics
from .multilabel import multilabel_metrics
from .regression import regression_metrics
from .summary import compute_metrics, metrics_table, order_models
from .volatility import qlike, volatility_metrics

__all__ = [
    "classification_metrics",
    "compute_metrics",
    "evaluate",
    "metrics_table",
    "multiclass_metrics",
    "multilabel_metrics",
    "order_models",
    "qlike",
    "regression_metrics",
    "volatility_metrics",
]
