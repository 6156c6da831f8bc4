"""Features: values, and the no-look-ahead contract as a hypothesis property."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast.errors import ConfigError
from fincast.features import FeatureSpec, build_features
from fincast.tasks import TaskSpec, build_targets

from .conftest import make_ohlcv

ROLES = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}


def long(df: pd.DataFrame) -> pd.DataFrame:
    out = df.rename(columns={"ticker": "id"}).sort_values(["id", "date"], kind="stable")
    return out.reset_index(drop=True)


def test_default_features_values():
    f = long(make_ohlcv(40))
    feats = build_features(f, "Close", ROLES, FeatureSpec(lookback=5))
    close = f["Close"].to_numpy()
    np.testing.assert_allclose(feats["ret"].iloc[10], np.log(close[10] / close[9]))
    np.testing.assert_allclose(feats["ret_lag3"].iloc[10], np.log(close[7] / close[6]))
    np.testing.assert_allclose(feats["range"].iloc[10], np.log(f["High"][10] / f["Low"][10]))
    np.testing.assert_allclose(feats["rel_mean"].iloc[10], close[10] / close[6:11].mean() - 1)
    assert list(feats.columns[:5]) == ["ret", "ret_lag1", "ret_lag2", "ret_lag3", "ret_lag4"]
    # the first rows, whose window is not full, are missing, later ones complete
    assert feats.iloc[:5].isna().any(axis=1).all()
    assert feats.iloc[6:].notna().all().all()


def test_single_column_and_non_positive_series():
    f = pd.DataFrame(
        {
            "id": "m",
            "date": pd.date_range("2000", periods=30, freq="QS"),
            "x": np.sin(np.arange(30.0)),
        }
    )
    feats = build_features(f, "x", {}, FeatureSpec(lookback=4), log=False)  # --task level
    assert {"ret", "ret_lag3", "rel_mean", "volatility", "level"} <= set(feats.columns)
    np.testing.assert_allclose(feats["ret"].iloc[5], f["x"][5] - f["x"][4])


def test_raw_features_are_the_columns():
    f = long(make_ohlcv(10))
    feats = build_features(f, "Close", ROLES, FeatureSpec("raw"))
    assert list(feats.columns) == ["raw_Open", "raw_High", "raw_Low", "raw_Close", "raw_Volume"]
    np.testing.assert_array_equal(feats["raw_Close"], f["Close"])


def test_bad_feature_specs():
    with pytest.raises(ConfigError, match="lookback must be"):
        FeatureSpec(lookback=0)
    with pytest.raises(ConfigError, match="features 'fancy' is not known"):
        FeatureSpec("fancy")


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(25, 60),
    n_ids=st.integers(1, 3),
    lookback=st.integers(1, 8),
    cut=st.floats(0.2, 0.9),
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(["default", "raw"]),
    horizon=st.integers(1, 4),
)
def test_no_feature_or_naive_forecast_dated_up_to_t_changes_when_later_data_changes(
    n, n_ids, lookback, cut, seed, kind, horizon
):
    """The no-look-ahead contract: perturb every row dated after T, in every series."""
    f = long(make_ohlcv(n, seed=seed, ids=tuple(f"S{i}" for i in range(n_ids))))
    dates = np.sort(f["date"].unique())
    T = dates[int(cut * (len(dates) - 1))]
    later = f["date"] > T
    rng = np.random.default_rng(seed + 1)
    g = f.copy()
    for col in ["Open", "High", "Low", "Close", "Volume"]:
        g.loc[later, col] = g.loc[later, col] * np.exp(rng.normal(0, 0.5, later.sum()))
    spec = FeatureSpec(kind, lookback)
    a = build_features(f, "Close", ROLES, spec)
    b = build_features(g, "Close", ROLES, spec)
    early = ~later.to_numpy()
    pd.testing.assert_frame_equal(a[early], b[early])
    assert not a[~early].equals(b[~early])  # the perturbation did reach the later rows

    task = TaskSpec("direction", (horizon,))
    ta, tb = build_targets(f, "Close", task), build_targets(g, "Close", task)
    pd.testing.assert_frame_equal(ta["naive"][early], tb["naive"][early])
    # a target dated t describes t..t+h: unchanged only where t+h is still <= T
    pos = f.groupby("id").cumcount().to_numpy()
    last_early = f.loc[early].groupby("id").size().reindex(f["id"]).to_numpy()
    known = pos + horizon < last_early
    pd.testing.assert_frame_equal(ta["fwd_return"][known], tb["fwd_return"][known])


def test_target_dated_t_uses_the_future():
    """Changing only the future of t must change the target dated t (it looks ahead)."""
    f = long(make_ohlcv(30))
    g = f.copy()
    g.loc[20, "Close"] *= 1.5
    ta = build_targets(f, "Close", TaskSpec("return"))
    tb = build_targets(g, "Close", TaskSpec("return"))
    assert ta["y"][1][19] != tb["y"][1][19]
    assert ta["y"][1][:19].equals(tb["y"][1][:19])
