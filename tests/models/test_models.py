"""One generic check suite over every registered model (scikit-learn style)."""

import numpy as np
import pytest

from fincast.errors import ConfigError
from fincast.models import MODELS, Batch, make_model
from fincast.tasks import TaskSpec

FAST = {"epochs": 2, "batch_size": 16}


def batch(
    task: TaskSpec, n: int = 120, f: int = 4, seed: int = 0, with_windows: bool = True
) -> Batch:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f)).astype("float32")
    signal = X[:, :1] * 0.5 + rng.normal(0, 0.1, (n, 1))
    y = np.repeat(signal, len(task.horizons), axis=1)
    naive = np.zeros_like(y)
    if task.kind == "level":
        naive = 100 + np.cumsum(rng.normal(size=(n, 1)), axis=0).repeat(len(task.horizons), 1)
        y = naive + y
    if task.kind == "direction":
        y = (y > 0).astype(float)
        naive = np.roll(y, 1, axis=0)
    windows = np.stack([np.roll(X, k, axis=0) for k in range(4, -1, -1)], axis=1)
    ids = np.array(["a"] * n, dtype=object)
    names = ("ret", *(f"ret_lag{k}" for k in range(1, f)))  # what return baselines read
    return Batch(X, naive, y, ids, windows if with_windows else None, names)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        (name, kind)
        for kind in ("return", "level", "direction")
        for name in sorted(MODELS)
        if MODELS[name].tasks is None or kind in MODELS[name].tasks
    ],
)
def test_every_model_fits_and_predicts_every_task(name, kind):
    task = TaskSpec(kind, (1, 5))
    params = {"lags": 2} if name == "ar" else {} if MODELS[name].kind == "baseline" else FAST
    model = make_model(name, task, params, seed=1)
    assert model.fit(batch(task)) is model
    out = model.predict(batch(task, n=30, seed=2))
    assert out.shape == (30, 2)
    assert np.isfinite(out).all()
    if task.is_classification:
        assert ((out >= 0) & (out <= 1)).all()
    assert "task" not in model.get_params()


@pytest.mark.parametrize("name", [n for n in sorted(MODELS) if MODELS[n].kind == "network"])
def test_keras_models_are_deterministic_under_a_seed(name):
    task = TaskSpec("return")
    a = make_model(name, task, FAST, seed=7).fit(batch(task)).predict(batch(task, 20, seed=3))
    b = make_model(name, task, FAST, seed=7).fit(batch(task)).predict(batch(task, 20, seed=3))
    c = make_model(name, task, FAST, seed=8).fit(batch(task)).predict(batch(task, 20, seed=3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_seed_mlp_is_the_classic_network():
    model = make_model("seed-mlp", TaskSpec("return"), {"epochs": 1}).fit(batch(TaskSpec("return")))
    layers = [layer for layer in model.model_.layers if layer.__class__.__name__ == "Dense"]
    assert [layer.units for layer in layers] == [64, 64, 1]
    assert [layer.activation.__name__ for layer in layers] == ["relu", "relu", "linear"]
    assert model.model_.loss == "mse"
    assert type(model.model_.optimizer).__name__ == "Adam"
    defaults = make_model("seed-mlp", TaskSpec("return")).get_params()
    assert defaults["epochs"] == 100 and defaults["batch_size"] == 32
    clf = make_model("seed-mlp", TaskSpec("direction"), {"epochs": 1}).fit(
        batch(TaskSpec("direction"))
    )
    assert clf.model_.layers[-1].activation.__name__ == "sigmoid"
    assert clf.model_.loss == "binary_crossentropy"


def test_seed_mlp_learns_a_linear_signal():
    task = TaskSpec("return")
    train, test = batch(task, 600), batch(task, 200, seed=5)
    model = make_model("seed-mlp", task, {"epochs": 20}).fit(train)
    mse = np.mean((model.predict(test) - test.y) ** 2)
    assert mse < 0.5 * np.var(test.y)


def test_baselines():
    task = TaskSpec("level")
    b = batch(task)
    np.testing.assert_array_equal(make_model("naive", task).fit(b).predict(b), b.naive)
    mean = make_model("mean", task).fit(b).predict(b)
    np.testing.assert_allclose(mean - b.naive, np.mean(b.y - b.naive, axis=0) + 0 * b.naive)
    d = TaskSpec("direction")
    bd = Batch(np.zeros((4, 1), "float32"), np.zeros((4, 1)), np.array([[1.0], [1], [0], [1]]))
    assert make_model("mean", d).fit(bd).predict(bd).tolist() == [[1.0]] * 4


def test_unknown_model_and_parameter():
    with pytest.raises(ConfigError, match="did you mean 'seed-mlp'"):
        make_model("seed_mlp", TaskSpec())
    with pytest.raises(ConfigError, match="has no parameter `wings`"):
        make_model("seed-mlp", TaskSpec(), {"wings": 2})
    with pytest.raises(ConfigError, match=r"`optimizer` must be one of adam, .*got 'adamw'"):
        make_model("seed-mlp", TaskSpec(), {"optimizer": "adamw"})


SEQUENCE = [n for n in sorted(MODELS) if MODELS[n].sequence]


def windowed(task: TaskSpec, n: int = 80, lookback: int = 6, seed: int = 0) -> Batch:
    b = batch(task, n=n, seed=seed)
    rng = np.random.default_rng(seed)
    windows = rng.normal(size=(n, lookback, 3)).astype("float32")
    windows[:, -1, 0] = b.X[:, 0]  # the signal sits in the last step
    return Batch(b.X, b.naive, b.y, b.ids, windows)


def test_sequence_models_are_registered():
    assert set(SEQUENCE) == {"lstm", "gru", "cnn", "transformer"}


@pytest.mark.parametrize("name", SEQUENCE)
def test_sequence_models_read_windows(name):
    task = TaskSpec("return", (1, 5))
    model = make_model(name, task, FAST, seed=1).fit(windowed(task))
    # the body reads the (6, 3) window; the skip path the feature row beside it
    assert model.model_.get_layer("window").output.shape == (None, 6, 3)
    assert model.model_.input_shape == (None, 6 * 3 + windowed(task).X.shape[1])
    assert model.model_.get_layer("linear").input.shape == (None, windowed(task).X.shape[1])
    assert model.predict(windowed(task, 20, seed=3)).shape == (20, 2)
    with pytest.raises(ValueError, match="needs look-back windows"):
        model.predict(batch(task, 5, with_windows=False))


def test_mlp_options_shape_the_network():
    task = TaskSpec("return")
    model = make_model(
        "mlp",
        task,
        {"units": 8, "layers": 3, "activation": "tanh", "dropout": 0.2, "l2": 0.01, "epochs": 1},
    ).fit(batch(task))
    dense = [layer for layer in model.model_.layers if layer.__class__.__name__ == "Dense"]
    assert [layer.units for layer in dense if layer.name != "linear"] == [8, 8, 8, 1]
    assert model.model_.get_layer("linear").units == 1  # the skip path
    assert dense[0].activation.__name__ == "tanh" and dense[0].kernel_regularizer is not None
    assert sum(layer.__class__.__name__ == "Dropout" for layer in model.model_.layers) == 3
    with pytest.raises(ConfigError, match=r"`activation` must be one of relu, .*got 'swish'"):
        make_model("mlp", task, {"activation": "swish"})


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "gd", "adam"])
def test_optimizers_train(optimizer):
    task = TaskSpec("return")
    model = make_model("mlp", task, {"optimizer": optimizer, "epochs": 2, "lr": 0.01}).fit(
        batch(task)
    )
    assert len(model.history_["loss"]) == 2
    if optimizer == "gd":  # full batch: one update per epoch
        assert model.model_.optimizer.iterations.numpy() == 2


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_regression_losses(loss):
    task = TaskSpec("return")
    model = make_model("seed-mlp", task, {"loss": loss, "epochs": 1}).fit(batch(task))
    assert model.model_.loss == loss


def test_early_stopping_restores_best_weights_and_stops_early():
    task = TaskSpec("return")
    train, val = batch(task, 300), batch(task, 60, seed=9)
    rng = np.random.default_rng(1)
    val = Batch(val.X, val.naive, rng.normal(size=val.y.shape) * 5, val.ids)  # unlearnable
    model = make_model("mlp", task, {"epochs": 60, "patience": 2}).fit(train, val)
    assert len(model.history_["loss"]) < 60
    assert "val_loss" in model.history_


def test_loss_must_fit_the_task():
    with pytest.raises(ConfigError, match="does not fit task 'direction'"):
        make_model("seed-mlp", TaskSpec("direction"), {"loss": "mse"})
