"""The verdict's best classical rival: chosen on the validation tails, then tested.

Beating naive is the floor. The question a researcher asks next is whether a network beats
the *best* classical model it ran beside (``ridge``, ``har``, ``loghar``, ``garch``,
``lightgbm``, ...). Choosing that model on the test block and then testing against it
would be a selection bias: the rival would be the one that got lucky there. So the rival of
each fold is chosen where the networks choose their epochs, on the fold's validation tail
(the chronological end of its training window; :func:`fincast.backtest.engine.validation_split`):
every baseline but ``naive`` is fitted on the rows before the tail and scored on it by the
engine (``history.json``: ``{model: {fold: {"validation": {"loss", "dates"}}}}``), and the
one with the smallest loss is that fold's rival. The test block is never read to choose.

The rival's forecasts are then the chosen model's test rows of each fold, and every model
that is not a baseline gets a one-sided Diebold-Mariano test against them on the task's row
loss, averaged per date as in :mod:`fincast.metrics.significance` (a negative statistic and
a small p-value: the model's losses are smaller than the rival's).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from ..tasks import get_task
from .significance import _json_float, _per_date, diebold_mariano

__all__ = ["RIVAL", "Losses", "rival_choice", "rival_label", "rival_tests", "validation_losses"]

#: The model name of the rival's forecasts inside :func:`rival_tests`.
RIVAL = "best classical"
#: Where the rival is chosen, as the verdict says it.
CHOSEN_ON = (
    "the validation tails up to each fold (the ends of the training windows, before its test block)"
)


#: ``{model: {fold: (mean loss, dates)}}``: each baseline's validation-tail loss.
Losses = dict[str, dict[int, tuple[float, int]]]


def validation_losses(history: dict[str, Any] | None) -> Losses:
    """``{model: {fold: (loss, dates)}}`` from ``history.json``'s ``validation`` entries."""
    out: Losses = {}
    for model, folds in (history or {}).items():
        for fold, entry in (folds or {}).items():
            v = entry.get("validation") if isinstance(entry, dict) else None
            if isinstance(v, dict) and isinstance(v.get("loss"), int | float):
                dates = int(v.get("dates") or 1)
                if math.isfinite(float(v["loss"])) and dates > 0:
                    out.setdefault(str(model), {})[int(fold)] = (float(v["loss"]), dates)
    return out


def rival_choice(losses: Losses, folds: list[int]) -> dict[int, str]:
    """Each fold's rival: the smallest validation loss so far (ties: by name).

    The loss of a candidate at fold ``f`` is its mean over the validation tails of folds
    ``f`` and before (weighted by their dates): every tail ends before fold ``f``'s test
    block, and pooling them steadies a choice that one short tail leaves to chance. A
    candidate needs a loss at ``f`` itself (it ran there); a fold where none has one has
    no rival.
    """
    out = {}
    for f in folds:
        scored = []
        for m, v in losses.items():
            if f not in v:
                continue
            past = [v[g] for g in v if g <= f]
            total = sum(n for _, n in past)
            scored.append((sum(loss * n for loss, n in past) / total, m))
        if scored:
            out[f] = min(scored)[1]
    return out


def rival_label(choice: dict[int, str]) -> str:
    """``"loghar"``, or ``"loghar (4 folds), ridge (1)"`` when folds chose differently."""
    counts = Counter(choice.values()).most_common()
    if len(counts) == 1:
        return counts[0][0]
    (top, n_top), *rest = counts
    plural = "s" if n_top != 1 else ""
    return ", ".join([f"{top} ({n_top} fold{plural})", *(f"{m} ({n})" for m, n in rest)])


def _rival_rows(predictions: pd.DataFrame, choice: dict[int, str]) -> pd.DataFrame:
    model = predictions["model"].astype(str).to_numpy()
    fold = predictions["fold"].to_numpy()
    keep = np.zeros(len(predictions), dtype=bool)
    for f, m in choice.items():
        keep |= (fold == f) & (model == m)
    return predictions.loc[keep].assign(model=RIVAL)


def rival_tests(
    predictions: pd.DataFrame,
    task: str,
    losses: Losses,
    *,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Every model that is not a baseline against its best classical rival.

    Parameters
    ----------
    predictions
        The predictions table.
    task
        The run's task (its row loss and skill are the significance tests').
    losses
        :func:`validation_losses` of the run's history.
    alpha
        Level of ``beats_rival`` (one-sided Diebold-Mariano).

    Returns
    -------
    dict
        ``{"chosen_on", "choice": {fold: model}, "rival": label, "validation_loss":
        {model: {fold: loss}}, "horizon", "models": {name: {"rival", "skill_gap", "dm",
        "dm_by_horizon", "beats_rival"}}}``, or ``{"skipped": reason}``. ``skill_gap`` is
        the model's skill against naive minus the rival's, on the dates all three share at
        the first horizon (``(L_rival - L_model) / L_naive`` for the ratio skills,
        ``L_rival - L_model`` for the difference skills).
    """
    from ..models.registry import baseline_names  # the registry's metadata is light

    baselines = set(baseline_names())
    names = [str(m) for m in pd.unique(predictions["model"].astype(str))]
    challengers = [m for m in names if m not in baselines]
    candidates = {m: v for m, v in losses.items() if m in names and m in baselines}
    if not challengers:
        return {"skipped": "every model run is a baseline: there is no network to compare"}
    if not candidates:
        return {
            "skipped": "no classical baseline besides naive was scored on a validation tail "
            "(add one, e.g. --baselines naive,ridge,loghar)"
        }
    folds = sorted(int(f) for f in pd.unique(predictions["fold"]))
    choice = rival_choice(candidates, folds)
    rival = _rival_rows(predictions, choice)
    # a multi-seed model's per-date loss is its mean over seeds, as in the significance tests
    table = pd.concat(
        [predictions[predictions["model"].astype(str).isin([*challengers, "naive"])], rival],
        ignore_index=True,
    )
    spec = get_task(task)
    row_loss, loss_name = spec.row_loss(table)
    horizons = sorted(int(h) for h in pd.unique(table["horizon"]))
    h0 = horizons[0]
    by_h = {h: _per_date(table, row_loss, h, complete=False) for h in horizons}
    ratio = spec.loss_skill == "ratio"
    label = rival_label(choice)
    models: dict[str, Any] = {}
    for model in challengers:
        dm_by_h = {}
        for h in horizons:
            w = by_h[h]
            if model in w.columns and RIVAL in w.columns:
                pair = w[[model, RIVAL]].dropna()
                dm_by_h[str(h)] = diebold_mariano(pair[model].to_numpy(), pair[RIVAL].to_numpy(), h)
        headline = dm_by_h.get(str(h0)) or diebold_mariano(np.empty(0), np.empty(0), h0)
        gap = math.nan
        w0 = by_h[h0]
        if {model, RIVAL, "naive"} <= set(w0.columns):
            trio = w0[[model, RIVAL, "naive"]].dropna()
            if len(trio):
                diff = trio[RIVAL].mean() - trio[model].mean()
                scale = trio["naive"].mean() if ratio else 1.0
                gap = diff / scale if scale > 0 else math.nan
        p = headline["p_value"]
        models[model] = {
            "rival": label,
            "skill_gap": _json_float(gap),
            "dm": headline,
            "dm_by_horizon": dm_by_h,
            "beats_rival": "yes" if p is not None and p < alpha else "no",
        }
    return {
        "chosen_on": CHOSEN_ON,
        "choice": {str(f): m for f, m in choice.items()},
        "rival": label,
        "loss": loss_name,
        "horizon": h0,
        "validation_loss": {
            m: {str(f): v[f][0] for f in sorted(v)} for m, v in sorted(candidates.items())
        },
        "models": models,
    }
