"""Early stopping's one-standard-error rule (``stop_se``): which epoch a network ends with.

The hook stops by Keras' rules either way; with ``se`` > 0 it restores the earliest epoch
whose validation loss is within ``se`` standard errors (of the lowest epoch's per-row
losses) of the lowest, instead of the lowest itself.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fincast.models import make_model
from fincast.models.hooks import EarlyStopping
from fincast.tasks import TaskSpec


class _Run:
    """A stand-in network: its weights are the epoch number, its per-row losses given."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def weights(self) -> int:
        return self.epoch

    def predict(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - not used
        raise AssertionError


def _drive(hook: EarlyStopping, losses: list[float]) -> tuple[int, object]:
    """Feed ``losses`` epoch by epoch until the hook stops; (epochs run, weights restored)."""
    for epoch, loss in enumerate(losses):
        if hook.on_epoch_end(epoch, 1.0, loss, _Run(epoch)):
            return epoch + 1, hook.on_train_end()
    return len(losses), hook.on_train_end()


#: A noisy validation curve without a trend (lstm, fold 1 of builtin:sp500 volatility):
#: its lowest value comes late, by chance.
CURVE = [0.206, 0.196, 0.202, 0.210, 0.234, 0.194, 0.214, 0.215, 0.191, 0.217, 0.224]
CURVE += [0.201, 0.196, 0.196, 0.198, 0.213, 0.188, 0.196, 0.191, 0.199, 0.195, 0.183]
CURVE += [0.199, 0.191, 0.196, 0.214, 0.209, 0.233, 0.194, 0.224, 0.234, 0.246, 0.25]


def _rows_with_stderr(stderr: float, n: int = 150):
    """Per-row losses whose standard error (std ddof 1 / sqrt n) is ``stderr``."""
    base = np.resize([-1.0, 1.0], n)
    base = base / np.std(base, ddof=1) * stderr * np.sqrt(n)
    return lambda run: base + 0.2


def test_se_zero_restores_the_lowest_epoch_as_keras():
    epochs, weights = _drive(EarlyStopping(10), CURVE)
    assert weights == int(np.argmin(CURVE[:epochs])) == 21
    assert epochs == 32  # 10 epochs without a lower loss after epoch 21


@pytest.mark.parametrize(
    ("se", "stderr", "expected"),
    [
        (0.5, 0.034, 1),  # limit 0.183 + 0.017 = 0.200: epoch 1 (0.196) is the first below
        (1.0, 0.034, 0),  # limit 0.217: the first epoch already is
        (0.5, 0.020, 8),  # limit 0.193: epoch 8 (0.191)
        (0.5, 0.004, 21),  # limit 0.185: only the lowest (0.188 at epoch 16 is above)
        (0.5, 0.0, 21),  # no noise: the lowest
    ],
)
def test_the_earliest_epoch_within_se_standard_errors_of_the_lowest(se, stderr, expected):
    hook = EarlyStopping(10, rows=_rows_with_stderr(stderr), se=se)
    epochs, weights = _drive(hook, CURVE)
    assert epochs == 32  # stopping itself does not change
    assert hook.stderr == pytest.approx(stderr, abs=1e-12)
    assert weights == expected == hook.restored


def test_the_standard_error_is_that_of_the_lowest_epoch():
    """The per-row losses are read at each new lowest epoch; the last one counts."""
    seen = []

    def rows(run):
        seen.append(run.epoch)
        return np.arange(10.0) * (run.epoch + 1)

    hook = EarlyStopping(3, rows=rows, se=1.0)
    _drive(hook, [0.5, 0.4, 0.45, 0.3, 0.6, 0.6, 0.6])
    assert seen == [0, 1, 3]  # only where the loss fell
    expected = np.std(np.arange(10.0) * 4, ddof=1) / np.sqrt(10)
    assert hook.stderr == pytest.approx(expected)


def test_without_rows_the_rule_is_off():
    hook = EarlyStopping(10, rows=None, se=1.0)
    assert _drive(hook, CURVE)[1] == 21 and hook.restored is None


def _noisy(n: int, seed: int):
    from fincast.models.base import Batch

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (0.3 * x[:, :1] + rng.normal(0, 1.0, (n, 1))).astype("float64")
    return Batch(x, naive=np.zeros((n, 1)), y=y)


def _fit(stop_se: float):
    task = TaskSpec("return")
    model = make_model(
        "mlp", task, {"epochs": 40, "patience": 8, "stop_se": stop_se, "shrink": False}, seed=3
    )
    model.fit(_noisy(600, 1), _noisy(200, 2))
    return model


def test_a_network_restores_an_earlier_epoch_with_stop_se():
    lowest = _fit(0.0).history_
    ruled = _fit(0.5).history_
    assert "restored_epoch" not in lowest
    # the same training, epoch for epoch, until the same stop
    np.testing.assert_array_equal(lowest["val_loss"], ruled["val_loss"])
    val = np.asarray(ruled["val_loss"])
    restored = int(ruled["restored_epoch"][0])  # 1-based
    assert 1 <= restored <= int(np.argmin(val)) + 1
    assert val[restored - 1] <= val.min() + 0.5 * 0.2  # 0.2: far above the standard error
    assert restored < int(np.argmin(val)) + 1  # on noise, an earlier epoch than the lowest
    json.dumps(ruled)  # history.json holds it


def test_stop_se_is_validated_and_off_for_the_seed_recipe():
    from fincast.errors import ConfigError

    task = TaskSpec("return")
    with pytest.raises(ConfigError, match="stop_se"):
        make_model("mlp", task, {"stop_se": -1}).fit(_noisy(50, 0))
    assert make_model("mlp", task).get_params()["stop_se"] == 0.5
    assert make_model("lstm", task).get_params()["stop_se"] == 0.5
    assert make_model("seed-mlp", task).get_params()["stop_se"] == 0.0
