"""Resume after a crash at a deterministic point (issue 18).

The test-only hook ``FINCAST_CRASH_AFTER_UNITS=N`` ends the run's process abruptly right
after its N-th (model, fold) unit is written, with ``--workers 2`` and ``--seeds 2``. Then:
a finished part is doctored with a sentinel forecast and must come back unchanged in the
resumed predictions (it was reused, not recomputed); a truncated part must not be taken as
finished but computed again, with a note; everything else equals an uninterrupted run
byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import fincast
from fincast.backtest.executors import CRASH_AFTER_UNITS_ENV, CRASH_EXIT_CODE

from .conftest import make_ohlcv

SRC = str(Path(fincast.__file__).resolve().parents[1])
SENTINEL = 12345.0


def _fincast(*args: str, crash: int | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=SRC)
    env.pop(CRASH_AFTER_UNITS_ENV, None)
    if crash is not None:
        env[CRASH_AFTER_UNITS_ENV] = str(crash)
    return subprocess.run(
        [sys.executable, "-m", "fincast", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_crash_after_n_units_then_resume_reuses_finished_parts_and_redoes_truncated_ones(
    tmp_path,
):
    csv = tmp_path / "prices.csv"
    make_ohlcv(260, seed=5).drop(columns="ticker").to_csv(csv, index=False)
    args = ["backtest", str(csv), "--models", "seed-mlp", "--epochs", "2", "--folds", "3",
            "--seeds", "2", "--workers", "2", "--baselines", "naive,ridge", "--quiet"]  # fmt: skip
    reference = _fincast(*args, "--out", str(tmp_path / "reference"))
    assert reference.returncode == 0, reference.stderr

    victim = tmp_path / "victim"
    crashed = _fincast(*args, "--out", str(victim), crash=4)
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    parts = victim / "parts"
    done = sorted(p for p in parts.glob("*__fold*.csv"))
    assert len(done) == 4, [p.name for p in done]  # exactly N units, deterministically
    assert not (victim / "metrics.json").exists()
    if (victim / "manifest.json").exists():
        assert json.loads((victim / "manifest.json").read_text()).get("status") != "complete"

    reused, truncated = done[0], done[1]
    frame = pd.read_csv(reused)
    frame.loc[0, "y_pred"] = SENTINEL  # a finished part that a recomputation would overwrite
    frame.to_csv(reused, index=False)
    text = truncated.read_text()
    truncated.write_text(text[: len(text) // 2])  # cut mid-file, as a torn write would

    resumed = _fincast("backtest", "--resume", str(victim), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    notes = [line for line in resumed.stderr.splitlines() if line.startswith("note: resume:")]
    assert len(notes) == 1 and truncated.name in notes[0], resumed.stderr  # only that part
    assert f"resumed {victim}: 3 of 9 (model, fold) pieces" in " ".join(resumed.stderr.split())
    ref = pd.read_csv(tmp_path / "reference" / "predictions.csv")
    got = pd.read_csv(victim / "predictions.csv")
    ref_text = (tmp_path / "reference" / "predictions.csv").read_text().splitlines()
    got_text = (victim / "predictions.csv").read_text().splitlines()
    differ = [i for i, (a, b) in enumerate(zip(ref_text, got_text, strict=True)) if a != b]
    assert len(differ) == 1 and str(int(SENTINEL)) in got_text[differ[0]], differ  # byte for byte
    assert got.shape == ref.shape, "a truncated part was taken as finished"
    sentinel = got["y_pred"] == SENTINEL
    assert sentinel.sum() == 1, "the finished part was recomputed, not reused"
    got.loc[sentinel, "y_pred"] = ref.loc[sentinel, "y_pred"]
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert json.loads((victim / "manifest.json").read_text())["status"] == "complete"
    assert not parts.exists() and not (victim / ".lock").exists()
