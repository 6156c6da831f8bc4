"""Plots and the trading returns behind them, from small predictions tables."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast.errors import ConfigError, DataError
from fincast.report import (
    first_seed,
    plot_actual_vs_predicted,
    plot_cumulative_returns,
    plot_drawdown,
    write_plots,
)
from fincast.report._figures import _fit, _new_figure, _save, thin

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def panel(task: str, n: int = 120) -> pd.DataFrame:
    """Two series, two horizons, naive + mean + a model over three folds."""
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2020-01-01", periods=n)
    frames = []
    for sid in ("AAA", "BBB"):
        r = rng.normal(0, 0.01, n)
        level = 100 * np.exp(np.cumsum(r))
        for h in (1, 3):
            fwd = pd.Series(r[::-1]).rolling(h, min_periods=1).sum().to_numpy()[::-1]
            for model in ("naive", "mean", "seed-mlp"):
                noise = rng.normal(0, 0.01, n)
                y_true, y_pred, extra = fwd, fwd + noise, {}
                if task == "level":
                    y_true = level * np.exp(fwd)
                    y_pred = level if model == "naive" else y_true + noise
                elif task == "direction":
                    prob = np.clip(0.5 + 10 * (fwd + noise), 0, 1)
                    y_true, y_pred, extra = (fwd > 0) * 1.0, (prob > 0.5) * 1.0, {"prob": prob}
                frames.append(
                    pd.DataFrame(
                        {
                            "id": sid,
                            "date": dates,
                            "fold": np.arange(n) * 3 // n,
                            "model": model,
                            "horizon": h,
                            "y_true": y_true,
                            "y_pred": y_pred,
                            "fwd_return": fwd,
                            **extra,
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 10_000


EXPECTED = {
    "return": ["actual_vs_predicted", "cumulative_returns", "drawdown", "residuals", "ic"],
    "level": ["actual_vs_predicted", "cumulative_returns", "drawdown", "residuals", "ic"],
    "direction": [
        "actual_vs_predicted",
        "cumulative_returns",
        "drawdown",
        "confusion_matrix",
        "reliability",
        "ic",
    ],
}


@pytest.mark.parametrize("task", ["return", "level", "direction"])
def test_write_plots_writes_every_plot_of_the_task(tmp_path, task):
    out = tmp_path / "plots"
    history = {
        "seed-mlp": {"0": {"loss": [1.0, 0.5], "val_loss": [1.2, 0.9]}, "1": {"loss": [2.0]}}
    }
    paths = write_plots(panel(task), task, out, history=history)
    assert [p.stem for p in paths] == [*EXPECTED[task], "loss"]
    for p in paths:
        assert_png(p)
    assert sorted(f.name for f in out.iterdir()) == sorted(p.name for p in paths)  # no temp
    assert plt.get_fignums() == []  # no figure left open


def test_write_plots_without_history_has_no_loss_plot(tmp_path):
    paths = write_plots(panel("return", n=40), "return", tmp_path)
    assert "loss.png" not in {p.name for p in paths}


def test_first_seed_keeps_one_line_per_model():
    base = panel("return", n=20)
    mlp = base[base["model"] == "seed-mlp"]
    seeded = pd.concat(
        [base[base["model"] != "seed-mlp"], mlp.assign(seed=0), mlp.assign(seed=1, y_pred=9.0)],
        ignore_index=True,
    )
    view = first_seed(seeded)
    assert len(view) == len(base)
    assert (view.loc[view["model"] == "seed-mlp", "y_pred"] != 9.0).all()
    assert first_seed(base) is base


def test_costs_lower_the_cumulative_curve(tmp_path):
    # with costs the drawn curve is the net one: the metrics' and the plot's numbers agree
    from fincast.metrics.finance import equity_curves, strategy_returns

    pred = panel("return", n=60)
    free = equity_curves(strategy_returns(pred, "return", cost_bps=0))
    costly = equity_curves(strategy_returns(pred, "return", cost_bps=50))
    assert (costly["wealth"] <= free["wealth"] + 1e-12).all()
    assert_png(plot_drawdown(pred, "return", tmp_path / "dd.png", cost_bps=50))


def test_plots_overwrite_in_place_and_pick_a_series(tmp_path):
    target = tmp_path / "cum.png"
    target.write_bytes(b"old")
    pred = panel("return", n=60)
    assert plot_cumulative_returns(pred, "return", target, series="BBB") == target
    assert_png(target)
    avp = plot_actual_vs_predicted(pred, "return", tmp_path / "avp.png", max_points=20)
    assert_png(avp)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["avp.png", "cum.png"]


def test_plot_errors_are_actionable_and_write_nothing(tmp_path):
    pred = panel("return", n=30)
    with pytest.raises(DataError, match=r"ZZZ.*AAA, BBB"):
        plot_cumulative_returns(pred, "return", tmp_path / "x.png", series="ZZZ")
    with pytest.raises(DataError, match="fwd_return"):
        plot_cumulative_returns(pred.drop(columns="fwd_return"), "return", tmp_path / "x.png")
    with pytest.raises(ConfigError, match="task"):
        write_plots(pred, "price", tmp_path / "plots")
    with pytest.raises(ConfigError, match="max_points"):
        plot_actual_vs_predicted(pred, "return", tmp_path / "x.png", max_points=1)
    assert list(tmp_path.iterdir()) == []


# --- drawing cheaply without losing what the plots show ---------------------------------


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 400),
    columns=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    gaps=st.booleans(),
)
def test_thin_keeps_the_lowest_and_highest_point_of_every_pixel_column(n, columns, seed, gaps):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.integers(1 if not gaps else 0, 5, n)).astype("float64")
    y = rng.standard_normal(n).cumsum()
    keep = thin(x, y, columns)
    assert (np.diff(keep) > 0).all() and keep[0] == 0 and keep[-1] == n - 1
    if n <= 2 * columns or x[-1] == x[0]:
        assert len(keep) == n  # short lines are drawn whole
        return
    assert len(keep) <= 2 * columns + 2
    column = np.minimum(((x - x[0]) / (x[-1] - x[0]) * columns).astype(int), columns - 1)
    for c in np.unique(column):
        inside = column == c
        kept = y[keep][inside[keep]]
        assert kept.min() == y[inside].min() and kept.max() == y[inside].max()


def test_thin_keeps_lines_with_gaps_or_dates_out_of_order_whole():
    y = np.arange(100.0)
    assert len(thin(np.arange(100), np.where(y == 50, np.nan, y), 10)) == 100
    assert len(thin(np.arange(100)[::-1], y, 10)) == 100
    dates = pd.bdate_range("2000-01-03", periods=1000)
    kept = thin(dates, np.sin(np.arange(1000.0)), 100)
    assert len(kept) <= 202 and kept[0] == 0 and kept[-1] == 999


def test_write_plots_draws_the_same_trading_curves_as_the_public_functions(tmp_path):
    # write_plots computes the curves once for both plots: the pictures must not change
    pred = panel("return", n=80)
    paths = {p.stem: p for p in write_plots(pred, "return", tmp_path / "all")}
    alone = plot_cumulative_returns(pred, "return", tmp_path / "c.png")
    assert paths["cumulative_returns"].read_bytes() == alone.read_bytes()
    alone = plot_drawdown(pred, "return", tmp_path / "d.png")
    assert paths["drawdown"].read_bytes() == alone.read_bytes()


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e7, None])
def test_the_layout_keeps_labels_and_title_inside_the_figure(scale):
    fig, ax = _new_figure()
    ax.plot(np.arange(50), (scale or 1.0) * (1.0 + np.arange(50.0)))
    if scale is None:  # tick labels wider than matplotlib's default margin
        ax.set_yticks([10.0, 30.0], ["a very very very long tick label", "another one"])
    ax.set_ylabel("a y label")
    ax.set_xlabel("an x label")
    ax.set_title("a title")
    _fit(fig)
    renderer = fig.canvas.get_renderer()
    inside = fig.bbox.padded(0.5)
    for box in (
        ax.yaxis.get_tightbbox(renderer),
        ax.xaxis.get_tightbbox(renderer),
        ax.title.get_window_extent(renderer),
    ):
        assert inside.containsx(box.x0) and inside.containsx(box.x1), box
        assert inside.containsy(box.y0) and inside.containsy(box.y1), box
    if scale is not None:  # ordinary labels: the axes take most of the figure
        assert ax.get_position().width > 0.8 and ax.get_position().height > 0.7


def test_a_plot_of_values_near_the_float_limit_is_saved_without_a_warning(tmp_path):
    """matplotlib's autoscaling and tick formatter overflow on an axis near 1e308 (numpy's
    RuntimeWarning, twice per bad-input run before); the PNG is written, quietly."""
    fig, ax = _new_figure()
    ax.plot([0, 1, 2], [1.0, 1e308, -1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = _save(fig, tmp_path / "extreme.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close(fig)
