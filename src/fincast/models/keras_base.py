"""Keras models: one base class that scales, seeds, compiles, trains and predicts.

A network family subclasses :class:`KerasForecaster` and implements ``body``, which maps
the input tensor to the last hidden tensor; the base class adds the output layer: one linear
unit per horizon for regression tasks, one sigmoid unit per horizon (and event) for
``direction`` / ``events``, and a softmax over down / flat / up per horizon for ``trend3``.
Sequence families set ``sequence = True`` and read (lookback, features) windows instead of a flat feature row.

On the JAX backend training and prediction run through :mod:`fincast.models.fastfit`: the
same minibatch updates as ``model.fit``, compiled once per network structure and reused in
every fold; other backends use ``model.fit`` / ``model.predict``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np

from .. import _backend
from .._threads import BUILD_LOCK
from ..errors import ConfigError
from ..tasks import TaskSpec
from . import _chunked, fastfit, shrink
from .base import Batch, Constraint, Interval, Model, Options
from .hooks import EarlyStopping, EpochHook

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "STEPS_PER_EXECUTION",
    "TRAINING_SPACE",
    "KerasForecaster",
]

OPTIMIZERS = ("adam", "sgd", "momentum", "rmsprop", "gd")
LOSSES = (
    "mse",
    "mae",
    "huber",
    "qlike",
    "binary_crossentropy",
    "categorical_crossentropy",
    "pinball",
)
#: ``qlike`` fits the ``volatility`` task only (the task object lists it); measured on
#: ``builtin:sp500`` it lost to ``mse`` on the volatility (docs/guide/models.md), so ``mse`` stays
#: the default there too.
#: Minibatch updates per compiled call of ``model.fit`` (backends other than JAX): the same
#: updates, about 2.5x faster per epoch on a 2-core CPU than one call per minibatch.
STEPS_PER_EXECUTION = 32
#: Parameters that do not change the compiled training step (shapes are handled by JAX).
_TRAINING_ONLY = frozenset(
    {
        "seed",
        "epochs",
        "batch_size",
        "patience",
        "stop_se",
        "val_fraction",
        "shrink",
        "shrink_to",
    }
)
#: Ridge penalty of the linear skip path's starting point (as the ``ridge`` baseline).
SKIP_RIDGE_ALPHA = 1.0
#: Smallest scaled variance whose log starts the QLIKE skip path (zero moves happen).
_VARIANCE_FLOOR = 1e-4

#: What ``fincast tune`` searches for every network: the shared training options.
TRAINING_SPACE: dict[str, Any] = {
    "lr": {"low": 1e-4, "high": 1e-2, "log": True},
    "batch_size": [32, 64, 128, 256],
    "epochs": {"low": 10, "high": 100, "step": 10},
    "dropout": {"low": 0.0, "high": 0.5},
    "l2": {"low": 1e-6, "high": 1e-2, "log": True},
    "optimizer": ["adam", "rmsprop", "momentum"],
}


class KerasForecaster(Model):
    """Base class of fincast's Keras networks.

    Parameters
    ----------
    task
        The task; decides the output activation and the default loss.
    epochs
        Training epochs (the maximum when ``patience`` is set).
    batch_size
        Minibatch size.
    lr
        Learning rate.
    optimizer
        One of :data:`OPTIMIZERS`; ``gd`` is full-batch gradient descent.
    loss
        One of :data:`LOSSES`; default ``mse`` for regression tasks, ``binary_crossentropy``
        for ``direction`` and ``events``, ``categorical_crossentropy`` for ``trend3``.
    dropout
        Dropout rate after each hidden layer, in [0, 1).
    l1, l2
        L1 / L2 penalties on the hidden layers' kernels.
    patience
        Early stopping (default 10): stop after this many epochs without a better
        validation loss and restore the best weights - or the starting weights (the linear
        model with ``skip``) when no epoch beat them. ``0`` or ``None`` trains all epochs.
        The validation slice is the chronological end of each training fold
        (``val_fraction`` of its dates, after a purge gap of the horizon); with
        shrinkage on too, early stopping scores its first half and the shrinkage weight
        is fitted on its second half, so the weight never rests on the rows that chose
        the epoch.
    stop_se
        Which epoch early stopping restores (default 0.5): the earliest whose validation
        loss is within ``stop_se`` standard errors of the lowest (the one-standard-error
        rule, at half a standard error; :class:`~fincast.models.hooks.EarlyStopping`); ``0`` restores
        the lowest, as Keras does. Applies with the ``mse`` loss (the regression tasks'
        default); other losses restore the lowest epoch. The validation slice of a
        fold is short, and its lowest loss often a late, overfitted epoch by chance: on
        ``builtin:sp500`` volatility one `lstm` fold trained 32 epochs to a validation
        loss 0.183 against 0.206 after one, within noise of it, and scored 0.159 at h 5 on
        its test block against 0.220-0.242 with other seeds (docs/guide/rivals.md).
    val_fraction
        Share of each training fold's dates held out for early stopping and shrinkage.
    skip
        A linear path from the feature row (the flattened inputs of a network without
        ``row_skip``) to the outputs, added to the network's output (``linear +
        nonlinear residual``). It starts at the ridge solution of the
        training rows (for class tasks at the training class frequencies) and the
        nonlinear head at zero, so training starts from the linear model.
    weight_decay
        Decoupled weight decay of the optimizer (AdamW for ``adam``; default 1e-4).
    shrink
        Combine the forecast with the task's naive forecast (class tasks: the training
        class frequencies) with a weight in [0, 1] fitted on the validation slice
        (:mod:`fincast.models.shrink`; the slice's second half when early stopping is
        on); reported as ``shrinkage_``.
    shrink_to
        What shrinkage pulls toward (regression tasks without quantile outputs): ``naive``,
        or ``linear``: the skip path's starting point (the ridge fit on the training rows,
        unshrunk), so the network's weight, fitted as ``shrink`` fits it, measures only
        what it adds to the linear model. The forecast is that same regression refitted
        on the whole training window (training rows and validation tail, its log-HAR
        input too) plus the network's weighted difference from its start: where the
        network adds nothing significant, it is the linear model fitted as the baselines
        are. Default: ``linear`` for ``volatility``, ``naive`` otherwise (measured,
        ``docs/guide/rivals.md``).
    har_input
        ``volatility`` only: append the log-HAR forecast
        (:class:`~fincast.models.har.LogHARBaseline`, pooled over a panel's series and
        fitted on the training rows of the fold only) to the feature row, so the skip path starts at the ridge combination of
        the features and log-HAR and the network learns what both miss. Needs the return
        features (``ret``, ``ret_lag1`` …; the ``default`` feature set); ignored without
        them and by sequence networks without ``skip``.
    har_news
        With ``har_input``: the log-HAR input also regresses on the day's return
        standardised by its monthly volatility, ``z``, and on ``|z|`` (EGARCH's news terms:
        a fall raises volatility more than a rise), in log volatility. Default on, chosen
        by measurement (``docs/guide/rivals.md``); ``False`` gives the plain log-HAR.
    latent_input
        ``volatility`` only: append ``latent-har``'s forecast
        (:class:`~fincast.models.latent.LatentHAR`: a HAR recursion of the latent log
        variance with EGARCH news, fitted per series by likelihood on the fold's training
        rows, and refitted on the whole training window for the refitted linear anchor)
        to the feature row, after the log-HAR input. Default on, chosen by measurement
        (``docs/guide/rivals.md``). Needs the return features, as ``har_input`` does;
        left out of a fit in which no series has 50 training rows.
    latent_news
        The news curve of the ``latent-har`` input (its ``news``): ``"pnp"`` (default,
        chosen by measurement in ``docs/guide/rivals.md``: EGARCH's terms plus free slopes
        beyond one standard deviation either side, Engle and Ng's partially nonparametric
        curve), ``"linear"`` (EGARCH's terms, the ``latent-har`` baseline's default) or
        ``"mlp"``.
    seed
        Seed for weight initialisation, dropout and shuffling.
    """

    kind = "network"
    search_space: ClassVar[dict[str, Any]] = TRAINING_SPACE
    #: Sequence families whose skip path reads the flat feature row (the lags and rolling
    #: statistics ``ridge`` reads) rather than the flattened window: with ``skip`` their
    #: input is the window and the row packed side by side in one array per sample.
    row_skip: ClassVar[bool] = False
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "epochs": Interval(1, None, integer=True),
        "batch_size": Interval(1, None, integer=True),
        "lr": Interval(0, None, closed="neither"),
        "optimizer": Options(OPTIMIZERS),
        "loss": Options(LOSSES, optional=True),
        "dropout": Interval(0, 1, closed="left"),
        "l1": Interval(0, None),
        "l2": Interval(0, None),
        "patience": Interval(0, None, integer=True, optional=True),
        "stop_se": Interval(0, None),
        "val_fraction": Interval(0, 0.5, closed="neither"),
        "skip": Options((True, False)),
        "weight_decay": Interval(0, None),
        "shrink": Options((True, False)),
        "har_input": Options((True, False)),
        "har_news": Options((True, False)),
        "latent_input": Options((True, False)),
        "latent_news": Options(("pnp", "linear", "mlp")),
        "shrink_to": Options(("naive", "linear"), optional=True),
    }
    flag_params = frozenset(
        {"epochs", "batch_size", "lr", "optimizer", "loss", "dropout", "l1", "l2", "patience"}
        | {"val_fraction", "shrink"}
    )

    def __init__(
        self,
        task: TaskSpec,
        *,
        epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-3,
        optimizer: str = "adam",
        loss: str | None = None,
        dropout: float = 0.0,
        l1: float = 0.0,
        l2: float = 0.0,
        patience: int | None = 10,
        stop_se: float = 0.5,
        val_fraction: float = 0.2,
        skip: bool = True,
        weight_decay: float = 1e-4,
        shrink: bool = True,
        har_input: bool = True,
        har_news: bool = True,
        latent_input: bool = True,
        latent_news: str = "pnp",
        shrink_to: str | None = None,
        seed: int = 0,
    ) -> None:
        self.task = task
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.loss = loss
        self.dropout = dropout
        self.l1 = l1
        self.l2 = l2
        self.patience = patience
        self.stop_se = stop_se
        self.val_fraction = val_fraction
        self.skip = skip
        self.weight_decay = weight_decay
        self.shrink = shrink
        self.har_input = har_input
        self.har_news = har_news
        self.latent_input = latent_input
        self.latent_news = latent_news
        self.shrink_to = shrink_to
        self.seed = seed

    # -- parameters -------------------------------------------------------------------
    def _validate_more(self) -> None:
        fitting = self.task.task.losses
        if self.loss is not None and self.loss not in fitting:
            raise ConfigError(
                f"model {self.name!r}: parameter `loss` {self.loss!r} does not fit task "
                f"{self.task.kind!r}; use {' or '.join(fitting)} (or leave --loss out)"
            )

    # -- network ----------------------------------------------------------------------
    def body(self, inputs: Any) -> Any:
        """Map the input tensor to the last hidden tensor (implemented by subclasses)."""
        raise NotImplementedError

    def regularizer(self) -> Any:
        """The kernel regulariser for hidden layers (``None`` without l1/l2)."""
        if not (self.l1 or self.l2):
            return None
        return _backend.keras().regularizers.L1L2(l1=float(self.l1), l2=float(self.l2))

    def resolved_loss(self) -> str:
        """The loss actually used."""
        if self.loss is not None:
            return self.loss
        return self.task.task.losses[0]

    @property
    def early_stopping(self) -> bool:
        """True when training stops early on the validation slice."""
        return bool(self.patience)

    @property
    def uses_validation(self) -> bool:
        """True when the model wants a validation slice (early stopping or shrinkage)."""
        return self.early_stopping or self._shrinks

    @property
    def _shrinks(self) -> bool:
        """Shrinkage is on and applies to the task (not to quantile outputs)."""
        return bool(self.shrink) and self.task.task.shrinkable

    @property
    def packed(self) -> bool:
        """True when the inputs are the look-back window and the feature row, packed."""
        return bool(self.sequence and self.row_skip and self.skip)

    def _make_optimizer(self) -> Any:
        keras = _backend.keras()
        if self.optimizer == "adam" and self.weight_decay:
            return keras.optimizers.AdamW(
                learning_rate=self.lr, weight_decay=float(self.weight_decay)
            )
        if self.optimizer == "adam":
            return keras.optimizers.Adam(learning_rate=self.lr)
        if self.optimizer == "rmsprop":
            return keras.optimizers.RMSprop(learning_rate=self.lr)
        if self.optimizer == "momentum":
            return keras.optimizers.SGD(learning_rate=self.lr, momentum=0.9)
        return keras.optimizers.SGD(learning_rate=self.lr)

    def build(self, input_shape: tuple[int, ...]) -> Any:
        """Build and compile the network for inputs of ``input_shape`` (without batch)."""
        keras = _backend.keras()
        inputs = keras.Input(shape=input_shape, name="features")
        if self.packed:  # (window | row) columns: the body reads the window
            from .layers import ColumnSlice

            steps, width = self.window_shape_
            cut = steps * width
            window = ColumnSlice(0, cut, name="window_columns")(inputs)
            hidden = self.body(keras.layers.Reshape((steps, width), name="window")(window))
            row = ColumnSlice(cut, int(input_shape[-1]), name="row_columns")(inputs)
        else:
            hidden = self.body(inputs)
            row = keras.layers.Flatten(name="flat_inputs")(inputs) if self.sequence else inputs
        n_h, width = len(self.task.horizons), self.task.width
        levels = self.task.task.network_levels(self.task)
        if levels is not None:  # one output per quantile level (pinball loss)
            width = len(levels)
        if not self.skip:  # the seed's head: one dense layer with the output's activation
            if self.task.output == "multiclass":
                logits = keras.layers.Dense(n_h * width, name="head")(hidden)
                logits = keras.layers.Reshape((n_h, width), name="per_horizon")(logits)
                outputs = keras.layers.Softmax(axis=-1, name="probabilities")(logits)
            else:
                activation = "sigmoid" if self.task.output == "binary" else "linear"
                outputs = keras.layers.Dense(n_h * width, activation=activation, name="head")(
                    hidden
                )
        else:  # linear + nonlinear residual, the residual starting at zero
            residual = keras.layers.Dense(n_h * width, kernel_initializer="zeros", name="head")(
                hidden
            )
            linear = keras.layers.Dense(n_h * width, kernel_initializer="zeros", name="linear")(row)
            out = keras.layers.Add(name="linear_plus_residual")([linear, residual])
            if self.task.output == "multiclass":
                out = keras.layers.Reshape((n_h, width), name="per_horizon")(out)
                outputs = keras.layers.Softmax(axis=-1, name="probabilities")(out)
            elif self.task.output == "binary":
                outputs = keras.layers.Activation("sigmoid", name="probabilities")(out)
            else:
                outputs = out
        model = keras.Model(inputs, outputs, name=type(self).__name__.lower())
        loss: Any = self.resolved_loss()
        if loss == "qlike":
            from .losses import qlike

            loss = qlike
        elif loss == "pinball":
            from .losses import Pinball

            loss = Pinball(levels if levels is not None else (0.5,))
        model.compile(
            optimizer=self._make_optimizer(),
            loss=loss,
            steps_per_execution=STEPS_PER_EXECUTION,
        )
        return model

    def linear_start(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Kernel and bias of the skip path's starting point, from scaled training data.

        Regression: the ridge solution (penalty :data:`SKIP_RIDGE_ALPHA`, as the ``ridge``
        baseline on standardised features) of the scaled targets on the flattened scaled
        inputs. Class tasks: a zero kernel and the log training class frequencies as bias,
        i.e. the majority baseline's probabilities.
        """
        flat = self._skip_row(x)
        n_out = len(self.task.horizons) * self.task.width
        if self.task.is_classification:
            freq = np.clip(self._class_frequencies(y), 1e-4, 1 - 1e-4)
            bias = np.log(freq / (1 - freq)) if self.task.output == "binary" else np.log(freq)
            return np.zeros((flat.shape[1], n_out)), bias
        t = np.asarray(y, dtype="float64").reshape(len(y), -1)
        qlike = self.resolved_loss() == "qlike"
        variance = t
        if qlike:  # the network outputs log variance: start from ridge on log variance
            t = np.log(np.maximum(t, _VARIANCE_FLOOR))
        x_mean, t_mean = flat.mean(axis=0), t.mean(axis=0)
        xc, tc = flat - x_mean, t - t_mean
        gram = xc.T @ xc + SKIP_RIDGE_ALPHA * np.eye(flat.shape[1])
        kernel = np.linalg.solve(gram, xc.T @ tc)
        bias = t_mean - x_mean @ kernel
        if qlike:  # a fit to log variance is biased low: centre exp(fit) on the variance
            fitted = flat @ kernel + bias
            bias = bias + np.log(np.mean(variance / np.exp(fitted), axis=0))
        levels = self.task.task.network_levels(self.task)
        if levels is not None:  # quantiles: the ridge fit plus its residuals' quantiles
            residual = t - (flat @ kernel + bias)
            offsets = np.quantile(residual, levels, axis=0).T  # (horizons, levels)
            kernel = np.repeat(kernel, len(levels), axis=1)
            bias = (bias[:, None] + offsets).reshape(-1)
        return kernel, bias

    def _skip_row(self, x: np.ndarray) -> np.ndarray:
        """What the skip path reads of scaled inputs ``x``: the flat row (packed: its row part)."""
        flat = x.reshape(len(x), -1).astype("float64")
        if self.packed:
            steps, width = self.window_shape_
            flat = flat[:, steps * width :]
        return flat

    def _class_frequencies(self, y: np.ndarray) -> np.ndarray:
        """Training frequency of each output column (class probabilities per horizon)."""
        y = np.asarray(y, dtype="float64")
        if self.task.output == "multiclass":
            onehot = np.eye(self.task.width)[np.nan_to_num(y).astype("int64")]
            return onehot.mean(axis=0).reshape(-1)
        return np.nanmean(y.reshape(len(y), -1), axis=0)

    # -- fit / predict ----------------------------------------------------------------
    def _inputs(self, data: Batch, har: Any = None, latent: Any = None) -> np.ndarray:
        if self.sequence:
            if data.windows is None:
                raise ValueError(f"{type(self).__name__} needs look-back windows in its Batch")
            windows = np.asarray(data.windows, dtype="float64")
            if self.packed:
                row = self._row(data, har, latent)
                return np.concatenate([windows.reshape(len(windows), -1), row], axis=1)
            return windows
        return self._row(data, har, latent)

    def _row(self, data: Batch, har: Any = None, latent: Any = None) -> np.ndarray:
        """The feature row, with the log-HAR forecast appended when ``har_input`` is on
        (and, with ``har_news``, the news terms ``z`` and ``|z|`` after it), and
        ``latent-har``'s forecast after them when ``latent_input`` is on.

        ``har``, ``latent``: fitted models to append instead of the network's own
        ``har_`` and ``latent_`` (the final linear anchor's, refitted on the whole
        training window).
        """
        row = data.features("float64")  # a new array, gathered without a float32 copy
        har = getattr(self, "har_", None) if har is None else har
        latent = getattr(self, "latent_", None) if latent is None else latent
        extra = []
        if har is not None:
            from .har import HAR_LAGS, har_regressors

            x = har_regressors(data, self.name, har.news)
            extra.append(har.predict_regressors(x, data).astype("float64"))
            if har.news:  # z and |z| themselves, where the network can draw a kink
                extra.append(x[:, len(HAR_LAGS) :])
        if latent is not None:  # in volatility units, as the log-HAR forecast
            extra.append(np.asarray(latent.predict(data), dtype="float64"))
        if not extra:
            return row
        return np.concatenate([row, *extra], axis=1)

    def reads_returns(self) -> bool:
        """True when the log-HAR or ``latent-har`` input acts on ``volatility`` (they
        read ``ret`` …). A fitted network answers for the inputs it has: one saved before
        ``latent_input`` existed has none, whatever today's default says."""
        latent = self.latent_input
        if hasattr(self, "latent_"):
            latent = self.latent_ is not None
        return (
            bool(self.har_input or latent)
            and self.task.kind == "volatility"
            and (not self.sequence or self.packed)
        )

    def _reads_features(self, data: Batch) -> bool:
        """True when return inputs can act: volatility, a feature row, the return features."""
        if self.task.kind != "volatility" or (self.sequence and not self.packed):
            return False
        names = tuple(data.feature_names or ())
        return "ret" in names and "ret_lag1" in names

    def _har_applies(self, data: Batch) -> bool:
        """True when ``har_input`` acts: volatility, a feature row, the return features."""
        return bool(self.har_input) and self._reads_features(data)

    def _fit_latent(self, data: Batch) -> Any:
        """``latent-har`` fitted on ``data`` for ``latent_input`` (``None`` when it does
        not act, or no series has the rows to fit it)."""
        if not self.latent_input or not self._reads_features(data):
            return None
        from ..errors import ConfigError
        from .latent import LatentHAR

        try:
            return LatentHAR(self.task, news=self.latent_news, seed=int(self.seed)).fit(data)
        except ConfigError:  # every series shorter than latent-har's 50 rows
            return None

    def context_depth(self) -> int:
        """With the ``latent-har`` input: its filter's 250 rows (``Model.context_depth``)."""
        if getattr(self, "latent_", None) is not None:
            from .latent import LatentHAR

            return max(self.context_rows, LatentHAR.context_rows)
        return self.context_rows

    def _scale(self, data: Batch, har: Any = None, latent: Any = None) -> np.ndarray:
        """The standardised inputs of ``data`` as float32 (:meth:`_standardised`)."""
        return self._standardised(self._inputs(data, har, latent))

    def _standardised(self, x: np.ndarray) -> np.ndarray:
        """``(x - x_mean_) / x_scale_`` as float32, where ``x`` is :meth:`_inputs`' result:
        computed in place when that is a new array (the same values, one float64 copy)."""
        if self.sequence and not self.packed:  # the windows may be the batch's own array
            return ((x - self.x_mean_) / self.x_scale_).astype("float32")
        x -= self.x_mean_
        x /= self.x_scale_
        return x.astype("float32")

    def _scale_y(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype="float64")
        if self.task.output == "multiclass":  # class indices -> one-hot (n, horizons, 3)
            return np.eye(self.task.width, dtype="float32")[y.astype("int64")]
        if getattr(self, "var_scale_", None) is not None:  # qlike: variance / its mean
            return (y**2 / self.var_scale_).astype("float32")
        return ((y - self.y_mean_) / self.y_scale_).astype("float32")

    def _unscale(self, out: np.ndarray) -> np.ndarray:
        """Network outputs (rows, columns) in target units (probabilities stay)."""
        if getattr(self, "var_scale_", None) is not None:  # log scaled variance -> volatility
            return np.sqrt(np.exp(np.clip(out, -50.0, 50.0)) * self.var_scale_)
        return out * self.y_scale_ + self.y_mean_

    def fit(
        self,
        train: Batch,
        validation: Batch | None = None,
        *,
        hooks: Sequence[EpochHook] = (),
        callbacks: Sequence[Any] = (),
    ) -> Self:
        """Fit scalers on the training rows only, then train the network.

        ``validation`` (rows dated after the training rows) is scored after every epoch
        (``history_["val_loss"]``) and drives early stopping when ``patience`` is set; it
        never fits a scaler. ``hooks`` are extra epoch hooks
        (:class:`~fincast.models.hooks.EpochHook`; ``fincast tune`` prunes with one), run
        by the compiled loop like early stopping. ``callbacks`` are user-supplied Keras
        callbacks: with them the network trains with Keras' own ``model.fit``.
        """
        # the latent-har input's fits use no process-wide generator: outside the lock, so
        # other threads build and train meanwhile
        latents = self._latent_fits(train, validation)
        with BUILD_LOCK:  # seeding and building draw from process-wide generators
            plan = self._begin_fit(train, validation, hooks, callbacks, latents)
        if plan.trainer is not None:  # the compiled loop: other threads train meanwhile
            self.history_ = self._train_plan(plan)
        else:  # model.fit shuffles with NumPy's global generator
            with BUILD_LOCK:
                self.history_ = self._train_plan(plan)
        return self._end_fit(plan)

    def _latent_fits(self, train: Batch, validation: Batch | None) -> tuple[Any, Any]:
        """The ``latent-har`` inputs of a fit: on the training rows, and on the whole
        window when the refitted linear anchor will read it (else ``None`` each)."""
        latent = self._fit_latent(train)
        has_val = validation is not None and len(validation) > 0
        whole = None
        if latent is not None and has_val and self.skip and self._linear_anchor and self._shrinks:
            assert validation is not None
            whole = self._fit_latent(_joined(train, validation))
        return latent, whole

    def _begin_fit(
        self,
        train: Batch,
        validation: Batch | None,
        hooks: Sequence[EpochHook] = (),
        callbacks: Sequence[Any] = (),
        latents: tuple[Any, Any] | None = None,
    ) -> _FitPlan:
        """Scalers, network and starting point: everything before the training loop.

        ``latents``: :meth:`_latent_fits`' result when the caller fitted them already.
        """
        if latents is None:
            latents = self._latent_fits(train, validation)
        self._validate_params()
        keras = _backend.keras()
        assert train.y is not None
        if self.packed:
            assert train.windows is not None
            self.window_shape_ = tuple(int(d) for d in np.shape(train.windows)[1:])
        self.har_ = None
        if self._har_applies(train):
            from .har import LogHARBaseline

            self.har_ = LogHARBaseline(self.task, pooled=True, news=self.har_news).fit(train)
        self.latent_ = latents[0]
        x = self._inputs(train)
        flat = x.reshape(-1, x.shape[-1])
        if _chunked.chunkable(flat) and _chunked.all_finite(flat):  # numpy's bits, no copies
            self.x_mean_, std = _chunked.mean_std(flat)
        else:
            self.x_mean_ = flat.mean(axis=0)
            std = flat.std(axis=0)
        self.x_scale_ = np.where(std > 0, std, 1.0)
        y = np.asarray(train.y, dtype="float64")
        if self.task.is_classification:
            n_out = len(self.task.horizons) * self.task.width
            self.y_mean_, self.y_scale_ = np.zeros(n_out), np.ones(n_out)
        else:
            self.y_mean_ = y.mean(axis=0)
            ystd = y.std(axis=0)
            self.y_scale_ = np.where(ystd > 0, ystd, 1.0)
        self.var_scale_ = None
        if self.resolved_loss() == "qlike":
            self.y_mean_, self.y_scale_ = np.zeros(y.shape[1]), np.ones(y.shape[1])
            mean_var = np.mean(y**2, axis=0)
            self.var_scale_ = np.where(mean_var > 0, mean_var, 1.0)
        keras.utils.set_random_seed(int(self.seed))
        self.model_ = self.build(tuple(x.shape[1:]))
        x_scaled = self._standardised(x)
        del x
        y_scaled = self._scale_y(y)
        if self.skip:
            kernel, bias = self.linear_start(
                x_scaled, y if self.task.is_classification else y_scaled
            )
            self.model_.get_layer("linear").set_weights([kernel, bias])
        self.start_ = support = final = None
        has_val = validation is not None and len(validation) > 0
        if self.skip and self._linear_anchor:
            self.start_ = (kernel, bias)
            lin = self._linear_forecast(x_scaled)
            support = (lin.min(axis=0), lin.max(axis=0))
            if has_val and self._shrinks:  # used with the weight fitted on the tail only
                assert validation is not None
                final = self._final_start(train, validation, latents[1])
        stopping_rows, shrink_rows = validation, validation
        if has_val and self.early_stopping and self._shrinks:
            assert validation is not None  # too few rows to halve: both use all of them
            stopping_rows, shrink_rows = _halves(validation)
        val_data = None
        if has_val:
            assert stopping_rows is not None and stopping_rows.y is not None
            val_data = (self._scale(stopping_rows), self._scale_y(stopping_rows.y))
        stop_early = val_data is not None and self.early_stopping
        all_hooks = list(hooks)
        if stop_early:
            assert val_data is not None
            all_hooks.append(self._early_stopping(val_data))
        # the loop scores the validation slice when something decides on it each epoch
        loop_val = val_data if all_hooks else None
        start = self.model_.get_weights() if stop_early and self.skip else None
        batch_size = len(train) if self.optimizer == "gd" else int(self.batch_size)
        trainer = None
        if fastfit.available() and fastfit.supports(self.model_) and not callbacks:
            # the same updates as fit, compiled once for every fold
            self.model_.optimizer.build(self.model_.trainable_variables)
            trainer = fastfit.trainer_for(self._structure_key(x_scaled.shape[1:]), self.model_)
        return _FitPlan(
            x_scaled,
            y_scaled,
            y,
            shrink_rows,
            val_data,
            loop_val,
            all_hooks,
            list(callbacks),
            start,
            batch_size,
            trainer,
            support,
            final,
        )

    def _early_stopping(self, val_data: tuple[np.ndarray, np.ndarray]) -> EarlyStopping:
        """The early-stopping hook: Keras' rules, restoring the earliest epoch within
        ``stop_se`` standard errors of the lowest validation loss (``mse`` loss)."""
        if not self.stop_se or self.resolved_loss() != "mse" or self.task.is_classification:
            return EarlyStopping(int(self.patience or 0))
        x, y = val_data
        target = np.asarray(y, dtype="float64").reshape(len(y), -1)

        def rows(run: Any) -> np.ndarray:  # each row's squared error, as the mse loss
            error = np.asarray(run.predict(x), dtype="float64").reshape(len(y), -1) - target
            return np.mean(error * error, axis=1)

        return EarlyStopping(int(self.patience or 0), rows=rows, se=float(self.stop_se))

    def _final_start(self, train: Batch, validation: Batch, latent: Any) -> _FinalStart:
        """The linear anchor refitted on the whole training window (training rows and
        validation tail), as the ``ridge`` and ``loghar`` baselines are fitted.

        The network's own linear start is fitted on the rows before the validation tail
        (the tail decides early stopping and the network's weight). Its forecast leaves out
        the window's most recent rows, which cost the linear start up to 0.05 of skill at
        h 5 against the same regression fitted on the whole window
        (docs/guide/rivals.md). The refit keeps the network's scalers, so the kernel reads
        the same scaled row; its log-HAR and ``latent-har`` inputs are refitted on the whole
        window too (``latent``: :meth:`_latent_fits`' fit on the whole window, or ``None``).
        """
        whole = _joined(train, validation)
        har = None
        if getattr(self, "har_", None) is not None:
            from .har import LogHARBaseline

            har = LogHARBaseline(self.task, pooled=True, news=self.har_news).fit(whole)
        assert whole.y is not None
        x = self._scale(whole, har, latent)
        kernel, bias = self.linear_start(x, self._scale_y(whole.y))
        return _FinalStart(kernel, bias, har, len(whole), latent)

    def _final_forecast(self, data: Batch) -> np.ndarray | None:
        """The refitted linear anchor's forecasts (``None`` when the model has none)."""
        final = getattr(self, "final_start_", None)
        if final is None:
            return None
        x = self._scale(data, final.har, final.latent)
        return self.outputs(self._skip_row(x) @ final.kernel + final.bias)

    def _train_plan(self, plan: _FitPlan) -> dict[str, list[float]]:
        """The training loop of one network (the compiled loop, or ``model.fit``)."""
        if plan.trainer is not None:
            return plan.trainer.fit(
                self.model_,
                plan.x,
                plan.y,
                epochs=int(self.epochs),
                batch_size=plan.batch_size,
                seed=int(self.seed),
                validation=plan.loop_val,
                hooks=plan.hooks,
            )
        # other backends, batch-dependent layers, or the user's Keras callbacks
        keras = _backend.keras()
        history = self.model_.fit(
            plan.x,
            plan.y,
            epochs=int(self.epochs),
            batch_size=plan.batch_size,
            shuffle=True,
            verbose=0,
            validation_data=plan.loop_val,
            callbacks=[
                _quiet_terminate_on_nan(keras),
                *plan.callbacks,
                _hook_callback(keras, plan.hooks),
            ],
        )
        return {k: [float(v) for v in vals] for k, vals in history.history.items()}

    def _end_fit(self, plan: _FitPlan) -> Self:
        """After the loop (``history_`` set): the starting point's check and shrinkage."""
        trainer, val_data, start = plan.trainer, plan.val_data, plan.start
        shrink_rows, y = plan.validation, plan.y_raw  # the validation rows shrinkage fits on
        has_val = val_data is not None
        losses = self.history_.get("loss", [])
        if losses and not np.isfinite(losses[-1]):
            raise FloatingPointError(
                f"training loss became {losses[-1]} at epoch {len(losses)}; lower --lr or "
                "check the data for extreme values"
            )
        for hook in plan.hooks:
            if isinstance(hook, EarlyStopping) and hook.restored is not None:
                # the epoch the one-standard-error rule restored (1 = after the first)
                self.history_["restored_epoch"] = [float(hook.restored + 1)]
        if start is not None and val_data is not None:
            # early stopping also weighs the starting point (the linear model)
            trained = self.model_.get_weights()
            after = self._validation_loss(val_data, trainer)
            self.model_.set_weights(start)
            before = self._validation_loss(val_data, trainer)
            if not before < after:
                self.model_.set_weights(trained)
            self.history_["start_val_loss"] = [before]
        self.shrinkage_ = self.linear_weight_ = self.support_ = self.final_start_ = None
        if self._shrinks and has_val:
            assert shrink_rows is not None and shrink_rows.y is not None
            x = self._scale(shrink_rows)
            raw = self._raw_predict(shrink_rows, x)
            self.anchor_ = self._class_frequencies(y) if self.task.is_classification else None
            if getattr(self, "start_", None) is not None:
                # shrink_to="linear": the anchor is the linear start itself, fitted on the
                # whole training window (weight 1 on it, none on naive); a weight fitted
                # toward naive on the validation tail cost up to 0.06 of skill at h 5
                # (docs/guide/rivals.md). Saved as ``linear_weight`` so older models that
                # fitted one still load.
                self.linear_weight_ = np.ones(raw.shape[1])
                self.history_["linear_weight"] = [float(w) for w in self.linear_weight_]
            anchor = self._anchor(shrink_rows, x)
            self.shrinkage_ = shrink.fit_weight(
                raw, anchor, shrink_rows.y, output=self.task.output, width=self.task.width
            )
            self.history_["shrinkage"] = [float(w) for w in self.shrinkage_]
            if plan.support is not None:
                # a network does not extrapolate: where the linear start forecasts outside
                # its range on the training rows, the forecast is the linear start (support_)
                self.support_ = plan.support
                self.history_["support_low"] = [float(v) for v in self.support_[0]]
                self.history_["support_high"] = [float(v) for v in self.support_[1]]
            if plan.final is not None:
                # the forecast's linear part: the same regression on the whole window
                self.final_start_ = plan.final
                self.history_["final_rows"] = [float(plan.final.rows)]
        return self

    def outputs(self, raw: np.ndarray) -> np.ndarray:
        """The network's raw outputs as forecasts: (rows, columns) in target units."""
        flat = np.asarray(raw, dtype="float64").reshape(len(raw), -1)
        levels = self.task.task.network_levels(self.task)
        if levels is None:
            return self._unscale(flat)
        k = len(levels)  # quantiles scale like the target (pinball is scale-equivariant)
        quantiles = flat * np.repeat(self.y_scale_, k) + np.repeat(self.y_mean_, k)
        return self.task.task.from_network(self.task, quantiles)

    def _structure_key(self, input_shape: tuple[int, ...]) -> tuple[Any, ...]:
        """What decides the network's structure: compiled training code is shared by it."""
        params = sorted(
            (k, repr(v)) for k, v in self.get_params().items() if k not in _TRAINING_ONLY
        )
        kind = type(self)
        return (
            kind.__module__,
            kind.__qualname__,
            repr(self.task),
            tuple(params),
            tuple(input_shape),
            getattr(self, "window_shape_", None),
        )

    def _validation_loss(self, val_data: tuple[np.ndarray, np.ndarray], trainer: Any) -> float:
        """The model's current loss on the validation slice (as ``val_loss``)."""
        if trainer is not None:
            trainable = [v.value for v in self.model_.trainable_variables]
            non_trainable = [v.value for v in self.model_.non_trainable_variables]
            return trainer.evaluate(trainable, non_trainable, *val_data)
        return float(self.model_.evaluate(*val_data, batch_size=4096, verbose=0))

    def _raw_predict(self, data: Batch, x: np.ndarray | None = None) -> np.ndarray:
        """The network's own forecasts in target units, before any shrinkage.

        ``x``: ``data``'s scaled inputs when the caller has them already.
        """
        x = self._scale(data) if x is None else x
        if fastfit.available():
            key = self._structure_key(x.shape[1:])
            out = fastfit.trainer_for(key, self.model_, train=False).predict(self.model_, x)
        else:
            out = self.model_.predict(x, batch_size=4096, verbose=0)
        return self.outputs(out)

    @property
    def _linear_anchor(self) -> bool:
        """True when shrinkage pulls toward the linear start (``shrink_to="linear"``)."""
        to = self.shrink_to or ("linear" if self.task.kind == "volatility" else "naive")
        return (
            to == "linear"
            and not self.task.is_classification
            and self.task.task.network_levels(self.task) is None
        )

    def _linear_forecast(self, x: np.ndarray) -> np.ndarray:
        """The skip path's starting point (the ridge fit) alone on scaled inputs ``x``."""
        assert self.start_ is not None
        kernel, bias = self.start_
        return self.outputs(self._skip_row(x) @ kernel + bias)

    def _anchor(self, data: Batch, x: np.ndarray | None = None) -> np.ndarray:
        """What shrinkage pulls toward: the naive forecast, or the class frequencies.

        With ``shrink_to="linear"`` the linear start (``linear_weight_`` 1; a model saved
        before it was fixed at 1 keeps its fitted weight toward naive), so the network's
        weight measures only what it adds to the linear model.
        """
        if self.task.is_classification:
            anchor = np.asarray(self.anchor_, dtype="float64")
            return np.broadcast_to(anchor, (len(data), len(anchor)))
        naive = np.asarray(data.naive, dtype="float64").reshape(len(data), -1)
        weight = getattr(self, "linear_weight_", None)
        if weight is None:
            return naive
        x = self._scale(data) if x is None else x
        if np.all(np.asarray(weight) == 1):
            return self._linear_forecast(x)
        return shrink.combine(self._linear_forecast(x), naive, weight)

    def predict(self, data: Batch) -> np.ndarray:
        """Forecasts in target units, or class / event probabilities for class tasks."""
        x = self._scale(data)
        out = self._raw_predict(data, x)
        weight = getattr(self, "shrinkage_", None)
        if weight is None:
            return out
        anchor = self._anchor(data, x)
        support = getattr(self, "support_", None)
        if support is not None:
            inside = (anchor >= support[0]) & (anchor <= support[1])
            weight = np.where(inside, weight, 0.0)
        final = self._final_forecast(data)
        if final is not None:  # what the network adds to its start, on the refitted anchor
            return final + np.asarray(weight, dtype="float64") * (out - anchor)
        return shrink.combine(out, anchor, weight)


class _FinalStart(NamedTuple):
    """The linear anchor refitted on a fold's whole training window
    (:meth:`KerasForecaster._final_start`): kernel and bias on the network's scaled row,
    the log-HAR input it reads (or ``None``), the rows it was fitted on and its
    ``latent-har`` input (or ``None``)."""

    kernel: np.ndarray
    bias: np.ndarray
    har: Any
    rows: int
    latent: Any = None


def _joined(first: Batch, second: Batch) -> Batch:
    """The rows of two batches of one design, ``first``'s then ``second``'s."""

    def both(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
        return None if a is None or b is None else np.concatenate([a, b])

    X, naive = both(first.X, second.X), both(first.naive, second.naive)
    assert X is not None and naive is not None
    return Batch(
        X,
        naive,
        both(first.y, second.y),
        both(first.ids, second.ids),
        both(first.windows, second.windows),
        first.feature_names,
    )


def _halves(validation: Batch) -> tuple[Batch, Batch]:
    """The validation slice's first half (early stopping) and second half (shrinkage).

    Rows come in date order, so the halves are chronological. A shrinkage weight fitted
    on the rows that also chose the epoch is optimistic: on ``builtin:nasdaq`` direction
    one fold's weight of 1.0 cost ``mlp`` 0.011 of log loss on the test block.
    """
    if len(validation) < 4:
        return validation, validation
    half = len(validation) // 2
    rows = np.arange(len(validation))
    return validation.take(rows[:half]), validation.take(rows[half:])


@dataclass
class _FitPlan:
    """One network's training, prepared by :meth:`KerasForecaster._begin_fit`."""

    x: np.ndarray
    y: np.ndarray
    y_raw: np.ndarray
    validation: Batch | None
    val_data: tuple[np.ndarray, np.ndarray] | None
    loop_val: tuple[np.ndarray, np.ndarray] | None
    hooks: list[EpochHook]
    callbacks: list[Any]
    start: list[np.ndarray] | None
    batch_size: int
    trainer: Any
    support: tuple[np.ndarray, np.ndarray] | None = None
    final: _FinalStart | None = None


def fit_together(
    models: Sequence[KerasForecaster], trains: Sequence[Batch], validations: Sequence[Batch | None]
) -> list[BaseException | None]:
    """Fit networks of one structure together (the folds of a walk-forward, their seeds).

    When every network trains in the same compiled loop with the same epochs and batch size
    (and all or none have a validation slice), one program trains them all
    (:meth:`fastfit.Trainer.fit_many`); otherwise each trains on its own, as ``fit``. Each
    ends as ``model.fit(train, validation)`` leaves it.

    Returns
    -------
    list
        Per network: ``None``, or the exception its fit raised (the others still train).
    """
    errors: list[BaseException | None] = [None] * len(models)
    plans: list[_FitPlan | None] = []
    for i, (model, train, validation) in enumerate(zip(models, trains, validations, strict=True)):
        try:
            plans.append(model._begin_fit(train, validation))
        except Exception as exc:
            errors[i] = exc
            plans.append(None)
    ready = [i for i, p in enumerate(plans) if p is not None]
    live = [p for p in plans if p is not None]
    batched = _batchable([models[i] for i in ready], live)
    if batched:
        first = live[0]
        assert first.trainer is not None
        histories = first.trainer.fit_many(
            [models[i].model_ for i in ready],
            [p.x for p in live],
            [p.y for p in live],
            epochs=int(models[ready[0]].epochs),
            batch_size=first.batch_size,
            seeds=[int(models[i].seed) for i in ready],
            validations=None if first.loop_val is None else [p.loop_val for p in live],
            hooks=[p.hooks for p in live],
        )
        for i, history in zip(ready, histories, strict=True):
            models[i].history_ = history
    for i in ready:
        plan = plans[i]
        assert plan is not None
        try:
            if batched:
                models[i]._end_fit(plan)
            else:  # from the start, so the global random state is that of a lone fit
                models[i].fit(trains[i], validations[i])
        except Exception as exc:
            errors[i] = exc
    return errors


def _batchable(models: Sequence[KerasForecaster], plans: Sequence[_FitPlan]) -> bool:
    """True when ``plans`` can train as one batched program."""
    if len(plans) < 2 or any(p.trainer is None or p.callbacks for p in plans):
        return False
    first = plans[0]
    return (
        all(p.trainer is first.trainer for p in plans)
        and len({int(m.epochs) for m in models}) == 1
        and len({p.batch_size for p in plans}) == 1
        and len({p.loop_val is None for p in plans}) == 1
        and first.batch_size <= min(len(p.x) for p in plans)
    )


def _quiet_terminate_on_nan(keras: Any) -> Any:
    """Keras' ``TerminateOnNaN`` without its print to stdout (fincast reports the failure)."""

    class QuietTerminateOnNaN(keras.callbacks.TerminateOnNaN):
        def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            loss = (logs or {}).get("loss")
            if loss is not None and not np.isfinite(float(loss)):
                self.model.stop_training = True

    return QuietTerminateOnNaN()


class _KerasRun:
    """A Keras model inside ``model.fit``, as an epoch hook sees it."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def weights(self) -> Any:
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(x, batch_size=4096, verbose=0))


def _hook_callback(keras: Any, hooks: Sequence[EpochHook]) -> Any:
    """A Keras callback that runs epoch hooks inside ``model.fit`` (as the compiled loop)."""

    class HookCallback(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = logs or {}
            val = logs.get("val_loss")
            run = _KerasRun(self.model)
            loss = float(logs.get("loss", float("nan")))
            val_loss = None if val is None else float(val)
            if any([h.on_epoch_end(epoch, loss, val_loss, run) for h in hooks]):
                self.model.stop_training = True

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            for hook in hooks:
                restored = hook.on_train_end()
                if restored is not None:
                    self.model.set_weights(restored)

    return HookCallback()


def save_keras_state(model: KerasForecaster, directory: Any) -> dict[str, Any]:
    """Save a fitted Keras forecaster's network to ``directory/model.keras``.

    Returns the JSON-serialisable state (scalers, history) that :func:`load_keras_state`
    needs next to the file.
    """
    from pathlib import Path

    path = Path(directory) / "model.keras"
    model.model_.save(path)
    start = getattr(model, "start_", None)
    return {
        "x_mean": model.x_mean_.tolist(),
        "x_scale": model.x_scale_.tolist(),
        "y_mean": model.y_mean_.tolist(),
        "y_scale": model.y_scale_.tolist(),
        "history": getattr(model, "history_", {}),
        "var_scale": _listed(getattr(model, "var_scale_", None)),
        "shrinkage": _listed(getattr(model, "shrinkage_", None)),
        "anchor": _listed(getattr(model, "anchor_", None)),
        "window_shape": getattr(model, "window_shape_", None),
        "har": _har_state(getattr(model, "har_", None)),
        "linear_weight": _listed(getattr(model, "linear_weight_", None)),
        "start": None if start is None else [_listed(start[0]), _listed(start[1])],
        "support": _support_state(getattr(model, "support_", None)),
        "final_start": _final_state(getattr(model, "final_start_", None)),
        "latent": _latent_state(getattr(model, "latent_", None)),
    }


def _final_state(final: _FinalStart | None) -> dict[str, Any] | None:
    if final is None:
        return None
    return {
        "kernel": _listed(final.kernel),
        "bias": _listed(final.bias),
        "har": _har_state(final.har),
        "rows": int(final.rows),
        "latent": _latent_state(final.latent),
    }


def _latent_state(latent: Any) -> dict[str, Any] | None:
    """The fitted ``latent-har`` input of a network as JSON (its own state), or ``None``."""
    return None if latent is None else {"news": latent.news, **latent.get_state()}


def _latent_from_state(model: KerasForecaster, state: dict[str, Any] | None) -> Any:
    if state is None:  # no latent-har input (models saved before it: the same)
        return None
    from .latent import LatentHAR

    return LatentHAR(model.task, news=str(state["news"]), seed=int(model.seed)).set_state(state)


def _support_state(support: Any) -> list[list[float] | None] | None:
    return None if support is None else [_listed(support[0]), _listed(support[1])]


def _har_state(har: Any) -> dict[str, Any] | None:
    """The fitted log-HAR input of a network (its coefficients) as JSON, or ``None``."""
    if har is None:
        return None

    def one(fit: dict[str, np.ndarray]) -> dict[str, Any]:
        return {k: np.asarray(v, dtype="float64").tolist() for k, v in fit.items()}

    return {
        "pooled": one(har.pooled_fit_),
        "series": {sid: one(fit) for sid, fit in har.fits_.items()},
        "news": bool(har.news),
    }


def _har_from_state(model: KerasForecaster, state: dict[str, Any] | None) -> Any:
    if state is None:
        return None
    from .har import LogHARBaseline

    def one(fit: dict[str, Any]) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, dtype="float64") for k, v in fit.items()}

    # models saved before the news terms have no "news" key: the plain log-HAR
    har = LogHARBaseline(model.task, pooled=True, news=bool(state.get("news", False)))
    har.pooled_fit_ = one(state["pooled"])
    har.fits_ = {sid: one(fit) for sid, fit in state["series"].items()}
    return har


def _listed(value: Any) -> list[float] | None:
    return None if value is None else np.asarray(value, dtype="float64").tolist()


def _array(value: Any) -> np.ndarray | None:
    return None if value is None else np.asarray(value, dtype="float64")


def load_keras_state(model: KerasForecaster, directory: Any, state: dict[str, Any]) -> None:
    """Restore a forecaster saved by :func:`save_keras_state` (Keras ``safe_mode=True``)."""
    from pathlib import Path

    from . import layers, losses  # noqa: F401  (registers fincast's custom layers, losses)

    keras = _backend.keras()
    model.model_ = keras.saving.load_model(Path(directory) / "model.keras", safe_mode=True)
    model.x_mean_ = np.asarray(state["x_mean"], dtype="float64")
    model.x_scale_ = np.asarray(state["x_scale"], dtype="float64")
    model.y_mean_ = np.asarray(state["y_mean"], dtype="float64")
    model.y_scale_ = np.asarray(state["y_scale"], dtype="float64")
    model.history_ = state.get("history", {})
    model.var_scale_ = _array(state.get("var_scale"))
    model.shrinkage_ = _array(state.get("shrinkage"))
    model.anchor_ = _array(state.get("anchor"))
    model.har_ = _har_from_state(model, state.get("har"))
    model.linear_weight_ = _array(state.get("linear_weight"))
    start = state.get("start")
    model.start_ = (
        None
        if start is None
        else (np.asarray(start[0], dtype="float64"), np.asarray(start[1], dtype="float64"))
    )
    support = state.get("support")  # None in models saved before 2026-12-07's guard
    model.support_ = (
        None
        if support is None
        else (np.asarray(support[0], dtype="float64"), np.asarray(support[1], dtype="float64"))
    )
    final = state.get("final_start")  # None in models saved before the refitted anchor
    model.final_start_ = (
        None
        if final is None
        else _FinalStart(
            np.asarray(final["kernel"], dtype="float64"),
            np.asarray(final["bias"], dtype="float64"),
            _har_from_state(model, final["har"]),
            int(final["rows"]),
            _latent_from_state(model, final.get("latent")),
        )
    )
    model.latent_ = _latent_from_state(model, state.get("latent"))
    if state.get("window_shape") is not None:
        model.window_shape_ = tuple(int(d) for d in state["window_shape"])
