"""Reports built from the predictions table alone: plots and the self-contained HTML report."""

from __future__ import annotations

from .plots import (
    BUY_AND_HOLD,
    first_seed,
    plot_actual_vs_predicted,
    plot_cumulative_returns,
    plot_drawdown,
    write_plots,
)

__all__ = [
    "BUY_AND_HOLD",
    "first_seed",
    "plot_actual_vs_predicted",
    "plot_cumulative_returns",
    "plot_drawdown",
    "write_plots",
]
