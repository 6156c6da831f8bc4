"""`make bench`: fincast's performance and quality benchmark.

Writes ``benchmarks/results/<date>.json`` and prints Markdown tables:

1. training throughput of ``seed-mlp`` through fincast vs a plain Keras script and vs a
   hand-written JAX loop (ratios of times measured in the same process);
2. wall time and peak RSS of whole walk-forward backtests (the default run, more folds,
   a 20-ticker panel, and ``model.fit`` instead of fincast's compiled loop);
3. forecast quality against known limits on simulated data;
4. the cost of the data-health checks in ``fincast validate`` on 1M rows
   (:mod:`benchmarks.health`);
5. the default-settings table (:mod:`benchmarks.defaults`): every network and classical
   baseline, no flags, on simulated and real data (3 folds a case; not in ``--quick``);
6. the time of writing a run's outputs (:mod:`benchmarks.report_speed`): metrics, plots
   and HTML of the demo run's report, in fresh processes;
7. the peer workload of issue 14 (:mod:`benchmarks.peers`): fincast against a plain Keras
   script with per-fold ``fit``, engine and whole-process time, peak RSS, the ratios
   against their targets, and the achieved GFLOP/s beside the machine's matmul peak;
8. the ledger monitor's false-alarm rate and detection delay
   (:mod:`benchmarks.ledger_alarm`; :data:`~benchmarks.ledger_alarm.BENCH_REPS`
   replications a row here, 400 in ``make bench-ledger``).

Run ``python benchmarks/run.py --quick`` for a seconds-long smoke run with tiny sizes.
Timings are measured, never asserted; on a shared machine they vary from run to run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "src", ROOT):  # benchmark the sources next to this file
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks import (  # noqa: E402
    defaults,
    health,
    ledger_alarm,
    peers,
    quality,
    report_speed,
    startup,
    throughput,
)
from benchmarks.machine import machine_info  # noqa: E402
from benchmarks.simulate import simulated_panel  # noqa: E402
from benchmarks.walkforward import run_case  # noqa: E402

GOALS = {
    "ratio_plain": 1.0,
    "ratio_jax": 2.0,
    "default_wall_s": 60.0,
    "mse_ratio": 1.05,
    "random_walk_skill": 0.005,
}


def walkforward_cases(quick: bool, workdir: Path) -> list[tuple[str, list[str], dict[str, str]]]:
    """(name, fincast backtest arguments, extra environment) of each walk-forward case."""
    panel = workdir / "panel20.csv"
    simulated_panel(20, 120 if quick else 2500).to_csv(panel, index=False)
    if quick:
        tiny = ["--epochs", "1", "--folds", "2", "--lookback", "5"]
        return [
            (
                "default: seed-mlp + lstm, 2 folds (quick)",
                ["builtin:sp500", "--models", "seed-mlp,lstm", *tiny],
                {},
            ),
            ("20-ticker panel, seed-mlp (quick)", [str(panel), "--models", "seed-mlp", *tiny], {}),
        ]
    sp = "builtin:sp500"
    return [
        ("default: seed-mlp + lstm, 5 folds", [sp, "--models", "seed-mlp,lstm"], {}),
        ("`make demo`: seed-mlp + mlp, 5 folds", [sp, "--models", "seed-mlp,mlp"], {}),
        ("seed-mlp, 5 folds", [sp, "--models", "seed-mlp"], {}),
        ("seed-mlp, 10 folds", [sp, "--models", "seed-mlp", "--folds", "10"], {}),
        ("seed-mlp, 20 folds", [sp, "--models", "seed-mlp", "--folds", "20"], {}),
        ("seed-mlp + lstm, 10 folds", [sp, "--models", "seed-mlp,lstm", "--folds", "10"], {}),
        (
            "20-ticker panel (2,500 dates), seed-mlp, 5 folds",
            [str(panel), "--models", "seed-mlp"],
            {},
        ),
        (
            "seed-mlp, 5 folds, Keras model.fit (FINCAST_FASTFIT=0)",
            [sp, "--models", "seed-mlp"],
            {"FINCAST_FASTFIT": "0"},
        ),
    ]


def run(quick: bool = False, log: Any = print) -> dict[str, Any]:
    """Run every part of the benchmark; return the results (JSON-serialisable)."""
    started = time.perf_counter()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine_info(),
        "goals": GOALS,
    }
    log("start-up: fincast --help, import fincast, models, validate ...")
    results["startup"] = startup.measure(repeats=2 if quick else 5)
    log("data health: fincast validate with and without the health checks ...")
    results["health"] = health.measure(20, 500, repeats=1) if quick else health.measure()
    log("throughput: seed-mlp through fincast, plain Keras and a hand-written JAX loop ...")
    results["throughput"] = (
        throughput.compare(epochs=2, repeats=1, rows=300)
        if quick
        else throughput.compare(epochs=20, repeats=3)
    )
    results["walkforward"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, args, env in walkforward_cases(quick, Path(tmp)):
            log(f"walk-forward: {name} ...")
            case = run_case(args, env=env, workdir=Path(tmp))
            results["walkforward"].append({"name": name, **case})
        log("report writing: fincast report of the demo run (metrics, plots, HTML) ...")
        results["report"] = report_speed.measure_demo(
            Path(tmp), quick=quick, repeats=1 if quick else 3
        )
    results["peers"] = peers.measure(repeats=1 if quick else 2, quick=quick, log=log)
    log("quality: simulated AR(2)-GARCH(1,1) and random walk ...")
    small = {"epochs": 2, "folds": 2, "models": ["seed-mlp"]} if quick else {}
    n = 400 if quick else 8000
    results["quality"] = {
        "ar_garch": quality.ar_garch_quality(n, settings=small),
        "ar_garch_defaults": quality.ar_garch_quality(
            n,
            settings={
                "models": ["seed-mlp"],
                "lookback": 20,
                "patience": None,
                **({"epochs": 2, "folds": 2} if quick else {}),
            },
        ),
        "random_walk": quality.random_walk_skill(n, settings=small),
    }
    log("ledger monitor: CUSUM false alarms and detection delay on simulated edges ...")
    results["ledger_alarm"] = (
        ledger_alarm.run(20, cap=1000) if quick else ledger_alarm.run(ledger_alarm.BENCH_REPS)
    )
    if quick:
        results["defaults"] = {"skipped": "quick run"}
    else:
        results["defaults"] = []
        for case in defaults.CASES:
            log(f"defaults: {case} (every network and baseline, default settings) ...")
            # real returns at fincast's default 5 folds (the target is "by default")
            folds = 5 if case.endswith("-return") else 3
            results["defaults"].append(defaults.run_case(case, folds=folds))
    results["machine"]["load_average_end"] = list(os.getloadavg())
    results["total_s"] = time.perf_counter() - started
    return results


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def markdown(results: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    m = results["machine"]
    lines = [
        f"Machine: {m['nproc']} cores, {m['cpu']}, {m['ram_gb']} GB RAM; Python {m['python']}, "
        f"Keras {m['versions']['keras']} / JAX {m['versions']['jax']}; "
        f"{results['date']}; whole benchmark {results['total_s']:.0f} s; load average "
        f"{_fmt(m['load_average'][0], 2)} at the start, "
        f"{_fmt(m['load_average_end'][0], 2)} at the end.",
        "",
    ]
    t = results["throughput"]
    meth = t["methods"]
    lines += [
        f"**Training throughput** (seed-mlp, {t['rows']:,} rows of `builtin:sp500`, batch 32, "
        f"{t['epochs']} epochs per fit, median of {t['repeats']}, new model per fit):",
        "",
        "| way of training | s / epoch | CPU s / epoch | first fit (compiles) s |",
        "| --- | ---: | ---: | ---: |",
    ]
    labels = {
        "fincast": "fincast `seed-mlp` (compiled loop, reused across fits)",
        "plain_keras": "plain Keras script: `model.fit(..., verbose=0)`",
        "plain_keras_spe32": "plain Keras, `steps_per_execution=32`",
        "jax_scan": "hand-written JAX: `lax.scan` + optax Adam",
    }
    for key, label in labels.items():
        lines.append(
            f"| {label} | {_fmt(meth[key]['s_per_epoch'])} | "
            f"{_fmt(meth[key]['cpu_s_per_epoch'])} | {_fmt(meth[key]['first_fit_s'])} |"
        )
    default = results["walkforward"][0]
    q = results["quality"]
    lines += [
        "",
        "| goal | measured | target | met |",
        "| --- | ---: | ---: | --- |",
        f"| fincast / plain Keras time (CPU time: {_fmt(t['ratio_plain_cpu'])}) | "
        f"{_fmt(t['ratio_plain'])} | <= 1.0 | "
        f"{_met(t['ratio_plain'] <= GOALS['ratio_plain'])} |",
        f"| fincast / hand-written JAX time (CPU time: {_fmt(t['ratio_jax_cpu'])}) | "
        f"{_fmt(t['ratio_jax'])} | <= 2.0 | "
        f"{_met(t['ratio_jax'] <= GOALS['ratio_jax'])} |",
        f"| default walk-forward wall time ({default['name']}) | "
        f"{_fmt(default['wall_s'])} s | < 60 s | "
        f"{_met('error' not in default and default['wall_s'] < GOALS['default_wall_s'])} |",
    ]
    for model, row in q["ar_garch"]["models"].items():
        if model in ("naive", "mean"):
            continue
        lines.append(
            f"| AR(2)-GARCH(1,1): {model} MSE / best possible | {_fmt(row['ratio'], 4)} | "
            f"<= 1.05 | {_met(row['ratio'] <= GOALS['mse_ratio'])} |"
        )
    for model, row in q["random_walk"]["models"].items():
        if model in ("naive", "mean"):
            continue
        skill = row["skill_vs_naive"]
        ok = skill is not None and skill <= GOALS["random_walk_skill"]
        lines.append(
            f"| random walk: {model} skill vs naive | {_fmt(skill, 3)} | <= 0.005 | {_met(ok)} |"
        )
    lines += [
        "",
        "**Walk-forward backtests** (`fincast backtest ... --quiet`, one process each, imports "
        "included; baselines naive and mean always run):",
        "",
        "| case | wall s | training s | peak RSS MB | predictions |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for case in results["walkforward"]:
        if "error" in case:
            lines.append(f"| {case['name']} | failed: {case['error']} | | | |")
            continue
        lines.append(
            f"| {case['name']} | {_fmt(case['wall_s'])} | {_fmt(case.get('training_s'))} | "
            f"{case['peak_rss_mb']:.0f} | {case.get('rows', 0):,} |"
        )
    settings = q["ar_garch"]["settings"]
    lines += [
        "",
        f"**Quality** ({q['ar_garch']['rows']:,} simulated days; settings {json.dumps(settings)}): "
        "out-of-sample MSE over the best possible MSE (the mean conditional variance of the "
        "simulated noise over the same rows), and over the MSE the true conditional mean "
        "actually reached on those rows (the oracle).",
        "",
        "| data | model | MSE / optimum | MSE / oracle's MSE | skill vs naive |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for label, part in (
        ("AR(2)-GARCH(1,1)", q["ar_garch"]),
        ("AR(2)-GARCH(1,1), defaults (lookback 20, no early stopping)", q["ar_garch_defaults"]),
    ):
        for model, row in part["models"].items():
            lines.append(
                f"| {label} | {model} | {_fmt(row['ratio'], 4)} | "
                f"{_fmt(row.get('ratio_oracle'), 4)} | |"
            )
    for model, row in q["random_walk"]["models"].items():
        lines.append(f"| random walk | {model} | | | {_fmt(row['skill_vs_naive'], 3)} |")
    if "peers" in results:
        lines += peers.markdown(results["peers"])
    if "startup" in results:
        lines += startup.markdown(results["startup"])
    if "report" in results:
        lines += report_speed.markdown(results["report"])
    if "health" in results:
        lines += health.markdown(results["health"])
    if "ledger_alarm" in results:
        lines += ledger_alarm.markdown(results["ledger_alarm"])
    if isinstance(results.get("defaults"), list):
        lines += ["", "**Default settings** (every network and baseline, no flags):", ""]
        lines.append(defaults.markdown(results["defaults"]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python benchmarks/run.py [--quick] [--out FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--out",
        type=Path,
        help="results JSON (default benchmarks/results/<date>.json; quick runs are not saved)",
    )
    args = parser.parse_args(argv)
    results = run(quick=args.quick, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    out = args.out
    if out is None and not args.quick:
        out = ROOT / "benchmarks" / "results" / f"{dt.date.today().isoformat()}.json"
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
        tmp.replace(out)
    print(markdown(results))
    if out is not None:
        print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
