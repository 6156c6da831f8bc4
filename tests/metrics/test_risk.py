"""VaR/ES and interval-miss backtests against published tables and independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fincast.errors import DataError
from fincast.metrics.risk import (
    BASEL_PLUS_FACTORS,
    acerbi_szekely_test,
    acerbi_szekely_z2,
    basel_zone,
    christoffersen,
    kupiec_pof,
    var_backtest,
)


def _seq(misses: int, n: int) -> np.ndarray:
    return np.array([True] * misses + [False] * (n - misses))


@pytest.mark.parametrize("p", [0.01, 0.05, 0.2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kupiec_equals_the_binomial_likelihood_ratio(p: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 2000))
    hits = rng.random(n) < p * rng.uniform(0.5, 2.0)
    x = int(hits.sum())
    # independent: the binomial coefficient cancels in the ratio of two binomial pmfs
    lr = 2 * (stats.binom.logpmf(x, n, x / n) - stats.binom.logpmf(x, n, p))
    r = kupiec_pof(hits, p)
    assert r["misses"] == x and r["n"] == n
    assert r["lr"] == pytest.approx(lr, rel=1e-9, abs=1e-9)
    assert r["pvalue"] == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-9, abs=1e-12)


# Kupiec (1995) non-rejection regions at the 5 % level, as printed in Jorion, "Value at
# Risk" (3rd ed., 2007), Table 6-2: (p, T) -> (lower, upper) with lower < N < upper.
# The table prints "N < 7" for p = 1 %, T = 255; the LR statistic of N = 0 is
# -2 * 255 * ln(0.99) = 5.13 > 3.84, so the test rejects N = 0 there (the table leaves out
# lower bounds of 0 exceptions); that one lower bound is not asserted.
JORION = {
    (0.01, 255): (None, 7),
    (0.01, 510): (1, 11),
    (0.01, 1000): (4, 17),
    (0.025, 255): (2, 12),
    (0.025, 510): (6, 21),
    (0.025, 1000): (15, 36),
    (0.05, 255): (6, 21),
    (0.05, 510): (16, 36),
    (0.05, 1000): (37, 65),
}


@pytest.mark.parametrize(("p", "n"), sorted(JORION))
def test_kupiec_reproduces_the_published_non_rejection_regions(p: float, n: int) -> None:
    accepted = [x for x in range(n // 5) if kupiec_pof(_seq(x, n), p)["pvalue"] > 0.05]
    lower, upper = JORION[(p, n)]
    assert max(accepted) == upper - 1
    if lower is not None:
        assert min(accepted) == lower + 1
    assert accepted == list(range(min(accepted), max(accepted) + 1))


def test_kupiec_holds_its_size_under_the_null() -> None:
    rng = np.random.default_rng(7)
    pvalues = [kupiec_pof(rng.random(1000) < 0.05, 0.05)["pvalue"] for _ in range(1000)]
    assert 0.03 < np.mean(np.array(pvalues) < 0.05) < 0.08


def test_christoffersen_independence_is_the_g_test_of_the_transition_table() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        hits = rng.random(int(rng.integers(100, 800))) < rng.uniform(0.02, 0.3)
        r = christoffersen(hits, 0.05)
        table = np.array(r["transitions"])
        assert table.sum() == len(hits) - 1
        if (table.sum(axis=0) > 0).all() and (table.sum(axis=1) > 0).all():
            g = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
            assert r["ind_lr"] == pytest.approx(g.statistic, rel=1e-8, abs=1e-10)
        # LR_cc = LR_uc on the n - 1 transitions + LR_ind (Christoffersen 1998)
        uc_transitions = kupiec_pof(hits[1:], 0.05)["lr"]
        assert r["cc_lr"] == pytest.approx(uc_transitions + r["ind_lr"], rel=1e-8, abs=1e-10)
        assert r["cc_pvalue"] == pytest.approx(stats.chi2.sf(r["cc_lr"], 2))


def test_christoffersen_rejects_clustered_misses_but_not_independent_ones() -> None:
    rng = np.random.default_rng(11)
    iid = rng.random(1000) < 0.05
    clustered = np.zeros(1000, dtype=bool)
    for start in rng.choice(np.arange(0, 990, 20), size=10, replace=False):
        clustered[start : start + 5] = True  # 50 misses, the right rate, in bursts
    assert christoffersen(iid, 0.05)["ind_pvalue"] > 0.05
    r = christoffersen(clustered, 0.05)
    assert r["uc_pvalue"] > 0.5  # exactly 5 % misses
    assert r["ind_pvalue"] < 1e-6 and r["cc_pvalue"] < 1e-6


def test_christoffersen_counts_transitions() -> None:
    r = christoffersen([0, 1, 1, 0, 0, 1], 0.1)
    assert r["transitions"] == [[1, 2], [1, 1]]
    assert np.isnan(christoffersen([True], 0.1)["ind_lr"])


# Basel Committee (1996), Table 2: cumulative probability (%) of k or fewer exceptions of
# a 99 % VaR in 250 days, the zone and the plus factor.
BASEL_TABLE = [
    (0, 8.11, "green", 0.00),
    (1, 28.58, "green", 0.00),
    (2, 54.32, "green", 0.00),
    (3, 75.81, "green", 0.00),
    (4, 89.22, "green", 0.00),
    (5, 95.88, "yellow", 0.40),
    (6, 98.63, "yellow", 0.50),
    (7, 99.60, "yellow", 0.65),
    (8, 99.89, "yellow", 0.75),
    (9, 99.97, "yellow", 0.85),
    (10, 99.99, "red", 1.00),
]


@pytest.mark.parametrize(("k", "cum", "zone", "plus"), BASEL_TABLE)
def test_basel_zone_reproduces_the_1996_table(k: int, cum: float, zone: str, plus: float) -> None:
    r = basel_zone(k)
    assert round(100 * r["cumulative_probability"], 2) == cum
    assert r["zone"] == zone
    assert r["plus_factor"] == plus


def test_basel_zone_beyond_the_table_and_other_samples() -> None:
    assert basel_zone(25)["zone"] == "red" and basel_zone(25)["plus_factor"] == 1.0
    assert BASEL_PLUS_FACTORS[9] == 0.85
    assert basel_zone(10, n=500)["plus_factor"] is None
    assert basel_zone(10, n=500)["zone"] == "yellow"  # P(X <= 10 | 500, 1 %) = 98.6 %
    with pytest.raises(DataError):
        basel_zone(300, n=250)


def test_var_backtest_uses_the_last_250_days_for_the_zone() -> None:
    r = np.zeros(600)
    r[:20] = -1.0  # 20 old exceptions, none in the last 250 days
    out = var_backtest(r, np.full(600, 0.5), alpha=0.01)
    assert out["exceptions"] == 20 and out["hit_rate"] == pytest.approx(20 / 600)
    assert out["basel_zone"] == "green"
    assert out["kupiec_pvalue"] < 0.05
    r[-250:-240] = -1.0
    assert var_backtest(r, np.full(600, 0.5), alpha=0.01)["basel_zone"] == "red"
    assert var_backtest(r, np.full(600, 0.5), alpha=0.05)["basel_zone"] is None


def _normal_var_es(alpha: float, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = stats.norm.ppf(alpha)
    return -z * sigma, stats.norm.pdf(z) / alpha * sigma


def test_z2_is_zero_on_average_when_the_forecast_is_right() -> None:
    rng = np.random.default_rng(0)
    sigma = np.exp(rng.normal(0, 0.5, 200_000))
    var, es = _normal_var_es(0.025, sigma)
    assert acerbi_szekely_z2(sigma * rng.standard_normal(len(sigma)), var, es, 0.025) == (
        pytest.approx(0.0, abs=0.03)
    )


def test_z2_simulated_critical_values_match_the_paper() -> None:
    # Acerbi & Szekely (2014): for alpha = 2.5 % and T = 250 the Z2 test's critical values
    # are about -0.70 (5 %) and -1.8 (0.01 %).
    var, es = _normal_var_es(0.025, np.ones(250))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40_000, 250))
    z2 = np.array([acerbi_szekely_z2(row, var, es, 0.025) for row in x[:2000]])
    assert np.quantile(z2, 0.05) == pytest.approx(-0.70, abs=0.08)
    z_all = np.sum(x * (x + var < 0) / es, axis=1) / (250 * 0.025) + 1
    assert np.quantile(z_all, 0.05) == pytest.approx(-0.70, abs=0.02)
    assert np.quantile(z_all, 0.0001) == pytest.approx(-1.8, abs=0.15)


def test_z2_test_sees_a_tail_the_var_backtest_cannot() -> None:
    # Returns from a Student t(3) scaled so that its 2.5 % quantile is the forecast VaR:
    # the VaR is right (Kupiec cannot object) but the ES of the normal forecast is too small.
    alpha, n = 0.025, 2500
    sigma = np.full(n, 0.01)
    var, es = _normal_var_es(alpha, sigma)
    scale = stats.norm.ppf(alpha) / stats.t.ppf(alpha, 3)
    rng = np.random.default_rng(0)
    z2_p, kupiec_p = [], []
    for seed in range(10):
        fat = sigma * scale * rng.standard_t(3, n)
        z2_p.append(acerbi_szekely_test(fat, var, es, alpha, n_sims=500, seed=seed)["pvalue"])
        kupiec_p.append(kupiec_pof(fat < -var, alpha)["pvalue"])
    assert np.mean(np.array(z2_p) < 0.05) >= 0.5
    assert np.mean(np.array(kupiec_p) < 0.05) <= 0.2
    right = acerbi_szekely_test(sigma * rng.standard_normal(n), var, es, alpha, n_sims=500)
    assert right["pvalue"] > 0.05
    # a user-supplied null sampler gives the same answer as the default normal one
    custom = acerbi_szekely_test(
        fat, var, es, alpha, n_sims=500, sample=lambda g, s: 0.01 * g.standard_normal((s, n))
    )
    default = acerbi_szekely_test(fat, var, es, alpha, n_sims=500)
    assert custom["pvalue"] == pytest.approx(default["pvalue"], abs=0.03)
    assert acerbi_szekely_test(fat, var, es, alpha, n_sims=500) == default  # seeded


def test_risk_inputs_are_checked() -> None:
    with pytest.raises(DataError, match=r"\(0, 1\)"):
        kupiec_pof([True, False], 1.5)
    with pytest.raises(DataError, match="0/1"):
        kupiec_pof([0, 2], 0.1)
    with pytest.raises(DataError, match="length"):
        acerbi_szekely_z2([0.0, 1.0], [1.0], [2.0], 0.025)
    with pytest.raises(DataError, match="ES must exceed VaR"):
        acerbi_szekely_test([0.0], [2.0], [1.0], 0.025)
