"""Your own Keras model: a builder function put through fincast's walk-forward.

A builder is ``build(input_shape, n_outputs, **info) -> keras.Model``. ``input_shape`` is
``(n_features,)``, or ``(lookback, n_features)`` for a model declared to read windows
(:class:`KerasModel` with ``windows=True``); ``n_outputs`` is the number of output units the
task's head needs; ``info`` holds ``task``, ``activation`` (the output activation the task
needs: linear, sigmoid or softmax), ``loss``, ``horizons``, ``output_shape`` (the shape the
model's output must have, without the batch axis) and ``lookback``. Uncompiled models are
compiled with the task's loss and the run's optimizer. The model then gets what fincast's
own networks get: the same folds, scaling, early stopping, seeds, metrics and report.

Builders come from Python (``fincast.backtest(df, models={"mine": build})``), from a config
file (``models: {mine: {builder: "mypkg.nets:build"}}``, which imports and runs that code),
or from installed plugins (the ``fincast.models`` entry-point group).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .. import _backend
from ..errors import ConfigError, ModelError
from ..tasks import TaskSpec
from .base import Model
from .keras_base import KerasForecaster
from .registry import MODELS, register

__all__ = [
    "ENTRY_POINT_GROUP",
    "BuilderModel",
    "KerasModel",
    "check_builders",
    "ensure_loadable",
    "register_builder",
    "register_builders",
    "register_from_config",
]

#: The entry-point group third-party packages register models in.
ENTRY_POINT_GROUP = "fincast.models"

Builder = Callable[..., Any]


@dataclass(frozen=True)
class KerasModel:
    """Your Keras model builder, with how it reads its inputs.

    Parameters
    ----------
    build
        ``build(input_shape, n_outputs, **info) -> keras.Model``.
    windows
        True when the model reads ``(lookback, n_features)`` windows (LSTM, CNN…); False
        (default) for a flat row of ``n_features``.
    """

    build: Builder
    windows: bool = False


class BuilderModel(KerasForecaster):
    """A :class:`KerasForecaster` whose network comes from a user's builder.

    Defaults differ from fincast's own networks in what would change the user's network:
    no linear skip path, no weight decay, no shrinkage toward naive and no log-HAR or
    ``latent-har`` input on ``volatility`` (``har_input``, ``latent_input``; each can be
    turned on); early stopping (``patience`` 10) is on as for the other networks, restoring the epoch of the lowest validation loss
    (``stop_se`` 0, as Keras; can be set).
    """

    description = "your Keras model (builder)"
    build_fn: ClassVar[Builder | None] = None
    builder_path: ClassVar[str | None] = None

    def __init__(
        self,
        task: TaskSpec,
        *,
        builder: str | None = None,
        windows: bool | None = None,
        skip: bool = False,
        weight_decay: float = 0.0,
        shrink: bool = False,
        har_input: bool = False,
        latent_input: bool = False,
        stop_se: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task,
            skip=skip,
            weight_decay=weight_decay,
            shrink=shrink,
            har_input=har_input,
            latent_input=latent_input,
            stop_se=stop_se,
            **kwargs,
        )
        self.builder = builder  # the config's import path, as given
        self.windows = type(self).sequence if windows is None else bool(windows)

    def _build_fn(self) -> Builder:
        fn = type(self).build_fn
        if fn is None:
            raise ModelError(
                f"model {self.name!r} has no builder here (it was registered from Python); "
                "register it again, or load the saved model with fincast.predict"
            )
        return fn

    def _info(self, input_shape: tuple[int, ...]) -> dict[str, Any]:
        n_h, width = len(self.task.horizons), self.task.width
        output = self.task.output
        shape = (n_h, width) if output == "multiclass" else (n_h * width,)
        activation = {"multiclass": "softmax", "binary": "sigmoid"}.get(output, "linear")
        return {
            "task": self.task.kind,
            "activation": activation,
            "loss": self.resolved_loss(),
            "horizons": list(self.task.horizons),
            "output_shape": shape,
            "lookback": input_shape[0] if self.sequence else None,
        }

    def build(self, input_shape: tuple[int, ...]) -> Any:
        """Call the builder, check what it returned, compile it unless it is compiled."""
        keras = _backend.keras()
        fn = self._build_fn()
        info = self._info(input_shape)
        n_outputs = len(self.task.horizons) * self.task.width
        what = f"model {self.name!r} (builder {_qualname(fn)})"
        try:
            model = fn(tuple(input_shape), n_outputs, **info)
        except Exception as exc:
            raise ModelError(
                f"{what} raised {type(exc).__name__}: {exc}; it is called as "
                f"build({tuple(input_shape)}, {n_outputs}, task={info['task']!r}, "
                f"activation={info['activation']!r}, loss={info['loss']!r}, …)"
            ) from None
        if not isinstance(model, keras.Model):
            raise ModelError(
                f"{what} returned {type(model).__name__}, expected a keras.Model "
                "(e.g. keras.Sequential([...]) or keras.Model(inputs, outputs))"
            )
        got = tuple(model.output_shape[1:]) if _single_output(model) else None
        if got != info["output_shape"]:
            raise ModelError(
                f"{what} has output shape {model.output_shape}, expected "
                f"(None, {', '.join(str(d) for d in info['output_shape'])}) for task "
                f"{info['task']!r} with {len(self.task.horizons)} horizon(s): end it with "
                f"Dense({n_outputs}, activation={info['activation']!r})"
                + (" and Reshape" if self.task.output == "multiclass" else "")
            )
        if getattr(model, "optimizer", None) is None:
            loss: Any = info["loss"]
            if loss == "qlike":
                from .losses import qlike

                loss = qlike
            model.compile(optimizer=self._make_optimizer(), loss=loss)
        return model

    def _structure_key(self, input_shape: tuple[int, ...]) -> tuple[Any, ...]:
        # compiled training code is shared by structure: two builders never share it
        return (*super()._structure_key(input_shape), id(type(self).build_fn))


def _single_output(model: Any) -> bool:
    shape = model.output_shape
    return isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape)


def _qualname(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def register_builder(
    name: str, build: Builder, *, windows: bool = False, path: str | None = None
) -> type[Model]:
    """Register ``build`` as model ``name`` (replacing an earlier builder of that name).

    Raises
    ------
    ModelError
        When ``name`` is one of fincast's own models or ``build`` is not callable.
    """
    existing = MODELS.get(name)
    if existing is not None and not issubclass(existing, BuilderModel):
        raise ModelError(
            f"model name {name!r} is one of fincast's own models; give your model another name"
        )
    if not callable(build):
        raise ModelError(
            f"model {name!r}: expected a builder function build(input_shape, n_outputs, "
            f"**info) or fincast.KerasModel(build), got {type(build).__name__}"
        )
    cls = type(
        f"BuilderModel_{name}",
        (BuilderModel,),
        {
            "name": name,
            "build_fn": staticmethod(build),
            "builder_path": path,
            "sequence": bool(windows),
            "description": f"your Keras model ({_qualname(build)})",
            "__module__": __name__,
        },
    )
    return register(cls)


def register_builders(models: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Register the builders of a ``models=`` mapping; return it as the config's mapping.

    Values may be a builder function, a :class:`KerasModel`, a mapping of hyperparameters
    or None.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, value in models.items():
        if isinstance(value, KerasModel):
            register_builder(str(name), value.build, windows=value.windows)
            out[str(name)] = {}
        elif callable(value):
            register_builder(str(name), value)
            out[str(name)] = {}
        else:
            out[str(name)] = dict(value or {})
    return out


def _import(path: str, name: str) -> Any:
    module, sep, attr = path.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(
            f"model {name!r}: builder {path!r} must be an import path like 'mypkg.nets:build'"
        )
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"model {name!r}: builder {path!r} cannot be imported ({exc}); check the module is "
            "on the Python path (PYTHONPATH) and the name is right"
        ) from None
    return obj


def _register_object(name: str, obj: Any, *, path: str | None, windows: bool | None) -> None:
    if isinstance(obj, type) and issubclass(obj, Model):
        if obj.name != name:
            obj = type(obj.__name__, (obj,), {"name": name})
        register(obj)
    elif isinstance(obj, KerasModel):
        register_builder(
            name, obj.build, windows=obj.windows if windows is None else windows, path=path
        )
    else:
        register_builder(name, obj, windows=bool(windows), path=path)


def _entry_point(name: str) -> Any | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            try:
                return ep.load()
            except Exception as exc:
                raise ConfigError(
                    f"model {name!r}: the plugin entry point {ep.value!r} cannot be loaded "
                    f"({type(exc).__name__}: {exc})"
                ) from None
    return None


def plugin_names() -> list[str]:
    """The model names installed plugins register (``fincast.models`` entry points)."""
    from importlib.metadata import entry_points

    return [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)]


def resolve_model(name: str, params: Mapping[str, Any] | None = None) -> None:
    """Make sure model ``name`` is registered: from its ``builder`` import path or a plugin.

    Nothing happens for a model already registered without a new builder path.
    """
    params = params or {}
    path = params.get("builder")
    windows = params.get("windows")
    if path is not None:
        cls = MODELS.get(name)
        if cls is not None and getattr(cls, "builder_path", None) == path:
            return
        _register_object(name, _import(str(path), name), path=str(path), windows=windows)
        return
    if name in MODELS:
        return
    obj = _entry_point(name)
    if obj is not None:
        _register_object(name, obj, path=None, windows=windows)


def register_from_config(config: Any) -> None:
    """Register every model of ``config.models`` given by import path or plugin."""
    for name, params in config.models.items():
        resolve_model(name, params)


def ensure_loadable(name: str, params: Mapping[str, Any]) -> None:
    """Before loading a saved model ``name``: register its builder, plugin or a placeholder.

    A model registered from Python is not needed to forecast (the saved network is loaded
    by Keras); a placeholder class stands in for it.
    """
    if params.get("builder") is not None:
        resolve_model(name, params)
        return
    if name in MODELS:
        return
    resolve_model(name, {})  # an installed plugin
    if name not in MODELS and "windows" in params:
        cls = type(
            f"BuilderModel_{name}",
            (BuilderModel,),
            {"name": name, "sequence": bool(params["windows"]), "__module__": __name__},
        )
        register(cls)


def check_builders(
    names: list[str], task: TaskSpec, design: Any, *, in_process: bool = True
) -> None:
    """Build every user model once (before any fold trains): bad builders fail here.

    ``in_process`` is False when folds run in other processes, which only see builders
    given by import path or plugin.
    """
    for name in names:
        cls = MODELS.get(name)
        if cls is None or not issubclass(cls, BuilderModel) or cls.build_fn is None:
            continue
        if not in_process and cls.builder_path is None:
            raise ConfigError(
                f"model {name!r} was registered from Python and cannot run in worker "
                "processes; use workers=1, or give it as an import path "
                f"(models={{{name!r}: {{'builder': 'mypkg.nets:build'}}}})"
            )
        if cls.sequence:
            if design.windows is None:
                continue
            shape = tuple(design.windows.shape[1:])
        else:
            shape = tuple(design.X.shape[1:])
        cls(task).build(shape)
