"""Pesaran-Timmermann, Mincer-Zarnowitz and the deflated Sharpe ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from fincast.metrics.forecast_tests import (
    deflated_sharpe_from_returns,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    mincer_zarnowitz,
    newey_west_lags,
    pesaran_timmermann,
    probabilistic_sharpe_ratio,
)


@pytest.mark.parametrize("seed", range(5))
def test_pt_squared_matches_the_pearson_test_of_the_sign_table(seed: int) -> None:
    # PT is asymptotically the Pearson chi2 test of independence of the 2x2 table of signs
    # (Pesaran & Timmermann 1992, section 3): an independent computation by scipy.
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(3000)
    f = rng.uniform(0, 0.2) * a + rng.standard_normal(3000)
    table = [
        [np.sum((a > 0) & (f > 0)), np.sum((a > 0) & (f <= 0))],
        [np.sum((a <= 0) & (f > 0)), np.sum((a <= 0) & (f <= 0))],
    ]
    chi2 = stats.chi2_contingency(table, correction=False).statistic
    r = pesaran_timmermann(a, f)
    assert r["statistic"] ** 2 == pytest.approx(chi2, rel=0.01)
    assert r["hit_rate"] == pytest.approx(np.mean((a > 0) == (f > 0)))


def test_pt_hand_computed_and_degenerate_cases() -> None:
    r = pesaran_timmermann([1, 0, 1, 0] * 25, [1, 0, 1, 0] * 25)
    # P = 1, P* = 0.5, V(P) = 0.25/100, V(P*) = 4 * 0.0625 / 100**2
    assert r["statistic"] == pytest.approx(0.5 / math.sqrt(0.0025 - 0.000025))
    assert r["pvalue"] < 1e-20
    const = pesaran_timmermann([1, 0, 1, 1], [1, 1, 1, 1])
    assert const["statistic"] is None and const["hit_rate"] == 0.75
    assert pesaran_timmermann([], [])["n"] == 0


def test_pt_size_under_independence() -> None:
    rng = np.random.default_rng(2)
    p = [
        pesaran_timmermann(rng.normal(size=500), rng.normal(size=500))["pvalue"] for _ in range(600)
    ]
    assert 0.025 < np.mean(np.array(p) < 0.05) < 0.08


def test_mincer_zarnowitz_matches_a_direct_least_squares_f_test() -> None:
    rng = np.random.default_rng(0)
    f = rng.uniform(0.5, 2.0, 300)
    a = 0.1 + 0.8 * f + rng.normal(0, 0.3, 300)
    r = mincer_zarnowitz(a, f)
    x = np.column_stack([np.ones(300), f])
    b, *_ = np.linalg.lstsq(x, a, rcond=None)
    resid = a - x @ b
    s2 = resid @ resid / (300 - 2)
    d = b - np.array([0.0, 1.0])
    fstat = d @ np.linalg.solve(np.linalg.inv(x.T @ x), d) / 2 / s2
    assert (r["alpha"], r["beta"]) == pytest.approx(tuple(b))
    assert r["statistic"] == pytest.approx(fstat)
    assert r["pvalue"] == pytest.approx(stats.f.sf(fstat, 2, 298))
    assert r["test"] == "F" and r["r2"] == pytest.approx(
        1 - resid @ resid / np.sum((a - a.mean()) ** 2)
    )


def test_mincer_zarnowitz_accepts_an_unbiased_forecast_and_rejects_a_biased_one() -> None:
    rng = np.random.default_rng(1)
    f = rng.uniform(0.5, 2.0, 2000)
    unbiased = f + rng.normal(0, 0.3, 2000)
    assert mincer_zarnowitz(unbiased, f, hac_lags=5)["pvalue"] > 0.01
    hac = mincer_zarnowitz(0.5 * unbiased, f, hac_lags=newey_west_lags(2000))
    assert hac["test"] == "wald_hac" and hac["pvalue"] < 1e-6
    assert mincer_zarnowitz([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])["beta"] is None
    assert newey_west_lags(100) == 4


def test_deflated_sharpe_ratio_reproduces_the_paper_example() -> None:
    # Bailey & Lopez de Prado (2014), section "A numerical example": annualised SR 2.5 over
    # 5 years of daily returns (T = 1250), N = 100 trials with annualised variance 0.5 of
    # their Sharpe ratios, skewness -3, kurtosis 10 -> DSR = 0.9004.
    daily = 1 / math.sqrt(250)
    r = deflated_sharpe_ratio(2.5 * daily, 1250, 100, 0.5 / 250, skew=-3.0, kurtosis=10.0)
    assert round(r["dsr"], 4) == 0.9004
    assert r["sr0"] / daily == pytest.approx(1.7894, abs=1e-4)
    assert r["psr"] > r["dsr"]


def test_expected_max_sharpe_is_close_to_a_simulated_maximum() -> None:
    rng = np.random.default_rng(0)
    for n in (10, 100, 1000):
        simulated = rng.standard_normal((4000, n)).max(axis=1).mean()
        assert expected_max_sharpe(n, 1.0) == pytest.approx(simulated, rel=0.03)
    assert expected_max_sharpe(1, 1.0) == 0.0


def test_psr_for_normal_returns_is_the_textbook_formula() -> None:
    sr, n = 0.1, 500
    expected = stats.norm.cdf(sr * math.sqrt(n - 1) / math.sqrt(1 + sr**2 / 2))
    assert probabilistic_sharpe_ratio(sr, 0.0, n) == pytest.approx(expected)


def test_deflated_sharpe_from_returns_deflates_the_best_of_many_lucky_trials() -> None:
    rng = np.random.default_rng(0)
    trials = rng.normal(0, 0.01, (200, 750))  # 200 strategies without skill
    sharpes = trials.mean(axis=1) / trials.std(axis=1, ddof=1)
    best = trials[np.argmax(sharpes)]
    r = deflated_sharpe_from_returns(best, sharpes)
    assert r["n_trials"] == 200 and r["sharpe"] == pytest.approx(sharpes.max())
    assert r["psr"] > 0.99  # taken alone, the winner looks significant
    assert r["dsr"] < 0.95  # after counting the trials it is not
    direct = deflated_sharpe_ratio(
        r["sharpe"],
        750,
        200,
        float(np.var(sharpes, ddof=1)),
        float(stats.skew(best)),
        float(stats.kurtosis(best, fisher=False)),
    )
    assert r["dsr"] == pytest.approx(direct["dsr"])
    assert deflated_sharpe_from_returns(np.zeros(10), [0.1])["dsr"] is None


def test_mincer_zarnowitz_gives_no_test_on_a_rank_deficient_design():
    """A design of rank < 2 has no unique alpha and beta: no numbers (statsmodels would give
    alpha = beta = 0.506 from a pseudo-inverse here)."""
    import warnings

    from fincast.metrics.forecast_tests import mincer_zarnowitz

    rng = np.random.default_rng(0)
    f = 1.0 + 1e-17 * np.arange(50)  # varies (ptp > 0) but x / f is collinear in floating point
    f[-1] = 1.0 + 1e-15
    a = f + rng.normal(0, 0.1, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and quiet
        out = mincer_zarnowitz(a, f, gls=True)
    assert out["n"] == 50 and out["test"] is None and out["beta"] is None
    ok = mincer_zarnowitz(a, rng.uniform(1, 2, 50), gls=True)  # a full-rank design is tested
    assert ok["test"] == "F_gls" and ok["pvalue"] is not None


def _clustered_sample(seed: int, n_clusters: int, per: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), per)
    x = np.column_stack([np.ones(len(g)), rng.standard_normal(len(g))])
    y = x @ [0.1, 1.0] + rng.standard_normal(len(g)) + rng.standard_normal(n_clusters)[g]
    return y, x, g


def test_wild_cluster_wald_matches_a_refit_of_every_draw_by_statsmodels() -> None:
    # An independent computation: draw the same Webb weights, rebuild y* row by row, refit
    # with statsmodels' clustered covariance and count the draws at least as extreme.
    from statsmodels.regression.linear_model import OLS

    from fincast.metrics.forecast_tests import _WEBB, wild_cluster_wald

    y, x, g = _clustered_sample(1, 12, 15)
    null = np.array([0.0, 1.0])
    got = wild_cluster_wald(y, x, g, null, reps=199, seed=3)

    def clustered_wald(target: np.ndarray) -> float:
        fit = OLS(target, x).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
        test = fit.wald_test((np.eye(2), null), scalar=True, use_f=False)
        return float(test.statistic)

    observed = clustered_wald(y)
    assert got["statistic"] == pytest.approx(observed, rel=1e-10)
    v = _WEBB[np.random.default_rng(3).integers(0, 6, size=(12, 199))]
    u0 = y - x @ null
    draws = np.array([clustered_wald(x @ null + u0 * v[g, b]) for b in range(199)])
    assert got["pvalue"] == pytest.approx((1 + np.sum(draws >= observed)) / 200, abs=1e-12)
    assert got["clusters"] == 12
    assert wild_cluster_wald(y, x, g, null, reps=199, seed=3) == got  # deterministic


def test_wild_cluster_wald_holds_its_size_where_the_clustered_f_test_does_not() -> None:
    # 10 clusters with a strong common shock and a regressor that is constant within a
    # cluster: the CR1 F test over-rejects a true null; the wild bootstrap stays near 5 %.
    from statsmodels.regression.linear_model import OLS

    from fincast.metrics.forecast_tests import wild_cluster_wald

    rng = np.random.default_rng(7)
    f_rej, wild_rej, reps = 0, 0, 300
    g = np.repeat(np.arange(10), 20)
    null = np.array([0.0, 1.0])
    for i in range(reps):
        xc = np.exp(rng.standard_normal(10))[g]
        x = np.column_stack([np.ones(200), xc])
        y = xc + xc * (rng.standard_normal(10)[g] + 0.5 * rng.standard_normal(200))
        fit = OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
        f_rej += fit.wald_test((np.eye(2), null), scalar=True, use_f=True).pvalue < 0.05
        wild_rej += wild_cluster_wald(y, x, g, null, reps=199, seed=i)["pvalue"] < 0.05
    assert f_rej / reps > 0.10
    assert 0.02 <= wild_rej / reps <= 0.08


def test_mincer_zarnowitz_with_few_clusters_takes_the_wild_bootstrap_p_value() -> None:
    rng = np.random.default_rng(2)
    dates = np.repeat(np.arange(40), 5)
    f = np.exp(rng.standard_normal(200))
    a = f * rng.chisquare(1, 200)
    few = mincer_zarnowitz(a, f, clusters=dates, gls=True)
    assert few["test"] == "F_gls_wild_cluster"
    assert 0 < few["pvalue"] <= 1
    many = np.repeat(np.arange(50), 4)
    assert mincer_zarnowitz(a, f, clusters=many, gls=True)["test"] == "F_gls_cluster"
