"""Diebold-Mariano, SPA, MCS and bootstrap intervals."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fincast.errors import ConfigError, DataError
from fincast.metrics.significance import diebold_mariano, significance

# --- Diebold-Mariano ------------------------------------------------------------------------


def test_dm_identical_losses_are_not_significant() -> None:
    loss = np.random.default_rng(0).gamma(2.0, size=50)
    out = diebold_mariano(loss, loss.copy())
    assert out["statistic"] is None and out["p_value"] is None
    assert out["beats_naive_5pct"] is False
    assert out["mean_loss_diff"] == 0.0 and out["n"] == 50


def test_dm_much_smaller_losses_beat_naive() -> None:
    rng = np.random.default_rng(1)
    naive = rng.gamma(2.0, size=200)
    model = 0.3 * naive + rng.gamma(0.5, 0.1, size=200)
    out = diebold_mariano(model, naive, horizon=1)
    assert out["p_value"] < 0.01 and out["beats_naive_5pct"] is True
    assert out["statistic"] < 0 and out["mean_loss_diff"] < 0
    # the reverse comparison is significant the other way
    back = diebold_mariano(naive, model)
    assert back["p_value"] > 0.99 and back["beats_naive_5pct"] is False
    assert back["p_value_two_sided"] == pytest.approx(out["p_value_two_sided"])


def test_dm_by_hand_h1() -> None:
    # d = -2, -1, -3, -1: mean -1.75, γ0 = 2.75 / 4, HLN factor sqrt(3/4)
    out = diebold_mariano(np.array([1.0, 2, 1, 2]), np.array([3.0, 3, 4, 3]))
    dm = -1.75 / math.sqrt(2.75 / 4 / 4)
    expected = dm * math.sqrt(0.75)
    assert out["statistic"] == pytest.approx(expected)
    assert out["p_value"] == pytest.approx(stats.t.cdf(expected, df=3))
    assert out["p_value_two_sided"] == pytest.approx(2 * stats.t.sf(abs(expected), df=3))
    assert out["variance"] == "uniform"


def test_dm_direct_computation_h3() -> None:
    d = np.array([0.5, -1.0, -0.2, -1.5, 0.3, -0.8, -1.1, 0.4, -0.6, -0.9])
    n, h = len(d), 3
    e = d - d.mean()
    gamma = [sum(e[t] * e[t - k] for t in range(k, n)) / n for k in range(h)]
    variance = gamma[0] + 2 * (gamma[1] + gamma[2])
    assert variance > 0
    hln = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    expected = d.mean() / math.sqrt(variance / n) * hln
    out = diebold_mariano(d + 1.0, np.ones(n), horizon=h)
    assert out["statistic"] == pytest.approx(expected)
    # at h > 1 the t reference has n // h - 1 degrees of freedom (about n / h periods)
    assert out["p_value"] == pytest.approx(stats.t.cdf(expected, df=n // h - 1))


def test_dm_holds_its_size_on_overlapping_targets_with_few_periods() -> None:
    # the loss differential of h-step targets is MA(h - 1): at n 100, h 10 (ten periods) a
    # t reference with n - 1 degrees of freedom rejected a true null in 7.3 % of 2,000
    # samples, n // h - 1 in 5.5 %
    rng = np.random.default_rng(5)
    n, h, reps = 100, 10, 2000
    old = new = 0
    for _ in range(reps):
        d = np.convolve(rng.standard_normal(n + h), np.ones(h), "valid")[:n]
        out = diebold_mariano(d, np.zeros(n), horizon=h)
        new += out["p_value"] < 0.05
        if out["variance"] == "uniform":
            old += stats.t.cdf(out["statistic"], df=n - 1) < 0.05
        else:
            old += out["p_value"] < 0.05
    assert 0.03 <= new / reps <= 0.065 < old / reps


def _r_dm_test(d: np.ndarray, h: int) -> tuple[float, float]:
    """R's forecast::dm.test (varestimator "acf", alternative "less"), step by step:
    acf covariances to lag h - 1, and a call with h = 1 when their sum is negative."""
    n = len(d)
    e = d - d.mean()
    acov = [float(e[k:] @ e[: n - k]) / n for k in range(h)]
    var = (acov[0] + 2 * sum(acov[1:])) / n
    if var <= 0:
        return _r_dm_test(d, 1)
    k = ((n + 1 - 2 * h + (h / n) * (h - 1)) / n) ** 0.5
    stat = d.mean() / math.sqrt(var) * k
    return stat, float(stats.t.cdf(stat, df=n - 1))


def test_dm_falls_back_to_h1_as_r_dm_test_when_variance_is_negative() -> None:
    # alternating differential: γ1 = -(n-1)/n, so γ0 + 2γ1 < 0
    d = 0.1 + np.array([1.0, -1, 1, -1, 1, -1])
    out = diebold_mariano(d, np.zeros(6), horizon=2)
    assert out["variance"] == "h1_fallback"
    stat, p = _r_dm_test(d, 2)
    assert out["statistic"] == pytest.approx(stat, rel=1e-12)
    assert out["p_value"] == pytest.approx(p, rel=1e-12)
    # n 40, h 3 with a negative long-run variance: the fallback is the conservative one
    rng = np.random.default_rng(3)
    while True:
        x = rng.normal(0.25, 1.0, 40)
        x[1::2] = -x[::2] + rng.normal(0.6, 0.3, 20)  # strongly negative γ1, γ2
        e = x - x.mean()
        if (e @ e + 2 * (e[1:] @ e[:-1] + e[2:] @ e[:-2])) < 0:
            break
    out = diebold_mariano(-x, np.zeros(40), horizon=3)
    stat, p = _r_dm_test(-x, 3)
    assert out["variance"] == "h1_fallback"
    assert out["p_value"] == pytest.approx(p, rel=1e-12)
    # the former Bartlett fallback (weights 1 - k/3 over 2 lags, HLN of h 3) was smaller
    g = [float(e[k:] @ e[: 40 - k]) / 40 for k in range(3)]
    bart = g[0] + 2 * (2 / 3 * g[1] + 1 / 3 * g[2])
    hln3 = math.sqrt((41 - 6 + 3 * 2 / 40) / 40)
    old_p = stats.t.cdf(-x.mean() / math.sqrt(bart / 40) * hln3, df=39)
    assert bart > 0 and old_p < p


def test_dm_undefined_when_too_few_rows_for_the_horizon() -> None:
    # n + 1 - 2h + h(h-1)/n = 0 at n = h = 3: the HLN factor is not defined
    out = diebold_mariano(np.array([1.0, 2.0, 0.5]), np.zeros(3), horizon=3)
    assert out["statistic"] is None and out["p_value"] is None
    assert "too few rows" in out["reason"]
    assert diebold_mariano(np.array([1.0, 2.0, 0.5, 1.5]), np.zeros(4), horizon=3)["n"] == 4


def test_dm_degenerate_inputs() -> None:
    assert diebold_mariano(np.array([1.0, 2.0]), np.array([2.0, 3.0]))["statistic"] is None
    assert diebold_mariano(np.array([1.0, np.nan, 2, 3]), np.zeros(4))["n"] == 3
    with pytest.raises(ConfigError, match="same length"):
        diebold_mariano(np.ones(3), np.ones(4))
    with pytest.raises(ConfigError, match="horizon"):
        diebold_mariano(np.ones(3), np.ones(3), horizon=0)


# --- significance over a predictions table --------------------------------------------------


def regression_table(n: int = 300, ids: tuple[str, ...] = ("A",), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2018-01-01", periods=n)
    frames = []
    for sid in ids:
        r = rng.normal(0, 0.01, n)
        preds = {
            "naive": np.zeros(n),
            "same": np.zeros(n),
            "noisy": rng.normal(0, 0.01, n),
            "good": r + rng.normal(0, 0.003, n),
        }
        for model, pred in preds.items():
            frames.append(
                pd.DataFrame(
                    {
                        "id": sid,
                        "date": dates,
                        "fold": np.arange(n) // 100,
                        "model": model,
                        "horizon": 1,
                        "y_true": r,
                        "y_pred": pred,
                        "fwd_return": r,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def result() -> dict:
    return significance(regression_table(), "return", bootstrap_reps=300, seed=3)


def test_significance_verdicts(result: dict) -> None:
    models = result["models"]
    assert list(models) == ["same", "noisy", "good"]
    assert result["loss"] == "squared_error" and result["horizon"] == 1
    assert models["good"]["beats_naive"] == "yes" and models["good"]["dm"]["p_value"] < 0.01
    assert models["noisy"]["beats_naive"] == "no"
    assert models["same"]["beats_naive"] == "no" and models["same"]["dm"]["statistic"] is None
    assert models["good"]["dm_by_horizon"]["1"] == models["good"]["dm"]


def test_significance_spa_and_mcs(result: dict) -> None:
    spa = result["spa"]
    assert spa["consistent"] < 0.05
    assert spa["lower"] <= spa["consistent"] <= spa["upper"]
    mcs = result["mcs"]
    assert "good" in mcs["included"] and mcs["pvalues"]["good"] == 1.0
    assert {"naive", "same", "noisy"} <= set(mcs["excluded"])
    assert mcs["pvalues"]["same"] == mcs["pvalues"]["naive"]  # identical losses, one candidate


def test_significance_ci_contains_estimate_and_is_deterministic(result: dict) -> None:
    ci = result["models"]["good"]["ci"]
    assert ci["metric"] == "skill_vs_naive" and ci["level"] == 0.95
    assert ci["low"] <= ci["estimate"] <= ci["high"]
    mse = {}
    table = regression_table()
    for m in ("naive", "good"):
        rows = table[table["model"] == m]
        mse[m] = float(((rows["y_pred"] - rows["y_true"]) ** 2).mean())
    assert ci["estimate"] == pytest.approx(1 - mse["good"] / mse["naive"])
    noisy = result["models"]["noisy"]["ci"]
    assert noisy["low"] <= noisy["estimate"] <= noisy["high"] < 0
    again = significance(table, "return", bootstrap_reps=300, seed=3)
    assert json.dumps(again, sort_keys=True) == json.dumps(result, sort_keys=True)
    other = significance(table, "return", bootstrap_reps=300, seed=4)
    assert other["models"]["good"]["ci"] != ci


def test_significance_is_json_serialisable(result: dict) -> None:
    json.dumps(result, allow_nan=False)


def test_significance_panel_averages_losses_per_date() -> None:
    table = regression_table(n=60, ids=("A", "B"))
    out = significance(table, "return", bootstrap_reps=50)
    assert out["n_periods"] == 60
    sq = (table["y_pred"] - table["y_true"]) ** 2
    per_date = sq.groupby([table["model"], table["date"]]).mean()
    diff = (per_date["good"] - per_date["naive"]).mean()
    assert out["models"]["good"]["dm"]["mean_loss_diff"] == pytest.approx(diff)
    assert out["models"]["good"]["dm"]["n"] == 60


def test_significance_per_horizon_dm() -> None:
    t1 = regression_table(n=80)
    t2 = t1.assign(horizon=3)
    out = significance(pd.concat([t2, t1], ignore_index=True), "return", bootstrap_reps=50)
    assert out["horizon"] == 1
    assert set(out["models"]["good"]["dm_by_horizon"]) == {"1", "3"}


def direction_table(n: int, prob: np.ndarray, y: np.ndarray, naive: np.ndarray) -> pd.DataFrame:
    frames = [
        pd.DataFrame({"model": "naive", "y_pred": naive, "prob": naive}),
        pd.DataFrame({"model": "m", "y_pred": (prob > 0.5).astype(float), "prob": prob}),
    ]
    dates = pd.bdate_range("2020-01-01", periods=n)
    return pd.concat(
        [
            f.assign(id="A", date=dates, fold=0, horizon=1, y_true=y, fwd_return=y - 0.5)
            for f in frames
        ],
        ignore_index=True,
    )


def test_significance_direction_zero_one_loss_and_accuracy_skill() -> None:
    rng = np.random.default_rng(5)
    n = 200
    y = (rng.random(n) > 0.5).astype(float)
    prob = np.clip(0.8 * y + 0.1 + rng.normal(0, 0.05, n), 0, 1)
    naive = rng.integers(0, 2, n).astype(float)
    table = direction_table(n, prob, y, naive)
    out = significance(table, "direction", bootstrap_reps=200)
    assert out["loss"] == "zero_one"
    m = out["models"]["m"]
    assert m["beats_naive"] == "yes"
    skill = float(((prob > 0.5) == y).mean()) - float((naive == y).mean())
    assert m["ci"]["metric"] == "skill_vs_naive" and m["ci"]["estimate"] == pytest.approx(skill)
    assert m["ci"]["low"] <= skill <= m["ci"]["high"]
    assert m["dm"]["mean_loss_diff"] == pytest.approx(-skill)


def test_significance_direction_probabilities_near_half_do_not_beat_hard_naive() -> None:
    # a coin-flip model with probabilities near 0.5 would crush naive's 0/1 "probabilities"
    # on Brier score; on calls (0/1 loss) it is no better, and the verdict must say so
    rng = np.random.default_rng(8)
    n = 300
    y = (rng.random(n) > 0.5).astype(float)
    naive = rng.integers(0, 2, n).astype(float)
    prob = 0.5 + rng.normal(0, 0.01, n)
    out = significance(direction_table(n, prob, y, naive), "direction", bootstrap_reps=100)
    assert out["models"]["m"]["beats_naive"] == "no"


def test_significance_needs_naive_and_valid_options() -> None:
    table = regression_table(n=30)
    with pytest.raises(DataError, match="naive"):
        significance(table[table["model"] != "naive"], "return")
    with pytest.raises(ConfigError, match="alpha"):
        significance(table, "return", alpha=1.5)


def test_significance_only_naive_has_no_joint_tests() -> None:
    table = regression_table(n=30)
    out = significance(table[table["model"] == "naive"], "return", bootstrap_reps=20)
    assert out["models"] == {} and out["spa"] is None and out["mcs"] is None


def test_spa_and_mcs_need_enough_non_overlapping_periods() -> None:
    """Below MIN_PERIODS the bootstrap tests reject a true null too often (docs/guide/size.md):
    they are not run, and the result says why."""
    from fincast.metrics.significance import MIN_PERIODS

    assert MIN_PERIODS == {"spa": 100, "mcs": 200}
    enough = significance(regression_table(n=200), "return", bootstrap_reps=50)
    assert enough["spa"] is not None and enough["mcs"] is not None
    assert "not_computed" not in enough
    # 199 dates at h 1: SPA runs, the MCS does not
    mid = significance(regression_table(n=199), "return", bootstrap_reps=50)
    assert mid["spa"] is not None and mid["mcs"] is None
    assert mid["not_computed"] == {
        "mcs": "199 non-overlapping periods (199 dates at horizon 1); the bootstrap MCS holds "
        "its size from 200"
    }
    # 495 dates at h 5 are 99 periods: neither (the DM tests are still there)
    five = regression_table(n=495).assign(horizon=5)
    short = significance(five, "return", bootstrap_reps=50)
    assert short["spa"] is None and short["mcs"] is None
    assert set(short["not_computed"]) == {"spa", "mcs"}
    assert "99 non-overlapping periods (495 dates at horizon 5)" in short["not_computed"]["spa"]
    assert short["models"]["good"]["dm"]["p_value"] is not None


def test_the_mcs_is_not_computed_beyond_horizon_5() -> None:
    """At h 20 the MCS excluded a model of equal accuracy in 8-10 % of simulations, however
    long the backtest (docs/guide/size.md): beyond MCS_MAX_HORIZON it is not run; SPA is."""
    from fincast.metrics.significance import MCS_MAX_HORIZON

    assert MCS_MAX_HORIZON == 5
    five = significance(regression_table(n=1000).assign(horizon=5), "return", bootstrap_reps=50)
    assert five["mcs"] is not None and "not_computed" not in five
    six = significance(regression_table(n=1200).assign(horizon=6), "return", bootstrap_reps=50)
    assert six["spa"] is not None and six["mcs"] is None
    assert six["not_computed"] == {
        "mcs": "horizon 6: the bootstrap MCS holds its size up to horizon 5 (at 20 it excluded "
        "a model of equal accuracy in 8-10 % of simulations)"
    }
