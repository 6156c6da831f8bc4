"""Metrics for the ``direction`` task (binary: 1 = up over h steps, 0 = not up).

Every number comes from :mod:`sklearn.metrics`, except the Pesaran-Timmermann test
(:func:`fincast.metrics.forecast_tests.pesaran_timmermann`); this module only decides which
rows count and turns the results into plain Python values (``None`` where undefined).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from ..errors import DataError
from .forecast_tests import pesaran_timmermann

__all__ = ["CLASSIFICATION_METRICS", "PROB_CLIP", "classification_metrics"]

#: The keys of :func:`classification_metrics`' result, in order.
CLASSIFICATION_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "confusion_matrix",
    "log_loss",
    "roc_auc",
    "n_predictions",
    "base_rate",
    "pt_statistic",
    "pt_pvalue",
)

#: Probabilities are clipped to ``[PROB_CLIP, 1 - PROB_CLIP]`` before the log loss.
PROB_CLIP = 1e-7


def _labels(values: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype="float64").reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"`{name}` must hold the classes 0 and 1: {exc}") from exc
    return arr


def _check_binary(arr: np.ndarray, name: str) -> np.ndarray:
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"`{name}` must hold only the classes 0 and 1 (1 = up); found {arr[first]!r} "
            f"at row {first}; the direction task needs binary labels"
        )
    return arr.astype("int64")


def classification_metrics(
    y_true: ArrayLike, y_pred: ArrayLike, prob: ArrayLike | None = None
) -> dict[str, Any]:
    """Accuracy, precision/recall/F1, confusion matrix, log loss and ROC AUC of a binary forecast.

    Rows where ``y_true`` or ``y_pred`` is missing (NaN) are left out; the probability
    metrics also leave out rows whose ``prob`` is missing.

    Parameters
    ----------
    y_true
        Realised classes, 0 or 1 (1 = up).
    y_pred
        Predicted classes, 0 or 1.
    prob
        Predicted probability of class 1, when the model gives one.

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``f1`` (positive class 1, 0 when undefined),
        ``confusion_matrix`` as ``[[tn, fp], [fn, tp]]`` (always 2 x 2), ``log_loss``
        (probabilities clipped to ``[1e-7, 1 - 1e-7]``; ``None`` without ``prob``),
        ``roc_auc`` (``None`` without ``prob`` or when ``y_true`` holds one class only),
        ``n_predictions``, ``base_rate`` (the share of 1s in ``y_true``), and
        ``pt_statistic`` / ``pt_pvalue``: the Pesaran-Timmermann test that the predicted
        classes anticipate the actual ones (one-sided; ``None`` when either never changes,
        e.g. a constant forecast). Plain Python values; ``None`` for every rate when no row
        is left.

    Raises
    ------
    DataError
        If the arrays differ in length, a label is not 0 or 1, or a probability lies outside
        ``[0, 1]``.

    Examples
    --------
    >>> m = classification_metrics([1, 0, 1, 1], [1, 1, 0, 1])
    >>> m["accuracy"], m["confusion_matrix"], m["base_rate"]
    (0.5, [[0, 1], [1, 2]], 0.75)
    """
    actual = _labels(y_true, "y_true")
    predicted = _labels(y_pred, "y_pred")
    p = None if prob is None else _labels(prob, "prob")
    if len(predicted) != len(actual) or (p is not None and len(p) != len(actual)):
        raise DataError(
            f"classification_metrics: y_true has {len(actual)} rows but y_pred has "
            f"{len(predicted)}" + ("" if p is None else f" and prob {len(p)}")
        )
    keep = ~(np.isnan(actual) | np.isnan(predicted))
    actual = _check_binary(actual[keep], "y_true")
    predicted = _check_binary(predicted[keep], "y_pred")
    n = len(actual)
    out: dict[str, Any] = dict.fromkeys(CLASSIFICATION_METRICS)
    out["n_predictions"] = n
    cm = confusion_matrix(actual, predicted, labels=[0, 1]) if n else np.zeros((2, 2))
    out["confusion_matrix"] = [[int(v) for v in row] for row in cm]
    if n == 0:
        return out
    out["accuracy"] = float(accuracy_score(actual, predicted))
    for key, fn in (("precision", precision_score), ("recall", recall_score), ("f1", f1_score)):
        out[key] = float(fn(actual, predicted, labels=[0, 1], pos_label=1, zero_division=0))
    out["base_rate"] = float(actual.mean())
    pt = pesaran_timmermann(actual, predicted)
    out["pt_statistic"], out["pt_pvalue"] = pt["statistic"], pt["pvalue"]
    if p is not None:
        p = p[keep]
        known = ~np.isnan(p)
        if ((p[known] < 0) | (p[known] > 1)).any():
            raise DataError("`prob` must be a probability of class 1, within [0, 1]")
        if known.any():
            a, q = actual[known], p[known]
            loss = float(log_loss(a, np.clip(q, PROB_CLIP, 1 - PROB_CLIP), labels=[0, 1]))
            out["log_loss"] = loss if math.isfinite(loss) else None
            if len(np.unique(a)) == 2:
                out["roc_auc"] = float(roc_auc_score(a, q))
    return out
