"""The log-or-difference transform is decided without looking at later data (issue 18).

It used to be ``(value > 0).all()`` over the whole series: a rate that went negative in 2014
changed every feature and forecast dated before 2014. Now it follows the column's meaning
(a price column takes logs, any other column differences) or ``--transform``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast.backtest import run_backtest
from fincast.config import build_config
from fincast.errors import ConfigError, DataError
from fincast.features import FeatureSpec, build_features
from fincast.tasks import TaskSpec, build_targets

PRICES = {"close": "Close", "adj_close": "Adj Close"}


def test_uses_log_follows_the_task_and_the_column_not_the_values():
    assert TaskSpec("return").uses_log("rate", {})  # every task but level is on log returns
    assert TaskSpec("volatility").uses_log("rate", {})
    assert TaskSpec("level").uses_log("Adj Close", PRICES)  # a price column: logs
    assert not TaskSpec("level").uses_log("rate", PRICES)  # anything else: differences
    assert TaskSpec("level", transform="log").uses_log("rate", {})
    assert not TaskSpec("level", transform="diff").uses_log("Close", PRICES)
    with pytest.raises(ConfigError, match="--transform diff applies to --task level only"):
        TaskSpec("return", transform="diff")
    with pytest.raises(ConfigError, match="transform must be one of auto, log, diff"):
        TaskSpec("level", transform="sqrt")


def _rate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rate = 2.0 + np.cumsum(rng.normal(0, 0.05, n))
    return pd.DataFrame({"id": "r", "date": pd.bdate_range("2005-01-03", periods=n), "rate": rate})


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(40, 90),
    cut=st.floats(0.3, 0.8),
    lookback=st.integers(2, 6),
    horizon=st.integers(1, 3),
    seed=st.integers(0, 1000),
    after=st.sampled_from(["negative", "nan", "zero"]),
)
def test_a_sign_change_after_T_moves_no_feature_or_naive_forecast_dated_before_it(
    n, cut, lookback, horizon, seed, after
):
    f = _rate(n, seed)
    t = int(cut * n)
    g = f.copy()
    later = g.index > t
    if after == "negative":
        g.loc[later, "rate"] = g.loc[later, "rate"] - 10.0  # a rate going below zero
    elif after == "nan":
        g.loc[later, "rate"] = np.nan
    else:
        g.loc[later, "rate"] = 0.0
    for transform in ("auto", "diff", "log"):
        task = TaskSpec("level", (horizon,), transform=transform)
        log = task.uses_log("rate", {})
        spec = FeatureSpec(lookback=lookback)
        a = build_features(f, "rate", {}, spec, log=log)
        b = build_features(g, "rate", {}, spec, log=log)
        pd.testing.assert_frame_equal(a[~later], b[~later], check_exact=True)
        ta, tb = build_targets(f, "rate", task), build_targets(g, "rate", task)
        pd.testing.assert_frame_equal(ta["naive"][~later], tb["naive"][~later], check_exact=True)
        known = f.index + horizon <= t
        pd.testing.assert_frame_equal(ta["y"][known], tb["y"][known], check_exact=True)


def _dir(path):
    path.mkdir()
    return path


def _write(frame: pd.DataFrame, path) -> str:
    frame.rename(columns={"date": "Date"}).drop(columns="id").to_csv(path, index=False)
    return str(path)


def test_level_backtest_forecasts_before_a_later_sign_change_are_identical(tmp_path):
    """The issue's end-to-end case: a rate series that dips below zero after T."""
    f = _rate(700, 3)
    t = 560
    g = f.copy()
    g.loc[g.index > t, "rate"] -= 5.0
    assert (f["rate"] > 0).all() and (g["rate"] < 0).any()
    results = []
    for name, frame in (("a", f), ("b", g)):
        cfg = build_config(
            {
                "data": _write(frame, _dir(tmp_path / name) / "rate.csv"),
                "task": "level",
                "models": {"mlp": {}},
                "baselines": ["naive", "ridge"],
                "epochs": 2,
                "folds": 5,
                "lookback": 5,
                "out": str(tmp_path / f"run-{name}"),
            }
        )
        results.append(run_backtest(cfg).predictions)
    a, b = results
    cutoff = f["date"].iloc[t]
    early_folds = [
        k for k, part in a.groupby("fold") if part["date"].max() < cutoff
    ]  # test blocks (and so their training rows) end before T
    assert len(early_folds) >= 3
    for k in early_folds:
        pa = a[a["fold"] == k].reset_index(drop=True)
        pb = b[b["fold"] == k].reset_index(drop=True)
        assert set(pa["model"]) == {"naive", "ridge", "mlp"}
        pd.testing.assert_frame_equal(pa, pb, check_exact=True)


def test_log_transform_on_a_series_that_goes_negative_is_refused(tmp_path):
    g = _rate(300, 1)
    g.loc[200:, "rate"] -= 5.0
    cfg = build_config(
        {
            "data": _write(g, tmp_path / "neg.csv"),
            "task": "level",
            "transform": "log",
            "models": {},
            "out": str(tmp_path / "run"),
        }
    )
    with pytest.raises(DataError, match=r"non-positive values.*pass --transform diff"):
        run_backtest(cfg)
    assert not (tmp_path / "run").exists()
