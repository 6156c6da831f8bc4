"""train / predict for the trend3, events and volatility tasks, and panels."""

import json

import numpy as np
import pandas as pd
import pytest

import fincast
from fincast.design import build_design
from fincast.errors import DataError
from fincast.features import FeatureSpec
from fincast.persist import load_model

from .conftest import make_ohlcv


@pytest.mark.parametrize(
    ("model", "task", "params"),
    [
        ("mlp", "trend3", {"units": 4, "layers": 1}),
        ("gru", "events", {"units": 4}),
        ("cnn", "volatility", {"filters": 4, "layers": 1}),
    ],
)
def test_every_task_trains_saves_and_predicts_identically(tmp_path, ohlcv_csv, model, task, params):
    path = fincast.train(
        str(ohlcv_csv),
        out=str(tmp_path / "m"),
        models={model: params},
        task=task,
        epochs=1,
        horizon=[1, 2],
        lookback=6,
    )
    info = json.loads((path / "fincast.json").read_text())
    assert info["task"]["kind"] == task
    loaded, _ = load_model(path)
    again, _ = load_model(path)
    design = build_design(
        fincast.load(str(ohlcv_csv)),
        loaded.task,
        FeatureSpec(lookback=6),
        require_target=False,
        windows=loaded.sequence,
    )
    out = loaded.predict(design.batch())
    np.testing.assert_array_equal(out, again.predict(design.batch()))
    assert out.shape[1] == 2 * loaded.task.width
    forecast = fincast.predict(path, str(ohlcv_csv), out=tmp_path / "f.csv")
    last = out[-1]
    if task == "trend3":
        assert info["thresholds"]["1"]["flat_band"] > 0  # fitted on the training data
        assert len(forecast) == 2 and set(forecast["forecast"]) <= {"down", "flat", "up"}
        probs = forecast[["prob_down", "prob_flat", "prob_up"]].to_numpy()
        np.testing.assert_allclose(probs.reshape(-1), last, rtol=1e-6)
    elif task == "events":
        assert len(forecast) == 6 and forecast["label"].tolist()[:3] == [
            "up_1pct",
            "down_1pct",
            "big_move",
        ]
        np.testing.assert_allclose(forecast["forecast"].to_numpy(), last, rtol=1e-6)
    else:
        assert len(forecast) == 2 and (forecast["forecast"] >= 0).all()
        np.testing.assert_allclose(forecast["forecast"].to_numpy(), np.maximum(last, 0), rtol=1e-6)
        bad = tmp_path / "nohigh.csv"  # new data must have the columns the model used
        make_ohlcv(80).drop(columns=["ticker", "High"]).to_csv(bad, index=False)
        with pytest.raises(DataError, match="`High`"):
            fincast.predict(path, str(bad))
    written = pd.read_csv(tmp_path / "f.csv")
    assert written.shape[0] == len(forecast)


def test_panel_with_series_embedding(tmp_path):
    csv = tmp_path / "panel.csv"
    make_ohlcv(200, ids=("AAA", "BBB"), seed=4).to_csv(csv, index=False)
    result = fincast.backtest(
        str(csv),
        models={"mlp": {"units": 4, "layers": 1}},
        series_embedding=True,
        epochs=1,
        lookback=5,
        folds=2,
        out=str(tmp_path / "run"),
    )
    assert result.failures == []
    m = result.metrics["models"]["mlp"]
    assert set(m["series"]) == {"AAA", "BBB"}
    assert m["n_predictions"] == sum(s["n_predictions"] for s in m["series"].values())
    ds = fincast.load(str(csv))
    design = build_design(ds, fincast.TaskSpec(), FeatureSpec(lookback=5), series_ids=ds.ids)
    onehot = design.X[:, [design.feature_names.index(f"series={s}") for s in ("AAA", "BBB")]]
    np.testing.assert_array_equal(onehot[:, 0], design.ids == "AAA")
    assert (onehot.sum(axis=1) == 1).all()
    path = fincast.train(
        str(csv),
        out=str(tmp_path / "m"),
        models={"mlp": {"units": 4, "layers": 1}},
        series_embedding=True,
        epochs=1,
        lookback=5,
    )
    other = tmp_path / "other.csv"
    make_ohlcv(60, ids=("AAA", "CCC"), seed=5).to_csv(other, index=False)
    forecast = fincast.predict(path, str(other))
    assert forecast.set_index("id").loc["CCC", "note"].startswith("series not seen")
    assert "note" not in forecast.columns or pd.isna(forecast.set_index("id").loc["AAA", "note"])
