"""Shared fixtures: small synthetic market data made in code (no files outside tests)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pandas as pd
import pytest


def make_ohlcv(
    n: int = 300, *, seed: int = 0, ids: tuple[str, ...] = ("AAA",), drift: float = 0.0
) -> pd.DataFrame:
    """A long-format OHLCV panel following a geometric random walk."""
    rng = np.random.default_rng(seed)
    frames = []
    dates = pd.bdate_range("2015-01-01", periods=n)
    for sid in ids:
        ret = rng.normal(drift, 0.01, n)
        close = 100 * np.exp(np.cumsum(ret))
        open_ = close * np.exp(rng.normal(0, 0.003, n))
        high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n)))
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n)))
        vol = rng.integers(1_000, 10_000, n).astype(float)
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "ticker": sid,
                    "Open": open_,
                    "High": high,
                    "Low": low,
                    "Close": close,
                    "Volume": vol,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def ohlcv() -> pd.DataFrame:
    return make_ohlcv()


@pytest.fixture
def ohlcv_csv(tmp_path, ohlcv):
    path = tmp_path / "prices.csv"
    ohlcv.drop(columns="ticker").to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _models_registry_restored():
    """A test that registers a model (``models={"mine": build}`` registers the builder)
    leaves the registry as it found it, so tests do not depend on their order."""
    from fincast.models import MODELS

    before = dict(MODELS)
    yield
    MODELS.clear()
    MODELS.update(before)
