"""Scale-out benchmark: walk-forward wall time by executor, and tuning throughput.

Measured, not asserted. Runs the same backtest with ``--workers 1`` (sequential, in this
process), local processes (``--workers 2``) and a local Ray cluster, checks that every
executor wrote byte-identical predictions, and prints the speed-up over sequential. Then
it runs a small ``fincast tune`` study with each executor and reports trials per minute.
The figures measured on the project machine are in docs/guide/scale-out.md.

Usage::

    python benchmarks/scaleout.py                       # seed-mlp and lstm, sp500
    python benchmarks/scaleout.py --models seed-mlp --epochs 30 --folds 4
    python benchmarks/scaleout.py --skip-tune --no-ray
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
sys.path.insert(0, SRC)
# worker processes (local and Ray) must import this checkout too, not an installed copy
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))

from fincast import _backend  # noqa: E402,F401
from fincast.backtest import prepare, run_backtest  # noqa: E402
from fincast.config import build_config  # noqa: E402


def backtest_seconds(values: dict, out: Path) -> tuple[float, bytes]:
    cfg = build_config({**values, "out": str(out)})
    prep = prepare(cfg)
    t0 = time.perf_counter()
    run_backtest(cfg, prepared=prep)
    return time.perf_counter() - t0, (out / "predictions.csv").read_bytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="builtin:sp500")
    ap.add_argument("--models", default="seed-mlp,lstm")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--skip-tune", action="store_true")
    ap.add_argument("--trials", type=int, default=6)
    args = ap.parse_args()
    if not args.no_ray and importlib.util.find_spec("ray") is None:
        print("ray is not installed (pip install 'fincast[ray]'): skipping the Ray runs")
        args.no_ray = True

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="fincast-scaleout-"))
    for model in args.models.split(","):
        base = {
            "data": args.data,
            "models": {model: {"epochs": args.epochs}},
            "baselines": ["naive"],
            "folds": args.folds,
        }
        runs = [("sequential", {"workers": 1}), ("local x2", {"workers": 2})]
        if not args.no_ray:
            runs.append(("ray x2", {"executor": "ray", "workers": 2}))
        times: dict[str, list[float]] = {}
        ref = None
        for r in range(args.repeat):
            for label, extra in runs:
                out = tmp / f"{model}-{label.replace(' ', '')}-{r}"
                secs, data = backtest_seconds({**base, **extra}, out)
                ref = ref or data
                assert data == ref, f"{label} predictions differ from sequential"
                times.setdefault(label, []).append(secs)
        seq = min(times["sequential"])
        for label, ts in times.items():
            rows.append(
                {
                    "model": model,
                    "executor": label,
                    "seconds": round(min(ts), 2),
                    "speedup": round(seq / min(ts), 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)

    if not args.skip_tune:
        from fincast.tune import tune

        tune_runs = [("sequential", {"workers": 1}), ("local x2", {"workers": 2})]
        if not args.no_ray:
            tune_runs.append(("ray x2", {"executor": "ray", "workers": 2}))
        for label, extra in tune_runs:
            cfg = build_config(
                {
                    "data": args.data,
                    "models": {"seed-mlp": {}},
                    "folds": args.folds,
                    "out": str(tmp / f"tune-{label.replace(' ', '')}"),
                    "search_space": {"epochs": {"low": 5, "high": 20}},
                    **extra,
                }
            )
            t0 = time.perf_counter()
            result = tune(cfg, trials=args.trials, backtest=False)
            secs = time.perf_counter() - t0
            row = {
                "tune": "seed-mlp",
                "executor": label,
                "trials": result.n_trials,
                "pruned": result.n_pruned,
                "seconds": round(secs, 1),
                "trials_per_minute": round(60 * result.n_trials / secs, 2),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"cpus: {os.cpu_count()}; load average now: {load}; scratch: {tmp}")


if __name__ == "__main__":
    main()
