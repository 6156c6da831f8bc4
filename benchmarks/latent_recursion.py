"""Latent log-variance recursions fitted by likelihood: can a model reach 1.05 x the optimum
of the simulated ``loghar-leverage`` case, and what do they do on real series (issue 25)?

fincast's networks read a window of inputs (20 days by default) and start at a log-HAR of
the *observed* squared returns. The simulation's volatility is a HAR recursion of a
*latent* log variance driven by the standardised shocks (:func:`benchmarks.simulate.
loghar_leverage`), so its best forecast is a function of the whole past, not of a window.
This script fits recursions of that shape by Gaussian quasi maximum likelihood, with
different memories and news-impact curves:

``lv[t+1] = c + bd lv[t] + bw mean_5(lv) + bm mean_22(lv) + news(z[t])``,
``z[t] = r[t] exp(-lv[t] / 2)``

- ``kink``: the simulation's own news curve, ``a (|z| - E|z|) + g max(-1 - z, 0)``;
- ``linear``: EGARCH's news terms, ``a (|z| - E|z|) + g z``;
- ``spline``: ``a z + b |z|`` plus hinges at -2, -1, 0, 1, 2 (7 parameters);
- ``mlp``: a tanh network of z with 8 hidden units (25 parameters);
- ``mlp+``: ``linear`` plus that network;
- memory ``ar1`` instead of ``har`` (``bw = bm = 0``): EGARCH(1, 1).

Splits: fitted on the first half (``half``) or fifth (``fifth``) and scored on the rest, or
walk-forward (``wf``): five blocks, the k-th (k = 1..5 of 6) scored by a fit on everything
before it, errors pooled. Simulation: MSE of the h-1 volatility forecast over the known
optimum's expected error (``MSE/best``). Real series (``builtin:sp500``, ``nasdaq``,
``wti``): h-1 skill against naive (the last absolute return) in the ``wf`` split, beside a
log-HAR with news terms (OLS of the next log squared return on the logs of the 1-, 5- and
22-day mean squares, ``z`` and ``|z|``, smearing back) fitted on the same rows.

Fits are with ``jax.value_and_grad`` through a ``lax.scan`` filter and scipy's L-BFGS-B from
several starts; the best likelihood is kept. Usage::

    python -m benchmarks.latent_recursion --out benchmarks/results/latent-recursion.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.simulate import loghar_leverage

EA = float(np.sqrt(2 / np.pi))
KNOTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
HIDDEN = 8
N_NEWS = {"kink": 2, "linear": 2, "spline": 2 + len(KNOTS), "mlp": 3 * HIDDEN + 1}
N_NEWS["mlp+"] = N_NEWS["mlp"] + 2


def _news(z: Any, kind: str, q: Any) -> Any:
    import jax.numpy as jnp

    if kind == "kink":
        return q[0] * (jnp.abs(z) - EA) + q[1] * jnp.maximum(-1.0 - z, 0.0)
    if kind == "linear":
        return q[0] * (jnp.abs(z) - EA) + q[1] * z
    if kind == "spline":
        return q[0] * z + q[1] * jnp.abs(z) + jnp.sum(q[2:] * jnp.maximum(jnp.array(KNOTS) - z, 0))
    w1, b1, w2, b2 = q[:HIDDEN], q[HIDDEN : 2 * HIDDEN], q[2 * HIDDEN : 3 * HIDDEN], q[3 * HIDDEN]
    out = jnp.sum(w2 * jnp.tanh(w1 * z + b1)) + b2
    if kind == "mlp+":
        out = out + q[3 * HIDDEN + 1] * (jnp.abs(z) - EA) + q[3 * HIDDEN + 2] * z
    return out


def _filter(theta: Any, kind: str, memory: str, r: Any, lv0: float) -> Any:
    """``lv[t]``, the log variance of ``r[t]`` known at t - 1, for every t."""
    import jax
    import jax.numpy as jnp

    c, bd = theta[0], theta[1]
    bw, bm, q = (theta[2], theta[3], theta[4:]) if memory == "har" else (0.0, 0.0, theta[2:])

    def step(hist: Any, rt: Any) -> Any:
        lvt = hist[-1]
        z = rt * jnp.exp(-lvt / 2)
        nxt = c + bd * lvt + bw * jnp.mean(hist[-5:]) + bm * jnp.mean(hist) + _news(z, kind, q)
        return jnp.concatenate([hist[1:], jnp.clip(nxt, -30.0, 5.0)[None]]), lvt

    return jax.lax.scan(step, jnp.full(22, lv0), r)[1]


def fit(kind: str, memory: str, r: np.ndarray, lv0: float) -> np.ndarray:
    """Parameters of the best likelihood over a few starts."""
    import jax
    import jax.numpy as jnp
    from scipy.optimize import minimize

    rj = jnp.asarray(r)

    def nll(theta: Any) -> Any:
        lv = _filter(theta, kind, memory, rj, lv0)[50:]
        return 0.5 * jnp.mean(lv + rj[50:] ** 2 * jnp.exp(-lv))

    grad = jax.jit(jax.value_and_grad(nll))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, g = grad(jnp.asarray(theta))
        return float(value), np.asarray(g, dtype=float)

    mu = float(np.log(np.mean(r**2)))
    if memory == "har":
        starts = [
            [mu * 0.03, 0.4, 0.3, 0.27],
            [mu * 0.1, 0.3, 0.3, 0.3],
            [mu * 0.02, 0.6, 0.2, 0.18],
        ]
    else:
        starts = [[mu * 0.03, 0.97], [mu * 0.1, 0.9]]
    best: tuple[np.ndarray, float] | None = None
    for start in starts:
        for q0 in (0.05, 0.2):
            news = np.full(N_NEWS[kind], q0)
            if kind.startswith("mlp"):
                g = np.random.default_rng(int(q0 * 100))
                net = [g.normal(0, 1, HIDDEN), g.normal(0, 1, HIDDEN), g.normal(0, 0.05, HIDDEN)]
                news = np.r_[np.concatenate(net), 0.0]
                if kind == "mlp+":
                    news = np.r_[news, 0.2, -0.1]
            res = minimize(
                objective,
                np.r_[start, news],
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": 5000},
            )
            if np.isfinite(res.fun) and (best is None or res.fun < best[1]):
                best = (res.x, float(res.fun))
    if best is None:
        raise RuntimeError(f"{kind}/{memory}: no start converged")
    return best[0]


def _blocks(n: int, split: str) -> list[tuple[int, int]]:
    if split == "half":
        return [(n // 2, n)]
    if split == "fifth":
        return [(n // 5, n)]
    return [(n * k // 6, n * (k + 1) // 6) for k in range(1, 6)]


def simulation(kinds: list[tuple[str, str]], seed: int = 2) -> dict[str, dict[str, float]]:
    """``MSE/best`` of each (news, memory) in each split, as the defaults case scores it."""
    import jax.numpy as jnp

    prices, limits = loghar_leverage(6000, seed=seed)
    r = np.diff(np.log(prices["close"].to_numpy()))
    variance = limits["variance"].to_numpy()
    lv0 = float(np.log(np.mean(r[:50] ** 2)))
    out: dict[str, dict[str, float]] = {}
    for kind, memory in kinds:
        row = {}
        for split in ("half", "fifth", "wf"):
            num = den = 0.0
            for cut, end in _blocks(len(r), split):
                theta = fit(kind, memory, r[:cut], lv0)
                lv = np.asarray(_filter(jnp.asarray(theta), kind, memory, jnp.asarray(r), lv0))
                forecast = EA * np.exp(lv / 2)  # E|r[t]| given lv[t], z normal
                test = slice(max(cut, 260), end)
                num += float(np.sum((np.abs(r[test]) - forecast[test]) ** 2))
                den += float(np.sum(variance[test]))
            row[split] = round(num / den, 4)
        out[f"{kind}/{memory}"] = row
        print("simulation", kind, memory, row, flush=True)
    return out


def _news_loghar(r: np.ndarray, cut: int) -> np.ndarray:
    """Row t: the news log-HAR's forecast of ``|r[t + 1]|``, fitted on rows before ``cut``."""
    r2 = pd.Series(r**2)
    logs = [np.log(r2.rolling(w).mean().to_numpy() + 1e-14) for w in (1, 5, 22)]
    z = r / np.sqrt(r2.rolling(22).mean().to_numpy())
    x = np.column_stack([np.ones(len(r)), *logs, z, np.abs(z)])
    y = np.r_[np.log(r[1:] ** 2 + 1e-14), np.nan]
    ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y)
    ok[:30] = False
    train = ok & (np.arange(len(r)) < cut - 1)
    beta = np.linalg.lstsq(x[train], y[train], rcond=None)[0]
    smear = float(np.mean(np.exp((y[train] - x[train] @ beta) / 2)))
    return np.exp(x @ beta / 2) * smear


def real(name: str, kinds: list[str]) -> dict[str, float]:
    """h-1 skill against naive of each recursion and of the news log-HAR (``wf`` split)."""
    import jax.numpy as jnp

    from fincast.data.builtin import load_builtin

    frame = load_builtin(name).dropna()
    close = frame["Close" if "Close" in frame.columns else frame.columns[-1]].to_numpy(float)
    r = np.diff(np.log(close))
    r = r[r != 0]  # days without a trade (wti's holidays) carry no news
    lv0 = float(np.log(np.mean(r[:50] ** 2)))
    out: dict[str, float] = {}
    for kind in [*kinds, "news-loghar"]:
        num = den = 0.0
        for cut, end in _blocks(len(r), "wf"):
            if kind == "news-loghar":
                forecast = np.r_[np.nan, _news_loghar(r, cut)[:-1]]
            else:
                theta = fit(kind, "har", r[:cut], lv0)
                lv = np.asarray(_filter(jnp.asarray(theta), kind, "har", jnp.asarray(r), lv0))
                z = r[50:cut] * np.exp(-lv[50:cut] / 2)
                forecast = float(np.mean(np.abs(z))) * np.exp(lv / 2)
            test = np.arange(max(cut, 30), end)
            num += float(np.sum((np.abs(r[test]) - forecast[test]) ** 2))
            den += float(np.sum((np.abs(r[test]) - np.abs(r[test - 1])) ** 2))
        out[kind] = round(1 - num / den, 4)
        print(name, kind, out[kind], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--real", default="sp500,nasdaq,wti")
    args = parser.parse_args()
    sim_kinds = [
        ("kink", "har"),
        ("linear", "har"),
        ("spline", "har"),
        ("mlp", "har"),
        ("mlp+", "har"),
        ("linear", "ar1"),
    ]
    result: dict[str, Any] = {"simulation_mse_over_best": simulation(sim_kinds)}
    result["real_h1_skill"] = {
        name: real(name, ["linear", "mlp+"]) for name in args.real.split(",") if name
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
