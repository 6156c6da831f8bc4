"""Training throughput of seed-mlp: fincast vs a plain Keras script vs a hand-written JAX loop.

All three train the same network (Dense 64 relu -> Dense 64 relu -> Dense 1, Adam lr 1e-3,
MSE, batch 32) on the same standardised rows for the same number of epochs, on the same JAX
backend, in the same process. Each fit starts from a new model, as in every walk-forward
fold; the first fit of each (compilation) is a warm-up and not counted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["compare", "fincast_fit", "jax_scan_fit", "plain_keras_fit", "sp500_rows"]

BATCH = 32
LR = 1e-3


def sp500_rows(rows: int | None = None) -> tuple[Any, np.ndarray, np.ndarray]:
    """fincast's default features and next-day return target on ``builtin:sp500``.

    Returns the fincast :class:`~fincast.models.Batch` (unscaled, as fincast's models get
    it) and the standardised ``x``, ``y`` the reference scripts train on.
    """
    from fincast.backtest import prepare
    from fincast.config import build_config

    prep = prepare(build_config({"data": "builtin:sp500", "models": ["seed-mlp"]}))
    batch = prep.design.batch()
    if rows is not None:
        batch = batch.take(np.arange(min(rows, len(batch))))
    x = np.asarray(batch.X, dtype="float64")
    y = np.asarray(batch.y, dtype="float64")
    xs = ((x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)).astype("float32")
    ys = ((y - y.mean(0)) / y.std(0)).astype("float32")
    return batch, xs, ys


def fincast_fit(batch: Any, epochs: int, seed: int = 0) -> None:
    """Train fincast's ``seed-mlp`` (scaling, seeding, its training loop)."""
    from fincast.models import make_model
    from fincast.tasks import TaskSpec

    make_model("seed-mlp", TaskSpec("return"), {"epochs": epochs}, seed=seed).fit(batch)


def plain_keras_fit(
    x: np.ndarray, y: np.ndarray, epochs: int, seed: int = 0, steps_per_execution: int = 1
) -> None:
    """The classic script: build, compile, ``model.fit(..., verbose=0)`` with defaults."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(x.shape[1],)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LR),
        loss="mse",
        steps_per_execution=steps_per_execution,
    )
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)


_JAX_EPOCH: Any = None


def _jax_epoch() -> Any:
    """One jitted epoch: ``jax.lax.scan`` over minibatches with optax Adam (built once)."""
    global _JAX_EPOCH
    if _JAX_EPOCH is None:
        import jax
        import jax.numpy as jnp
        import optax

        optimizer = optax.adam(LR)

        def forward(params: Any, x: Any) -> Any:
            for i, (w, b) in enumerate(params):
                x = x @ w + b
                if i < len(params) - 1:
                    x = jax.nn.relu(x)
            return x

        def loss_fn(params: Any, x: Any, y: Any) -> Any:
            return jnp.mean((forward(params, x) - y) ** 2)

        @jax.jit
        def epoch(params: Any, opt_state: Any, xb: Any, yb: Any) -> Any:
            def step(carry: Any, batch: Any) -> Any:
                params, opt_state = carry
                loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
                updates, opt_state = optimizer.update(grads, opt_state, params)
                return (optax.apply_updates(params, updates), opt_state), loss

            (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), (xb, yb))
            return params, opt_state, losses.mean()

        _JAX_EPOCH = (optimizer, epoch)
    return _JAX_EPOCH


def jax_scan_fit(x: np.ndarray, y: np.ndarray, epochs: int, seed: int = 0) -> None:
    """A hand-written JAX loop: Glorot-uniform init, one ``lax.scan`` per shuffled epoch.

    The last partial batch of each epoch is dropped (as such loops usually do).
    """
    import jax

    optimizer, epoch = _jax_epoch()
    keys = jax.random.split(jax.random.PRNGKey(seed), 3)
    sizes = [x.shape[1], 64, 64, 1]
    init = jax.nn.initializers.glorot_uniform()
    params = [
        (init(k, (a, b)), jax.numpy.zeros(b))
        for k, a, b in zip(keys, sizes, sizes[1:], strict=False)
    ]
    opt_state = optimizer.init(params)
    rng = np.random.default_rng(seed)
    steps = len(x) // BATCH
    for _ in range(epochs):
        order = rng.permutation(len(x))[: steps * BATCH].reshape(steps, BATCH)
        params, opt_state, _ = epoch(params, opt_state, x[order], y[order])
    jax.block_until_ready(params)


def _timed(fn: Callable[[], None], repeats: int) -> tuple[float, list[float], list[float]]:
    """First (compiling) wall time, then wall and CPU (all threads) times of ``repeats``."""
    start = time.perf_counter()
    fn()  # warm-up: compilation
    first = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return first, wall, cpu


def compare(epochs: int = 20, repeats: int = 3, rows: int | None = None) -> dict[str, Any]:
    """Seconds per epoch of each way of training, measured in this process.

    Returns
    -------
    dict
        ``rows``, ``epochs`` and, per method, the first (compiling) fit and the median of
        ``repeats`` further fits, in wall and CPU seconds per epoch; ``ratio_plain`` and
        ``ratio_jax`` are fincast's wall time over the plain Keras and hand-written JAX
        times (``*_cpu``: the same with CPU time, steadier on a busy machine).
    """
    batch, x, y = sp500_rows(rows)
    methods: dict[str, Callable[[], None]] = {
        "fincast": lambda: fincast_fit(batch, epochs),
        "plain_keras": lambda: plain_keras_fit(x, y, epochs),
        "plain_keras_spe32": lambda: plain_keras_fit(x, y, epochs, steps_per_execution=32),
        "jax_scan": lambda: jax_scan_fit(x, y, epochs),
    }
    out: dict[str, Any] = {"rows": len(x), "epochs": epochs, "repeats": repeats, "methods": {}}
    for name, fn in methods.items():
        first, wall, cpu = _timed(fn, repeats)
        out["methods"][name] = {
            "first_fit_s": first,
            "s_per_epoch": statistics.median(wall) / epochs,
            "cpu_s_per_epoch": statistics.median(cpu) / epochs,
            "fits_s": wall,
            "fits_cpu_s": cpu,
        }
    for suffix, field in (("", "s_per_epoch"), ("_cpu", "cpu_s_per_epoch")):
        per_epoch = {k: v[field] for k, v in out["methods"].items()}
        out["ratio_plain" + suffix] = per_epoch["fincast"] / per_epoch["plain_keras"]
        out["ratio_jax" + suffix] = per_epoch["fincast"] / per_epoch["jax_scan"]
    return out
