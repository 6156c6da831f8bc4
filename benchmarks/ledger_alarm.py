"""False-alarm rate and detection delay of the ledger's edge monitor (``make bench-ledger``).

The monitor (:func:`fincast.ledger.cusum`) watches the loss difference model - naive by
date. Each replication simulates a model with an edge: ``y_t = b_t x_t + e_t``, the model
forecasting ``edge * x_t`` and naive 0 (squared-error losses), with ``b_t = edge`` while the
edge persists and 0 once it has vanished (the model then adds noise). ``e`` is normal, or
Student t with 3 degrees of freedom scaled to unit variance (fat tails like daily
returns'). The reference is a 500-date backtest (``backtest``) or the first 60 live dates
(``live``).

Measured per setting:

- ``arl0``: mean dates to a (false) alarm while the edge persists, runs capped at
  ``cap`` dates (a censored run counts as ``cap``, so the figure is a lower bound when
  some are censored); the design target is ``--arl0``;
- ``false_alarm_252`` / ``false_alarm_500``: share of runs with a false alarm within one
  trading year / 500 dates (an exponential run length with mean ARL0 gives
  ``1 - exp(-252 / ARL0)``: 39 % at 500, 9.6 % at 2,500, the default);
- ``delay_*``: dates from the change to the alarm when the edge vanishes at date 0 of the
  monitored period (mean, median, 90th percentile) and the share detected within 250.

Usage::

    python benchmarks/ledger_alarm.py [--reps 400] [--arl0 2500] [--out benchmarks/results/ledger_alarm.json]

``make bench-ledger`` runs it with 400 replications a row; ``make bench``
(``benchmarks/run.py``) runs :func:`run` with :data:`BENCH_REPS` (a few seconds) and
prints the same table.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from fincast.ledger.monitor import cusum

#: Replications a row in ``make bench`` (``make bench-ledger``: 400).
BENCH_REPS = 200


def _noise(rng: np.random.Generator, n: int, tails: str) -> np.ndarray:
    if tails == "normal":
        return rng.normal(size=n)
    return rng.standard_t(3, size=n) / math.sqrt(3.0)


def _diffs(
    rng: np.random.Generator, n: int, *, edge: float, vanished: bool, tails: str
) -> np.ndarray:
    x, e = rng.normal(size=n), _noise(rng, n, tails)
    b = 0.0 if vanished else edge
    y = b * x + e
    return (edge * x - y) ** 2 - y**2


def _run_length(
    rng: np.random.Generator,
    *,
    edge: float,
    vanished: bool,
    tails: str,
    reference: str,
    cap: int,
    arl0: float,
) -> int | None:
    """Dates to the alarm (None: no alarm within ``cap``)."""
    dates = np.datetime64("2000-01-01") + np.arange(cap + 60)
    if reference == "backtest":
        ref = _diffs(rng, 500, edge=edge, vanished=False, tails=tails)
        live = _diffs(rng, cap, edge=edge, vanished=vanished, tails=tails)
        result = cusum(dates[:cap], live, reference_diff=ref, target_arl0=arl0)
    else:
        head = _diffs(rng, 60, edge=edge, vanished=False, tails=tails)
        live = _diffs(rng, cap, edge=edge, vanished=vanished, tails=tails)
        result = cusum(dates, np.concatenate([head, live]), reference=60, target_arl0=arl0)
    if not result.armed:
        return -1
    return None if result.alarm_index is None else int(result.alarm_index) + 1


def measure(
    reps: int, arl0: float, edge: float, tails: str, reference: str, cap: int, seed: int
) -> dict[str, Any]:
    """One setting's false-alarm and delay figures."""
    rng = np.random.default_rng(seed)
    null = [
        _run_length(
            rng,
            edge=edge,
            vanished=False,
            tails=tails,
            reference=reference,
            cap=cap,
            arl0=arl0,
        )
        for _ in range(reps)
    ]
    alt = [
        _run_length(
            rng, edge=edge, vanished=True, tails=tails, reference=reference, cap=cap, arl0=arl0
        )
        for _ in range(reps)
    ]
    unarmed = sum(r == -1 for r in null + alt)
    runs = np.array([cap if r is None else r for r in null if r != -1], dtype="float64")
    delays = np.array([cap if r is None else r for r in alt if r != -1], dtype="float64")
    return {
        "tails": tails,
        "reference": reference,
        "edge": edge,
        "target_arl0": arl0,
        "reps": reps,
        "unarmed": unarmed,
        "arl0": float(runs.mean()),
        "censored": float(np.mean(runs >= cap)),
        "false_alarm_252": float(np.mean(runs <= 252)),
        "false_alarm_500": float(np.mean(runs <= 500)),
        "delay_mean": float(delays.mean()),
        "delay_median": float(np.median(delays)),
        "delay_p90": float(np.quantile(delays, 0.9)),
        "detected_250": float(np.mean(delays <= 250)),
    }


def run(
    reps: int,
    *,
    arl0: float = 2500.0,
    cap: int = 5000,
    edges: tuple[float, ...] = (0.5, 0.25),
    seed: int = 0,
    log: Any = None,
) -> dict[str, Any]:
    """Every setting's row (edge x noise x reference) and the seconds it took."""
    rows = []
    start = time.perf_counter()
    for edge in edges:
        for tails in ("normal", "t3"):
            for reference in ("backtest", "live"):
                row = measure(reps, arl0, edge, tails, reference, cap, seed)
                rows.append(row)
                if log is not None:
                    log(_line(row))
    return {"seconds": time.perf_counter() - start, "cap": cap, "rows": rows}


def _line(row: dict[str, Any]) -> str:
    return (
        f"edge {row['edge']:g} {row['tails']:6} ref {row['reference']:8}: ARL0 "
        f"{row['arl0']:7.0f} (target {row['target_arl0']:g}, censored {row['censored']:.0%}), "
        f"false alarm <=252 {row['false_alarm_252']:.1%} <=500 {row['false_alarm_500']:.1%}; "
        f"delay mean {row['delay_mean']:.0f} median {row['delay_median']:.0f} "
        f"p90 {row['delay_p90']:.0f}, detected<=250 {row['detected_250']:.0%}"
        + (f", unarmed {row['unarmed']}" if row["unarmed"] else "")
    )


def markdown(results: dict[str, Any]) -> list[str]:
    """The table of docs/guide/ledger.md ("Measured"), as Markdown lines."""
    rows = results["rows"]
    reps = rows[0]["reps"] if rows else 0
    target = rows[0]["target_arl0"] if rows else 0
    lines = [
        "",
        f"**Ledger monitor** (`benchmarks/ledger_alarm.py`, {reps} replications a row, ARL0 "
        f"target {target:,.0f}, runs capped at {results.get('cap', 0):,} dates; "
        f"{results['seconds']:.0f} s): false alarms while the edge persists, delay once it "
        "has gone.",
        "",
        "| edge | noise | reference | ARL0 (lower bound) | false alarm <= 252 dates | <= 500 "
        "| delay mean / median / p90 | detected <= 250 |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        noise = "normal" if row["tails"] == "normal" else "t(3)"
        reference = "backtest (500)" if row["reference"] == "backtest" else "live (60)"
        lines.append(
            f"| {row['edge']:g} | {noise} | {reference} | {row['arl0']:,.0f} | "
            f"{row['false_alarm_252']:.1%} | {row['false_alarm_500']:.1%} | "
            f"{row['delay_mean']:.0f} / {row['delay_median']:.0f} / {row['delay_p90']:.0f} | "
            f"{row['detected_250']:.0%} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--arl0", type=float, default=2500.0)
    parser.add_argument("--cap", type=int, default=5000)
    parser.add_argument("--edges", default="0.5,0.25")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/ledger_alarm.json")
    args = parser.parse_args(argv)
    edges = tuple(float(e) for e in args.edges.split(","))
    results = run(
        args.reps,
        arl0=args.arl0,
        cap=args.cap,
        edges=edges,
        seed=args.seed,
        log=lambda line: print(line, flush=True),
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(out)
    print("\n".join(markdown(results)))
    print(f"wrote {out} in {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
