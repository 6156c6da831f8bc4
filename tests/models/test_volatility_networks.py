"""The networks' log-HAR input (``har_input``): fitted on the training rows, read by the skip path."""

import numpy as np
import pytest

from fincast.models import Batch, make_model
from fincast.models.har import har_regressors
from fincast.models.keras_base import load_keras_state, save_keras_state
from fincast.tasks import TaskSpec

from .test_har import garch_returns, har_batch

TASK = TaskSpec("volatility", (1, 5))
#: A learning rate too small to move the weights: the forecast is the starting point.
#: The log-HAR input's tests leave the latent-har input (tests/models/test_latent_input.py)
#: out, so the log-HAR columns are the row's last.
FROZEN = {
    "units": 8,
    "layers": 1,
    "epochs": 1,
    "lr": 1e-12,
    "patience": 0,
    "shrink": False,
    "latent_input": False,
}


def _split() -> tuple[Batch, Batch]:
    """Training and later rows; naive: the volatility of the last 5 returns, each horizon."""
    r = garch_returns(900, 3)
    out = []
    for b in (har_batch(r[:600], 8), har_batch(r[560:], 8)):
        naive = np.sqrt(np.mean(b.X[:, :5].astype("float64") ** 2, axis=1))
        naive = np.repeat(naive[:, None], len(TASK.horizons), axis=1)
        out.append(Batch(b.X, naive, b.y, b.ids, None, b.feature_names))
    return out[0], out[1]


def _har_columns(loghar, batch: Batch) -> np.ndarray:
    """What a network appends to its feature row: the log-HAR forecast, then z and |z|."""
    return np.column_stack([loghar.predict(batch), har_regressors(batch, "x", news=True)[:, 3:]])


def _augmented(batch: Batch, *columns: np.ndarray) -> Batch:
    X = np.concatenate([batch.X, *(c.astype("float32") for c in columns)], axis=1)
    return Batch(X, batch.naive, batch.y, batch.ids, None)


def test_the_start_is_ridge_on_the_features_and_the_training_fitted_loghar():
    train, test = _split()
    loghar = make_model("loghar", TASK, {"pooled": True, "news": True}).fit(train)
    net = make_model("mlp", TASK, FROZEN, seed=0).fit(train)
    # the log-HAR inside the network: pooled over the series, with EGARCH's news terms,
    # on the training rows alone
    assert net.har_.pooled and net.har_.news and not net.har_.fits_
    for key, value in loghar.pooled_fit_.items():
        np.testing.assert_array_equal(net.har_.pooled_fit_[key], value)
    # after the log-HAR forecast, its news terms z and |z| themselves
    np.testing.assert_array_equal(net._inputs(test)[:, -4:], _har_columns(loghar, test))
    assert np.all(net._inputs(test)[:, -1] == np.abs(net._inputs(test)[:, -2]))
    ridge = make_model("ridge", TASK).fit(_augmented(train, _har_columns(loghar, train)))
    expected = ridge.predict(_augmented(test, _har_columns(loghar, test)))
    np.testing.assert_allclose(net.predict(test), expected, rtol=2e-3, atol=1e-6)
    # without it the start is ridge on the features alone
    plain = make_model("mlp", TASK, {**FROZEN, "har_input": False}, seed=0).fit(train)
    assert plain.har_ is None and plain._inputs(test).shape[1] == test.X.shape[1]
    np.testing.assert_allclose(
        plain.predict(test), make_model("ridge", TASK).fit(train).predict(test), rtol=2e-3
    )
    assert not np.allclose(plain.predict(test), net.predict(test), rtol=2e-3)


@pytest.mark.parametrize("name", ["lstm", "cnn"])
def test_sequence_networks_read_it_in_their_feature_row(name):
    train, test = _split()
    windows = lambda b: np.repeat(b.X[:, None, :], 3, axis=1)  # noqa: E731
    train = Batch(train.X, train.naive, train.y, train.ids, windows(train), train.feature_names)
    test = Batch(test.X, test.naive, test.y, test.ids, windows(test), test.feature_names)
    params = dict(FROZEN)
    if name == "cnn":
        del params["units"]
        params["filters"] = 4
    net = make_model(name, TASK, params, seed=0).fit(train)
    assert net.har_ is not None
    inputs = net._inputs(test)
    assert inputs.shape[1] == 3 * test.X.shape[1] + test.X.shape[1] + len(TASK.horizons) + 2
    np.testing.assert_array_equal(inputs[:, -4:-2], net.har_.predict(test))
    # without the skip path there is no feature row: the window alone
    bare = make_model(name, TASK, {**params, "skip": False}, seed=0).fit(train)
    assert bare.har_ is None


def test_other_tasks_and_features_without_returns_leave_it_out():
    train, _ = _split()
    net = make_model("mlp", TaskSpec("return", (1, 5)), FROZEN, seed=0).fit(train)
    assert net.har_ is None
    no_returns = Batch(train.X, train.naive, train.y, train.ids, None, None)
    assert make_model("mlp", TASK, FROZEN, seed=0).fit(no_returns).har_ is None


def test_a_saved_network_keeps_its_loghar_input(tmp_path):
    train, test = _split()
    net = make_model("mlp", TASK, {**FROZEN, "shrink": True}, seed=0).fit(train, test)
    state = save_keras_state(net, tmp_path)
    again = make_model("mlp", TASK, FROZEN, seed=0)
    load_keras_state(again, tmp_path, state)
    np.testing.assert_array_equal(again.predict(test), net.predict(test))


def test_har_news_false_gives_the_plain_loghar_input_and_old_saves_keep_theirs(tmp_path):
    train, test = _split()
    plain = make_model("mlp", TASK, {**FROZEN, "shrink": True, "har_news": False}, seed=0)
    plain.fit(train, test)
    loghar = make_model("loghar", TASK, {"pooled": True}).fit(train)
    assert not plain.har_.news
    assert plain._inputs(test).shape[1] == test.X.shape[1] + len(TASK.horizons)
    np.testing.assert_array_equal(plain._inputs(test)[:, -2:], loghar.predict(test))
    news = make_model("mlp", TASK, FROZEN, seed=0).fit(train)
    assert not np.allclose(news._inputs(test)[:, -4:-2], loghar.predict(test))
    # a network saved before the news terms has no "news" key: it loads as the plain one
    state = save_keras_state(plain, tmp_path)
    assert state["har"]["news"] is False and state["final_start"]["har"]["news"] is False
    del state["har"]["news"], state["final_start"]["har"]["news"]
    again = make_model("mlp", TASK, FROZEN, seed=0)  # today's default, har_news on
    load_keras_state(again, tmp_path, state)
    assert not again.har_.news
    np.testing.assert_array_equal(again.predict(test), plain.predict(test))


# -- shrinkage toward the linear start ---------------------------------------------------
def test_volatility_shrinks_toward_the_linear_start_itself():
    from fincast.models.shrink import combine, fit_weight_mse

    train, test = _split()
    val, rest = test.take(np.arange(len(test)) < 200), test.take(np.arange(len(test)) >= 200)
    params = {**FROZEN, "shrink": True}  # frozen: the network is its linear start
    net = make_model("mlp", TASK, params, seed=0).fit(train, val)
    assert net.shrink_to is None
    loghar = make_model("loghar", TASK, {"pooled": True, "news": True}).fit(train)
    ridge = make_model("ridge", TASK).fit(_augmented(train, _har_columns(loghar, train)))
    lin_val = ridge.predict(_augmented(val, _har_columns(loghar, val)))
    lin = net._linear_forecast(net._scale(val))
    np.testing.assert_allclose(lin, lin_val, rtol=2e-3, atol=1e-6)
    # the anchor is the linear start, unshrunk toward naive (weight 1, kept in the history)
    assert list(net.linear_weight_) == [1.0, 1.0] == net.history_["linear_weight"]
    np.testing.assert_array_equal(net._anchor(val), lin)
    # patience 0: the network's weight is fitted on the whole validation slice, per horizon
    raw = net._raw_predict(val)
    for j in range(2):
        expected = fit_weight_mse(raw[:, j], lin[:, j], val.y[:, j])
        assert net.shrinkage_[j] == pytest.approx(expected, abs=1e-12)
    # the weight holds only where the linear start forecasts inside its range on the
    # training rows
    lin_train = ridge.predict(_augmented(train, _har_columns(loghar, train)))
    np.testing.assert_allclose(net.support_[0], lin_train.min(axis=0), rtol=2e-3)
    np.testing.assert_allclose(net.support_[1], lin_train.max(axis=0), rtol=2e-3)
    assert net.history_["support_high"] == list(net.support_[1])
    anchor = net._linear_forecast(net._scale(rest))
    inside = (anchor >= net.support_[0]) & (anchor <= net.support_[1])
    weight = np.where(inside, net.shrinkage_, 0.0)
    # the forecast's linear part is the same regression refitted on training and validation
    final = net._final_forecast(rest)
    np.testing.assert_allclose(
        net.predict(rest), final + weight * (net._raw_predict(rest) - anchor), rtol=1e-12
    )
    net.final_start_ = None  # without the refit: the network's own start
    np.testing.assert_allclose(
        net.predict(rest), combine(net._raw_predict(rest), anchor, weight), rtol=1e-12
    )


def _joined(a: Batch, b: Batch) -> Batch:
    return Batch(
        np.concatenate([a.X, b.X]),
        np.concatenate([a.naive, b.naive]),
        np.concatenate([a.y, b.y]),
        np.concatenate([a.ids, b.ids]),
        None,
        a.feature_names,
    )


def test_the_linear_part_is_refitted_on_the_whole_training_window(tmp_path):
    """The network's start leaves out the validation tail (it decides the epochs and the
    network's weight); the forecast's linear part is ridge on the features and log-HAR both
    refitted on training and validation rows, as the baselines are (on builtin:nasdaq h 5
    the linear start fitted without the tail had skill 0.217, the refit 0.270)."""
    train, test = _split()
    val, rest = test.take(np.arange(len(test)) < 200), test.take(np.arange(len(test)) >= 200)
    net = make_model("mlp", TASK, {**FROZEN, "shrink": True}, seed=0).fit(train, val)
    whole = _joined(train, val)
    loghar = make_model("loghar", TASK, {"pooled": True, "news": True}).fit(whole)
    assert net.final_start_.rows == len(whole) == net.history_["final_rows"][0]
    for key, value in loghar.pooled_fit_.items():
        np.testing.assert_allclose(net.final_start_.har.pooled_fit_[key], value, rtol=1e-12)
    ridge = make_model("ridge", TASK).fit(_augmented(whole, _har_columns(loghar, whole)))
    expected = ridge.predict(_augmented(rest, _har_columns(loghar, rest)))
    # the network's scalers were fitted on the training rows: ridge's penalty acts on a
    # slightly different scale, hence the tolerance
    np.testing.assert_allclose(net._final_forecast(rest), expected, rtol=2e-3, atol=1e-6)
    own = net._linear_forecast(net._scale(rest))
    assert np.max(np.abs(net._final_forecast(rest) - own)) > 1e-4  # the refit matters
    # frozen network, weight 0 or not: what it adds to its start is ~0, so the forecast is
    # the refitted regression
    np.testing.assert_allclose(net.predict(rest), expected, rtol=2e-3, atol=1e-6)
    # saved and loaded with the model; a model saved before it forecasts as before
    state = save_keras_state(net, tmp_path)
    again = make_model("mlp", TASK, FROZEN, seed=0)
    load_keras_state(again, tmp_path, state)
    np.testing.assert_array_equal(again.predict(rest), net.predict(rest))
    state.pop("final_start")
    old = make_model("mlp", TASK, FROZEN, seed=0)
    load_keras_state(old, tmp_path, state)
    assert old.final_start_ is None
    np.testing.assert_allclose(old.predict(rest), own + 0 * rest.naive, rtol=1e-5, atol=1e-9)
    # without a validation slice there is no weight and no refit
    alone = make_model("mlp", TASK, {**FROZEN, "shrink": True}, seed=0).fit(train)
    assert alone.final_start_ is None


def test_beyond_its_training_range_the_forecast_is_the_linear_start(tmp_path):
    """A network does not extrapolate: where its linear start forecasts beyond anything it
    saw in training, the forecast is the linear start (on builtin:sp500, fold 1, h 5: lstm's
    skill -0.224 with the weight applied everywhere, ridge 0.247)."""
    train, test = _split()
    val, rest = test.take(np.arange(len(test)) < 200), test.take(np.arange(len(test)) >= 200)
    params = {"units": 8, "layers": 1, "epochs": 3, "lr": 1e-2, "patience": 0, "shrink": True}
    net = make_model("mlp", TASK, params, seed=0).fit(train, val)
    net.shrinkage_ = np.array([1.0, 1.0])  # the network's own forecast wherever it holds
    net.final_start_ = None  # the guard alone (the refitted linear part is tested below)
    anchor = net._linear_forecast(net._scale(rest))
    raw = net._raw_predict(rest)
    assert not np.allclose(raw, anchor)
    # a support covering the middle half of these rows: both cases occur
    net.support_ = (np.quantile(anchor, 0.25, axis=0), np.quantile(anchor, 0.75, axis=0))
    inside = (anchor >= net.support_[0]) & (anchor <= net.support_[1])
    assert inside.any() and (~inside).any()
    got = net.predict(rest)
    np.testing.assert_array_equal(got[inside], raw[inside])
    np.testing.assert_array_equal(got[~inside], anchor[~inside])
    # saved and loaded with the model
    state = save_keras_state(net, tmp_path)
    again = make_model("mlp", TASK, params, seed=0)
    load_keras_state(again, tmp_path, state)
    np.testing.assert_array_equal(again.predict(rest), got)
    # a model saved before the guard (no support in its state) applies its weight everywhere
    state.pop("support")
    old = make_model("mlp", TASK, params, seed=0)
    load_keras_state(old, tmp_path, state)
    assert old.support_ is None
    np.testing.assert_array_equal(old.predict(rest), raw)


def test_a_model_saved_with_a_fitted_linear_weight_keeps_its_forecast(tmp_path):
    """Models saved before the linear start was fixed at weight 1 carry a fitted weight
    toward naive; they still forecast with it."""
    from fincast.models.shrink import combine

    train, test = _split()
    net = make_model("mlp", TASK, {**FROZEN, "shrink": True}, seed=0).fit(train, test)
    net.linear_weight_ = np.array([0.25, 0.5])
    state = save_keras_state(net, tmp_path)
    state.pop("support")  # saved before the support guard, too
    state.pop("final_start")  # and before the refitted linear part
    again = make_model("mlp", TASK, FROZEN, seed=0)
    load_keras_state(again, tmp_path, state)
    lin = again._linear_forecast(again._scale(test))
    anchor = combine(lin, test.naive, np.array([0.25, 0.5]))
    expected = combine(again._raw_predict(test), anchor, net.shrinkage_)
    np.testing.assert_allclose(again.predict(test), expected, rtol=1e-12)
    assert not np.allclose(anchor, lin)  # the fitted weight matters


def test_other_tasks_keep_the_naive_anchor_and_noise_gives_naive():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 4)).astype("float32")
    y = rng.normal(size=(500, 1))
    b = Batch(X, np.zeros_like(y), y, np.array(["a"] * 500, dtype=object), None)
    train, val = b.take(np.arange(500) < 350), b.take(np.arange(500) >= 350)
    task = TaskSpec("return")
    params = {"units": 8, "layers": 1, "epochs": 5}
    assert make_model("mlp", task, params, seed=0).fit(train, val).linear_weight_ is None
    linear = make_model("mlp", task, {**params, "shrink_to": "linear"}, seed=0).fit(train, val)
    # asked for on noise, the linear anchor is the ridge start: the network adds nothing
    assert list(linear.linear_weight_) == [1.0] and list(linear.shrinkage_) == [0.0]
    np.testing.assert_array_equal(linear.predict(val), linear._final_forecast(val))
