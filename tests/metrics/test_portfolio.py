"""Cross-sectional portfolio metrics, checked against an independent plain-pandas loop."""

from __future__ import annotations

import math

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fincast.config import build_config
from fincast.errors import ConfigError
from fincast.metrics import evaluate
from fincast.metrics.portfolio import (
    EQUAL_WEIGHT,
    parse_portfolio,
    portfolio_metrics,
    portfolio_returns,
)

IDS = ["A", "B", "C", "D", "E", "F", "G"]


def panel(n_dates: int = 60, seed: int = 0, horizon: int = 1, skill: float = 0.0) -> pd.DataFrame:
    """A predictions table: naive (constant), ``m`` (noisy forecast) and ``flat`` (constant)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=n_dates)
    frames = []
    fwd = rng.normal(0.0, 0.02, (n_dates, len(IDS)))
    pred = skill * fwd + rng.normal(0.0, 0.01, fwd.shape)
    pred[5, :3] = pred[5, 3]  # ties across series on one date
    for model, y_pred in {
        "naive": np.zeros_like(fwd),
        "m": pred,
        "flat": np.ones_like(fwd),
    }.items():
        frames.append(
            pd.DataFrame(
                {
                    "id": np.tile(IDS, n_dates),
                    "date": np.repeat(dates, len(IDS)),
                    "fold": 0,
                    "model": model,
                    "horizon": horizon,
                    "y_true": fwd.reshape(-1),
                    "y_pred": y_pred.reshape(-1),
                    "fwd_return": fwd.reshape(-1),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    return table.drop(index=table.index[(table["id"] == "G") & (table["date"] < dates[10])])


def loop_portfolio(
    table: pd.DataFrame, model: str, q: int | None, k: int | None, cost_bps: float, h: int,
    forecast_weights: bool = False,
) -> pd.DataFrame:  # fmt: skip
    """The rule written out date by date with plain Python, independent of the module."""
    rows = table[(table["model"] == model) & table["fwd_return"].notna()]
    dates = sorted(table.loc[table["fwd_return"].notna(), "date"].unique())[::h]
    prev: dict[str, float] = {}
    out = []
    for date in dates:
        day = rows[rows["date"] == date]
        items = sorted(
            zip(day["y_pred"], day["id"], day["fwd_return"], strict=True),
            key=lambda t: (-t[0], t[1]),
        )
        n = len(items)
        size = max(1, n // q) if q else k
        size = min(size, n // 2) if n >= 2 else 0
        if day["y_pred"].max() == day["y_pred"].min():
            size = 0
        mean = float(np.mean([t[0] for t in items])) if items else 0.0
        weights: dict[str, float] = {}
        for leg, picks in ((1.0, items[:size]), (-1.0, items[n - size :] if size else [])):
            raw = [abs(s - mean) if forecast_weights else 1.0 for s, _, _ in picks]
            total = sum(raw)
            for (_, sid, _), r in zip(picks, raw, strict=True):
                weights[sid] = leg * (r / total if total > 0 else 1.0 / len(picks))
        simple = {sid: float(np.expm1(f)) for _, sid, f in items}
        long = sum(w * simple[s] for s, w in weights.items() if w > 0)
        short = sum(w * simple[s] for s, w in weights.items() if w < 0)
        names = set(weights) | set(prev)
        t_long = sum(abs(max(weights.get(s, 0), 0) - max(prev.get(s, 0), 0)) for s in names)
        t_short = sum(abs(min(weights.get(s, 0), 0) - min(prev.get(s, 0), 0)) for s in names)
        c = cost_bps / 1e4
        out.append(
            {
                "date": date,
                "long": long - c * t_long,
                "short": short - c * t_short,
                "long_short": long + short - c * (t_long + t_short),
                "turnover": t_long + t_short,
            }
        )
        prev = weights
    return pd.DataFrame(out)


@pytest.mark.parametrize(
    ("spec", "q", "k", "h", "fw"),
    [
        ("quantile:5", 5, None, 1, False),
        ("quantile:3", 3, None, 2, False),
        ("topk:2", None, 2, 1, False),
        ("topk:3:forecast", None, 3, 3, True),
    ],
)
def test_portfolio_returns_match_an_independent_loop(spec, q, k, h, fw):
    table = panel(horizon=h)
    got = portfolio_returns(table, "return", spec=spec, cost_bps=10.0)
    want = loop_portfolio(table, "m", q, k, 10.0, h, forecast_weights=fw)
    mine = got[got["model"] == "m"].reset_index(drop=True)
    assert len(mine) == len(want) == len(range(0, 60, h))
    for col in ("long", "short", "long_short", "turnover"):
        np.testing.assert_allclose(mine[col].to_numpy(), want[col].to_numpy(), atol=1e-12)
    bench = got[got["model"] == EQUAL_WEIGHT]
    rows = table[table["model"] == "m"]
    first = rows[rows["date"] == mine["date"].iloc[1]]
    assert bench["long"].iloc[1] == pytest.approx(np.expm1(first["fwd_return"]).mean())


def test_metrics_are_empyrical_statistics_of_the_loop_returns():
    table = panel(n_dates=120, skill=0.5)
    out = portfolio_metrics(table, "return", spec="quantile:3", cost_bps=5.0)
    want = loop_portfolio(table, "m", 3, None, 5.0, 1)["long_short"].to_numpy()
    m = out["models"]["m"]["long_short"]
    assert m["sharpe"] == pytest.approx(ep.sharpe_ratio(want, annualization=252))
    assert m["annual_return"] == pytest.approx(ep.annual_return(want, annualization=252))
    assert m["max_drawdown"] == pytest.approx(ep.max_drawdown(want))
    assert m["sharpe_ci"]["low"] < m["sharpe"] < m["sharpe_ci"]["high"]
    assert out["models"]["m"]["ic"]["rank_ic"] > 0.3
    assert m["dm_vs_equal_weight"]["n"] == 120
    assert out["models"]["naive"] == {"skipped": pytest.approx(out["models"]["flat"]["skipped"])}
    assert "nothing to rank" in out["models"]["flat"]["skipped"]
    assert out["n_series"] == 7 and out["spec"] == "quantile:3"


def test_a_perfect_forecast_beats_the_equal_weight_portfolio_significantly():
    table = panel(n_dates=80, skill=1.0)
    table.loc[table["model"] == "m", "y_pred"] = table["fwd_return"]
    out = portfolio_metrics(table, "return")
    ls = out["models"]["m"]["long_short"]
    assert ls["dm_vs_equal_weight"]["beats_5pct"] is True
    assert ls["sharpe_ci"]["low"] > 0


def test_small_panels_and_single_series_are_skipped_with_a_reason():
    table = panel()
    few = table[table["id"].isin(["A", "B", "C", "D"])]
    assert "at least 5 series; this run has 4" in portfolio_metrics(few, "return")["skipped"]
    one = table[table["id"] == "A"]
    assert "this run has 1" in evaluate(one, "return", bootstrap_reps=10)["portfolio"]["skipped"]
    assert "no trading signal" in portfolio_metrics(table, "volatility")["skipped"]


def test_evaluate_writes_the_portfolio_of_a_panel():
    out = evaluate(panel(), "return", bootstrap_reps=10, portfolio="topk:2")
    assert out["portfolio"]["spec"] == "topk:2"
    assert set(out["portfolio"]["models"]["m"]) >= {"long_short", "long", "short", "ic"}


@pytest.mark.parametrize("bad", ["quantile:1", "topk:0", "top:3", "quantile:5:x", "quantile"])
def test_bad_specs_are_refused(bad):
    with pytest.raises(ConfigError, match="quantile:Q"):
        parse_portfolio(bad)
    with pytest.raises(ConfigError, match="portfolio"):
        build_config({"portfolio": bad})


def test_the_report_shows_the_portfolio_table_and_plot(tmp_path):
    from fincast.report.portfolio import plot_ic_decay, plot_portfolio, portfolio_section

    table = panel()
    metrics = evaluate(table, "return", bootstrap_reps=10)
    html = portfolio_section(metrics)
    assert "Cross-sectional portfolio (quantile:5), 7 series" in html
    assert "long-short" in html and "equal-weight" in html and "nothing to rank" in html
    one = evaluate(table[table["id"] == "A"], "return", bootstrap_reps=10)
    assert "skipped" in portfolio_section(one) and "at least 5 series" in portfolio_section(one)
    png = plot_portfolio(table, "return", tmp_path / "p.png", spec="quantile:5", cost_bps=5)
    assert plot_ic_decay(table, "return", tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_ic_decay_matches_a_loop_over_dates_and_lags():
    from scipy.stats import spearmanr

    from fincast.metrics.portfolio import ic_decay

    table = panel(n_dates=40, skill=0.8)
    got = ic_decay(table, "return", max_lag=3)
    assert set(got["model"]) == {"m"}  # constant forecasts rank nothing
    rows = table[table["model"] == "m"]
    dates = sorted(rows["date"].unique())
    for lag in range(4):
        per = []
        for i, date in enumerate(dates[: len(dates) - lag]):
            now = rows[rows["date"] == date].set_index("id")["y_pred"]
            later = rows[rows["date"] == dates[i + lag]].set_index("id")["fwd_return"]
            both = pd.concat([now, later], axis=1, join="inner")
            if len(both) >= 2:
                per.append(spearmanr(both.iloc[:, 0], both.iloc[:, 1]).statistic)
        want = got[got["lag"] == lag].iloc[0]
        assert want["rank_ic"] == pytest.approx(np.mean(per)) and want["n"] == len(per)
    lag0 = evaluate(table, "return", bootstrap_reps=10)["portfolio"]["models"]["m"]
    assert (
        lag0["ic_decay"][0] == pytest.approx(lag0["ic"]["rank_ic"]) and len(lag0["ic_decay"]) == 11
    )
    assert (
        got.loc[got["lag"] == 0, "rank_ic"].item()
        > 0.5
        > abs(got.loc[got["lag"] == 2, "rank_ic"].item())
    )


def test_a_panel_run_reports_portfolio_metrics_that_predictions_csv_reproduces(tmp_path):
    """From a real run: its predictions.csv alone, through the plain loop, gives metrics.json."""
    from fincast.api import backtest

    rng = np.random.default_rng(1)
    dates = pd.bdate_range("2020-01-01", periods=160)
    rows = []
    for sid in IDS[:6]:
        rows.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "ticker": sid,
                    "close": 50 * np.exp(np.cumsum(rng.normal(0, 0.01, 160))),
                }
            )
        )
    pd.concat(rows).to_csv(tmp_path / "p.csv", index=False)
    result = backtest(
        str(tmp_path / "p.csv"), models=[], baselines=["naive", "ridge"], folds=2, lookback=3,
        out=str(tmp_path / "run"), portfolio="quantile:3", cost_bps=7.0,
    )  # fmt: skip
    table = pd.read_csv(tmp_path / "run" / "predictions.csv", parse_dates=["date"])
    metrics = result.metrics["portfolio"]
    assert metrics["n_series"] == 6 and "skipped" in metrics["models"]["naive"]
    loop = loop_portfolio(table, "ridge", 3, None, 7.0, 1)["long_short"].to_numpy()
    ridge = metrics["models"]["ridge"]["long_short"]
    assert ridge["sharpe"] == pytest.approx(ep.sharpe_ratio(loop, annualization=252))
    assert ridge["annual_return"] == pytest.approx(ep.annual_return(loop, annualization=252))
    assert ridge["max_drawdown"] == pytest.approx(ep.max_drawdown(loop))
    assert (tmp_path / "run" / "plots" / "ic_decay.png").is_file()
    assert "plot-ic_decay" in (tmp_path / "run" / "report.html").read_text()


def test_the_command_line_prints_the_portfolio_of_a_panel_only(capsys):
    from fincast.cli_output import print_portfolio

    metrics = evaluate(panel(n_dates=80, skill=0.5), "return", bootstrap_reps=10)
    print_portfolio(metrics)
    out = capsys.readouterr().out
    assert "cross-sectional portfolio · quantile:5 · 7 series" in out
    ls = metrics["portfolio"]["models"]["m"]["long_short"]
    assert f"{ls['annual_return']:.1%}" in out and f"{ls['sharpe']:.4g}" in out
    assert "equal-weight (long)" in out and "not ranked · naive" in out
    print_portfolio(evaluate(panel()[lambda t: t["id"] == "A"], "return", bootstrap_reps=10))
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("b", [0.02, 0.06, 0.1, 0.2])
def test_sharpe_interval_critical_value_is_kiefer_vogelsangs_fixed_b_one(b: float) -> None:
    # Kiefer & Vogelsang (2005): the 97.5 % quantile of the fixed-b limit of a Bartlett
    # t-statistic is 1.96 + 2.9694 b + 0.4160 b^2 - 0.5324 b^3 (a published polynomial fit).
    from fincast.metrics.portfolio import _fixed_b_critical

    n = 1000
    lags = round(b * n) - 1
    want = 1.96 + 2.9694 * b + 0.4160 * b**2 - 0.5324 * b**3
    assert _fixed_b_critical(n, lags, 0.05) == pytest.approx(want, abs=0.04)
    # a short sample adds the t-distribution's correction: wider than the normal 1.96
    assert _fixed_b_critical(20, 0, 0.05) == pytest.approx(stats.t.ppf(0.975, 19), abs=0.06)


def test_sharpe_interval_is_los_delta_method_with_a_newey_west_covariance() -> None:
    # independent computation: Bartlett-weighted autocovariances of the two moment series
    # by hand, and the gradient of mu / sigma by finite differences
    from fincast.metrics.forecast_tests import newey_west_lags
    from fincast.metrics.portfolio import _fixed_b_critical, sharpe_interval

    rng = np.random.default_rng(4)
    e = rng.standard_t(5, 121)
    r = 0.002 + 0.01 * (e[1:] + 0.3 * e[:-1])
    n, lags = len(r), newey_west_lags(len(r))
    mu, var = r.mean(), np.mean((r - r.mean()) ** 2)
    m = np.column_stack([r - mu, (r - mu) ** 2 - var])
    omega = m.T @ m / n
    for j in range(1, lags + 1):
        gamma = m[j:].T @ m[:-j] / n
        omega += (1 - j / (lags + 1)) * (gamma + gamma.T)
    eps = 1e-7
    sr = lambda a, v: a / math.sqrt(v)  # noqa: E731
    grad = np.array(
        [(sr(mu + eps, var) - sr(mu - eps, var)) / (2 * eps),
         (sr(mu, var + eps * var) - sr(mu, var - eps * var)) / (2 * eps * var)]
    )  # fmt: skip
    se = math.sqrt(grad @ omega @ grad / n) * math.sqrt(252)
    out = sharpe_interval(r, 252.0)
    centre = ep.sharpe_ratio(r, annualization=252)
    crit = _fixed_b_critical(n, lags, 0.05)
    assert out["low"] == pytest.approx(centre - crit * se, rel=1e-6)
    assert out["high"] == pytest.approx(centre + crit * se, rel=1e-6)
    assert out["lags"] == lags and out["level"] == 0.95
    assert sharpe_interval(r[:9], 252.0)["low"] is None  # too few periods


@pytest.mark.parametrize("ma", [0.0, 0.3])
def test_sharpe_interval_covers_a_true_sharpe_of_zero_at_its_level(ma: float) -> None:
    # 60 periods, independent or MA(1) returns: the percentile bootstrap it replaced
    # excluded 0 in 8-11 % of such samples; the interval must stay near 5 %
    from fincast.metrics.portfolio import sharpe_interval

    rng = np.random.default_rng(11)
    misses = 0
    for _ in range(600):
        e = rng.standard_normal(61)
        ci = sharpe_interval(e[1:] + ma * e[:-1], 12.0)
        misses += ci["low"] > 0 or ci["high"] < 0
    assert 0.025 <= misses / 600 <= 0.075
