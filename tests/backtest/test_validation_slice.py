"""Early stopping watches the chronological end of each training fold, never the test block."""

from typing import ClassVar

import numpy as np

from fincast.backtest import engine, prepare
from fincast.config import build_config

from ..conftest import make_ohlcv


class Recorder:
    """A stand-in model that keeps what the engine hands it."""

    calls: ClassVar[list] = []

    def __init__(self, task):
        self.task = task

    def fit(self, train, validation=None):
        Recorder.calls.append((train, validation))
        return self

    def predict(self, data):
        return np.zeros((len(data), len(self.task.horizons)))


def test_validation_rows_come_after_training_rows_and_before_the_gap(tmp_path, monkeypatch):
    csv = tmp_path / "p.csv"
    df = make_ohlcv(200).drop(columns="ticker")
    df["Close"] = np.arange(1, 201) * 1.0  # the close identifies the row's date
    df.to_csv(csv, index=False)
    config = build_config(
        {
            "data": str(csv),
            "models": {"mlp": {}},
            "patience": 2,
            "val_fraction": 0.2,
            "folds": 2,
            "lookback": 5,
            "horizon": [3],
        }
    )
    prep = prepare(config)
    monkeypatch.setattr(engine, "make_model", lambda name, task, params, seed: Recorder(task))
    Recorder.calls = []
    design = prep.design
    for fold in prep.folds:
        engine._fold_predictions(prep, "mlp", fold, 0)
        train, val = Recorder.calls[-1]
        assert val is not None and len(val) > 0
        # rows are identified by their X row; recover their date positions
        pos = {tuple(x): p for x, p in zip(design.X, design.date_pos, strict=True)}
        train_pos = np.array([pos[tuple(x)] for x in train.X])
        val_pos = np.array([pos[tuple(x)] for x in val.X])
        n_train = fold.train_end - fold.train_start
        assert val_pos.min() == fold.train_end - round(n_train * 0.2)
        assert val_pos.max() == fold.train_end - 1 < fold.test_start
        # a gap of the horizon between the last training row and the validation slice
        assert train_pos.max() <= val_pos.min() - 3 - 1
