"""The volatility networks' ``latent-har`` input (``latent_input``): fitted on the fold's
training rows (refitted on the whole window for the refitted linear anchor), appended after
the log-HAR columns, saved with the network, and fitted once per series and rows."""

import numpy as np
import pytest

from fincast.models import Batch, make_model
from fincast.models import latent as latent_module
from fincast.models.keras_base import load_keras_state, save_keras_state
from fincast.models.latent import LatentHAR

from .test_har import garch_returns, har_batch
from .test_volatility_networks import FROZEN as LOGHAR_FROZEN
from .test_volatility_networks import TASK, _augmented, _har_columns, _joined, _split

#: The log-HAR tests' frozen network (the forecast is its starting point), input on.
FROZEN = {**LOGHAR_FROZEN, "latent_input": True}


def test_the_row_ends_with_latent_hars_forecast_fitted_on_the_training_rows():
    train, test = _split()
    net = make_model("mlp", TASK, FROZEN, seed=0).fit(train)
    own = LatentHAR(TASK, news="pnp", seed=0).fit(train)  # its model, on the same rows
    assert net.latent_ is not None and net.latent_.news == "pnp"
    for sid, fit in own.series_.items():
        np.testing.assert_array_equal(net.latent_.series_[sid]["theta"], fit["theta"])
    inputs = net._inputs(test)
    width = test.X.shape[1] + len(TASK.horizons) + 2 + len(TASK.horizons)
    assert inputs.shape[1] == width
    # log-HAR, its news terms, then latent-har's forecast per horizon, in volatility units
    np.testing.assert_array_equal(inputs[:, -2:], own.predict(test))
    loghar = make_model("loghar", TASK, {"pooled": True, "news": True}).fit(train)
    np.testing.assert_array_equal(inputs[:, -6:-2], _har_columns(loghar, test))
    # the start: ridge on the features, the log-HAR columns and the latent-har forecast
    har, lat = _har_columns(loghar, train), own.predict(train)
    ridge = make_model("ridge", TASK).fit(_augmented(train, har, lat))
    expected = ridge.predict(_augmented(test, _har_columns(loghar, test), own.predict(test)))
    np.testing.assert_allclose(net.predict(test), expected, rtol=2e-3, atol=1e-6)
    # turned off, the row and the start are the log-HAR ones
    off = make_model("mlp", TASK, {**FROZEN, "latent_input": False}, seed=0).fit(train)
    assert off.latent_ is None and off._inputs(test).shape[1] == width - len(TASK.horizons)
    assert np.max(np.abs(off.predict(test) - net.predict(test))) > 1e-6
    # latent_news: linear reads the latent-har baseline's own default fit
    lin = make_model("mlp", TASK, {**FROZEN, "latent_news": "linear"}, seed=0).fit(train)
    np.testing.assert_array_equal(
        lin._inputs(test)[:, -2:], LatentHAR(TASK, seed=0).fit(train).predict(test)
    )
    assert lin.latent_.news == "linear" and not np.array_equal(lin.predict(test), net.predict(test))


def test_no_look_ahead_through_the_latent_input():
    """Changing the returns after row t changes neither row t's input nor the fit."""
    r = garch_returns(900, 5)
    train, test = har_batch(r[:600], 8), har_batch(r[560:], 8)
    net = make_model("mlp", TASK, FROZEN, seed=0).fit(train)
    before = net._inputs(test)[:, -2:]
    cut = 200  # rows of test are t = 21 … ; row k reads returns up to r[560 + 21 + k]
    shocked = r.copy()
    shocked[560 + 21 + cut + 1 :] *= 3.0
    after = net._inputs(har_batch(shocked[560:], 8))[:, -2:]
    np.testing.assert_array_equal(after[: cut + 1], before[: cut + 1])
    assert not np.allclose(after[cut + 2 :], before[cut + 2 :])


def test_the_refitted_anchor_refits_latent_har_on_the_whole_window(tmp_path):
    train, test = _split()
    val, rest = test.take(np.arange(len(test)) < 200), test.take(np.arange(len(test)) >= 200)
    net = make_model("mlp", TASK, {**FROZEN, "shrink": True}, seed=0).fit(train, val)
    whole = LatentHAR(TASK, news="pnp", seed=0).fit(_joined(train, val))
    final = net.final_start_.latent
    assert final is not None and final is not net.latent_
    for sid, fit in whole.series_.items():
        np.testing.assert_array_equal(final.series_[sid]["theta"], fit["theta"])
    assert not np.array_equal(
        final.series_["s"]["theta"], net.latent_.series_["s"]["theta"]
    )  # a different window, a different fit
    inputs = net._inputs(rest, net.final_start_.har, final)
    np.testing.assert_array_equal(inputs[:, -2:], whole.predict(rest))
    # saved and loaded with the network: the same forecasts, bit for bit
    state = save_keras_state(net, tmp_path)
    assert state["latent"]["news"] == "pnp" and state["final_start"]["latent"] is not None
    again = make_model("mlp", TASK, FROZEN, seed=0)
    load_keras_state(again, tmp_path, state)
    assert again.context_depth() == 250  # fincast predict hands it 250 rows of history
    np.testing.assert_array_equal(again.predict(rest), net.predict(rest))


def test_a_network_saved_before_the_latent_input_loads_without_it(tmp_path):
    train, test = _split()
    old = make_model("mlp", TASK, {**FROZEN, "latent_input": False, "shrink": True}, seed=0)
    old.fit(train, test)
    state = save_keras_state(old, tmp_path)
    assert state["latent"] is None and state["final_start"]["latent"] is None
    del state["latent"], state["final_start"]["latent"]  # as saved before the input
    again = make_model("mlp", TASK, FROZEN, seed=0)  # today's default: latent_input on
    load_keras_state(again, tmp_path, state)
    assert again.latent_ is None and again.final_start_.latent is None
    np.testing.assert_array_equal(again.predict(test), old.predict(test))
    assert again.context_depth() == 0
    # it reads returns through its log-HAR input only; without that, not at all
    assert again.reads_returns()
    again.har_input = False
    assert not again.reads_returns()


def test_too_short_series_leave_the_input_out():
    r = garch_returns(120, 1)
    short = har_batch(r[:60], 8)  # 31 rows: below latent-har's 50
    net = make_model("mlp", TASK, FROZEN, seed=0).fit(short)
    assert net.latent_ is None
    assert net._inputs(short).shape[1] == short.X.shape[1] + len(TASK.horizons) + 2


def test_each_series_is_fitted_once_for_the_same_rows(monkeypatch):
    calls = []
    real = latent_module.fit_series

    def counted(r, news, seed, maxiter=latent_module.MAXITER, start=None):
        calls.append(len(r))
        return real(r, news, seed, maxiter, start)

    monkeypatch.setattr(latent_module, "fit_series", counted)
    monkeypatch.setattr(latent_module, "_FITS", type(latent_module._FITS)())
    monkeypatch.setattr(latent_module, "_PENDING", {})
    train, _ = _split()
    first = LatentHAR(TASK, seed=0).fit(train)
    assert calls == [len(train)]
    again = LatentHAR(TASK, seed=0).fit(train)  # mlp and lstm on the same fold's rows
    assert calls == [len(train)]
    for key in ("theta", "draws"):
        np.testing.assert_array_equal(again.series_["s"][key], first.series_["s"][key])
    again.series_["s"]["theta"][0] = 99.0  # a fit's arrays are its own
    assert first.series_["s"]["theta"][0] != 99.0
    LatentHAR(TASK, seed=1).fit(train)  # another seed, other rows: fitted
    LatentHAR(TASK, seed=0).fit(train.take(np.arange(len(train)) < 400))
    assert calls == [len(train), len(train), 400]
    # pnp: fitted from the remembered linear fit (one call), then remembered too
    LatentHAR(TASK, news="pnp", seed=0).fit(train)
    LatentHAR(TASK, news="pnp", seed=0).fit(train)
    assert calls == [len(train), len(train), 400, len(train)]
    assert not latent_module._PENDING  # hits and fits leave no lock behind
    # bounded: the oldest fits go first
    monkeypatch.setattr(latent_module, "FIT_CACHE_SIZE", 2)
    LatentHAR(TASK, seed=2).fit(train)
    assert len(latent_module._FITS) == 2


@pytest.mark.parametrize("name", ["lstm"])
def test_sequence_networks_read_it_in_their_feature_row(name):
    train, test = _split()
    windows = lambda b: np.repeat(b.X[:, None, :], 3, axis=1)  # noqa: E731
    train = Batch(train.X, train.naive, train.y, train.ids, windows(train), train.feature_names)
    test = Batch(test.X, test.naive, test.y, test.ids, windows(test), test.feature_names)
    net = make_model(name, TASK, FROZEN, seed=0).fit(train)
    np.testing.assert_array_equal(net._inputs(test)[:, -2:], net.latent_.predict(test))
    bare = make_model(name, TASK, {**FROZEN, "skip": False}, seed=0).fit(train)
    assert bare.latent_ is None and not bare.reads_returns()


def test_two_threads_asking_for_one_fit_make_it_once(monkeypatch):
    import threading
    import time

    calls = []
    real = latent_module.fit_series

    def slow(r, news, seed, maxiter=latent_module.MAXITER, start=None):
        calls.append(threading.get_ident())
        time.sleep(0.3)  # long enough for the other thread to ask meanwhile
        return real(r, news, seed, maxiter, start)

    monkeypatch.setattr(latent_module, "fit_series", slow)
    monkeypatch.setattr(latent_module, "_FITS", type(latent_module._FITS)())
    monkeypatch.setattr(latent_module, "_PENDING", {})
    r = garch_returns(300, 7)
    out = [None, None]

    def ask(i):
        out[i] = latent_module.cached_fit(r, "linear", 0)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and not latent_module._PENDING
    np.testing.assert_array_equal(out[0][0], out[1][0])
    assert out[0][0] is not out[1][0]
    # asked again, it is remembered, and nothing is left pending
    again = latent_module.cached_fit(r, "linear", 0)
    np.testing.assert_array_equal(again[0], out[0][0])
    assert len(calls) == 1 and not latent_module._PENDING


def test_the_latent_fits_run_outside_the_build_lock(monkeypatch):
    """The networks are seeded and built one thread at a time (BUILD_LOCK); latent-har's
    fits draw from no process-wide generator, so other threads build meanwhile."""
    from fincast._threads import BUILD_LOCK

    owned = []
    real = latent_module.fit_series

    def watched(r, news, seed, maxiter=latent_module.MAXITER, start=None):
        owned.append(BUILD_LOCK._is_owned())
        return real(r, news, seed, maxiter, start)

    monkeypatch.setattr(latent_module, "fit_series", watched)
    monkeypatch.setattr(latent_module, "_FITS", type(latent_module._FITS)())
    train, test = _split()
    val = test.take(np.arange(len(test)) < 200)
    net = make_model("mlp", TASK, {**FROZEN, "shrink": True}, seed=0).fit(train, val)
    # the training rows, then the whole window; each the linear fit, then pnp from it
    assert owned == [False, False, False, False]
    assert net.latent_ is not None and net.final_start_.latent is not None
