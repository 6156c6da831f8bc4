"""Figure helpers shared by the report's plots and diagnostics (private)."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from ..metrics.finance import BUY_AND_HOLD
from ..metrics.summary import order_models
from ..rundir import atomic_write_bytes

FIGSIZE = (11.0, 5.0)
DPI = 110
MAX_MODELS = 6  # naive and at most five others in the actual-vs-predicted plot
_NAIVE = "naive"


def _models_to_show(names: list[str]) -> list[str]:
    """``naive``, then the non-baseline models, then other baselines; at most MAX_MODELS."""
    from ..models.registry import is_baseline

    ordered = order_models(names)
    first = [n for n in ordered if n == _NAIVE]
    own = [n for n in ordered if not is_baseline(n)]
    others = [n for n in ordered if is_baseline(n) and n != _NAIVE]
    return (first + own + others)[:MAX_MODELS]


def _styles(names: list[str]) -> dict[str, dict[str, object]]:
    """Line styles by model, the same in every plot of one table (colour by display order)."""
    styles: dict[str, dict[str, object]] = {
        _NAIVE: {"color": "0.45", "linestyle": "--", "linewidth": 1.0},
        BUY_AND_HOLD: {"color": "black", "linewidth": 2.2, "alpha": 0.8, "zorder": 1.5},
    }
    others = [n for n in order_models(names) if n not in styles]
    for i, name in enumerate(others):
        styles[name] = {"color": f"C{i % 10}", "linewidth": 1.1}
    return styles


def _date_axis(ax: Axes) -> None:
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _save(fig: Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI)
    except (OverflowError, ValueError) as exc:
        # extreme values (a price of 1e308, a return curve overflowing to inf) must not cost
        # the run its results: draw a placeholder that says why
        buffer = io.BytesIO()
        fig.clear()
        fig.text(0.5, 0.5, f"cannot draw this plot: values out of range ({exc})", ha="center")
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        fig.clear()
    return atomic_write_bytes(Path(path), buffer.getvalue())


def _new_figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()
