"""Range and realised volatility estimators (issue 25): values, bias, errors, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fincast
from fincast.data import session_bars, session_date
from fincast.errors import ConfigError, DataError
from fincast.tasks import VOL_ESTIMATORS, TaskSpec, build_targets

ROLES = {r: r for r in ("open", "high", "low", "close")}
RANGE = ("parkinson", "garman-klass", "rogers-satchell", "yang-zhang")


def step_var(frame: pd.DataFrame, estimator: str, roles=ROLES) -> pd.Series:
    """The per-step variance ``v_t``: the square of the naive forecast at horizon 1."""
    task = TaskSpec("volatility", vol_estimator=estimator)
    return build_targets(frame, "close", task, roles)["naive"][1] ** 2


def test_hand_computed_day():
    """O 100, H 110, L 95, C 105 after a close of 98; the numbers worked out by hand.

    ln(H/L) = 0.1466035, ln(C/O) = 0.0487902, ln(H/C) = 0.0465200, ln(H/O) = 0.0953102,
    ln(L/C) = -0.1000835, ln(L/O) = -0.0512933, ln(O/C') = 0.0202027.
    GK = 0.5 * 0.0214926 - 0.3862944 * 0.0023805 = 0.0098267
    RS = 0.0465200 * 0.0953102 + 0.1000835 * 0.0512933 = 0.0095674
    YZ = 0.0004082 + (0.34/2.34) * 0.0023805 + (2/2.34) * 0.0095674 = 0.0089313
    """
    f = pd.DataFrame(
        {
            "id": "a",
            "date": pd.bdate_range("2020-01-01", periods=2),
            "open": [97.0, 100.0],
            "high": [99.0, 110.0],
            "low": [96.0, 95.0],
            "close": [98.0, 105.0],
        }
    )
    want = {
        "parkinson": 0.0077518,
        "garman-klass": 0.0098267,
        "rogers-satchell": 0.0095674,
        "yang-zhang": 0.0089313,
    }
    for est, value in want.items():
        assert step_var(f, est).iloc[1] == pytest.approx(value, abs=1e-7), est
    assert np.isnan(step_var(f, "yang-zhang").iloc[0])  # no previous close yet
    assert step_var(f, "garman-klass").iloc[0] == pytest.approx(
        0.5 * np.log(99 / 96) ** 2 - (2 * np.log(2) - 1) * np.log(98 / 97) ** 2
    )


def simulate(n=20000, m=20, sigma=0.01, sigma_o=0.005, mu=0.0, seed=0) -> pd.DataFrame:
    """Days of a Brownian motion of log price with volatility ``sigma`` (per day, open to
    close) and drift ``mu``, after an overnight N(0, sigma_o^2) jump from the last close.

    High and low are exact: each of the day's ``m`` sub-steps draws its bridge maximum and
    minimum, ``(a + b ± sqrt((b - a)^2 - 2 sigma^2 dt ln U)) / 2`` (a discretely sampled
    path would miss the extremes between its points and bias every range estimator down).
    """
    rng = np.random.default_rng(seed)
    dt = 1.0 / m
    path = np.cumsum(rng.normal(mu * dt, sigma * np.sqrt(dt), (n, m)), axis=1)
    path = np.concatenate([np.zeros((n, 1)), path], axis=1)
    a, b = path[:, :-1], path[:, 1:]
    spread = [
        np.sqrt((b - a) ** 2 - 2 * sigma**2 * dt * np.log(rng.uniform(size=(n, m))))
        for _ in range(2)
    ]
    high = ((a + b + spread[0]) / 2).max(axis=1)
    low = ((a + b - spread[1]) / 2).min(axis=1)
    jump = rng.normal(0, sigma_o, n)
    log_open = np.concatenate([[0.0], np.cumsum(jump + path[:, -1])[:-1]]) + jump
    return pd.DataFrame(
        {
            "id": "s",
            "date": pd.bdate_range("2000-01-03", periods=n),
            "open": np.exp(log_open),
            "high": np.exp(log_open + high),
            "low": np.exp(log_open + low),
            "close": np.exp(log_open + path[:, -1]),
        }
    )


def test_each_estimator_mean_matches_the_simulated_variance():
    """Range estimators: the open-to-close sigma^2; close and Yang-Zhang add the jump's."""
    sigma, sigma_o = 0.01, 0.005
    f = simulate(sigma=sigma, sigma_o=sigma_o)
    se = {}
    for est in ("close", *RANGE):
        v = step_var(f, est).dropna()
        want = sigma**2 + (sigma_o**2 if est in ("close", "yang-zhang") else 0.0)
        se[est] = v.std() / np.sqrt(len(v))
        assert abs(v.mean() - want) < 4 * se[est], (est, v.mean(), want)
    # the point of a range estimator: a much smaller sampling error than r^2
    assert se["yang-zhang"] < 0.5 * se["close"] and se["garman-klass"] < 0.4 * se["close"]


def test_rogers_satchell_is_unbiased_under_a_drift_and_parkinson_is_not():
    sigma = 0.01
    f = simulate(n=10000, sigma=sigma, mu=2 * sigma, sigma_o=0.0, seed=3)
    rs, park = step_var(f, "rogers-satchell").dropna(), step_var(f, "parkinson").dropna()
    assert abs(rs.mean() - sigma**2) < 4 * rs.std() / np.sqrt(len(rs))
    assert park.mean() > 1.2 * sigma**2


@pytest.mark.parametrize("est", ["garman-klass", "rogers-satchell", "yang-zhang"])
def test_missing_columns_are_one_line_config_errors(est):
    f = simulate(n=30)
    with pytest.raises(ConfigError) as info:
        step_var(f.drop(columns="open"), est, {r: r for r in ("high", "low", "close")})
    msg = str(info.value)
    assert "\n" not in msg
    assert f"vol_estimator {est} needs open, high, low and close columns" in msg
    assert "no open column" in msg and "--vol-estimator close or parkinson" in msg
    with pytest.raises(ConfigError, match=r"no open, high and low column;.*close$"):
        step_var(f, est, {"close": "close"})


def test_realized_reads_the_rv_column_and_refuses_bars_or_a_missing_column():
    f = simulate(n=30)
    f["RV"] = np.arange(30) * 1e-4
    np.testing.assert_allclose(step_var(f, "realized").iloc[1:], f["RV"].iloc[1:])
    with pytest.raises(ConfigError, match="realized needs a realised-variance column"):
        step_var(f.drop(columns="RV"), "realized")
    bars = f.copy()
    bars["date"] = pd.Timestamp("2024-01-02 14:30") + pd.to_timedelta(np.arange(30) * 5, "min")
    with pytest.raises(DataError, match=r"series s has several rows on 2024-01-02 .*session_bars"):
        step_var(bars, "realized")


def _bars(seed: int, days: int = 6, per_day: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stamps = [
        pd.Timestamp("2024-01-01 22:00") + pd.Timedelta(days=d) + pd.Timedelta(hours=3 * i)
        for d in range(days)
        for i in range(per_day)
    ]
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.002, len(stamps))))
    return pd.DataFrame(
        {
            "id": "X",
            "date": stamps,
            "open": close * np.exp(rng.normal(0, 0.001, len(stamps))),
            "high": close * 1.002,
            "low": close * 0.998,
            "close": close,
            "volume": 1.0,
        }
    )


def test_session_bars_sums_the_squared_returns_within_each_session():
    bars = _bars(0)
    out = session_bars(bars, session_offset="2h")  # 22:00 starts the next day's session
    assert out["date"].tolist() == list(pd.date_range("2024-01-02", periods=6))
    assert (out["n_bars"] == 8).all() and (out["volume"] == 8.0).all()
    first = bars.iloc[:8]
    r = np.diff(np.log(first["close"]))
    rv = np.log(first["close"].iloc[0] / first["open"].iloc[0]) ** 2 + np.sum(r**2)
    assert out["rv"].iloc[0] == pytest.approx(rv, rel=1e-12)
    assert out["open"].iloc[0] == first["open"].iloc[0]
    assert out["close"].iloc[0] == first["close"].iloc[-1]
    assert out["high"].iloc[0] == first["high"].max()
    plain = session_bars(bars)  # offset 0: calendar days, the 22:00 bars start a day early
    assert plain["date"].iloc[0] == pd.Timestamp("2024-01-01") and len(plain) == 7
    assert not bars.columns.difference(_bars(0).columns).size  # the input is untouched
    pd.testing.assert_frame_equal(bars, _bars(0))
    with pytest.raises(DataError, match="session_offset must be in"):
        session_date(bars["date"], "25h")


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(1, 47), seed=st.integers(0, 1000))
def test_session_bars_never_look_ahead(cut, seed):
    """Bars after a cut (redrawn, or gone) change no session that ended before it."""
    bars = _bars(seed)
    later = bars.index >= cut
    moved = bars.copy()
    moved.loc[later, ["open", "high", "low", "close"]] *= 1.5
    ends = bars["date"].iloc[cut - 1]
    settled = session_date(pd.Series([ends]), "2h").iloc[0]
    a = session_bars(bars, session_offset="2h")
    for other in (moved, bars[~later]):
        b = session_bars(other, session_offset="2h")
        # every session before the cut's own is complete and the same
        pd.testing.assert_frame_equal(
            a[a["date"] < settled], b[b["date"] < settled], check_exact=True
        )
    # a bar's session is its own timestamp's: the same alone as among the others
    one = session_date(bars["date"].iloc[[cut]], "2h").iloc[0]
    assert one == session_date(bars["date"], "2h").iloc[cut]


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(12, 40),
    cut=st.floats(0.2, 0.8),
    horizon=st.integers(1, 4),
    seed=st.integers(0, 1000),
    est=st.sampled_from(VOL_ESTIMATORS),
)
def test_targets_read_only_later_rows_and_naive_only_earlier(n, cut, horizon, seed, est):
    """Redrawing the rows after T moves no naive forecast dated <= T nor any target whose
    h steps end by T; redrawing the rows before T moves no target dated >= T."""
    f = simulate(n=n, m=4, seed=seed)
    f["rv"] = np.random.default_rng(seed).uniform(0, 1e-4, n)
    t = int(cut * n)
    task = TaskSpec("volatility", (horizon,), vol_estimator=est)
    base = build_targets(f, "close", task, ROLES)
    for rows in (f.index > t, f.index < t):
        g = f.copy()
        shock = np.exp(np.random.default_rng(seed + 1).normal(0, 0.05, rows.sum()))
        for col in ("open", "high", "low", "close"):
            g.loc[rows, col] = g.loc[rows, col] * shock * (1.3 if col == "high" else 1.0)
        g.loc[rows, "rv"] = g.loc[rows, "rv"] * 3.0
        other = build_targets(g, "close", task, ROLES)
        # not vacuous: the targets just after T (future) or the naive just before it (past)
        # do move
        moves = other["y"] if rows[-1] else other["naive"]
        row = t if rows[-1] else t - 1
        if np.isfinite(moves[horizon].iloc[row]):
            base_moves = base["y"] if rows[-1] else base["naive"]
            assert moves[horizon].iloc[row] != base_moves[horizon].iloc[row]
        if rows[-1]:  # the future changed
            known = f.index <= t
            ended = f.index + horizon <= t
            pd.testing.assert_series_equal(
                base["naive"][horizon][known], other["naive"][horizon][known], check_exact=True
            )
            pd.testing.assert_series_equal(
                base["y"][horizon][ended], other["y"][horizon][ended], check_exact=True
            )
        else:  # the past changed: equal up to the rounding of pandas' running window sums
            after = f.index >= t
            pd.testing.assert_series_equal(
                base["y"][horizon][after], other["y"][horizon][after], rtol=1e-10, atol=0
            )


def test_realized_backtest_from_intraday_bars(tmp_path):
    """Bars -> sessions -> a volatility backtest on the sessions' realised variance."""
    rng = np.random.default_rng(1)
    days = pd.bdate_range("2023-01-02", periods=160)
    stamps = np.concatenate(
        [
            d + pd.Timedelta(hours=14, minutes=30) + pd.to_timedelta(np.arange(13) * 30, "min")
            for d in days
        ]
    )
    sigma = np.repeat(0.002 * np.exp(np.cumsum(rng.normal(0, 0.1, len(days)))), 13)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1, len(stamps)) * sigma))
    bars = pd.DataFrame(
        {"date": stamps, "open": close, "high": close, "low": close, "close": close}
    )
    sessions = session_bars(bars, id_col=None)
    assert len(sessions) == len(days) and (sessions["n_bars"] == 13).all()
    result = fincast.backtest(
        sessions,
        task="volatility",
        vol_estimator="realized",
        models=["ridge"],
        baselines=["naive"],
        folds=2,
        test_size=20,
        out=None,
    )
    pred = result.predictions
    naive = pred[pred["model"] == "naive"].sort_values("date")
    rv = sessions.set_index("date")["rv"]
    want = np.sqrt(rv.shift(-1).reindex(naive["date"]).to_numpy())
    np.testing.assert_allclose(naive["y_true"], want, rtol=1e-9)  # the table keeps 12 digits
