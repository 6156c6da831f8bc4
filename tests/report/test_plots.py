"""Plots and the trading returns behind them, from small predictions tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from fincast.errors import ConfigError, DataError
from fincast.report import (
    first_seed,
    plot_actual_vs_predicted,
    plot_cumulative_returns,
    plot_drawdown,
    write_plots,
)

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
