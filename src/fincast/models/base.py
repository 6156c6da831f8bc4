"""What every fincast model is: a scikit-learn-style estimator over a :class:`Batch`.

Every model and baseline subclasses :class:`Model`:

- ``__init__(task, *, param=default, …, seed=0)`` only stores its arguments; the
  parameters are read from the signature (:meth:`Model.get_params`,
  :meth:`Model.set_params`);
- class attributes declare what it is: ``name`` (its registry key), ``kind``
  (``"network"`` or ``"baseline"``), ``tasks`` it supports (``None``: all), whether it
  reads look-back windows (``sequence``), its tuning ``search_space`` and the allowed
  values of each parameter (``parameter_constraints``);
- :meth:`Model._validate_params` checks every parameter against its constraint;
  :func:`~fincast.models.registry.make_model` calls it before any work, so a bad value is
  one ``error:`` line naming the model, parameter, value and allowed range;
- ``fit`` learns (state in attributes ending in ``_``) and returns ``self``; ``predict``
  returns ``task.width`` columns per horizon (horizon-major): values in target units for
  regression tasks, the probability of class 1 for ``direction``, of each event for
  ``events``, and of down / flat / up for ``trend3``.

Nothing here imports Keras or another heavy library, so the registry's metadata is cheap.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from ..errors import ConfigError
from ..tasks import TaskSpec

__all__ = [
    "Batch",
    "ForecastModel",
    "Interval",
    "Model",
    "Options",
    "TaskOnlyBaseline",
    "check_cs_normalize",
    "feature_column",
    "one_hot",
    "return_window",
]


class Batch:
    """Rows handed to a model.

    Attributes
    ----------
    X
        Features, shape (n, f), float32, unscaled (models scale inside ``fit``).
    naive
        The naive forecast of each row, shape (n, horizons).
    y
        Targets, shape (n, horizons); ``None`` when predicting.
    ids
        Series id of each row, shape (n,).
    windows
        Per-step features over the look-back window, shape (n, lookback, s), for
        sequence models; ``None`` otherwise.
    feature_names
        Names of the columns of ``X`` (baselines that read one feature use them).

    A batch made by :meth:`of_rows` (a fold's rows of the whole design) does not copy the
    design's features until ``X`` is read: :meth:`features` and :meth:`column` gather the
    rows straight into the array a model asks for, so a model that converts its inputs
    (ridge's float64) or reads a few columns (HAR, EWMA) holds one copy of its rows, not
    two, and a model that reads no features (naive) none. The values are the same bits as
    ``X[rows]``.
    """

    __slots__ = ("_X", "_rows", "_source", "feature_names", "ids", "naive", "windows", "y")

    #: Rows gathered at a time by :meth:`features` (bounds its temporary index arrays).
    CHUNK_ROWS = 65_536

    def __init__(
        self,
        X: np.ndarray,
        naive: np.ndarray,
        y: np.ndarray | None = None,
        ids: np.ndarray | None = None,
        windows: np.ndarray | None = None,
        feature_names: tuple[str, ...] | None = None,
    ) -> None:
        self._X: np.ndarray | None = X
        self._source: np.ndarray | None = None
        self._rows: np.ndarray | None = None
        self.naive = naive
        self.y = y
        self.ids = ids
        self.windows = windows
        self.feature_names = feature_names

    @classmethod
    def of_rows(
        cls,
        source: np.ndarray,
        rows: np.ndarray,
        naive: np.ndarray,
        y: np.ndarray | None = None,
        ids: np.ndarray | None = None,
        windows: np.ndarray | None = None,
        feature_names: tuple[str, ...] | None = None,
    ) -> Batch:
        """The rows ``rows`` (integer positions) of the feature matrix ``source``, gathered
        only when read; the other arrays are this batch's own (already selected)."""
        batch = cls(source, naive, y, ids, windows, feature_names)
        batch._X = None
        batch._source = source
        batch._rows = np.asarray(rows, dtype="intp")
        return batch

    @property
    def X(self) -> np.ndarray:
        """Features, (n, f): gathered from the source matrix on first read, then kept."""
        if self._X is None:
            assert self._source is not None and self._rows is not None
            self._X = self._source[self._rows]
            self._source = self._rows = None
        return self._X

    def features(self, dtype: str | np.dtype[Any] = "float64") -> np.ndarray:
        """A new (n, f) array of ``dtype`` holding ``X``'s values, the caller's to modify.

        Equal bit for bit to ``np.array(X, dtype=dtype)``; a batch of rows of a larger
        matrix is gathered into it in chunks, without first copying the rows as they are.
        """
        if self._X is not None:
            return np.array(self._X, dtype=dtype, copy=True)
        assert self._source is not None and self._rows is not None
        rows, source = self._rows, self._source
        out = np.empty((len(rows), *source.shape[1:]), dtype=dtype)
        for start in range(0, len(rows), self.CHUNK_ROWS):
            stop = start + self.CHUNK_ROWS
            out[start:stop] = source[rows[start:stop]]
        return out

    def column(self, j: int) -> np.ndarray:
        """Column ``j`` of ``X`` (a copy), without gathering the other columns."""
        if self._X is not None:
            return np.array(self._X[:, j])
        assert self._source is not None and self._rows is not None
        return self._source[self._rows, j]

    @property
    def n_features(self) -> int:
        """The number of columns of ``X``, read without gathering the rows."""
        matrix = self._X if self._X is not None else self._source
        assert matrix is not None
        return int(matrix.shape[1]) if matrix.ndim > 1 else 1

    def __len__(self) -> int:
        return int(self.naive.shape[0]) if self._X is None else int(self._X.shape[0])

    def __repr__(self) -> str:
        shape = self.X.shape if self._X is not None else (len(self), "…")
        return f"Batch(X={shape}, horizons={self.naive.shape[1:]}, y={self.y is not None})"

    def take(self, mask: np.ndarray) -> Batch:
        """The rows selected by a boolean mask or index array."""
        rows = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)
        if self._X is None:  # still rows of a larger matrix: stay so
            assert self._source is not None and self._rows is not None
            pick = Batch.of_rows(self._source, self._rows[rows], self.naive[rows])
        else:
            pick = Batch(self._X[rows], self.naive[rows])
        pick.y = None if self.y is None else self.y[rows]
        pick.ids = None if self.ids is None else self.ids[rows]
        pick.windows = None if self.windows is None else self.windows[rows]
        pick.feature_names = self.feature_names
        return pick


# -- parameter constraints ------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


@dataclass(frozen=True)
class Interval:
    """A numeric range; ``None`` bounds are open ends.

    Parameters
    ----------
    low, high
        The bounds (``None``: unbounded).
    closed
        Which bounds belong to the range: ``"both"``, ``"left"``, ``"right"`` or
        ``"neither"``.
    integer
        Only whole numbers.
    optional
        ``None`` is allowed too (e.g. ``patience`` unset).
    """

    low: float | None = None
    high: float | None = None
    closed: str = "both"
    integer: bool = False
    optional: bool = False

    def accepts(self, value: Any) -> bool:
        """True when ``value`` is in the range."""
        if value is None:
            return self.optional
        if not _is_number(value) or not math.isfinite(float(value)):
            return False
        if self.integer and int(value) != value:
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and (value < self.low if left else value <= self.low):
            return False
        return not (self.high is not None and (value > self.high if right else value >= self.high))

    def describe(self) -> str:
        """The range in words, e.g. ``a whole number >= 1`` or ``a number in [0, 1)``."""
        what = "a whole number" if self.integer else "a number"
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            text = f"{what} in {'[' if left else '('}{self.low}, {self.high}{']' if right else ')'}"
        elif self.low is not None:
            text = f"{what} {'>=' if left else '>'} {self.low}"
        elif self.high is not None:
            text = f"{what} {'<=' if right else '<'} {self.high}"
        else:
            text = what
        return text + (" or unset" if self.optional else "")

    def invalid(self) -> Any:
        """A value outside the range (for the generic model checks)."""
        if self.low is not None:
            return self.low - 1 if self.closed in ("both", "left") else self.low
        if self.high is not None:
            return self.high + 1 if self.closed in ("both", "right") else self.high
        return "not a number"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (``None`` too when ``optional``)."""

    values: tuple[Any, ...]
    optional: bool = False

    def accepts(self, value: Any) -> bool:
        """True when ``value`` is one of the options."""
        if value is None:
            return self.optional
        return any(value == v and type(value) is type(v) for v in self.values)

    def describe(self) -> str:
        """The options in words."""
        return "one of " + ", ".join(map(str, self.values)) + (" or unset" if self.optional else "")

    def invalid(self) -> Any:
        """A value that is not an option."""
        return "not-an-option"


Constraint = Interval | Options


class Model:
    """Base class of every model and baseline (scikit-learn's estimator contract).

    Subclasses store their constructor arguments unchanged in attributes of the same name
    and declare the class attributes below; see the module docstring.
    """

    #: Registry key (``--models NAME``).
    name: ClassVar[str] = ""
    #: ``"network"`` (trained, tunable, repeated over ``--seeds``) or ``"baseline"``.
    kind: ClassVar[str] = "baseline"
    #: The task kinds it supports (``None``: all).
    tasks: ClassVar[tuple[str, ...] | None] = None
    #: A baseline with ``tasks = None`` that also serves tasks whose forecasts are not one
    #: value per horizon (``Task.generic_baselines`` false: quantile, var).
    any_task: ClassVar[bool] = False
    #: True when it reads (lookback, features) windows instead of one feature row.
    sequence: ClassVar[bool] = False
    #: One line for ``fincast models``.
    description: ClassVar[str] = ""
    #: What ``fincast tune`` may change (see :mod:`fincast.tune.space`); empty: nothing.
    search_space: ClassVar[dict[str, Any]] = {}
    #: The allowed values of each parameter (merged along the class hierarchy).
    parameter_constraints: ClassVar[dict[str, Constraint]] = {}
    #: Constructor parameters of a parent that this model does not let you change.
    fixed_params: ClassVar[tuple[str, ...]] = ()
    #: Parameters that are also command-line flags (named in error messages).
    flag_params: ClassVar[frozenset[str]] = frozenset()
    #: True when it reads the ``ret`` features as one-step returns (:func:`return_window`).
    returns_input: ClassVar[bool] = False
    #: A baseline ``fincast train`` can save: :meth:`get_state` returns its fitted state as
    #: JSON-ready lists and numbers, :meth:`set_state` restores it.
    saveable: ClassVar[bool] = False
    #: Rows of a series before its last one that ``fincast predict`` hands the model with
    #: it (0: the 22 of :data:`fincast.persist.CONTEXT_ROWS`), for filters whose state
    #: reaches further back than the look-back window.
    context_rows: ClassVar[int] = 0

    def context_depth(self) -> int:
        """The fitted model's :attr:`context_rows` (a network with a filter among its
        inputs reads further back than its class says)."""
        return self.context_rows

    def __init__(self, task: TaskSpec) -> None:
        self.task = task

    def reads_returns(self) -> bool:
        """Whether it reads the ``ret`` features as one-step returns: then they must be
        returns, which ``--cs-normalize`` replaces by cross-sectional ranks or z-scores
        (:func:`check_cs_normalize`)."""
        return self.returns_input

    # -- parameters -----------------------------------------------------------------
    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """The constructor parameters (all but ``task``) and their defaults.

        Read from the signatures of ``__init__`` along the class hierarchy (a network's
        own parameters, then the training options it passes on with ``**kwargs``), less
        :attr:`fixed_params`.
        """
        out: dict[str, Any] = {}
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if klass is object:
                break
            if init is None:
                continue
            for p in inspect.signature(init).parameters.values():
                if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in ("self", "task"):
                    continue
                if p.name not in cls.fixed_params:
                    out.setdefault(p.name, p.default)
            if not any(
                p.kind == p.VAR_KEYWORD for p in inspect.signature(init).parameters.values()
            ):
                break  # it passes nothing on to its parent
        return out

    @classmethod
    def constraints(cls) -> dict[str, Constraint]:
        """:attr:`parameter_constraints` merged along the class hierarchy."""
        out: dict[str, Constraint] = {}
        for klass in reversed(cls.__mro__):
            out.update(klass.__dict__.get("parameter_constraints", {}))
        return {k: v for k, v in out.items() if k not in cls.fixed_params}

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (all but ``task``) and their current values."""
        return {k: getattr(self, k) for k in self.param_defaults()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters; they are validated on the next fit.

        Raises
        ------
        ConfigError
            For a parameter the model does not have.
        """
        accepted = self.param_defaults()
        for key, value in params.items():
            if key not in accepted:
                raise ConfigError(
                    f"model {self.name!r} has no parameter `{key}` (its parameters: "
                    f"{', '.join(accepted) or 'none'})"
                )
            setattr(self, key, value)
        return self

    def _fix_hint(self, param: str) -> str:
        where = f"`models: {{{self.name}: {{{param}: …}}}}` in the config"
        if param in self.flag_params:
            return f"pass --{param.replace('_', '-')} or set {where}"
        return f"set {where}"

    def _validate_params(self) -> None:
        """Check every parameter against its constraint (and :meth:`_validate_more`).

        Raises
        ------
        ConfigError
            Naming the model, the parameter, the value and the allowed values.
        """
        for param, constraint in self.constraints().items():
            value = getattr(self, param)
            if not constraint.accepts(value):
                raise ConfigError(
                    f"model {self.name!r}: parameter `{param}` must be "
                    f"{constraint.describe()}, got {value!r}; {self._fix_hint(param)}"
                )
        self._validate_more()

    def _validate_more(self) -> None:
        """Checks that involve more than one parameter or the task (none by default)."""

    # -- learning -------------------------------------------------------------------
    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        """Learn from ``train`` (``validation``: later rows, for early stopping only)."""
        raise NotImplementedError

    def predict(self, data: Batch) -> np.ndarray:
        """Forecasts for ``data``, ``task.width`` columns per horizon."""
        raise NotImplementedError

    # -- persistence (``saveable`` baselines) -------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The fitted state as JSON-ready values (``saveable`` models only)."""
        raise NotImplementedError(f"{self.name} cannot be saved")

    def set_state(self, state: dict[str, Any]) -> Self:
        """Restore a state written by :meth:`get_state` (``saveable`` models only)."""
        raise NotImplementedError(f"{self.name} cannot be saved")


#: What the engine relies on (kept as an alias: every model is a :class:`Model`).
ForecastModel = Model


def one_hot(classes: np.ndarray, width: int) -> np.ndarray:
    """Class indices (n, horizons) as probabilities (n, horizons * width), horizon-major."""
    idx = np.nan_to_num(np.asarray(classes, dtype="float64"), nan=0.0).astype("int64")
    return np.eye(width)[idx].reshape(len(idx), -1)


def feature_column(data: Batch, name: str, owner: str) -> np.ndarray:
    """The column ``name`` of ``data.X``; a ConfigError when the feature set lacks it."""
    names = list(data.feature_names or ())
    if name not in names:
        raise ConfigError(
            f"baseline {owner!r} needs the feature {name!r}, which the feature set lacks; "
            "use --features default"
        )
    return np.asarray(data.column(names.index(name)), dtype="float64")


def check_cs_normalize(models: Mapping[str, Model], how: str) -> None:
    """Refuse ``--cs-normalize`` when a model reads the return features as returns.

    The normalisation replaces ``ret``, ``ret_lag1`` … by their ranks or z-scores across
    the series of each date; GARCH, EWMA, HAR, AR and a volatility network's log-HAR and
    ``latent-har`` inputs would read those as returns and forecast nonsense (``garch``
    scored −213 on a ``builtin:stocks20`` volatility run before this check).
    """
    if how == "none":
        return
    readers = [name for name, model in models.items() if model.reads_returns()]
    if not readers:
        return
    nets = [n for n in readers if models[n].kind == "network"]
    others = [n for n in readers if n not in nets]
    what = "ranks" if how == "rank" else "z-scores"
    ways = ["leave out --cs-normalize"]
    if others:
        ways.append(f"drop {', '.join(others)} (e.g. --baselines naive,ridge)")
    if nets:
        config = ", ".join(f"{n}: {{har_input: false, latent_input: false}}" for n in nets)
        ways.append(f"set models: {{{config}}} in the config")
    readers_text = ", ".join(others)
    if nets:
        via = f"{', '.join(nets)} through the log-HAR and latent-har inputs"
        readers_text = f"{readers_text} and {via}" if others else via
    raise ConfigError(
        f"--cs-normalize {how} turns the return features (ret, ret_lag1, ...) into "
        f"cross-sectional {what}, but {readers_text} read them as returns; " + ", or ".join(ways)
    )


def return_window(data: Batch, owner: str) -> np.ndarray:
    """The one-step returns at t, t-1, …, t-lookback+1 of every row, (n, lookback).

    Column 0 is the latest return (feature ``ret``), column k the ``ret_lag{k}`` feature.
    """
    cols = [feature_column(data, "ret", owner)]
    k = 1
    while f"ret_lag{k}" in (data.feature_names or ()):
        cols.append(feature_column(data, f"ret_lag{k}", owner))
        k += 1
    return np.stack(cols, axis=1)


class TaskOnlyBaseline(Model):
    """Base of the baselines whose only parameter is the task (nothing to tune)."""
