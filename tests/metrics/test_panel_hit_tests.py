"""Hit-rate tests of a panel hold their size when the series share a market shock.

On a market shock every series misses its VaR or interval together, so pooled misses are
not independent: before these tests were clustered by date, a correct 5 % VaR on 20 series
sharing half their variance was rejected by Kupiec's test 36-38 % of the time at 5 %, the
interval coverage test 33-41 %, the Z2 test 20-31 %. Each bound below sits well under
those figures and above the sampling noise of its replication count.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from fincast.metrics.coverage import interval_summary
from fincast.metrics.quantile import risk_metrics
from fincast.metrics.risk import (
    acerbi_szekely_test,
    christoffersen,
    equicorrelation,
    independence_clustered,
    kupiec_clustered,
    kupiec_pof,
)

SERIES, DATES = 20, 100


def _panel(rng: np.random.Generator, common: float = 0.5) -> np.ndarray:
    """(SERIES, DATES) unit normal returns with correlation ``common`` on each date."""
    market = rng.standard_normal(DATES)
    own = rng.standard_normal((SERIES, DATES))
    return math.sqrt(common) * market + math.sqrt(1 - common) * own


def test_kupiec_clustered_is_kupiec_when_each_cluster_is_one_row() -> None:
    rng = np.random.default_rng(0)
    hits = rng.random(400) < 0.08
    clustered = kupiec_clustered(hits, 0.05, np.arange(400))
    plain = kupiec_pof(hits, 0.05)
    assert clustered["lr"] == pytest.approx(plain["lr"], rel=1e-6)
    # 400 dates: the p-value is the null's parametric bootstrap, near the chi2 one here
    assert clustered["pvalue_method"] == "parametric bootstrap"
    assert clustered["pvalue"] == pytest.approx(plain["pvalue"], abs=0.006)
    many = rng.random(600) < 0.08
    big = kupiec_clustered(many, 0.05, np.arange(600))
    assert big["pvalue_method"] == "LR, chi2(1)"
    assert big["pvalue"] == pytest.approx(kupiec_pof(many, 0.05)["pvalue"], rel=1e-5)


@pytest.mark.slow
def test_kupiec_clustered_with_few_dates_holds_its_size_where_chi2_does_not() -> None:
    """100 dates of 20 series sharing half their variance, a correct 5 % VaR: the
    beta-binomial LR referred to chi2(1) rejects in about 7 % of panels, the parametric
    bootstrap of the miss rate under the fitted null in about 5 %."""
    rng = np.random.default_rng(3)
    dates = np.repeat(np.arange(DATES), SERIES)
    boot = chi2 = 0
    reps = 600
    var = stats.norm.ppf(0.05)
    for _ in range(reps):
        returns = _panel(rng).T
        hits = (returns < var).reshape(-1)
        out = kupiec_clustered(hits, 0.05, dates)
        boot += out["pvalue"] < 0.05
        chi2 += stats.chi2.sf(out["lr"], 1) < 0.05
    assert 0.025 <= boot / reps <= 0.065 < chi2 / reps
    again = kupiec_clustered(hits, 0.05, dates)
    assert again == out  # deterministic


def test_kupiec_clustered_matches_a_brute_force_beta_binomial_likelihood_ratio() -> None:
    """An independent computation: the beta-binomial maximised on a fine grid of (mean,
    correlation) by scipy's own distribution, not by the function's optimiser."""
    rng = np.random.default_rng(3)
    x = _panel(rng)
    hits = (x < stats.norm.ppf(0.05)).reshape(-1)
    dates = np.tile(np.arange(DATES), SERIES)
    k = np.bincount(dates, weights=hits).astype(int)
    n = np.full(DATES, SERIES)

    def nll(mu: float, rho: float) -> float:
        s = (1 - rho) / rho
        return float(-stats.betabinom.logpmf(k, n, mu * s, (1 - mu) * s).sum())

    rhos = np.linspace(1e-4, 0.9, 400)
    null = min(nll(0.05, r) for r in rhos)
    alt = optimize.minimize(
        lambda v: nll(v[0], v[1]), [hits.mean(), 0.2], method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-10},
    ).fun  # fmt: skip
    want = 2 * (null - min(alt, null))
    got = kupiec_clustered(hits, 0.05, dates)
    assert got["lr"] == pytest.approx(want, abs=2e-3)
    assert got["rho"] > 0.05  # the shared shock is seen


@pytest.mark.parametrize("p", [0.05, 0.10])
def test_kupiec_clustered_holds_its_size_on_a_panel_with_a_market_shock(p: float) -> None:
    rng = np.random.default_rng(11)
    dates = np.tile(np.arange(DATES), SERIES)
    clustered, pooled = [], []
    for _ in range(300):
        hits = (_panel(rng) < stats.norm.ppf(p)).reshape(-1)
        clustered.append(kupiec_clustered(hits, p, dates)["pvalue"] < 0.05)
        pooled.append(kupiec_pof(hits, p)["pvalue"] < 0.05)
    assert np.mean(pooled) > 0.2  # the old pooled test: far oversized
    assert 0.015 <= np.mean(clustered) <= 0.09


def test_kupiec_clustered_still_rejects_a_wrong_rate() -> None:
    rng = np.random.default_rng(5)
    dates = np.tile(np.arange(DATES), SERIES)
    hits = (_panel(rng) < stats.norm.ppf(0.12)).reshape(-1)  # 12 % misses for a 5 % VaR
    assert kupiec_clustered(hits, 0.05, dates)["pvalue"] < 0.01


def test_equicorrelation_recovers_the_common_share() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([_panel(rng, 0.3) for _ in range(10)], axis=1)
    labels = np.tile(np.arange(x.shape[1]), SERIES)
    assert equicorrelation(x.reshape(-1), labels) == pytest.approx(0.3, abs=0.05)


def test_independence_clustered_agrees_with_christoffersen_on_one_series() -> None:
    """Both test the first-order dependence of the misses; on one long series (no shared
    dates) the score statistic and the likelihood ratio agree near the null, and both
    reject dependent misses."""
    rng = np.random.default_rng(4)
    for _ in range(5):
        hits = rng.random(5000) < 0.1
        score = independence_clustered(hits, np.zeros(5000), np.arange(5000))
        lr = christoffersen(hits, 0.1)["ind_lr"]
        assert abs(score["lr"] - lr) < 0.3 + 0.15 * lr
    hits = np.zeros(5000, dtype=bool)
    for t in range(1, 5000):  # misses that cluster: P(miss | miss) = 0.2
        hits[t] = rng.random() < (0.2 if hits[t - 1] else 0.09)
    score = independence_clustered(hits, np.zeros(5000), np.arange(5000))
    assert score["pvalue"] < 0.01 and christoffersen(hits, 0.1)["ind_pvalue"] < 0.01
    assert score["statistic"] > 0  # positive dependence


@pytest.mark.parametrize(("common", "pooled_above", "bound"), [(0.5, 0.0, 0.09), (0.8, 0.25, 0.15)])
def test_independence_clustered_holds_its_size_on_a_panel(
    common: float, pooled_above: float, bound: float
) -> None:
    """Size about 5 % at a common share of 0.5 (pooled transitions: 10 %), about 10 % at
    0.8 (pooled: 37 %), in 400 replications of 20 series x 100 dates."""
    rng = np.random.default_rng(8)
    groups = np.repeat(np.arange(SERIES), DATES)
    dates = np.tile(np.arange(DATES), SERIES)
    rejected, pooled = [], []
    for _ in range(400):
        hits = (np.abs(_panel(rng, common)) > 1.6449).reshape(-1)
        rejected.append(independence_clustered(hits, groups, dates)["pvalue"] < 0.05)
        pooled.append(christoffersen(hits, 0.1, groups=groups)["ind_pvalue"] < 0.05)
    assert np.mean(pooled) > pooled_above
    assert 0.015 <= np.mean(rejected) <= bound


def test_z2_with_clusters_holds_its_size_where_the_independent_null_does_not() -> None:
    rng = np.random.default_rng(9)
    var, es = np.full(SERIES * DATES, 1.6449), np.full(SERIES * DATES, 2.0627)
    dates = np.tile(np.arange(DATES), SERIES)
    clustered, plain = [], []
    for i in range(120):
        r = _panel(rng).reshape(-1)
        clustered.append(
            acerbi_szekely_test(r, var, es, 0.05, n_sims=400, seed=i, clusters=dates)["pvalue"]
            < 0.05
        )
        plain.append(acerbi_szekely_test(r, var, es, 0.05, n_sims=400, seed=i)["pvalue"] < 0.05)
    assert np.mean(plain) > 0.12
    assert np.mean(clustered) <= 0.1


def _var_rows(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    y = _panel(rng).reshape(-1)
    return y, np.full_like(y, 1.6449), np.full_like(y, 2.0627)


def test_risk_metrics_clusters_pooled_rows_and_says_so() -> None:
    y, v, e = _var_rows(np.random.default_rng(1))
    dates = np.tile(np.arange(DATES), SERIES)
    clustered = risk_metrics(y, {0.05: v}, {0.05: e}, ordered=False, clusters=dates)["levels"]
    pooled = risk_metrics(y, {0.05: v}, {0.05: e}, ordered=False)["levels"]
    entry = clustered["0.05"]
    assert entry["tests"].startswith(f"clustered by date: {DATES} dates")
    assert "tests" not in pooled["0.05"]
    assert entry["kupiec_pvalue"] == pytest.approx(kupiec_clustered(y < -v, 0.05, dates)["pvalue"])
    assert entry["hit_rate"] == pooled["0.05"]["hit_rate"]
    # one row per date (a single series): the plain tests, unchanged
    one = risk_metrics(y[:DATES], {0.05: v[:DATES]}, {0.05: e[:DATES]}, ordered=False,
                       clusters=np.arange(DATES))["levels"]["0.05"]  # fmt: skip
    alone = risk_metrics(y[:DATES], {0.05: v[:DATES]}, {0.05: e[:DATES]}, ordered=False)
    assert one == alone["levels"]["0.05"]


def test_interval_summary_of_a_panel_uses_the_clustered_tests() -> None:
    rng = np.random.default_rng(6)
    y = _panel(rng)
    days = pd.bdate_range("2020-01-01", periods=DATES)
    rows = pd.DataFrame(
        {
            "id": np.repeat([f"s{i:02d}" for i in range(SERIES)], DATES),
            "date": np.tile(days, SERIES),
            "fold": 0,
            "horizon": 1,
            "model": "naive",
            "y_true": y.reshape(-1),
            "y_pred": 0.0,
            "lo_0.9": -1.6449,
            "hi_0.9": 1.6449,
        }
    )
    m = interval_summary(rows)["models"]["naive"]["0.9"]
    assert m["tests"].startswith(f"clustered by date: {DATES} dates")
    hits = (np.abs(y) > 1.6449).reshape(-1)
    dates = np.tile(np.arange(DATES), SERIES)
    assert m["kupiec_pvalue"] == pytest.approx(kupiec_clustered(hits, 0.1, dates)["pvalue"])
    single = interval_summary(rows[rows["id"] == "s00"])["models"]["naive"]["0.9"]
    assert "tests" not in single
