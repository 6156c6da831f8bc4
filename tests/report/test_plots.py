"""Plots and the trading returns behind them, from small predictions tables."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from fincast.errors import ConfigError, DataError
from fincast.report import (
    BUY_AND_HOLD,
    cumulative_returns,
    plot_actual_vs_predicted,
    plot_cumulative_returns,
    strategy_returns,
    write_plots,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
D = pd.date_range("2022-03-01", periods=5, freq="B")


def rows(model, y_pred, fwd, *, horizon=1, sid="a", **extra) -> pd.DataFrame:
    n = len(y_pred)
    return pd.DataFrame(
        {
            "id": sid,
            "date": D[:n],
            "fold": 0,
            "model": model,
            "horizon": horizon,
            "y_true": fwd,
            "y_pred": y_pred,
            "fwd_return": fwd,
            **extra,
        }
    )


def tiny() -> pd.DataFrame:
    return pd.concat(
        [
            rows("m", [0.1, -0.2, 0.3, 0.0], [0.01, 0.02, -0.03, 0.04]),
            rows("m", [0.1, 0.5, -0.1, 0.2, 0.3], [0.05, 0.07, -0.02, 0.01, 0.03], horizon=2),
        ],
        ignore_index=True,
    )


def test_strategy_returns_h1_trades_every_date_on_the_forecast_sign():
    # shuffled input: the result must not depend on row order
    out = strategy_returns(tiny().sample(frac=1.0, random_state=3), "return")
    m1 = out[(out["model"] == "m") & (out["horizon"] == 1)]
    assert m1["date"].tolist() == list(D[:4])
    assert m1["position"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert m1["strategy_return"].tolist() == pytest.approx([0.01, 0.0, -0.03, 0.0])
    assert list(out.columns) == [
        "model",
        "id",
        "horizon",
        "date",
        "position",
        "fwd_return",
        "strategy_return",
    ]


def test_strategy_returns_h2_uses_non_overlapping_periods():
    out = strategy_returns(tiny(), "return")
    m2 = out[(out["model"] == "m") & (out["horizon"] == 2)]
    assert m2["date"].tolist() == [D[0], D[2], D[4]]  # every 2nd forecast date
    assert m2["position"].tolist() == [1.0, 0.0, 1.0]
    assert m2["strategy_return"].tolist() == pytest.approx([0.05, 0.0, 0.03])
    bh = out[(out["model"] == BUY_AND_HOLD) & (out["horizon"] == 2)]
    assert bh["date"].tolist() == [D[0], D[2], D[4]]
    assert bh["strategy_return"].tolist() == pytest.approx([0.05, -0.02, 0.03])
    assert out["model"].iloc[-1] == BUY_AND_HOLD  # buy-and-hold is listed last


def test_cumulative_returns_compound_log_returns():
    out = strategy_returns(tiny(), "return")
    curve = cumulative_returns(out[(out["horizon"] == 2) & (out["model"] == "m")])
    expected = [math.expm1(0.05), math.expm1(0.05), math.expm1(0.08)]
    assert curve["cumulative"].tolist() == pytest.approx(expected)
    bh = cumulative_returns(out[(out["horizon"] == 1) & (out["model"] == BUY_AND_HOLD)])
    assert bh["cumulative"].iloc[-1] == pytest.approx(math.expm1(0.01 + 0.02 - 0.03 + 0.04))


def test_cumulative_returns_equal_weight_several_series():
    up = rows("m", [1.0], [math.log(1.1)], sid="a")
    down = rows("m", [1.0], [math.log(0.9)], sid="b")
    out = strategy_returns(pd.concat([up, down]), "return")
    curve = cumulative_returns(out[out["model"] == "m"])
    assert len(curve) == 1
    assert curve["cumulative"].iloc[0] == pytest.approx(0.0)  # +10% and -10%, equal weight


def test_level_positions_compare_with_the_naive_forecast():
    fwd = [0.01, -0.02, 0.03]
    pred = pd.concat([rows("naive", [10.0, 10.0, 10.0], fwd), rows("m", [11.0, 9.0, 10.0], fwd)])
    out = strategy_returns(pred, "level")
    assert out.loc[out["model"] == "m", "position"].tolist() == [1.0, 0.0, 0.0]
    assert out.loc[out["model"] == "naive", "position"].tolist() == [0.0, 0.0, 0.0]
    # without naive rows a level forecast cannot be turned into a position
    alone = strategy_returns(rows("m", [11.0, 9.0, 10.0], fwd), "level")
    assert set(alone["model"]) == {BUY_AND_HOLD}


def test_direction_positions_use_prob_then_the_class():
    fwd = [0.01, -0.02, 0.03]
    with_prob = rows("m", [1.0, 1.0, 1.0], fwd, prob=[0.7, 0.4, np.nan])
    out = strategy_returns(with_prob, "direction")
    assert out.loc[out["model"] == "m", "position"].tolist() == [1.0, 0.0, 1.0]
    no_prob = strategy_returns(rows("m", [0.0, 1.0, 0.0], fwd), "direction")
    assert no_prob.loc[no_prob["model"] == "m", "strategy_return"].tolist() == [0.0, -0.02, 0.0]


def test_rows_without_a_realised_return_are_left_out():
    out = strategy_returns(rows("m", [0.1, 0.2, 0.3], [0.01, np.nan, 0.02]), "return")
    assert out.loc[out["model"] == "m", "strategy_return"].tolist() == [0.01, 0.02]


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


@pytest.mark.parametrize("task", ["return", "level", "direction"])
def test_write_plots_writes_two_complete_pngs(tmp_path, task):
    out = tmp_path / "plots"
    paths = write_plots(panel(task), task, out)
    assert [p.name for p in paths] == ["actual_vs_predicted.png", "cumulative_returns.png"]
    for p in paths:
        assert_png(p)
    assert sorted(f.name for f in out.iterdir()) == sorted(p.name for p in paths)  # no temp
    assert plt.get_fignums() == []  # no figure left open


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
