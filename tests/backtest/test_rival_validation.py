"""The verdict's best classical rival is chosen on validation tails, never on test rows."""

from typing import ClassVar

import numpy as np
import pandas as pd

from fincast.backtest import engine, prepare
from fincast.config import build_config

from ..conftest import make_ohlcv


def _config(csv, **extra):
    return build_config(
        {
            "data": str(csv),
            "task": "volatility",
            "models": {"mlp": {}},
            "baselines": ["naive", "ridge", "har", "ewma"],
            "folds": 3,
            "lookback": 10,
            "horizon": [1],
            **extra,
        }
    )


class Recorder:
    """A stand-in baseline that keeps the rows the engine fits and predicts."""

    fits: ClassVar[list] = []
    predicts: ClassVar[list] = []

    def __init__(self, task):
        self.task = task

    def fit(self, train, validation=None):
        Recorder.fits.append(train)
        return self

    def predict(self, data):
        Recorder.predicts.append(data)
        return np.full((len(data), len(self.task.horizons)), 0.01)


def test_a_rival_is_fitted_before_the_tail_and_scored_on_it(tmp_path, monkeypatch):
    csv = tmp_path / "p.csv"
    df = make_ohlcv(400).drop(columns="ticker")
    df.to_csv(csv, index=False)
    prep = prepare(_config(csv, val_fraction=0.25))
    assert engine.is_rival(prep, "ridge") and not engine.is_rival(prep, "naive")
    assert not engine.is_rival(prep, "mlp")
    monkeypatch.setattr(engine, "make_model", lambda name, task, params, seed: Recorder(task))
    d = prep.design
    pos = {tuple(x): p for x, p in zip(d.X, d.date_pos, strict=True)}
    for fold in prep.folds:
        Recorder.fits, Recorder.predicts = [], []
        _, history = engine._fold_predictions(prep, "ridge", fold, 0)
        assert history["validation"]["dates"] > 0 and np.isfinite(history["validation"]["loss"])
        assert (
            len(Recorder.fits) == 2
        )  # the fold's model, then the rival's on the rows before the tail
        val_start = fold.train_end - round((fold.train_end - fold.train_start) * 0.25)
        before = np.array([pos[tuple(x)] for x in Recorder.fits[1].X])
        tail = np.array([pos[tuple(x)] for x in Recorder.predicts[1].X])
        assert before.max() < val_start - (fold.test_start - fold.train_end)
        assert tail.min() == val_start and tail.max() == fold.train_end - 1 < fold.test_start


def test_perturbing_test_rows_never_changes_the_rivals_choice(tmp_path):
    """Every fold's validation losses are the same when the prices of the last test
    block change, and change when the prices of a validation tail do (so the check can
    fail)."""
    df = make_ohlcv(420).drop(columns="ticker")
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    df.to_csv(a, index=False)
    prep_a = prepare(_config(a))
    last = prep_a.folds[-1]
    cut = pd.Timestamp(prep_a.design.calendar[last.test_start])
    rng = np.random.default_rng(3)
    dates = pd.to_datetime(df["date"])

    def shaken(mask):
        out = df.copy()
        k = np.exp(rng.normal(0, 0.05, int(mask.sum())).cumsum())
        for col in ("Open", "High", "Low", "Close"):
            out.loc[mask, col] = out.loc[mask, col] * k
        return out

    shaken(dates >= cut).to_csv(b, index=False)
    tail_start = pd.Timestamp(prep_a.design.calendar[last.train_end - 20])
    shaken(dates >= tail_start).to_csv(c, index=False)

    def losses(csv):
        prep = prepare(_config(csv))
        return {
            (name, fold.index): engine._fold_predictions(prep, name, fold, 0)[1]["validation"]
            for name in ("ridge", "har", "ewma")
            for fold in prep.folds
        }

    base = losses(a)
    assert losses(b) == base
    moved = losses(c)
    assert any(moved[("ridge", f)] != base[("ridge", f)] for f in (last.index,))
