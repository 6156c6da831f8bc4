"""Deflated Sharpe ratio and probability of backtest overfitting of a search."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from fincast.metrics.forecast_tests import deflated_sharpe_ratio
from fincast.tune.overfitting import (
    PBO_MIN_TRIALS,
    backtest_dsr,
    cscv_pbo,
    overfitting_summary,
)


def _pbo_by_hand(m: np.ndarray, s: int) -> float:
    """An independent CSCV: explicit loops, ranks by counting, Sharpe via scipy.stats."""
    size = len(m) // s
    n = m.shape[1]
    below = total = 0
    for chosen in itertools.combinations(range(s), s // 2):
        is_rows = [r for b in chosen for r in range(b * size, (b + 1) * size)]
        os_rows = [r for b in range(s) if b not in chosen for r in range(b * size, (b + 1) * size)]
        sr_is = [np.mean(m[is_rows, j]) / np.std(m[is_rows, j], ddof=1) for j in range(n)]
        sr_os = [np.mean(m[os_rows, j]) / np.std(m[os_rows, j], ddof=1) for j in range(n)]
        best = int(np.argmax(sr_is))
        worse = sum(v < sr_os[best] for v in sr_os)
        ties = sum(v == sr_os[best] for v in sr_os)
        rank = worse + (ties + 1) / 2
        omega = rank / (n + 1)
        below += np.log(omega / (1 - omega)) <= 0
        total += 1
    return below / total


def test_cscv_matches_an_independent_computation():
    rng = np.random.default_rng(5)
    m = rng.normal(0, 0.01, (96, 7))
    m[:, 3] += 0.002
    assert cscv_pbo(m, n_blocks=6)["pbo"] == pytest.approx(_pbo_by_hand(m, 6))
    assert cscv_pbo(m, n_blocks=6)["n_splits"] == 20


def test_a_two_trial_example_by_hand():
    # blocks: trial 0 wins block 0 and 2, trial 1 wins block 1 and 3 (S = 4, 6 splits);
    # a split whose in-sample half is {0, 2} or {1, 3} picks a trial that loses out of
    # sample (rank 1 of 2: logit(1/3) < 0); the 4 mixed splits depend on the values
    m = np.array(
        [
            [2.0, 0.0],
            [3.0, 1.0],
            [0.0, 2.0],
            [1.0, 3.1],
            [2.0, 0.0],
            [3.1, 1.0],
            [0.0, 2.0],
            [1.0, 3.0],
        ]
    )
    r = cscv_pbo(m, n_blocks=4)
    assert r["n_splits"] == 6
    assert r["pbo"] == pytest.approx(_pbo_by_hand(m, 4))
    assert r["pbo"] >= 2 / 6


def test_noise_overfits_half_the_time_and_real_skill_does_not():
    rng = np.random.default_rng(0)
    pbos = [cscv_pbo(rng.normal(0, 0.01, (320, 20)), n_blocks=8)["pbo"] for _ in range(6)]
    assert 0.3 < np.mean(pbos) < 0.7
    skilled = rng.normal(0, 0.01, (320, 20))
    skilled[:, 7] += 0.006
    assert cscv_pbo(skilled, n_blocks=8)["pbo"] < 0.05


def test_deflated_sharpe_counts_every_trial_tried_and_says_when_it_is_not_significant():
    rng = np.random.default_rng(1)
    trials = [rng.normal(0, 0.01, 250) for _ in range(12)]
    best = int(np.argmax([t.mean() / t.std(ddof=1) for t in trials]))
    out = overfitting_summary(trials, best, n_tried=30, periods_per_year=252)
    r = trials[best]
    sharpes = [t.mean() / t.std(ddof=1) for t in trials]
    expected = deflated_sharpe_ratio(
        r.mean() / r.std(ddof=1), 250, 30, float(np.var(sharpes, ddof=1)),
        float(stats.skew(r)), float(stats.kurtosis(r, fisher=False)),
    )  # fmt: skip
    assert out["dsr"] == pytest.approx(expected["dsr"]) and out["n_trials"] == 30
    assert out["significant"] is False and "not significant after deflation" in out["verdict"]
    assert out["sharpe_annual"] == pytest.approx(out["sharpe"] * np.sqrt(252))
    assert "pbo" in out["pbo"] and "overfitting" in out["verdict"]
    # a real edge survives deflation
    trials[0] = rng.normal(0.004, 0.01, 250)
    strong = overfitting_summary(trials, 0, n_tried=30)
    assert strong["significant"] is True and "stays significant" in strong["verdict"]


def test_too_few_trials_or_periods_skip_the_pbo():
    rng = np.random.default_rng(2)
    few = [rng.normal(0, 0.01, 200) for _ in range(PBO_MIN_TRIALS - 1)]
    assert "skipped" in overfitting_summary(few, 0, n_tried=9)["pbo"]
    short = [rng.normal(0, 0.01, 10) for _ in range(PBO_MIN_TRIALS)]
    assert "skipped" in overfitting_summary(short, 0, n_tried=10)["pbo"]
    flat = [np.zeros(50)] * PBO_MIN_TRIALS
    assert overfitting_summary(flat, 0, n_tried=10)["dsr"] is None


def test_the_tuned_backtest_is_deflated_by_the_search():
    rng = np.random.default_rng(4)
    r = rng.normal(0.0008, 0.01, 750)
    summary = {"n_trials": 40, "trial_sharpe_variance": 0.004}
    out = backtest_dsr(r, summary, periods_per_year=252)
    sr = r.mean() / r.std(ddof=1)
    expected = deflated_sharpe_ratio(
        sr, 750, 40, 0.004, float(stats.skew(r)), float(stats.kurtosis(r, fisher=False))
    )
    assert out["dsr"] == pytest.approx(expected["dsr"]) and out["sr0"] > 0
    assert out["significant"] is (expected["dsr"] >= 0.95)
    assert "tuned backtest Sharpe" in out["verdict"] and "40 trials" in out["verdict"]
    # more trials, a higher bar: the DSR falls
    assert backtest_dsr(r, {**summary, "n_trials": 400})["dsr"] < out["dsr"]
    assert backtest_dsr(np.zeros(10), summary)["dsr"] is None
