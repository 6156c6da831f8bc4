"""Networks trained together (the folds of a walk-forward) end exactly as if trained alone."""

import numpy as np
import pytest

from fincast.models import Batch, fastfit, make_model
from fincast.models.keras_base import fit_together
from fincast.tasks import TaskSpec

pytestmark = pytest.mark.skipif(not fastfit.available(), reason="needs the JAX backend")


def _batches(n: int, f: int = 4, seed: int = 0, windows: bool = False) -> Batch:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, f))
    y = x[:, :1] * 0.5 + rng.normal(0, 0.5, (n, 1))
    w = np.repeat(x[:, None, :], 3, axis=1) if windows else None
    return Batch(X=x, y=y, naive=np.zeros((n, 1)), windows=w)


def _fit_both(name: str, params: dict, sizes: list[int], *, validation: bool):
    """Predictions, histories and weights: one at a time, then together."""
    trains = [_batches(n, seed=i, windows=name == "lstm") for i, n in enumerate(sizes)]
    vals = [
        _batches(20, seed=10 + i, windows=name == "lstm") if validation else None
        for i in range(len(sizes))
    ]
    test = _batches(30, seed=99, windows=name == "lstm")
    task = TaskSpec("return")
    alone = [make_model(name, task, params, seed=7 + i) for i in range(len(sizes))]
    for model, train, val in zip(alone, trains, vals, strict=True):
        model.fit(train, val)
    together = [make_model(name, task, params, seed=7 + i) for i in range(len(sizes))]
    errors = fit_together(together, trains, vals)
    assert errors == [None] * len(sizes)
    return alone, together, test


@pytest.mark.parametrize(
    ("name", "params", "validation"),
    [
        ("seed-mlp", {"epochs": 4, "batch_size": 16}, False),
        # early stopping stops folds at different epochs; shrinkage and the skip path
        ("mlp", {"units": 8, "epochs": 12, "batch_size": 8, "patience": 2}, True),
        ("lstm", {"units": 4, "epochs": 3, "batch_size": 16, "dropout": 0.2}, True),
    ],
)
def test_folds_trained_together_equal_folds_trained_alone(name, params, validation):
    alone, together, test = _fit_both(name, params, [70, 45, 101], validation=validation)
    for a, t in zip(alone, together, strict=True):
        # bit for bit: each network's operations are those of its own fit
        assert a.history_ == t.history_
        for wa, wt in zip(a.model_.get_weights(), t.model_.get_weights(), strict=True):
            assert wa.tobytes() == wt.tobytes()
        assert a.predict(test).tobytes() == t.predict(test).tobytes()


def test_early_stopping_stops_each_fold_on_its_own():
    params = {"units": 8, "epochs": 30, "batch_size": 8, "patience": 1, "lr": 0.05}
    _, together, _ = _fit_both("mlp", params, [40, 60, 80], validation=True)
    epochs = [len(m.history_["loss"]) for m in together]
    assert min(epochs) < 30  # some fold stopped early, while the run went on for others


def test_training_together_is_deterministic():
    runs = []
    for _ in range(2):
        _, together, test = _fit_both("seed-mlp", {"epochs": 2}, [50, 64], validation=False)
        runs.append([m.predict(test).tobytes() for m in together])
    assert runs[0] == runs[1]


def test_a_fold_that_cannot_train_together_falls_back_to_its_own_fit():
    # a batch larger than one fold's rows: every network trains on its own
    alone, together, test = _fit_both(
        "seed-mlp", {"epochs": 2, "batch_size": 64}, [50, 100], validation=False
    )
    for a, t in zip(alone, together, strict=True):
        assert a.predict(test).tobytes() == t.predict(test).tobytes()


def _compilations(trainer) -> dict[str, int]:
    return {
        name: getattr(trainer, name)._cache_size()
        for name in ("_train", "_train_many", "_evaluate", "_predict")
    }


def test_no_recompilation_between_folds_models_or_predictions():
    """One compilation per structure: folds of other sizes, new models, predictions of
    other lengths and a second walk-forward of as many folds reuse it."""
    task = TaskSpec("return")
    params = {"units": 5, "layers": 1, "epochs": 2, "patience": 1}
    trainers = []
    for round_ in range(2):
        models = [make_model("mlp", task, params, seed=round_ * 10 + i) for i in range(3)]
        trains = [_batches(n, seed=i) for i, n in enumerate((40 + round_, 57, 83))]
        vals = [_batches(12 + i, seed=20 + i) for i in range(3)]
        assert fit_together(models, trains, vals) == [None] * 3
        for m, n in zip(models, (7, 30, 1500), strict=True):
            m.predict(_batches(n, seed=n))
        lone = make_model("mlp", task, params, seed=99 + round_).fit(trains[1], vals[1])
        lone.predict(_batches(3))
        key = models[0]._structure_key((4,))
        trainers.append(fastfit._CACHE[key])
    assert trainers[0] is trainers[1]
    assert _compilations(trainers[0]) == {
        "_train": 1,
        "_train_many": 1,
        "_evaluate": 1,
        "_predict": 1,
    }


@pytest.mark.slow
def test_a_backtest_with_folds_trained_together_writes_the_same_predictions(tmp_path, monkeypatch):
    """FINCAST_TOGETHER=1 trains every (fold, seed) of a network in one program: the
    predictions table is byte for byte the one of fold-by-fold training."""
    from fincast.backtest import run_backtest
    from fincast.backtest import together as together_module
    from fincast.config import build_config

    from ..conftest import make_ohlcv

    path = tmp_path / "prices.csv"
    make_ohlcv(220).drop(columns="ticker").to_csv(path, index=False)
    models = {
        "mlp": {"epochs": 4, "units": 6, "layers": 1, "patience": 1},
        "seed-mlp": {"epochs": 2},
    }
    texts, calls = [], []
    real = together_module._train_model
    monkeypatch.setattr(together_module, "_train_model", lambda *a: calls.append(a[1]) or real(*a))
    for flag in ("0", "1"):
        monkeypatch.setenv("FINCAST_TOGETHER", flag)
        values = {"data": str(path), "out": str(tmp_path / flag), "models": models}
        run_backtest(build_config({**values, "folds": 3, "lookback": 5, "seeds": 2}))
        texts.append((tmp_path / flag / "predictions.csv").read_bytes())
    assert calls == ["mlp", "seed-mlp"]  # only the run with the flag trained together
    assert texts[0] == texts[1]
