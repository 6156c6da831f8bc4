"""Metrics for the ``events`` task: several binary labels per row at once.

Every number comes from :mod:`sklearn.metrics` on label-indicator matrices (rows =
forecasts, columns = events); plain Python values, ``None`` where undefined.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
)

__all__ = ["MULTILABEL_METRICS", "multilabel_metrics"]

#: The keys of :func:`multilabel_metrics`' result, in order.
MULTILABEL_METRICS = (
    "hamming_loss",
    "subset_accuracy",
    "f1_macro",
    "f1_micro",
    "labels",
    "n_predictions",
)


def multilabel_metrics(rows: pd.DataFrame) -> dict[str, Any]:
    """Per-label precision / recall / F1, Hamming loss and subset accuracy.

    Parameters
    ----------
    rows
        Prediction rows with ``id``, ``date``, ``horizon``, ``label``, ``y_true``,
        ``y_pred`` (0 / 1). A forecast is one (id, date, horizon); its labels are the rows
        sharing it. Forecasts with a missing label value are left out.

    Returns
    -------
    dict
        ``hamming_loss`` (share of wrong labels), ``subset_accuracy`` (share of forecasts
        with every label right), ``f1_macro``, ``f1_micro``, ``labels`` ({name: {precision,
        recall, f1, support, base_rate}}) and ``n_predictions`` (forecasts).

    Examples
    --------
    >>> r = pd.DataFrame({"id": "a", "date": [1, 1, 2, 2], "horizon": 1,
    ...                   "label": ["up", "down"] * 2, "y_true": [1, 0, 0, 0],
    ...                   "y_pred": [1, 0, 1, 0]})
    >>> multilabel_metrics(r)["subset_accuracy"], multilabel_metrics(r)["hamming_loss"]
    (0.5, 0.25)
    """
    keys = ["id", "date", "horizon"]
    names = list(dict.fromkeys(rows["label"].astype(str)))
    wide_true = rows.pivot_table(index=keys, columns="label", values="y_true", aggfunc="first")
    wide_pred = rows.pivot_table(index=keys, columns="label", values="y_pred", aggfunc="first")
    wide_true, wide_pred = wide_true.reindex(columns=names), wide_pred.reindex(columns=names)
    keep = (wide_true.notna() & wide_pred.notna()).all(axis=1)
    t = wide_true[keep].to_numpy(dtype="int64")
    p = wide_pred[keep].to_numpy(dtype="int64")
    out: dict[str, Any] = dict.fromkeys(MULTILABEL_METRICS)
    out["n_predictions"] = len(t)
    if not len(t):
        return out
    out["hamming_loss"] = float(hamming_loss(t, p))
    out["subset_accuracy"] = float(accuracy_score(t, p))
    out["f1_macro"] = float(f1_score(t, p, average="macro", zero_division=0))
    out["f1_micro"] = float(f1_score(t, p, average="micro", zero_division=0))
    prec, rec, f1, support = precision_recall_fscore_support(t, p, average=None, zero_division=0)
    out["labels"] = {
        name: {
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "base_rate": float(t[:, i].mean()),
        }
        for i, name in enumerate(names)
    }
    return out
