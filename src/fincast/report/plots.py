"""Plots drawn from the predictions table alone: forecasts, strategy returns, drawdowns.

The trading curves use :func:`fincast.metrics.finance.strategy_returns` (the same rule and
costs as the finance metrics of ``metrics.json``); the diagnostics (residuals, loss
curves, confusion matrices, reliability, IC) live in :mod:`fincast.report.diagnostics`.

Figures are drawn with matplotlib's object API on the Agg canvas (no display, no pyplot
state: importing this module never changes the user's matplotlib backend). Lines with
more points than pixels are drawn through the lowest and highest point of each pixel
column (:func:`fincast.report._figures.thin`), which looks the same and rasterises faster.
Files are written to a temporary name and renamed into
place, so a plot is either complete or absent.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from ..errors import ConfigError, DataError
from ..metrics.finance import BUY_AND_HOLD, equity_curves, strategy_returns
from ..metrics.finance import supports as tradable
from ..predictions import SEED_COLUMN
from ..tasks import get_task
from . import diagnostics
from ._figures import (
    COLUMNS,
    _date_axis,
    _models_to_show,
    _new_figure,
    _save,
    _styles,
    thin,
)

__all__ = [
    "BUY_AND_HOLD",
    "first_seed",
    "plot_actual_vs_predicted",
    "plot_cumulative_returns",
    "plot_drawdown",
    "write_plots",
]


def _require(predictions: pd.DataFrame, task: str, columns: tuple[str, ...]) -> None:
    get_task(task)  # an unknown task: ConfigError
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
        At most this many actual values are drawn (every k-th date when there are more);
        a model's line of more points is drawn through the lowest and highest value of
        each of ``max_points / 2`` (at most one per pixel) equal slices of the dates,
        which keeps its look.

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
    actual = rows[rows["date"].isin(dates)].drop_duplicates("date")
    columns = min(COLUMNS, max_points // 2)

    fig, ax = _new_figure()
    kind = get_task(task)
    kind.plot_actual(ax, actual)  # a task may draw dots: every k-th date, not thinned
    value = kind.plot_value(rows)
    styles = _styles(list(predictions["model"].astype(str).unique()))
    for name in _models_to_show(list(rows["model"].unique())):
        m = rows[rows["model"] == name]
        m = m.iloc[thin(m["date"], m[value], columns)]
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
    predictions: pd.DataFrame,
    task: str,
    series: str | None,
    cost_bps: float,
    returns: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, str, int]:
    """Equity curves (long/flat, net of costs) of every model and buy-and-hold.

    ``returns``: :func:`strategy_returns` of these rows (long/flat, smallest horizon,
    ``cost_bps``) when the metrics computed them already.
    """
    _require(predictions, task, ("id", "date", "model", "horizon", "y_pred", "fwd_return"))
    if not tradable(task):
        raise ConfigError(f"task {task!r} has no trading rule, so no strategy curves")
    rows, sid, h = _series_and_horizon(first_seed(predictions), series)
    if returns is None:
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
    curves = _trading_curves(predictions, task, series, cost_bps)
    return _draw_cumulative(curves, predictions, task, path, cost_bps)


def _draw_cumulative(
    curves: tuple[pd.DataFrame, str, int],
    predictions: pd.DataFrame,
    task: str,
    path: Path,
    cost_bps: float,
) -> Path:
    table, label, h = curves
    fig, ax = _new_figure()
    styles = _styles([*predictions["model"].astype(str).unique()])
    for name, m in table.groupby("model", sort=False):
        m = m.iloc[thin(m["date"], m["cumulative"])]
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
    curves = _trading_curves(predictions, task, series, cost_bps)
    return _draw_drawdown(curves, predictions, task, path)


def _draw_drawdown(
    curves: tuple[pd.DataFrame, str, int], predictions: pd.DataFrame, task: str, path: Path
) -> Path:
    table, label, h = curves
    fig, ax = _new_figure()
    styles = _styles([*predictions["model"].astype(str).unique()])
    for name, m in table.groupby("model", sort=False):
        m = m.iloc[thin(m["date"], m["drawdown"])]
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
    strategy: pd.DataFrame | None = None,
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
    strategy
        The long/flat :func:`~fincast.metrics.finance.strategy_returns` of ``predictions``
        at ``cost_bps`` when the metrics have them (``evaluate``'s ``figures``); used only
        when the plots draw the table as it is (one seed, every row).

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
    _require(predictions, task, ("id", "date", "fold", "model", "horizon", "y_true", "y_pred"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    view = first_seed(predictions)
    view, shown = get_task(task).plot_view(view)  # e.g. events: the first event
    if view is not predictions:
        strategy = None  # computed from other rows than these
    shown_task = shown.name
    paths = [plot_actual_vs_predicted(view, shown_task, out / "actual_vs_predicted.png")]
    trading = tradable(task) and "fwd_return" in view.columns
    if trading:  # one set of curves for both plots
        curves = _trading_curves(view, task, None, cost_bps, strategy)
        paths.append(_draw_cumulative(curves, view, task, out / "cumulative_returns.png", cost_bps))
        paths.append(_draw_drawdown(curves, view, task, out / "drawdown.png"))
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
    if history and diagnostics.trained_by_epoch(history):
        paths.append(diagnostics.plot_loss_history(history, out / "loss.png"))
    return paths
