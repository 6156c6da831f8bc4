"""Scores of a predictions table's intervals (``lo_<level>`` / ``hi_<level>`` columns).

For every model and level: empirical coverage, mean width, Winkler score, the number of
misses, Kupiec's unconditional test of the miss rate and Christoffersen's independence
test of the misses (:func:`~fincast.metrics.intervals.interval_metrics`), pooled and per
fold. Scored at the smallest horizon h; for a model trained with several seeds, the rows
of its first seed. Coverage, width and Winkler score use every row; the tests use the rows
of every h-th date, whose h-step targets do not overlap (overlapping targets make misses
dependent by construction, :func:`~fincast.metrics.overlap.independent_rows`), and the
independence test counts transitions within each series, in date order.

A plain reading per model and level (``reading``) says whether the intervals are about
right, too narrow or too wide: "too narrow" / "too wide" when Kupiec's test rejects the
nominal miss rate at ``alpha``, "about right" otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..predictions import SEED_COLUMN, interval_columns, interval_levels
from .intervals import interval_metrics
from .overlap import independent_rows
from .summary import order_models

__all__ = ["best_model", "coverage_sentence", "interval_summary", "interval_verdict"]


def _first_seed(rows: pd.DataFrame) -> pd.DataFrame:
    if SEED_COLUMN not in rows.columns or rows[SEED_COLUMN].isna().all():
        return rows
    first = rows[SEED_COLUMN].min()
    return rows[rows[SEED_COLUMN].isna() | (rows[SEED_COLUMN] == first)]


def _reading(m: dict[str, Any], alpha: float) -> str:
    p, cov = m.get("kupiec_pvalue"), m.get("coverage")
    if cov is None:
        return "not scored"
    if p is not None and p < alpha:
        return "too narrow" if cov < m["level"] else "too wide"
    return "about right"


def coverage_sentence(model: str, m: dict[str, Any]) -> str:
    """E.g. ``mlp: 90 % intervals covered 83 % — too narrow (Kupiec p = 0.001)``."""
    p = m.get("kupiec_pvalue")
    test = f" (Kupiec p = {p:.3g})" if p is not None else ""
    return (
        f"{model}: {m['level']:.0%} intervals covered {m['coverage']:.1%} — "
        f"{m['reading']}{test}".replace("%", " %")
    )


def interval_summary(predictions: pd.DataFrame, alpha: float = 0.05) -> dict[str, Any]:
    """Interval scores of every model and level, or ``{"skipped": reason}``.

    Returns
    -------
    dict
        ``{"levels", "horizon", "alpha", "models": {model: {"<level>": {coverage,
        mean_width, winkler, n, misses, kupiec_pvalue, independence_pvalue, cc_pvalue,
        reading, "folds": {fold: {"coverage", "mean_width", "n"}}}}}}``.
    """
    levels = interval_levels(predictions)
    if not levels:
        return {"skipped": "no intervals (run the backtest with --intervals 0.8,0.95)"}
    h = int(predictions["horizon"].min())
    table = predictions[predictions["horizon"] == h]
    table = table.assign(model=table["model"].astype(str)).sort_values(["id", "date"])
    models: dict[str, Any] = {}
    for name in order_models(table["model"]):
        rows = _first_seed(table[table["model"] == name])
        entry: dict[str, Any] = {}
        sample = independent_rows(rows["date"], h)
        tested, clusters = sample.keep, sample.cluster
        for level in levels:
            lo_col, hi_col = interval_columns(level)
            m = interval_metrics(
                rows["y_true"],
                rows[lo_col],
                rows[hi_col],
                level,
                groups=rows["id"].to_numpy(),
                tested=tested,
                clusters=clusters,
            )
            m["reading"] = _reading(m, alpha)
            m["folds"] = {
                str(fold): {
                    k: v
                    for k, v in interval_metrics(
                        part["y_true"],
                        part[lo_col],
                        part[hi_col],
                        level,
                        groups=part["id"].to_numpy(),
                        tested=independent_rows(part["date"], h).keep,
                        clusters=independent_rows(part["date"], h).cluster,
                    ).items()
                    if k in ("coverage", "mean_width", "n", "kupiec_pvalue")
                }
                for fold, part in rows.groupby("fold", sort=True)
            }
            entry[f"{level:g}"] = m
        models[str(name)] = entry
    return {"levels": levels, "horizon": h, "alpha": alpha, "models": models}


def best_model(metrics: dict[str, Any]) -> str | None:
    """The model with intervals and the highest skill against naive (naive if alone)."""
    names = list((metrics.get("intervals") or {}).get("models") or {})
    if not names:
        return None
    scored = metrics.get("models") or {}

    def skill(name: str) -> float:
        value = (scored.get(name) or {}).get("skill_vs_naive")
        return float(value) if isinstance(value, int | float) else -np.inf

    others = [n for n in names if n != "naive"]
    return max(others, key=skill) if others else names[0]


def interval_verdict(metrics: dict[str, Any]) -> str | None:
    """One sentence on the intervals of the best model, every level, e.g.
    ``mlp: 90 % intervals covered 83.0 % — too narrow (Kupiec p = 0.001)``."""
    best = best_model(metrics)
    if best is None:
        return None
    entry = metrics["intervals"]["models"][best]
    parts = [coverage_sentence(best, m) for m in entry.values() if m.get("coverage") is not None]
    text = "; ".join(p if i == 0 else p.split(": ", 1)[1] for i, p in enumerate(parts))
    return f"{text}." if text else None
