"""Faults during a run: NaN losses, a model that raises, two runs on one directory, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fincast
from fincast.cli import main
from fincast.models import MODELS, Model
from tests.conftest import make_ohlcv

SRC = str(Path(fincast.__file__).resolve().parents[1])


def _env() -> dict[str, str]:
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=SRC)
    env.pop("FINCAST_DEBUG", None)
    return env


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    """Start ``fincast ARGS`` in a new process (the real console entry point)."""
    return subprocess.Popen(
        [sys.executable, "-m", "fincast", *args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for(condition, proc: subprocess.Popen[bytes], timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"process ended first (rc {proc.returncode}):\n{err.decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting for the run")
        time.sleep(0.02)


@pytest.fixture
def prices_csv(tmp_path: Path) -> Path:
    path = tmp_path / "prices.csv"
    make_ohlcv(400, seed=5).drop(columns="ticker").to_csv(path, index=False)
    return path


def test_nan_loss_fails_that_model_fold_and_the_run_goes_on(tmp_path, prices_csv, capsys):
    out = tmp_path / "run"
    code = main(
        ["backtest", str(prices_csv), "--models", "seed-mlp", "--epochs", "2", "--folds", "2",
         "--lr", "1e30", "--optimizer", "sgd", "--out", str(out), "--quiet"]
    )  # fmt: skip
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "Invalid loss" not in stdout  # Keras' own print is silenced; fincast reports it
    metrics = json.loads((out / "metrics.json").read_text())
    failed = {(f["model"], f["fold"]): f["error"] for f in metrics["failures"]}
    assert set(failed) == {("seed-mlp", 0), ("seed-mlp", 1)}
    assert all("training loss became nan" in e and "lower --lr" in e for e in failed.values())
    assert set(metrics["models"]) == {"naive", "mean"}  # the baselines' results are kept
    for fold in (0, 1):
        assert f"failed: seed-mlp fold {fold}: FloatingPointError: training loss became nan" in err
    predictions = (out / "predictions.csv").read_text()
    assert "seed-mlp" not in predictions and ",naive," in predictions
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    report = (out / "report.html").read_text()
    assert "Failed:" in report and "seed-mlp fold 1: FloatingPointError" in report


class _Boom(Model):
    """A model that raises in its second fold."""

    name = "boom"
    kind = "network"
    description = "raises in its second fold"
    calls = 0

    def __init__(self, task, seed=0):
        self.task = task
        self.seed = seed

    def fit(self, train, validation=None):
        _Boom.calls += 1
        if _Boom.calls == 2:
            raise RuntimeError("boom in fit")
        return self

    def predict(self, data):
        return np.zeros((len(data.X), len(self.task.horizons)))


def test_an_exception_in_one_model_never_loses_the_others(
    tmp_path, prices_csv, monkeypatch, capsys
):
    monkeypatch.setitem(MODELS, "boom", _Boom)
    monkeypatch.setattr(_Boom, "calls", 0)
    out = tmp_path / "run"
    # the model fails on its second fit: units run one after the other (--threads 1)
    code = main(
        ["backtest", str(prices_csv), "--models", "boom", "--folds", "3", "--out", str(out),
         "--threads", "1", "-q"]
    )  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert [(f["model"], f["fold"]) for f in metrics["failures"]] == [("boom", 1)]
    assert metrics["failures"][0]["error"] == "RuntimeError: boom in fit"
    assert {"naive", "mean", "boom"} <= set(metrics["models"])
    assert set(metrics["models"]["boom"]["folds"]) == {"0", "2"}


#: A process that takes a run directory's lock (the real RunDirectory code), says so and
#: holds it until told to let go: no timing, no race with a run that might finish first.
HOLD_LOCK = """
import sys
from fincast.config import RunConfig
from fincast.rundir import RunDirectory
run = RunDirectory(sys.argv[1]).open()
config = RunConfig(data=sys.argv[2], models=["naive"], out=sys.argv[1])
(run.path / "config.yaml").write_text(config.to_yaml())  # as a run starting does
print("held", flush=True)
sys.stdin.readline()
run.close(complete=False)
"""


def test_a_second_run_into_a_busy_directory_is_refused_others_do_not_interfere(
    tmp_path, prices_csv, capsys
):
    busy = tmp_path / "busy"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(busy), str(prices_csv)],
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline() == "held\n", holder.communicate()[1]
        before = sorted(p.name for p in busy.iterdir())
        for extra in ([], ["--resume", str(busy)]):
            code = main(["backtest", str(prices_csv), "--models", "naive", "--out", str(busy),
                         "--quiet", *extra])  # fmt: skip
            _, err = capsys.readouterr()
            assert code == 2, err
            assert err.strip().splitlines() == [
                f"error: {busy} is in use by another fincast run (pid {holder.pid}): its .lock "
                "is held; wait for that run to finish or use another --out"
            ]
        assert sorted(p.name for p in busy.iterdir()) == before  # nothing written into it
        other = tmp_path / "other"
        code = main(["backtest", str(prices_csv), "--models", "naive", "--out", str(other), "-q"])
        assert code == 0, capsys.readouterr().err
        assert json.loads((other / "manifest.json").read_text())["status"] == "complete"
        assert holder.poll() is None, "the lock holder was disturbed"
        holder.stdin.write("release\n")
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0, holder.stderr.read() if holder.stderr else ""
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        for pipe in (holder.stdin, holder.stdout, holder.stderr):
            if pipe is not None:
                pipe.close()
    # positive control: once the lock is released, the same directory can be finished
    code = main(["backtest", str(prices_csv), "--models", "naive", "--out", str(busy), "-q",
                 "--resume", str(busy)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert json.loads((busy / "manifest.json").read_text())["status"] == "complete"


@pytest.mark.slow
def test_kill_9_then_resume_gives_byte_identical_outputs(tmp_path, prices_csv):
    args = ["backtest", str(prices_csv), "--models", "seed-mlp", "--epochs", "8", "--folds",
            "4", "--seed", "7", "--quiet"]  # fmt: skip
    reference = _spawn(*args, "--out", str(tmp_path / "reference"))
    victim_dir = tmp_path / "victim"
    victim = _spawn(*args, "--out", str(victim_dir))
    parts = victim_dir / "parts"
    _wait_for(lambda: any(parts.glob("seed-mlp__fold*.csv")), victim)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    done = sorted(p.name for p in parts.glob("*__fold*.csv"))
    # units run on threads, largest fold first: any fold may be done, not all of them
    assert sum(name.startswith("seed-mlp__") for name in done) < 4, "the run finished first"
    assert not (victim_dir / "metrics.json").exists()

    resumed = subprocess.run(
        [sys.executable, "-m", "fincast", "backtest", "--resume", str(victim_dir), "--quiet"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    total = 3 * 4  # naive, mean, seed-mlp x 4 folds
    assert f"{len(done)} of {total} (model, fold) pieces were already done" in resumed.stderr
    _, err = reference.communicate(timeout=600)
    assert reference.returncode == 0, err.decode()
    for name in ("predictions.csv", "metrics.json", "history.json"):
        assert (victim_dir / name).read_bytes() == (tmp_path / "reference" / name).read_bytes()
    manifest = json.loads((victim_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert not (victim_dir / "parts").exists() and not (victim_dir / ".lock").exists()


def test_run_directory_problems_are_one_line_errors(tmp_path, prices_csv, capsys):
    def run(*args):
        code = main(["backtest", str(prices_csv), "--models", "naive", "-q", *args])
        _, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
        return lines[0]

    assert "no such run directory" in run("--resume", str(tmp_path / "nope"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    assert "not a fincast run directory" in run("--resume", str(tmp_path / "junk"))
    assert "is not empty; choose another --out" in run("--out", str(tmp_path / "junk"))
    assert (tmp_path / "junk" / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    assert "exists and is not a directory" in run("--out", str(tmp_path / "file"))
    inside_a_file = tmp_path / "file" / "run"
    assert f"cannot write or read {inside_a_file}" in run("--out", str(inside_a_file))
    done = tmp_path / "done"
    assert main(["backtest", str(prices_csv), "--models", "naive", "-q", "--out", str(done)]) == 0
    capsys.readouterr()
    assert "already holds a complete run" in run("--resume", str(done))
    half = tmp_path / "half"  # an unfinished run: its config, no manifest
    half.mkdir()
    (half / "config.yaml").write_text((done / "config.yaml").read_text())
    message = run("--resume", str(half), "--folds", "3")
    assert f"cannot resume {half} with different settings (folds 5 -> 3)" in message
    assert "already holds a complete run" in run("--out", str(done))
