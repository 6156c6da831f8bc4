"""Plots drawn from the predictions table alone: forecasts, strategy returns, drawdowns.

The trading curves use :func:`fincast.metrics.finance.strategy_returns` (the same rule and
costs as the finance metrics of ``metrics.json``); the diagnostics (residuals, loss
curves, confusion matrices, reliability, IC) live in :mod:`fincast.report.diagnostics`.

Figures are drawn with matplotlib's object API on the Agg canvas (no display, no pyplot
state: importing this module never changes the user's matplotlib backend, and a figure is
freed as soon as it is written). Files are written to a temporary name and renamed into
place, so a plot is either complete or absent.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..errors import ConfigError, DataError
from ..metrics.evaluation import SEED_COLUMN
from ..metrics.finance import BUY_AND_HOLD, equity_curves, strategy_returns
from ..metrics.finance import supports as tradable
from ..metrics.summary import order_models
from ..rundir import atomic_write_bytes
from ..task import TASKS

__all__ = [
    "BUY_AND_HOLD",
    "first_seed",
    "plot_actual_vs_predicted",
    "plot_cumulative_returns",
    "plot_drawdown",
    "write_plots",
]

FIGSIZE = (11.0, 5.0)
DPI = 110
MAX_MODELS = 6  # naive and at most five others in the actual-vs-predicted plot
_NAIVE = "naive"


def _require(predictions: pd.DataFrame, task: str, columns: tuple[str, ...]) -> None:
    if task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    missing = [c for c in columns if c not in predictions.columns]
    if missing:
        raise DataError(
            f"the predictions table lacks the column(s) {', '.join(missing)} needed for the "
            "plots; was it written by fincast?"
        )
    if predictions.empty:
        raise DataError("the predictions table is empty: there is nothing to plot")


def first_seed(predictions: pd.DataFrame) -> pd.DataFrame:
    """Keep only the first training seed of models trained with several seeds.

    Plots draw one line per model: a multi-seed model is shown by its first seed, and the
    seed-averaged forecast by its own ``NAME-ensemble`` rows.
    """
    if SEED_COLUMN not in predictions.columns:
        return predictions
    seed = predictions[SEED_COLUMN]
    first = seed.groupby(predictions["model"].astype(str)).transform("min")
    return predictions[seed.isna() | (seed == first)]


def _series_and_horizon(
    predictions: pd.DataFrame, series: str | None
) -> tuple[pd.DataFrame, str | None, int]:
    """Rows of the smallest horizon, of ``series`` if given; the series label; the horizon."""
    ids = pd.unique(predictions["id"].astype(str))
    if series is not None and series not in set(ids):
        shown = ", ".join(ids[:10]) + (", …" if len(ids) > 10 else "")
        raise DataError(f"series {series!r} is not in the predictions; it holds {shown}")
    h = int(predictions["horizon"].min())
    rows = predictions[predictions["horizon"] == h]
    if series is not None:
        rows = rows[rows["id"].astype(str) == series]
    return rows, series, h


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


def plot_actual_vs_predicted(
    predictions: pd.DataFrame,
    task: str,
    path: Path,
    *,
    series: str | None = None,
    max_points: int = 3000,
) -> Path:
    """Draw the actual target and each model's forecast over time for one series.

    Uses the smallest horizon, ``naive`` and at most five other models (the non-baseline
    models first), and marks each fold's first test date with a dashed vertical line. For
    ``direction`` the actual up (1) / down (0) is drawn as dots and each model's ``prob``
    (or ``y_pred``) as a line, with the 0.5 threshold.

    Parameters
    ----------
    predictions
        The predictions table.
    task
        ``"return"``, ``"level"`` or ``"direction"``.
    path
        The PNG file to write (atomically); its directory must exist or is created.
    series
        The series id to draw; the first id of the table by default.
    max_points
        At most this many dates are drawn (every k-th date when there are more).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ConfigError
        If ``task`` is unknown or ``max_points`` < 2.
    DataError
        If the table is empty, lacks a column, or does not hold ``series``.
    """
    _require(predictions, task, ("id", "date", "fold", "model", "horizon", "y_true", "y_pred"))
    if max_points < 2:
        raise ConfigError(f"max_points must be >= 2, got {max_points}")
    sid = series if series is not None else str(pd.unique(predictions["id"].astype(str))[0])
    rows, _, h = _series_and_horizon(predictions, sid)
    rows = rows.assign(date=pd.to_datetime(rows["date"]), model=rows["model"].astype(str))
    rows = rows.sort_values("date", kind="stable")

    dates = np.sort(rows["date"].unique())
    if len(dates) > max_points:
        dates = dates[:: math.ceil(len(dates) / max_points)]
    shown = rows[rows["date"].isin(dates)]
    actual = shown.drop_duplicates("date")

    fig, ax = _new_figure()
    if task == "trend3":
        ax.scatter(actual["date"], actual["y_true"], s=6, color="black", alpha=0.35, label="actual")
        ax.set_ylabel("class: 0 down · 1 flat · 2 up")
        ax.set_ylim(-0.1, 2.1)
    elif task == "direction":
        ax.scatter(actual["date"], actual["y_true"], s=6, color="black", alpha=0.35, label="actual")
        ax.axhline(0.5, color="0.6", linewidth=0.8)
        ax.set_ylabel("P(up)  ·  actual up = 1 / down = 0")
        ax.set_ylim(-0.05, 1.05)
    else:
        ax.plot(actual["date"], actual["y_true"], color="black", linewidth=1.4, label="actual")
        ax.set_ylabel(
            {"return": "h-step log return", "volatility": "realised volatility over h steps"}.get(
                task, "value at t + h"
            )
        )
    value = "prob" if task == "direction" and "prob" in shown.columns else "y_pred"
    styles = _styles(list(predictions["model"].astype(str).unique()))
    for name in _models_to_show(list(shown["model"].unique())):
        m = shown[shown["model"] == name]
        ax.plot(m["date"], m[value], label=name, alpha=0.9, **styles[name])  # type: ignore[arg-type]
    starts = rows.groupby("fold")["date"].min().sort_values()
    for j, start in enumerate(starts):
        ax.axvline(
            start,
            color="0.3",
            linestyle=":",
            linewidth=0.9,
            label="fold start" if j == 0 else None,
        )
    _date_axis(ax)
    ax.set_title(f"{sid} · task {task} · horizon {h}: actual vs predicted (out of sample)")
    ax.legend(loc="best", fontsize=8, ncols=2)
    return _save(fig, path)


def _trading_curves(
    predictions: pd.DataFrame, task: str, series: str | None, cost_bps: float
) -> tuple[pd.DataFrame, str, int]:
    """Equity curves (long/flat, net of costs) of every model and buy-and-hold."""
    _require(predictions, task, ("id", "date", "model", "horizon", "y_pred", "fwd_return"))
    if not tradable(task):
        raise ConfigError(f"task {task!r} has no trading rule, so no strategy curves")
    rows, sid, h = _series_and_horizon(first_seed(predictions), series)
    returns = strategy_returns(rows, task, mode="long_flat", cost_bps=cost_bps, horizon=h)
    n_series = rows["id"].nunique()
    if sid is None and n_series == 1:
        sid = str(rows["id"].iloc[0])
    label = sid if sid is not None else f"{n_series} series, equal weight"
    return equity_curves(returns), label, h


def plot_cumulative_returns(
    predictions: pd.DataFrame,
    task: str,
    path: Path,
    *,
    series: str | None = None,
    cost_bps: float = 5.0,
) -> Path:
    """Draw the cumulative return of trading each model's forecast, and of buy-and-hold.

    The rule is :func:`~fincast.metrics.finance.strategy_returns`' long/flat at the smallest
    horizon (non-overlapping h-periods), net of ``cost_bps`` per side: the same numbers as
    the finance metrics. With several series and no ``series``, each period's return is the
    equal-weight average over the series.

    Parameters
    ----------
    predictions
        The predictions table (needs ``fwd_return``).
    task
        A task with a trading rule (``return``, ``level``, ``direction``).
    path
        The PNG file to write (atomically); its directory must exist or is created.
    series
        One series id to draw; all series, equal-weighted, by default.
    cost_bps
        Transaction cost per side in basis points.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ConfigError
        If ``task`` is unknown or has no trading rule.
    DataError
        If the table is empty, lacks a column, or does not hold ``series``.
    """
    curves, label, h = _trading_curves(predictions, task, series, cost_bps)
    fig, ax = _new_figure()
    styles = _styles([*predictions["model"].astype(str).unique()])
    for name, m in curves.groupby("model", sort=False):
        ax.plot(m["date"], m["cumulative"], label=name, **styles[str(name)])  # type: ignore[arg-type]
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("cumulative return (net of costs)")
    _date_axis(ax)
    ax.set_title(
        f"{label} · task {task} · horizon {h}: long/flat on the forecast, "
        f"{cost_bps:g} bp per side (out of sample)"
    )
    ax.legend(loc="best", fontsize=8, ncols=2)
    return _save(fig, path)


def plot_drawdown(
    predictions: pd.DataFrame,
    task: str,
    path: Path,
    *,
    series: str | None = None,
    cost_bps: float = 5.0,
) -> Path:
    """Draw the drawdown (fall from the running peak) of each strategy and of buy-and-hold.

    Same strategies as :func:`plot_cumulative_returns`; the drawdown is
    ``wealth / running peak - 1``, its lowest point the ``max_drawdown`` of the metrics.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ConfigError
        If ``task`` is unknown or has no trading rule.
    DataError
        If the table is empty, lacks a column, or does not hold ``series``.
    """
    curves, label, h = _trading_curves(predictions, task, series, cost_bps)
    fig, ax = _new_figure()
    styles = _styles([*predictions["model"].astype(str).unique()])
    for name, m in curves.groupby("model", sort=False):
        ax.plot(m["date"], m["drawdown"], label=name, **styles[str(name)])  # type: ignore[arg-type]
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("drawdown from the running peak")
    _date_axis(ax)
    ax.set_title(f"{label} · task {task} · horizon {h}: drawdown of long/flat vs buy-and-hold")
    ax.legend(loc="lower left", fontsize=8, ncols=2)
    return _save(fig, path)


def write_plots(
    predictions: pd.DataFrame,
    task: str,
    out_dir: Path,
    *,
    cost_bps: float = 5.0,
    history: dict[str, dict[str, dict[str, list[float]]]] | None = None,
) -> list[Path]:
    """Write every plot that applies to the task into ``out_dir``, in report order.

    ``actual_vs_predicted.png``; for tasks with a trading rule ``cumulative_returns.png``,
    ``drawdown.png`` and ``ic.png``; ``residuals.png`` for regression tasks;
    ``confusion_matrix.png`` and ``reliability.png`` (when there are probabilities) for
    class tasks; ``loss.png`` when ``history`` holds training losses. For ``events`` the
    forecast and class pictures show the first event.

    Parameters
    ----------
    predictions
        The predictions table.
    task
        The run's task.
    out_dir
        The directory to write into (created if missing).
    cost_bps
        Transaction cost per side of the trading curves.
    history
        ``history.json``: ``{model: {fold: {"loss": [...], "val_loss": [...]}}}``.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ConfigError
        If ``task`` is unknown.
    DataError
        If the table is empty or lacks a column.
    """
    from . import diagnostics

    _require(predictions, task, ("id", "date", "fold", "model", "horizon", "y_true", "y_pred"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    view = first_seed(predictions)
    shown_task = task
    if task == "events" and "label" in view.columns:  # pictures of the first event
        view = view[view["label"].astype(str) == str(view["label"].iloc[0])]
        shown_task = "direction"
    paths = [plot_actual_vs_predicted(view, shown_task, out / "actual_vs_predicted.png")]
    trading = tradable(task) and "fwd_return" in view.columns
    if trading:
        paths.append(
            plot_cumulative_returns(view, task, out / "cumulative_returns.png", cost_bps=cost_bps)
        )
        paths.append(plot_drawdown(view, task, out / "drawdown.png", cost_bps=cost_bps))
    if diagnostics.is_class_task(task):
        paths.append(diagnostics.plot_confusion_matrices(view, out / "confusion_matrix.png"))
        if "prob" in view.columns and view["prob"].notna().any():
            paths.append(diagnostics.plot_reliability(view, out / "reliability.png"))
    else:
        paths.append(diagnostics.plot_residuals(view, task, out / "residuals.png"))
    if trading:
        ic = diagnostics.plot_ic(view, task, out / "ic.png")
        if ic is not None:
            paths.append(ic)
    if history:
        paths.append(diagnostics.plot_loss_history(history, out / "loss.png"))
    return paths
