"""The whole evaluation of a run, from the predictions table alone: what ``metrics.json`` holds.

:func:`evaluate` scores every model (:func:`~fincast.metrics.compute_metrics`), adds the
finance metrics under each model (trading rule after costs, information coefficient), the
significance tests under ``"significance"`` and a plain verdict under ``"verdict"``. Models
trained with several seeds (a ``seed`` column with more than one value) are scored seed by
seed and reported as the mean, with the standard deviation over seeds under ``"seeds"``.

Parts that do not apply to a task (no trading rule, no loss for the tests) are skipped with
the reason written in their place, so a new task never breaks the evaluation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .._memory import release_freed_memory
from ..errors import FincastError
from ..predictions import SEED_COLUMN
from . import finance, significance
from .coverage import interval_summary
from .portfolio import portfolio_metrics
from .rivals import rival_tests
from .summary import compute_metrics

__all__ = ["SEED_COLUMN", "evaluate", "verdict_rows"]

_NAIVE = "naive"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _mean_tree(values: list[Any]) -> Any:
    """Element-wise mean of equally shaped JSON trees (numbers averaged, None ignored)."""
    first = values[0]
    if isinstance(first, dict):
        keys = list(dict.fromkeys(k for v in values if isinstance(v, dict) for k in v))
        return {
            k: _mean_tree([v[k] for v in values if isinstance(v, dict) and k in v]) for k in keys
        }
    if isinstance(first, list) and all(
        isinstance(v, list) and len(v) == len(first) for v in values
    ):
        return [_mean_tree([v[i] for v in values]) for i in range(len(first))]
    numbers = [float(v) for v in values if _is_number(v) and math.isfinite(float(v))]
    if numbers and all(_is_number(v) or v is None for v in values):
        if all(isinstance(v, int | np.integer) for v in values) and len(set(values)) == 1:
            return int(first)
        return float(np.mean(numbers))
    if all(v is None for v in values) or (not numbers and all(_is_number(v) for v in values)):
        return None
    return first


def _std_tree(values: list[Any]) -> Any:
    """Standard deviation (ddof 1) of the numeric leaves of equally shaped JSON trees."""
    first = values[0]
    if isinstance(first, dict):
        out = {}
        for k in first:
            std = _std_tree([v.get(k) for v in values if isinstance(v, dict)])
            if std is not None and std != {}:
                out[k] = std
        return out
    numbers = [float(v) for v in values if _is_number(v) and math.isfinite(float(v))]
    if len(numbers) > 1 and all(_is_number(v) or v is None for v in values):
        return float(np.std(numbers, ddof=1))
    return None


def _seed_groups(predictions: pd.DataFrame) -> tuple[list[str], list[Any]]:
    """Models trained with several seeds, and the seed values."""
    if SEED_COLUMN not in predictions.columns:
        return [], []
    seeded = predictions[predictions[SEED_COLUMN].notna()]
    counts = seeded.groupby(seeded["model"].astype(str))[SEED_COLUMN].nunique()
    multi = sorted(str(m) for m in counts[counts > 1].index)
    seeds = sorted(pd.unique(seeded.loc[seeded["model"].isin(multi), SEED_COLUMN]))
    return multi, seeds


def _finance_entries(
    table: pd.DataFrame,
    task: str,
    cost_bps: float,
    ppy: float,
    h: int,
    tables: dict[str, pd.DataFrame] | None = None,
) -> dict[str, dict[str, Any]]:
    trading = finance.trading_metrics(
        table, task, cost_bps=cost_bps, periods_per_year=ppy, horizon=h, tables=tables
    )
    release_freed_memory()
    ic = finance.information_coefficient(table, task, horizon=h)
    return {
        m: {"trading": trading.get(m, {}), "ic": ic.get(m, {})}
        for m in [*pd.unique(table["model"].astype(str)), finance.BUY_AND_HOLD]
    }


def _score(
    table: pd.DataFrame,
    task: str,
    fin: dict[str, Any] | None,
    tables: dict[str, pd.DataFrame] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """compute_metrics of ``table`` and, if finance applies, the finance entries."""
    scores = compute_metrics(table, task)
    release_freed_memory()
    if fin is None:
        return scores, {}
    entries = _finance_entries(
        table, task, fin["cost_bps"], fin["ppy"], fin["horizon"], tables=tables
    )
    return scores, entries


def evaluate(
    predictions: pd.DataFrame,
    task: str,
    *,
    cost_bps: float = 5.0,
    seed: int = 0,
    bootstrap_reps: int = significance.DEFAULT_BOOTSTRAP_REPS,
    alpha: float = 0.05,
    portfolio: str = "quantile:5",
    figures: dict[str, pd.DataFrame] | None = None,
    validation: dict[str, dict[int, tuple[float, int]]] | None = None,
) -> dict[str, Any]:
    """Score, trade and test every model of a predictions table.

    Parameters
    ----------
    predictions
        The predictions table (``predictions.parquet`` / ``predictions.csv``), optionally
        with a ``seed`` column.
    task
        The run's task.
    cost_bps
        Transaction cost per side, in basis points, of the trading rule.
    seed
        Seed of the bootstrap (the same seed gives the same ``metrics.json``).
    bootstrap_reps
        Bootstrap replications of SPA, MCS and the confidence intervals.
    alpha
        Level of the "beats naive" verdict and of the intervals (``1 - alpha``).
    portfolio
        Cross-sectional portfolio rule of panels (see
        :func:`~fincast.metrics.portfolio.portfolio_metrics`).
    figures
        When given, receives the portfolio's per-period returns and IC decay
        (``"returns"``, ``"ic_decay"``) the metrics were computed from, for the report's
        figures (see :func:`~fincast.metrics.portfolio.portfolio_metrics`), and, for a run
        trained with one seed, the long/flat strategy returns (``"strategy_returns"``,
        :func:`~fincast.metrics.finance.strategy_returns`) of the trading curves.
    validation
        Each baseline's loss on each fold's validation tail
        (:func:`~fincast.metrics.rivals.validation_losses` of ``history.json``): when
        given, the significance tests gain ``"rival"``, every network against the best
        classical model chosen on those tails (:func:`~fincast.metrics.rivals.rival_tests`).

    Returns
    -------
    dict
        :func:`~fincast.metrics.compute_metrics`' result where each model also has
        ``"finance": {"trading": {"long_flat": {...}, "long_short": {...}}, "ic": {...}}``
        (and ``"seeds": {"n", "values", "std": {...}}`` when trained with several seeds), plus
        ``"finance"`` (the rule, costs, annualisation and the ``buy_and_hold`` row),
        ``"significance"`` (see :func:`~fincast.metrics.significance.significance`) and
        ``"verdict"`` (:func:`verdict_rows`) and ``"portfolio"`` (panels of at least five
        series: :func:`~fincast.metrics.portfolio.portfolio_metrics`). A part that does not apply to the task is
        ``{"skipped": reason}``.
    """
    multi, seeds = _seed_groups(predictions)
    fin: dict[str, Any] | None = None
    fin_info: dict[str, Any]
    if not finance.supports(task):
        fin_info = {"skipped": f"task {task!r} has no trading rule"}
    elif "fwd_return" not in predictions.columns:
        fin_info = {"skipped": "the predictions table has no fwd_return column"}
    else:
        h = int(predictions["horizon"].min())
        ppy = finance.infer_periods_per_year(
            predictions.loc[predictions["horizon"] == h, "date"], h
        )
        fin = {"cost_bps": float(cost_bps), "ppy": ppy, "horizon": h}
        fin_info = {
            "rule": (
                "long_flat: long when the forecast is bullish, else flat; long_short: long "
                "when bullish, short when bearish; non-overlapping horizon periods, equal "
                "weight across series"
            ),
            "cost_bps": float(cost_bps),
            "horizon": h,
            "periods_per_year": ppy,
        }

    model_col = predictions["model"].astype(str)
    if multi:
        seed_col = predictions[SEED_COLUMN]
        per_seed = [
            _score(predictions[~model_col.isin(multi) | (seed_col == s)], task, fin) for s in seeds
        ]
    else:
        trading: dict[str, pd.DataFrame] = {}
        per_seed = [_score(predictions, task, fin, tables=trading)]
        if figures is not None and "long_flat" in trading:  # the report's strategy curves
            figures["strategy_returns"] = trading["long_flat"]
    release_freed_memory()  # each part's intermediates, before the next (see _memory)
    metrics, fin_entries = per_seed[0]
    for name, entry in metrics["models"].items():
        if fin is not None:
            entry["finance"] = fin_entries.get(name, {})
        if name not in multi:
            continue
        entries = []
        for scores, fins in per_seed:
            e = dict(scores["models"][name])
            if fin is not None:
                e["finance"] = fins.get(name, {})
            entries.append(e)
        mean = _mean_tree(entries)
        std = _std_tree(
            [{k: v for k, v in e.items() if k not in ("folds", "horizons")} for e in entries]
        )
        entry.clear()
        entry.update(mean)
        entry["seeds"] = {"n": len(entries), "values": [_plain(s) for s in seeds], "std": std}
    if fin is not None:
        fin_info["buy_and_hold"] = fin_entries.get(finance.BUY_AND_HOLD, {}).get("trading", {})
    metrics["finance"] = fin_info

    if not significance.supports(task):
        metrics["significance"] = {"skipped": f"task {task!r} has no loss for the tests"}
    else:
        try:
            metrics["significance"] = significance.significance(
                predictions, task, alpha=alpha, bootstrap_reps=bootstrap_reps, seed=seed
            )
        except FincastError as exc:
            metrics["significance"] = {"skipped": str(exc)}
        release_freed_memory()
        if validation and "skipped" not in metrics["significance"]:
            metrics["significance"]["rival"] = rival_tests(
                predictions, task, validation, alpha=alpha
            )
    metrics["intervals"] = interval_summary(predictions, alpha=alpha)
    metrics["verdict"] = verdict_rows(metrics)
    # the IC of the whole table at the smallest horizon is the one the finance entries hold
    ic = {m: e["ic"] for m, e in fin_entries.items()} if fin is not None and not multi else None
    release_freed_memory()
    metrics["portfolio"] = portfolio_metrics(
        predictions, task, spec=portfolio, cost_bps=cost_bps, alpha=alpha, tables=figures,
        ic=ic,
    )  # fmt: skip
    return metrics


def _plain(value: Any) -> Any:
    if _is_number(value):
        f = float(value)
        return int(f) if f.is_integer() else f
    return value


def _status(beats: bool, skill: float | None) -> str:
    if beats:
        return "beats naive"
    if skill is not None and skill > 0:
        return "better on this sample, not significant"
    return "does not beat naive"


def rival_sentence(rival: dict[str, Any], alpha: float = 0.05) -> str:
    """The verdict's line on the best classical rival (``significance.rival``).

    ``"Best classical rival, chosen on the validation tails up to each fold (...): loghar. mlp vs
    loghar: +0.012 skill, DM p 0.030 (beats it at 5%)."``
    """
    if "skipped" in rival:
        return f"Best classical rival not tested: {rival['skipped']}."
    parts = []
    for name, r in rival.get("models", {}).items():
        gap, p = r.get("skill_gap"), r["dm"].get("p_value")
        gap_text = "skill gap undefined" if gap is None else f"{gap:+.3f} skill"
        p_text = "DM undefined" if p is None else f"DM p {'<0.001' if p < 0.001 else f'{p:.3f}'}"
        tail = f" (beats it at {alpha:.0%})" if r.get("beats_rival") == "yes" else ""
        parts.append(f"{name} vs {r['rival']}: {gap_text}, {p_text}{tail}")
    return (
        f"Best classical rival, chosen on {rival.get('chosen_on', 'the validation tails')}: "
        f"{rival.get('rival')}. " + "; ".join(parts) + "."
    )


def verdict_rows(metrics: dict[str, Any]) -> dict[str, Any]:
    """The verdict: for every model but naive, does it beat naive, and how surely.

    Parameters
    ----------
    metrics
        The result of :func:`evaluate` without ``"verdict"`` (or ``metrics.json``).

    Returns
    -------
    dict
        ``{"alpha", "summary": str, "models": [{"model", "skill_vs_naive", "ci_low",
        "ci_high", "ci_metric", "dm_p_value", "beats_naive" ("yes"/"no"), "status",
        "sharpe", "buy_and_hold_sharpe", "ic", "seeds"[, "rival", "skill_vs_rival",
        "rival_dm_p_value", "beats_rival"]}], "notes": [str], "assumptions": [str],
        "rival": str}``; the rival fields (and the ``rival`` sentence, :func:`rival_sentence`)
        are there when the run scored baselines on validation tails
        (:mod:`fincast.metrics.rivals`); ``assumptions`` say what each test assumes (its lags, the
        rows it counts as independent: :func:`~fincast.metrics.assumptions.verdict_assumptions`);
        ``notes`` are
        the plain sentences a task's metrics carry under ``"notes"`` (e.g. the VaR backtests
        of ``var``), each prefixed with its model. A model beats naive when the
        one-sided Diebold-Mariano p-value is below ``alpha``; ``status`` says "beats naive",
        "better on this sample, not significant" or "does not beat naive".
    """
    sig = metrics.get("significance") or {}
    sig_models = sig.get("models", {}) if "skipped" not in sig else {}
    alpha = float(sig.get("alpha", 0.05))
    rival = sig.get("rival") if "skipped" not in sig else None
    rival_models = (rival or {}).get("models", {})
    bh = (metrics.get("finance") or {}).get("buy_and_hold", {}).get("long_flat", {})
    rows = []
    notes = [
        f"{name}: {note}"
        for name, entry in metrics.get("models", {}).items()
        for note in entry.get("notes") or []
    ]
    for name, entry in metrics.get("models", {}).items():
        if name == _NAIVE:
            continue
        s = sig_models.get(name, {})
        dm = s.get("dm", {})
        ci = s.get("ci", {})
        fin = entry.get("finance", {})
        skill = entry.get("skill_vs_naive")
        beats = s.get("beats_naive") == "yes"
        vs = rival_models.get(name)
        against = {}
        if vs is not None:
            against = {
                "rival": vs["rival"],
                "skill_vs_rival": vs["skill_gap"],
                "rival_dm_p_value": vs["dm"].get("p_value"),
                "beats_rival": vs["beats_rival"],
            }
        rows.append(
            {
                "model": name,
                "skill_vs_naive": skill,
                "ci_metric": ci.get("metric"),
                "ci_low": ci.get("low"),
                "ci_high": ci.get("high"),
                "dm_p_value": dm.get("p_value"),
                "beats_naive": "yes" if beats else "no",
                "status": _status(beats, skill),
                "sharpe": fin.get("trading", {}).get("long_flat", {}).get("sharpe"),
                "buy_and_hold_sharpe": bh.get("sharpe"),
                "ic": fin.get("ic", {}).get("ic"),
                "seeds": entry.get("seeds", {}).get("n", 1),
                **against,
            }
        )
    winners = [r["model"] for r in rows if r["beats_naive"] == "yes"]
    pct = f"{alpha:.0%}"
    if "skipped" in sig:
        summary = f"significance not tested: {sig['skipped']}"
    elif winners:
        summary = (
            f"{', '.join(winners)} beat{'s' if len(winners) == 1 else ''} naive at {pct} "
            "(one-sided Diebold-Mariano)."
        )
    elif rows:
        summary = f"No model beats naive at {pct} (one-sided Diebold-Mariano)."
    else:
        summary = "Only the naive baseline was run: nothing to compare."
    from .assumptions import verdict_assumptions
    from .coverage import interval_verdict

    out: dict[str, Any] = {"alpha": alpha, "summary": summary, "models": rows}
    assumptions = verdict_assumptions(metrics)
    if assumptions:
        out["assumptions"] = assumptions
    if notes:
        out["notes"] = notes
    if rival:
        out["rival"] = rival_sentence(rival, alpha)
    if "models" in (metrics.get("intervals") or {}):
        out["intervals"] = interval_verdict(metrics)
    return out
