"""Metrics of the trend3, events and volatility tasks, and their skill against naive."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from fincast.metrics import compute_metrics, metrics_table
from fincast.metrics.multiclass import multiclass_metrics
from fincast.metrics.multilabel import multilabel_metrics
from fincast.metrics.volatility import qlike, volatility_metrics


def test_multiclass_metrics_match_sklearn():
    y = [0, 1, 2, 2, 1, 0, np.nan]
    p = [0, 2, 2, 1, 1, 1, 0]
    m = multiclass_metrics(y, p)
    assert m["n_predictions"] == 6 and m["accuracy"] == pytest.approx(3 / 6)
    assert m["f1_macro"] == pytest.approx(f1_score(y[:6], p[:6], average="macro"))
    assert m["f1_weighted"] == pytest.approx(f1_score(y[:6], p[:6], average="weighted"))
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 1, 1], [0, 1, 1]]
    assert m["log_loss"] is None
    prob = np.full((7, 3), 1 / 3)
    assert multiclass_metrics(y, p, prob)["log_loss"] == pytest.approx(np.log(3))


def test_multilabel_metrics():
    rows = pd.DataFrame(
        {
            "id": "a",
            "date": np.repeat([1, 2, 3], 2),
            "horizon": 1,
            "label": ["up", "big"] * 3,
            "y_true": [1, 0, 0, 1, 1, 1],
            "y_pred": [1, 0, 1, 1, 1, 0],
        }
    )
    m = multilabel_metrics(rows)
    assert m["n_predictions"] == 3
    assert m["hamming_loss"] == pytest.approx(2 / 6)
    assert m["subset_accuracy"] == pytest.approx(1 / 3)
    assert m["labels"]["up"]["precision"] == pytest.approx(2 / 3)
    assert m["labels"]["big"]["recall"] == pytest.approx(1 / 2)
    assert m["labels"]["big"]["support"] == 2


def test_volatility_metrics_and_qlike():
    assert qlike([0.01, 0.02], [0.01, 0.02]) == 0.0
    assert qlike([0.02], [0.01]) == pytest.approx(4 - np.log(4) - 1)
    assert qlike([0.01], [0.02]) > 0 and np.isnan(qlike([0.0], [0.01]))
    m = volatility_metrics([0.01, 0.02, 0.03], [0.01, 0.01, -1.0])  # non-positive left out
    assert m["n_predictions"] == 2 and m["mae"] == pytest.approx(0.005)


def table(task, naive, model, y, **extra):
    n = len(y)
    frame = pd.DataFrame(
        {
            "id": "a",
            "date": pd.date_range("2020", periods=n).tolist() * 2,
            "fold": 0,
            "horizon": 1,
            "model": ["naive"] * n + ["m"] * n,
            "y_true": list(y) * 2,
            "y_pred": list(naive) + list(model),
            **extra,
        }
    )
    return compute_metrics(frame, task)


def test_skill_against_naive_per_task():
    t3 = table("trend3", [0, 0, 1, 1], [0, 1, 1, 2], [0, 1, 1, 2])
    assert t3["models"]["m"]["skill_vs_naive"] == pytest.approx(0.5)
    vol = table("volatility", [0.02] * 4, [0.01] * 4, [0.01] * 4)
    assert vol["models"]["m"]["skill_vs_naive"] == pytest.approx(1.0)
    assert vol["models"]["m"]["qlike"] == pytest.approx(0.0)
    assert list(metrics_table(vol).columns)[:5] == ["model", "mse", "rmse", "mae", "qlike"]


def test_events_skill_and_panel_metrics_per_series():
    dates = pd.date_range("2020", periods=2)
    rows = []
    for model, preds in (("naive", [0, 0, 0, 0]), ("m", [1, 0, 1, 1])):
        for sid in ("a", "b"):
            for i, d in enumerate(dates):
                for j, label in enumerate(("up", "dn")):
                    rows.append(
                        {
                            "id": sid,
                            "date": d,
                            "fold": 0,
                            "model": model,
                            "horizon": 1,
                            "label": label,
                            "y_true": float(j == 0 and i == 0),
                            "y_pred": float(preds[2 * i + j]),
                            "prob": 0.5,
                        }
                    )
    m = compute_metrics(pd.DataFrame(rows), "events")["models"]["m"]
    # naive: 1 wrong label of 4 per series; m: 2 wrong of 4
    assert m["hamming_loss"] == pytest.approx(0.5)
    assert m["skill_vs_naive"] == pytest.approx(0.25 - 0.5)
    assert set(m["series"]) == {"a", "b"} and m["series"]["a"]["n_predictions"] == 2
