"""classification_metrics against small examples worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fincast.errors import DataError
from fincast.metrics import classification_metrics

Y = [1, 0, 1, 1, 0]
PRED = [1, 1, 0, 1, 0]  # tp rows 0 and 3, fp row 1, fn row 2, tn row 4
PROB = [0.9, 0.6, 0.4, 0.8, 0.2]


def test_metrics_match_hand_computation():
    m = classification_metrics(Y, PRED, PROB)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["confusion_matrix"] == [[1, 1], [1, 2]]
    expected_loss = -(math.log(0.9) + math.log(0.4) + math.log(0.4) + 2 * math.log(0.8)) / 5
    assert m["log_loss"] == pytest.approx(expected_loss)
    # positives scored .9 .4 .8, negatives .6 .2: 5 of 6 pairs ordered right
    assert m["roc_auc"] == pytest.approx(5 / 6)
    assert m["base_rate"] == pytest.approx(0.6)
    assert m["n_predictions"] == 5


def test_values_are_plain_python():
    m = classification_metrics(np.array(Y, dtype=float), np.array(PRED), np.array(PROB))
    for key in ("accuracy", "precision", "recall", "f1", "log_loss", "roc_auc", "base_rate"):
        assert type(m[key]) is float, key
    assert type(m["n_predictions"]) is int
    assert all(type(v) is int for row in m["confusion_matrix"] for v in row)


def test_single_class_keeps_a_two_by_two_matrix_and_no_auc():
    m = classification_metrics([1, 1, 1], [1, 1, 0], [0.7, 0.9, 0.4])
    assert m["confusion_matrix"] == [[0, 0], [1, 2]]
    assert m["roc_auc"] is None
    assert m["log_loss"] == pytest.approx(-(math.log(0.7) + math.log(0.9) + math.log(0.4)) / 3)
    down = classification_metrics([0, 0], [0, 0], [0.1, 0.2])
    assert down["confusion_matrix"] == [[2, 0], [0, 0]]
    assert down["precision"] == 0.0 and down["recall"] == 0.0 and down["f1"] == 0.0
    assert down["roc_auc"] is None and down["base_rate"] == 0.0


def test_without_probabilities_the_probability_metrics_are_none():
    m = classification_metrics(Y, PRED)
    assert m["log_loss"] is None and m["roc_auc"] is None
    assert m["accuracy"] == pytest.approx(0.6)


def test_log_loss_clips_certain_wrong_probabilities():
    m = classification_metrics([1, 0], [0, 1], [0.0, 1.0])
    assert m["log_loss"] == pytest.approx(-math.log(1e-7), rel=1e-6)


def test_missing_rows_are_dropped_and_empty_input_is_none():
    m = classification_metrics([1, np.nan, 0], [1, 1, 0], [0.8, 0.5, np.nan])
    assert m["n_predictions"] == 2 and m["accuracy"] == 1.0
    assert m["log_loss"] == pytest.approx(-math.log(0.8))  # only the row with a prob
    empty = classification_metrics([], [])
    assert empty["n_predictions"] == 0 and empty["accuracy"] is None
    assert empty["confusion_matrix"] == [[0, 0], [0, 0]]


def test_labels_other_than_zero_and_one_are_rejected():
    with pytest.raises(DataError, match="0 and 1"):
        classification_metrics([1, -1], [1, 0])
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        classification_metrics([1, 0], [1, 0], [1.2, 0.1])
    with pytest.raises(DataError, match="rows"):
        classification_metrics([1, 0], [1])
