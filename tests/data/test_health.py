"""Data health (issue 17): one test per check, the issue's reproductions, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast.data import check_health, load, screen
from fincast.data.health import SPLIT_RATIOS, adjust_splits
from fincast.errors import DataError
from tests.conftest import make_ohlcv


def _frame(n: int = 300, seed: int = 0, vol: float = 0.01) -> pd.DataFrame:
    frame = make_ohlcv(n, seed=seed).drop(columns="ticker")
    if vol != 0.01:
        rng = np.random.default_rng(seed)
        frame["Close"] = 100 * np.exp(np.cumsum(rng.normal(0, vol, n)))
        frame["Open"] = frame["Close"]
        frame["High"] = frame["Close"] * 1.001
        frame["Low"] = frame["Close"] * 0.999
    return frame


def _checks(frame: pd.DataFrame, **kw) -> list:
    return check_health(load(frame, name="S"), **kw)


class Options:
    def __init__(self, strict=False, adjust_splits=False, max_move=0.5, stale_run=10):
        self.strict, self.adjust_splits = strict, adjust_splits
        self.max_move, self.stale_run = max_move, stale_run


def test_clean_random_walk_has_no_findings():
    assert _checks(_frame()) == []


def test_unadjusted_split_is_found_at_its_date_with_its_ratio():
    frame = _frame()
    frame.loc[150:, ["Open", "High", "Low", "Close"]] /= 2
    (f,) = _checks(frame)
    assert (f.check, f.series, f.column, f.ratio) == ("split", "S", "Close", 0.5)
    assert f.dates == (str(frame["date"][150].date()),)
    assert "2:1 split" in f.text() and "--adjust-splits" in f.action


def test_reverse_split_is_named_as_such():
    frame = _frame()
    frame.loc[150:, ["Open", "High", "Low", "Close"]] *= 10
    (f,) = _checks(frame)
    assert f.ratio == 10 and "1:10 reverse split" in f.text()


def test_corrupt_1e300_price_is_a_spike_on_its_date():
    frame = _frame()
    frame.loc[120, "Close"] = 1e300
    found = _checks(frame)
    spike = [f for f in found if f.check == "spike"]
    assert len(spike) == 1 and spike[0].dates == (str(frame["date"][120].date()),)
    assert "1e+300" in spike[0].value and "--fillna ffill" in spike[0].action


def test_large_move_that_persists_but_is_no_split_is_a_move():
    frame = _frame()
    frame.loc[150:, ["Open", "High", "Low", "Close"]] *= 0.3  # log -1.2, no split ratio near
    (f,) = _checks(frame)
    assert f.check == "move" and f.ratio is None and "log move of -1.2" in f.value


def test_max_move_is_configurable():
    frame = _frame()
    frame.loc[150:, ["Open", "High", "Low", "Close"]] *= 0.62  # log -0.48: no split ratio
    assert _checks(frame) == []
    assert [f.check for f in _checks(frame, max_move=0.3)] == ["move"]


def test_stale_feed_of_100_days_is_found():
    frame = _frame()
    frame.loc[100:199, ["Open", "High", "Low", "Close"]] = frame.loc[99, "Close"]
    stale = [f for f in _checks(frame) if f.check == "stale"]
    assert len(stale) == 1 and stale[0].count == 101
    assert stale[0].dates == (str(frame["date"][99].date()), str(frame["date"][199].date()))
    assert stale[0].severity == "warning"
    assert [f for f in _checks(frame, stale_run=200) if f.check == "stale"] == []


def test_stale_run_at_a_coarse_tick_is_only_a_note():
    frame = _frame()
    frame["Close"] = (frame["Close"] / 5).round() * 5  # prices move in steps of 5 (~5 %)
    frame["Open"] = frame["High"] = frame["Low"] = frame["Close"]
    stale = [f for f in _checks(frame, stale_run=5) if f.check == "stale"]
    assert stale and all(f.severity == "info" and "rounding" in f.action for f in stale)


def test_zero_and_negative_volume():
    frame = _frame()
    frame.loc[40:59, "Volume"] = 0
    frame.loc[200, "Volume"] = -5
    found = [f for f in _checks(frame) if f.check == "volume"]
    assert [f.count for f in found] == [1, 20]
    assert "negative" in found[0].value and "0 on 20 consecutive" in found[1].value


def test_ohlc_inconsistency_counts_rows():
    frame = _frame()
    frame.loc[[10, 20], ["High", "Low"]] = frame.loc[[10, 20], ["Low", "High"]].to_numpy()
    (f,) = _checks(frame)
    assert f.check == "ohlc" and f.count == 2 and f.dates == (str(frame["date"][10].date()),)


def test_calendar_gap_beyond_holidays():
    frame = _frame().drop(index=range(100, 110)).reset_index(drop=True)
    (f,) = _checks(frame)
    assert f.check == "gap" and "no rows for 15 days" in f.value
    # a long weekend or a single holiday is no finding
    assert _checks(_frame().drop(index=[100, 101]).reset_index(drop=True)) == []


def test_close_split_that_adj_close_accounts_for_is_a_note_when_adj_close_is_the_target():
    frame = _frame()
    frame["Adj Close"] = frame["Close"]
    frame.loc[:149, ["Open", "High", "Low", "Close"]] *= 2  # Close unadjusted, Adj Close fine
    (f,) = _checks(frame)
    assert (f.check, f.column, f.ratio, f.severity) == ("split", "Close", 0.5, "info")
    assert "Adj Close" in f.value
    # forecasting Close itself, the same split is a warning
    (g,) = check_health(load(frame, name="S", target="Close"))
    assert g.severity == "warning" and "--adjust-splits" in g.action


def test_adj_close_disagreeing_with_close_on_one_date():
    frame = _frame()
    frame["Adj Close"] = frame["Close"] * 0.9
    frame.loc[100, "Adj Close"] = frame.loc[100, "Close"] * 0.6
    found = [f for f in _checks(frame, max_move=5) if f.check == "adjustment"]
    assert len(found) == 1 and "this date only" in found[0].value


def test_findings_carry_json():
    frame = _frame()
    frame.loc[120, "Close"] = 1e300
    d = _checks(frame)[0].to_dict()
    assert d["check"] == "spike" and d["series"] == "S" and isinstance(d["dates"], list)


def test_screen_strict_raises_one_line_and_adjust_splits_applies():
    frame = _frame()
    frame.loc[150:, ["Open", "High", "Low", "Close"]] /= 2
    frame.loc[150:, "Volume"] *= 2
    ds = load(frame, name="S")
    with pytest.raises(DataError, match=r"2:1 split.*\[--strict\]") as err:
        screen(ds, Options(strict=True))
    assert "\n" not in str(err.value)
    adjusted, notes = screen(ds, Options(strict=True, adjust_splits=True))
    assert len(notes) == 1 and "a 2:1 split on" in notes[0] and "Volume × 2" in notes[0]
    truth = _frame()
    truth[["Open", "High", "Low", "Close"]] /= 2
    truth["Volume"] *= 2
    truth = load(truth, name="S").frame
    pd.testing.assert_frame_equal(adjusted.frame, truth, check_exact=False, rtol=1e-12)
    assert ds.frame["Close"].iloc[0] == truth["Close"].iloc[0] * 2  # the input is untouched


def test_adjust_splits_without_splits_is_the_identity():
    ds = load(_frame(), name="S")
    assert adjust_splits(ds, check_health(ds)) == (ds, [])


def test_panel_findings_name_their_series():
    frame = make_ohlcv(300, ids=("AAA", "BBB"))
    frame.loc[(frame["ticker"] == "BBB") & (frame.index % 300 >= 200), "Close"] *= 3
    frame.loc[frame["ticker"] == "BBB", ["Open", "High", "Low"]] = np.nan
    frame = frame.drop(columns=["Open", "High", "Low"])
    (f,) = check_health(load(frame))
    assert (f.series, f.ratio) == ("BBB", 3)


@settings(max_examples=25, deadline=None)
@given(
    ratio=st.sampled_from([r for r in SPLIT_RATIOS if abs(np.log(r)) > 0.5]),
    at=st.integers(10, 280),
    seed=st.integers(0, 1000),
)
def test_property_any_listed_split_at_any_date_is_found_there(ratio, at, seed):
    frame = _frame(seed=seed)
    frame.loc[at:, ["Open", "High", "Low", "Close"]] *= ratio
    splits = [f for f in _checks(frame) if f.check == "split"]
    assert [(f.dates[0], f.ratio) for f in splits] == [(str(frame["date"][at].date()), ratio)]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), vol=st.floats(0.005, 0.04))
def test_property_random_walk_with_realistic_volatility_has_no_findings(seed, vol):
    assert _checks(_frame(n=1000, seed=seed, vol=vol)) == []


def test_split_adjusted_run_equals_the_run_on_adjusted_data(tmp_path, capsys):
    from fincast.cli import main

    adjusted = _frame(200)
    raw = adjusted.copy()
    raw.loc[:119, ["Open", "High", "Low", "Close"]] *= 2  # unadjusted: halves on row 120
    raw.loc[:119, "Volume"] /= 2
    for name, frame in (("good", adjusted), ("raw", raw)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    common = ["--models", "naive", "--baselines", "naive,ridge", "--folds", "2", "--quiet"]
    assert (
        main(["backtest", str(tmp_path / "good.csv"), "--out", str(tmp_path / "a"), *common]) == 0
    )
    argv = ["backtest", str(tmp_path / "raw.csv"), "--adjust-splits", "--out", str(tmp_path / "b")]
    assert main([*argv, *common]) == 0
    _, err = capsys.readouterr()
    assert "--adjust-splits: series raw, a 2:1 split on" in err
    a = (tmp_path / "a" / "predictions.csv").read_text()
    assert a == (tmp_path / "b" / "predictions.csv").read_text().replace("raw", "good")


def test_train_prints_data_warnings(tmp_path, capsys):
    from fincast.cli import main

    frame = _frame(200)
    frame.loc[100, "Close"] = 1e300
    frame.to_csv(tmp_path / "spiky.csv", index=False)
    argv = ["train", str(tmp_path / "spiky.csv"), "--out", str(tmp_path / "m"), "--epochs", "1"]
    assert main([*argv, "--lookback", "5"]) == 0
    _, err = capsys.readouterr()
    assert "warning: spike: series spiky, `Close`" in err
