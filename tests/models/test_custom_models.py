"""Your own Keras model through fincast: builders from Python, a config file and plugins."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest

import fincast
from fincast.cli import main
from fincast.errors import ModelError
from fincast.models import MODELS, make_model
from fincast.models.custom import BuilderModel, register_builder
from fincast.tasks import TaskSpec

from ..conftest import make_ohlcv

FAST = {"epochs": 2, "folds": 2, "lookback": 6}


def flat(input_shape, n_outputs, **info):
    import keras

    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(n_outputs, activation=info["activation"]),
        ]
    )


def windowed(input_shape, n_outputs, **info):
    import keras

    assert len(input_shape) == 2 and input_shape[0] == info["lookback"]
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.GRU(4),
            keras.layers.Dense(n_outputs, activation=info["activation"]),
        ]
    )


@pytest.fixture(autouse=True)
def _forget_custom_models():
    before = dict(MODELS)
    yield
    MODELS.clear()
    MODELS.update(before)


@pytest.mark.parametrize("task", ["return", "direction"])
def test_flat_and_windowed_builders_run_like_fincasts_networks(task):
    df = make_ohlcv(ids=("AAA", "BBB"))
    models = {"mine": flat, "mine-seq": fincast.KerasModel(windowed, windows=True)}
    result = fincast.backtest(df, models=models, task=task, horizon=[1, 2], **FAST)
    assert result.failures == []
    preds = result.predictions
    for name in ("mine", "mine-seq"):
        rows = preds[preds["model"] == name]
        naive = preds[preds["model"] == "naive"]
        # the same folds, dates and horizons as the baselines
        assert sorted(rows["fold"].unique()) == [0, 1]
        assert len(rows) == len(naive)
        assert np.isfinite(rows["y_pred"]).all()
    assert {"mine", "mine-seq"} <= set(result.verdict["model"])
    assert "loss" in result.plot()  # training histories reach the report
    again = fincast.backtest(df, models=models, task=task, horizon=[1, 2], **FAST)
    np.testing.assert_array_equal(  # seeds: the same call gives the same forecasts
        preds["y_pred"].to_numpy(), again.predictions["y_pred"].to_numpy()
    )


def test_the_builder_receives_what_the_task_needs():
    seen = {}

    def build(input_shape, n_outputs, **info):
        seen.update(info, input_shape=input_shape, n_outputs=n_outputs)
        return flat(input_shape, n_outputs, **info)

    cls = register_builder("probe", build)
    model = cls(TaskSpec("direction", (1, 5)))
    keras_model = model.build((7,))
    assert seen["input_shape"] == (7,) and seen["n_outputs"] == 2
    assert seen["task"] == "direction" and seen["activation"] == "sigmoid"
    assert seen["loss"] == "binary_crossentropy" and seen["output_shape"] == (2,)
    assert keras_model.optimizer is not None  # compiled by fincast


def test_a_compiled_model_keeps_its_own_compilation():
    import keras

    def build(input_shape, n_outputs, **info):
        model = flat(input_shape, n_outputs, **info)
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mae")
        return model

    cls = register_builder("compiled", build)
    built = cls(TaskSpec("return", (1,))).build((4,))
    assert isinstance(built.optimizer, keras.optimizers.SGD) and built.loss == "mae"


def _raises(input_shape, n_outputs, **info):
    raise RuntimeError("no GPU here")


def _not_keras(input_shape, n_outputs, **info):
    return "a model"


def _wrong_width(input_shape, n_outputs, **info):
    return flat(input_shape, n_outputs + 2, **info)


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (_raises, ["'broken'", "raised RuntimeError: no GPU here", "build((", "task='return'"]),
        (_not_keras, ["'broken'", "returned str", "expected a keras.Model"]),
        (_wrong_width, ["'broken'", "output shape (None, 3)", "expected (None, 1)", "Dense(1"]),
    ],
    ids=["raises", "not-keras", "wrong-shape"],
)
def test_bad_builders_fail_before_any_fold_trains(build, words, monkeypatch, tmp_path):
    fits = []
    monkeypatch.setattr(BuilderModel, "fit", lambda self, *a, **k: fits.append(1))
    with pytest.raises(ModelError) as caught:
        fincast.backtest(make_ohlcv(), models={"broken": build}, out=tmp_path / "r", **FAST)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    assert fits == [] and not (tmp_path / "r").exists()


def test_builtin_names_cannot_be_replaced():
    with pytest.raises(ModelError, match="one of fincast's own models"):
        fincast.backtest(make_ohlcv(), models={"mlp": flat}, **FAST)


NETS = """
import keras


def build(input_shape, n_outputs, **info):
    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Dense(4, activation="tanh"),
        keras.layers.Dense(n_outputs, activation=info["activation"]),
    ])


class Doubler(keras.layers.Layer):  # not registered serializable
    def call(self, x):
        return 2.0 * x


def build_custom_layer(input_shape, n_outputs, **info):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(n_outputs)(Doubler()(inputs)))
"""


def test_builder_by_import_path_from_the_cli_trains_saves_and_predicts(
    tmp_path, monkeypatch, ohlcv_csv, capsys
):
    (tmp_path / "mynets_cli.py").write_text(NETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = tmp_path / "run.yaml"
    config.write_text("models: {mine: {builder: 'mynets_cli:build'}}\nepochs: 2\nfolds: 2\n")
    assert main(["backtest", str(ohlcv_csv), "--config", str(config), "--quiet",
                 "--out", str(tmp_path / "run")]) == 0  # fmt: skip
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "mine" in metrics["models"]
    assert main(["train", str(ohlcv_csv), "--config", str(config), "--quiet",
                 "--out", str(tmp_path / "model")]) == 0  # fmt: skip
    MODELS.pop("mine")  # predict registers it again from the saved import path
    capsys.readouterr()
    assert main(["predict", "--model", str(tmp_path / "model"), "--data", str(ohlcv_csv)]) == 0
    assert "forecast" in capsys.readouterr().out
    # a model trained from a Python function is loaded without it (Keras reads the file)
    path = fincast.train(str(ohlcv_csv), models={"py": flat}, epochs=2, out=tmp_path / "py")
    MODELS.pop("py")
    assert len(fincast.predict(path, str(ohlcv_csv))) == 1


def test_unregistered_custom_layers_fail_loading_with_a_hint(tmp_path, monkeypatch, ohlcv_csv):
    (tmp_path / "mynets_layer.py").write_text(NETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    models = {"odd": {"builder": "mynets_layer:build_custom_layer"}}
    path = fincast.train(str(ohlcv_csv), models=models, epochs=1, out=tmp_path / "m")
    with pytest.raises(ModelError, match="register_keras_serializable"):
        fincast.predict(path, str(ohlcv_csv))


def test_bad_import_path_is_a_config_error(ohlcv_csv):
    with pytest.raises(fincast.ConfigError, match="cannot be imported"):
        fincast.backtest(str(ohlcv_csv), models={"x": {"builder": "no_such_mod:build"}}, out=None)
    with pytest.raises(fincast.ConfigError, match="import path like 'mypkg\\.nets:build'"):
        fincast.backtest(str(ohlcv_csv), models={"x": {"builder": "no_colon"}}, out=None)


def test_an_installed_plugin_registers_its_model(tmp_path, monkeypatch, ohlcv_csv, capsys):
    """A tiny installed distribution: a dist-info with an entry point, on sys.path."""
    (tmp_path / "fincast_demo_plugin.py").write_text(
        NETS + "\nimport fincast\nMODEL = fincast.KerasModel(build)\n"
    )
    info = tmp_path / "fincast_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fincast-demo-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [fincast.models]
            plugged = fincast_demo_plugin:MODEL
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["models"]) == 0
    assert "plugged" in capsys.readouterr().out  # listed without being imported
    assert "fincast_demo_plugin" not in sys.modules
    result = fincast.backtest(str(ohlcv_csv), models=["plugged"], out=None, **FAST)
    assert "plugged" in set(result.verdict["model"]) and result.failures == []


def test_python_builders_are_refused_in_worker_processes(tmp_path):
    with pytest.raises(fincast.ConfigError, match="cannot run in worker processes"):
        fincast.backtest(make_ohlcv(), models={"mine": flat}, workers=2, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_users_network_gets_no_loghar_input_unless_asked():
    """On volatility fincast's networks read the log-HAR forecast; a builder's input stays."""
    from fincast.models.custom import register_builder

    from .test_volatility_networks import FROZEN, TASK, _split

    register_builder("mine-vol", flat)
    train, test = _split()
    params = {k: v for k, v in FROZEN.items() if k not in ("units", "layers")}
    mine = make_model("mine-vol", TASK, params, seed=0).fit(train)
    assert mine.har_ is None and mine.latent_ is None
    assert mine._inputs(test).shape[1] == test.X.shape[1]
    asked = make_model("mine-vol", TASK, {**params, "har_input": True}, seed=0).fit(train)
    # the log-HAR forecast per horizon, then its news terms z and |z|, as fincast's own
    assert asked._inputs(test).shape[1] == test.X.shape[1] + len(TASK.horizons) + 2
    plain = {**params, "har_input": True, "har_news": False}
    plain_net = make_model("mine-vol", TASK, plain, seed=0).fit(train)
    assert plain_net._inputs(test).shape[1] == test.X.shape[1] + len(TASK.horizons)
