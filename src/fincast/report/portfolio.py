"""The cross-sectional portfolio part of the report: a table, cumulative-return and IC-decay plots.

Both come from ``metrics.json``'s ``portfolio`` entry and the predictions table alone
(:mod:`fincast.metrics.portfolio`); single series and small panels show the reason instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from ..metrics.portfolio import EQUAL_WEIGHT, ic_decay, portfolio_returns
from ._figures import thin
from ._html import _e, _fmt, _table
from .plots import _date_axis, _new_figure, _save, first_seed

__all__ = ["plot_ic_decay", "plot_portfolio", "portfolio_section"]

_COLUMNS = (
    ("annual_return", "annual return", "pct"),
    ("annual_volatility", "volatility", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("information_ratio", "IR vs equal weight", "num"),
    ("max_drawdown", "max drawdown", "pct"),
)


def portfolio_section(metrics: dict[str, Any]) -> str:
    """HTML: long-short, long and short legs of every model, IC, and the tests."""
    port = metrics.get("portfolio")
    if not port:
        return ""
    if "skipped" in port:
        return f"<p class='note'>Cross-sectional portfolio skipped: {_e(port['skipped'])}.</p>"
    head = ["model", "leg", *(label for _, label, _ in _COLUMNS)]
    head += ["Sharpe 95% interval", "DM p vs equal weight", "turnover", "rank IC", "rank ICIR"]
    rows, classes = [], []
    for name, entry in port.get("models", {}).items():
        if "skipped" in entry:
            rows.append([_e(name), "–", *(["–"] * (len(head) - 3)), _e(entry["skipped"])])
            classes.append("")
            continue
        for leg in ("long_short", "long", "short"):
            s = entry.get(leg, {})
            ci = s.get("sharpe_ci") or {}
            interval = f"[{_fmt(ci.get('low'))}, {_fmt(ci.get('high'))}]" if ci else "–"
            rows.append(
                [
                    _e(name),
                    _e(leg.replace("_", "-")),
                    *(_fmt(s.get(k), kind) for k, _, kind in _COLUMNS),
                    interval,
                    _fmt((s.get("dm_vs_equal_weight") or {}).get("p_value")),
                    _fmt(entry.get("turnover")) if leg == "long_short" else "",
                    _fmt(entry.get("ic", {}).get("rank_ic")) if leg == "long_short" else "",
                    _fmt(entry.get("ic", {}).get("rank_icir")) if leg == "long_short" else "",
                ]
            )
            classes.append("")
    ew = port.get("equal_weight", {})
    ew_row = [EQUAL_WEIGHT, "long", *(_fmt(ew.get(k), kind) for k, _, kind in _COLUMNS)]
    rows.append([*ew_row, "", "", _fmt(ew.get("turnover")), "", ""])
    classes.append("bh")
    return "".join(
        [
            f"<h3>Cross-sectional portfolio ({_e(port.get('spec'))}), "
            f"{port.get('n_series')} series</h3>",
            _table(head, rows, classes),
            f"<p class='note'>{_e(port.get('rule', ''))}; {port.get('cost_bps', 0):g} bp per "
            f"unit of turnover, annualised with {_fmt(port.get('periods_per_year'))} periods "
            "a year. DM p: one-sided Diebold-Mariano test that the leg earns more than the "
            "equal-weight portfolio of all series.</p>",
        ]
    )


def plot_portfolio(
    predictions: pd.DataFrame,
    task: str,
    path: Path,
    *,
    spec: str,
    cost_bps: float,
    returns: pd.DataFrame | None = None,
) -> Path:
    """Cumulative net return of every model's long-short portfolio and the benchmark.

    ``returns``, when given, is :func:`~fincast.metrics.portfolio.portfolio_returns` of the
    first seed of ``predictions`` already computed (by the metrics); otherwise it is
    computed here.
    """
    if returns is None:
        returns = portfolio_returns(first_seed(predictions), task, spec=spec, cost_bps=cost_bps)
    fig, ax = _new_figure()
    for name, rows in returns.groupby("model", sort=False):
        if name != EQUAL_WEIGHT and not (rows["n_long"] > 0).any():
            continue
        column = "long" if name == EQUAL_WEIGHT else "long_short"
        wealth = np.cumprod(1.0 + rows[column].to_numpy(dtype="float64")) - 1.0
        keep = thin(rows["date"], wealth)
        style = {"color": "black", "linewidth": 2.0} if name == EQUAL_WEIGHT else {}
        ax.plot(rows["date"].iloc[keep], wealth[keep], label=f"{name} ({column})", **style)  # type: ignore[arg-type]
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("cumulative return (net of costs)")
    _date_axis(ax)
    ax.set_title(f"cross-sectional portfolio {spec}, {cost_bps:g} bp (out of sample)")
    ax.legend(loc="best", fontsize=8, ncols=2)
    return _save(fig, path)


def plot_ic_decay(
    predictions: pd.DataFrame,
    task: str,
    path: Path,
    *,
    max_lag: int = 10,
    decay: pd.DataFrame | None = None,
) -> Path:
    """Mean cross-sectional rank IC of each model's forecast at lags 0 … ``max_lag``.

    ``decay``, when given, is :func:`~fincast.metrics.portfolio.ic_decay` of the first seed
    of ``predictions`` already computed (by the metrics); otherwise it is computed here.
    """
    if decay is None:
        decay = ic_decay(first_seed(predictions), task, max_lag=max_lag)
    fig, ax = _new_figure()
    for name, rows in decay.groupby("model", sort=False):
        ax.plot(rows["lag"], rows["rank_ic"], marker="o", label=str(name))
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_xlabel("lag: steps between the forecast date and the start of the return")
    ax.set_ylabel("mean rank IC across series")
    ax.set_title("IC decay (out of sample)")
    if len(decay):
        ax.legend(loc="best", fontsize=8, ncols=2)
    return _save(fig, path)
