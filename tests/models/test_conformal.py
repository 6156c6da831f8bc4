"""Split and adaptive conformal intervals: finite-sample guarantee, GARCH coverage, no look-ahead."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast.errors import ConfigError, DataError
from fincast.models.conformal import adaptive_conformal, conformal_quantile, split_conformal


def garch(n: int, seed: int, omega: float = 0.05, a: float = 0.1, b: float = 0.85):
    """Returns and conditional volatility of a Gaussian GARCH(1, 1) (persistence 0.95)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    s2, r = np.empty(n), np.empty(n)
    s2[0] = omega / (1 - a - b)
    for t in range(n):
        if t:
            s2[t] = omega + a * r[t - 1] ** 2 + b * s2[t - 1]
        r[t] = np.sqrt(s2[t]) * z[t]
    return r, np.sqrt(s2)


def walk_forward(seed: int, folds: int = 10, block: int = 250, val: int = 250):
    """Per fold: the 250-row validation tail (gap 1) and the next 250 test rows; zero forecast."""
    r, sig = garch(val + 1 + folds * block, seed)
    start = val + 1
    out = {"split": [], "aci": [], "sigma": []}
    for k in range(folds):
        a0 = start + k * block
        v, y, p = r[a0 - val - 1 : a0 - 1], r[a0 : a0 + block], np.zeros(block)
        lo, hi = split_conformal(v, p, [0.9])[0.9]
        out["split"].append((y >= lo) & (y <= hi))
        lo, hi = adaptive_conformal(v, p, y, 0.9, gamma=0.005)
        out["aci"].append((y >= lo) & (y <= hi))
        out["sigma"].append(sig[a0 : a0 + block])
    return {k: np.concatenate(v) for k, v in out.items()}


def test_conformal_quantile_is_the_corrected_order_statistic() -> None:
    s = np.arange(1.0, 20.0)  # 19 scores: level 0.9 -> the ceil(20 * 0.9) = 18th
    assert conformal_quantile(s, 0.9) == 18.0
    assert conformal_quantile(s, 0.96) == float("inf")  # ceil(20 * 0.96) = 20 > 19
    assert conformal_quantile([3.0, np.nan, 1.0], 0.5) == 3.0


def test_split_conformal_has_its_finite_sample_coverage_on_exchangeable_data() -> None:
    # Lei et al. (2018), thm 2.2: coverage in [level, level + 1/(n+1)]; n = 19, level 0.9
    # gives exactly 18/20 = 0.9 on average over calibration draws.
    rng = np.random.default_rng(0)
    res = rng.standard_t(3, (20_000, 19))
    y = rng.standard_t(3, 20_000)
    q = np.array([conformal_quantile(np.abs(row), 0.9) for row in res])
    assert np.mean(np.abs(y) <= q) == pytest.approx(0.9, abs=0.006)


def test_split_conformal_works_per_horizon() -> None:
    res = np.column_stack([np.linspace(-1, 1, 99), np.linspace(-3, 3, 99)])
    pred = np.array([[0.0, 10.0], [1.0, 11.0]])
    lo, hi = split_conformal(res, pred, [0.5])[0.5]
    q0 = conformal_quantile(np.abs(res[:, 0]), 0.5)
    q1 = conformal_quantile(np.abs(res[:, 1]), 0.5)
    assert np.allclose(hi - pred, [[q0, q1], [q0, q1]]) and np.allclose(pred - lo, hi - pred)
    assert q1 == pytest.approx(3 * q0)
    with pytest.raises(DataError, match="horizons"):
        split_conformal(res, np.zeros(3), [0.9])
    with pytest.raises(ConfigError, match=r"\(0, 1\)"):
        split_conformal(res[:, 0], np.zeros(3), [90])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_90_percent_intervals_cover_90_percent_of_a_garch_process(seed: int) -> None:
    # issue 15: coverage of 90 % intervals outside [0.87, 0.93] over >= 2,000 test rows fails
    cover = walk_forward(seed)
    assert len(cover["split"]) == 2500
    assert 0.87 <= cover["split"].mean() <= 0.93
    assert 0.87 <= cover["aci"].mean() <= 0.93


def test_aci_covers_better_than_split_conformal_when_volatility_is_high() -> None:
    # Measured over seeds 0-19 (the report): in the top decile of the true conditional
    # volatility split conformal covers 0.73 on average, ACI 0.81; both below 0.90.
    high_split, high_aci = [], []
    for seed in range(5):
        c = walk_forward(seed)
        high = c["sigma"] >= np.quantile(c["sigma"], 0.9)
        high_split.append(c["split"][high].mean())
        high_aci.append(c["aci"][high].mean())
    assert np.mean(high_aci) > np.mean(high_split) + 0.03
    assert np.mean(high_aci) < 0.9  # not conditional coverage: still too narrow there


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), cut=st.integers(1, 59), delay=st.integers(1, 5))
def test_aci_never_uses_an_outcome_before_it_is_known(seed: int, cut: int, delay: int) -> None:
    rng = np.random.default_rng(seed)
    val, pred, true = rng.normal(size=40), rng.normal(size=60), rng.normal(size=60)
    lo, hi = adaptive_conformal(val, pred, true, 0.8, gamma=0.05, delay=delay)
    changed = true.copy()
    changed[cut:] += rng.normal(0, 10, 60 - cut)  # outcomes from row `cut` on
    lo2, hi2 = adaptive_conformal(val, pred, changed, 0.8, gamma=0.05, delay=delay)
    known = cut + delay  # rows before this cannot know y[cut]
    assert np.array_equal(lo[:known], lo2[:known]) and np.array_equal(hi[:known], hi2[:known])


def test_aci_with_no_step_and_no_feedback_is_split_conformal() -> None:
    rng = np.random.default_rng(4)
    val, pred = rng.normal(size=200), rng.normal(size=50)
    lo, hi = adaptive_conformal(val, pred, np.full(50, np.nan), 0.9, gamma=0.0)
    slo, shi = split_conformal(val, pred, [0.9])[0.9]
    assert np.allclose(lo, slo) and np.allclose(hi, shi)
    with pytest.raises(ConfigError, match="delay"):
        adaptive_conformal(val, pred, pred, 0.9, delay=0)
