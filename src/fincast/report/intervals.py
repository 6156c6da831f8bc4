"""The prediction-interval part of the report: a fan chart, a coverage table, coverage by fold.

Both come from ``metrics.json``'s ``intervals`` entry (:mod:`fincast.metrics.coverage`) and
the predictions table's ``lo_<level>`` / ``hi_<level>`` columns alone; runs without
intervals show nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..metrics.coverage import best_model
from ..predictions import interval_columns, interval_levels
from ._html import _e, _fmt, _table
from .plots import _date_axis, _new_figure, _save, first_seed

__all__ = ["FAN_ROWS", "interval_section", "plot_fan"]

#: The fan chart shows the last this many test dates (the whole backtest is unreadable).
FAN_ROWS = 250


def plot_fan(predictions: pd.DataFrame, metrics: dict[str, Any], path: Path) -> Path | None:
    """Actual vs forecast with the interval bands of the best model (first series, smallest
    horizon, last :data:`FAN_ROWS` test dates); None when the run has no intervals."""
    best = best_model(metrics)
    levels = interval_levels(predictions)
    if best is None or not levels:
        return None
    rows = first_seed(predictions)
    rows = rows[(rows["model"].astype(str) == best) & (rows["horizon"] == rows["horizon"].min())]
    first = str(rows["id"].astype(str).iloc[0])
    rows = rows[rows["id"].astype(str) == first].sort_values("date").tail(FAN_ROWS)
    fig, ax = _new_figure()
    for i, level in enumerate(reversed(levels)):  # widest first, lighter
        lo, hi = interval_columns(level)
        ax.fill_between(
            rows["date"], rows[lo], rows[hi], color="C0", alpha=0.15 + 0.15 * i, linewidth=0,
            label=f"{level:.0%} interval", step="mid",
        )  # fmt: skip
    ax.plot(rows["date"], rows["y_pred"], color="C0", linewidth=1.1, label=f"{best} forecast")
    ax.plot(rows["date"], rows["y_true"], color="black", linewidth=0.9, label="actual")
    h = int(rows["horizon"].iloc[0])
    ax.set_title(f"{best}: forecast and intervals · {first} · horizon {h}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8, ncols=2)
    _date_axis(ax)
    return _save(fig, path)


def interval_section(metrics: dict[str, Any]) -> str:
    """HTML: the coverage sentence, a table per model and level, and coverage by fold."""
    iv = metrics.get("intervals") or {}
    if "models" not in iv:
        return ""
    verdict = (metrics.get("verdict") or {}).get("intervals")
    parts = ["<section id='intervals'><h2>Prediction intervals</h2>"]
    if verdict:
        parts.append(f"<p class='note' id='interval-verdict'>{_e(verdict)}</p>")
    head = ["model", "level", "coverage", "mean width", "Winkler", "misses", "Kupiec p"]
    head += ["independence p", "reading"]
    rows = []
    for name, entry in iv["models"].items():
        for level, m in entry.items():
            rows.append(
                [
                    _e(name), _e(level), _fmt(m.get("coverage"), "pct"),
                    _fmt(m.get("mean_width")), _fmt(m.get("winkler")),
                    f"{m.get('misses')} / {m.get('n')}", _fmt(m.get("kupiec_pvalue"), "p"),
                    _fmt(m.get("independence_pvalue"), "p"), _e(m.get("reading", "")),
                ]
            )  # fmt: skip
    parts.append(_table(head, rows))
    folds = sorted(
        {f for e in iv["models"].values() for m in e.values() for f in m.get("folds", {})}, key=int
    )
    fold_rows = []
    for name, entry in iv["models"].items():
        for level, m in entry.items():
            cells = [_fmt((m.get("folds", {}).get(f) or {}).get("coverage"), "pct") for f in folds]
            fold_rows.append([_e(name), _e(level), *cells])
    parts.append("<h3>Coverage by fold</h3>")
    parts.append(_table(["model", "level", *(f"fold {f}" for f in folds)], fold_rows))
    parts.append(
        f"<p class='note'>Scored at horizon {_e(iv.get('horizon'))}. Kupiec: the miss rate "
        "equals 1 − level; independence: Christoffersen's test that a miss does not make the "
        f"next more likely. “too narrow” / “too wide”: Kupiec rejects at "
        f"{float(iv.get('alpha', 0.05)):.0%}.</p></section>"
    )
    return "".join(parts)
