"""Wide tables (a date column plus one column per series): parsing, round trips, returns."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fincast
from fincast.cli import main
from fincast.data import load
from fincast.data.wide import DataNote, to_wide
from fincast.errors import ConfigError, DataError

from ..conftest import make_ohlcv


@st.composite
def wide_tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(3, 25))
    k = draw(st.integers(2, 5))
    dates = pd.bdate_range("2021-01-01", periods=n)
    columns = {}
    for j in range(k):
        vals = draw(
            st.lists(
                st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False),
                min_size=n,
                max_size=n,
            )
        )
        col = np.array(vals, dtype="float64")
        start = draw(st.integers(0, n - 2))  # ragged: a series may start late, end early
        stop = draw(st.integers(start + 2, n))
        col[:start] = np.nan
        col[stop:] = np.nan
        columns[f"S{j}"] = col
    return pd.DataFrame({"Date": dates, **columns})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wide_tables())
def test_wide_to_long_to_wide_round_trips(table):
    before = copy.deepcopy(table)
    ds = load(table, wide=True)
    pd.testing.assert_frame_equal(table, before)  # the caller's frame is untouched
    assert ds.target == "close" and sorted(ds.ids) == sorted(c for c in table if c != "Date")
    back = to_wide(ds.frame, "close", date_col="Date")
    expected = table.dropna(how="all", subset=[c for c in table if c != "Date"])
    expected = expected.reset_index(drop=True)
    pd.testing.assert_frame_equal(
        back, expected[back.columns], check_dtype=False, check_index_type=False
    )


def test_long_to_wide_to_long_round_trips():
    long = make_ohlcv(ids=("AAA", "BBB", "CCC"))
    ds = load(long, target="Close")
    wide = to_wide(ds.frame, "Close")
    again = load(wide, wide=True)
    merged = ds.frame.merge(again.frame, on=["id", "date"])
    assert len(merged) == len(ds.frame)
    np.testing.assert_array_equal(merged["Close"], merged["close"])


def test_returns_become_an_index_whose_log_returns_are_the_tables():
    prices = to_wide(load(make_ohlcv(ids=("AAA", "BBB")), target="Close").frame, "Close")
    returns = prices.copy()
    for col in ("AAA", "BBB"):
        returns[col] = prices[col].pct_change()
    ds = load(returns, wide=True, values="returns")
    for col in ("AAA", "BBB"):
        index = ds.frame.loc[ds.frame["id"] == col, "close"].to_numpy()
        np.testing.assert_allclose(
            np.diff(np.log(index)), np.diff(np.log(prices[col].to_numpy()))[1:], atol=1e-12
        )
    with pytest.raises(DataError, match="-100% or less"):
        load(returns.assign(AAA=-1.5), wide=True, values="returns")


def test_level_tasks_are_refused_for_returns():
    with pytest.raises(ConfigError, match="--task level forecasts the price level"):
        fincast.backtest(make_ohlcv(), task="level", values="returns")


def test_detection_is_noted_and_only_where_unambiguous(tmp_path, capsys):
    table = to_wide(load(make_ohlcv(ids=("AAA", "BBB")), target="Close").frame, "Close")
    with pytest.warns(DataNote, match=r"read as a wide table of prices.*\(2: AAA, BBB\)"):
        ds = load(table)
    assert ds.ids == ["AAA", "BBB"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataNote)
        load(make_ohlcv())  # OHLCV fields: one series, no note
        with pytest.raises(DataError, match="several numeric columns"):
            load(table, wide=False)
        assert load(table, target="AAA").ids == ["data"]  # --target: one column
    with pytest.raises(DataError, match="holds series ids, so the table is long"):
        load(make_ohlcv(), wide=True)
    path = tmp_path / "wide.csv"
    table.to_csv(path, index=False)
    assert main(["validate", str(path), "--wide"]) == 0
    assert "note:" not in capsys.readouterr().err  # asked for: nothing to note
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"note: {path.name}: read as a wide table of prices, one series per column "
                   "(2: AAA, BBB); pass --target COLUMN to forecast one column instead"]  # fmt: skip


def test_a_wide_dataframe_backtests_as_a_panel():
    table = to_wide(load(make_ohlcv(ids=("AAA", "BBB", "CCC")), target="Close").frame, "Close")
    result = fincast.backtest(table.set_index("date"), wide=True, models=["naive"], folds=2)
    assert set(result.predictions["id"]) == {"AAA", "BBB", "CCC"}


def test_a_model_trained_on_a_wide_table_of_returns_predicts_from_one(tmp_path):
    prices = to_wide(load(make_ohlcv(ids=("AAA", "BBB")), target="Close").frame, "Close")
    returns = prices.assign(AAA=prices["AAA"].pct_change(), BBB=prices["BBB"].pct_change())
    path = fincast.train(
        returns, models=["seed-mlp"], epochs=1, lookback=5, values="returns", out=tmp_path / "m"
    )
    assert path.info["reader"] == {"wide": True, "values": "returns"}
    forecast = fincast.predict(path, returns)  # read the same way: wide, returns
    assert forecast["id"].tolist() == ["AAA", "BBB"]
    assert forecast["origin"].iloc[0] == str(prices["date"].max().date())
