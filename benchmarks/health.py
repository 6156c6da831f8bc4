"""The cost of the data-health checks in `fincast validate` on a large file (issue 17).

A daily OHLCV + Adj Close panel (default 200 tickers × 5,000 business days = 1M rows) is
written to a temporary CSV; then, in this process and several times each:

- *load only*: :func:`fincast.data.load` + :func:`~fincast.data.summarize`, which is what
  `fincast validate` did before the health checks existed;
- *with health*: the same plus :func:`~fincast.data.check_health` (today's validate);

and, once per repeat, the whole command `fincast validate FILE` in a fresh process (imports
included). The ratio with / without is what issue 17 bounds at 2. Measured and printed by
`make bench`, never asserted (timings depend on the machine and its load).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "src", ROOT):  # benchmark the sources next to this file
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.simulate import simulated_panel  # noqa: E402

TARGET_RATIO = 2.0


def write_panel(path: Path, tickers: int, days: int) -> int:
    """Write a ``tickers`` × ``days`` OHLCV + Adj Close CSV to ``path``; return its rows."""
    frame = simulated_panel(tickers, days)
    frame["adj_close"] = frame["close"]  # no dividends: Close and Adj Close agree
    frame.to_csv(path, index=False)
    return len(frame)


def _timed(fn: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(tickers: int = 200, days: int = 5000, repeats: int = 3) -> dict[str, Any]:
    """Median wall and CPU seconds of validate with and without the health checks.

    Returns
    -------
    dict
        ``rows``, ``load_average`` (1, 5, 15 min, at the start), ``cases`` (``load_only``,
        ``with_health``, ``health_only``, ``cli``: median ``wall_s`` and ``cpu_s``),
        ``findings`` (on the generated data: a random walk, so none expected), ``ratio``
        and ``ratio_cpu`` (with health / load only) and ``ratio_added_cpu`` (1 + health
        alone / load only, in CPU time: the least noisy estimate on a busy machine).
    """
    from fincast.data import check_health, load, summarize

    load_average = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "panel.csv"
        rows = write_panel(path, tickers, days)
        times: dict[str, list[tuple[float, float]]] = {
            "load_only": [],
            "with_health": [],
            "health_only": [],
            "cli": [],
        }
        findings = 0

        def full() -> None:
            nonlocal findings
            ds = load(path)
            summarize(ds)
            findings = len(check_health(ds))

        for i in range(repeats):  # alternate the order: neither path always goes first
            order = ("load_only", "with_health") if i % 2 == 0 else ("with_health", "load_only")
            for name in order:
                fn = full if name == "with_health" else lambda: summarize(load(path))
                times[name].append(_timed(fn))
            ds = load(path)
            times["health_only"].append(_timed(lambda ds=ds: check_health(ds)))
            env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
            cmd = [sys.executable, "-m", "fincast", "validate", str(path)]
            wall = time.perf_counter()
            subprocess.run(cmd, env=env, capture_output=True, check=False)
            times["cli"].append((time.perf_counter() - wall, float("nan")))
    cases = {
        name: {
            "wall_s": statistics.median(t[0] for t in pairs),
            "cpu_s": statistics.median(t[1] for t in pairs),
        }
        for name, pairs in times.items()
    }
    cases["cli"]["cpu_s"] = None
    return {
        "tickers": tickers,
        "days": days,
        "rows": rows,
        "repeats": repeats,
        "load_average": load_average,
        "load_average_end": list(os.getloadavg()),
        "cases": cases,
        "findings": findings,
        "ratio": cases["with_health"]["wall_s"] / cases["load_only"]["wall_s"],
        "ratio_cpu": cases["with_health"]["cpu_s"] / cases["load_only"]["cpu_s"],
        # the checks' own share, less sensitive to noise than the difference of two runs
        "ratio_added_cpu": 1 + cases["health_only"]["cpu_s"] / cases["load_only"]["cpu_s"],
        "target_ratio": TARGET_RATIO,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    """The measurements as Markdown lines."""
    la = result["load_average"]
    labels = {
        "load_only": "load + summary (validate without the health checks)",
        "with_health": "load + summary + health checks (validate)",
        "health_only": "health checks alone",
        "cli": "`fincast validate FILE`, fresh process",
    }
    lines = [
        "",
        f"**Data health in `fincast validate`** ({result['rows']:,} rows: {result['tickers']} "
        f"tickers × {result['days']:,} business days, OHLCV + Adj Close CSV; median of "
        f"{result['repeats']}; load average {la[0]:.2f} at the start, "
        f"{result['load_average_end'][0]:.2f} at the end; {result['findings']} findings):",
        "",
        "| path | wall s | CPU s |",
        "| --- | ---: | ---: |",
    ]
    for key, label in labels.items():
        case = result["cases"][key]
        cpu = "–" if case["cpu_s"] is None else f"{case['cpu_s']:.2f}"
        lines.append(f"| {label} | {case['wall_s']:.2f} | {cpu} |")
    ok = max(result["ratio"], result["ratio_added_cpu"]) <= result["target_ratio"]
    lines += [
        "",
        f"with / without the health checks: {result['ratio']:.2f}× wall, "
        f"{result['ratio_cpu']:.2f}× CPU; load + health alone over load only: "
        f"{result['ratio_added_cpu']:.2f}× CPU (target <= {result['target_ratio']:g}×: "
        f"{'met' if ok else '**not met**'}).",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(markdown(measure())))
