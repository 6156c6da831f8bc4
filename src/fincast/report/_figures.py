"""Figure helpers shared by the report's plots and diagnostics (private).

Figures have no layout engine: :func:`_save` places the axes once with margins that fit
their tick labels, axis labels and titles (:func:`_fit`). Matplotlib's constrained layout
measured every artist of a figure twice per save and took about a third of the time of
writing the plots.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from ..metrics.finance import BUY_AND_HOLD
from ..metrics.summary import order_models
from ..rundir import atomic_write_bytes

FIGSIZE = (11.0, 5.0)
DPI = 110
#: Pixel columns of a full-width plot: lines with more than twice as many points are thinned.
COLUMNS = int(FIGSIZE[0] * DPI)
MAX_MODELS = 6  # naive and at most five others in the actual-vs-predicted plot
_NAIVE = "naive"
_PAD_IN = 0.06  # margin around the outermost decorations, in inches


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


def _decorations(ax: Axes, renderer: RendererBase) -> tuple[float, float, float, float]:
    """How far (pixels) the tick labels, axis labels, offset texts and title of ``ax``
    reach beyond its left, bottom, right and top edges."""
    box = ax.get_window_extent(renderer)
    left = bottom = right = top = 0.0
    for axis in (ax.xaxis, ax.yaxis):
        bb = axis.get_tightbbox(renderer, for_layout_only=True)
        if bb is not None and bb.width > 0 and bb.height > 0:
            left, bottom = max(left, box.x0 - bb.x0), max(bottom, box.y0 - bb.y0)
            right, top = max(right, bb.x1 - box.x1), max(top, bb.y1 - box.y1)
    if ax.get_title():
        pad = mpl.rcParams["axes.titlepad"] * ax.figure.dpi / 72.0
        top = max(top, ax.title.get_window_extent(renderer).height + pad)
    return left, bottom, right, top


def _fit(fig: Figure) -> None:
    """Place the subplots of ``fig`` with margins and gaps that fit their decorations.

    One measurement of each axis's tick labels, axis label and offset text and of each
    title (text layouts the drawing then reuses from matplotlib's cache), then
    ``subplots_adjust``. Lines, legends and spines are not measured: everything but the
    decorations is drawn inside the axes.
    """
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_subplotspec() is not None]
    if not axes:
        return
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    specs = [ax.get_subplotspec() for ax in axes]
    reach = [_decorations(ax, renderer) for ax in axes]
    pad = _PAD_IN * fig.dpi
    width, height = fig.get_size_inches() * fig.dpi
    rows, cols = specs[0].get_gridspec().get_geometry()  # type: ignore[union-attr]
    left = max(r[0] for r in reach) + pad
    bottom = max(r[1] for r in reach) + pad
    right = width - max(r[2] for r in reach) - pad
    top = height - max(r[3] for r in reach) - pad
    # between columns: the y decorations of the right one; between rows: the x decorations
    # of the upper one and the title of the lower one
    inner = [r for r, s in zip(reach, specs, strict=True) if not s.is_first_col()]  # type: ignore[union-attr]
    column_gap = max((r[0] for r in inner), default=0.0) + max(r[2] for r in reach) + pad
    upper = [r[1] for r, s in zip(reach, specs, strict=True) if not s.is_last_row()]  # type: ignore[union-attr]
    lower = [r[3] for r, s in zip(reach, specs, strict=True) if not s.is_first_row()]  # type: ignore[union-attr]
    row_gap = max(upper, default=0.0) + max(lower, default=0.0) + pad
    ax_w = (right - left - (cols - 1) * column_gap) / cols
    ax_h = (top - bottom - (rows - 1) * row_gap) / rows
    if ax_w <= 0 or ax_h <= 0:
        return  # decorations larger than the figure: keep matplotlib's default margins
    fig.subplots_adjust(
        left=left / width,
        right=right / width,
        bottom=bottom / height,
        top=top / height,
        wspace=column_gap / ax_w,
        hspace=row_gap / ax_h,
    )


def _save(fig: Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    try:
        # an axis spanning values near the float limit (a price of 1e308) overflows inside
        # matplotlib's autoscaling and tick formatter (numpy scalar arithmetic); the drawing
        # comes out right or fails below, so numpy's overflow notice is only noise here
        with np.errstate(over="ignore"):
            _fit(fig)
            fig.savefig(buffer, format="png", dpi=DPI)
    except (OverflowError, ValueError) as exc:
        # extreme values (a price of 1e308, a return curve overflowing to inf) must not cost
        # the run its results: draw a placeholder that says why
        buffer = io.BytesIO()
        fig.clear()
        fig.text(0.5, 0.5, f"cannot draw this plot: values out of range ({exc})", ha="center")
        fig.savefig(buffer, format="png", dpi=DPI)
    return atomic_write_bytes(Path(path), buffer.getvalue())


def thin(x: Any, y: Any, columns: int = COLUMNS) -> np.ndarray:
    """Positions of the points of a line worth drawing: the lowest and highest of each of
    ``columns`` equal slices of the x range (a pixel column), and both ends.

    A line with more points than pixels looks the same drawn through these (each column
    still spans its lowest to its highest value) and costs a fraction to rasterise. Lines
    of at most ``2 * columns`` points, with missing values (gaps) or unsorted x are kept
    whole.

    Parameters
    ----------
    x, y
        The line's coordinates (numbers or datetimes; ``x`` ascending).
    columns
        Pixel columns the line spans.

    Returns
    -------
    numpy.ndarray
        Ascending integer positions into ``x`` and ``y``.
    """
    xs = np.asarray(x)
    ys = np.asarray(y, dtype="float64")
    n = len(ys)
    everything = np.arange(n)
    if n <= 2 * columns or columns < 1 or not np.isfinite(ys).all():
        return everything
    xf = (xs.astype("datetime64[ns]").astype("int64") if xs.dtype.kind == "M" else xs).astype(
        "float64"
    )
    span = xf[-1] - xf[0]
    if not (np.isfinite(xf).all() and span > 0 and (np.diff(xf) >= 0).all()):
        return everything
    column = np.minimum(((xf - xf[0]) / span * columns).astype("int64"), columns - 1)
    order = np.lexsort((ys, column))  # by column, then by value
    first = np.flatnonzero(np.r_[True, column[order][1:] != column[order][:-1]])
    last = np.r_[first[1:], n] - 1
    return np.unique(np.r_[0, n - 1, order[first], order[last]])


def _new_figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()
