"""The ``lightgbm`` baseline: learns, stops early on the validation tail, same seed same
bytes, every task served through the CLI, and a one-line install hint when missing."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from fincast.backtest import engine, prepare
from fincast.cli import main
from fincast.config import build_config
from fincast.errors import ConfigError
from fincast.models import MODELS, Batch, make_model
from fincast.models.gbdt import LightGBMBaseline
from fincast.models.registry import model_params
from fincast.tasks import TaskSpec, task_names

from ..conftest import make_ohlcv

pytest.importorskip("lightgbm")

LAGS = 4


def threshold_ar(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A threshold AR(1): r(t+1) = 0.6 r(t) when r(t) > 0, else -0.4 r(t); the features are
    r(t) … r(t-3), the target r(t+1), and the optimum MSE the noise variance."""
    rng = np.random.default_rng(seed)
    sd = 0.01
    r = np.zeros(n + LAGS + 1)
    for t in range(1, len(r)):
        r[t] = (0.6 if r[t - 1] > 0 else -0.4) * r[t - 1] + rng.normal(0, sd)
    idx = np.arange(LAGS - 1, len(r) - 1)
    X = np.stack([r[idx - k] for k in range(LAGS)], axis=1).astype("float32")
    return X, r[idx + 1][:, None], sd**2


def _split(X: np.ndarray, y: np.ndarray, a: int, b: int) -> tuple[Batch, Batch, Batch]:
    naive = np.zeros_like(y)
    rows = [slice(0, a), slice(a, b), slice(b, None)]
    return tuple(Batch(X[s], naive[s], y[s]) for s in rows)  # type: ignore[return-value]


def test_learns_a_nonlinear_process_and_beats_naive_and_ridge():
    X, y, optimum = threshold_ar(4000, seed=0)
    train, val, test = _split(X, y, 2400, 3000)
    model = make_model("lightgbm", TaskSpec("return")).fit(train, val)
    assert test.y is not None
    mse = float(np.mean((model.predict(test) - test.y) ** 2))
    naive = float(np.mean(test.y**2))
    ridge = make_model("ridge", TaskSpec("return")).fit(train).predict(test)
    mse_ridge = float(np.mean((ridge - test.y) ** 2))
    assert mse < 0.8 * naive  # about 1 - 0.26 of the variance is predictable
    assert mse < mse_ridge  # the threshold is what a linear model misses
    assert mse < 1.08 * optimum


def test_same_seed_same_bytes_other_seed_other_trees():
    X, y, _ = threshold_ar(1500, seed=1)
    train, val, test = _split(X, y, 900, 1200)

    def forecast(seed: int) -> bytes:
        model = make_model("lightgbm", TaskSpec("return"), seed=seed).fit(train, val)
        return np.ascontiguousarray(model.predict(test)).tobytes()

    assert forecast(3) == forecast(3)
    assert forecast(3) != forecast(4)  # bagging and feature sampling follow the seed


def test_early_stopping_on_noise_stops_long_before_the_last_round():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1200, 5)).astype("float32")
    y = rng.normal(size=(1200, 1))
    train, val, _ = _split(X, y, 900, 1200)
    model = make_model("lightgbm", TaskSpec("return")).fit(train, val)
    assert model.best_iteration_[0] < 100 < model.n_estimators
    full = make_model("lightgbm", TaskSpec("return"), {"early_stopping": 0}).fit(train, val)
    assert full.best_iteration_ == [500] and not full.uses_validation


def test_one_pooled_model_over_the_series_of_a_panel():
    X, y, _ = threshold_ar(600, seed=3)
    ids = np.array(["a", "b"] * 300)
    task = TaskSpec("return", (1, 2))
    Y = np.repeat(y, 2, axis=1)
    b = Batch(X, np.zeros_like(Y), Y, ids)
    model = make_model("lightgbm", task, {"early_stopping": 0, "n_estimators": 20}).fit(b)
    assert len(model.models_) == 2  # one booster per horizon, not per series
    out = model.predict(Batch(X[:5], np.zeros((5, 2)), None, np.array(["c"] * 5)))
    assert out.shape == (5, 2) and np.isfinite(out).all()  # an unseen series too


def test_the_engine_hands_it_the_networks_validation_tail(tmp_path):
    csv = tmp_path / "p.csv"
    df = make_ohlcv(260).drop(columns="ticker")
    df["Close"] = 100 + np.arange(260) * 0.1 + np.sin(np.arange(260))  # close marks the date
    df.to_csv(csv, index=False)
    config = build_config(
        {
            "data": str(csv),
            "models": {"lightgbm": {}},
            "val_fraction": 0.3,
            "folds": 2,
            "lookback": 5,
            "horizon": [2],
        }
    )
    assert model_params(config, "lightgbm")["val_fraction"] == 0.3  # the run's option
    prep = prepare(config)
    pos = {tuple(x): p for x, p in zip(prep.design.X, prep.design.date_pos, strict=True)}
    for fold in prep.folds:
        setup = engine._fold_setup(prep, "lightgbm", fold, 0)
        assert setup.validation is not None and len(setup.validation)
        train_pos = np.array([pos[tuple(x)] for x in setup.train.X])
        val_pos = np.array([pos[tuple(x)] for x in setup.validation.X])
        n_train = fold.train_end - fold.train_start
        assert val_pos.min() == fold.train_end - round(n_train * 0.3)
        assert val_pos.max() == fold.train_end - 1 < fold.test_start  # never the test block
        assert train_pos.max() <= val_pos.min() - 2 - 1  # the purge gap of the horizon


def test_it_declares_every_task_and_the_listing_says_so(capsys):
    assert set(LightGBMBaseline.tasks or ()) == set(task_names())
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, x in enumerate(lines) if "│ lightgbm " in x)
    cells = []  # the tasks cell of its row, wrapped over lines until the next row
    for x in lines[start:]:
        parts = x.split("│")
        if len(parts) < 4 or (x is not lines[start] and parts[1].strip()):
            break
        cells.append(parts[3].strip())
    assert {t.strip() for t in " ".join(cells).split(",")} == set(task_names())


def test_a_task_it_does_not_declare_is_one_clean_error(monkeypatch):
    monkeypatch.setattr(LightGBMBaseline, "tasks", ("return",))
    with pytest.raises(ConfigError, match="model 'lightgbm' does not support task 'var'") as e:
        make_model("lightgbm", TaskSpec("var"))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("task", task_names())
def test_every_task_backtests_through_the_cli(task, tmp_path, capsys):
    csv = tmp_path / "p.csv"
    make_ohlcv(260).drop(columns="ticker").to_csv(csv, index=False)
    out = tmp_path / "run"
    args = ["backtest", str(csv), "--task", task, "--models", "lightgbm", "--folds", "2"]
    code = main([*args, "--out", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert "lightgbm" in metrics["models"] and not metrics["failures"]


def test_two_runs_write_the_same_predictions_on_any_number_of_threads(tmp_path, capsys):
    csv = tmp_path / "p.csv"
    make_ohlcv(260).drop(columns="ticker").to_csv(csv, index=False)
    texts = []
    for run, threads in (("a", "2"), ("b", "1")):
        out = tmp_path / run
        args = ["backtest", str(csv), "--task", "volatility", "--models", "lightgbm"]
        args += ["--folds", "2", "--threads", threads]
        assert main([*args, "--out", str(out), "-q"]) == 0
        texts.append((out / "predictions.csv").read_bytes())
    assert texts[0] == texts[1]


def test_missing_lightgbm_is_one_line_with_the_install_hint(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # `import lightgbm` fails
    with pytest.raises(ConfigError, match=r"pip install 'fincast\[gbdt\]'"):
        make_model("lightgbm", TaskSpec("return"))
    csv = tmp_path / "p.csv"
    make_ohlcv(120).drop(columns="ticker").to_csv(csv, index=False)
    out = tmp_path / "run"
    code = main(["backtest", str(csv), "--models", "lightgbm", "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err.startswith("error: model 'lightgbm' needs LightGBM") and "fincast[gbdt]" in err
    assert not (out / "predictions.csv").exists()
    assert main(["models"]) == 0  # still listed: the listing imports nothing
    assert "lightgbm" in MODELS and "│ lightgbm " in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:Target and region quantiles")  # optuna, two trials
def test_fincast_tune_searches_its_space_and_the_best_config_reruns(tmp_path, capsys):
    pytest.importorskip("optuna")
    from fincast.config import load_config
    from fincast.tune.space import is_tunable

    assert is_tunable("lightgbm")
    csv = tmp_path / "p.csv"
    make_ohlcv(260).drop(columns="ticker").to_csv(csv, index=False)
    out = tmp_path / "tune"
    args = ["tune", str(csv), "--task", "volatility", "--models", "lightgbm", "--folds", "2"]
    code = main([*args, "--trials", "2", "--inner-folds", "2", "--out", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "tune.json").read_text())
    assert set(summary["best_params"]) == set(LightGBMBaseline.search_space)
    best = load_config(out / "best_config.yaml", {"out": str(tmp_path / "rerun")})
    assert best.models == {"lightgbm": summary["best_params"]}
