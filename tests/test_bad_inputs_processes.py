"""The bad-input corpus through real processes, and sane results where it is allowed (issue 18).

Every input the corpus accepts with a backtest (negative prices with ``--transform diff``,
an extreme value, a ragged panel, a panel with one short series) runs as a real
``python -m fincast`` process: exit 0, its warning on stderr and no traceback, and a run
whose metrics are sane (finite, counted over the predictions actually written), not only a
run directory that exists. The refused inputs give, at the file-descriptor level
(``capfd``), exactly one ``error:`` line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fincast
from fincast.cli import main

from .test_bad_inputs import CORPUS, MANIFEST

SRC = str(Path(fincast.__file__).resolve().parents[1])
ALLOWED = [e for e in MANIFEST if e["exit"] == 0 and "backtest" in e.get("run", [])]
REFUSED = [e for e in MANIFEST if e["exit"] == 2 and "backtest" in e.get("run", ["backtest"])]


def test_the_corpus_has_allowed_backtests():
    assert len(ALLOWED) >= 4 and len(REFUSED) >= 20


@pytest.mark.parametrize("entry", ALLOWED, ids=[e["file"] for e in ALLOWED])
@pytest.mark.slow
def test_allowed_inputs_give_sane_metrics_in_a_real_process(entry, tmp_path):
    out = tmp_path / "run"
    argv = [str(CORPUS / entry["file"]), *map(str, entry.get("args", []))]
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=SRC)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fincast",
            "backtest",
            *argv,
            "--models",
            "naive",
            "--baselines",
            "naive,mean,ridge",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not any(line.startswith("error") for line in done.stderr.splitlines())
    if "warning" in entry:
        assert any(
            line.startswith("warning:") and entry["warning"] in line
            for line in done.stderr.splitlines()
        ), done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    pred = pd.read_csv(out / "predictions.csv")
    values = pred[["y_true", "y_pred"]].to_numpy(dtype="float64")
    assert len(pred) > 0 and np.isfinite(values).all()
    assert set(metrics["models"]) == {"naive", "mean", "ridge"}
    for name, m in metrics["models"].items():
        rows = pred[pred["model"] == name]
        assert m["n_predictions"] == len(rows) > 0, name
        for key in ("mse", "mae", "skill_vs_naive"):
            assert m[key] is not None and np.isfinite(float(m[key])), (name, key, m[key])
        mse = float(np.mean((rows["y_true"] - rows["y_pred"]) ** 2))
        assert m["mse"] == pytest.approx(mse, rel=1e-6), name
    assert metrics["models"]["naive"]["skill_vs_naive"] == 0.0


@pytest.mark.parametrize("entry", REFUSED, ids=[e["file"] for e in REFUSED])
def test_refused_inputs_write_one_error_line_at_the_fd_level(entry, tmp_path, capfd):
    path = CORPUS / entry["file"]
    data = CORPUS / entry["data"] if "data" in entry else path
    args = [str(a).replace("{file}", str(path)) for a in entry.get("args", [])]
    argv = ["backtest", str(data), *args, "--out", str(tmp_path / "run"), "--quiet"]
    if "--models" not in args and "--config" not in args:
        argv += ["--models", "naive"]
    code = main(argv)
    out, err = capfd.readouterr()
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("error: "), err
    assert entry["error"] in lines[0]
    assert out == "" and not (tmp_path / "run").exists()
