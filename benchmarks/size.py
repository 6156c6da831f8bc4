"""Size and power of every test fincast reports, at horizons 1, 5 and 20 (``make bench-size``).

Each family below draws data under a null hypothesis that is true by construction (no skill,
equal accuracy, a correct forecast), runs it through fincast's own functions as a backtest
calls them (``significance``, ``information_coefficient``, ``regression_metrics``,
``volatility_metrics``, the ``var`` task's metrics, ``interval_summary``,
``portfolio_metrics``, ``overfitting_summary``), and counts how often each statistic rejects
at 5 %; then it does the same under a simple alternative (a forecast with some skill, or a
biased one) for the power. h-step targets are sums of the next h one-step shocks, so they
overlap exactly as a backtest's do; a panel is 20 series sharing a market shock.

The rates are binomial estimates: with ``reps`` replications the standard error at 5 % is
``sqrt(0.05 * 0.95 / reps)`` (0.7 points at 1,000). A size inside [3 %, 7 %] is the target.

Rows whose "rejection" is not a 5 % test say so: the Basel zone's "not green" has a design
rate (10.8 % for 250 days of a correct 99 % VaR), the PBO is an estimate whose value under
the null is 1/2 (the column then shows its mean), the MCS excludes a model at its size.

Usage::

    python benchmarks/size.py [--reps 1000] [--only dm,ic] [--out benchmarks/results/size.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HORIZONS = (1, 5, 20)
PANEL = 20
LEVEL = 0.05
#: Design rate of a statistic whose rejection is not a 5 % test (shown instead of 5 %).
DESIGN: dict[str, float] = {"Basel zone not green (99 % VaR, 250 days)": 0.1078}
#: Statistics whose column is a mean value, not a rejection rate (null value beside it).
MEANS: dict[str, float] = {"PBO (mean)": 0.5}

Result = dict[str, float | None]
Family = Callable[[np.random.Generator, int, bool, bool, int], Result]


# --------------------------------------------------------------------------- data


def _dates(n: int) -> pd.DatetimeIndex:
    return pd.bdate_range("2005-01-03", periods=n)


def _shocks(rng: np.random.Generator, n_series: int, n: int, common: float = 0.5) -> np.ndarray:
    """One-step shocks, unit variance, correlation ``common`` across series."""
    market = rng.standard_normal(n)
    own = rng.standard_normal((n_series, n))
    return math.sqrt(common) * market + math.sqrt(1 - common) * own


def _forward(e: np.ndarray, h: int, n: int) -> np.ndarray:
    """Overlapping h-step sums over sqrt(h): out[:, t] = sum(e[:, t+1 : t+1+h]) / sqrt(h)."""
    c = np.concatenate([np.zeros((e.shape[0], 1)), np.cumsum(e, axis=1)], axis=1)
    return (c[:, 1 + h : 1 + h + n] - c[:, 1 : 1 + n]) / math.sqrt(h)


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float) -> np.ndarray:
    """Unit-variance AR(1) paths along the last axis (a persistent signal)."""
    e = rng.standard_normal(shape)
    x = np.empty(shape)
    x[:, 0] = e[:, 0]
    s = math.sqrt(1 - phi**2)
    for t in range(1, shape[1]):
        x[:, t] = phi * x[:, t - 1] + s * e[:, t]
    return x


def _table(
    y: np.ndarray, h: int, preds: dict[str, np.ndarray], **extra: np.ndarray
) -> pd.DataFrame:
    """A predictions table: one row per (model, series, date), ``y_pred`` and extra columns."""
    n_series, n = y.shape
    dates = _dates(n)
    base = {
        "id": np.repeat([f"s{i:02d}" for i in range(n_series)], n),
        "date": np.tile(dates, n_series),
        "fold": 0,
        "horizon": h,
        "y_true": y.reshape(-1),
    }
    frames = []
    for name, pred in preds.items():
        cols = {k: v[name].reshape(-1) for k, v in extra.items()} if extra else {}
        frames.append(pd.DataFrame({**base, "model": name, "y_pred": pred.reshape(-1), **cols}))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- families


def dm_family(rng: np.random.Generator, h: int, panel: bool, alt: bool, boot: int) -> Result:
    """DM on each loss, SPA and MCS: three forecasts of equal accuracy (the null), or one of
    them with some skill (the alternative), one named ``naive``."""
    from fincast.metrics.significance import _per_date, diebold_mariano, significance
    from fincast.tasks import get_task

    n_series = PANEL if panel else 1
    # one series: at least 200 non-overlapping periods, so SPA is computed at every horizon
    # and the MCS up to h 5 (significance.MIN_PERIODS, MCS_MAX_HORIZON); the panel's 250
    # dates leave them out at h 5 and h 20 (its rows show "–")
    n = 250 if panel else max(500, 200 * h)
    y = _forward(_shocks(rng, n_series, n + h), h, n)
    noise = {m: _forward(_shocks(rng, n_series, n + h, 0.3), h, n) for m in ("naive", "a", "b")}
    skill = 0.25 if alt else 0.0
    f = {m: 0.5 * noise[m] + (skill * y if m == "a" else 0.0) for m in noise}
    out: Result = {}
    sig = significance(_table(y, h, f), "return", bootstrap_reps=boot, mcs_size=LEVEL)
    out["DM squared error (one-sided)"] = _rej(sig["models"]["a"]["dm"]["p_value"])
    out["SPA (consistent p)"] = _rej(sig["spa"]["consistent"] if sig["spa"] else None)
    mcs = sig["mcs"]
    out["MCS excludes a model (5 %)"] = None if mcs is None else float(bool(mcs["excluded"]))

    def dm_of(task: str, table: pd.DataFrame) -> float | None:
        loss, _ = get_task(task).row_loss(table)
        wide = _per_date(table, loss, h)
        return _rej(diebold_mariano(wide["a"].to_numpy(), wide["naive"].to_numpy(), h)["p_value"])

    # zero-one loss of direction calls: each forecast calls up when it is above 0
    up = (y > 0).astype(float)
    calls = {m: (f[m] + (0.4 * y if alt and m == "a" else 0.0) > 0).astype(float) for m in f}
    out["DM zero-one (direction)"] = dm_of("direction", _table(up, h, calls))
    # pinball: quantiles 0.1/0.5/0.9 of N(0, 1) shifted by each forecast's noise
    z = {0.1: -1.2816, 0.5: 0.0, 0.9: 1.2816}
    qcols = {
        f"q_{lv:g}": {m: z[lv] + 0.5 * noise[m] + (skill * y if m == "a" else 0) for m in f}
        for lv in z
    }
    out["DM pinball (quantile)"] = dm_of("quantile", _table(y, h, f, **qcols))
    # FZ0: the 5 % VaR and ES of N(0, 1) scaled by each forecast's noise
    scale = {m: np.exp(0.3 * noise[m]) for m in f}
    if alt:
        scale["a"] = np.exp(0.3 * noise["a"]) * 0.5 + 0.5  # closer to the truth
    var = {m: 1.6449 * scale[m] for m in f}
    es = {m: 2.0627 * scale[m] for m in f}
    out["DM FZ0 (VaR/ES)"] = dm_of("var", _table(y, h, f, **{"var_0.05": var, "es_0.05": es}))
    return out


def ic_family(rng: np.random.Generator, h: int, panel: bool, alt: bool, boot: int) -> Result:
    """IC and rank-IC t of a persistent cross-sectional signal without skill (panel only)."""
    from fincast.metrics.finance import information_coefficient

    if not panel:
        return {"IC t": None, "rank IC t": None}
    n = 350
    y = _forward(_shocks(rng, PANEL, n + h), h, n)
    signal = _ar1(rng, y.shape, 0.98) + (0.1 * y if alt else 0.0)
    table = _table(y, h, {"m": signal}, fwd_return={"m": y})
    ic = information_coefficient(table, "return", horizon=h)["m"]
    return {"IC t": _abs_t(ic["t_stat"]), "rank IC t": _abs_t(ic["rank_t_stat"])}


def pt_family(rng: np.random.Generator, h: int, panel: bool, alt: bool, boot: int) -> Result:
    """Pesaran-Timmermann on a persistent forecast without skill."""
    from fincast.metrics.regression import regression_metrics

    n_series = PANEL if panel else 1
    n = 250 if panel else 1000
    y = _forward(_shocks(rng, n_series, n + h), h, n)
    f = _ar1(rng, y.shape, 0.95) + (0.3 * y if alt else 0.0)
    dates = np.tile(_dates(n), n_series)
    m = regression_metrics(y.reshape(-1), f.reshape(-1), dates=dates, horizons=np.full(y.size, h))
    return {"Pesaran-Timmermann": _rej(m["pt_pvalue"])}


def _sv(rng: np.random.Generator, n_series: int, n: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Log-AR(1) stochastic volatility: realised h-step volatility and its exact forecast."""
    phi, s, mu = 0.97, 0.15, math.log(1e-4)
    x = np.empty((n_series, n + h + 1))
    x[:, 0] = mu + s / math.sqrt(1 - phi**2) * rng.standard_normal(n_series)
    for t in range(1, x.shape[1]):
        x[:, t] = mu + phi * (x[:, t - 1] - mu) + s * rng.standard_normal(n_series)
    var = np.exp(x) * rng.standard_normal(x.shape) ** 2
    k = np.arange(1, h + 1)
    ex = mu + (x[:, :n, None] - mu) * phi**k + 0.5 * s**2 * (1 - phi ** (2 * k)) / (1 - phi**2)
    forecast = np.sqrt(np.exp(ex).mean(axis=2))
    c = np.concatenate([np.zeros((n_series, 1)), np.cumsum(var, axis=1)], axis=1)
    realised = np.sqrt((c[:, 1 + h : 1 + h + n] - c[:, 1 : 1 + n]) / h)
    return realised, forecast


def mz_family(rng: np.random.Generator, h: int, panel: bool, alt: bool, boot: int) -> Result:
    """Mincer-Zarnowitz of the exact conditional variance (the null) or a 15 % too high one."""
    from fincast.metrics.volatility import volatility_metrics

    n_series = PANEL if panel else 1
    n = 250 if panel else 1000
    realised, forecast = _sv(rng, n_series, n, h)
    if alt:
        forecast = forecast * 1.15
    dates = np.tile(_dates(n), n_series)
    m = volatility_metrics(
        realised.reshape(-1), forecast.reshape(-1), dates=dates, horizons=np.full(n * n_series, h)
    )
    return {"Mincer-Zarnowitz (volatility)": _rej(m["mz_pvalue"])}


def var_family(rng: np.random.Generator, h: int, panel: bool, alt: bool, boot: int) -> Result:
    """The ``var`` task's backtests of the true 1 % and 5 % VaR/ES of N(0, 1) h-step returns
    (the alternative: VaR and ES 20 % too small)."""
    from fincast.metrics.summary import KIT
    from fincast.tasks import get_task

    n_series = PANEL if panel else 1
    n = 100 * h if panel else 5000
    y = _forward(_shocks(rng, n_series, n + h), h, n)
    k = 0.8 if alt else 1.0
    ones = np.ones_like(y)
    cols = {
        "var_0.01": {"m": 2.3263 * k * ones},
        "es_0.01": {"m": 2.6652 * k * ones},
        "var_0.05": {"m": 1.6449 * k * ones},
        "es_0.05": {"m": 2.0627 * k * ones},
    }
    rows = _table(y, h, {"m": np.zeros_like(y)}, **cols)
    res = get_task("var").metrics(rows, KIT)["levels"]
    five, one = res["0.05"], res["0.01"]
    zone = one.get("basel_zone")
    return {
        "Kupiec (5 % VaR)": _rej(five["kupiec_pvalue"]),
        "Christoffersen cc (5 % VaR)": _rej(five["cc_pvalue"]),
        "Basel zone not green (99 % VaR, 250 days)": None
        if zone is None
        else float(zone != "green"),
        "Acerbi-Szekely Z2 (5 % ES)": _rej(five["es_z2_pvalue"]),
    }


def interval_family(rng: np.random.Generator, h: int, panel: bool, alt: bool, boot: int) -> Result:
    """Coverage tests of exact 90 % intervals (the alternative: 80 % ones); a panel has 100
    non-overlapping periods (100 h dates), as the ``var`` family."""
    from fincast.metrics.coverage import interval_summary

    n_series = PANEL if panel else 1
    n = 100 * h if panel else 2000
    y = _forward(_shocks(rng, n_series, n + h), h, n)
    z = 1.2816 if alt else 1.6449
    rows = _table(
        y, h, {"naive": np.zeros_like(y)},
        **{"lo_0.9": {"naive": -z * np.ones_like(y)}, "hi_0.9": {"naive": z * np.ones_like(y)}},
    )  # fmt: skip
    m = interval_summary(rows)["models"]["naive"]["0.9"]
    return {
        "interval coverage (Kupiec)": _rej(m["kupiec_pvalue"]),
        "interval independence (Christoffersen)": _rej(m["independence_pvalue"]),
    }


def portfolio_family(rng: np.random.Generator, h: int, panel: bool, alt: bool, boot: int) -> Result:
    """The cross-sectional portfolio of a signal without skill: its Sharpe interval and DM."""
    from fincast.metrics.portfolio import portfolio_metrics

    if not panel:
        return {"portfolio Sharpe CI excludes 0": None, "portfolio DM vs equal weight": None}
    n = 60 * h
    y = 0.01 * _forward(_shocks(rng, PANEL, n + h), h, n)
    signal = rng.standard_normal(y.shape) + (30 * y if alt else 0.0)
    table = _table(y, h, {"naive": np.zeros_like(y), "m": signal})
    table["fwd_return"] = table["y_true"]
    out = portfolio_metrics(table, "return", cost_bps=0.0)["models"]["m"]
    ci = out["long_short"]["sharpe_ci"]
    dm = out["long_short"]["dm_vs_equal_weight"]
    excluded = None if ci.get("low") is None else float(ci["low"] > 0 or ci["high"] < 0)
    return {
        "portfolio Sharpe CI excludes 0": excluded,
        "portfolio DM vs equal weight": _rej(dm["p_value"]),
    }


def overfitting_family(
    rng: np.random.Generator, h: int, panel: bool, alt: bool, boot: int
) -> Result:
    """The deflated Sharpe ratio and PBO of the best of 20 trials without skill: trade
    returns on non-overlapping h-step periods of 1,000 days (the alternative: one trial earns
    a Sharpe ratio of 0.15 a period)."""
    from fincast.tune.overfitting import overfitting_summary

    if panel:
        return {"deflated Sharpe ratio": None, "PBO (mean)": None}
    periods = 1000 // h
    trials = rng.standard_normal((20, periods)) * 0.01
    if alt:
        trials[3] += 0.0015 * math.sqrt(h)
    best = int(np.argmax(trials.mean(axis=1) / trials.std(axis=1, ddof=1)))
    s = overfitting_summary(list(trials), best, n_tried=20)
    pbo = s["pbo"].get("pbo") if isinstance(s["pbo"], dict) else None
    return {
        "deflated Sharpe ratio": None if s["significant"] is None else float(s["significant"]),
        "PBO (mean)": pbo,
    }


FAMILIES: dict[str, Family] = {
    "dm": dm_family,
    "ic": ic_family,
    "pt": pt_family,
    "mz": mz_family,
    "var": var_family,
    "intervals": interval_family,
    "portfolio": portfolio_family,
    "overfitting": overfitting_family,
}


def _rej(p: float | None) -> float | None:
    return None if p is None or not math.isfinite(p) else float(p < LEVEL)


def _abs_t(t: float | None) -> float | None:
    return None if t is None or not math.isfinite(t) else float(abs(t) > 1.959964)


# --------------------------------------------------------------------------- running


def run(
    reps: int = 1000,
    *,
    families: tuple[str, ...] = tuple(FAMILIES),
    horizons: tuple[int, ...] = HORIZONS,
    boot: int = 199,
    seed: int = 20261204,
    power_reps: int | None = None,
    progress: bool = False,
    data: tuple[str, ...] = ("single", "panel"),
) -> list[dict[str, Any]]:
    """Rejection rates of every statistic of ``families`` under the null and the
    alternative, per horizon, single series and panel. One row per (statistic, data,
    horizon): ``size``, ``power``, ``n_size``/``n_power`` (replications that gave a value)."""
    rows: list[dict[str, Any]] = []
    power_reps = power_reps or max(reps // 4, 1)
    for name in families:
        fn = FAMILIES[name]
        for panel in [p == "panel" for p in ("single", "panel") if p in data]:
            for h in horizons:
                start = time.perf_counter()
                tallies: dict[str, dict[str, list[float]]] = {}
                for alt, count in ((False, reps), (True, power_reps)):
                    rng = np.random.default_rng([seed, h, int(panel), int(alt), len(name)])
                    for _ in range(count):
                        for stat, v in fn(rng, h, panel, alt, boot).items():
                            slot = tallies.setdefault(stat, {"size": [], "power": []})
                            if v is not None:
                                slot["power" if alt else "size"].append(v)
                for stat, slot in tallies.items():
                    if not slot["size"]:
                        continue
                    rows.append(
                        {
                            "statistic": stat,
                            "family": name,
                            "data": f"panel {PANEL}" if panel else "single",
                            "h": h,
                            "size": float(np.mean(slot["size"])),
                            "n_size": len(slot["size"]),
                            "power": float(np.mean(slot["power"])) if slot["power"] else None,
                            "n_power": len(slot["power"]),
                            "target": DESIGN.get(stat, MEANS.get(stat, LEVEL)),
                            "kind": "mean" if stat in MEANS else "rate",
                        }
                    )
                if progress:
                    took = time.perf_counter() - start
                    print(f"  {name:12s} {'panel' if panel else 'single':6s} h {h:2d}: {took:6.1f} s",
                          file=sys.stderr, flush=True)  # fmt: skip
    return rows


def inside(row: dict[str, Any], width: float = 0.02) -> bool:
    """Whether a row's size is within ``width`` of its target (the 5 % rows: [3 %, 7 %])."""
    if row["kind"] == "mean":
        return abs(row["size"] - row["target"]) <= 0.1
    return abs(row["size"] - row["target"]) <= width + 1e-9


def markdown(rows: list[dict[str, Any]], reps: int) -> str:
    """The size table: one line per statistic and data, size and power per horizon."""
    horizons = sorted({r["h"] for r in rows})
    head = [
        "statistic",
        "data",
        *[f"size h {h}" for h in horizons],
        *[f"power h {h}" for h in horizons],
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = list(dict.fromkeys((r["statistic"], r["data"]) for r in rows))
    for stat, data in keys:
        cells = {r["h"]: r for r in rows if r["statistic"] == stat and r["data"] == data}

        def fmt(r: dict[str, Any] | None, key: str) -> str:
            if r is None or r[key] is None:
                return "–"
            v = r[key]
            text = f"{v:.2f}" if r["kind"] == "mean" else f"{100 * v:.1f} %"
            return f"**{text}**" if key == "size" and not inside(r) else text

        size = [fmt(cells.get(h), "size") for h in horizons]
        power = [fmt(cells.get(h), "power") for h in horizons]
        lines.append("| " + " | ".join([stat, data, *size, *power]) + " |")
    se = 100 * math.sqrt(LEVEL * (1 - LEVEL) / reps)
    lines.append("")
    lines.append(
        f"{reps} replications under the null (standard error {se:.1f} points at 5 %), a "
        "quarter as many under the alternative. Bold: outside [3 %, 7 %] (or, for a row "
        "with a design rate or a mean, more than 2 points or 0.1 from it)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--boot", type=int, default=199, help="bootstrap replications")
    parser.add_argument("--only", default=",".join(FAMILIES), help="families, comma-separated")
    parser.add_argument("--horizons", default="1,5,20")
    parser.add_argument("--data", default="single,panel", help="single, panel or both")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/size.json"))
    args = parser.parse_args(argv)
    families = tuple(f.strip() for f in args.only.split(",") if f.strip())
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    horizons = tuple(int(h) for h in args.horizons.split(","))
    start = time.perf_counter()
    data = tuple(d.strip() for d in args.data.split(",") if d.strip())
    if not data or set(data) - {"single", "panel"}:
        parser.error(f"--data takes single, panel or both, got {args.data!r}")
    rows = run(
        args.reps, families=families, horizons=horizons, boot=args.boot, progress=True, data=data
    )
    took = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"reps": args.reps, "seconds": took, "rows": rows}, indent=1))
    tmp.replace(args.out)
    print(markdown(rows, args.reps))
    print(f"\n{took:.0f} s; written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
