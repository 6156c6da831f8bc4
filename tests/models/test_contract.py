"""The model contract, checked generically over every registered model (scikit-learn style).

Every model: parameters read from ``__init__``'s signature round-trip through
``get_params``/``set_params``; every parameter has a declared constraint and a value
outside it fails in ``make_model`` (before any work) with one line naming the model, the
parameter, the value and the allowed values; ``fit`` returns ``self`` and leaves learned
state only in attributes ending in ``_``; ``predict`` has one column per horizon and class;
the same seed gives the same forecasts.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fincast.cli import main
from fincast.errors import ConfigError
from fincast.models import MODELS, Batch, make_model
from fincast.models.base import Interval, Options
from fincast.tasks import TaskSpec

from .toy_model import ShrunkMean

#: Small settings so the networks train in a blink; ``ar`` needs lags <= the look-back.
SMALL = {
    "network": {"epochs": 2, "batch_size": 16},
    "ar": {"lags": 2},
    "mlp": {"units": 4, "layers": 1},
    "lstm": {"units": 4},
    "gru": {"units": 4},
    "cnn": {"filters": 4, "layers": 1},
    "transformer": {"d_model": 4, "heads": 1, "ff_units": 4},
}
NAMES = sorted(MODELS)


def _task(name: str) -> TaskSpec:
    tasks = MODELS[name].tasks
    return TaskSpec("return" if tasks is None or "return" in tasks else tasks[0], (1, 3))


def _params(name: str) -> dict:
    base = SMALL["network"] if MODELS[name].kind == "network" else {}
    return {**base, **SMALL.get(name, {})}


def _batch(task: TaskSpec, n: int = 120, seed: int = 0) -> Batch:
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 0.01, size=(n, 4)).astype("float32")
    y = np.repeat(X[:, :1] * 2 + rng.normal(0, 0.01, (n, 1)), len(task.horizons), axis=1)
    if task.kind == "direction":
        y = (y > 0).astype("float64")
    if task.kind == "volatility":
        y = np.abs(y) + 0.01
    windows = np.stack([np.roll(X, k, axis=0) for k in range(4, -1, -1)], axis=1)
    names = ("ret", "ret_lag1", "ret_lag2", "ret_lag3")
    return Batch(X, np.zeros_like(y), y, np.array(["a"] * n), windows, names)


@pytest.mark.parametrize("name", NAMES)
def test_class_attributes_declare_the_model(name):
    cls = MODELS[name]
    assert cls.name == name and cls.kind in ("network", "baseline") and cls.description
    # networks are tunable, and of the baselines lightgbm (trees have hyperparameters)
    assert (cls.kind == "network" or name == "lightgbm") == bool(cls.search_space)
    assert set(cls.search_space) <= set(cls.param_defaults())


@pytest.mark.parametrize("name", NAMES)
def test_params_round_trip(name):
    task = _task(name)
    model = make_model(name, task, _params(name), seed=3)
    params = model.get_params()
    assert "task" not in params and params.get("seed", 3) == 3
    assert type(model)(task, **params).get_params() == params
    assert model.set_params(**params) is model and model.get_params() == params
    with pytest.raises(ConfigError, match="has no parameter `nope`"):
        model.set_params(nope=1)


def _bad_values(constraint):
    yield constraint.invalid()
    if isinstance(constraint, Interval):
        yield "a string"
        if constraint.integer:
            yield 1.5 if constraint.low is None or constraint.low < 1.5 else constraint.low + 0.5
    if isinstance(constraint, Options) and not constraint.optional:
        yield None


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_is_validated_before_any_work(name):
    cls = MODELS[name]
    constraints = cls.constraints()
    assert set(cls.param_defaults()) - {"seed"} == set(constraints)  # nothing unchecked
    task = _task(name)
    for param, constraint in constraints.items():
        default = cls.param_defaults()[param]
        assert constraint.accepts(default), (param, default)
        for bad in _bad_values(constraint):
            with pytest.raises(ConfigError) as info:
                make_model(name, task, {**_params(name), param: bad})
            message = str(info.value)
            assert "\n" not in message
            for part in (repr(name), f"`{param}`", repr(bad), constraint.describe()):
                assert part in message, (part, message)


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if MODELS[n].sequence else n for n in NAMES],
)
def test_fit_returns_self_learns_into_underscored_attributes_and_predicts(name):
    task = _task(name)
    model = make_model(name, task, _params(name), seed=1)
    before = set(vars(model))
    assert model.fit(_batch(task)) is model
    learned = set(vars(model)) - before
    assert learned and all(a.endswith("_") and not a.startswith("__") for a in learned)
    out = model.predict(_batch(task, n=25, seed=2))
    assert out.shape == (25, len(task.horizons) * task.width)
    assert np.isfinite(out).all()
    again = make_model(name, task, _params(name), seed=1).fit(_batch(task))
    np.testing.assert_array_equal(again.predict(_batch(task, n=25, seed=2)), out)


def test_a_bad_baseline_value_is_one_error_line_and_exit_2_before_training(
    tmp_path, ohlcv_csv, capsys
):
    config = tmp_path / "run.yaml"
    config.write_text(
        json.dumps({"baselines": ["naive", "ridge"], "models": {"ridge": {"alpha": -1}}})
    )
    out = tmp_path / "run"
    code = main(["backtest", str(ohlcv_csv), "--config", str(config), "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.splitlines() == [
        "error: model 'ridge': parameter `alpha` must be a number > 0, got -1; "
        "set `models: {ridge: {alpha: …}}` in the config"
    ]
    assert not (out / "predictions.csv").exists()


def test_a_bad_training_option_names_its_flag(tmp_path, ohlcv_csv, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "backtest",
            str(ohlcv_csv),
            "--models",
            "seed-mlp",
            "--batch-size",
            "0",
            "--out",
            str(out),
            "-q",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "batch_size must be a whole number >= 1, got 0" in err and "--batch-size" in err


def test_a_toy_model_in_one_file_plus_one_registry_line_runs_through_a_backtest(
    tmp_path, ohlcv_csv, capsys, monkeypatch
):
    monkeypatch.setitem(MODELS, ShrunkMean.name, ShrunkMean)  # the one registry line
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"models": {"toy-mean": {"shrink": 0.25}}}))
    out = tmp_path / "run"
    code = main(
        [
            "backtest",
            str(ohlcv_csv),
            "--config",
            str(config),
            "--folds",
            "2",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"naive", "mean", "toy-mean"} <= set(metrics["models"]) and not metrics["failures"]
    code = main(["models"])
    assert code in (0, None) and "toy-mean" in capsys.readouterr().out
    config.write_text(json.dumps({"models": {"toy-mean": {"shrink": 2}}}))
    code = main(
        ["backtest", str(ohlcv_csv), "--config", str(config), "--out", str(tmp_path / "bad"), "-q"]
    )
    err = capsys.readouterr().err
    assert (
        code == 2
        and "model 'toy-mean': parameter `shrink` must be a number in [0, 1], got 2" in err
    )
