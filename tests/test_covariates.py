"""Covariates joined as of each row's date: semantics, bad input, no look-ahead, no leak."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fincast.api import backtest
from fincast.cli import main
from fincast.config import build_config
from fincast.data import load
from fincast.data.covariates import covariate_features, load_covariates, parse_lag
from fincast.design import build_design
from fincast.errors import ConfigError, DataError
from fincast.features import FeatureSpec
from fincast.tasks import TaskSpec

D = pd.bdate_range("2021-01-04", periods=12)


def frame(ids=("A", "B"), dates=D) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": np.repeat(list(ids), len(dates)), "date": np.tile(dates, len(ids))}
    ).astype({"id": object})


def joined(entry, data=None) -> pd.DataFrame:
    data = frame() if data is None else data
    covs = load_covariates([entry], sorted(data["id"].unique()))
    return covariate_features(data, covs)


def test_a_value_is_used_from_its_date_plus_the_lag_in_calendar_rows():
    cov = pd.DataFrame({"date": [D[2], D[5]], "x": [1.0, 2.0]})
    lag0 = joined({"path": cov})["cov_x"].to_numpy()[:12]
    np.testing.assert_array_equal(lag0[:2], [np.nan, np.nan])
    np.testing.assert_array_equal(lag0[2:], [1, 1, 1, 2, 2, 2, 2, 2, 2, 2])
    lag2 = joined({"path": cov, "lag": 2})["cov_x"].to_numpy()[:12]
    np.testing.assert_array_equal(lag2[4:9], [1, 1, 1, 2, 2])
    assert np.isnan(lag2[:4]).all()
    # a value dated on a weekend is usable from the next trading row (lag 0) or the one after
    sat = pd.DataFrame({"date": [pd.Timestamp("2021-01-09")], "x": [5.0]})
    got = joined({"path": sat, "lag": 1})["cov_x"].to_numpy()[:12]
    assert np.isnan(got[:6]).all() and (got[6:] == 5).all()  # Mon 11th is row 5, Tue row 6


def test_a_calendar_offset_lag_adds_months():
    dates = pd.bdate_range("2021-01-01", "2021-04-30")
    monthly = pd.DataFrame({"date": ["2021-01-01", "2021-02-01", "2021-03-01"], "cpi": [1, 2, 3]})
    got = joined({"path": monthly, "lag": "1M"}, frame(("A",), dates)).set_index(dates)["cov_cpi"]
    assert np.isnan(got[:"2021-01-29"]).all()
    assert got["2021-02-01"] == 1 and got["2021-02-26"] == 1 and got["2021-03-01"] == 2
    assert got["2021-04-01"] == 3 and parse_lag("2q") == pd.DateOffset(months=6)


def test_by_id_long_and_wide_tables_and_transforms():
    long = pd.DataFrame({"date": [D[0], D[0], D[3]], "ticker": ["A", "B", "A"], "s": [1, 10, 4]})
    got = joined({"path": long}).to_numpy().ravel()
    assert got[0] == 1 and got[3] == 4 and (got[12:] == 10).all()
    wide = pd.DataFrame({"date": D[:3], "A": [1.0, 2.0, 4.0], "B": [1.0, 1.0, 1.0]})
    diff = joined({"path": wide, "by": "id", "transform": "diff"})["cov_covariate"].to_numpy()
    assert np.isnan(diff[0]) and diff[1] == 1 and diff[2] == 2 and diff[11] == 2
    logd = joined({"path": wide, "by": "id", "transform": "log_diff"}).to_numpy().ravel()
    assert logd[2] == pytest.approx(np.log(2)) and logd[13] == 0
    glob = joined({"path": long.drop(columns="ticker").iloc[[0, 2]], "by": "global"})
    assert glob.iloc[12, 0] == 1 and glob.iloc[15, 0] == 4


@pytest.mark.parametrize(
    ("cov", "entry", "error", "words"),
    [
        (pd.DataFrame({"when": D, "x": 1.0}), {}, DataError, "no date column"),
        (
            pd.DataFrame({"date": pd.bdate_range("2010-01-01", periods=5), "x": 1.0}),
            {},
            DataError,
            "never overlaps the data",
        ),
        (
            pd.DataFrame({"date": [D[0], D[0]], "id": ["A", "A"], "x": [1.0, 2.0]}),
            {},
            DataError,
            "appears twice for series A",
        ),
        (pd.DataFrame({"date": D[:2], "x": ["1.5", "high"]}), {}, DataError, "non-numeric"),
        (pd.DataFrame({"date": D[:2], "x": [1.0, np.nan]}), {}, DataError, "missing values"),
        (pd.DataFrame({"date": D[:2], "x": 1.0}), {"lag": -1}, ConfigError, "negative"),
        (pd.DataFrame({"date": D[:2], "x": 1.0}), {"lag": "soon"}, ConfigError, "not a lag"),
        (pd.DataFrame({"date": D[:2], "x": 1.0}), {"transform": "pct"}, ConfigError, "not known"),
        (
            pd.DataFrame({"date": D[:2], "id": "A", "x": 1.0}),
            {},
            DataError,
            "no values for series B",
        ),
    ],
)
def test_bad_covariates_are_one_line_errors(cov, entry, error, words):
    with pytest.raises(error, match=words) as info:
        joined({"path": cov, **entry})
    assert "\n" not in str(info.value)


def test_missing_values_follow_fillna():
    cov = pd.DataFrame({"date": D[:3], "x": [1.0, np.nan, 3.0]})
    assert joined({"path": cov, "fillna": "ffill"})["cov_x"].iloc[1] == 1
    assert joined({"path": cov, "fillna": "drop"})["cov_x"].iloc[1] == 1


def test_negative_lag_on_the_command_line_exits_2(tmp_path, capsys):
    path = tmp_path / "cov.csv"
    pd.DataFrame({"date": D, "x": 1.0}).to_csv(path, index=False)
    code = main(["backtest", "builtin:sp500", "--covariates", f"{path},lag=-1"])
    err = capsys.readouterr().err
    assert code == 2 and "negative" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ConfigError, match="negative"):
        build_config({"covariates": [{"path": "x.csv", "lag": -2}]})
    cfg = build_config({"covariates": f"{path},lag=1M,transform=diff"})
    assert cfg.covariates == [{"path": str(path), "lag": "1M", "transform": "diff"}]


def prices(n: int, ids=("A", "B"), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n)
    rows = []
    for k, sid in enumerate(ids):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n) + 0.001 * k))
        rows.append(pd.DataFrame({"date": dates, "ticker": sid, "close": close}))
    return pd.concat(rows, ignore_index=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    lag=st.sampled_from([0, 1, 3, "2D", "1W", "1M"]),
    transform=st.sampled_from(["level", "diff", "log_diff"]),
    by=st.sampled_from(["id", "global"]),
    which=st.floats(0.3, 0.95),
    bump=st.floats(0.5, 50.0),
)
def test_perturbing_a_covariate_after_its_availability_changes_no_earlier_feature(
    seed, lag, transform, by, which, bump
):
    data = prices(60)
    ds = load(data)
    rng = np.random.default_rng(seed)
    cdates = pd.date_range("2019-12-20", periods=90, freq="D")[rng.random(90) < 0.6]
    if by == "id":
        cov = pd.concat([pd.DataFrame({"date": cdates, "ticker": s}) for s in ("A", "B")])
    else:
        cov = pd.DataFrame({"date": cdates})
    cov = cov.assign(x=rng.uniform(1, 10, len(cov))).reset_index(drop=True)
    j = int(which * (len(cov) - 1))
    changed = cov.copy()
    changed.loc[j, "x"] += bump
    lag_ = parse_lag(lag)
    calendar = np.sort(data["date"].unique())
    d = cov.loc[j, "date"]
    if isinstance(lag_, int):
        pos = np.searchsorted(calendar, d.to_datetime64()) + lag_
        available = calendar[pos] if pos < len(calendar) else pd.Timestamp.max
    else:
        available = d + lag_
    task, feats = TaskSpec("return", (1,)), FeatureSpec("default", 3)
    designs = []
    for table in (cov, changed):
        covs = load_covariates(
            [{"path": table, "lag": lag, "by": by, "transform": transform}], ["A", "B"]
        )
        designs.append(build_design(ds, task, feats, windows=True, covariates=covs))
    a, b = designs
    assert a.feature_names[-1] == "cov_x"
    before = pd.to_datetime(a.dates) < pd.Timestamp(available)
    np.testing.assert_array_equal(a.dates, b.dates)
    assume(before.any())  # a value available before the first usable row constrains nothing
    np.testing.assert_array_equal(a.X[before], b.X[before])
    np.testing.assert_array_equal(a.windows[before], b.windows[before])


@pytest.mark.parametrize(("shift", "lag", "leaks"), [(0, 0, False), (-1, 0, True), (-1, 1, False)])
def test_a_covariate_that_is_the_future_return_has_no_skill_when_dated_honestly(
    tmp_path, shift, lag, leaks
):
    """The realised return r(t -> t+1), dated t+1 (the day it is known), gives no skill.

    Dated t instead (shift -1: the look-ahead trap of a file keyed by period start) it leaks and
    ridge finds it; a lag of one row restores honesty.
    """
    data = prices(400, ids=("A",), seed=3)
    data.to_csv(tmp_path / "data.csv", index=False)
    ret = np.log(data["close"]).diff()
    cov = pd.DataFrame({"date": data["date"], "realised": ret.shift(shift)}).dropna()
    cov.to_csv(tmp_path / "cov.csv", index=False)
    result = backtest(
        str(tmp_path / "data.csv"),
        models=[],
        baselines=["naive", "ridge"],
        folds=2,
        covariates=[{"path": str(tmp_path / "cov.csv"), "lag": lag}],
        out=str(tmp_path / "run"),
    )
    skill = result.metrics["models"]["ridge"]["skill_vs_naive"]
    assert (skill > 0.5) if leaks else (skill < 0.05)


def test_calendar_features_come_from_the_row_date_alone():
    from fincast.features import calendar_features

    ds = load(prices(40))
    design = build_design(ds, TaskSpec("return", (1,)), FeatureSpec("+calendar", 3), windows=True)
    names = list(design.feature_names)
    assert names[-7:] == [
        "cal_dow",
        "cal_month",
        "cal_days_to_month_end",
        "cal_weekdays_to_month_end",
        "cal_sessions_to_month_end",
        "cal_holiday_next",
        "cal_holiday_prev",
    ]
    cal = calendar_features(pd.Series(pd.to_datetime(design.dates)))
    np.testing.assert_array_equal(design.X[:, -7:], cal.to_numpy(dtype="float32"))
    assert design.windows.shape[2] == len(names) - 2 - 2  # no ret_lag1, ret_lag2, rolling stats
    fri = calendar_features(pd.Series(pd.to_datetime(["2024-02-02"]))).iloc[0].tolist()
    assert fri == [4.0, 2.0, 27.0, 19.0, 18.0, 0.0, 0.0]  # Presidents' Day, 19 Feb 2024
    # XNYS holidays: Thanksgiving (Thu 26 Nov 2020), Good Friday (10 Apr 2020)
    days = pd.Series(pd.to_datetime(["2020-11-25", "2020-11-27", "2020-04-09", "2020-04-13"]))
    got = calendar_features(days)
    assert got["cal_holiday_next"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert got["cal_holiday_prev"].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert got["cal_sessions_to_month_end"].tolist() == [2.0, 1.0, 14.0, 13.0]
    # an ad-hoc closure (Hurricane Sandy, Mon 29 Oct 2012) was not known the Friday before
    assert calendar_features(pd.Series(pd.to_datetime(["2012-10-26"])))["cal_holiday_next"][0] == 0
    with pytest.raises(ConfigError, match=r"\+calendar"):
        FeatureSpec("default+moon")
