"""The compiled training loop does what ``model.fit`` does, and reuses its compilation."""

import numpy as np
import pytest

from fincast import _backend
from fincast.models import Batch, fastfit, make_model
from fincast.tasks import TaskSpec

keras = _backend.keras()

pytestmark = pytest.mark.skipif(not fastfit.available(), reason="needs the JAX backend")


def _data(n: int, f: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, f)).astype("float32")
    y = (x[:, :1] * 0.7 + rng.normal(0, 0.3, (n, 1))).astype("float32")
    return x, y


def _net(params: dict, f: int = 4, seed: int = 3):
    """Two identical compiled Keras networks (same initial weights)."""
    forecaster = make_model("mlp", TaskSpec("return"), {"units": 8, **params}, seed=seed)
    nets = []
    for _ in range(2):
        keras.utils.set_random_seed(seed)
        nets.append(forecaster.build((f,)))
    return nets


@pytest.mark.parametrize(
    ("params", "n", "batch"),
    [
        ({"l2": 0.01}, 50, 16),  # a smaller last batch, regularisation
        ({"dropout": 0.3}, 48, 16),  # dropout draws the same masks
        ({"optimizer": "rmsprop", "l1": 0.001}, 37, 8),
    ],
)
def test_same_updates_as_keras_fit(params, n, batch):
    x, y = _data(n)
    fast, ref = _net(params)
    history = ref.fit(x, y, batch_size=batch, epochs=3, shuffle=False, verbose=0)
    fast.optimizer.build(fast.trainable_variables)
    got = fastfit.Trainer(fast).fit(fast, x, y, epochs=3, batch_size=batch, seed=0, shuffle=False)
    np.testing.assert_allclose(got["loss"], history.history["loss"], rtol=2e-5)
    for a, b in zip(fast.get_weights(), ref.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert int(fast.optimizer.iterations.numpy()) == 3 * -(-n // batch)


def test_per_horizon_class_targets_as_keras():
    """trend3: a softmax over 3 classes per horizon, one-hot targets (rows, horizons, 3)."""
    task = TaskSpec("trend3", (1, 2))
    forecaster = make_model("mlp", task, {"units": 8}, seed=3)
    fast, ref = [forecaster.build((4,)) for _ in range(2)]
    ref.set_weights(fast.get_weights())
    x, _ = _data(45)
    labels = np.random.default_rng(4).integers(0, 3, (45, 2))
    y = np.eye(3, dtype="float32")[labels]
    history = ref.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    fast.optimizer.build(fast.trainable_variables)
    trainer = fastfit.Trainer(fast)
    got = trainer.fit(fast, x, y, epochs=2, batch_size=16, seed=0, shuffle=False)
    np.testing.assert_allclose(got["loss"], history.history["loss"], rtol=2e-5)
    for a, b in zip(fast.get_weights(), ref.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    trainable = [v.value for v in fast.trainable_variables]
    non_trainable = [v.value for v in fast.non_trainable_variables]
    val = trainer.evaluate(trainable, non_trainable, x, y)
    np.testing.assert_allclose(val, ref.evaluate(x, y, verbose=0), rtol=1e-5)


def test_early_stopping_as_keras():
    x, y = _data(64)
    xv, _ = _data(20, seed=5)
    yv = np.random.default_rng(2).normal(0, 3, (20, 1)).astype("float32")  # unlearnable
    fast, ref = _net({})
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = ref.fit(
        x,
        y,
        batch_size=16,
        epochs=40,
        shuffle=False,
        verbose=0,
        validation_data=(xv, yv),
        callbacks=[stop],
    )
    fast.optimizer.build(fast.trainable_variables)
    got = fastfit.Trainer(fast).fit(
        fast,
        x,
        y,
        epochs=40,
        batch_size=16,
        seed=0,
        shuffle=False,
        validation=(xv, yv),
        patience=2,
    )
    assert len(got["loss"]) == len(history.history["loss"]) < 40
    np.testing.assert_allclose(got["val_loss"], history.history["val_loss"], rtol=1e-4)
    for a, b in zip(fast.get_weights(), ref.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_results_do_not_depend_on_which_compiled_trainer_was_reused():
    task = TaskSpec("return")
    x, y = _data(90)
    train = Batch(x, np.zeros_like(y), y.astype("float64"))
    params = {"epochs": 3, "batch_size": 16, "dropout": 0.1}
    fastfit._CACHE.clear()
    cold = make_model("seed-mlp", task, params, seed=11).fit(train).predict(train)
    trainers = len(fastfit._CACHE)
    make_model("seed-mlp", task, params, seed=12).fit(train)  # warms the same trainer
    assert len(fastfit._CACHE) == trainers  # reused, not rebuilt
    warm = make_model("seed-mlp", task, params, seed=11).fit(train).predict(train)
    np.testing.assert_array_equal(cold, warm)
    other = make_model("seed-mlp", task, params, seed=12).fit(train).predict(train)
    assert not np.array_equal(cold, other)


def test_shuffles_every_epoch_with_the_seed():
    x, y = _data(40)
    out = []
    for seed in (1, 1, 2):
        net, _ = _net({})
        net.optimizer.build(net.trainable_variables)
        fastfit.Trainer(net).fit(net, x, y, epochs=2, batch_size=8, seed=seed)
        out.append(net.get_weights()[0])
    np.testing.assert_array_equal(out[0], out[1])
    assert not np.array_equal(out[0], out[2])


def test_a_diverging_loss_stops_training_like_terminate_on_nan():
    task = TaskSpec("return")
    x, y = _data(64)
    train = Batch(x * 1e3, np.zeros_like(y), y.astype("float64") * 1e3)
    model = make_model("mlp", task, {"optimizer": "sgd", "lr": 1e6, "epochs": 50}, seed=0)
    with pytest.raises(FloatingPointError, match="training loss became nan"):
        model.fit(train)
    assert len(model.history_["loss"]) < 50


def test_predicts_in_blocks_like_keras_predict():
    x, _ = _data(fastfit.BLOCK + 7)
    net, _ = _net({})
    np.testing.assert_allclose(
        fastfit.Trainer(net).predict(net, x), net.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_batch_dependent_layers_train_with_fit():
    net, _ = _net({})
    assert fastfit.supports(net)
    inputs = keras.Input((4,))
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(3)(inputs))
    assert not fastfit.supports(keras.Model(inputs, keras.layers.Dense(1)(hidden)))


def test_epoch_hooks_see_every_epoch_can_stop_and_choose_the_final_weights():
    from fincast.models.hooks import EpochHook

    x, y = _data(48)
    xv, yv = _data(16, seed=6)
    net, _ = _net({})
    net.optimizer.build(net.trainable_variables)
    initial = [w.copy() for w in net.get_weights()]

    class StopAfterTwo(EpochHook):
        def __init__(self):
            self.seen, self.first = [], None

        def on_epoch_end(self, epoch, train_loss, val_loss, run):
            self.seen.append((epoch, train_loss, val_loss, run.predict(xv).shape))
            if self.first is None:
                self.first = run.weights()
            return epoch == 1

        def on_train_end(self):
            return self.first

    hook = StopAfterTwo()
    got = fastfit.Trainer(net).fit(
        net, x, y, epochs=10, batch_size=16, seed=0, validation=(xv, yv), hooks=[hook]
    )
    assert [s[0] for s in hook.seen] == [0, 1] and len(got["loss"]) == 2
    assert [s[1] for s in hook.seen] == got["loss"] and [s[2] for s in hook.seen] == got["val_loss"]
    assert hook.seen[0][3] == (16, 1)
    after_one = [np.asarray(w) for w in hook.first[0]]
    for a, b in zip(net.get_weights()[: len(after_one)], after_one, strict=True):
        np.testing.assert_array_equal(a, b)  # ended with the weights the hook handed back
    assert not np.array_equal(net.get_weights()[0], initial[0])
