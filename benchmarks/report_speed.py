"""Time of writing a run's outputs: ``metrics.json``, ``plots/*.png`` and ``report.html``.

Rebuilds the report of a finished run directory (``fincast report``) in fresh processes,
on a copy of the directory, and splits the time of
:func:`fincast.report.build.publish` into scoring (``evaluate``), plots (each plot timed
on its own) and the HTML. The whole ``fincast report`` process (imports included) is
timed too. Measured and printed, never asserted: timings depend on the machine and its
load.

``python benchmarks/report_speed.py RUN_DIR [--repeats N] [--src SRC]`` times the sources
in ``SRC`` (default: the ``src/`` next to this file), so two versions can be compared on
the same run and machine state.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"

_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from fincast.report import build, diagnostics, intervals, plots, portfolio
imports = time.perf_counter() - t0
times = {}
def timed(module, name, key=None):
    fn = getattr(module, name)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            k = key or name
            times[k] = times.get(k, 0.0) + time.perf_counter() - start
    setattr(module, name, wrapper)
timed(build, "evaluate", "metrics")
timed(build, "write_report", "html")
timed(build, "write_plots", "plots")
for name in ("_draw_cumulative", "_draw_drawdown"):
    if hasattr(plots, name):
        timed(plots, name, "plot:" + name[6:])
for module in (plots, diagnostics, portfolio, intervals):
    for name in dir(module):
        if name.startswith("plot_") and callable(getattr(module, name)):
            timed(module, name, "plot:" + name[5:])
for module, names in ((portfolio, ("plot_portfolio", "plot_ic_decay")), (intervals, ("plot_fan",))):
    for name in names:  # drawn by publish after write_plots
        timed(module, name, "plots")
start = time.perf_counter()
build.rebuild_report(sys.argv[1])
total = time.perf_counter() - start
print(json.dumps({"imports_s": imports, "rebuild_s": total, **times}))
"""


def _env(src: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(src))


def measure(run_dir: str | Path, *, repeats: int = 3, src: Path = SRC) -> dict[str, Any]:
    """Time ``repeats`` report rebuilds of ``run_dir`` (on copies), in fresh processes.

    Returns
    -------
    dict
        ``runs``: per repeat ``rebuild_s`` (reading the run and :func:`publish`),
        ``metrics`` (scoring), ``plots`` (every plot), ``html``, ``plot:<name>`` and the
        wall time of a whole ``fincast report`` process (``process_s``); ``median``: the
        median of each over the repeats; ``load_average`` before and after.
    """
    runs = []
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            copy = Path(tmp) / f"run{i}"
            shutil.copytree(run_dir, copy)
            proc = subprocess.run(
                [sys.executable, "-c", _PROBE, str(copy)],
                env=_env(src),
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "fincast", "report", str(copy)],
                env=_env(src),
                capture_output=True,
                check=True,
            )
            row["process_s"] = time.perf_counter() - start
            runs.append(row)
    keys = sorted({k for r in runs for k in r})
    median = {k: statistics.median(r[k] for r in runs if k in r) for k in keys}
    return {
        "run_dir": str(run_dir),
        "repeats": repeats,
        "runs": runs,
        "median": median,
        "load_average": [load_before, list(os.getloadavg())],
    }


#: The demo run whose report is timed (``make demo``'s models); ``--quick``: a tiny one.
DEMO_ARGS = ["builtin:sp500", "--models", "seed-mlp,mlp"]
QUICK_ARGS = ["builtin:sp500", "--models", "seed-mlp", "--epochs", "1", "--folds", "2"]


def measure_demo(
    workdir: Path, *, quick: bool = False, repeats: int = 3, src: Path = SRC
) -> dict[str, Any]:
    """Run the demo backtest once into ``workdir``, then :func:`measure` its report."""
    run_dir = Path(workdir) / "report-demo"
    args = QUICK_ARGS if quick else DEMO_ARGS
    subprocess.run(
        [sys.executable, "-m", "fincast", "backtest", *args, "--quiet", "--out", str(run_dir)],
        env=_env(src),
        capture_output=True,
        check=True,
    )
    result = measure(run_dir, repeats=repeats, src=src)
    result["run"] = "fincast backtest " + " ".join(args)
    return result


def markdown(result: dict[str, Any]) -> list[str]:
    """The median split as a Markdown table."""
    m = result["median"]
    lines = [
        "",
        f"**Report writing** (`fincast report` of `{result.get('run', result['run_dir'])}`, "
        f"median of {result['repeats']} fresh processes, load "
        f"{result['load_average'][0][0]:.1f}; rebuild = reading the run + metrics + plots + "
        "HTML):",
        "",
        "| part | s |",
        "| --- | ---: |",
    ]
    for key in ("rebuild_s", "metrics", "plots", "html", "imports_s", "process_s"):
        if key in m:
            lines.append(f"| {key} | {m[key]:.3f} |")
    for key in sorted(k for k in m if k.startswith("plot:")):
        lines.append(f"| {key} | {m[key]:.3f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python benchmarks/report_speed.py RUN_DIR [--repeats N] [--src SRC]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--src", type=Path, default=SRC)
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = parser.parse_args(argv)
    result = measure(args.run_dir, repeats=args.repeats, src=args.src)
    print(json.dumps(result, indent=2) if args.json else "\n".join(markdown(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
