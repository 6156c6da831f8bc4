"""Finance metrics against small examples computed by hand."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast.errors import ConfigError, DataError
from fincast.metrics.finance import (
    BUY_AND_HOLD,
    ic_series,
    infer_periods_per_year,
    information_coefficient,
    positions,
    strategy_returns,
    trading_metrics,
)

D = pd.bdate_range("2021-01-04", periods=8)


def table(
    y_pred: dict[str, Any],
    simple: Sequence[float],
    *,
    ids: str | list[str] = "A",
    dates: pd.DatetimeIndex | list[pd.Timestamp] | None = None,
    horizon: int = 1,
    fold: list[int] | None = None,
    prob: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """A predictions table; ``simple`` are the realised simple returns of each row."""
    n = len(simple)
    dates = D[:n] if dates is None else dates
    fwd = np.log1p(np.asarray(simple, dtype=float))
    frames = []
    for model, pred in y_pred.items():
        frame = pd.DataFrame(
            {
                "id": ids if isinstance(ids, str) else list(ids),
                "date": list(dates),
                "fold": fold if fold is not None else 0,
                "model": model,
                "horizon": horizon,
                "y_true": fwd,
                "y_pred": np.asarray(pred, dtype=float),
                "fwd_return": fwd,
            }
        )
        if prob is not None:
            frame["prob"] = prob[model]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# --- positions ------------------------------------------------------------------------------


def test_positions_return_task_both_modes() -> None:
    p = table({"m": [0.2, -0.1, 0.0]}, [0.0, 0.0, 0.0])
    assert positions(p, "return").tolist() == [1.0, 0.0, 0.0]
    assert positions(p, "return", mode="long_short").tolist() == [1.0, -1.0, 0.0]


def test_positions_level_task_uses_change_against_naive() -> None:
    p = table({"naive": [10.0, 10.0, 10.0], "m": [11.0, 9.0, 10.0]}, [0.0, 0.0, 0.0])
    long_short = positions(p, "level", mode="long_short")
    assert long_short[p["model"] == "m"].tolist() == [1.0, -1.0, 0.0]
    assert long_short[p["model"] == "naive"].tolist() == [0.0, 0.0, 0.0]
    assert positions(p, "level")[p["model"] == "m"].tolist() == [1.0, 0.0, 0.0]


def test_positions_level_task_needs_naive() -> None:
    p = table({"m": [11.0, 9.0]}, [0.0, 0.0])
    with pytest.raises(DataError, match="naive"):
        positions(p, "level")


def test_positions_direction_task_prob_and_threshold() -> None:
    p = table({"m": [1, 0, 0, 1]}, [0.0] * 4, prob={"m": [0.7, 0.3, 0.5, 0.55]})
    assert positions(p, "direction").tolist() == [1.0, 0.0, 0.0, 1.0]
    assert positions(p, "direction", mode="long_short").tolist() == [1.0, -1.0, 0.0, 1.0]
    high = positions(p, "direction", mode="long_short", threshold=0.6)
    assert high.tolist() == [1.0, -1.0, -1.0, -1.0]


def test_positions_direction_without_prob_uses_class() -> None:
    p = table({"m": [1, 0]}, [0.0, 0.0])
    assert positions(p, "direction").tolist() == [1.0, 0.0]
    assert positions(p, "direction", mode="long_short").tolist() == [1.0, -1.0]


def test_positions_rejects_unknown_mode_and_task() -> None:
    p = table({"m": [1.0]}, [0.0])
    with pytest.raises(ConfigError, match="mode"):
        positions(p, "return", mode="short")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="task"):
        positions(p, "volatility")


# --- strategy returns -----------------------------------------------------------------------

SIMPLE = [0.02, -0.01, 0.03, 0.01]


def _model(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame[frame["model"] == name].reset_index(drop=True)


def test_strategy_returns_long_flat_with_costs() -> None:
    p = table({"m": [1.0, 1.0, -1.0, 1.0]}, SIMPLE)
    out = _model(strategy_returns(p, "return", cost_bps=10), "m")
    # positions 1,1,0,1 ; trades 1,0,1,1 ; cost 0.001 per unit traded
    assert out["position"].tolist() == [1.0, 1.0, 0.0, 1.0]
    assert out["turnover"].tolist() == [1.0, 0.0, 1.0, 1.0]
    np.testing.assert_allclose(out["gross_return"], [0.02, -0.01, 0.0, 0.01], atol=1e-12)
    np.testing.assert_allclose(out["net_return"], [0.019, -0.01, -0.001, 0.009], atol=1e-12)
    assert out["date"].tolist() == list(D[:4])


def test_strategy_returns_long_short_flip_costs_twice() -> None:
    p = table({"m": [1.0, 1.0, -1.0, 1.0]}, SIMPLE)
    out = _model(strategy_returns(p, "return", mode="long_short", cost_bps=10), "m")
    assert out["turnover"].tolist() == [1.0, 0.0, 2.0, 2.0]
    # a short earns minus the asset's simple return
    np.testing.assert_allclose(out["gross_return"], [0.02, -0.01, -0.03, 0.01], atol=1e-12)
    np.testing.assert_allclose(out["net_return"], [0.019, -0.01, -0.032, 0.008], atol=1e-12)


def test_strategy_returns_buy_and_hold_pays_one_trade() -> None:
    p = table({"m": [1.0, 1.0, -1.0, 1.0]}, SIMPLE)
    out = strategy_returns(p, "return", cost_bps=10)
    assert out["model"].unique().tolist() == ["m", BUY_AND_HOLD]
    bh = _model(out, BUY_AND_HOLD)
    assert bh["turnover"].tolist() == [1.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(bh["net_return"], [0.019, -0.01, 0.03, 0.01], atol=1e-12)


def test_strategy_returns_horizon_two_samples_every_other_date() -> None:
    # two-step forward returns on 6 dates; the strategy trades d0, d2, d4 and holds 2 steps
    h2 = table({"m": [1.0, -1.0, -1.0, 1.0, 1.0, -1.0]}, [0.05, 9, -0.04, 9, 0.02, 9], horizon=2)
    h1 = table({"m": [1.0] * 6}, [0.0] * 6, horizon=1)
    p = pd.concat([h1, h2], ignore_index=True)
    out = _model(strategy_returns(p, "return", mode="long_short", horizon=2, cost_bps=5), "m")
    assert out["date"].tolist() == [D[0], D[2], D[4]]
    assert out["position"].tolist() == [1.0, -1.0, 1.0]
    assert out["turnover"].tolist() == [1.0, 2.0, 2.0]
    np.testing.assert_allclose(out["gross_return"], [0.05, 0.04, 0.02], atol=1e-12)
    np.testing.assert_allclose(out["net_return"], [0.0495, 0.039, 0.019], atol=1e-12)
    # the default is the smallest horizon: every date
    assert len(_model(strategy_returns(p, "return"), "m")) == 6


def test_strategy_returns_panel_is_equal_weight_over_present_series() -> None:
    # A trades on d0, d1; B on d1, d2
    p = table(
        {"m": [1.0, 1.0, -1.0, 1.0]},
        [0.01, 0.02, 0.03, -0.01],
        ids=["A", "A", "B", "B"],
        dates=[D[0], D[1], D[1], D[2]],
    )
    out = _model(strategy_returns(p, "return", cost_bps=10), "m")
    # A: pos 1, 1 -> net 0.009, 0.02 ; B: pos 0, 1 -> net 0, -0.011
    np.testing.assert_allclose(out["net_return"], [0.009, 0.01, -0.011], atol=1e-12)
    np.testing.assert_allclose(out["turnover"], [1.0, 0.0, 1.0])
    np.testing.assert_allclose(out["exposure"], [1.0, 0.5, 1.0])
    assert out["n_series"].tolist() == [1, 2, 1]


def test_strategy_returns_panel_sampling_starts_at_each_series_first_date() -> None:
    p = table(
        {"m": [1.0] * 8},
        [0.01] * 8,
        ids=["A"] * 4 + ["B"] * 4,
        dates=[D[0], D[1], D[2], D[3], D[1], D[2], D[3], D[4]],
        horizon=2,
    )
    out = _model(strategy_returns(p, "return", cost_bps=0), "m")
    # A trades d0, d2 ; B trades d1, d3
    assert out["date"].tolist() == [D[0], D[1], D[2], D[3]]
    assert out["n_series"].tolist() == [1, 1, 1, 1]


def test_strategy_returns_leave_out_rows_without_a_realised_return() -> None:
    p = table({"m": [1.0, 1.0, 1.0]}, [0.01, 0.0, 0.02])
    p.loc[1, "fwd_return"] = np.nan
    out = _model(strategy_returns(p, "return", cost_bps=0), "m")
    assert out["date"].tolist() == [D[0], D[2]]
    np.testing.assert_allclose(out["net_return"], [0.01, 0.02])


def test_strategy_returns_direction_falls_back_to_the_class_without_prob() -> None:
    p = table({"m": [1.0, 1.0, 0.0]}, [0.01, -0.02, 0.03], prob={"m": [0.7, np.nan, np.nan]})
    out = _model(strategy_returns(p, "direction", cost_bps=0), "m")
    assert out["position"].tolist() == [1.0, 1.0, 0.0]


def test_tasks_without_a_trading_rule_are_reported_not_guessed() -> None:
    from fincast.metrics.finance import supports

    assert supports("return") and supports("level") and supports("direction")
    assert not supports("volatility-of-the-moon")
    with pytest.raises(ConfigError, match="no trading signal"):
        strategy_returns(table({"m": [1.0]}, [0.0]), "volatility-of-the-moon")


def test_equity_curves_drawdown_by_hand() -> None:
    from fincast.metrics.finance import equity_curves

    p = table({"m": [1.0] * 4}, [0.1, -0.2, 0.25, -0.1])  # wealth 1.1, 0.88, 1.1, 0.99
    curves = equity_curves(strategy_returns(p, "return", cost_bps=0))
    m = curves[curves["model"] == "m"]
    np.testing.assert_allclose(m["wealth"], [1.1, 0.88, 1.1, 0.99])
    np.testing.assert_allclose(m["drawdown"], [0.0, -0.2, 0.0, -0.1], atol=1e-12)
    first_loss = equity_curves(strategy_returns(table({"m": [1.0]}, [-0.1]), "return", cost_bps=0))
    assert first_loss["drawdown"].iloc[0] == pytest.approx(-0.1)  # the start counts as a peak


def test_strategy_returns_rejects_negative_cost() -> None:
    with pytest.raises(ConfigError, match="cost_bps"):
        strategy_returns(table({"m": [1.0]}, [0.0]), "return", cost_bps=-1)


# --- trading metrics ------------------------------------------------------------------------


def test_trading_metrics_known_path() -> None:
    r = [0.1, -0.2, 0.25, -0.1]  # wealth 1.1, 0.88, 1.1, 0.99
    p = table({"m": [1.0] * 4}, r)
    out = trading_metrics(p, "return", cost_bps=0, periods_per_year=4)
    assert set(out) == {"m", BUY_AND_HOLD}
    assert set(out["m"]) == {"long_flat", "long_short"}
    m = out["m"]["long_flat"]
    assert m["max_drawdown"] == pytest.approx(-0.2)
    assert m["total_return"] == pytest.approx(-0.01)
    assert m["annual_return"] == pytest.approx(-0.01)  # four quarterly periods = one year
    std = statistics.stdev(r)
    mean = statistics.mean(r)
    assert m["annual_volatility"] == pytest.approx(std * 2)
    assert m["sharpe"] == pytest.approx(mean / std * 2)
    downside = math.sqrt((0.2**2 + 0.1**2) / 4)
    assert m["sortino"] == pytest.approx(mean * 4 / (downside * 2))
    assert m["calmar"] == pytest.approx(-0.01 / 0.2)
    assert m["hit_rate"] == 0.5
    assert m["turnover"] == 0.25
    assert m["n_periods"] == 4


def test_trading_metrics_drawdown_counts_from_initial_wealth() -> None:
    p = table({"m": [1.0] * 3}, [-0.1, 0.05, 0.02])
    m = trading_metrics(p, "return", cost_bps=0, mode="long_flat", periods_per_year=12)
    assert set(m["m"]) == {"long_flat"}
    assert m["m"]["long_flat"]["max_drawdown"] == pytest.approx(-0.1)


def test_trading_metrics_annualises_business_daily_data() -> None:
    r = [0.01, -0.005, 0.004, 0.002, -0.003, 0.006]
    p = table({"m": [1.0] * 6}, r)
    m = trading_metrics(p, "return", cost_bps=0)["m"]["long_flat"]
    expected = statistics.mean(r) / statistics.stdev(r) * math.sqrt(252)
    assert m["sharpe"] == pytest.approx(expected)
    assert m["annual_volatility"] == pytest.approx(statistics.stdev(r) * math.sqrt(252))


def test_trading_metrics_rejects_bad_options() -> None:
    p = table({"m": [1.0, 1.0]}, [0.01, 0.02])
    with pytest.raises(ConfigError, match="periods_per_year"):
        trading_metrics(p, "return", periods_per_year=0)
    with pytest.raises(ConfigError, match="mode"):
        trading_metrics(p, "return", mode="short")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="horizon 5"):
        trading_metrics(p, "return", horizon=5)


def test_trading_metrics_hit_rate_ignores_flat_periods_and_is_json() -> None:
    p = table({"m": [1.0, -1.0, -1.0, 1.0], "flat": [-1.0] * 4}, [0.02, -0.01, 0.03, -0.01])
    out = trading_metrics(p, "return", cost_bps=0, mode="long_flat", periods_per_year=252)
    assert out["m"]["long_flat"]["hit_rate"] == 0.5  # held d0 (+) and d3 (-)
    flat = out["flat"]["long_flat"]
    assert flat["hit_rate"] is None and flat["sharpe"] is None and flat["max_drawdown"] == 0
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize(
    ("dates", "horizon", "expected"),
    [
        (pd.bdate_range("2020", periods=30), 1, 252.0),
        (pd.bdate_range("2020", periods=30), 5, 50.4),
        (pd.date_range("2020", periods=30, freq="W-FRI"), 1, 52.0),
        (pd.date_range("2020", periods=30, freq="ME"), 3, 4.0),
        (pd.date_range("2020", periods=30, freq="QE"), 1, 4.0),
        (pd.date_range("2020", periods=30, freq="D"), 1, 365.0),
    ],
)
def test_infer_periods_per_year(dates: pd.DatetimeIndex, horizon: int, expected: float) -> None:
    assert infer_periods_per_year(dates, horizon) == pytest.approx(expected)


# --- information coefficient ----------------------------------------------------------------


def test_ic_perfect_and_anti_perfect_single_series() -> None:
    r = [0.01, -0.02, 0.005, 0.03, -0.01, 0.0]
    fwd = np.log1p(r)
    p = table(
        {"naive": [0.0] * 6, "good": fwd * 3, "bad": -fwd, "cubic": fwd**3},
        r,
        fold=[0, 0, 0, 1, 1, 1],
    )
    ic = information_coefficient(p, "return")
    assert ic["good"]["ic"] == pytest.approx(1.0) and ic["good"]["rank_ic"] == pytest.approx(1.0)
    assert ic["bad"]["ic"] == pytest.approx(-1.0) and ic["bad"]["rank_ic"] == pytest.approx(-1.0)
    assert ic["cubic"]["rank_ic"] == pytest.approx(1.0)
    assert isinstance(ic["cubic"]["ic"], float) and ic["cubic"]["ic"] < 0.999
    assert ic["good"]["method"] == "time_series" and ic["good"]["n"] == 2
    assert ic["good"]["ic_std"] == pytest.approx(0.0, abs=1e-12)
    assert ic["naive"]["ic"] is None and ic["naive"]["icir"] is None
    json.dumps(ic, allow_nan=False)
    per_fold = ic_series(p, "return", "bad")
    assert per_fold["fold"].tolist() == [0, 1]
    np.testing.assert_allclose(per_fold["ic"], [-1.0, -1.0])


def test_ic_panel_cross_sectional_by_hand() -> None:
    # date 1: perfect (1); date 2: reversed (-1); date 3: signal 1,2,3 vs return 1,3,2 (0.5);
    # date 4 has one series only and is skipped
    signal = [1, 2, 3, 1, 2, 3, 1, 2, 3, 5]
    ret = [1, 2, 3, 3, 2, 1, 1, 3, 2, 1]
    p = table(
        {"m": [s / 100 for s in signal]},
        [math.expm1(x / 100) for x in ret],
        ids=["A", "B", "C"] * 3 + ["A"],
        dates=[D[0]] * 3 + [D[1]] * 3 + [D[2]] * 3 + [D[3]],
    )
    out = information_coefficient(p, "return")["m"]
    assert out["method"] == "cross_sectional" and out["n"] == 3
    assert out["ic"] == pytest.approx(1 / 6)
    assert out["rank_ic"] == pytest.approx(1 / 6)
    assert out["ic_std"] == pytest.approx(math.sqrt(39) / 6)
    assert out["icir"] == pytest.approx(1 / math.sqrt(39))
    assert out["t_stat"] == pytest.approx(1 / math.sqrt(13))
    series = ic_series(p, "return", "m")
    np.testing.assert_allclose(series["ic"].iloc[:3], [1.0, -1.0, 0.5])
    assert series["n"].tolist() == [3, 3, 3, 1] and math.isnan(series["ic"].iloc[3])


def test_ic_panel_pearson_differs_from_rank() -> None:
    p = table(
        {"m": [0.01, 0.02, 0.10]},
        [math.expm1(x) for x in (0.01, 0.02, 0.03)],
        ids=["A", "B", "C"],
        dates=[D[0]] * 3,
    )
    out = information_coefficient(p, "return")["m"]
    assert out["rank_ic"] == pytest.approx(1.0)
    assert out["ic"] == pytest.approx(9 / math.sqrt(438 / 9 * 2))


def test_ic_level_uses_forecast_change_and_direction_uses_prob() -> None:
    r = [0.01, -0.02, 0.005, 0.03]
    fwd = np.log1p(r)
    level = table({"naive": [100.0] * 4, "m": 100 + 50 * fwd}, r)
    assert information_coefficient(level, "level")["m"]["ic"] == pytest.approx(1.0)
    assert information_coefficient(level, "level")["naive"]["ic"] is None
    prob = 0.5 + 10 * fwd
    direction = table({"m": (prob > 0.5).astype(float)}, r, prob={"m": list(prob)})
    assert information_coefficient(direction, "direction")["m"]["ic"] == pytest.approx(1.0)


def test_ic_series_unknown_model() -> None:
    with pytest.raises(DataError, match="nope"):
        ic_series(table({"m": [1.0, 2.0]}, [0.0, 0.1]), "return", "nope")


# --- properties ------------------------------------------------------------------------------

_preds = st.lists(st.floats(-1, 1, allow_nan=False), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(
    preds=_preds,
    simple=st.lists(st.floats(-0.5, 0.5, allow_nan=False), min_size=8, max_size=8),
    cost=st.floats(0, 100),
)
def test_property_costs_and_positions_add_up(preds, simple, cost) -> None:
    n = len(preds)
    p = table({"m": preds}, simple[:n])
    for mode in ("long_flat", "long_short"):
        out = _model(strategy_returns(p, "return", mode=mode, cost_bps=cost), "m")
        sign = np.sign(preds)
        expected_pos = (sign > 0).astype(float) if mode == "long_flat" else sign
        np.testing.assert_allclose(out["position"], expected_pos)
        np.testing.assert_allclose(out["gross_return"], expected_pos * np.asarray(simple[:n]))
        changes = np.abs(np.diff(np.concatenate([[0.0], expected_pos])))
        np.testing.assert_allclose(out["turnover"], changes)
        # net = gross - cost per unit traded; never above gross
        np.testing.assert_allclose(
            out["net_return"], out["gross_return"] - cost / 1e4 * changes, atol=1e-12
        )
