"""Coverage, width, Winkler score and pinball loss, checked against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast.errors import DataError
from fincast.metrics.intervals import (
    coverage,
    interval_metrics,
    mean_width,
    pinball_loss,
    winkler_score,
)
from fincast.metrics.risk import christoffersen


def _pinball(y: np.ndarray, q: np.ndarray, tau: float) -> float:
    u = y - q
    return float(np.mean(np.where(u >= 0, tau * u, (tau - 1) * u)))


def test_hand_computed_example() -> None:
    y = np.array([1.0, 2.0, 5.0, -1.0])
    lo, hi = np.zeros(4), np.full(4, 3.0)
    assert coverage(y, lo, hi) == 0.5
    assert mean_width(lo, hi) == 3.0
    # misses: 5 above by 2, -1 below by 1; alpha = 0.2 -> penalty 10 per unit
    assert winkler_score(y, lo, hi, 0.8) == pytest.approx(3.0 + 10.0 * 3 / 4)
    assert pinball_loss([1.0, 3.0], [2.0, 2.0], 0.9) == pytest.approx(0.5)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    level=st.floats(0.05, 0.99),
    n=st.integers(1, 200),
)
def test_winkler_is_the_scaled_sum_of_the_two_pinball_losses(
    seed: int, level: float, n: int
) -> None:
    # Gneiting & Raftery (2007), section 6.2: interval score = (2/alpha) * (QS_{alpha/2} +
    # QS_{1-alpha/2}) for the pinball loss QS, an independent route to the same number.
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    lo = rng.normal(-1, 1, n)
    hi = lo + rng.exponential(1.0, n)
    alpha = 1 - level
    expected = 2 / alpha * (_pinball(y, lo, alpha / 2) + _pinball(y, hi, 1 - alpha / 2))
    assert winkler_score(y, lo, hi, level) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert pinball_loss(y, lo, alpha / 2) == pytest.approx(_pinball(y, lo, alpha / 2))


def test_non_finite_rows_are_left_out_and_bad_input_is_refused() -> None:
    assert coverage([1.0, np.nan], [0.0, 0.0], [2.0, 2.0]) == 1.0
    assert np.isnan(coverage([np.nan], [0.0], [1.0]))
    with pytest.raises(DataError, match="one length"):
        coverage([1.0], [0.0, 0.0], [1.0, 1.0])
    for bad in (0.0, 1.0, 95.0):
        with pytest.raises(DataError, match=r"\(0, 1\)"):
            winkler_score([1.0], [0.0], [2.0], bad)


def test_interval_metrics_bundle_the_coverage_tests() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    lo, hi = np.full(500, -1.645), np.full(500, 1.645)
    m = interval_metrics(y, lo, hi, 0.9)
    miss = (y < lo) | (y > hi)
    tests = christoffersen(miss, 0.1)
    assert m["misses"] == int(miss.sum()) and m["n"] == 500
    assert m["coverage"] == pytest.approx(1 - miss.mean())
    assert m["kupiec_pvalue"] == pytest.approx(tests["uc_pvalue"])
    assert m["independence_pvalue"] == pytest.approx(tests["ind_pvalue"])
    assert m["cc_pvalue"] == pytest.approx(tests["cc_pvalue"])
    narrow = interval_metrics(y, lo / 2, hi / 2, 0.9)
    assert narrow["kupiec_pvalue"] < 1e-6  # too narrow: the test sees it
