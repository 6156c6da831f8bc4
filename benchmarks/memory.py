"""Peak memory of fincast on a 1,000,000-row panel (200 tickers x 5,000 days by default).

Each step runs in its own process through the real command line, and its peak resident set
size is read from the kernel with ``os.wait4`` (``ru_maxrss``) when the process ends:

1. ``fincast validate PANEL --json``
2. ``fincast backtest PANEL --models ridge --baselines naive`` (``naive,mean`` when the
   ``ridge`` model is not available in this checkout)

Usage::

    python benchmarks/memory.py                      # 200 x 5000, limit 4 GB
    python benchmarks/memory.py --tickers 20 --days 1000 --json out.json

Measured, not asserted by the test suite; the figures are quoted in docs/guide/scale-out.md ("Memory").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def make_panel(path: Path, tickers: int, days: int, seed: int = 0) -> int:
    """Write a long-format OHLCV panel (geometric random walks) as CSV; returns its rows."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2000-01-03", periods=days)
    ret = rng.normal(0.0002, 0.01, (tickers, days))
    close = 50 * np.exp(np.cumsum(ret, axis=1))
    open_ = close * np.exp(rng.normal(0, 0.003, close.shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, close.shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, close.shape)))
    frame = pd.DataFrame(
        {
            "date": np.tile(dates.strftime("%Y-%m-%d").to_numpy(), tickers),
            "ticker": np.repeat([f"T{i:04d}" for i in range(tickers)], days),
            "open": open_.ravel().round(4),
            "high": high.ravel().round(4),
            "low": low.ravel().round(4),
            "close": close.ravel().round(4),
            "volume": rng.integers(10_000, 1_000_000, close.size),
        }
    )
    frame.to_csv(path, index=False)
    return len(frame)


def measure(args: list[str]) -> dict[str, object]:
    """Run ``python -m fincast ARGS``; its exit code, wall time and peak RSS in MB."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), KERAS_BACKEND="jax")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fincast", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    return {
        "command": "fincast " + " ".join(args),
        "exit_code": os.waitstatus_to_exitcode(status),
        "seconds": round(time.perf_counter() - t0, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "stderr_tail": err.strip().splitlines()[-3:],
    }


def has_ridge() -> bool:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from fincast.models import MODELS

    return "ridge" in MODELS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=200)
    parser.add_argument("--days", type=int, default=5000)
    parser.add_argument("--limit-gb", type=float, default=4.0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    opts = parser.parse_args()

    models = (
        ["--models", "ridge", "--baselines", "naive"]
        if has_ridge()
        else ["--models", "mean", "--baselines", "naive"]
    )
    with tempfile.TemporaryDirectory() as tmp:
        panel = Path(tmp) / "panel.csv"
        t0 = time.perf_counter()
        rows = make_panel(panel, opts.tickers, opts.days)
        made = time.perf_counter() - t0
        steps = [
            measure(["validate", str(panel), "--json"]),
            measure(["backtest", str(panel), *models, "--quiet", "--out", str(Path(tmp) / "run")]),
        ]
        size_mb = panel.stat().st_size / 2**20
    limit_mb = opts.limit_gb * 1024
    result = {
        "rows": rows,
        "tickers": opts.tickers,
        "days": opts.days,
        "csv_mb": round(size_mb, 1),
        "panel_written_seconds": round(made, 1),
        "models": "naive,ridge" if "ridge" in models else "naive,mean (ridge not available)",
        "limit_mb": limit_mb,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "steps": steps,
    }
    print(json.dumps(result, indent=2))
    if opts.json:
        opts.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = all(s["exit_code"] == 0 and s["peak_rss_mb"] < limit_mb for s in steps)
    print(
        "\n".join(
            f"{s['command'].split()[1]:>9}: peak RSS {s['peak_rss_mb']:8.1f} MB, "
            f"{s['seconds']:7.1f} s, exit {s['exit_code']}"
            for s in steps
        )
    )
    print(f"{'OK' if ok else 'OVER LIMIT OR FAILED'}: limit {limit_mb:.0f} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
