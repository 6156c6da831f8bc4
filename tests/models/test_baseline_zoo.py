"""The baselines beyond naive and mean: drift, ridge, ar, garch, ewma, majority, persistence."""

import numpy as np
import pytest

from fincast.errors import ConfigError
from fincast.models import Batch, make_model
from fincast.models.registry import model_parameters
from fincast.tasks import TaskSpec

LAGS = 6


def returns_batch(r: np.ndarray, ids: np.ndarray, task: TaskSpec, y: np.ndarray) -> Batch:
    """Rows t = LAGS-1 … n-1-max(h) with features ret, ret_lag1 … of the series r."""
    idx = np.arange(LAGS - 1, len(r) - max(task.horizons))
    X = np.stack([r[idx - k] for k in range(LAGS)], axis=1).astype("float32")
    names = ("ret", *(f"ret_lag{k}" for k in range(1, LAGS)))
    return Batch(X, np.zeros((len(idx), len(task.horizons))), y[idx], ids[idx], None, names)


def test_drift_is_fitted_per_series():
    task = TaskSpec("level")
    ids = np.array(["a"] * 3 + ["b"] * 3)
    naive = np.array([[1.0], [2.0], [3.0], [10.0], [10.0], [10.0]])
    y = naive + np.array([[1.0]] * 3 + [[-2.0]] * 3)
    train = Batch(np.zeros((6, 1), "float32"), naive, y, ids)
    model = make_model("drift", task).fit(train)
    test = Batch(
        np.zeros((3, 1), "float32"),
        np.array([[5.0], [5.0], [5.0]]),
        None,
        np.array(["a", "b", "c"]),
    )
    np.testing.assert_allclose(model.predict(test)[:, 0], [6.0, 3.0, 4.5])  # c: pooled


def test_ridge_regression_and_classes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype("float32")
    y = (X[:, :1] * 2.0).astype("float64")
    b = Batch(X, np.zeros((300, 1)), y)
    pred = make_model("ridge", TaskSpec("return"), {"alpha": 0.01}).fit(b).predict(b)
    assert np.corrcoef(pred[:, 0], y[:, 0])[0, 1] > 0.99
    cls = np.digitize(X[:, 0], [-0.5, 0.5]).astype("float64")[:, None]  # 0/1/2
    t3 = TaskSpec("trend3")
    probs = make_model("ridge", t3).fit(Batch(X, cls, cls)).predict(Batch(X, cls))
    assert probs.shape == (300, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (probs.argmax(axis=1) == cls[:, 0]).mean() > 0.9
    with pytest.raises(
        ConfigError, match=r"'ridge': parameter `alpha` must be a number > 0, got 0"
    ):
        make_model("ridge", TaskSpec(), {"alpha": 0})  # before any fit


def test_ar_recovers_an_ar1_and_forecasts_h_steps():
    rng = np.random.default_rng(1)
    n, phi = 1500, 0.5
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + rng.normal(0, 0.01)
    task = TaskSpec("return", (1, 2))
    y = np.stack([np.r_[r[1:], 0], np.r_[r[1:], 0] + np.r_[r[2:], 0, 0]], axis=1)
    b = returns_batch(r, np.array(["s"] * n), task, y)
    model = make_model("ar", task, {"lags": 1}).fit(b)
    assert model.params_["s"][1] == pytest.approx(phi, abs=0.06)
    pred = model.predict(b)
    c, p = model.params_["s"]
    np.testing.assert_allclose(pred[:, 0], c + p * b.X[:, 0], rtol=1e-6)
    np.testing.assert_allclose(pred[:, 1], pred[:, 0] + c + p * pred[:, 0], rtol=1e-6)
    d = TaskSpec("direction")
    prob = make_model("ar", d, {"lags": 1}).fit(b).predict(b)
    assert ((prob > 0.5) == (pred[:, :1] > 0)).all() and ((prob >= 0) & (prob <= 1)).all()
    with pytest.raises(ConfigError, match="lags must be between 1 and the look-back"):
        make_model("ar", task, {"lags": 50}).fit(b)


def test_garch_and_ewma_track_a_volatility_regime():
    rng = np.random.default_rng(2)
    n = 1200
    sd = np.where(np.arange(n) % 400 < 200, 0.005, 0.02)  # calm, then turbulent, …
    r = rng.normal(0, sd)
    task = TaskSpec("volatility", (1, 5))
    ids = np.array(["s"] * n)
    b = returns_batch(r, ids, task, np.abs(np.stack([r, r], axis=1)))
    t = np.arange(LAGS - 1, n - 5)
    calm, wild = (t % 400 > 50) & (t % 400 < 200), (t % 400 > 250)
    for name in ("garch", "ewma"):
        pred = make_model(name, task).fit(b).predict(b)
        assert pred.shape == (len(b), 2) and (pred > 0).all()
        assert pred[calm, 0].mean() < 0.01 < pred[wild, 0].mean()
    ewma = make_model("ewma", task, {"lam": 0.5}).fit(b).predict(b)
    w = 0.5 * 0.5 ** np.arange(LAGS)
    np.testing.assert_allclose(ewma[:, 0], np.sqrt((b.X.astype("float64") ** 2) @ (w / w.sum())))
    with pytest.raises(ConfigError, match="needs the feature 'ret'"):
        make_model("ewma", task).fit(Batch(b.X, b.naive, b.y, b.ids, None, ("raw_Close",) * 6))


def test_majority_and_persistence_probabilities():
    t3 = TaskSpec("trend3")
    y = np.array([[2.0], [2.0], [1.0], [0.0], [2.0]])
    last = np.array([[0.0], [2.0], [2.0], [1.0], [0.0]])
    b = Batch(np.zeros((5, 1), "float32"), last, y)
    maj = make_model("majority", t3).fit(b).predict(b)
    np.testing.assert_allclose(maj[0], [0.2, 0.2, 0.6])
    per = make_model("persistence", t3).fit(b).predict(b)
    # from class 2: one 2 -> 2 and one 2 -> 1 (+1 smoothing each): [1, 2, 2] / 5
    np.testing.assert_allclose(per[1], [0.2, 0.4, 0.4])
    np.testing.assert_allclose(per.sum(axis=1), 1.0)
    ev = TaskSpec("events", events=[{"name": "up", "above": 0}, {"name": "dn", "below": 0}])
    yb = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    pb = make_model("majority", ev).fit(Batch(np.zeros((3, 1), "float32"), yb, yb))
    np.testing.assert_allclose(
        pb.predict(Batch(np.zeros((1, 1), "float32"), yb[:1]))[0], [2 / 3, 1 / 3]
    )


def test_baselines_refuse_tasks_they_do_not_fit():
    with pytest.raises(ConfigError, match="does not support task 'return'"):
        make_model("garch", TaskSpec("return"))
    with pytest.raises(ConfigError, match="does not support task 'volatility'"):
        make_model("majority", TaskSpec("volatility"))


def test_model_parameters_are_validated_with_a_suggestion():
    assert model_parameters("lstm")["units"] == 64 and "dropout" in model_parameters("lstm")
    assert "units" not in model_parameters("seed-mlp")
    assert model_parameters("ridge") == {"alpha": 1.0}
    with pytest.raises(ConfigError, match=r"no parameter `unitz`; did you mean `units`"):
        make_model("lstm", TaskSpec(), {"unitz": 3})
    with pytest.raises(ConfigError, match="no parameter `units`"):
        make_model("seed-mlp", TaskSpec(), {"units": 3})
    assert make_model("ridge", TaskSpec(), {"alpha": 3.0, "epochs": 5}).alpha == 3.0


def test_garch_filters_the_variance_along_consecutive_rows():
    rng = np.random.default_rng(3)
    r = rng.normal(0, 0.01, 400)
    task = TaskSpec("volatility")
    b = returns_batch(r, np.array(["s"] * 400), task, np.abs(r)[:, None])
    model = make_model("garch", task).fit(b)
    omega, alpha, beta = model.params_["s"]
    uncond = omega / (1 - alpha - beta)
    s2, expected = uncond, []
    x = r.astype("float32").astype("float64") * 100
    for j in range(len(b) + LAGS - 1):  # direct recursion over the whole series
        s2 = omega + alpha * x[j] ** 2 + beta * s2
        if j >= LAGS - 1:
            expected.append(s2)
    np.testing.assert_allclose(model.predict(b)[:, 0], np.sqrt(expected) / 100, rtol=1e-6)
