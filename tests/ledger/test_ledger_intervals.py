"""Live intervals: train --intervals keeps conformal quantiles, predict emits the bounds,
the ledger records them and score puts coverage and VaR hit rate beside the backtest's."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import fincast
from fincast.cli import main
from fincast.design import build_design
from fincast.errors import ConfigError
from fincast.features import FeatureSpec
from fincast.ledger import score_ledger
from fincast.models import make_model
from fincast.predictions import read_predictions
from fincast.tasks import TaskSpec

from ._helpers import no_fincast_warnings
from .conftest import TRAIN_END

LEVELS = [0.8, 0.95]


@pytest.fixture(scope="module")
def trained(spx, tmp_path_factory):
    out = tmp_path_factory.mktemp("imodel") / "spx"
    with no_fincast_warnings():
        saved = fincast.train(
            spx[spx["date"] <= TRAIN_END],
            out=out,
            models=["seed-mlp"],
            epochs=1,
            seed=0,
            intervals=LEVELS,
        )
    return saved


@pytest.fixture(scope="module")
def recorded(spx, trained, tmp_path_factory):
    """A ledger of 15 daily forecasts of the interval model (November 2018)."""
    db = tmp_path_factory.mktemp("iledger") / "spx.db"
    days = spx.loc[spx["date"].between("2018-11-01", "2018-11-21"), "date"]
    with no_fincast_warnings():
        for day in days:
            fincast.predict(trained, spx[spx["date"] <= day], ledger=db)
    return db, days


def _design(spx, info):
    task = TaskSpec.from_dict(info["task"])
    ds = fincast.load(spx[spx["date"] <= TRAIN_END])
    spec = FeatureSpec(info["features"]["kind"], info["features"]["lookback"])
    return task, build_design(ds, task, spec).for_fold()


def _split_quantile(scores, level):
    k = math.ceil((len(scores) + 1) * level)  # the split-conformal order statistic
    return np.sort(scores)[k - 1]


def test_train_calibrates_on_a_tail_a_refit_never_saw(spx, trained):
    """seed-mlp's defaults hold no validation tail out: a refit on the rows before the
    tail (purged by the horizon) scores it, as a backtest's calibration does."""
    info = json.loads((trained.model_dir / "fincast.json").read_text())
    saved = info["intervals"]
    assert saved["method"] == "split" and saved["levels"] == LEVELS
    model, _ = fincast.load_model(trained.model_dir)
    assert not model.uses_validation
    task, design = _design(spx, info)
    dates = len(design.calendar)
    start = dates - round(dates * model.val_fraction)
    tail = design.date_pos >= start
    before = (design.date_pos < start - task.max_horizon) & (design.target_end_pos < start)
    refit = make_model("seed-mlp", task, info["params"], seed=info["seed"])
    refit.fit(design.batch(before))
    scores = np.abs(design.y[tail, 0] - refit.predict(design.batch(tail))[:, 0])
    assert saved["rows"] == tail.sum() == len(scores)
    assert saved["start"] == str(design.dates[tail].min())[:10]
    for level in LEVELS:
        want = _split_quantile(scores, level)
        assert saved["q"][f"{level:g}"] == [pytest.approx(want, rel=1e-6)]
    # the saved model was fitted on every row, the tail too: its errors there are no guide
    in_sample = np.abs(design.y[tail, 0] - model.predict(design.batch(tail))[:, 0])
    assert saved["q"]["0.8"][0] != pytest.approx(_split_quantile(in_sample, 0.8), rel=1e-6)


def test_a_network_with_a_validation_tail_is_calibrated_on_it(spx, tmp_path):
    with no_fincast_warnings():
        saved = fincast.train(
            spx[spx["date"] <= TRAIN_END],
            out=tmp_path / "m",
            models=["seed-mlp"],
            epochs=2,
            patience=1,
            intervals=[0.9],
        )
    model, info = fincast.load_model(saved)
    assert model.uses_validation  # early stopping: the saved weights never fitted the tail
    _, design = _design(spx, info)
    dates = len(design.calendar)
    tail = design.date_pos >= dates - round(dates * model.val_fraction)
    scores = np.abs(design.y[tail, 0] - model.predict(design.batch(tail))[:, 0])
    assert info["intervals"]["rows"] == len(scores)
    want = _split_quantile(scores, 0.9)
    assert info["intervals"]["q"]["0.9"] == [pytest.approx(want, rel=1e-6)]


def test_predict_puts_the_bounds_beside_the_forecast(spx, trained):
    table = fincast.predict(trained, spx[spx["date"] <= "2018-11-30"])
    q = trained.info["intervals"]["q"]
    for level in LEVELS:
        lo, hi = table[f"lo_{level:g}"], table[f"hi_{level:g}"]
        np.testing.assert_allclose(lo, table["forecast"] - q[f"{level:g}"][0])
        np.testing.assert_allclose(hi, table["forecast"] + q[f"{level:g}"][0])
    assert (table["lo_0.95"] < table["lo_0.8"]).all()  # nested


def test_score_gives_live_coverage_and_var_hits_beside_the_backtest(
    recorded, spx, tmp_path, capsys
):
    db, days = recorded
    with no_fincast_warnings():
        run = fincast.backtest(
            spx[spx["date"] <= TRAIN_END],
            out=tmp_path / "bt",
            models=["seed-mlp"],
            epochs=1,
            folds=2,
            intervals=[0.8],
            interval_method="split",
        ).run_dir
    live = score_ledger(db, spx, tmp_path / "live", backtest=run)
    rows = live.predictions[live.predictions["model"] == "seed-mlp"]
    assert len(rows) == len(days) == 15
    assert live.predictions.loc[live.predictions["model"] == "naive", "lo_0.8"].isna().all()
    (row,) = live.live["comparison"]
    assert set(row["intervals"]) == {"0.8", "0.95"}
    for level in LEVELS:
        figures = row["intervals"][f"{level:g}"]["live"]
        lo, hi, y = rows[f"lo_{level:g}"], rows[f"hi_{level:g}"], rows["y_true"]
        assert figures["n"] == 15
        assert figures["coverage"] == pytest.approx(((y >= lo) & (y <= hi)).mean())
        assert figures["var_rate"] == pytest.approx((1 - level) / 2)
        assert figures["var_hit_rate"] == pytest.approx((y < lo).mean())
        assert 0 <= figures["kupiec_p"] <= 1 and 0 <= figures["var_kupiec_p"] <= 1
    # the backtest's own figures beside them (the backtest ran the 0.8 level only)
    bt_metrics = json.loads((run / "metrics.json").read_text())
    bt = row["intervals"]["0.8"]["backtest"]
    assert bt["coverage"] == bt_metrics["intervals"]["models"]["seed-mlp"]["0.8"]["coverage"]
    bt_rows = read_predictions(run / "predictions.csv")
    bt_rows = bt_rows[bt_rows["model"] == "seed-mlp"]
    assert bt["var_hit_rate"] == pytest.approx((bt_rows["y_true"] < bt_rows["lo_0.8"]).mean())
    assert row["intervals"]["0.95"]["backtest"] is None
    assert live.live["intervals"] is None  # nothing to say "not available" of
    page = (live.run_dir / "report.html").read_text()
    assert "Intervals and VaR, live against backtest" in page
    assert "not available" not in page

    args = ["score", str(db), "builtin:sp500", "--out", str(tmp_path / "o")]
    assert main([*args, "--backtest", str(run)]) == 0
    out = capsys.readouterr().out
    assert "seed-mlp h=1 80 % interval: live coverage " in out
    assert "; VaR 10.0 % hit rate live " in out


def test_train_refuses_intervals_on_a_task_without_a_continuous_target(spx, tmp_path):
    with pytest.raises(ConfigError, match="--intervals applies to the return, level and vol"):
        fincast.train(
            spx, out=tmp_path / "m", models=["seed-mlp"], task="direction", intervals=[0.9]
        )
    assert not (tmp_path / "m").exists()


def test_a_tail_too_short_for_the_level_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    import fincast.persist

    def no_training(*args, **kwargs):
        raise AssertionError("the tail is checked before any training")

    monkeypatch.setattr(fincast.persist, "fit_on_all", no_training)
    args = ["train", "builtin:sp500", "--models", "seed-mlp", "--epochs", "1"]
    assert main([*args, "--intervals", "0.9999", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert "too few for a 0.9999 interval (needs " in err and "--val-fraction" in err
    assert not (tmp_path / "m").exists()


def test_a_ledger_of_models_with_and_without_intervals_names_the_point_one(
    spx, model, trained, tmp_path
):
    db = tmp_path / "two.db"
    for day in ("2018-11-01", "2018-11-02", "2018-11-05"):
        fincast.predict(model, spx[spx["date"] <= day], ledger=db)  # point forecasts
        fincast.predict(trained, spx[spx["date"] <= day], ledger=db)  # with intervals
    live = score_ledger(db, spx, tmp_path / "live")
    rows = {bool(r["intervals"]): r["model"] for r in live.live["comparison"]}
    assert set(rows) == {True, False} and rows[True] != rows[False]
    assert live.live["intervals"] == (
        f"live interval coverage and VaR hit rate are not available for {rows[False]}: it was "
        "trained without --intervals and makes point forecasts (retrain with `fincast train "
        "… --intervals 0.9` for live intervals); live and backtest are compared on skill and "
        "DM against naive"
    )
    point = live.predictions[live.predictions["model"] == rows[False]]
    assert point["lo_0.8"].isna().all()


def test_volatility_intervals_are_scored_live_without_a_var(spx, tmp_path, capsys):
    """A volatility interval's lower bound is no value at risk: coverage only."""
    with no_fincast_warnings():
        vol = fincast.train(
            spx[spx["date"] <= TRAIN_END],
            out=tmp_path / "vol",
            models=["seed-mlp"],
            task="volatility",
            epochs=1,
            intervals=[0.9],
        )
    db = tmp_path / "vol.db"
    for day in ("2018-11-01", "2018-11-02", "2018-11-05", "2018-11-06"):
        table = fincast.predict(vol, spx[spx["date"] <= day], ledger=db)
        assert 0 <= table["lo_0.9"].iloc[0] <= table["forecast"].iloc[0] < table["hi_0.9"].iloc[0]
    live = score_ledger(db, spx, tmp_path / "live")
    rows = live.predictions[live.predictions["model"] == "seed-mlp"]
    figures = live.live["comparison"][0]["intervals"]["0.9"]["live"]
    inside = (rows["y_true"] >= rows["lo_0.9"]) & (rows["y_true"] <= rows["hi_0.9"])
    assert figures["n"] == 4 and figures["coverage"] == pytest.approx(inside.mean())
    assert figures["var_rate"] is None and figures["var_hit_rate"] is None
    assert main(["score", str(db), "builtin:sp500", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "seed-mlp h=1 90 % interval: live coverage " in out and "VaR" not in out
