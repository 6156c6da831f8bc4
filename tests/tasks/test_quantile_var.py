"""The ``quantile`` and ``var`` tasks: levels, columns, naive, baselines, losses and scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from sklearn.metrics import mean_pinball_loss

from fincast.errors import ConfigError
from fincast.metrics.quantile import pinball, quantile_metrics, risk_metrics
from fincast.metrics.summary import compute_metrics
from fincast.models.base import Batch
from fincast.models.registry import make_model
from fincast.tasks import TaskSpec
from fincast.tasks.var import ES_GRID, fz0


def _spec(kind: str, **kw) -> TaskSpec:
    return TaskSpec(kind, (1,), **kw)


# ---- levels --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"quantiles": (0.5, 0.05)}, "increasing order"),
        ({"quantiles": (0.05, 0.05)}, "given twice"),
        ({"quantiles": (0.0, 0.5)}, "outside (0, 1)"),
        ({"quantiles": (0.5, 1.0)}, "outside (0, 1)"),
        ({"quantiles": ()}, "is empty"),
    ],
)
def test_bad_quantile_levels_are_config_errors(kw, words):
    with pytest.raises(ConfigError, match="--quantiles") as err:
        _spec("quantile", **kw)
    assert words in str(err.value)


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"alpha": (0.05, 0.01)}, "increasing order"),
        ({"alpha": (1.5,)}, "outside (0, 1)"),
        ({"position": "flat"}, "--position"),
    ],
)
def test_bad_var_settings_are_config_errors(kw, words):
    with pytest.raises(ConfigError) as err:
        _spec("var", **kw)
    assert words in str(err.value)


def test_spec_round_trips_and_defaults_leave_old_files_alone():
    plain = _spec("return")
    assert set(plain.to_dict()) == {
        "kind", "horizons", "flat_band", "events", "vol_estimator", "transform"
    }  # fmt: skip
    spec = _spec("var", alpha=(0.025,), position="short")
    assert TaskSpec.from_dict(spec.to_dict()) == spec
    q = _spec("quantile", quantiles=(0.1, 0.9))
    assert TaskSpec.from_dict(q.to_dict()) == q
    assert q.labels == ("q_0.1", "q_0.9") and q.width == 2
    assert spec.labels == ("var_0.025", "es_0.025")


# ---- prediction columns ------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(arrays("float64", (7, 4), elements=st.floats(-1, 1)))
def test_quantile_columns_never_cross(out):
    spec = _spec("quantile")
    cols = spec.task.prediction_columns(spec, out)
    q = np.stack([cols[c] for c in spec.labels], axis=1)
    assert (np.diff(q, axis=1) >= 0).all()
    assert np.array_equal(cols["y_pred"], cols["q_0.5"])
    assert np.allclose(np.sort(out, axis=1), q)


@settings(max_examples=60, deadline=None)
@given(arrays("float64", (5, 2 * (ES_GRID + 1)), elements=st.floats(-0.2, 0.2)))
def test_var_network_outputs_give_es_at_least_var(out):
    spec = _spec("var")  # alpha 0.01, 0.05: ES_GRID + 1 quantiles each
    pairs = spec.task.from_network(spec, out)
    cols = spec.task.prediction_columns(spec, pairs)
    for a in ("0.01", "0.05"):
        assert (cols[f"es_{a}"] >= cols[f"var_{a}"]).all()
    block = np.sort(out[:, : ES_GRID + 1], axis=1)
    assert np.allclose(cols["var_0.01"], -block[:, -1])
    assert np.allclose(cols["es_0.01"], -block[:, :-1].mean(axis=1))


def test_network_levels_are_the_tail_midpoints_and_alpha():
    spec = _spec("var", alpha=(0.05,))
    levels = spec.task.network_levels(spec)
    assert len(levels) == ES_GRID + 1 and levels[-1] == 0.05
    assert np.allclose(levels[:-1], 0.05 * (np.arange(ES_GRID) + 0.5) / ES_GRID)


# ---- naive and baselines -----------------------------------------------------------------------
def test_naive_is_the_training_folds_historical_quantiles():
    rng = np.random.default_rng(0)
    y = rng.standard_t(4, (500, 1)) * 0.01
    spec = _spec("quantile")
    train = Batch(np.zeros((500, 1), "float32"), np.zeros((500, 1)), y)
    naive = make_model("naive", spec).fit(train)
    out = naive.predict(Batch(np.zeros((3, 1), "float32"), np.zeros((3, 1))))
    assert np.allclose(out, np.quantile(y[:, 0], spec.quantiles)[None, :].repeat(3, 0))

    vspec = _spec("var", alpha=(0.05,))
    out = make_model("naive", vspec).fit(train).predict(train.take(np.arange(2)))
    q = np.quantile(y[:, 0], 0.05)
    assert np.allclose(out[0], [-q, -y[y <= q].mean()])


def test_normal_var_and_es_match_scipy():
    spec = _spec("var", alpha=(0.01, 0.05))
    out = spec.task.from_normal(spec, np.array([0.001]), np.array([0.02]))[0]
    for k, a in enumerate((0.01, 0.05)):
        dist = stats.norm(0.001, 0.02)
        q = dist.ppf(a)
        tail = dist.expect(lambda x: x, ub=q) / a  # E[X | X <= q], numerically
        assert out[2 * k] == pytest.approx(-q)
        assert out[2 * k + 1] == pytest.approx(-tail, rel=1e-6)


def test_one_value_baselines_refuse_the_quantile_tasks():
    with pytest.raises(ConfigError, match="baselines of quantile are naive, lightgbm, fhs"):
        make_model("mean", _spec("quantile"))
    with pytest.raises(ConfigError, match="does not support task 'return'"):
        make_model("fhs", _spec("return"))


def _garch_path(n: int, seed: int) -> np.ndarray:
    """Returns of a GARCH(1, 1) with normal shocks (omega, alpha, beta = 2e-6, 0.08, 0.9)."""
    rng = np.random.default_rng(seed)
    omega, a, b = 2e-6, 0.08, 0.9
    r = np.empty(n)
    s2 = omega / (1 - a - b)
    for t in range(n):
        r[t] = np.sqrt(s2) * rng.standard_normal()
        s2 = omega + a * r[t] ** 2 + b * s2
    return r


def _batch(r: np.ndarray, lookback: int = 20) -> Batch:
    """Rows t = lookback-1 … n-2: features ret, ret_lag1 … and the next return as target."""
    idx = np.arange(lookback - 1, len(r) - 1)
    X = np.stack([r[idx - k] for k in range(lookback)], axis=1)
    names = ("ret", *(f"ret_lag{k}" for k in range(1, lookback)))
    return Batch(X, np.zeros((len(idx), 1)), r[idx + 1][:, None], np.full(len(idx), "s"),
                 feature_names=names)  # fmt: skip


@pytest.mark.parametrize("name", ["garch-normal", "fhs"])
def test_garch_var_baselines_hit_five_percent_on_a_simulated_garch(name):
    """5 % VaR of the GARCH baselines on a GARCH(1, 1): four paths, each fitted on 2,500
    rows and tested on the next 2,500 (10,000 test rows pooled), hit rate in [4.2 %, 5.8 %]
    (about 3 standard deviations, binomial plus the estimation noise of the quantile).
    The quantile task's 5 % quantile through the same model covers the same share."""
    hits, covered, n = 0, 0, 0
    for seed in range(4):
        data = _batch(_garch_path(5_020, seed=seed))
        train, test = data.take(np.arange(2_500)), data.take(np.arange(2_500, len(data)))
        assert test.y is not None and len(test) >= 2_000
        out = make_model(name, _spec("var", alpha=(0.05,))).fit(train).predict(test)
        hits += int(np.sum(test.y[:, 0] < -out[:, 0]))
        qspec = _spec("quantile", quantiles=(0.05, 0.95))
        q = make_model(name, qspec).fit(train).predict(test)
        covered += int(np.sum(test.y[:, 0] <= q[:, 0]))
        n += len(test)
    assert 0.042 <= hits / n <= 0.058, hits / n
    assert 0.042 <= covered / n <= 0.058, covered / n


def test_riskmetrics_scales_with_the_ewma_volatility():
    data = _batch(_garch_path(600, seed=1))
    spec = _spec("quantile", quantiles=(0.05, 0.5))
    out = make_model("riskmetrics", spec).fit(data).predict(data)
    ewma = make_model("ewma", TaskSpec("volatility", (1,))).fit(data).predict(data)[:, 0]
    assert np.allclose(out[:, 0], ewma * stats.norm.ppf(0.05))
    assert np.allclose(out[:, 1], 0.0)


# ---- losses and scores -------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    arrays("float64", 30, elements=st.floats(-1, 1)),
    arrays("float64", 30, elements=st.floats(-1, 1)),
    st.floats(0.01, 0.99),
)
def test_pinball_matches_sklearn(y, q, level):
    assert np.mean(pinball(y, q, level)) == pytest.approx(
        mean_pinball_loss(y, q, alpha=level), abs=1e-12
    )


def test_keras_pinball_loss_matches_sklearn():
    from fincast.models.losses import Pinball

    rng = np.random.default_rng(0)
    levels = (0.05, 0.5, 0.9)
    y = rng.normal(size=(64, 2))
    pred = rng.normal(size=(64, 6))  # horizon-major: 2 horizons x 3 levels
    got = float(Pinball(levels)(y.astype("float32"), pred.astype("float32")))
    want = np.mean(
        [
            mean_pinball_loss(y[:, j], pred[:, j * 3 + i], alpha=t)
            for j in range(2)
            for i, t in enumerate(levels)
        ]
    )
    assert got == pytest.approx(want, rel=1e-5)


def test_fz0_is_smallest_at_the_true_var_and_es():
    rng = np.random.default_rng(1)
    y = rng.normal(0, 0.01, 400_000)
    a = 0.05
    q = stats.norm.ppf(a) * 0.01
    var, es = -q, 0.01 * stats.norm.pdf(stats.norm.ppf(a)) / a
    best = np.mean(fz0(y, var, es, a))
    for dv, de in [(0.002, 0), (-0.002, 0), (0, 0.003), (0, -0.003), (0.002, 0.003)]:
        assert np.mean(fz0(y, var + dv, es + de, a)) > best
    assert np.isnan(fz0(np.array([0.0]), np.array([0.01]), np.array([0.0]), a)[0])


def test_quantile_metrics_coverage_and_pinball():
    y = np.arange(100) / 100.0
    out = quantile_metrics(y, {0.1: np.full(100, 0.095), 0.5: np.full(100, 0.495)})
    assert out["coverage"] == {"0.1": 0.1, "0.5": 0.5}
    assert out["coverage_error"] == 0.0
    assert out["pinball_by_level"]["0.1"] == pytest.approx(
        mean_pinball_loss(y, np.full(100, 0.095), alpha=0.1)
    )


def test_risk_verdict_is_plain():
    # 99 % VaR breached on 12 of 500 days (2.4 %): Kupiec rejects; last 250 days: 6 -> yellow
    y = np.zeros(500)
    y[np.linspace(0, 499, 12).astype(int)] = -0.05
    var = np.full(500, 0.03)
    out = risk_metrics(y, {0.01: var}, {0.01: var + 0.01})["levels"]["0.01"]
    assert out["exceptions"] == 12 and out["hit_rate"] == pytest.approx(0.024)
    assert out["verdict"].startswith("99 % VaR breached 2.4 % of days (expected 1 %)")
    assert (
        "Kupiec rejects" in out["verdict"]
        and "Basel zone (last 250 days): yellow" in out["verdict"]
    )


def test_var_backtests_need_one_series_in_time_order():
    rng = np.random.default_rng(5)
    n = 600
    dates = pd.bdate_range("2020-01-01", periods=n)
    y = rng.normal(0, 0.01, n)
    var = np.full(n, 0.0165)
    one = pd.DataFrame({"id": "s", "date": dates, "horizon": 1, "y_true": y,
                        "var_0.05": var, "es_0.05": var * 1.25})  # fmt: skip
    task = _spec("var").task
    from fincast.metrics.summary import KIT

    ordered = task.metrics(one.iloc[::-1], KIT)["levels"]["0.05"]
    assert ordered["independence_pvalue"] is not None and ordered["n"] == n
    assert ordered["exceptions"] == int(np.sum(y < -var))
    panel = pd.concat([one, one.assign(id="t")], ignore_index=True)
    pooled = task.metrics(panel, KIT)["levels"]["0.05"]
    assert pooled["independence_pvalue"] is None and pooled["basel_zone"] is None
    assert pooled["n"] == 2 * n and pooled["kupiec_pvalue"] is not None
    five = task.metrics(one.assign(horizon=5), KIT)["levels"]["0.05"]
    assert five["n"] == n // 5  # non-overlapping 5-step periods


def _table(kind: str, cols_model: dict, cols_naive: dict, y: np.ndarray) -> pd.DataFrame:
    n = len(y)
    base = {"id": "s", "date": pd.bdate_range("2020-01-01", periods=n), "fold": 0,
            "horizon": 1, "y_true": y}  # fmt: skip
    frames = []
    for name, cols in (("naive", cols_naive), ("m", cols_model)):
        frames.append(pd.DataFrame({**base, "model": name, **cols}))
    return pd.concat(frames, ignore_index=True)


def test_quantile_skill_is_relative_pinball_against_naive():
    rng = np.random.default_rng(2)
    y = rng.normal(0, 1, 400)
    levels = (0.1, 0.5, 0.9)
    naive = {f"q_{t:g}": np.full(400, 2 * stats.norm.ppf(t)) for t in levels}
    model = {f"q_{t:g}": np.full(400, stats.norm.ppf(t)) for t in levels}
    naive["y_pred"], model["y_pred"] = naive["q_0.5"], model["q_0.5"]
    got = compute_metrics(_table("quantile", model, naive, y), "quantile")["models"]["m"]
    own = np.mean([mean_pinball_loss(y, model[f"q_{t:g}"], alpha=t) for t in levels])
    base = np.mean([mean_pinball_loss(y, naive[f"q_{t:g}"], alpha=t) for t in levels])
    assert got["skill_vs_naive"] == pytest.approx(1 - own / base)
    assert got["pinball"] == pytest.approx(own)
