"""Prediction intervals (--intervals): errors, columns, no leakage, coverage on GARCH data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fincast.backtest.engine import _fold_predictions, prepare, run_backtest
from fincast.cli import main
from fincast.config import build_config
from fincast.metrics.coverage import coverage_sentence, interval_summary
from fincast.predictions import interval_levels


def run_cli(*args, capsys):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--intervals", "1.2"], "outside (0, 1)"),
        (["--intervals", "0"], "outside (0, 1)"),
        (["--intervals", "0.95,0.8"], "must increase"),
        (["--intervals", "0.9,0.9"], "must increase"),
        (["--intervals", "ninety"], "levels like 0.8,0.95"),
        (["--intervals", "0.9", "--task", "direction"], "--intervals applies to"),
        (["--intervals", "0.9", "--task", "trend3"], "--intervals applies to"),
        (["--intervals", "0.9", "--task", "events"], "--intervals applies to"),
        (["--intervals", "0.99", "--folds", "8"], "calibration tail"),
        (["--intervals", "0.9", "--interval-method", "magic"], "aci or split"),
    ],
)
def test_bad_intervals_exit_2_with_one_line(capsys, tmp_path, ohlcv_csv, args, words):
    out_dir = tmp_path / "run"
    code, _, err = run_cli(
        "backtest", str(ohlcv_csv), "--out", str(out_dir), "--models", "ridge", *args,
        capsys=capsys,
    )  # fmt: skip
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], err
    assert not out_dir.exists()


@pytest.mark.parametrize("method", ["aci", "split"])
def test_columns_bounds_and_metrics(tmp_path, ohlcv_csv, method):
    cfg = build_config(
        {
            "data": str(ohlcv_csv),
            "models": ["ridge"],
            "baselines": ["naive", "mean"],
            "horizon": [1, 3],
            "folds": 2,
            "intervals": "0.8,0.9",
            "interval_method": method,
            "out": str(tmp_path / "run"),
        }
    )
    res = run_backtest(cfg)
    p = res.predictions
    cols = list(p.columns)
    assert cols[cols.index("y_pred") + 1 : cols.index("fwd_return")] == [
        "lo_0.8", "hi_0.8", "lo_0.9", "hi_0.9",
    ]  # fmt: skip
    assert interval_levels(p) == [0.8, 0.9]
    assert set(p["model"]) == {"naive", "mean", "ridge"}
    assert np.isfinite(p[["lo_0.8", "hi_0.8", "lo_0.9", "hi_0.9"]].to_numpy()).all()
    assert (p["lo_0.9"] <= p["lo_0.8"] + 1e-15).all() and (p["hi_0.8"] <= p["hi_0.9"] + 1e-15).all()
    assert (p["lo_0.8"] <= p["y_pred"]).all() and (p["y_pred"] <= p["hi_0.8"]).all()
    iv = res.metrics["intervals"]
    assert iv["levels"] == [0.8, 0.9] and iv["horizon"] == 1
    m = iv["models"]["ridge"]["0.9"]
    assert set(m["folds"]) == {"0", "1"}
    assert 0.6 < m["coverage"] < 1.0 and m["reading"] in ("about right", "too narrow", "too wide")
    assert "90 % intervals covered" in res.metrics["verdict"]["intervals"]
    html = (tmp_path / "run" / "report.html").read_text()
    assert "Coverage by fold" in html and "id='plot-fan'" in html


def test_without_intervals_no_interval_columns(tmp_path, ohlcv_csv):
    cfg = build_config(
        {"data": str(ohlcv_csv), "models": [], "folds": 2, "out": str(tmp_path / "run")}
    )
    res = run_backtest(cfg)
    assert not any(c.startswith(("lo_", "hi_")) for c in res.predictions.columns)
    assert "skipped" in res.metrics["intervals"]


def test_volatility_intervals_are_relative_and_non_negative(tmp_path, ohlcv_csv):
    cfg = build_config(
        {
            "data": str(ohlcv_csv),
            "task": "volatility",
            "models": [],
            "baselines": ["naive", "ewma"],
            "folds": 2,
            "intervals": "0.9",
            "interval_method": "split",
            "out": str(tmp_path / "run"),
        }
    )
    p = run_backtest(cfg).predictions
    p = p[p["model"] == "ewma"]
    assert (p["lo_0.9"] >= 0).all()
    ratio = (p["hi_0.9"] - p["y_pred"]) / p["y_pred"]  # one relative half-width per fold
    assert ratio.groupby(p["fold"]).nunique().max() == 1 or np.allclose(
        ratio.groupby(p["fold"]).std(), 0, atol=1e-9
    )


# ---- no leakage ------------------------------------------------------------------------


def _unit(tmp_path, csv, method: str, model: str = "mean"):
    cfg = build_config(
        {
            "data": str(csv),
            "models": [],
            "baselines": ["naive", "mean"],
            "folds": 2,
            "intervals": "0.8",
            "interval_method": method,
            "out": str(tmp_path / "run"),
        }
    )
    return prepare(cfg)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scale=st.floats(0.1, 10.0), shift=st.floats(-0.05, 0.05), seed=st.integers(0, 1000),
    method=st.sampled_from(["split", "aci"]), cut=st.floats(0.0, 0.9),
)  # fmt: skip
def test_test_block_values_never_move_earlier_half_widths(
    tmp_path, ohlcv_csv, scale, shift, seed, method, cut
):
    """Perturb the targets of a fold's test rows from row T on: split intervals do not
    change at all; ACI intervals do not change before T + horizon (outcomes known later)."""
    prep = _unit(tmp_path, ohlcv_csv, method)
    fold = prep.folds[-1]
    base, _ = _fold_predictions(prep, "mean", fold, seed=1)
    test = fold.test_mask(prep.design.date_pos)
    rows = np.flatnonzero(test)
    k = int(cut * len(rows))  # the first test row whose outcome moves
    y = prep.design.y.copy()
    rng = np.random.default_rng(seed)
    later = rows[k:]
    y[later] = y[later] * scale + shift + rng.normal(0, 0.01, y[later].shape)
    moved = replace(prep, design=replace(prep.design, y=y))
    again, _ = _fold_predictions(moved, "mean", fold, seed=1)
    half = (base["hi_0.8"] - base["y_pred"]).to_numpy()
    half2 = (again["hi_0.8"] - again["y_pred"]).to_numpy()
    # ACI's row t uses outcomes of rows <= t - h (h = 1): rows <= k are unchanged
    upto = len(half) if method == "split" else k + 1
    np.testing.assert_array_equal(half[:upto], half2[:upto])
    np.testing.assert_array_equal(base["y_pred"], again["y_pred"])


# ---- coverage on a simulated GARCH process ---------------------------------------------


def garch_prices(n: int, seed: int = 0) -> pd.DataFrame:
    """Prices whose daily log returns follow a GARCH(1, 1) with persistence 0.97."""
    rng = np.random.default_rng(seed)
    omega, a, b = 2e-6, 0.08, 0.89
    var = omega / (1 - a - b)
    r = np.empty(n)
    for t in range(n):
        r[t] = np.sqrt(var) * rng.standard_normal()
        var = omega + a * r[t] ** 2 + b * var
    close = 100 * np.exp(np.cumsum(r))
    return pd.DataFrame({"date": pd.bdate_range("2005-01-03", periods=n), "Close": close})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "baselines", "method"),
    [
        ("return", ["naive", "mean"], "aci"),
        ("return", ["naive", "mean"], "split"),
        ("volatility", ["naive", "ewma"], "aci"),
    ],
)
def test_90pct_intervals_cover_90pct_of_garch_test_rows(tmp_path, task, baselines, method):
    csv = tmp_path / "garch.csv"
    garch_prices(3000, seed=7).to_csv(csv, index=False)
    cfg = build_config(
        {
            "data": str(csv),
            "task": task,
            "models": {"mlp": {"units": 4, "layers": 1, "epochs": 2}} if method == "aci" else [],
            "baselines": baselines,
            "folds": 5,
            "intervals": "0.9",
            "interval_method": method,
            "val_fraction": 0.2,
            "out": str(tmp_path / "run"),
        }
    )
    res = run_backtest(cfg)
    models = res.metrics["intervals"]["models"]
    for name, entry in models.items():
        if task == "volatility" and name == "naive":
            continue  # |r_t| as a volatility forecast: relative errors are unbounded
        m = entry["0.9"]
        assert m["n"] >= 2000
        assert 0.87 <= m["coverage"] <= 0.93, (name, m["coverage"])


def test_coverage_sentence_reads_plainly():
    m = {"level": 0.9, "coverage": 0.83, "kupiec_pvalue": 0.001, "reading": "too narrow"}
    assert coverage_sentence("mlp", m) == (
        "mlp: 90 % intervals covered 83.0 % — too narrow (Kupiec p = 0.001)"
    )


def test_interval_summary_reading_follows_kupiec():
    rng = np.random.default_rng(0)
    n = 2000
    y = rng.standard_normal(n)
    frame = pd.DataFrame(
        {
            "id": "a", "date": pd.bdate_range("2010-01-01", periods=n), "fold": 0,
            "model": "m", "horizon": 1, "y_true": y, "y_pred": 0.0,
            "lo_0.9": -1.645, "hi_0.9": 1.645,
        }
    )  # fmt: skip
    assert interval_summary(frame)["models"]["m"]["0.9"]["reading"] == "about right"
    narrow = frame.assign(**{"lo_0.9": -1.0, "hi_0.9": 1.0})
    assert interval_summary(narrow)["models"]["m"]["0.9"]["reading"] == "too narrow"
    wide = frame.assign(**{"lo_0.9": -3.0, "hi_0.9": 3.0})
    assert interval_summary(wide)["models"]["m"]["0.9"]["reading"] == "too wide"


def test_a_network_is_calibrated_on_its_own_validation_tail_not_its_test_block(tmp_path, ohlcv_csv):
    """The validation-tail route (a network with shrinkage): test outcomes never move it."""
    cfg = build_config(
        {
            "data": str(ohlcv_csv),
            "models": {"mlp": {"units": 4, "layers": 1, "epochs": 1}},
            "folds": 2,
            "intervals": "0.8",
            "interval_method": "split",
            "out": str(tmp_path / "run"),
        }
    )
    prep = prepare(cfg)
    fold = prep.folds[-1]
    base, _ = _fold_predictions(prep, "mlp", fold, seed=3)
    rows = np.flatnonzero(fold.test_mask(prep.design.date_pos))
    y = prep.design.y.copy()
    y[rows] = -5 * y[rows] + 0.1
    again, _ = _fold_predictions(replace(prep, design=replace(prep.design, y=y)), "mlp", fold, 3)
    np.testing.assert_array_equal(base["hi_0.8"], again["hi_0.8"])


@pytest.mark.slow
def test_panels_seeds_and_the_level_task(tmp_path):
    from tests.conftest import make_ohlcv

    csv = tmp_path / "panel.csv"
    make_ohlcv(400, ids=("AAA", "BBB"), seed=4).to_csv(csv, index=False)
    cfg = build_config(
        {
            "data": str(csv),
            "task": "level",
            "models": {"mlp": {"units": 4, "layers": 1, "epochs": 1}},
            "seeds": 2,
            "folds": 2,
            "intervals": "0.9",
            "out": str(tmp_path / "run"),
        }
    )
    res = run_backtest(cfg)
    p = res.predictions
    assert not p[["lo_0.9", "hi_0.9"]].isna().any().any()
    assert (p["lo_0.9"] <= p["y_pred"]).all() and (p["y_pred"] <= p["hi_0.9"]).all()
    ens = p[p["model"] == "mlp-ensemble"].reset_index(drop=True)
    seeds = [p[(p["model"] == "mlp") & (p["seed"] == s)].reset_index(drop=True) for s in (0, 1)]
    np.testing.assert_allclose(ens["hi_0.9"], (seeds[0]["hi_0.9"] + seeds[1]["hi_0.9"]) / 2)
    assert set(res.metrics["intervals"]["models"]) == {"naive", "mean", "mlp", "mlp-ensemble"}
