"""Train once, save, load with safe_mode, predict on new data."""

import json

import numpy as np
import pandas as pd
import pytest

import fincast
from fincast.design import build_design
from fincast.errors import ConfigError, DataError, ModelError
from fincast.features import FeatureSpec
from fincast.persist import infer_frequency, load_model

from .conftest import make_ohlcv


@pytest.mark.parametrize(
    ("model", "task"), [("seed-mlp", "return"), ("lstm", "direction"), ("transformer", "level")]
)
def test_saved_model_predicts_identically_after_loading(tmp_path, ohlcv_csv, model, task):
    path = fincast.train(
        str(ohlcv_csv),
        out=str(tmp_path / "m"),
        models=[model],
        task=task,
        epochs=2,
        horizon=[1, 3],
        lookback=8,
    )
    info = json.loads((path / "fincast.json").read_text())
    assert info["model"] == model and info["frequency"] == "B"
    assert info["versions"]["keras"]
    loaded, _ = load_model(path)
    ds = fincast.load(str(ohlcv_csv))
    design = build_design(
        ds, loaded.task, FeatureSpec(lookback=8), require_target=False, windows=loaded.sequence
    )
    # a second load gives the same forecasts, bit for bit
    again, _ = load_model(path)
    np.testing.assert_array_equal(loaded.predict(design.batch()), again.predict(design.batch()))
    forecast = fincast.predict(path, str(ohlcv_csv), out=tmp_path / "f.csv")
    assert len(forecast) == 2 and forecast["horizon"].tolist() == [1, 3]
    last = pd.Timestamp(ds.frame["date"].max())
    assert forecast["origin"].iloc[0] == last.date().isoformat()
    assert forecast["target_date"].iloc[0] == (last + pd.offsets.BDay(1)).date().isoformat()
    np.testing.assert_allclose(
        forecast["forecast"].to_numpy(), loaded.predict(design.batch())[-1], rtol=1e-6
    )
    assert pd.read_csv(tmp_path / "f.csv").shape[0] == 2


def test_predict_on_new_data_matches_in_memory_model(tmp_path, ohlcv_csv):
    from fincast.config import build_config
    from fincast.models import make_model
    from fincast.persist import train
    from fincast.tasks import TaskSpec

    config = {"data": str(ohlcv_csv), "models": ["seed-mlp"], "epochs": 2, "seed": 5}
    path = train(build_config(config), tmp_path / "m")
    ds = fincast.load(str(ohlcv_csv))
    design = build_design(ds, TaskSpec(), FeatureSpec())
    ref = make_model("seed-mlp", TaskSpec(), {"epochs": 2}, seed=5).fit(design.batch())
    full = build_design(ds, TaskSpec(), FeatureSpec(), require_target=False)
    forecast = fincast.predict(path, str(ohlcv_csv))
    np.testing.assert_allclose(
        forecast["forecast"].iloc[0], ref.predict(full.batch())[-1, 0], rtol=1e-5
    )


def test_predict_rejects_mismatched_columns_and_frequency(tmp_path, ohlcv_csv):
    path = fincast.train(str(ohlcv_csv), out=str(tmp_path / "m"), epochs=1)
    df = make_ohlcv(100)
    no_volume = tmp_path / "nv.csv"
    df.drop(columns=["ticker", "Volume"]).to_csv(no_volume, index=False)
    with pytest.raises(DataError, match="`Volume`"):
        fincast.predict(path, str(no_volume))
    weekly = tmp_path / "w.csv"
    w = df.drop(columns="ticker")
    w["date"] = pd.date_range("2010-01-01", periods=len(w), freq="W-FRI")
    w.to_csv(weekly, index=False)
    with pytest.raises(DataError, match="frequency"):
        fincast.predict(path, str(weekly))


def test_train_needs_one_keras_model_and_load_checks_the_directory(tmp_path, ohlcv_csv):
    with pytest.raises(ConfigError, match="exactly one Keras model"):
        fincast.train(str(ohlcv_csv), out=str(tmp_path / "m"), models=["seed-mlp", "lstm"])
    with pytest.raises(ModelError, match="not a fincast model directory"):
        load_model(tmp_path)


def test_infer_frequency():
    assert infer_frequency(pd.bdate_range("2020", periods=30)) == "B"
    assert infer_frequency(pd.date_range("2020", periods=30, freq="MS")) == "MS"
    dates = pd.bdate_range("2020", periods=60).delete([5, 17])  # holidays
    assert infer_frequency(dates) == "B"
