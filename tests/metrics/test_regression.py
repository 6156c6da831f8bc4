"""regression_metrics against small examples worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fincast.errors import DataError
from fincast.metrics import regression_metrics


def test_return_metrics_match_hand_computation():
    # errors: 0.5, -1.5, 0 -> squared 0.25, 2.25, 0; mean of y_true = 2/3
    m = regression_metrics([1.0, -1.0, 2.0], [0.5, 0.5, 2.0])
    assert m["mse"] == pytest.approx(2.5 / 3)
    assert m["rmse"] == pytest.approx(math.sqrt(2.5 / 3))
    assert m["mae"] == pytest.approx(2.0 / 3)
    ss_tot = (1 - 2 / 3) ** 2 + (-1 - 2 / 3) ** 2 + (2 - 2 / 3) ** 2
    assert m["r2"] == pytest.approx(1 - 2.5 / ss_tot)
    assert m["direction_accuracy"] == pytest.approx(2 / 3)  # the -1 row is called up
    assert m["n_predictions"] == 3


def test_results_are_plain_python_numbers():
    m = regression_metrics(np.array([1.0, -1.0, 2.0]), np.array([0.5, 0.5, 2.0]))
    assert all(type(m[k]) is float for k in ("mse", "rmse", "mae", "r2", "direction_accuracy"))
    assert type(m["n_predictions"]) is int


def test_direction_accuracy_ignores_rows_without_a_move():
    # the first row did not move: it counts for neither side
    m = regression_metrics([0.0, 1.0, -1.0], [5.0, 1.0, 1.0])
    assert m["direction_accuracy"] == pytest.approx(0.5)
    assert regression_metrics([0.0, 0.0], [1.0, -1.0])["direction_accuracy"] is None


def test_a_zero_forecast_never_calls_a_direction():
    # undefined, not "always wrong": the naive forecast of `return` is 0
    assert regression_metrics([1.0, -2.0], [0.0, 0.0])["direction_accuracy"] is None
    assert regression_metrics([1.0, -2.0], [0.0, 0.0])["direction_call_share"] == 0.0
    # a forecast that calls a direction sometimes is scored on its calls only, the share of
    # calls beside it (a flat forecast abstains; it is not a wrong call)
    m = regression_metrics([1.0, -2.0, 3.0, -1.0], [0.5, 0.0, -1.0, 0.0])
    assert m["direction_accuracy"] == 0.5
    assert m["direction_call_share"] == 0.5
    # rows that did not move count in neither
    m = regression_metrics([1.0, 0.0, -1.0], [0.5, 0.3, 0.0])
    assert (m["direction_accuracy"], m["direction_call_share"]) == (1.0, 0.5)


def test_level_direction_is_measured_against_the_naive_forecast():
    # actual moves vs naive: +1, -1, 0 (left out), +2; predicted moves: +0.5, +0.2, +1, +3
    m = regression_metrics(
        [11.0, 9.0, 10.0, 12.0],
        [10.5, 10.2, 11.0, 13.0],
        y_naive=[10.0, 10.0, 10.0, 10.0],
        relative=True,
    )
    assert m["direction_accuracy"] == pytest.approx(2 / 3)
    # levels all above zero would give 100% by the return rule: the naive reference matters
    assert (
        regression_metrics([11.0, 9.0], [10.5, 10.2], relative=True)["direction_accuracy"] is None
    )


def test_level_rows_without_a_naive_forecast_are_left_out_of_direction_only():
    m = regression_metrics(
        [11.0, 9.0, 12.0], [10.5, 10.2, 9.0], y_naive=[10.0, np.nan, 10.0], relative=True
    )
    assert m["direction_accuracy"] == pytest.approx(0.5)
    assert m["n_predictions"] == 3


def test_undefined_metrics_are_none_not_nan():
    one = regression_metrics([1.0], [2.0])
    assert one["r2"] is None and one["mse"] == 1.0 and one["n_predictions"] == 1
    empty = regression_metrics([], [])
    assert empty["n_predictions"] == 0
    assert all(empty[k] is None for k in ("mse", "rmse", "mae", "r2", "direction_accuracy"))


def test_non_finite_rows_are_dropped():
    m = regression_metrics([1.0, np.nan, -1.0, 3.0], [1.0, 0.0, -1.0, np.inf])
    assert m["n_predictions"] == 2 and m["mse"] == 0.0


def test_bad_arguments_raise_fincast_errors():
    with pytest.raises(DataError, match="3 rows"):
        regression_metrics([1.0, 2.0, 3.0], [1.0])
    with pytest.raises(DataError, match="y_pred"):
        regression_metrics([1.0], ["up"])
