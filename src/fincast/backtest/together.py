"""Train the folds (and seeds) of each network of a walk-forward together.

The folds of one network share its structure, so on the JAX backend they train in one
compiled program (:func:`fincast.models.keras_base.fit_together`,
:meth:`fincast.models.fastfit.Trainer.fit_many`): every step of its scan updates each
(fold, seed) in turn, with its own weights, optimizer state, rows, shuffling, validation
slice and early stopping, so each ends exactly as if trained alone, and Python and
dispatch costs are paid once per step for all folds instead of once per fold.

It is off by default: ``FINCAST_TOGETHER=1`` turns it on. Measured on the 2-core machine
this was built on (shared with other jobs, load 7-9), it did not pay: the peer workload's
MLP engine time was unchanged (8.2 / 9.8 s together against 8.5 / 7.5 s fold by fold),
the LSTM's was longer (47.7 / 56.9 s against 45.0 / 32.3 s: compiling one program holding
every fold's step costs more than it saves), and the program grows with the folds: seed-mlp
at 5 / 10 / 20 folds peaked at 654 / 783 / 1,006 MB against 611 / 626 / 632 MB fold by
fold (docs/performance.md). With it on, only the local, in-process executor uses it; process pools and
Ray run their units one at a time, and so does any unit whose set-up, training or forecast
raised (run again by the executor, so its failure is recorded exactly as without this path).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from ..models import MODELS
from ..models.registry import is_baseline

if TYPE_CHECKING:
    from .engine import FoldSetup, Prepared
    from .executors import WorkUnit

__all__ = ["UnitSteps", "enabled", "train_together"]


class UnitSteps(NamedTuple):
    """The engine's steps of one (model, fold) unit, handed in (the engine imports this
    module, not the other way round)."""

    seeds: Callable[..., list[int]]
    setup: Callable[..., Any]
    frame: Callable[..., Any]
    combine: Callable[..., Any]


def enabled() -> bool:
    """True with ``FINCAST_TOGETHER=1`` when the compiled loop is available."""
    if os.environ.get("FINCAST_TOGETHER", "0") != "1":
        return False
    from ..models import fastfit

    return fastfit.available()


def _network(name: str) -> bool:
    from ..models.keras_base import KerasForecaster

    return not is_baseline(name) and issubclass(MODELS[name], KerasForecaster)


def train_together(
    prep: Prepared,
    pending: list[WorkUnit],
    finish: Callable[[WorkUnit, Any, dict[str, list[float]]], None],
    steps: UnitSteps,
) -> list[WorkUnit]:
    """Compute the pending units of every network whose folds can train together.

    Each finished unit is handed to ``finish(unit, frame, history)``; returns the units left for the executor
    (baselines, single units, and units whose set-up, training or forecast raised).
    """
    if not enabled():
        return pending
    names = [n for n in dict.fromkeys(u.model for u in pending) if _network(n)]
    left = [u for u in pending if u.model not in names]
    for name in names:
        units = [u for u in pending if u.model == name]
        if len(units) < 2 and prep.config.seeds < 2:
            left.extend(units)
            continue
        left.extend(_train_model(prep, name, units, finish, steps))
    return sorted(left)


def _train_model(
    prep: Prepared,
    name: str,
    units: list[WorkUnit],
    finish: Callable[[WorkUnit, Any, dict[str, list[float]]], None],
    steps: UnitSteps,
) -> list[WorkUnit]:
    from ..models.keras_base import fit_together

    folds = {f.index: f for f in prep.folds}
    members: list[tuple[WorkUnit, FoldSetup]] = []
    failed: set[WorkUnit] = set()
    for unit in units:
        fold = folds[unit.fold]
        for seed in steps.seeds(prep, name, fold):
            try:
                members.append((unit, steps.setup(prep, name, fold, seed)))
            except Exception:
                failed.add(unit)
    members = [(u, m) for u, m in members if u not in failed]
    errors = fit_together(
        [m[0] for _, m in members], [m[1] for _, m in members], [m[2] for _, m in members]
    )
    failed.update(u for (u, _), e in zip(members, errors, strict=True) if e is not None)
    for unit in units:
        if unit in failed:
            continue
        fold = folds[unit.fold]
        try:
            results = [steps.frame(prep, name, fold, m) for u, m in members if u == unit]
            frame, history = steps.combine(prep, name, results)
        except Exception:
            failed.add(unit)
            continue
        finish(unit, frame, history)
    return [u for u in units if u in failed]
