"""Exchange calendars: forecasts dated on trading sessions, around holidays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fincast
from fincast.cli import main
from fincast.data.calendar import (
    business_days_after,
    calendar_for,
    data_holidays,
    next_sessions,
    off_calendar_dates,
)
from fincast.errors import ConfigError


@pytest.mark.parametrize(
    ("code", "origin", "horizons", "expected"),
    [
        ("XNYS", "2018-12-31", [1, 2], ["2019-01-02", "2019-01-03"]),  # New Year's Day
        ("XNYS", "2018-12-21", [1, 2, 5], ["2018-12-24", "2018-12-26", "2018-12-31"]),
        ("XNYS", "2018-11-21", [1], ["2018-11-23"]),  # Thanksgiving
        ("XNYS", "2019-04-18", [1], ["2019-04-22"]),  # Good Friday
        ("XNYS", "2018-12-29", [1], ["2018-12-31"]),  # an origin on a weekend
        ("XLON", "2018-12-24", [1], ["2018-12-27"]),  # Christmas and Boxing Day
        ("xnys", "2019-07-03", [1], ["2019-07-05"]),  # codes in any case; Independence Day
    ],
)
def test_next_sessions_skip_holidays(code, origin, horizons, expected):
    got = next_sessions(calendar_for(code, None), pd.Timestamp(origin), horizons)
    assert [str(got[h].date()) for h in horizons] == expected


def test_calendar_defaults():
    assert calendar_for(None, "builtin:sp500") == "XNYS"
    assert calendar_for(None, "builtin:nasdaq") == "XNYS"
    assert calendar_for(None, "prices.csv") is None
    assert calendar_for("none", "builtin:sp500") is None


def _us_sessions_to_2018(n: int = 260) -> pd.DataFrame:
    """A series on XNYS sessions ending 2018-12-31 (so the next session is 2019-01-02)."""
    days = pd.bdate_range(end="2018-12-31", periods=n + 20)
    days = days[~days.isin(off_calendar_dates("XNYS", days))][-n:]
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, len(days))))
    return pd.DataFrame({"Date": days, "Close": close})


def test_predict_dates_forecasts_on_the_next_trading_session(tmp_path):
    df = _us_sessions_to_2018()
    by_data = fincast.train(df, models=["seed-mlp"], epochs=1, lookback=5, horizon=[1, 3])
    plain = by_data.predict(df)  # no calendar: the data's business days
    assert plain["target_date"].tolist() == ["2019-01-01", "2019-01-03"]
    assert by_data.predict(df, calendar="XNYS")["target_date"].tolist() == [
        "2019-01-02",
        "2019-01-04",
    ]
    on_xnys = fincast.train(
        df,
        models=["seed-mlp"],
        epochs=1,
        lookback=5,
        horizon=[1, 3],
        calendar="XNYS",
        out=tmp_path / "m",
    )
    assert fincast.predict(on_xnys, df)["target_date"].tolist() == ["2019-01-02", "2019-01-04"]
    assert fincast.predict(on_xnys, df, calendar="none")["target_date"].iloc[0] == "2019-01-01"


def test_unknown_code_exits_2_listing_close_matches(capsys, tmp_path):
    path = tmp_path / "p.csv"
    _us_sessions_to_2018(60).to_csv(path, index=False)
    code = main(["backtest", str(path), "--calendar", "XNSY", "--models", "naive",
                 "--out", str(tmp_path / "r"), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "'XNSY' is not an exchange calendar code; did you mean XNYS" in err[0]
    assert not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match="did you mean XLON"):
        fincast.backtest(path, calendar="XLNO", out=None)


def test_dates_that_are_not_sessions_are_reported():
    df = _us_sessions_to_2018(120)
    holiday = pd.DataFrame({"Date": [pd.Timestamp("2018-11-22")], "Close": [100.0]})
    df = pd.concat([df, holiday]).sort_values("Date").reset_index(drop=True)
    result = fincast.backtest(df, models=["naive"], folds=2, calendar="XNYS")
    assert any("1 date(s) of the data are not XNYS trading sessions (2018-11-22)" in w
               for w in result.warnings)  # fmt: skip
    quiet = fincast.backtest(df, models=["naive"], folds=2)
    assert not any("trading sessions" in w for w in quiet.warnings)


def test_fixed_holidays_are_inferred_from_the_data():
    sp500 = fincast.load("builtin:sp500").frame["date"]
    assert data_holidays(sp500) == ["01-01", "07-04", "12-25"]
    assert data_holidays(pd.bdate_range("2015-01-01", periods=900)) == []  # every weekday
    got = business_days_after(pd.Timestamp("2018-12-31"), [1, 2], ["01-01", "12-25"])
    assert [str(d.date()) for d in got.values()] == ["2019-01-02", "2019-01-03"]


def test_without_a_calendar_predict_skips_the_datas_own_holidays():
    df = _us_sessions_to_2018(1000)  # four years: New Year's Day is never a row
    model = fincast.train(df, models=["seed-mlp"], epochs=1, lookback=5)
    assert "01-01" in model.info["holidays"] and model.info["calendar"] is None
    assert model.predict(df)["target_date"].tolist() == ["2019-01-02"]
