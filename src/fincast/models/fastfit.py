"""A compiled training loop for Keras models on the JAX backend.

``model.fit`` on the JAX backend pays Python and dispatch costs on every (group of)
minibatch(es) and compiles a new train function for every new model, i.e. in every
walk-forward fold. :class:`Trainer` runs the same minibatch updates as
``model.fit(x, y, batch_size=B, epochs=E, shuffle=True)`` inside one ``jax.lax.scan`` per
chunk of :data:`CHUNK` steps, and reuses its compiled functions for every model of the same
structure (every fold, every seed):

- each step is Keras' own ``compute_loss_and_updates`` (forward pass, compiled loss,
  regularisation losses, dropout through the model's seed generators) followed by the
  model's own optimizer ``stateless_apply`` (Adam, SGD, ...), so the arithmetic is that of
  ``fit``;
- every epoch visits every row once, in a new random order (a NumPy generator seeded by the
  model's seed), in batches of ``B`` rows and a last smaller batch when ``B`` does not
  divide the rows; the last batch is padded to ``B`` rows with zero sample weights and its
  real rows weighted ``B / r``, so its loss is the mean over its ``r`` real rows, as in
  ``fit``;
- the epoch loss in the history is the row-weighted mean of the batch losses (Keras' loss
  tracker); ``val_loss`` is ``model.evaluate``'s; training stops on a non-finite batch
  loss as with ``keras.callbacks.TerminateOnNaN``;
- after every epoch the loop calls its epoch hooks (:mod:`fincast.models.hooks`): early
  stopping with ``restore_best_weights`` (``keras.callbacks.EarlyStopping``'s rules) and
  ``fincast tune``'s pruning are hooks;
- the trained weights and optimizer state are written back into the Keras model, which
  stays an ordinary Keras model (``model.save``/``load_model`` as usual).

Shapes are fixed (chunks of :data:`CHUNK` steps of ``B`` rows, evaluation and prediction in
blocks of :data:`BLOCK` rows), so one compilation serves every fold whatever its size.
Results depend only on the inputs and the seed, not on which trainer was reused.

:meth:`Trainer.fit_many` trains several models of one structure at once (the folds and seeds
of a walk-forward): one compiled scan whose every step runs the same minibatch step of each
model in turn, each with its own weights, optimizer state, rows, shuffling and hooks. Each
model's operations are those of :meth:`Trainer.fit` with the same shapes, so its results are
the same (bit for bit in the tests and the reference runs). ``jax.vmap`` over the models was
measured first and was slower on CPU (batched matrix products), and it changed the rounding.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import _backend
from .._threads import check_cancelled
from .hooks import EarlyStopping, EpochHook

__all__ = ["BLOCK", "CHUNK", "Trainer", "available", "supports", "trainer_for"]

#: Minibatch steps per compiled call (padded with skipped steps at the very end).
CHUNK = 64
#: At most this many rows per compiled call (full-batch training takes fewer steps).
CHUNK_ROWS = 16_384
#: Rows per compiled evaluation / prediction call.
BLOCK = 1024
#: Trainers kept for reuse (each holds one reference model and its compiled functions).
CACHE_SIZE = 16

_CACHE: OrderedDict[Hashable, Trainer] = OrderedDict()
_CACHE_LOCK = threading.Lock()  # units on several threads share the cache


def available() -> bool:
    """True when Keras runs on the JAX backend (the compiled loop is JAX code).

    Setting the environment variable ``FINCAST_FASTFIT=0`` turns the compiled loop off:
    models then train with ``model.fit`` (for comparisons; results differ only by the order
    in which rows are shuffled).
    """
    if os.environ.get("FINCAST_FASTFIT", "1") == "0":
        return False
    return bool(_backend.keras().backend.backend() == "jax")


#: Layers whose training output depends on the other rows of the batch: the zero-weight
#: rows that pad the last batch would change them, so such models train with ``fit``.
BATCH_DEPENDENT = frozenset({"BatchNormalization"})


def supports(model: Any) -> bool:
    """True when ``model`` can train in the compiled loop with ``fit``'s results.

    Outputs with more than one axis per row (``trend3``: horizons x classes) are supported:
    the per-row padding weights are broadcast over their per-horizon losses.
    """
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        if type(layer).__name__ in BATCH_DEPENDENT:
            return False
        stack.extend(getattr(layer, "layers", []))
    return True


def _signature(model: Any) -> tuple[Any, ...]:
    layers = tuple(type(layer).__name__ for layer in model.layers)
    variables = tuple(
        (tuple(v.shape), str(v.dtype))
        for group in (model.trainable_variables, model.non_trainable_variables)
        for v in group
    )
    return layers, variables


def _optimizer_signature(model: Any) -> tuple[Any, ...]:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return ()
    return type(optimizer).__name__, tuple(tuple(v.shape) for v in optimizer.variables)


def trainer_for(key: Hashable, model: Any, *, train: bool = True) -> Trainer:
    """The cached :class:`Trainer` for models like ``model``.

    Parameters
    ----------
    key
        Names the network structure (class, hyperparameters, input shape); a cached trainer
        is only reused when the model's layers and variable shapes also match, and, to
        ``train``, its optimizer.
    model
        A built Keras model; to ``train`` it must be compiled with its optimizer built.
    train
        Whether the trainer will train (else it only predicts).
    """
    with _CACHE_LOCK:
        return _cached_trainer(key, model, train)


def _cached_trainer(key: Hashable, model: Any, train: bool) -> Trainer:
    trainer = _CACHE.get(key)
    if (
        trainer is not None
        and trainer.signature == _signature(model)
        and (not train or trainer.optimizer_signature == _optimizer_signature(model))
    ):
        _CACHE.move_to_end(key)
        return trainer
    if trainer is not None and not train:
        return Trainer(model)  # predicting with an odd model: leave the cache alone
    trainer = Trainer(model)
    _CACHE[key] = trainer
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return trainer


def _state(model: Any) -> tuple[list[Any], list[Any], list[Any]]:
    return (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.optimizer.variables],
    )


def _per_value(weight: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row weights broadcast to the shape of the per-row loss values (``y`` minus its last
    axis: e.g. one cross-entropy per horizon for (rows, horizons, classes) targets)."""
    extra = y.shape[weight.ndim : -1] if y.ndim > weight.ndim else ()
    if not extra:
        return weight
    shaped = weight.reshape(weight.shape + (1,) * len(extra))
    return np.ascontiguousarray(np.broadcast_to(shaped, weight.shape + tuple(extra)))


def _assign(model: Any, trainable: Any, non_trainable: Any, opt: Any) -> None:
    """Write trained values back into the Keras model's variables."""
    for variable, value in zip(model.trainable_variables, trainable, strict=True):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable, strict=True):
        variable.assign(value)
    for variable, value in zip(model.optimizer.variables, opt, strict=True):
        variable.assign(value)


def _padded(x: np.ndarray, rows: int) -> np.ndarray:
    if len(x) == rows:
        return x
    out = np.zeros((rows, *x.shape[1:]), dtype=x.dtype)
    out[: len(x)] = x
    return out


class _TracedAlone:
    """A jitted function that traces and compiles each kind of input in one thread at a time.

    Units training on several threads (:class:`fincast.backtest.executors.ThreadExecutor`,
    and the inner folds of a ``fincast tune`` trial) share a :class:`Trainer`. Tracing one
    of its functions runs the trainer's reference Keras model symbolically; two threads
    tracing that model at once (say one the training step, the other the evaluation, for
    a batch size not seen before) can see each other's tracers and fail with JAX's
    ``UnexpectedTracerError``, and two threads compiling the same program would spend
    twice the memory and CPU for one result. So a call with inputs of a shape, dtype and
    structure this function has not run yet takes ``lock`` (the trainer's, shared by its
    functions); calls with known inputs run in parallel.
    """

    def __init__(self, fn: Any, lock: threading.RLock | None = None) -> None:
        self._fn, self._lock = fn, lock or threading.RLock()
        self._seen: set[Any] = set()

    def __getattr__(self, name: str) -> Any:  # the jitted function's own (_cache_size ...)
        return getattr(self._fn, name)

    def __call__(self, *args: Any) -> Any:
        kind = _input_kind(args)
        if kind in self._seen:
            return self._fn(*args)
        with self._lock:
            out = self._fn(*args)
            self._seen.add(kind)
            return out


def _input_kind(args: Any) -> Any:
    """What ``jax.jit`` traces for: the tree of ``args`` and each leaf's type, shape, dtype
    and weak type (more distinctions than jit makes only cost a lock)."""
    import jax

    leaves, tree = jax.tree_util.tree_flatten(args)
    return tree, tuple(
        (
            type(x).__name__,
            getattr(x, "shape", None),
            str(getattr(x, "dtype", "")),
            getattr(x, "weak_type", None),
        )
        for x in leaves
    )


class _Run:
    """The network inside :meth:`Trainer.fit`, as an epoch hook sees it."""

    def __init__(self, trainer: Trainer, state: Any, output_shape: tuple[int, ...]) -> None:
        self._trainer, self._state, self._shape = trainer, state, output_shape

    def weights(self) -> Any:
        import jax

        trainable, non_trainable, _ = self._state
        return jax.tree_util.tree_map(lambda v: v.copy(), (trainable, non_trainable))

    def predict(self, x: np.ndarray) -> np.ndarray:
        trainable, non_trainable, _ = self._state
        return self._trainer._predict_all(trainable, non_trainable, x, self._shape)


class Trainer:
    """Compiled train, evaluate and predict functions for one network structure.

    Parameters
    ----------
    reference
        A built and compiled Keras model (its optimizer built); later models must have the
        same structure. Only its structure is used: weights are always passed in.
    """

    def __init__(self, reference: Any) -> None:
        import jax

        self.reference = reference
        self.signature = _signature(reference)
        self.optimizer_signature = _optimizer_signature(reference)
        self._metrics = [v.value for v in reference.metrics_variables]
        tracing = threading.RLock()  # one trace of the reference model at a time
        self._train = _TracedAlone(jax.jit(self._train_chunk, donate_argnums=0), tracing)
        # the folds (and seeds) of a walk-forward at once: one set of weights each
        self._train_many = jax.jit(self._train_group, donate_argnums=0)
        self._evaluate = _TracedAlone(jax.jit(self._evaluate_block), tracing)
        self._predict = _TracedAlone(jax.jit(self._predict_block), tracing)

    # -- compiled pieces ----------------------------------------------------------------
    def _train_chunk(self, state: Any, x: Any, y: Any, w: Any, active: Any) -> Any:
        import jax

        return jax.lax.scan(self._step_function(), state, (x, y, w, active))

    def _step_function(self) -> Any:
        """One minibatch step ``(state, (x, y, w, on)) -> (state, loss)``; skipped when off."""
        import jax
        import jax.numpy as jnp

        ref = self.reference
        metrics = self._metrics

        def update(operands: Any) -> Any:
            (trainable, non_trainable, opt), (xb, yb, wb) = operands
            grad_fn = jax.value_and_grad(ref.compute_loss_and_updates, has_aux=True)
            (_, aux), grads = grad_fn(
                trainable,
                non_trainable,
                metrics,
                xb,
                yb,
                wb,
                training=True,
                optimizer_variables=opt,
            )
            unscaled, _, non_trainable, _ = aux
            trainable, opt = ref.optimizer.stateless_apply(opt, grads, trainable)
            return (trainable, non_trainable, opt), jnp.asarray(unscaled, "float32")

        def skip(operands: Any) -> Any:
            return operands[0], jnp.float32(0.0)

        def step(carry: Any, inputs: Any) -> Any:
            xb, yb, wb, on = inputs
            return jax.lax.cond(on, update, skip, (carry, (xb, yb, wb)))

        return step

    def _train_group(self, states: Any, x: Any, y: Any, w: Any, active: Any) -> Any:
        """:meth:`_train_chunk` of several models in one program: the same step of each
        model, in turn, at every step of the scan (its own weights, rows and skips)."""
        import jax
        import jax.numpy as jnp

        step_of = self._step_function()

        def step(carry: Any, inputs: Any) -> Any:
            xb, yb, wb, on = inputs
            new, losses = [], []
            for k, member in enumerate(carry):
                out, loss = step_of(member, (xb[k], yb[k], wb[k], on[k]))
                new.append(out)
                losses.append(loss)
            return tuple(new), jnp.stack(losses)

        def swap(a: Any) -> Any:  # (models, steps, ...) <-> (steps, models, ...)
            return jnp.swapaxes(a, 0, 1)

        states, losses = jax.lax.scan(
            step, tuple(states), (swap(x), swap(y), swap(w), swap(active))
        )
        return states, swap(losses)

    def _evaluate_block(self, trainable: Any, non_trainable: Any, x: Any, y: Any, w: Any) -> Any:
        _, aux = self.reference.compute_loss_and_updates(
            trainable, non_trainable, self._metrics, x, y, w, training=False
        )
        return aux[0]

    def _predict_block(self, trainable: Any, non_trainable: Any, x: Any) -> Any:
        kwargs = {"training": False} if self.reference._call_has_training_arg else {}
        out, _ = self.reference.stateless_call(trainable, non_trainable, x, **kwargs)
        return out

    # -- schedule -----------------------------------------------------------------------
    @staticmethod
    def _epoch(
        rng: np.random.Generator | None, n: int, batch: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row indices (steps, batch) and sample weights of one epoch (shuffled by ``rng``)."""
        steps = -(-n // batch)
        order = rng.permutation(n) if rng is not None else np.arange(n)
        index = np.zeros(steps * batch, dtype=np.int64)
        index[:n] = order
        weight = np.zeros(steps * batch, dtype="float32")
        weight[:n] = 1.0
        last = n - (steps - 1) * batch
        if last < batch:  # mean over the real rows of the smaller last batch
            weight[(steps - 1) * batch : n] = batch / last
        return index.reshape(steps, batch), weight.reshape(steps, batch)

    @staticmethod
    def _chunks(
        epochs: Iterator[tuple[np.ndarray, np.ndarray]], size: int, batch: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Cut a stream of epochs into chunks of ``size`` steps (the last padded, inactive)."""
        index_parts: list[np.ndarray] = []
        weight_parts: list[np.ndarray] = []
        pending = 0
        for index, weight in epochs:
            index_parts.append(index)
            weight_parts.append(weight)
            pending += len(index)
            while pending >= size:
                index_all = np.concatenate(index_parts)
                weight_all = np.concatenate(weight_parts)
                yield index_all[:size], weight_all[:size], np.ones(size, dtype=bool)
                index_parts, weight_parts = [index_all[size:]], [weight_all[size:]]
                pending -= size
        if pending:
            index_all = np.concatenate(index_parts)
            weight_all = np.concatenate(weight_parts)
            active = np.arange(size) < pending
            yield (
                np.concatenate([index_all, np.zeros((size - pending, batch), np.int64)]),
                np.concatenate([weight_all, np.zeros((size - pending, batch), "float32")]),
                active,
            )

    # -- public -------------------------------------------------------------------------
    def fit(
        self,
        model: Any,
        x: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int,
        batch_size: int,
        seed: int,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        patience: int | None = None,
        shuffle: bool = True,
        hooks: Sequence[EpochHook] = (),
    ) -> dict[str, list[float]]:
        """Train ``model`` (same structure as the reference) in place; return its history.

        Parameters
        ----------
        model
            A built, compiled Keras model whose optimizer is built.
        x, y
            Scaled training inputs and targets, float32.
        epochs, batch_size
            As in ``model.fit``.
        seed
            Seeds the order in which each epoch visits the rows.
        validation
            Rows whose loss is reported after every epoch (``val_loss``) and handed to the
            hooks.
        patience
            Shorthand for an :class:`~fincast.models.hooks.EarlyStopping` hook (with
            ``validation``); ``None`` trains every epoch unless a hook stops it.
        shuffle
            Visit the rows in a new random order every epoch (as ``fit(shuffle=True)``);
            ``False`` keeps their order (``fit(shuffle=False)``).
        hooks
            Called after every epoch, in order (:class:`~fincast.models.hooks.EpochHook`);
            training stops when one returns True, and ends with the weights one hands back
            from ``on_train_end``.

        Returns
        -------
        dict
            ``loss`` (and ``val_loss``) per epoch, as ``History.history``.
        """
        import jax

        n = len(x)
        batch = min(int(batch_size), n)
        steps = -(-n // batch)
        rows = np.full(steps, batch, dtype="float64")
        rows[-1] = n - (steps - 1) * batch
        rng = np.random.default_rng(seed) if shuffle else None
        state = jax.tree_util.tree_map(lambda v: v.copy(), _state(model))
        history: dict[str, list[float]] = {"loss": []}
        if validation is not None:
            history["val_loss"] = []
        hooks = list(hooks)
        if patience is not None and validation is not None:
            hooks.append(EarlyStopping(patience))
        output_shape = tuple(model.output_shape[1:])
        # with validation or hooks every epoch ends in a decision: one epoch per stream
        per_stream = 1 if validation is not None or hooks else epochs
        chunk = max(1, min(CHUNK, CHUNK_ROWS // batch))
        finite = True
        while finite and len(history["loss"]) < epochs:
            stream = (self._epoch(rng, n, batch) for _ in range(per_stream))
            device: list[tuple[Any, np.ndarray]] = []
            losses: list[np.ndarray] = []
            for index, weight, active in self._chunks(stream, chunk, batch):
                check_cancelled()  # a stopped run does not wait for the whole fit
                yb = y[index]
                state, out = self._train(state, x[index], yb, _per_value(weight, yb), active)
                device.append((out, active))
                # look at the losses of the chunk before last (finished by now), so the
                # host prepares the next chunk while the device computes this one
                while len(device) > 2:
                    done, on = device.pop(0)
                    losses.append(np.asarray(done)[on])
                    if not np.isfinite(losses[-1]).all():  # TerminateOnNaN
                        finite = False
                if not finite:
                    break
            losses.extend(np.asarray(done)[on] for done, on in device)
            finite = finite and all(np.isfinite(part).all() for part in losses)
            flat = np.concatenate(losses)
            bad = np.flatnonzero(~np.isfinite(flat))
            complete = (bad[0] if len(bad) else len(flat)) // steps
            history["loss"].extend(
                float(np.dot(flat[e * steps : (e + 1) * steps], rows) / n) for e in range(complete)
            )
            if not finite:
                history["loss"].append(float("nan"))
                break
            if per_stream > 1:
                continue
            current = None
            if validation is not None:
                trainable, non_trainable, _ = state
                current = self.evaluate(trainable, non_trainable, *validation)
                history["val_loss"].append(current)
            run = _Run(self, state, output_shape)
            epoch = len(history["loss"]) - 1
            stops = [h.on_epoch_end(epoch, history["loss"][-1], current, run) for h in hooks]
            if any(stops):
                break
        trainable, non_trainable, opt = state
        for hook in hooks:
            restored = hook.on_train_end()
            if restored is not None:
                trainable, non_trainable = restored
        _assign(model, trainable, non_trainable, opt)
        return history

    def fit_many(
        self,
        models: Sequence[Any],
        xs: Sequence[np.ndarray],
        ys: Sequence[np.ndarray],
        *,
        epochs: int,
        batch_size: int,
        seeds: Sequence[int],
        validations: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
        hooks: Sequence[Sequence[EpochHook]] | None = None,
        shuffle: bool = True,
    ) -> list[dict[str, list[float]]]:
        """Train several models of this structure together, as :meth:`fit` trains each.

        One compiled program updates every model at every step (:meth:`_train_group`), each
        with its own weights, optimizer state, rows, shuffling seed, validation rows and
        hooks (early stopping); a model whose epoch has fewer steps than the longest skips
        the steps it lacks, and a model that stopped skips the rest. Each model ends as
        :meth:`fit` would leave it.

        Parameters
        ----------
        models, xs, ys, seeds
            One entry per model: the model, its scaled rows and targets, its seed.
        epochs, batch_size, shuffle
            As in :meth:`fit`, the same for every model; ``batch_size`` must not exceed
            any model's rows (else train them one at a time with :meth:`fit`).
        validations, hooks
            Per model, as in :meth:`fit` (``None``: none for any model).

        Returns
        -------
        list of dict
            Each model's history, as :meth:`fit` returns it.
        """
        import jax

        k_models = len(models)
        ns = [len(x) for x in xs]
        batch = int(batch_size)
        if batch > min(ns):
            raise ValueError("fit_many: batch_size exceeds a model's rows; use fit")
        steps = [-(-n // batch) for n in ns]
        top = max(steps)
        rows = []
        for n, st in zip(ns, steps, strict=True):
            r = np.full(st, batch, dtype="float64")
            r[-1] = n - (st - 1) * batch
            rows.append(r)
        rngs = [np.random.default_rng(s) if shuffle else None for s in seeds]
        # every model's rows padded to the longest: indices never reach the padding
        x_all = np.stack([_padded(x, max(ns)) for x in xs])
        y_all = np.stack([_padded(y, max(ns)) for y in ys])
        state = tuple(jax.tree_util.tree_map(lambda v: v.copy(), _state(m)) for m in models)
        histories: list[dict[str, list[float]]] = [{"loss": []} for _ in models]
        if validations is not None:
            for h in histories:
                h["val_loss"] = []
        all_hooks = [list(h) for h in hooks] if hooks is not None else [[] for _ in models]
        output_shape = tuple(models[0].output_shape[1:])
        per_stream = 1 if validations is not None or any(all_hooks) else epochs
        chunk = max(1, min(CHUNK, CHUNK_ROWS // batch))
        running = np.ones(k_models, dtype=bool)
        done_epochs = 0
        while running.any() and done_epochs < epochs:
            n_ep = min(per_stream, epochs - done_epochs)
            index = np.zeros((k_models, n_ep * top, batch), dtype=np.int64)
            weight = np.zeros((k_models, n_ep * top, batch), dtype="float32")
            active = np.zeros((k_models, n_ep * top), dtype=bool)
            for k in (int(i) for i in np.flatnonzero(running)):
                for e in range(n_ep):
                    idx, w = self._epoch(rngs[k], ns[k], batch)
                    at = e * top
                    index[k, at : at + steps[k]] = idx
                    weight[k, at : at + steps[k]] = w
                    active[k, at : at + steps[k]] = True
            total = n_ep * top
            outs = []
            for start in range(0, total, chunk):
                sl = slice(start, min(start + chunk, total))
                idx, w, on = index[:, sl], weight[:, sl], active[:, sl]
                if idx.shape[1] < chunk:  # the last chunk: padded with skipped steps
                    pad = chunk - idx.shape[1]
                    idx = np.concatenate([idx, np.zeros((k_models, pad, batch), np.int64)], 1)
                    w = np.concatenate([w, np.zeros((k_models, pad, batch), "float32")], 1)
                    on = np.concatenate([on, np.zeros((k_models, pad), bool)], 1)
                xb = np.take_along_axis(
                    x_all, idx.reshape(k_models, -1, *([1] * (x_all.ndim - 2))), axis=1
                ).reshape(k_models, chunk, batch, *x_all.shape[2:])
                yb = np.take_along_axis(
                    y_all, idx.reshape(k_models, -1, *([1] * (y_all.ndim - 2))), axis=1
                ).reshape(k_models, chunk, batch, *y_all.shape[2:])
                wb = np.stack([_per_value(w[k], yb[k]) for k in range(k_models)])
                state, out = self._train_many(state, xb, yb, wb, on)
                outs.append((out, on))
            losses = [
                np.concatenate([np.asarray(o)[k][a[k]] for o, a in outs]) for k in range(k_models)
            ]
            done_epochs += n_ep
            for k in (int(i) for i in np.flatnonzero(running)):
                flat = losses[k]
                bad = np.flatnonzero(~np.isfinite(flat))
                complete = (bad[0] if len(bad) else len(flat)) // steps[k]
                histories[k]["loss"].extend(
                    float(np.dot(flat[e * steps[k] : (e + 1) * steps[k]], rows[k]) / ns[k])
                    for e in range(complete)
                )
                if len(bad):  # TerminateOnNaN: this model stops, the others go on
                    histories[k]["loss"].append(float("nan"))
                    running[k] = False
                    continue
                if per_stream > 1:
                    continue
                trainable, non_trainable, opt = state[k]
                current = None
                if validations is not None:
                    current = self.evaluate(trainable, non_trainable, *validations[k])
                    histories[k]["val_loss"].append(current)
                run = _Run(self, (trainable, non_trainable, opt), output_shape)
                epoch = len(histories[k]["loss"]) - 1
                loss = histories[k]["loss"][-1]
                if any([h.on_epoch_end(epoch, loss, current, run) for h in all_hooks[k]]):
                    running[k] = False
        for k, model in enumerate(models):
            trainable, non_trainable, opt = state[k]
            for hook in all_hooks[k]:
                restored = hook.on_train_end()
                if restored is not None:
                    trainable, non_trainable = restored
            _assign(model, trainable, non_trainable, opt)
        return histories

    def evaluate(self, trainable: Any, non_trainable: Any, x: np.ndarray, y: np.ndarray) -> float:
        """Mean loss over all rows (regularisation included), as ``model.evaluate``."""
        total = 0.0
        for start in range(0, len(x), BLOCK):
            xb, yb = x[start : start + BLOCK], y[start : start + BLOCK]
            r = len(xb)
            w = np.zeros(BLOCK, dtype="float32")
            w[:r] = BLOCK / r
            yp = _padded(yb, BLOCK)
            loss = self._evaluate(
                trainable, non_trainable, _padded(xb, BLOCK), yp, _per_value(w, yp)
            )
            total += float(loss) * r
        return total / len(x)

    def predict(self, model: Any, x: np.ndarray) -> np.ndarray:
        """``model``'s outputs for ``x`` (inference mode), in blocks of :data:`BLOCK` rows."""
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        return self._predict_all(trainable, non_trainable, x, tuple(model.output_shape[1:]))

    def _predict_all(
        self, trainable: Any, non_trainable: Any, x: np.ndarray, shape: tuple[int, ...]
    ) -> np.ndarray:
        parts = []
        for start in range(0, len(x), BLOCK):
            xb = x[start : start + BLOCK]
            out = self._predict(trainable, non_trainable, _padded(xb, BLOCK))
            parts.append(np.asarray(out)[: len(xb)])
        if not parts:
            return np.zeros((0, *shape), dtype="float32")
        return np.concatenate(parts)
