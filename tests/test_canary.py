"""The leakage canary, with a positive control (issue 18).

On a pure random walk nothing is predictable: every model's direction AUC stays near 0.5
and none beats naive, at horizon 1 and above. The same run with a planted leak (a feature
equal to the next step's return, added from the test by wrapping the feature builder) must
make the canary fire: AUC and accuracy far above chance and a significant "beats naive".
Without the positive control a canary that can never fire would pass forever.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fincast.design
from fincast.backtest import run_backtest
from fincast.config import build_config

HORIZONS = [1, 5]
MODELS = {"mlp": {"units": 8, "layers": 1, "epochs": 3}}
BASELINES = ["naive", "mean", "ridge", "ar"]


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    rng = np.random.default_rng(7)
    n = 1600
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    path = tmp_path_factory.mktemp("canary") / "rw.csv"
    frame = pd.DataFrame({"date": pd.bdate_range("2000-01-03", periods=n), "close": close})
    frame.to_csv(path, index=False)
    return path


def _run(path, out) -> dict:
    cfg = build_config(
        {
            "data": str(path),
            "task": "direction",
            "horizon": HORIZONS,
            "lookback": 5,
            "folds": 4,
            "models": MODELS,
            "baselines": BASELINES,
            "workers": 1,
            "out": str(out),
        }
    )
    return run_backtest(cfg).metrics


def _plant_leak(monkeypatch) -> None:
    """Add a feature equal to the next step's log return of the target (a look-ahead)."""
    original = fincast.design.build_features

    def leaky(frame, target, roles, spec, **kwargs):
        feats = original(frame, target, roles, spec, **kwargs)
        logp = np.log(frame[target].astype("float64"))
        step = logp - logp.groupby(frame["id"], sort=False).shift(1)
        return feats.assign(leak=step.groupby(frame["id"], sort=False).shift(-1))

    monkeypatch.setattr(fincast.design, "build_features", leaky)


def _per_horizon(metrics: dict, model: str, h: int) -> dict:
    return metrics["models"][model]["horizons"][str(h)]


def _verdict(metrics: dict) -> dict[str, dict]:
    return {row["model"]: row for row in metrics["verdict"]["models"]}


@pytest.mark.slow
def test_random_walk_canary_is_silent_and_fires_on_a_planted_leak(tmp_path, walk, monkeypatch):
    clean = _run(walk, tmp_path / "clean")
    verdict = _verdict(clean)
    fitted = [*MODELS, *(b for b in BASELINES if b != "naive")]
    assert set(verdict) == set(fitted)
    for name in fitted:
        assert verdict[name]["status"] != "beats naive", (name, verdict[name])
        assert verdict[name]["beats_naive"] == "no"
        for h in HORIZONS:
            m = _per_horizon(clean, name, h)
            assert m["n_predictions"] >= 1000
            assert 0.45 <= m["accuracy"] <= 0.55, (name, h, m["accuracy"])
            if name in ("mlp", "ridge"):  # probabilistic forecasts
                assert 0.44 <= m["roc_auc"] <= 0.56, (name, h, m["roc_auc"])

    _plant_leak(monkeypatch)
    leaky = _run(walk, tmp_path / "leaky")
    verdict = _verdict(leaky)
    for name in ("mlp", "ridge"):
        assert verdict[name]["beats_naive"] == "yes", (name, verdict[name])
        one = _per_horizon(leaky, name, 1)
        assert one["roc_auc"] > 0.58 and one["accuracy"] > 0.55, (name, one)
    ridge = _per_horizon(leaky, "ridge", 1)  # a linear model reads the leak almost perfectly
    assert ridge["roc_auc"] > 0.9 and ridge["accuracy"] > 0.75, ridge
    five = _per_horizon(leaky, "ridge", 5)  # one step of five known: still far above chance
    assert five["roc_auc"] > 0.6, five
