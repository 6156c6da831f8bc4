"""Security: no code from user files runs, and nothing is written outside the run directory."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import fincast
from fincast.cli import main
from fincast.rundir import safe_name
from tests.conftest import make_ohlcv

SRC = Path(fincast.__file__).resolve().parent
NASTY_IDS = ("../../etc/x", "/tmp/abs", "..", "a\\b", ".hidden", "CON")


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_series_names_never_lead_a_write_outside_the_run_directory(tmp_path, monkeypatch, capsys):
    frame = make_ohlcv(160, ids=NASTY_IDS)
    data = tmp_path / "panel.csv"
    frame.to_csv(data, index=False)
    sandbox = tmp_path / "cwd"
    sandbox.mkdir()
    monkeypatch.chdir(sandbox)
    before = _files(tmp_path)

    code = main(["backtest", str(data), "--models", "naive", "--folds", "2", "--out", "run", "-q"])
    assert code == 0, capsys.readouterr().err

    written = _files(tmp_path) - before
    run = (sandbox / "run").resolve()
    assert written and all(p.resolve().is_relative_to(run) for p in written), sorted(written)
    assert not Path("/tmp/abs").exists()
    ids = set(pd.read_csv(run / "predictions.csv", dtype={"id": str})["id"])
    assert ids == set(NASTY_IDS)  # the names are data, kept verbatim, never paths


@pytest.mark.parametrize("name", ["../../escape", "/tmp/x", "a/b", "..\\x"])
def test_model_names_with_path_parts_are_refused_before_anything_is_written(tmp_path, capsys, name):
    data = tmp_path / "p.csv"
    make_ohlcv(120).drop(columns="ticker").to_csv(data, index=False)
    code = main(["backtest", str(data), "--models", name, "--out", str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "is not known" in err
    assert _files(tmp_path) == {data}


@pytest.mark.parametrize("name", ["../../escape", "/abs", "a/b", "..", ".", "", "x\\..\\y"])
def test_safe_name_is_one_plain_path_component(name):
    cleaned = safe_name(name)
    assert cleaned and "/" not in cleaned and "\\" not in cleaned
    assert not cleaned.startswith(".")
    assert Path(cleaned).name == cleaned


def test_keras_models_load_in_safe_mode_so_lambda_layers_are_refused(tmp_path, capsys):
    import keras

    data = tmp_path / "p.csv"
    make_ohlcv(200).drop(columns="ticker").to_csv(data, index=False)
    model_dir = tmp_path / "model"
    code = main(
        ["train", str(data), "--models", "seed-mlp", "--epochs", "1", "--out", str(model_dir)]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    # swap in a network whose Lambda layer carries Python bytecode
    saved = keras.saving.load_model(model_dir / "model.keras", safe_mode=True)
    inputs = keras.Input(shape=saved.input_shape[1:])
    evil = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 0 + 1)(saved(inputs)))
    evil.save(model_dir / "model.keras")

    code = main(["predict", "--model", str(model_dir), "--data", str(data)])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "cannot be loaded" in lines[0]
    assert "safe_mode" in lines[0]


FORBIDDEN = [
    r"\bimport pickle\b",
    r"\bpickle\.load",
    r"read_pickle",
    r"\bjoblib\b",
    r"allow_pickle\s*=\s*True",
    r"yaml\.load\(",
    r"unsafe_load",
    r"yaml\.Loader\b",
    r"safe_mode\s*=\s*False",
    r"(?<![\w.])eval\(",
    r"(?<![\w.])exec\(",
    r"torch\.load",
]


def test_no_unsafe_deserialisation_anywhere_in_fincast():
    """No pickle, no yaml.load, no eval: user files are parsed as data only."""
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text("utf-8")
        offenders += [f"{path.name}: {p}" for p in FORBIDDEN if re.search(p, text)]
    assert not offenders
    assert "yaml.safe_load" in (SRC / "config.py").read_text()
    assert "safe_mode=True" in (SRC / "models" / "keras_base.py").read_text()


def test_yaml_python_tags_do_not_run(tmp_path, capsys):
    marker = tmp_path / "pwned"
    config = tmp_path / "c.yaml"
    config.write_text(f'epochs: !!python/object/apply:os.system ["touch {marker}"]\n')
    code = main(["backtest", "--config", str(config), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "not valid YAML" in err
    assert not marker.exists() and not (tmp_path / "run").exists()
    assert "Traceback" not in err
