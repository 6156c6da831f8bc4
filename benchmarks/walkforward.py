"""Wall time and peak memory of whole walk-forward backtests, each in its own process.

Every case runs ``python -m fincast backtest ...`` as a user would (imports included) and
records the wall time, the training time fincast reports in ``manifest.json`` and the peak
resident set size of that process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["run_case"]


def run_case(
    args: list[str], *, env: dict[str, str] | None = None, workdir: Path | None = None
) -> dict[str, Any]:
    """Run ``fincast backtest ARGS`` in a new process; measure it.

    Returns
    -------
    dict
        ``wall_s``, ``training_s`` (from the run manifest), ``peak_rss_mb``, ``rows``
        (predictions), ``args`` and, on failure, ``error``.
    """
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "fincast", "backtest", *args, "--quiet", "--out", str(out)]
        full_env = {**os.environ, **(env or {})}
        src = str(Path(__file__).resolve().parents[1] / "src")
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (src, full_env.get("PYTHONPATH", "")) if p
        )
        log = Path(tmp) / "log.txt"
        start = time.perf_counter()
        with log.open("w") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=full_env)
            # wait4 gives this child's own resource usage (peak RSS in KiB on Linux)
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        result: dict[str, Any] = {
            "args": args,
            "wall_s": wall,
            "peak_rss_mb": usage.ru_maxrss / 1024,
        }
        if proc.returncode != 0:
            result["error"] = log.read_text().strip().splitlines()[-1:]
            return result
        manifest = json.loads((out / "manifest.json").read_text())
        result["training_s"] = manifest.get("training_seconds")
        with (out / "predictions.csv").open() as fh:
            result["rows"] = sum(1 for _ in fh) - 1
        return result
