"""Interval coverage and VaR hit rate of a model's rows, live or backtest, side by side.

A saved model trained with ``--intervals`` records split-conformal bounds with each live
forecast (:func:`fincast.intervals.saved_bounds`); ``fincast score`` puts them in the
predictions table, and :func:`fincast.metrics.coverage.interval_summary` scores them as a
backtest's (coverage, Kupiec's test of the miss rate, Christoffersen's conditional
coverage). The lower bound of a central ``level`` interval is the forecast
``(1 - level) / 2`` quantile, the value at risk of that tail for returns
(``Task.lower_bound_is_var``): its hit rate (rows with ``y`` below it) gets the same two tests (:func:`fincast.metrics.risk.christoffersen`)
on the rows of every h-th date, whose h-step outcomes do not overlap.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..tasks import TaskSpec

__all__ = ["interval_figures", "intervals_note"]


def _plain(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _first_seed(rows: pd.DataFrame) -> pd.DataFrame:
    from ..predictions import SEED_COLUMN

    if SEED_COLUMN not in rows.columns or rows[SEED_COLUMN].isna().all():
        return rows
    first = rows[SEED_COLUMN].min()
    return rows[rows[SEED_COLUMN].isna() | (rows[SEED_COLUMN] == first)]


def _tail_hits(rows: pd.DataFrame, lo_col: str, rate: float, horizon: int) -> dict[str, Any]:
    from ..metrics.overlap import independent_rows
    from ..metrics.risk import christoffersen

    y = rows["y_true"].to_numpy(dtype="float64")
    lo = rows[lo_col].to_numpy(dtype="float64")
    keep = np.isfinite(y) & ~np.isnan(lo)
    hits = (y < lo)[keep]
    if not len(hits):
        return {"var_hit_rate": None, "var_kupiec_p": None, "var_christoffersen_p": None}
    tested = independent_rows(rows["date"].to_numpy()[keep], horizon).keep
    ids = rows["id"].astype(str).to_numpy()[keep][tested]
    tests = christoffersen(hits[tested], rate, groups=ids)
    return {
        "var_hit_rate": float(hits.mean()),
        "var_kupiec_p": _plain(tests.get("uc_pvalue")),
        "var_christoffersen_p": _plain(tests.get("cc_pvalue")),
    }


def interval_figures(
    metrics: dict[str, Any],
    predictions: pd.DataFrame,
    task: TaskSpec,
    model: str,
    horizon: int,
) -> dict[str, dict[str, Any]]:
    """``{"<level>": figures}`` of ``model``'s intervals at ``horizon`` (``{}``: none).

    The figures: ``coverage``, ``n``, ``kupiec_p``, ``christoffersen_p`` (conditional
    coverage) and ``reading`` from ``metrics["intervals"]`` (scored at the table's smallest
    horizon), and, where the lower bound is a value at risk (a return task,
    ``Task.lower_bound_is_var``), its ``var_rate`` (nominal), ``var_hit_rate``,
    ``var_kupiec_p`` and ``var_christoffersen_p`` (None otherwise).
    """
    from ..predictions import interval_columns

    summary = metrics.get("intervals") or {}
    entry = (summary.get("models") or {}).get(model) or {}
    if summary.get("horizon") != horizon:
        return {}
    rows = predictions[(predictions["model"] == model) & (predictions["horizon"] == horizon)]
    rows = _first_seed(rows).sort_values(["id", "date"], kind="stable")
    out: dict[str, dict[str, Any]] = {}
    for key, m in entry.items():
        if m.get("coverage") is None:
            continue
        level = float(m["level"])
        rate = (1.0 - level) / 2.0
        var = _tail_hits(rows, interval_columns(level)[0], rate, horizon)
        if not task.task.lower_bound_is_var:
            var = dict.fromkeys(var)
        out[key] = {
            "coverage": _plain(m["coverage"]),
            "n": int(m["n"]),
            "kupiec_p": _plain(m.get("kupiec_pvalue")),
            "christoffersen_p": _plain(m.get("cc_pvalue")),
            "reading": m.get("reading"),
            "var_rate": rate if task.task.lower_bound_is_var else None,
            **var,
        }
    return out


def intervals_note(without: list[str], any_with: bool) -> str | None:
    """What the live report says of the models whose forecasts carry no interval."""
    if not without:
        return None
    how = (
        "{who} trained without --intervals and {verb} point forecasts (retrain with `fincast "
        "train … --intervals 0.9` for live intervals); live and backtest are compared on "
        "skill and DM against naive"
    )
    if not any_with:
        text = how.format(
            who="the model was" if len(without) == 1 else "the models were",
            verb="makes" if len(without) == 1 else "make",
        )
        return f"live interval coverage and VaR hit rate are not available: {text}"
    text = how.format(
        who="it was" if len(without) == 1 else "they were",
        verb="makes" if len(without) == 1 else "make",
    )
    return (
        f"live interval coverage and VaR hit rate are not available for "
        f"{', '.join(without)}: {text}"
    )
