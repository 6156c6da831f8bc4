"""The target against the input file: y_true and fwd_return recomputed by hand (issue 18).

An OHLCV + Adj Close file where Close and Adj Close differ (a split and dividends). Every
task and horizon, with the default target (the adjusted close) and with ``--target Close``:
``fwd_return`` equals log(P[t+h] / P[t]) of that column in the file, and ``y_true`` is what
the task says it is, recomputed from the file with plain numpy.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fincast.backtest import run_backtest
from fincast.config import build_config
from fincast.tasks import TASKS

from .conftest import make_ohlcv

HORIZONS = [1, 3]


@pytest.fixture(scope="module")
def prices(tmp_path_factory):
    f = make_ohlcv(120, seed=11, ids=("AAA", "BBB"))
    f = f.drop(index=[130, 131, 175]).reset_index(drop=True)  # BBB misses a few dates
    # Adj Close differs from Close by more than a constant: dividends accumulate, and
    # AAA's Close halves at a 2:1 split that the adjusted series does not show
    rng = np.random.default_rng(5)
    f["Adj Close"] = f["Close"] * np.exp(-np.cumsum(rng.uniform(0, 0.002, len(f))))
    split = (f["ticker"] == "AAA") & (f.index >= 60)
    for c in ("Open", "High", "Low", "Close"):
        f.loc[~split & (f["ticker"] == "AAA"), c] *= 2.0
    path = tmp_path_factory.mktemp("oracle") / "prices.csv"
    f[["date", "ticker", "Open", "High", "Low", "Close", "Adj Close", "Volume"]].to_csv(
        path, index=False
    )
    return path, f


def _oracle(f: pd.DataFrame, column: str, h: int) -> pd.DataFrame:
    """Per (id, date): the price h rows later in the same series, by plain numpy."""
    rows = []
    for sid, part in f.groupby("ticker"):
        p = part[column].to_numpy(dtype="float64")
        logp = np.log(p)
        n = len(p)
        for i in range(n):
            fwd = logp[i + h] - logp[i] if i + h < n else np.nan
            steps = np.diff(logp[i : i + h + 1]) if i + h < n else np.array([np.nan])
            rows.append(
                {
                    "id": sid,
                    "date": part["date"].iloc[i],
                    "horizon": h,
                    "o_fwd": fwd,
                    "o_level": p[i + h] if i + h < n else np.nan,
                    "o_vol": np.sqrt(np.mean(steps**2)),
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("target", [None, "Close"])
@pytest.mark.parametrize("task", list(TASKS))
def test_y_true_and_fwd_return_equal_the_file_recomputed(tmp_path, prices, task, target):
    path, f = prices
    assert not np.allclose(f["Close"], f["Adj Close"])
    options = {"target": target} if target else {}
    cfg = build_config(
        {
            "data": str(path),
            "task": task,
            "horizon": HORIZONS,
            "lookback": 3,
            "folds": 2,
            "models": {},
            "baselines": ["naive"],
            "out": str(tmp_path / "run"),
            **options,
        }
    )
    result = run_backtest(cfg)
    pred = result.predictions
    column = target or "Adj Close"
    oracle = pd.concat([_oracle(f, column, h) for h in HORIZONS], ignore_index=True)
    oracle["date"] = pd.to_datetime(oracle["date"])
    pred["id"] = pred["id"].astype(str)
    m = pred.merge(oracle, on=["id", "date", "horizon"], how="left", validate="many_to_one")
    assert len(m) == len(pred) > 0 and m["o_fwd"].notna().all()
    assert set(m["horizon"]) == set(HORIZONS)
    np.testing.assert_allclose(m["fwd_return"], m["o_fwd"], rtol=1e-9, atol=1e-12)
    y = m["y_true"].to_numpy()
    if task in ("return", "quantile", "var"):  # var: a long position's return
        np.testing.assert_allclose(y, m["o_fwd"], rtol=1e-9, atol=1e-12)
    elif task == "level":
        np.testing.assert_allclose(y, m["o_level"], rtol=1e-9)
    elif task == "direction":
        np.testing.assert_array_equal(y, (m["o_fwd"] > 0).astype(float))
    elif task == "volatility":
        np.testing.assert_allclose(y, m["o_vol"], rtol=1e-9)
    else:  # trend3 / events: labels from the fold's fitted thresholds (metrics.json)
        folds = json.loads((result.run_dir / "metrics.json").read_text())["folds"]
        for fold in folds:
            for h in HORIZONS:
                part = m[(m["fold"] == fold["fold"]) & (m["horizon"] == h)]
                r = part["o_fwd"].to_numpy()
                th = fold["thresholds"][str(h)]
                if task == "trend3":
                    band = th["flat_band"]
                    expected = np.where(r > band, 2.0, np.where(r < -band, 0.0, 1.0))
                    np.testing.assert_array_equal(part["y_true"], expected)
                else:
                    for label in ("up_1pct", "down_1pct", "big_move"):
                        rows = part[part["label"] == label]
                        r = rows["o_fwd"].to_numpy()
                        hit = {
                            "up_1pct": r > th["up_1pct"],
                            "down_1pct": r < th["down_1pct"],
                            "big_move": np.abs(r) > th["big_move"],
                        }[label]
                        assert len(rows) == len(part) // 3 > 0
                        np.testing.assert_array_equal(rows["y_true"], hit.astype(float))
