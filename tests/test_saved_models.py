"""Saved models: ``train`` + ``predict`` equal the in-memory fitted model exactly (issue 18).

For every network and every task: the model ``fincast train`` saves, loaded back, gives
bit-identical forecasts to the same model fitted in memory on the same rows with the same
seed, and ``fincast predict``'s table carries exactly those numbers. The quick tier pairs
each network with one task (every network and every task appear); the slow tier runs the
whole product; one case goes through the real CLI processes.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import fincast
from fincast.backtest.engine import model_params, task_spec
from fincast.config import build_config
from fincast.design import build_design
from fincast.features import FeatureSpec
from fincast.models import MODELS, make_model
from fincast.persist import fit_on_all, load_model
from fincast.tasks import TASKS, TaskSpec

from .conftest import make_ohlcv

NETS = [n for n, i in MODELS.items() if i.kind == "network"]
TINY = {
    "seed-mlp": {},
    "mlp": {"units": 4, "layers": 1},
    "lstm": {"units": 3},
    "gru": {"units": 3},
    "cnn": {"filters": 3, "layers": 1},
    "transformer": {"d_model": 4, "heads": 1, "ff_units": 4},
}
OPTIONS = {"epochs": 1, "horizon": [1, 3], "lookback": 4}
QUICK = [(NETS[i % len(NETS)], task) for i, task in enumerate(sorted(TASKS))]


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "panel.csv"
    make_ohlcv(120, ids=("AAA", "BBB"), seed=8).to_csv(path, index=False)
    return path


def _in_memory(csv, name: str, task: str):
    """Fit the model as ``train`` does, but keep it in memory."""
    config = build_config({"data": str(csv), "models": {name: TINY[name]}, "task": task, **OPTIONS})
    spec = task_spec(config)
    ds = fincast.load(str(csv))
    features = FeatureSpec(config.features, config.lookback)
    fit_design = build_design(ds, spec, features, windows=MODELS[name].sequence).for_fold()
    model = make_model(name, spec, model_params(config, name), seed=config.seed)
    fit_on_all(model, fit_design, spec)  # the validation tail, as train holds it out
    new = build_design(ds, spec, features, require_target=False, windows=MODELS[name].sequence)
    return model, new


def _forecast_values(table: pd.DataFrame, task: str) -> np.ndarray:
    if task == "trend3":
        return table[["prob_down", "prob_flat", "prob_up"]].to_numpy().reshape(-1)
    return table["forecast"].to_numpy(dtype="float64")


def check_saved_equals_in_memory(tmp_path, csv, name: str, task: str) -> None:
    path = fincast.train(
        str(csv), out=str(tmp_path / "m"), models={name: TINY[name]}, task=task, **OPTIONS
    )
    loaded, _ = load_model(path)
    model, design = _in_memory(csv, name, task)
    expected = np.asarray(model.predict(design.batch()))
    got = np.asarray(loaded.predict(design.batch()))
    assert expected.shape == got.shape and np.isfinite(expected).all()
    np.testing.assert_array_equal(got, expected)
    # fincast predict: the last row of each series, exactly those numbers
    table = fincast.predict(path, str(csv))
    last = pd.Series(np.arange(len(design))).groupby(design.ids).max().to_numpy()
    values = expected[last].reshape(-1)
    if task == "volatility":
        values = np.maximum(values, 0.0)
    if task in ("quantile", "var"):  # every column, as the task writes them (sorted)
        spec = TaskSpec(task, tuple(OPTIONS["horizon"]))
        cols = spec.task.prediction_columns(spec, expected[last].reshape(-1, spec.width))
        values = np.stack([cols[c] for c in spec.labels], axis=1).reshape(-1)
        np.testing.assert_array_equal(table[list(spec.labels)].to_numpy().reshape(-1), values)
        return
    np.testing.assert_array_equal(_forecast_values(table, task), values)


@pytest.mark.parametrize(("name", "task"), QUICK)
def test_saved_model_equals_the_in_memory_model(tmp_path, panel_csv, name, task):
    check_saved_equals_in_memory(tmp_path, panel_csv, name, task)


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize("name", NETS)
def test_saved_model_equals_the_in_memory_model_for_every_pair(tmp_path, panel_csv, name, task):
    if (name, task) in QUICK:
        pytest.skip("run by the quick tier")
    check_saved_equals_in_memory(tmp_path, panel_csv, name, task)


@pytest.mark.slow
def test_cli_train_and_predict_processes_equal_the_in_memory_model(tmp_path, panel_csv):
    """The real commands, in their own processes, for one sequence model."""
    name, task = "gru", "direction"
    cli = [sys.executable, "-m", "fincast"]
    model_dir = tmp_path / "m"
    subprocess.run(
        [
            *cli,
            "train",
            str(panel_csv),
            "--models",
            name,
            "--task",
            task,
            "--epochs",
            "1",
            "--horizon",
            "1,3",
            "--lookback",
            "4",
            "--out",
            str(model_dir),
        ],
        check=True,
        capture_output=True,
    )
    # the CLI cannot pass per-model units: compare with the defaults of the same model
    TINY_CLI = dict(TINY)
    TINY_CLI[name] = {}
    model, design = _in_memory_with(panel_csv, name, task, TINY_CLI[name])
    out_csv = tmp_path / "f.csv"
    subprocess.run(
        [
            *cli,
            "predict",
            "--model",
            str(model_dir),
            "--data",
            str(panel_csv),
            "--out",
            str(out_csv),
        ],
        check=True,
        capture_output=True,
    )
    table = pd.read_csv(out_csv)
    last = pd.Series(np.arange(len(design))).groupby(design.ids).max().to_numpy()
    expected = np.asarray(model.predict(design.batch(last))).reshape(-1)
    # the CSV holds 10 significant digits
    np.testing.assert_allclose(table["forecast"].to_numpy(), expected, rtol=1e-9, atol=0)
    loaded, _ = load_model(model_dir)
    np.testing.assert_array_equal(loaded.predict(design.batch()), model.predict(design.batch()))


def _in_memory_with(csv, name: str, task: str, params: dict):
    saved = TINY[name]
    TINY[name] = params
    try:
        return _in_memory(csv, name, task)
    finally:
        TINY[name] = saved
