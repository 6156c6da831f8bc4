"""Forecast quality against known limits, on simulated data.

- AR(2) returns with GARCH(1,1) noise: the best possible one-step mean squared error is the
  conditional variance of the noise, known from the simulation; a model's out-of-sample MSE
  divided by its mean over the same rows is 1.0 at best (goal <= 1.05).
- A random walk: nothing can be forecast; the skill against naive should be <= 0.005
  (no phantom skill).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .simulate import ar_garch, random_walk

__all__ = ["QUALITY_SETTINGS", "ar_garch_quality", "random_walk_skill"]

#: Backtest settings of the quality runs: a short look-back (the process has memory 2),
#: early stopping on the end of each training fold, otherwise fincast's defaults.
QUALITY_SETTINGS: dict[str, Any] = {
    "models": ["seed-mlp", "lstm"],
    "lookback": 5,
    "folds": 5,
    "epochs": 100,
    "patience": 10,
}


def _backtest(frame: Any, workdir: Path, name: str, settings: dict[str, Any]) -> Any:
    import fincast

    path = workdir / f"{name}.csv"
    frame.to_csv(path, index=False)
    return fincast.backtest(str(path), out=str(workdir / f"run-{name}"), **settings)


def ar_garch_quality(
    n: int = 8000, seed: int = 0, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Out-of-sample MSE / best possible MSE of each model on simulated AR(2)-GARCH(1,1).

    ``ratio`` divides by the expected best MSE (the mean conditional variance over the test
    rows); ``ratio_oracle`` by the MSE the true conditional mean actually reached on them,
    which takes out the luck of the particular noise draws.
    """
    settings = {**QUALITY_SETTINGS, **(settings or {})}
    frame, limits = ar_garch(n, seed)
    with tempfile.TemporaryDirectory() as tmp:
        result = _backtest(frame, Path(tmp), "ar_garch", settings)
    pred = result.predictions
    out: dict[str, Any] = {"rows": n, "settings": settings, "models": {}}
    for model, rows in pred.groupby("model"):
        known = limits.reindex(rows["date"].to_numpy())
        optimum = float(known["variance"].mean())
        oracle = float(np.mean(known["oracle_error"].to_numpy() ** 2))
        mse = float(np.mean((rows["y_pred"] - rows["y_true"]) ** 2))
        out["models"][str(model)] = {
            "mse": mse,
            "optimum": optimum,
            "ratio": mse / optimum,
            "oracle_mse": oracle,
            "ratio_oracle": mse / oracle,
            "n": len(rows),
        }
    return out


def random_walk_skill(
    n: int = 8000, seed: int = 1, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Skill against naive of each model on a simulated random walk (should be <= 0)."""
    settings = {**QUALITY_SETTINGS, **(settings or {})}
    with tempfile.TemporaryDirectory() as tmp:
        result = _backtest(random_walk(n, seed), Path(tmp), "random_walk", settings)
    models = result.metrics["models"]
    return {
        "rows": n,
        "settings": settings,
        "models": {name: {"skill_vs_naive": m["skill_vs_naive"]} for name, m in models.items()},
    }
