"""Reports built from the predictions table alone: plots (and, later, the HTML report)."""

from __future__ import annotations

from .plots import (
    BUY_AND_HOLD,
    cumulative_returns,
    plot_actual_vs_predicted,
    plot_cumulative_returns,
    strategy_returns,
    write_plots,
)

__all__ = [
    "BUY_AND_HOLD",
    "cumulative_returns",
    "plot_actual_vs_predicted",
    "plot_cumulative_returns",
    "strategy_returns",
    "write_plots",
]
