"""What the training tests' names claim, checked directly (issue 18).

* the optimizer a model trains with is the class, learning rate and momentum asked for;
* ``--loss huber`` computes Keras' Huber loss (compared with ``keras.losses.Huber`` on a
  fixed batch, not only by the loss's name);
* early stopping leaves the weights of the best epoch: the final weights reproduce the
  minimum validation loss of the history.
"""

from __future__ import annotations

import numpy as np
import pytest

from fincast import _backend
from fincast.models import Batch, make_model
from fincast.tasks import TaskSpec

from .test_models import batch

EXPECTED = {  # optimizer -> (Keras class, momentum)
    "adam": ("AdamW", None),  # mlp's default weight decay 1e-4 (seed-mlp: plain Adam)
    "rmsprop": ("RMSprop", None),
    "momentum": ("SGD", 0.9),
    "sgd": ("SGD", 0.0),
    "gd": ("SGD", 0.0),
}


@pytest.mark.parametrize("optimizer", sorted(EXPECTED))
def test_the_optimizer_is_the_class_and_parameters_asked_for(optimizer):
    task = TaskSpec("return")
    model = make_model("mlp", task, {"optimizer": optimizer, "epochs": 1, "lr": 0.0125})
    model.fit(batch(task))
    opt = model.model_.optimizer
    cls, momentum = EXPECTED[optimizer]
    assert type(opt).__name__ == cls
    assert float(opt.learning_rate) == pytest.approx(0.0125)
    if momentum is not None:
        assert float(opt.momentum) == momentum
    if optimizer == "adam":
        assert float(opt.weight_decay) == pytest.approx(1e-4)
    steps = int(opt.iterations.numpy())
    n = len(batch(task).X)
    assert steps == (1 if optimizer == "gd" else -(-n // 32))  # full batch vs batches of 32


def test_huber_loss_is_keras_huber_on_a_fixed_batch():
    keras = _backend.keras()
    task = TaskSpec("return")
    model = make_model("seed-mlp", task, {"loss": "huber", "epochs": 1}).fit(batch(task))
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (rng.normal(size=(64, 1)) * 3).astype("float32")  # errors on both sides of delta 1
    pred = np.asarray(model.model_.predict(x, verbose=0))
    expected = float(keras.losses.Huber(delta=1.0)(y, pred))
    assert abs(np.asarray(y - pred)).max() > 1.0  # the linear part of Huber is exercised
    got = float(model.model_.evaluate(x, y, verbose=0, batch_size=64))
    assert got == pytest.approx(expected, rel=1e-5)
    mse = float(np.mean((y - pred) ** 2))
    assert abs(got - mse) > 1e-3  # it is not MSE under another name


@pytest.mark.parametrize("stop_se", [0.0, 0.5])
def test_early_stopping_final_weights_reproduce_the_restored_validation_loss(stop_se):
    """``stop_se`` 0: the lowest epoch (Keras' rule); 0.5 (the default): the earliest
    epoch within half a standard error of it, recorded as ``restored_epoch``."""
    task = TaskSpec("return")
    train, val = batch(task, 300), batch(task, 60, seed=9)
    rng = np.random.default_rng(1)
    val = Batch(val.X, val.naive, rng.normal(size=val.y.shape) * 5, val.ids)  # unlearnable
    params = {"epochs": 60, "patience": 3, "lr": 0.01, "stop_se": stop_se}
    model = make_model("mlp", task, params).fit(train, val)
    history = model.history_["val_loss"]
    assert len(history) < 60  # it stopped early
    best = int(np.argmin(history))
    assert best < len(history) - 1  # the last epoch is not the best: restoring matters
    scored = val.take(np.arange(len(val) // 2))  # with shrinkage on: the first half
    x, y = model._scale(scored), model._scale_y(scored.y)
    final = float(model.model_.evaluate(x, y, verbose=0, batch_size=len(x)))
    if stop_se == 0:
        assert "restored_epoch" not in model.history_
        assert final == pytest.approx(min(history), rel=1e-4)
    else:
        restored = int(model.history_["restored_epoch"][0]) - 1
        pred = np.asarray(model.model_.predict(x, verbose=0), dtype="float64")
        rows = np.mean((pred - y) ** 2, axis=1)  # the restored weights' per-row losses
        assert restored < best  # on unlearnable rows, an earlier epoch than the lowest
        assert all(v > history[restored] for v in history[:restored])  # a new lowest then
        assert final == pytest.approx(history[restored], rel=1e-4)
        assert final == pytest.approx(rows.mean(), rel=1e-4)
    assert final != pytest.approx(history[-1], rel=1e-4)
