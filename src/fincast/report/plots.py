"""Plots drawn from the predictions table alone: actual vs predicted, and cumulative returns.

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
from ..metrics.summary import BASELINE_NAMES, order_models
from ..rundir import atomic_write_bytes

__all__ = [
    "BUY_AND_HOLD",
    "cumulative_returns",
    "plot_actual_vs_predicted",
    "plot_cumulative_returns",
    "strategy_returns",
    "write_plots",
]

#: The model name of the buy-and-hold rows in :func:`strategy_returns`.
BUY_AND_HOLD = "buy-and-hold"

FIGSIZE = (11.0, 5.0)
DPI = 110
MAX_MODELS = 6  # naive and at most five others in the actual-vs-predicted plot
_TASKS = ("return", "level", "direction", "trend3", "events", "volatility")
_NAIVE = "naive"


def _require(predictions: pd.DataFrame, task: str, columns: tuple[str, ...]) -> None:
    if task not in _TASKS:
        raise ConfigError(f"task must be one of {', '.join(_TASKS)}; got {task!r}")
    missing = [c for c in columns if c not in predictions.columns]
    if missing:
        raise DataError(
            f"the predictions table lacks the column(s) {', '.join(missing)} needed for the "
            "plots; was it written by fincast?"
        )
    if predictions.empty:
        raise DataError("the predictions table is empty: there is nothing to plot")


def _naive_forecast(frame: pd.DataFrame) -> pd.Series:
    """The naive model's y_pred on each row's (id, date, horizon); NaN where there is none."""
    keys = ["id", "date", "horizon"]
    naive = frame.loc[frame["model"] == _NAIVE, [*keys, "y_pred"]]
    naive = naive.drop_duplicates(keys, keep="last").rename(columns={"y_pred": "_naive"})
    merged = frame[keys].merge(naive, on=keys, how="left", validate="many_to_one")
    return pd.Series(merged["_naive"].to_numpy("float64"), index=frame.index)


def _positions(frame: pd.DataFrame, task: str) -> pd.Series:
    """1.0 (long) where the forecast says up, 0.0 (flat) otherwise, NaN when undecidable."""
    pred = frame["y_pred"].astype("float64")
    if task == "return":
        up, known = pred > 0, pred.notna()
    elif task == "level":
        naive = _naive_forecast(frame)
        up, known = pred > naive, pred.notna() & naive.notna()
    elif task == "trend3":
        up, known = pred == 2, pred.notna()
    else:
        up, known = pred == 1, pred.notna()
        if "prob" in frame.columns:
            prob = frame["prob"].astype("float64")
            up = (prob > 0.5).where(prob.notna(), up)
            known = known | prob.notna()
    return up.astype("float64").where(known)


def _every_hth(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Keep every h-th forecast date of each group (sorted by date): non-overlapping periods."""
    frame = frame.sort_values([*by, "date"], kind="stable")
    step = frame.groupby(by, sort=False).cumcount()
    return frame[(step % frame["horizon"]) == 0]


def strategy_returns(predictions: pd.DataFrame, task: str) -> pd.DataFrame:
    """Returns of trading each model's forecast, long/flat, on non-overlapping h-periods.

    For every model, series and horizon h, the forecast dates are sorted and every h-th is
    kept (the first, the (h+1)-th, …), so the holding periods t → t + h do not overlap. The
    position is 1 (long) when the forecast says up and 0 (flat) otherwise: ``y_pred > 0``
    for ``return``; ``y_pred`` above the naive forecast of the same row for ``level``;
    ``prob > 0.5`` (or ``y_pred == 1`` without ``prob``) for ``direction``. The strategy's
    log return is ``position * fwd_return``. Buy-and-hold rows (position 1 on the same
    non-overlapping dates) are added under the model name :data:`BUY_AND_HOLD`.

    Parameters
    ----------
    predictions
        The predictions table (``id``, ``date``, ``model``, ``horizon``, ``y_pred``,
        ``fwd_return``, and ``prob`` for ``direction``).
    task
        ``"return"``, ``"level"`` or ``"direction"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``id``, ``horizon``, ``date``, ``position``, ``fwd_return`` and
        ``strategy_return`` (a log return); models in display order with buy-and-hold last,
        each sorted by id, horizon and date. Rows with a missing ``fwd_return`` and, for
        ``level``, rows without a naive forecast are left out.

    Raises
    ------
    ConfigError
        If ``task`` is unknown.
    DataError
        If the table is empty or lacks a column.

    Examples
    --------
    >>> p = pd.DataFrame({"id": "a", "model": "m", "horizon": 1,
    ...                   "date": pd.date_range("2020-01-01", periods=3),
    ...                   "y_pred": [0.1, -0.2, 0.3], "fwd_return": [0.01, 0.02, -0.03]})
    >>> strategy_returns(p, "return").query("model == 'm'")["strategy_return"].tolist()
    [0.01, 0.0, -0.03]
    """
    _require(predictions, task, ("id", "date", "model", "horizon", "y_pred", "fwd_return"))
    cols = ["model", "id", "horizon", "date", "y_pred", "fwd_return"]
    frame = predictions[cols + (["prob"] if "prob" in predictions.columns else [])].copy()
    frame["model"] = frame["model"].astype(str)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["horizon"] = frame["horizon"].astype("int64")
    if (frame["horizon"] < 1).any():
        raise DataError("the predictions table has a horizon below 1; horizons are >= 1 step")
    frame["fwd_return"] = frame["fwd_return"].astype("float64")
    frame["position"] = _positions(frame, task)
    frame = frame[np.isfinite(frame["fwd_return"])]

    held = _every_hth(frame, ["model", "id", "horizon"])
    held = held[held["position"].notna()].copy()
    held["strategy_return"] = held["position"] * held["fwd_return"]

    bh = frame.drop_duplicates(["id", "horizon", "date"], keep="first")
    bh = _every_hth(bh, ["id", "horizon"]).copy()
    bh["model"] = BUY_AND_HOLD
    bh["position"] = 1.0
    bh["strategy_return"] = bh["fwd_return"]

    out = pd.concat([held, bh], ignore_index=True)
    rank = {m: i for i, m in enumerate([*order_models(held["model"].unique()), BUY_AND_HOLD])}
    out = out.assign(_rank=out["model"].map(rank)).sort_values(
        ["_rank", "id", "horizon", "date"], kind="stable"
    )
    columns = ["model", "id", "horizon", "date", "position", "fwd_return", "strategy_return"]
    return out[columns].reset_index(drop=True)


def cumulative_returns(returns: pd.DataFrame) -> pd.DataFrame:
    """Cumulative return of each model's strategy over time, equal-weighting several series.

    Parameters
    ----------
    returns
        The result of :func:`strategy_returns` for one horizon. With several series, each
        date's return is the mean of the series' simple returns on that date (an
        equal-weight portfolio rebalanced every period).

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``date``, ``strategy_return`` (log return of the period) and
        ``cumulative`` (``exp(cumsum(strategy_return)) - 1``), models in the order of
        ``returns``, each sorted by date.

    Examples
    --------
    >>> r = pd.DataFrame({"model": "m", "id": "a", "date": pd.date_range("2020", periods=2),
    ...                   "strategy_return": [np.log(1.1), np.log(1.1)]})
    >>> cumulative_returns(r)["cumulative"].round(4).tolist()
    [0.1, 0.21]
    """
    order = {m: i for i, m in enumerate(dict.fromkeys(returns["model"]))}
    if returns["id"].nunique() > 1:
        simple = np.expm1(returns["strategy_return"])
        pooled = simple.groupby([returns["model"], returns["date"]], sort=False).mean()
        frame = np.log1p(pooled).rename("strategy_return").reset_index()
    else:
        frame = returns[["model", "date", "strategy_return"]]
    frame = frame.assign(_rank=frame["model"].map(order)).sort_values(
        ["_rank", "date"], kind="stable"
    )
    frame["cumulative"] = np.expm1(frame.groupby("model", sort=False)["strategy_return"].cumsum())
    return frame[["model", "date", "strategy_return", "cumulative"]].reset_index(drop=True)


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
    ordered = order_models(names)
    first = [n for n in ordered if n == _NAIVE]
    own = [n for n in ordered if n not in BASELINE_NAMES]
    others = [n for n in ordered if n in BASELINE_NAMES and n != _NAIVE]
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


def plot_cumulative_returns(
    predictions: pd.DataFrame, task: str, path: Path, *, series: str | None = None
) -> Path:
    """Draw the cumulative return of trading each model's forecast, and of buy-and-hold.

    Uses :func:`strategy_returns` at the smallest horizon (long/flat on non-overlapping
    h-periods); cumulative return = ``exp(cumsum(log returns)) - 1``. With several series
    and no ``series``, each date's return is the equal-weight average of the series' simple
    returns.

    Parameters
    ----------
    predictions
        The predictions table (needs ``fwd_return``).
    task
        ``"return"``, ``"level"`` or ``"direction"``.
    path
        The PNG file to write (atomically); its directory must exist or is created.
    series
        One series id to draw; all series, equal-weighted, by default.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ConfigError
        If ``task`` is unknown.
    DataError
        If the table is empty, lacks a column, or does not hold ``series``.
    """
    _require(predictions, task, ("id", "date", "model", "horizon", "y_pred", "fwd_return"))
    rows, sid, h = _series_and_horizon(predictions, series)
    returns = strategy_returns(rows, task)
    n_series = returns["id"].nunique()
    if sid is None and n_series == 1:
        sid = str(returns["id"].iloc[0])
    label = sid if sid is not None else f"{n_series} series, equal weight"
    curves = cumulative_returns(returns)

    fig, ax = _new_figure()
    styles = _styles(list(predictions["model"].astype(str).unique()))
    for name, m in curves.groupby("model", sort=False):
        ax.plot(m["date"], m["cumulative"], label=name, **styles[str(name)])  # type: ignore[arg-type]
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("cumulative return")
    _date_axis(ax)
    ax.set_title(
        f"{label} · task {task} · horizon {h}: long/flat on the forecast, "
        "non-overlapping periods (out of sample)"
    )
    ax.legend(loc="best", fontsize=8, ncols=2)
    return _save(fig, path)


def write_plots(predictions: pd.DataFrame, task: str, out_dir: Path) -> list[Path]:
    """Write ``actual_vs_predicted.png`` and ``cumulative_returns.png`` into ``out_dir``.

    Parameters
    ----------
    predictions
        The predictions table.
    task
        One of the tasks. ``volatility`` gets only the actual-vs-predicted plot, ``events``
        only that of its first event.
    out_dir
        The directory to write into (created if missing).

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
    if task == "events":  # one picture: the first event, drawn like a direction forecast
        first = predictions["label"].astype(str).iloc[0]
        rows = predictions[predictions["label"].astype(str) == first]
        return [plot_actual_vs_predicted(rows, "direction", out / "actual_vs_predicted.png")]
    if task == "volatility":  # no trading rule in a volatility forecast
        return [plot_actual_vs_predicted(predictions, task, out / "actual_vs_predicted.png")]
    return [
        plot_actual_vs_predicted(predictions, task, out / "actual_vs_predicted.png"),
        plot_cumulative_returns(predictions, task, out / "cumulative_returns.png"),
    ]
