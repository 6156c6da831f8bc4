"""Tuning plots: the optimisation history and the parameter importances (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from ..rundir import atomic_write_bytes

__all__ = ["plot_history", "plot_importance"]


def _save(fig: Any, path: Path) -> Path:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def plot_history(study: Any, path: Path) -> Path:
    """Each trial's score (pruned trials at their last reported score) and the best so far."""
    import optuna

    state = optuna.trial.TrialState
    fig, ax = plt.subplots(figsize=(7, 4))
    done = [t for t in study.trials if t.state == state.COMPLETE]
    pruned = [t for t in study.trials if t.state == state.PRUNED and t.intermediate_values]
    ax.scatter(
        [t.number for t in done], [t.value for t in done], color="tab:blue", label="complete"
    )
    if pruned:
        ax.scatter(
            [t.number for t in pruned],
            [t.intermediate_values[max(t.intermediate_values)] for t in pruned],
            color="tab:gray",
            marker="x",
            label="pruned (last score)",
        )
    best, xs, ys = float("inf"), [], []
    for t in sorted(done, key=lambda t: t.number):
        best = min(best, float(t.value))
        xs.append(t.number)
        ys.append(best)
    ax.step(xs, ys, where="post", color="tab:red", label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel("validation score (lower is better)")
    ax.set_title(f"tuning history · {study.study_name}")
    ax.legend()
    return _save(fig, path)


def plot_importance(study: Any, path: Path) -> bool:
    """Parameter importances (Optuna's fANOVA); False when there are too few trials."""
    import optuna

    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(done) < 2:
        return False
    try:
        importance = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):
        return False
    if not importance:
        return False
    names = list(importance)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(names) + 1.5))
    ax.barh(names, [importance[n] for n in names], color="tab:blue")
    ax.set_xlabel("importance (share of score variance)")
    ax.set_title(f"parameter importance · {study.study_name}")
    _save(fig, path)
    return True
