"""fincast against a plain Keras 3 / JAX script on the peer workload of issue 14.

The workload: S&P 500 daily log returns (``builtin:sp500``), 20 lags, 5 expanding folds of
400 test days each, a new network trained in every fold, an MLP 64-64 for 20 epochs and an
LSTM(64) for 5 epochs, batch 32, Adam with learning rate 1e-3, MSE.

Every measurement is a fresh process, the two tools alternating, so both see the same load:

- **fincast**: ``fincast backtest builtin:sp500 --test-size 400`` with ``seed-mlp`` (the
  MLP 64-64) or ``lstm`` without fincast's additions (no skip path, weight decay, early
  stopping or shrinkage); *engine* time is the ``training_seconds`` of its manifest (all
  (model, fold) units, baselines included; imports, data loading and the report excluded);
- **plain Keras**: this file with ``--plain mlp|lstm``: the classic script, which builds,
  compiles and ``fit``s a new ``keras.Sequential`` in every fold and ``predict``s the test
  block; *engine* time is its fold loop (imports and data loading excluded). It runs with
  JAX's defaults (no persistent compilation cache: the variables ``fincast._backend`` sets
  are removed from its environment), as a user's script would; the targets are ratios
  against this run. For reference it also runs with the persistent cache fincast uses
  (every program kept), new and filled by the run before: how much of fincast's lead is
  the cache.

*Whole process* is the wall time of the process, *peak RSS* its ``VmHWM``. The achieved
GFLOP/s of the LSTM counts the matrix products of training (forward and backward, about 3x
the forward products) over the engine time; the machine's matmul peak is a 1024 x 1024
float32 ``jnp.dot`` (both cores) and the LSTM's own recurrent product (32 x 64 by 64 x
256), measured in another fresh process.

Darts is not installed here: its row is the figures of issue 14, measured on this machine
with Darts 0.48 (PyTorch), quoted as a reference, not re-measured. The issue gives no
NeuralForecast figures for this workload, so there is no NeuralForecast row.

Usage: ``python benchmarks/peers.py [--repeats N] [--quick] [--json FILE]``; ``make bench``
runs it too (:mod:`benchmarks.run`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "src", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.walkforward import run_case  # noqa: E402

__all__ = ["REFERENCE", "TARGETS", "markdown", "measure", "plain_walk_forward"]

LAGS = 20
FOLDS = 5
TEST_DAYS = 400
BATCH = 32
LR = 1e-3
UNITS = 64
EPOCHS = {"mlp": 20, "lstm": 5}

#: fincast with a new (cold) and a filled (warm) compilation cache; the plain script with
#: JAX's defaults (no persistent cache: the targets' reference), then with a new and a
#: filled persistent cache.
TOOLS = ("fincast", "fincast_warm", "plain_keras", "plain_keras_cache", "plain_keras_cache_warm")
#: The persistent-cache settings fincast's ``_backend`` applies (removed for the plain run).
_CACHE_VARS = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")
#: Targets of issue 14: fincast / plain Keras, in one run.
TARGETS = {"mlp_engine": 0.12, "lstm_engine": 0.25, "mlp_process": 0.4}

#: Issue 14's figures for Darts 0.48 (PyTorch), per-fold loop, this machine (seconds).
REFERENCE = {
    "darts": {"mlp_engine": (23, 26), "lstm_engine": (12.7, 13.5), "mlp_process": (29, 32)},
}

# fincast's LSTM with its additions off: the plain LSTM(64) -> Dense(1) of the script.
_LSTM_CONFIG = """\
models:
  lstm: {epochs: 5, patience: 0, skip: false, shrink: false, weight_decay: 0.0}
"""


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


# -- the plain Keras script ---------------------------------------------------------------
def _sp500_log_returns() -> Any:
    """Daily log returns of the S&P 500 adjusted close (the file behind builtin:sp500)."""
    import importlib.util

    import numpy as np
    import pandas as pd

    spec = importlib.util.find_spec("arch")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "sp500" / "sp500.csv.gz"
    close = pd.read_csv(path)["Adj Close"].to_numpy(dtype="float64")
    return np.diff(np.log(close))


def plain_walk_forward(kind: str, epochs: int | None = None) -> dict[str, Any]:
    """The classic script: per fold, standardise, build, compile, ``fit``, ``predict``.

    Returns the fold-loop seconds (imports and data excluded), the training rows per fold
    and the input shape.
    """
    import keras
    import numpy as np

    epochs = EPOCHS[kind] if epochs is None else epochs
    r = _sp500_log_returns()
    # row t: returns t-19 .. t, target the return t+1
    windows = np.lib.stride_tricks.sliding_window_view(r[:-1], LAGS)
    target = r[LAGS:]
    n = len(target)
    started = time.perf_counter()
    rows = []
    for k in range(FOLDS):
        test_start = n - (FOLDS - k) * TEST_DAYS
        train_end = test_start - 1  # the last training target is the day before the test
        x_tr, y_tr = windows[:train_end], target[:train_end]
        x_te = windows[test_start : test_start + TEST_DAYS]
        mu, sd = x_tr.mean(), x_tr.std()
        y_mu, y_sd = y_tr.mean(), y_tr.std()
        xs = ((x_tr - mu) / sd).astype("float32")
        xt = ((x_te - mu) / sd).astype("float32")
        ys = ((y_tr - y_mu) / y_sd).astype("float32")
        keras.utils.set_random_seed(k)
        if kind == "mlp":
            model = keras.Sequential(
                [
                    keras.Input((LAGS,)),
                    keras.layers.Dense(UNITS, activation="relu"),
                    keras.layers.Dense(UNITS, activation="relu"),
                    keras.layers.Dense(1),
                ]
            )
        else:
            xs, xt = xs[..., None], xt[..., None]
            model = keras.Sequential(
                [keras.Input((LAGS, 1)), keras.layers.LSTM(UNITS), keras.layers.Dense(1)]
            )
        model.compile(optimizer=keras.optimizers.Adam(LR), loss="mse")
        model.fit(xs, ys, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0)
        pred = model.predict(xt, batch_size=BATCH, verbose=0) * y_sd + y_mu
        assert np.isfinite(pred).all()
        rows.append(len(xs))
    return {
        "engine_s": time.perf_counter() - started,
        "train_rows": rows,
        "input_shape": list(xs.shape[1:]),
    }


# -- measurements -------------------------------------------------------------------------
def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("KERAS_BACKEND", "jax")
    return env


def _run_plain(kind: str, epochs: int | None, cache: str | None = None) -> dict[str, Any]:
    """The plain script in a fresh process: JAX's defaults, or the persistent cache in
    ``cache`` with fincast's settings."""
    env = {k: v for k, v in _child_env().items() if k not in _CACHE_VARS}
    if cache is not None:
        env.update(zip(_CACHE_VARS, (cache, "0"), strict=True))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plain.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--plain", kind, "--json", str(out)]
        if epochs is not None:
            cmd += ["--epochs", str(epochs)]
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            return {"error": proc.stderr.strip().splitlines()[-1:], "process_s": wall}
        result: dict[str, Any] = json.loads(out.read_text())
        result["process_s"] = wall
        return result


def _fincast_args(kind: str, workdir: Path, epochs: int | None) -> list[str]:
    common = ["builtin:sp500", "--test-size", str(TEST_DAYS), "--folds", str(FOLDS)]
    common += ["--lookback", str(LAGS), "--baselines", "naive"]
    if kind == "mlp":
        return [*common, "--models", "seed-mlp", "--epochs", str(epochs or EPOCHS["mlp"])]
    config = workdir / "lstm.yaml"
    config.write_text(_LSTM_CONFIG.replace("epochs: 5", f"epochs: {epochs or EPOCHS['lstm']}"))
    return [*common, "--models", "lstm", "--config", str(config)]


def _run_fincast(kind: str, epochs: int | None, cache: str) -> dict[str, Any]:
    env = {**_child_env(), "JAX_COMPILATION_CACHE_DIR": cache}
    with tempfile.TemporaryDirectory() as tmp:
        case = run_case(_fincast_args(kind, Path(tmp), epochs), env=env)
    out = {"process_s": case["wall_s"], "peak_rss_mb": case.get("peak_rss_mb")}
    if "error" in case:
        out["error"] = case["error"]
    else:
        out["engine_s"] = case["training_s"]
    return out


_PEAK_CODE = """
import json, sys, time
import jax, jax.numpy as jnp
def rate(m, k, n, reps):
    a = jnp.ones((m, k), jnp.float32); b = jnp.ones((k, n), jnp.float32)
    f = jax.jit(lambda a, b: a @ b)
    f(a, b).block_until_ready()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            out = f(a, b)
        out.block_until_ready()
        best = min(best, (time.perf_counter() - t) / reps)
    return 2 * m * k * n / best / 1e9
print(json.dumps({"matmul_1024": rate(1024, 1024, 1024, 20),
                  "matmul_lstm_step": rate(32, 64, 256, 2000)}))
"""


def machine_peak() -> dict[str, float]:
    """GFLOP/s of a large and of an LSTM-step-sized float32 matmul (fresh process)."""
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_CODE], env=_child_env(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        return {}
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def lstm_training_gflop(train_rows: list[int], features: int, epochs: int) -> float:
    """Matrix-product GFLOP of training the LSTM(64) on these folds (3x the forward pass)."""
    forward_per_row = LAGS * 2 * (features + UNITS) * 4 * UNITS  # gates of every step
    updates_rows = sum(epochs * (-(-n // BATCH)) * BATCH for n in train_rows)
    return 3 * forward_per_row * updates_rows / 1e9


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def measure(repeats: int = 2, quick: bool = False, log: Any = print) -> dict[str, Any]:
    """Run the workload ``repeats`` times per tool and model, alternating the tools."""
    epochs = {"mlp": 1, "lstm": 1} if quick else dict(EPOCHS)
    results: dict[str, Any] = {"load_start": _load(), "epochs": epochs, "runs": {}}
    for kind in ("mlp", "lstm"):
        runs: dict[str, list[dict[str, Any]]] = {t: [] for t in TOOLS}
        for i in range(repeats):
            log(
                f"peers: {kind} run {i + 1}/{repeats}: fincast cold, warm, then plain Keras "
                "without and with a persistent cache ..."
            )
            with tempfile.TemporaryDirectory() as cache:  # a new compilation cache: cold
                for tool in ("fincast", "fincast_warm"):  # the second run reads it: warm
                    runs[tool].append({**_run_fincast(kind, epochs[kind], cache), "load": _load()})
            runs["plain_keras"].append({**_run_plain(kind, epochs[kind]), "load": _load()})
            with tempfile.TemporaryDirectory() as cache:
                for tool in ("plain_keras_cache", "plain_keras_cache_warm"):
                    runs[tool].append({**_run_plain(kind, epochs[kind], cache), "load": _load()})
        results["runs"][kind] = runs
    log("peers: matmul peak ...")
    results["peak_gflops"] = machine_peak()
    results["load_end"] = _load()
    results["summary"] = summarise(results)
    return results


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None and "error" not in r]
    return statistics.median(values) if values else None


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Medians per tool and the ratios fincast / plain Keras (per run pair, then median)."""
    out: dict[str, Any] = {}
    for kind, runs in results["runs"].items():
        row: dict[str, Any] = {}
        for tool, rs in runs.items():
            for key in ("engine_s", "process_s", "peak_rss_mb"):
                row[f"{tool}_{key}"] = _median(rs, key)
        for tool, reference, prefix in (
            ("fincast", "plain_keras", "ratio"),
            ("fincast_warm", "plain_keras", "warm_ratio"),
            ("fincast_warm", "plain_keras_cache_warm", "cached_ratio"),  # not a target
        ):
            for key in ("engine_s", "process_s"):
                pairs = [
                    f[key] / p[key]
                    for f, p in zip(runs.get(tool, []), runs.get(reference, []), strict=False)
                    if f.get(key) and p.get(key)
                ]
                row[f"{prefix}_{key}"] = statistics.median(pairs) if pairs else None
                row[f"{prefix}_{key}_all"] = [round(v, 3) for v in pairs]
        if kind == "lstm" and runs["plain_keras"] and "train_rows" in runs["plain_keras"][0]:
            rows = runs["plain_keras"][0]["train_rows"]
            epochs = results["epochs"]["lstm"]
            plain_gflop = lstm_training_gflop(rows, 1, epochs)
            fincast_gflop = lstm_training_gflop(rows, 4, epochs)  # 4 inputs per step
            for tool in ("fincast", "fincast_warm"):
                if row.get(f"{tool}_engine_s"):
                    row[f"{tool}_gflops"] = fincast_gflop / row[f"{tool}_engine_s"]
            if row["plain_keras_engine_s"]:
                row["plain_keras_gflops"] = plain_gflop / row["plain_keras_engine_s"]
        out[kind] = row
    return out


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}g}"


def _met(value: float | None, target: float) -> str:
    if value is None:
        return "–"
    return "yes" if value <= target else "**no**"


def markdown(results: dict[str, Any]) -> list[str]:
    """The results as Markdown lines."""
    s = results["summary"]
    peak = results.get("peak_gflops", {})
    ep = results["epochs"]
    lines = [
        "",
        f"**Peers** (issue 14's workload: `builtin:sp500` log returns, {LAGS} lags, {FOLDS} "
        f"expanding folds x {TEST_DAYS} test days, a new network per fold, MLP 64-64 "
        f"{ep['mlp']} epochs, LSTM(64) {ep['lstm']} epochs, batch {BATCH}, Adam {LR}; fresh "
        "processes, the tools alternating, medians of "
        f"{len(results['runs']['mlp']['fincast'])}; load average {results['load_start'][0]} "
        f"at the start, {results['load_end'][0]} at the end):",
        "",
        "| tool | MLP engine s | LSTM engine s | MLP whole process s | MLP peak RSS MB |"
        " LSTM peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    labels = (
        ("fincast", "fincast, new compilation cache (cold)"),
        ("fincast_warm", "fincast, compilation cache filled by the run before (warm)"),
        ("plain_keras", "plain Keras 3 / JAX script (JAX's defaults: the reference)"),
        ("plain_keras_cache", "plain Keras script, new persistent compilation cache"),
        ("plain_keras_cache_warm", "plain Keras script, persistent cache filled by the run before"),
    )
    for tool, label in labels:
        if f"{tool}_engine_s" not in s["mlp"]:
            continue  # results of an older version of this benchmark
        lines.append(
            f"| {label} | {_fmt(s['mlp'][f'{tool}_engine_s'])} | "
            f"{_fmt(s['lstm'][f'{tool}_engine_s'])} | {_fmt(s['mlp'][f'{tool}_process_s'])} | "
            f"{_fmt(s['mlp'][f'{tool}_peak_rss_mb'], 4)} | "
            f"{_fmt(s['lstm'][f'{tool}_peak_rss_mb'], 4)} |"
        )
    d = REFERENCE["darts"]
    lines.append(
        "| Darts 0.48 (PyTorch), per-fold loop: issue 14's figures, not re-measured | "
        f"{d['mlp_engine'][0]}–{d['mlp_engine'][1]} | {d['lstm_engine'][0]}–"
        f"{d['lstm_engine'][1]} | {d['mlp_process'][0]}–{d['mlp_process'][1]} | | |"
    )
    lines += [
        "",
        "| fincast / plain Keras (median of the run pairs) | cache | measured | per run |"
        " target | met |",
        "| --- | --- | ---: | --- | ---: | --- |",
    ]
    for label, kind, key, target in (
        ("LSTM walk-forward engine", "lstm", "engine_s", TARGETS["lstm_engine"]),
        ("MLP walk-forward engine", "mlp", "engine_s", TARGETS["mlp_engine"]),
        ("MLP whole process", "mlp", "process_s", TARGETS["mlp_process"]),
    ):
        for prefix, cache in (("ratio", "cold"), ("warm_ratio", "warm")):
            value = s[kind].get(f"{prefix}_{key}")
            lines.append(
                f"| {label} | {cache} | {_fmt(value)} | {s[kind].get(f'{prefix}_{key}_all')} "
                f"| <= {target} | {_met(value, target)} |"
            )
    cached = [
        f"{label} {_fmt(s[kind].get(f'cached_ratio_{key}'))}"
        for label, kind, key in (
            ("LSTM engine", "lstm", "engine_s"),
            ("MLP engine", "mlp", "engine_s"),
            ("MLP whole process", "mlp", "process_s"),
        )
        if s[kind].get(f"cached_ratio_{key}") is not None
    ]
    if cached:
        lines += [
            "",
            "fincast (warm) / the plain script with a persistent cache filled by the run "
            f"before (how much of the lead is not the cache; not a target): {', '.join(cached)}.",
        ]
    lines += [
        "",
        f"LSTM training arithmetic: fincast {_fmt(s['lstm'].get('fincast_gflops'))} GFLOP/s "
        f"cold, {_fmt(s['lstm'].get('fincast_warm_gflops'))} warm, "
        f"plain Keras {_fmt(s['lstm'].get('plain_keras_gflops'))} GFLOP/s (matrix products "
        "of training over the engine time); machine float32 matmul: "
        f"{_fmt(peak.get('matmul_1024'))} GFLOP/s at 1024 x 1024, "
        f"{_fmt(peak.get('matmul_lstm_step'))} GFLOP/s at the LSTM step's 32 x 64 x 256.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1 epoch each: a smoke run")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plain", choices=sorted(EPOCHS), help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain:  # child process: the plain Keras script
        os.environ.setdefault("KERAS_BACKEND", "jax")
        result = plain_walk_forward(args.plain, args.epochs)
        result["peak_rss_mb"] = _peak_rss_mb()
        args.json.write_text(json.dumps(result))
        return 0
    results = measure(args.repeats, args.quick, log=lambda m: print(m, file=sys.stderr))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(markdown(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
