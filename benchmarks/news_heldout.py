"""Held-out simulations for the volatility networks' ``latent-har`` news curve (issue 25).

The ``loghar-leverage`` case of :mod:`benchmarks.defaults` has its kink at ``z = -1``, a
knot of the ``pnp`` news the networks read. These simulations have the same HAR memory
of the latent log variance but other news curves, none of them with a kink at a knot:

- ``kink-0.5``: ``0.2 |z| + 1.0 max(-0.5 - z, 0)``;
- ``kink-1.5``: ``0.2 |z| + 1.5 max(-1.5 - z, 0)``;
- ``smooth``: ``0.15 |z| + 0.12 min(z, 0)^2`` (no kink at all).

Each is 6,000 days (seed 11), backtested as the defaults case is (5 folds, h 1, ``mlp``
beside ``naive``, ``ridge``, ``loghar`` and ``latent-har``), and scored as out-of-sample
MSE over the best achievable (the conditional mean of ``|r|`` is known).

    python -m benchmarks.news_heldout --params '{"latent_news": "linear"}' --out FILE
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.simulate import _frame

#: The HAR memory and mean daily volatility of ``benchmarks.simulate.loghar_leverage``.
MEMORY = (0.45, 0.35, 0.17)
VOL = 0.01

NEWS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "kink-0.5": lambda z: 0.2 * np.abs(z) + 1.0 * np.maximum(-0.5 - z, 0),
    "kink-1.5": lambda z: 0.2 * np.abs(z) + 1.5 * np.maximum(-1.5 - z, 0),
    "smooth": lambda z: 0.15 * np.abs(z) + 0.12 * np.minimum(z, 0) ** 2,
}


def simulate(
    n: int, seed: int, news: Callable[[np.ndarray], np.ndarray], burn: int = 500
) -> tuple[pd.DataFrame, pd.Series]:
    """Prices whose latent log variance follows the HAR recursion with ``news`` (centred
    on its sample mean), and the lowest expected squared error of each date's forecast."""
    bd, bw, bm = MEMORY
    rng = np.random.default_rng(seed)
    total = n + burn
    z = rng.standard_normal(total)
    shock = news(z)
    shock = shock - shock.mean()
    mu = np.log(VOL**2)
    c = mu * (1 - bd - bw - bm)
    lv = np.full(total + 1, mu)
    for t in range(total):
        w, m = lv[max(0, t - 4) : t + 1].mean(), lv[max(0, t - 21) : t + 1].mean()
        lv[t + 1] = c + bd * lv[t] + bw * w + bm * m + shock[t]
    v = np.exp(lv[burn:total])
    frame = _frame(np.sqrt(v) * z[burn:])
    best = pd.Series(v * (1 - 2 / np.pi), index=frame["date"].iloc[:-1].to_numpy())
    return frame, best


def run(name: str, params: dict[str, object]) -> dict[str, float]:
    """MSE over the best achievable of each model on simulation ``name``."""
    import fincast

    frame, best = simulate(6000, 11, NEWS[name])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.csv"
        frame.to_csv(path, index=False)
        result = fincast.backtest(
            str(path),
            task="volatility",
            models={"mlp": params},
            baselines=["naive", "ridge", "loghar", "latent-har"],
            folds=5,
            out=str(Path(tmp) / "run"),
        )
    out = {}
    for model, rows in result.predictions.groupby("model"):
        optimum = float(best.reindex(rows["date"].to_numpy()).mean())
        out[str(model)] = float(np.mean((rows["y_pred"] - rows["y_true"]) ** 2)) / optimum
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="{}", help="mlp's parameters, as JSON")
    parser.add_argument("--cases", default=",".join(NEWS))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    params = json.loads(args.params)
    result = {}
    for name in args.cases.split(","):
        result[name] = run(name, params)
        print(name, {k: round(v, 4) for k, v in result[name].items()}, flush=True)
    args.out.write_text(json.dumps({"params": params, "mse_over_best": result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
