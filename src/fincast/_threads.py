"""What the work units of one process must not do in two threads at once.

The in-process executor (:class:`fincast.backtest.executors.ThreadExecutor`) runs
(model, fold) units on threads so that both cores work while one unit waits on the other's
compiled JAX code (which releases the GIL). Most of a unit is thread-safe: its own arrays,
its own Keras model, JAX programs shared read-only. Two things are process-wide:

- seeding and building a Keras model: ``keras.utils.set_random_seed`` seeds Python's and
  NumPy's global generators, from which the new layers draw their initial weights and seed
  generators; two threads building at once would draw from each other's seed. Building is
  quick, so it runs under :data:`BUILD_LOCK` and training, the slow part, runs in parallel;
- ``warnings.catch_warnings``, which swaps the process's warning filters: two threads
  entering and leaving it interleaved leave the wrong filters behind.

And one thing every executor must set alike: the BLAS threads. OpenBLAS splits a matrix
product's sums over its threads, so ``X.T @ X`` of a large fold changes in its last bits
with the thread count, and with it ridge's forecasts. A Ray worker runs with one thread
(Ray sets ``OMP_NUM_THREADS=1``), a local process with one per core: on a 200,000-row
panel their ``predictions.csv`` differed. Every executor runs its units under
:func:`one_blas_thread`, so the bytes do not depend on the executor or on the machine's
cores.

And one thing is serialised for memory, not for correctness: a fit that copies a large
fold's rows (ridge's float64 copy of them; its scaler sums them in chunks,
:mod:`fincast.models._chunked`) holds :func:`large_copy`, so on a big panel two folds'
copies are never in memory at once and the peak is bounded by one fold, not by one fold
per thread (issue 26). Small fits (tuning's inner folds, tests) do not wait.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "BUILD_LOCK",
    "LARGE_COPY_BYTES",
    "Cancelled",
    "check_cancelled",
    "large_copy",
    "one_blas_thread",
    "quiet_warnings",
    "unit_scope",
]

#: Held while a Keras model is seeded, built and given its compiled trainer.
BUILD_LOCK = threading.RLock()
_WARNINGS_LOCK = threading.RLock()
_LARGE_COPY_LOCK = threading.RLock()

#: A copy at least this large (bytes) is made by one thread at a time (:func:`large_copy`).
#: 16 MiB, not 64: on a 1M-row panel (25 features) fold 1's float64 rows are 63 MB, so at
#: 64 MiB they were copied beside a larger fold's (up to 158 MB), and the 1M run's peak RSS
#: was in training (docs/guide/scale.md). Small fits (tests, tuning's inner folds) do not wait.
LARGE_COPY_BYTES = 16 * 2**20


@contextmanager
def large_copy(nbytes: int) -> Iterator[None]:
    """Hold the process's large-copy lock while a fit keeps copies of ``nbytes`` or more.

    The results do not change (each fit is the same computation); only when the threads'
    large fits run does.
    """
    if nbytes < LARGE_COPY_BYTES:
        yield
        return
    with _LARGE_COPY_LOCK:
        yield


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread in this process (``threadpoolctl``), then restore it.

    Process-wide: enter it from the thread that starts the units, not from each unit's
    thread.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@contextmanager
def quiet_warnings() -> Iterator[None]:
    """``warnings.catch_warnings()`` ignoring every warning, one thread at a time."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class Cancelled(BaseException):
    """Raised in a unit's thread when its run stops (Ctrl-C, or an error in another thread).

    A ``BaseException``: it ends the unit without being recorded as the model's failure.
    """


_UNIT = threading.local()


@contextmanager
def unit_scope(cancel: threading.Event) -> Iterator[None]:
    """Run a unit in this thread; :func:`check_cancelled` raises once ``cancel`` is set."""
    _UNIT.cancel = cancel
    try:
        yield
    finally:
        _UNIT.cancel = None


def check_cancelled() -> None:
    """Raise :class:`Cancelled` when this thread's unit has been cancelled (the training
    loop asks between compiled chunks, so a stopped run does not wait for whole fits)."""
    cancel = getattr(_UNIT, "cancel", None)
    if cancel is not None and cancel.is_set():
        raise Cancelled
