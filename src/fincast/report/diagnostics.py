"""Diagnostic plots: residuals, loss curves, confusion matrices, reliability, IC over time.

Each function draws one PNG from the predictions table (or ``history.json``) with
matplotlib's object API on the Agg canvas and writes it atomically, like
:mod:`fincast.report.plots`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

from ..metrics.finance import ic_series_by_model
from ..tasks import get_task, task_names
from ._figures import _date_axis, _models_to_show, _new_figure, _save, _styles, thin

__all__ = [
    "is_class_task",
    "plot_confusion_matrices",
    "plot_ic",
    "plot_loss_history",
    "plot_reliability",
    "plot_residuals",
]

_NAIVE = "naive"


def is_class_task(task: str) -> bool:
    """Whether ``task`` forecasts classes (confusion matrix and reliability apply)."""
    return task in task_names() and get_task(task).is_classification


def _smallest_horizon(predictions: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    h = int(predictions["horizon"].min())
    return predictions[predictions["horizon"] == h], h


def _grid(n: int, width: float = 11.0, row_height: float = 3.6) -> tuple[Figure, list]:
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width, row_height * rows), dpi=110)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def plot_residuals(predictions: pd.DataFrame, task: str, path: Path, *, bins: int = 60) -> Path:
    """Histogram of the residuals ``y_true - y_pred`` of each model (smallest horizon).

    A forecast that is no better than naive has residuals as wide as naive's; a biased one
    has them off-centre. Shared bins (1st to 99th percentile of all residuals) keep the
    models comparable.
    """
    rows, h = _smallest_horizon(predictions)
    resid = rows["y_true"].astype("float64") - rows["y_pred"].astype("float64")
    finite = resid[np.isfinite(resid)]
    lo, hi = np.percentile(finite, [1, 99]) if len(finite) else (-1.0, 1.0)
    if not hi > lo:
        lo, hi = lo - 1.0, hi + 1.0
    lo, hi = max(float(lo), -1e300), min(float(hi), 1e300)  # hi - lo must not overflow
    grid = np.linspace(lo, hi, bins + 1)
    if not (np.diff(grid) > 0).all():  # a range too narrow for its magnitude: widen it
        pad = max(1.0, abs(float(lo)), abs(float(hi))) * 1e-3
        lo, hi = lo - pad, hi + pad
        grid = np.linspace(lo, hi, bins + 1)
    edges = [float(v) for v in grid]
    fig, ax = _new_figure()
    styles = _styles([*predictions["model"].astype(str).unique()])
    for name in _models_to_show([*rows["model"].astype(str).unique()]):
        r = resid[rows["model"].astype(str) == name]
        r = r[np.isfinite(r)]
        color = str(styles[name].get("color"))
        ax.hist(
            np.clip(r, lo, hi),
            bins=edges,
            histtype="step",
            linewidth=1.3,
            color=color,
            label=f"{name} (mean {r.mean():.3g}, sd {r.std():.3g})" if len(r) else name,
        )
    ax.axvline(0.0, color="0.4", linewidth=0.8)
    ax.set_xlabel("residual y_true − y_pred (clipped to the 1st–99th percentile)")
    ax.set_ylabel("count")
    ax.set_title(f"task {task} · horizon {h}: residual distribution (out of sample)")
    ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def trained_by_epoch(history: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """The models of ``history.json`` with a loss per epoch (baselines record only their
    validation-tail loss, :mod:`fincast.metrics.rivals`)."""
    return [
        m
        for m, folds in history.items()
        if any(h.get("loss") or h.get("val_loss") for h in (folds or {}).values())
    ]


def plot_loss_history(history: dict[str, dict[str, dict[str, list[float]]]], path: Path) -> Path:
    """Training (solid) and validation (dashed) loss per epoch, one panel per model, a line per fold."""
    models = trained_by_epoch(history)
    fig, axes = _grid(max(len(models), 1))
    for ax, name in zip(axes, models, strict=False):
        for j, (fold, h) in enumerate(sorted(history[name].items(), key=lambda kv: int(kv[0]))):
            color = f"C{j % 10}"
            if h.get("loss"):
                ax.plot(
                    np.arange(1, len(h["loss"]) + 1), h["loss"], color=color, label=f"fold {fold}"
                )
            if h.get("val_loss"):
                ax.plot(
                    np.arange(1, len(h["val_loss"]) + 1),
                    h["val_loss"],
                    color=color,
                    linestyle="--",
                    label=f"fold {fold} validation",
                )
        ax.set_title(f"{name}: loss per epoch", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        # plain tick labels (0.1, 0.6): matplotlib's default 10^-1 needs its mathtext
        # parser, whose set-up alone took a third of the time of this plot
        ax.yaxis.set_major_formatter(LogFormatter(10))
        ax.yaxis.set_minor_formatter(LogFormatter(10, labelOnlyBase=False))
        ax.legend(fontsize=7, ncols=2)
    if not models:
        axes[0].text(0.5, 0.5, "no training history", ha="center", va="center")
    return _save(fig, path)


def plot_confusion_matrices(predictions: pd.DataFrame, path: Path) -> Path:
    """Heat map of each model's confusion matrix (rows: actual, columns: predicted), pooled."""
    from sklearn.metrics import confusion_matrix  # class tasks only

    rows, h = _smallest_horizon(predictions)
    rows = rows[rows["y_true"].notna() & rows["y_pred"].notna()]
    labels = sorted(pd.unique(pd.concat([rows["y_true"], rows["y_pred"]]).astype("int64")))
    names = _models_to_show([*rows["model"].astype(str).unique()])
    fig, axes = _grid(len(names), row_height=3.4)
    for ax, name in zip(axes, names, strict=True):
        m = rows[rows["model"].astype(str) == name]
        cm = confusion_matrix(
            m["y_true"].astype("int64"), m["y_pred"].astype("int64"), labels=labels
        )
        share = cm / max(cm.sum(), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=max(share.max(), 1e-9))
        for (i, j), v in np.ndenumerate(cm):
            dark = share[i, j] > 0.6 * share.max()
            ax.text(
                j,
                i,
                f"{v}\n{share[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if dark else "black",
            )
        ax.set_xticks(range(len(labels)), [str(v) for v in labels])
        ax.set_yticks(range(len(labels)), [str(v) for v in labels])
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        ax.set_title(f"{name} (horizon {h})", fontsize=10)
    return _save(fig, path)


def plot_reliability(predictions: pd.DataFrame, path: Path, *, bins: int = 10) -> Path:
    """Reliability (calibration) curve: observed frequency of "up" against forecast probability.

    Quantile bins, so every point holds about the same number of forecasts; a calibrated
    model lies on the diagonal. The histogram below shows how spread the probabilities are.
    """
    from sklearn.calibration import calibration_curve  # class tasks only

    rows, h = _smallest_horizon(predictions)
    rows = rows[rows["prob"].notna() & rows["y_true"].notna()]
    names = [n for n in _models_to_show([*rows["model"].astype(str).unique()])]
    styles = _styles([*predictions["model"].astype(str).unique()])
    fig = Figure(figsize=(11.0, 6.0), dpi=110)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    ax, hist = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", label="perfectly calibrated")
    hard = []
    for name in names:
        m = rows[rows["model"].astype(str) == name]
        y = m["y_true"].astype("int64").to_numpy()
        p = m["prob"].astype("float64").to_numpy()
        color = str(styles[name].get("color"))
        if len(np.unique(p)) <= 2:  # hard classes (naive, majority): no probabilities to calibrate
            hard.append(name)
            continue
        if len(np.unique(y)) == 2:
            frac, mean = calibration_curve(y, p, n_bins=bins, strategy="quantile")
            ax.plot(mean, frac, marker="o", markersize=3, color=color, label=name)
        hist.hist(p, bins=[i / 40 for i in range(41)], histtype="step", color=color)
    if hard:
        ax.text(
            0.99,
            0.02,
            f"not shown (hard 0/1 forecasts): {', '.join(hard)}",
            transform=ax.transAxes,
            ha="right",
            fontsize=8,
            color="0.4",
        )
    ax.set_ylabel("observed frequency of up")
    ax.set_title(f"horizon {h}: reliability of the forecast probabilities (out of sample)")
    ax.legend(loc="upper left", fontsize=8)
    hist.set_xlabel("forecast probability of up")
    hist.set_ylabel("count")
    return _save(fig, path)


def plot_ic(predictions: pd.DataFrame, task: str, path: Path, *, window: int = 21) -> Path | None:
    """Information coefficient over time of each model that has one (not constant forecasts).

    Panels: the cross-sectional IC per date (light) and its ``window``-date rolling mean.
    One series: the IC within each fold, as a bar per fold and model. Returns None when no
    model has an IC (e.g. only constant baselines).
    """
    rows, h = _smallest_horizon(predictions)
    names = [n for n in _models_to_show([*rows["model"].astype(str).unique()]) if n != _NAIVE]
    every = ic_series_by_model(rows, task, horizon=h, rank=False)
    series = {n: every[n] for n in names if n in every and every[n]["ic"].notna().any()}
    if not series:
        return None
    styles = _styles([*predictions["model"].astype(str).unique()])
    fig, ax = _new_figure()
    first = next(iter(series.values()))
    if "date" in first.columns:
        for name, s in series.items():
            color = str(styles[name].get("color"))
            rolling = s["ic"].rolling(window, min_periods=max(2, window // 3)).mean()
            daily = s.iloc[thin(s["date"], s["ic"])]
            ax.plot(daily["date"], daily["ic"], color=color, alpha=0.2, linewidth=0.6)
            smooth = thin(s["date"], rolling)
            ax.plot(
                s["date"].iloc[smooth],
                rolling.iloc[smooth],
                color=color,
                linewidth=1.4,
                label=f"{name} ({window}-date mean)",
            )
        _date_axis(ax)
        ax.set_ylabel("cross-sectional IC (Pearson)")
        ax.set_title(f"task {task} · horizon {h}: information coefficient across series, per date")
    else:
        width = 0.8 / len(series)
        for k, (name, s) in enumerate(series.items()):
            x = s["fold"].to_numpy(dtype="float64") + (k - (len(series) - 1) / 2) * width
            ax.bar(x, s["ic"], width=width, color=str(styles[name].get("color")), label=name)
        folds = sorted(pd.unique(first["fold"]))
        ax.set_xticks(folds, [f"fold {int(f)}" for f in folds])
        ax.set_ylabel("IC within the fold (Pearson)")
        ax.set_title(f"task {task} · horizon {h}: information coefficient over time, per fold")
    ax.axhline(0.0, color="0.5", linewidth=0.8)
    ax.legend(loc="best", fontsize=8)
    return _save(fig, path)
