"""Metrics for the ``trend3`` task (classes 0 = down, 1 = flat, 2 = up).

Every number comes from :mod:`sklearn.metrics`; this module picks the rows and returns
plain Python values (``None`` where a metric is undefined).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
)

from ..errors import DataError

__all__ = ["MULTICLASS_METRICS", "multiclass_metrics"]

#: The keys of :func:`multiclass_metrics`' result, in order.
MULTICLASS_METRICS = (
    "accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
    "confusion_matrix",
    "log_loss",
    "n_predictions",
    "class_shares",
)


def multiclass_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    prob: ArrayLike | None = None,
    *,
    classes: tuple[str, ...] = ("down", "flat", "up"),
) -> dict[str, Any]:
    """Accuracy, macro / weighted precision, recall and F1, confusion matrix, log loss.

    Parameters
    ----------
    y_true, y_pred
        Class indices 0 … k-1; rows where either is NaN are left out.
    prob
        Class probabilities, (n, k), when the model gives them.
    classes
        Class names, in index order.

    Returns
    -------
    dict
        :data:`MULTICLASS_METRICS`; ``confusion_matrix`` is k x k with rows the true and
        columns the predicted class; ``class_shares`` the share of each true class.
        Precision / recall / F1 are 0 for a class never predicted / present
        (``zero_division=0``).

    Examples
    --------
    >>> m = multiclass_metrics([0, 1, 2, 2], [0, 1, 1, 2])
    >>> m["accuracy"], m["confusion_matrix"][2]
    (0.75, [0, 1, 1])
    """
    actual = np.asarray(y_true, dtype="float64").reshape(-1)
    predicted = np.asarray(y_pred, dtype="float64").reshape(-1)
    if len(actual) != len(predicted):
        raise DataError(
            f"multiclass_metrics: y_true has {len(actual)} rows but y_pred {len(predicted)}"
        )
    keep = ~(np.isnan(actual) | np.isnan(predicted))
    labels = list(range(len(classes)))
    a, p = actual[keep].astype("int64"), predicted[keep].astype("int64")
    bad = ~np.isin(np.concatenate([a, p]), labels)
    if bad.any():
        raise DataError(f"trend3 labels must be class indices {labels}; found other values")
    out: dict[str, Any] = dict.fromkeys(MULTICLASS_METRICS)
    out["n_predictions"] = len(a)
    cm = confusion_matrix(a, p, labels=labels) if len(a) else np.zeros((len(labels),) * 2)
    out["confusion_matrix"] = [[int(v) for v in row] for row in cm]
    if not len(a):
        return out
    out["accuracy"] = float(accuracy_score(a, p))
    for avg in ("macro", "weighted"):
        prec, rec, f1, _ = precision_recall_fscore_support(
            a, p, labels=labels, average=avg, zero_division=0
        )
        out[f"precision_{avg}"], out[f"recall_{avg}"], out[f"f1_{avg}"] = (
            float(prec),
            float(rec),
            float(f1),
        )
    out["class_shares"] = {c: float((a == i).mean()) for i, c in enumerate(classes)}
    if prob is not None:
        q = np.asarray(prob, dtype="float64").reshape(len(actual), -1)[keep]
        known = np.isfinite(q).all(axis=1)
        if known.any():
            q = np.clip(q[known], 1e-7, 1.0)
            q = q / q.sum(axis=1, keepdims=True)
            loss = float(log_loss(a[known], q, labels=labels))
            out["log_loss"] = loss if math.isfinite(loss) else None
    return out
