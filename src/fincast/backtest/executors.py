"""Executors: run independent work units in-process, on local processes, or on Ray.

A work unit is one piece of a backtest that can run anywhere: one (model, fold[, replicate])
of the walk-forward loop. A unit function ``fn(context, unit)`` computes it; ``context``
(the :class:`~fincast.backtest.engine.Prepared` run, for a backtest) is shipped to each
worker once. Results come back to the calling process in completion order and are handed to
``on_result`` there, so writing part files and reporting progress stay in one process; the
engine assembles its outputs in unit order, never completion order, so every executor
gives the same bytes.

``sequential``
    Units run one after the other in this process (``--workers 1 --threads 1``).
``threads``
    Units run on ``--threads`` threads of this process (``--workers 1``, the default):
    compiled JAX code releases the GIL, so two units train at once on two cores, sharing
    the process's imports and compiled programs (:mod:`fincast._threads` says what is
    serialised).
``local``
    A process pool with the ``spawn`` start method (JAX is not fork-safe); each worker
    imports fincast, which selects the Keras backend before Keras is imported.
``ray``
    Ray tasks: ``ray.init()`` starts a local cluster, ``--ray-address`` joins one. Ray is
    an optional extra (``pip install 'fincast[ray]'``).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol

from .._threads import one_blas_thread, unit_scope
from ..errors import ConfigError, RunError

__all__ = [
    "EXECUTORS",
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "SequentialExecutor",
    "ThreadExecutor",
    "WorkUnit",
    "check_executor",
    "default_threads",
    "default_workers",
    "make_executor",
]

EXECUTORS = ("local", "ray")
RAY_INSTALL_HINT = "pip install 'fincast[ray]' (or pip install 'ray[default]')"

UnitFn = Callable[[Any, Any], Any]
ResultFn = Callable[[Any], None]


@dataclass(frozen=True, order=True)
class WorkUnit:
    """One independent piece of a backtest: a model on a fold (and a seed replicate).

    Units sort in the order a run assembles its outputs: model position, fold, replicate.

    Attributes
    ----------
    order
        Position of the model among the run's models (sorting key).
    model
        Model name.
    fold
        Fold index.
    replicate
        Seed replicate when a run splits its ``--seeds`` into separate units (0 otherwise;
        today one unit trains all seeds of its (model, fold) and their ensemble).
    """

    order: int
    model: str
    fold: int
    replicate: int = 0

    @property
    def key(self) -> tuple[str, int, int]:
        """The identity of the unit: (model, fold, replicate)."""
        return (self.model, self.fold, self.replicate)

    @property
    def stem(self) -> str:
        """File-name stem of the unit's part files (no replicate suffix for replicate 0)."""
        base = f"{self.model}__fold{self.fold}"
        return base if self.replicate == 0 else f"{base}__seed{self.replicate}"


class Executor(Protocol):
    """Runs unit functions and hands each result to ``on_result`` in this process."""

    name: str
    workers: int

    def run(self, fn: UnitFn, context: Any, units: Sequence[Any], on_result: ResultFn) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _Base:
    name = "sequential"
    workers = 1

    def close(self) -> None:
        """Release the executor's resources."""

    def __enter__(self) -> Executor:
        return self  # type: ignore[return-value]

    def __exit__(
        self,
        et: type[BaseException] | None,
        ev: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _deliver(pending: set[Future[Any]], on_result: ResultFn) -> None:
    """Hand each future's result to ``on_result`` in this thread, in completion order."""
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            on_result(fut.result())


class SequentialExecutor(_Base):
    """Runs the units one after the other, in order, in this process."""

    def run(self, fn: UnitFn, context: Any, units: Sequence[Any], on_result: ResultFn) -> None:
        """Call ``on_result(fn(context, unit))`` for each unit in order."""
        with one_blas_thread():
            for unit in units:
                on_result(fn(context, unit))


class ThreadExecutor(_Base):
    """Runs the units on ``threads`` threads of this process.

    ``on_result`` is called in the calling thread, in completion order, so part files and
    progress are written by one thread. Each unit computes the same numbers as on its own
    (its model is seeded and built under :data:`fincast._threads.BUILD_LOCK`).

    Parameters
    ----------
    threads
        Number of threads, >= 2 (one thread is :class:`SequentialExecutor`).
    """

    name = "threads"

    def __init__(self, threads: int) -> None:
        self.threads = int(threads)

    def run(self, fn: UnitFn, context: Any, units: Sequence[Any], on_result: ResultFn) -> None:
        """Run the units on the threads; ``on_result`` sees them in completion order."""
        if not units:
            return
        cancel = threading.Event()

        def call(unit: Any) -> Any:
            with unit_scope(cancel):
                return fn(context, unit)

        pool = ThreadPoolExecutor(max_workers=min(self.threads, len(units)))
        try:
            with one_blas_thread():  # process-wide: entered here, not in each thread
                # submitted in the order given (the engine gives the largest folds first)
                _deliver({pool.submit(call, u) for u in units}, on_result)
        except BaseException:  # Ctrl-C or an error: running units stop at their next chunk
            cancel.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


#: TEST-ONLY crash hook: with ``FINCAST_CRASH_AFTER_UNITS=N`` in the environment the run's
#: process ends abruptly (``os._exit``, no clean-up, as ``kill -9`` would) right after the
#: N-th unit's result is written, so resume tests crash at a deterministic point instead of
#: racing a timed kill. Not a user option; never set it outside tests.
CRASH_AFTER_UNITS_ENV = "FINCAST_CRASH_AFTER_UNITS"
CRASH_EXIT_CODE = 70


def crash_hook(finished: int) -> None:
    """Test-only: end the process when ``finished`` reaches ``FINCAST_CRASH_AFTER_UNITS``."""
    limit = os.environ.get(CRASH_AFTER_UNITS_ENV)
    if limit and finished >= int(limit):
        for child in multiprocessing.active_children():  # no orphaned pool workers
            child.kill()
        os._exit(CRASH_EXIT_CODE)


# -- local processes ----------------------------------------------------------------------
_WORKER_CONTEXT: dict[str, Any] = {}


def _init_worker(context: Any) -> None:
    from threadpoolctl import threadpool_limits

    from .. import _backend  # noqa: F401  (KERAS_BACKEND before any Keras import)

    threadpool_limits(limits=1, user_api="blas")  # this process runs units only
    _WORKER_CONTEXT["context"] = context


def _call_in_worker(fn: UnitFn, unit: Any) -> Any:
    return fn(_WORKER_CONTEXT["context"], unit)


class LocalExecutor(_Base):
    """A pool of ``workers`` local processes (``spawn`` start method).

    Parameters
    ----------
    workers
        Number of processes, >= 2 (one worker is :class:`SequentialExecutor`).
    """

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)

    def run(self, fn: UnitFn, context: Any, units: Sequence[Any], on_result: ResultFn) -> None:
        """Run the units on the pool; ``on_result`` sees them in completion order."""
        if not units:
            return
        from .. import _backend  # noqa: F401  (children inherit the backend choice)

        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(units)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(context,),
        )
        try:
            _deliver({pool.submit(_call_in_worker, fn, u) for u in units}, on_result)
        except BrokenProcessPool:
            raise RunError(
                "a local worker process died (out of memory or killed); rerun with "
                "--workers 1, or --resume the run directory to compute only what is missing"
            ) from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


# -- Ray ----------------------------------------------------------------------------------
def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            f"--executor ray needs Ray, which is not installed; install it with {RAY_INSTALL_HINT}"
        ) from None
    return ray


def _call_on_ray(fn: UnitFn, context: Any, unit: Any) -> Any:
    from .. import _backend  # noqa: F401  (KERAS_BACKEND before any Keras import)

    with one_blas_thread():  # as every executor (Ray's workers set OMP_NUM_THREADS=1 too)
        return fn(context, unit)


class RayExecutor(_Base):
    """Ray tasks, one CPU each, on a local cluster or the one at ``address``.

    Parameters
    ----------
    address
        ``None`` starts a local cluster (``ray.init()``) with ``workers`` CPUs and shuts it
        down on :meth:`close`; an address (``auto``, ``ray://host:10001``, ``host:6379``)
        joins an existing cluster, whose nodes need fincast installed. A Ray session the
        caller already started is used as it is.
    workers
        CPUs of a local cluster (default: the machine's cores).
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        ray = _import_ray()
        self.workers = int(workers or os.cpu_count() or 1)
        self._started = False
        if not ray.is_initialized():
            env = {
                k: os.environ[k]
                for k in ("KERAS_BACKEND", "JAX_PLATFORMS", "TF_CPP_MIN_LOG_LEVEL")
                if k in os.environ
            }
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "runtime_env": {"env_vars": env},
            }
            if address is None:
                kwargs["num_cpus"] = self.workers
            try:
                ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise RunError(
                    f"cannot start or join a Ray cluster at {address or 'local'}: {exc}; "
                    "check --ray-address or run `ray status`"
                ) from None
            self._started = True
        self._ray = ray

    def run(self, fn: UnitFn, context: Any, units: Sequence[Any], on_result: ResultFn) -> None:
        """Submit every unit as a Ray task; ``on_result`` sees them in completion order."""
        if not units:
            return
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=0)(_call_on_ray)
        ctx_ref = ray.put(context)
        refs = [remote.remote(fn, ctx_ref, u) for u in units]
        try:
            while refs:
                done, refs = ray.wait(refs, num_returns=1)
                on_result(ray.get(done[0]))
        except BaseException:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        """Shut down the local cluster this executor started."""
        if self._started:
            self._ray.shutdown()
            self._started = False


def default_workers(n_units: int | None = None) -> int:
    """Local processes used when ``--workers`` is not given: one (in this process).

    Measured on this 2-core machine (benchmarks/scaleout.py, docs/guide/scale-out.md), two
    spawned processes finished seed-mlp and lstm walk-forward folds *slower* than one
    process: each worker pays for importing JAX/Keras and compiling its own functions, and
    one JAX process already keeps both cores busy. ``--workers N`` opts in where it helps
    (more cores, many series or folds, long training).
    """
    return 1


def default_threads() -> int:
    """Threads used in this process when ``--threads`` is not given: the usable cores."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_executor(kind: str, *, address: str | None = None) -> None:
    """Fail early, before a run writes anything, when the executor cannot be used.

    Raises
    ------
    ConfigError
        For an unknown kind, ``--ray-address`` without ray, or ray not installed.
    """
    if kind not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {kind!r}")
    if address is not None and kind != "ray":
        raise ConfigError("--ray-address needs --executor ray")
    if kind == "ray":
        _import_ray()


def make_executor(
    kind: Literal["local", "ray"] | str = "local",
    *,
    workers: int | None = None,
    address: str | None = None,
    n_units: int | None = None,
    threads: int | None = None,
) -> Executor:
    """The executor for ``--executor kind``.

    Parameters
    ----------
    kind
        ``local`` (default) or ``ray``.
    workers
        Local processes (``1`` runs in this process), or the CPUs of a local Ray cluster;
        default :func:`default_workers`.
    address
        Ray cluster address (``--ray-address``); only with ``ray``.
    n_units
        How many units will run (caps the number of processes and threads).
    threads
        Threads of this process when the units run here (``workers`` 1); default
        :func:`default_threads`.

    Raises
    ------
    ConfigError
        For an unknown kind, bad ``workers``, or ``ray`` without Ray installed.
    """
    check_executor(kind, address=address)
    if workers is not None and (int(workers) != workers or workers < 1):
        raise ConfigError(f"--workers must be a whole number >= 1, got {workers}")
    if kind == "ray":
        return RayExecutor(address, workers)
    n = workers if workers is not None else default_workers(n_units)
    if n > 1:
        return LocalExecutor(n)
    t = default_threads() if threads is None else int(threads)
    if n_units is not None:
        t = min(t, n_units)
    return ThreadExecutor(t) if t > 1 else SequentialExecutor()


def ordered(units: Iterable[WorkUnit]) -> list[WorkUnit]:
    """Units in assembly order (model position, fold, replicate)."""
    return sorted(units)
