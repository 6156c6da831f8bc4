"""compute_metrics and metrics_table on small predictions tables worked out by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from fincast.errors import ConfigError, DataError
from fincast.metrics import compute_metrics, metrics_table, order_models

DATES = pd.date_range("2021-01-04", periods=4, freq="B")
Y = [1.0, -1.0, 2.0, -2.0]
FORECASTS = {
    "naive": [0.0, 0.0, 0.0, 0.0],  # mse 2.5 (fold 0: 1, fold 1: 4)
    "mean": [0.5, 0.5, 0.5, 0.5],  # mse 2.75 (fold 0: 1.25, fold 1: 4.25)
    "seed-mlp": [1.0, -0.5, 1.0, -1.0],  # mse 0.5625 (fold 0: 0.125, fold 1: 1)
}


def table(forecasts=FORECASTS, *, y=Y, horizon=1, sid="a", dates=DATES) -> pd.DataFrame:
    frames = [
        pd.DataFrame(
            {
                "id": sid,
                "date": dates,
                "fold": [0, 0, 1, 1][: len(dates)],
                "model": name,
                "horizon": horizon,
                "y_true": y,
                "y_pred": pred,
                "fwd_return": y,
            }
        )
        for name, pred in forecasts.items()
    ]
    return pd.concat(frames, ignore_index=True)


def assert_plain_json(value) -> None:
    """Only dict/list/str/int/float/bool/None all the way down (no numpy scalars)."""
    if isinstance(value, dict):
        assert all(type(k) is str for k in value)
        for v in value.values():
            assert_plain_json(v)
    elif isinstance(value, list):
        for v in value:
            assert_plain_json(v)
    else:
        assert value is None or type(value) in (str, int, float, bool), (value, type(value))


def test_pooled_metrics_and_skill_vs_naive():
    m = compute_metrics(table(), "return")
    assert m["task"] == "return" and m["horizon"] == 1
    models = m["models"]
    assert list(models) == ["naive", "mean", "seed-mlp"]
    assert models["naive"]["mse"] == pytest.approx(2.5)
    assert models["seed-mlp"]["mse"] == pytest.approx(0.5625)
    assert models["seed-mlp"]["skill_vs_naive"] == pytest.approx(1 - 0.5625 / 2.5)
    assert models["mean"]["skill_vs_naive"] == pytest.approx(1 - 2.75 / 2.5)  # worse: negative
    assert models["naive"]["skill_vs_naive"] == 0.0
    assert models["seed-mlp"]["direction_accuracy"] == 1.0
    assert models["mean"]["direction_accuracy"] == 0.5
    assert models["seed-mlp"]["n_predictions"] == 4
    assert "horizons" not in models["seed-mlp"]


def test_per_fold_metrics_use_only_that_folds_rows():
    folds = compute_metrics(table(), "return")["models"]["seed-mlp"]["folds"]
    assert list(folds) == ["0", "1"]
    assert folds["0"]["mse"] == pytest.approx(0.125)
    assert folds["0"]["skill_vs_naive"] == pytest.approx(1 - 0.125 / 1.0)
    assert folds["1"]["skill_vs_naive"] == pytest.approx(1 - 1.0 / 4.0)
    assert folds["1"]["n_predictions"] == 2
    assert folds["0"]["r2"] == pytest.approx(1 - 0.25 / 2.0)


def test_skill_is_computed_on_the_rows_shared_with_naive():
    late = table({"seed-mlp": [100.0]}, y=[0.0], dates=pd.DatetimeIndex(["2021-01-11"]))
    late["fold"] = 1  # naive has no forecast for this date
    pred = pd.concat([table(), late], ignore_index=True)
    m = compute_metrics(pred, "return")["models"]["seed-mlp"]
    assert m["n_predictions"] == 5
    assert m["mse"] == pytest.approx((2.25 + 100.0**2) / 5)  # pooled over all its rows
    assert m["skill_vs_naive"] == pytest.approx(1 - 0.5625 / 2.5)  # the extra row is not shared


def test_without_naive_skill_is_none_and_nothing_beats_it():
    m = compute_metrics(table({"seed-mlp": FORECASTS["seed-mlp"]}), "return")
    assert m["models"]["seed-mlp"]["skill_vs_naive"] is None
    assert not metrics_table(m)["beats_naive"].any()


def test_several_horizons_are_scored_pooled_and_per_horizon():
    h2 = {"naive": [0.0] * 4, "seed-mlp": [2.0, -2.0, 2.0, -2.0]}  # h=2: y doubled
    pred = pd.concat([table(), table(h2, y=[2.0 * v for v in Y], horizon=2)], ignore_index=True)
    m = compute_metrics(pred, "return")
    assert m["horizon"] == [1, 2]
    seed = m["models"]["seed-mlp"]
    assert set(seed["horizons"]) == {"1", "2"}
    assert seed["horizons"]["1"]["skill_vs_naive"] == pytest.approx(1 - 0.5625 / 2.5)
    # h=2: errors 0, 0, 2, -2 -> mse 2; naive mse (4+4+16+16)/4 = 10
    assert seed["horizons"]["2"]["mse"] == pytest.approx(2.0)
    assert seed["horizons"]["2"]["skill_vs_naive"] == pytest.approx(1 - 2.0 / 10.0)
    assert seed["n_predictions"] == 8
    assert seed["skill_vs_naive"] == pytest.approx(1 - (2.25 + 8.0) / (10.0 + 40.0))
    assert "horizons" in m["models"]["mean"]  # mean only has h=1 rows
    assert list(m["models"]["mean"]["horizons"]) == ["1"]
    json.dumps(m, allow_nan=False)


def test_level_direction_accuracy_uses_the_naive_forecast_of_each_row():
    value_t = [10.0, 11.0, 12.0, 11.0]
    y = [11.0, 10.0, 13.0, 11.0]  # moves +1, -1, +1, 0 (left out)
    pred = table({"naive": value_t, "seed-mlp": [10.5, 11.5, 12.5, 9.0]}, y=y)
    m = compute_metrics(pred, "level")["models"]
    # predicted moves +0.5, +0.5, +0.5: right, wrong, right
    assert m["seed-mlp"]["direction_accuracy"] == pytest.approx(2 / 3)
    assert m["naive"]["direction_accuracy"] is None  # never predicts a move: undefined
    assert m["seed-mlp"]["folds"]["0"]["direction_accuracy"] == pytest.approx(0.5)
    # mse: 0.25 + 2.25 + 0.25 + 4 vs naive 1 + 1 + 1 + 0
    assert m["seed-mlp"]["skill_vs_naive"] == pytest.approx(1 - 6.75 / 3.0)


def test_direction_task_scores_classification_and_accuracy_skill():
    pred = table({"naive": [1.0, 1.0, 0.0, 1.0], "seed-mlp": [1.0, 0.0, 1.0, 0.0]}, y=[1, 0, 1, 1])
    pred["prob"] = [0.6, 0.6, 0.4, 0.6, 0.8, 0.5, 0.7, 0.4]
    m = compute_metrics(pred, "direction")
    seed = m["models"]["seed-mlp"]
    assert seed["accuracy"] == pytest.approx(0.75)
    assert seed["skill_vs_naive"] == pytest.approx(0.75 - 0.5)
    assert seed["confusion_matrix"] == [[1, 0], [1, 2]]
    # positives scored .8 .7 .4 against the negative's .5: two pairs of three in order
    assert seed["roc_auc"] == pytest.approx(2 / 3)
    fold1 = seed["folds"]["1"]  # y_true 1, 1: one class
    assert fold1["roc_auc"] is None and fold1["confusion_matrix"] == [[0, 0], [1, 1]]
    assert m["models"]["naive"]["skill_vs_naive"] == 0.0
    json.dumps(m, allow_nan=False)


def test_output_is_plain_json_without_nan():
    pred = table()
    pred = pd.concat([pred, table({"lstm": [0.0] * 1}, y=[1.0], dates=DATES[:1])])
    m = compute_metrics(pred, "return")
    assert m["models"]["lstm"]["r2"] is None  # one row
    assert_plain_json(m)
    json.dumps(m, allow_nan=False)


def test_metrics_rebuild_identically_from_the_csv(tmp_path):
    pred = table()
    pred.to_csv(tmp_path / "predictions.csv", index=False)
    back = pd.read_csv(tmp_path / "predictions.csv", dtype={"id": str})
    back["date"] = pd.to_datetime(back["date"])
    assert compute_metrics(back, "return") == compute_metrics(pred, "return")


def test_models_are_ordered_naive_baselines_then_the_rest():
    names = ["seed-mlp", "garch", "alpha", "mean", "naive"]
    assert order_models(names) == ["naive", "mean", "garch", "alpha", "seed-mlp"]
    pred = table({n: [0.1] * 4 for n in names})
    assert list(compute_metrics(pred, "return")["models"]) == order_models(names)


def test_metrics_table_has_one_row_per_model_and_beats_naive():
    t = metrics_table(compute_metrics(table(), "return"))
    assert list(t.columns) == [
        "model",
        "mse",
        "rmse",
        "mae",
        "r2",
        "direction_accuracy",
        "skill_vs_naive",
        "n_predictions",
        "beats_naive",
    ]
    assert t["model"].tolist() == ["naive", "mean", "seed-mlp"]
    assert t["beats_naive"].tolist() == [False, False, True]
    assert t["n_predictions"].dtype == "int64" and t["beats_naive"].dtype == bool
    assert t.loc[2, "skill_vs_naive"] == pytest.approx(0.775)


def test_metrics_table_direction_columns_and_missing_values():
    pred = table({"naive": [1.0] * 4, "seed-mlp": [1.0, 0.0, 1.0, 1.0]}, y=[1, 0, 1, 1])
    t = metrics_table(compute_metrics(pred, "direction"))
    assert list(t.columns)[1:-1] == [
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "log_loss",
        "skill_vs_naive",
        "n_predictions",
    ]
    assert t["log_loss"].isna().all()  # no prob column
    assert t["beats_naive"].tolist() == [False, True]


def test_bad_input_raises_fincast_errors():
    with pytest.raises(ConfigError, match="task"):
        compute_metrics(table(), "price")
    with pytest.raises(DataError, match="y_pred"):
        compute_metrics(table().drop(columns="y_pred"), "return")
    with pytest.raises(DataError, match="empty"):
        compute_metrics(table().iloc[:0], "return")
    with pytest.raises(DataError, match="compute_metrics"):
        metrics_table({"models": {}})
