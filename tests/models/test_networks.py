"""The networks' defaults: shrinkage toward naive, the linear skip path, early stopping."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fincast.models import Batch, make_model
from fincast.models.shrink import combine, fit_weight, fit_weight_logloss, fit_weight_mse
from fincast.tasks import TaskSpec

TINY = {"units": 8, "layers": 1}


def _batch(n: int, seed: int, *, signal: float = 0.5, f: int = 4) -> Batch:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f)).astype("float32")
    y = (signal * X[:, :1] + rng.normal(0, 1.0, (n, 1))).astype("float64")
    windows = np.stack([np.roll(X, k, axis=0) for k in range(2, -1, -1)], axis=1)
    return Batch(X, np.zeros_like(y), y, np.array(["a"] * n, dtype=object), windows)


# -- shrinkage ---------------------------------------------------------------------------
def test_shrinkage_weight_is_zero_on_noise_and_one_on_a_perfect_forecast():
    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    anchor = np.zeros_like(y)
    assert fit_weight_mse(rng.normal(size=2000), anchor, y) == pytest.approx(0.0, abs=0.02)
    assert fit_weight_mse(y, anchor, y) == pytest.approx(1.0)
    # a forecast with half the signal and noise: a weight strictly inside (0, 1)
    w = fit_weight_mse(y + rng.normal(size=2000), anchor, y)
    assert 0.3 < w < 0.7


def test_log_loss_weight_is_zero_on_noise_and_one_on_sharp_right_probabilities():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 1000)
    onehot = np.eye(2)[y]
    anchor = np.full((1000, 2), 0.5)
    noise = rng.uniform(0.2, 0.8, 1000)
    assert fit_weight_logloss(np.stack([1 - noise, noise], 1), anchor, onehot) == 0.0
    sharp = np.where(y == 1, 0.95, 0.05)
    assert fit_weight_logloss(np.stack([1 - sharp, sharp], 1), anchor, onehot) == 1.0


def test_fit_weight_per_horizon_and_combine():
    rng = np.random.default_rng(2)
    y = rng.normal(size=(500, 2))
    forecast = np.column_stack([y[:, 0], rng.normal(size=500)])
    w = fit_weight(forecast, np.zeros((500, 2)), y, output="regression")
    assert w[0] == pytest.approx(1.0) and w[1] < 0.1
    out = combine(forecast, np.zeros((500, 2)), w)
    np.testing.assert_allclose(out[:, 0], forecast[:, 0])


def _ar_csv(path, n: int = 700, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = 0.6 * r[t - 1] + rng.normal(0, 0.01)
    frame = pd.DataFrame(
        {"date": pd.bdate_range("2001-01-01", periods=n), "close": 100 * np.exp(np.cumsum(r))}
    )
    frame.to_csv(path, index=False)
    return frame


def _weights(path, tmp_path, name: str) -> list[float]:
    import tempfile

    import fincast

    result = fincast.backtest(
        str(path),
        models={"mlp": TINY},
        baselines=["naive"],
        epochs=3,
        folds=2,
        lookback=3,
        val_fraction=0.3,
        out=tempfile.mkdtemp(prefix=f"{name}-", dir=tmp_path),
    )
    return result.metrics["shrinkage"]["mlp"]["0"]


@pytest.mark.slow
@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scale=st.floats(0.5, 3.0), shift=st.floats(-0.2, 0.2))
def test_shrinkage_weight_never_sees_the_test_block(tmp_path, scale, shift):
    """Perturbing prices inside fold 0's test block leaves fold 0's weight unchanged."""
    import tempfile

    path = tempfile.mkdtemp(dir=tmp_path) + "/ar.csv"
    frame = _ar_csv(path)
    before = _weights(path, tmp_path, "before")
    assert before[0] > 0  # the series has signal: the weight is fitted, not trivially 0
    from fincast.backtest.engine import prepare
    from fincast.config import RunConfig

    prep = prepare(RunConfig(data=str(path), models={"mlp": TINY}, folds=2, lookback=3))
    fold0 = prep.folds[0]
    start = prep.design.calendar[fold0.test_start]
    end = prep.design.calendar[fold0.test_end - 1]
    changed = frame.copy()
    inside = (changed["date"] >= start) & (changed["date"] <= end)
    changed.loc[inside, "close"] = changed.loc[inside, "close"] * scale * (1 + shift)
    changed.to_csv(path, index=False)
    assert _weights(path, tmp_path, "after") == before


# -- the linear skip path ----------------------------------------------------------------
@pytest.mark.slow
def test_a_network_started_at_the_ridge_solution_predicts_like_ridge():
    """Every network's skip path starts at ``ridge`` on the feature row (sequence nets too)."""
    task = TaskSpec("return")
    train, test = _batch(400, 0), _batch(100, 1)
    ridge = make_model("ridge", task).fit(train).predict(test)
    for name in ("mlp", "lstm", "gru", "cnn", "transformer"):
        # a learning rate too small to move the weights: the forecast is the starting point
        params = {"epochs": 1, "lr": 1e-12, "patience": 0, "shrink": False}
        params.update(TINY if name in ("mlp", "lstm", "gru") else {})
        net = make_model(name, task, params, seed=0).fit(train).predict(test)
        np.testing.assert_allclose(net, ridge, rtol=1e-3, atol=1e-5, err_msg=name)


def test_without_skip_the_start_is_not_ridge():
    task = TaskSpec("return")
    train, test = _batch(400, 0), _batch(100, 1)
    ridge = make_model("ridge", task).fit(train).predict(test)
    params = {**TINY, "epochs": 1, "lr": 1e-12, "patience": 0, "shrink": False, "skip": False}
    net = make_model("mlp", task, params, seed=0).fit(train).predict(test)
    assert not np.allclose(net, ridge, rtol=1e-3, atol=1e-5)


def test_class_tasks_start_at_the_training_class_frequencies():
    task = TaskSpec("direction")
    train = _batch(400, 0)
    labels = (train.y > 0.8).astype("float64")  # about a fifth ones
    train = Batch(train.X, train.naive, labels, train.ids, train.windows)
    params = {**TINY, "epochs": 1, "lr": 1e-12, "patience": 0, "shrink": False}
    prob = make_model("mlp", task, params).fit(train).predict(_batch(50, 1))
    np.testing.assert_allclose(prob, labels.mean(), atol=1e-4)


# -- early stopping and shrinkage by default ---------------------------------------------
def test_networks_stop_early_by_default_on_noise_and_shrink_to_naive():
    task = TaskSpec("return")
    train, val = _batch(300, 0, signal=0.0), _batch(100, 1, signal=0.0)
    model = make_model("mlp", task, {**TINY, "epochs": 200}, seed=0)
    assert model.patience == 10 and model.shrink and model.skip
    model.fit(train, val)
    assert len(model.history_["loss"]) < 200
    assert model.shrinkage_[0] == 0.0
    np.testing.assert_array_equal(model.predict(val), val.naive)


def test_patience_zero_trains_every_epoch_and_seed_mlp_keeps_its_recipe():
    task = TaskSpec("return")
    train, val = _batch(200, 0), _batch(60, 1)
    model = make_model("mlp", task, {**TINY, "epochs": 4, "patience": 0, "shrink": False})
    model.fit(train, val)
    assert len(model.history_["loss"]) == 4 and model.shrinkage_ is None
    seed = make_model("seed-mlp", task)
    assert seed.patience is None and not seed.skip and not seed.shrink
    assert seed.weight_decay == 0.0


def test_qlike_is_a_volatility_loss():
    from fincast.errors import ConfigError

    task = TaskSpec("volatility")
    assert make_model("mlp", task).resolved_loss() == "mse"  # measured best (docs/guide/models.md)
    assert make_model("mlp", task, {"loss": "qlike"}).resolved_loss() == "qlike"
    with pytest.raises(ConfigError, match="qlike"):
        make_model("mlp", TaskSpec("return"), {"loss": "qlike"})._check_params()


@pytest.mark.parametrize("patience", [10, 0])
def test_shrinkage_is_fitted_on_rows_early_stopping_did_not_score(monkeypatch, patience):
    """With early stopping the weight sees only the later half of the validation slice."""
    from fincast.models import shrink

    seen: list[np.ndarray] = []
    original = shrink.fit_weight

    def spy(forecast, anchor, y, **kwargs):
        seen.append(np.asarray(y).copy())
        return original(forecast, anchor, y, **kwargs)

    monkeypatch.setattr(shrink, "fit_weight", spy)
    task = TaskSpec("return")
    train, val = _batch(300, 0), _batch(101, 1)
    model = make_model("mlp", task, {**TINY, "epochs": 3, "patience": patience}, seed=0)
    model.fit(train, val)
    expected = val.y[50:] if patience else val.y
    np.testing.assert_array_equal(seen[-1], expected)
    if patience:  # early stopping scored the first half only
        first = make_model("mlp", task, {**TINY, "epochs": 3, "shrink": False}, seed=0)
        first.fit(train, val.take(np.arange(50)))
        assert first.history_["val_loss"] == model.history_["val_loss"]
