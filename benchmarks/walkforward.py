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

# Runs the fincast command line and, at exit, writes the process's own peak resident set
# size (VmHWM, KiB). The rusage of a child is no good for this: on Linux its ru_maxrss
# starts from the parent's size when it was forked.
_CHILD = """
import atexit, resource, runpy, sys
out = sys.argv[1]
def _peak():
    kib = None
    try:
        with open("/proc/self/status") as fh:
            kib = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(out, "w") as fh:
        fh.write(str(kib))
atexit.register(_peak)
sys.argv = ["fincast", *sys.argv[2:]]
runpy.run_module("fincast", run_name="__main__", alter_sys=True)
"""


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
        peak = Path(tmp) / "peak.txt"
        cmd = [
            sys.executable,
            "-c",
            _CHILD,
            str(peak),
            "backtest",
            *args,
            "--quiet",
            "--out",
            str(out),
        ]
        full_env = {**os.environ, **(env or {})}
        src = str(Path(__file__).resolve().parents[1] / "src")
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (src, full_env.get("PYTHONPATH", "")) if p
        )
        log = Path(tmp) / "log.txt"
        start = time.perf_counter()
        with log.open("w") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=full_env)
            proc.wait()
        wall = time.perf_counter() - start
        result: dict[str, Any] = {"args": args, "wall_s": wall}
        if peak.exists():
            result["peak_rss_mb"] = int(peak.read_text()) / 1024
        if proc.returncode != 0:
            result["error"] = log.read_text().strip().splitlines()[-1:]
            return result
        manifest = json.loads((out / "manifest.json").read_text())
        result["training_s"] = manifest.get("training_seconds")
        if (out / "predictions.parquet").is_file():  # always written since the Parquet table
            import pyarrow.parquet as pq

            result["rows"] = pq.ParquetFile(out / "predictions.parquet").metadata.num_rows
        else:  # a run of an older fincast: only the CSV
            with (out / "predictions.csv").open() as fh:
                result["rows"] = sum(1 for _ in fh) - 1
        return result
