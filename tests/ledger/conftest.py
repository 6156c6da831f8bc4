"""Shared fixtures of the ledger tests: builtin:sp500 and a tiny model trained on it."""

from __future__ import annotations

import pandas as pd
import pytest

import fincast
from fincast.results import TrainedModel

from ._helpers import no_fincast_warnings

TRAIN_END = "2018-10-31"


@pytest.fixture(scope="session")
def spx() -> pd.DataFrame:
    return fincast.load("builtin:sp500").frame


@pytest.fixture(scope="session")
def model(spx, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "spx"
    with no_fincast_warnings():
        saved = fincast.train(
            spx[spx["date"] <= TRAIN_END], out=out, models=["seed-mlp"], epochs=1, seed=0
        )
    forecaster, info = fincast.load_model(saved)  # loaded once, as a long-lived process would
    return TrainedModel(saved.model_dir, info, forecaster)
