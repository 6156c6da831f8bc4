"""Rows vs wall time and peak RSS of a walk-forward backtest on large synthetic panels.

For each size (1M and 2M rows by default: 200 and 400 series x 5,000 business days, from
``benchmarks/memory.py``'s panel builder) one child process runs
``fincast.backtest.prepare`` + ``run_backtest`` (what ``fincast backtest PANEL --models ridge
--baselines naive --quiet`` runs) and reports where the time went. Peak RSS is the child's
``ru_maxrss`` from ``os.wait4``; the fixed runtime is the peak RSS of a child that only
imports fincast and the same libraries.

Stage shares come from timing wrappers the child puts around fincast's own functions (no
profiler, so the figures are those of a normal run); a stage's time is exclusive of the
stages nested in it:

- ``read``: ``data.load``; ``health``: ``screen_records``; ``features``: ``build_design``
- ``train``: a (model, fold) minus its ``predict``; ``predict``: the forecasts and their rows
- ``write``: the predictions parts and the table (``predictions.parquet``, and
  ``predictions.csv`` up to 1M rows: assembled and read back)
- ``metrics``: ``evaluate``; ``report``: plots and ``report.html``
- ``other``: the rest (configuration, checks, the manifest)

``publish`` (metrics + report + write) is the share the issue's target is about.

Usage::

    python benchmarks/scale.py                         # ridge, 1M and 2M rows
    python benchmarks/scale.py --rows 1e6,2e6,5e6,1e7  # larger panels
    python benchmarks/scale.py --models ridge,lightgbm,mlp   # each model in its own run
    python benchmarks/scale.py --rows 2e5 --json out.json

Measured, not asserted by the test suite. Results go to
``benchmarks/results/scale-<date>.json`` unless ``--json`` says otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from benchmarks.machine import machine_info  # noqa: E402
from benchmarks.memory import make_panel  # noqa: E402

DAYS = 5000
STAGES = ("read", "health", "features", "train", "predict", "write", "metrics", "report")
PUBLISH = ("write", "metrics", "report")


class StageClock:
    """Exclusive time per stage: nested stages pause the one that called them."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[list[Any]] = []  # [stage, started]

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            now = time.perf_counter()
            if self._stack:
                outer = self._stack[-1]
                self._add(outer[0], now - outer[1])
            self._stack.append([stage, now])
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.perf_counter()
                self._add(stage, end - self._stack.pop()[1])
                if self._stack:
                    self._stack[-1][1] = end

        return timed

    def _add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


def _patch(clock: StageClock) -> None:
    """Put the stage wrappers around the functions the backtest looks up at call time."""
    from fincast.backtest import engine
    from fincast.report import build, portfolio

    for module, name, stage in [
        (engine, "load", "read"),
        (engine, "screen_records", "health"),
        (engine, "build_design", "features"),
        (engine, "_fold_predictions", "train"),
        (engine, "_fold_setup", "train"),
        (engine, "_fold_frame", "predict"),
        (engine, "write_predictions", "write"),
        (engine, "read_predictions", "write"),
        (build, "evaluate", "metrics"),
        (build, "write_plots", "report"),
        (build, "write_report", "report"),
        (portfolio, "plot_portfolio", "report"),
        (portfolio, "plot_ic_decay", "report"),
        (engine, "_assemble", "write"),  # predictions.csv from the parts (newer engines)
    ]:
        if hasattr(module, name):
            setattr(module, name, clock.wrap(stage, getattr(module, name)))
    engine.pd = _ReadCsvTimed(engine.pd, clock)  # the parts read back before publishing


class _ReadCsvTimed:
    """``pandas`` as the engine sees it, with ``read_csv`` timed as ``write``."""

    def __init__(self, pd: Any, clock: StageClock) -> None:
        self._pd = pd
        self.read_csv = clock.wrap("write", pd.read_csv)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pd, name)


def child(panel: str, out: str, models: str) -> None:
    """Run one backtest in this process; print its stage timings as JSON."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from fincast.backtest import prepare, run_backtest
    from fincast.config import RunConfig

    clock = StageClock()
    _patch(clock)
    t0 = time.perf_counter()
    config = RunConfig(data=panel, models=models.split(","), baselines=["naive"], out=out)
    run_backtest(config, prepared=prepare(config))
    wall = time.perf_counter() - t0
    stages = {s: round(clock.seconds.get(s, 0.0), 2) for s in STAGES}
    stages["other"] = round(wall - sum(clock.seconds.values()), 2)
    print(json.dumps({"seconds": round(wall, 2), "stages": stages}))


def _measure(args: list[str]) -> tuple[dict[str, Any], float, float]:
    """Run this script with ``args`` in a child: its last JSON line, wall seconds, peak RSS MB
    (the child's own ``ru_maxrss``, from ``os.wait4``)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), KERAS_BACKEND="jax")
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [sys.executable, __file__, *args], env=env, stdout=stdout, stderr=stderr
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read().decode(), stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{err[-2000:]}")
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), wall, usage.ru_maxrss / 1024


def baseline_child() -> None:
    """Import what a ridge backtest imports, then stop: the fixed runtime's RSS."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import matplotlib.pyplot  # noqa: F401

    import fincast.backtest
    import fincast.metrics.evaluation
    import fincast.report.build  # noqa: F401

    print(json.dumps({}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e6,2e6", help="panel sizes, comma-separated")
    parser.add_argument(
        "--models",
        default="ridge",
        help="models to time, comma-separated, each in its own run (e.g. ridge,lightgbm,mlp)",
    )
    parser.add_argument("--mlp", action="store_true", help="also time mlp (as --models ridge,mlp)")
    parser.add_argument("--json", type=Path, help="where to write the results")
    parser.add_argument("--keep", type=Path, help="keep the run directories under this folder")
    parser.add_argument(
        "--child", nargs=3, metavar=("PANEL", "OUT", "MODELS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--baseline-child", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(*opts.child)
        return 0
    if opts.baseline_child:
        baseline_child()
        return 0

    sizes = [int(float(r)) for r in opts.rows.split(",")]
    models = [m for m in opts.models.split(",") if m]
    if opts.mlp and "mlp" not in models:
        models.append("mlp")
    _, _, fixed_mb = _measure(["--baseline-child"])
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            tickers = max(1, round(rows / DAYS))
            panel = Path(tmp) / f"panel-{rows}.csv"
            made = make_panel(panel, tickers, DAYS)
            for model in models:
                out = (opts.keep or Path(tmp)) / f"run-{model}-{made}"
                info, wall, rss = _measure(["--child", str(panel), str(out), model])
                stages = info.get("stages", {})
                total = info.get("seconds") or wall
                shares = {k: round(v / total, 3) for k, v in stages.items()}
                publish = sum(stages.get(k, 0.0) for k in PUBLISH)
                run = {
                    "model": model,
                    "rows": made,
                    "series": tickers,
                    "wall_seconds": round(wall, 1),
                    "backtest_seconds": total,
                    "seconds_per_million_rows": round(wall / made * 1e6, 1),
                    "peak_rss_mb": round(rss, 1),
                    "rss_above_fixed_gb_per_million_rows": round(
                        (rss - fixed_mb) / 1024 / made * 1e6, 3
                    ),
                    "stage_seconds": stages,
                    "stage_shares": shares,
                    "publish_share": round(publish / total, 3),
                }
                runs.append(run)
                print(
                    f"{model:>6} {made:>10,} rows: {wall:7.1f} s wall, peak RSS {rss:7.0f} MB, "
                    f"publish {run['publish_share']:.0%}; "
                    + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()),
                    flush=True,
                )
            panel.unlink()
    result = {
        "date": dt.date.today().isoformat(),
        "command": "backtest PANEL --models MODEL --baselines naive (5 folds, seed 0)",
        "days": DAYS,
        "fixed_runtime_rss_mb": round(fixed_mb, 1),
        "machine": machine_info(),
        "runs": runs,
    }
    path = opts.json or ROOT / "benchmarks" / "results" / f"scale-{result['date']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
