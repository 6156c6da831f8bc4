"""Executors: every executor writes the same bytes as the sequential loop."""

from __future__ import annotations

import importlib
import pickle
import sys
import threading
import time

import pytest

from fincast._threads import check_cancelled
from fincast.backtest import engine, run_backtest
from fincast.backtest.executors import (
    LocalExecutor,
    SequentialExecutor,
    ThreadExecutor,
    WorkUnit,
    make_executor,
)
from fincast.cli import main
from fincast.config import build_config
from fincast.errors import ConfigError
from fincast.models.keras_base import KerasForecaster

TINY = {"seed-mlp": {"epochs": 2, "batch_size": 64}}


def cfg(data, out, **kw):
    values = {"data": str(data), "out": str(out), "models": TINY, "folds": 3}
    values.update(kw)
    return build_config(values)


def run_bytes(result):
    return {
        name: (result.run_dir / name).read_bytes() for name in ("predictions.csv", "metrics.json")
    }


def test_work_units_sort_in_assembly_order_and_pickle():
    units = [WorkUnit(1, "seed-mlp", 0), WorkUnit(0, "naive", 2), WorkUnit(0, "naive", 1)]
    assert [u.key for u in sorted(units)] == [
        ("naive", 1, 0),
        ("naive", 2, 0),
        ("seed-mlp", 0, 0),
    ]
    assert pickle.loads(pickle.dumps(units[0])) == units[0]
    assert WorkUnit(0, "lstm", 3).stem == "lstm__fold3"
    assert WorkUnit(0, "lstm", 3, replicate=2).stem == "lstm__fold3__seed2"


def test_default_executor_runs_in_process_on_a_thread_per_core(monkeypatch):
    monkeypatch.setattr(
        importlib.import_module(make_executor.__module__), "default_threads", lambda: 2
    )
    default = make_executor("local")
    assert isinstance(default, ThreadExecutor) and default.threads == 2
    assert isinstance(make_executor("local", n_units=1), SequentialExecutor)
    assert isinstance(make_executor("local", threads=1), SequentialExecutor)
    assert isinstance(make_executor("local", workers=2), LocalExecutor)
    with pytest.raises(ConfigError, match="--ray-address needs --executor ray"):
        make_executor("local", address="auto")


class _Reversed(SequentialExecutor):
    """Completes the units in reverse order, as a parallel executor might."""

    def run(self, fn, context, units, on_result):
        for unit in reversed(list(units)):
            on_result(fn(context, unit))


def test_completion_order_does_not_change_the_outputs(tmp_path, ohlcv_csv, monkeypatch):
    a = run_backtest(cfg(ohlcv_csv, tmp_path / "a", models={}, folds=4))
    monkeypatch.setattr(engine, "make_executor", lambda *a, **k: _Reversed())
    b = run_backtest(cfg(ohlcv_csv, tmp_path / "b", models={}, folds=4))
    assert run_bytes(a) == run_bytes(b)


@pytest.mark.slow
def test_local_processes_give_the_same_bytes_and_report_progress(tmp_path, ohlcv_csv):
    seq = run_backtest(cfg(ohlcv_csv, tmp_path / "seq", workers=1))
    seen = []
    par = run_backtest(
        cfg(ohlcv_csv, tmp_path / "par", workers=2),
        progress=lambda model, fold, status: seen.append((model, fold, status)),
    )
    assert run_bytes(seq) == run_bytes(par)
    assert sorted(seen) == sorted(
        (m, f, "done") for m in ("naive", "mean", "seed-mlp") for f in range(3)
    )


def _blas_threads(context, unit):
    """The BLAS threads a unit runs with (module level: local processes pickle it)."""
    from threadpoolctl import threadpool_info

    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def _units_blas_threads(executor):
    seen = []
    with executor:
        executor.run(_blas_threads, None, [0, 1, 2], seen.append)
    return seen


def test_units_run_on_one_blas_thread_and_the_caller_keeps_its_own():
    """OpenBLAS splits a product's sums over its threads, so ridge's forecasts changed in
    their last digits between a Ray worker (one thread) and this process (one per core):
    on a 200,000-row panel ``predictions.csv`` differed. Every executor runs units on one."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        assert _blas_threads(None, None) == 2
        assert _units_blas_threads(SequentialExecutor()) == [1, 1, 1]
        assert _units_blas_threads(ThreadExecutor(2)) == [1, 1, 1]
        assert _blas_threads(None, None) == 2  # restored for the caller


@pytest.mark.slow
def test_local_processes_run_units_on_one_blas_thread(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # the children would start with two
    assert _units_blas_threads(LocalExecutor(2)) == [1, 1, 1]


def test_thread_executor_hands_results_to_the_calling_thread():
    caller = threading.get_ident()
    ran, handed = set(), []

    def fn(context, unit):
        ran.add(threading.get_ident())
        time.sleep(0.02)  # both threads get units
        return context * unit

    with ThreadExecutor(2) as executor:
        executor.run(fn, 10, list(range(6)), lambda r: handed.append((r, threading.get_ident())))
    assert sorted(r for r, _ in handed) == [0, 10, 20, 30, 40, 50]
    assert {t for _, t in handed} == {caller}
    assert len(ran) == 2 and caller not in ran


def test_thread_executor_passes_a_unit_error_on():
    def fn(context, unit):
        if unit == 3:
            raise RuntimeError("unit 3 broke")
        return unit

    with pytest.raises(RuntimeError, match="unit 3 broke"), ThreadExecutor(2) as executor:
        executor.run(fn, None, list(range(5)), lambda r: None)


def test_a_stopped_thread_run_cancels_the_units_still_training():
    """Ctrl-C (here: an error while handling a result) stops the other threads' units at
    their next check instead of waiting for them to finish."""
    steps: list[int] = []

    def fn(context, unit):
        if unit == 0:
            return unit
        for step in range(500):  # a long fit: checks between its compiled chunks
            check_cancelled()
            steps.append(step)
            time.sleep(0.01)
        return unit

    def on_result(result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), ThreadExecutor(2) as executor:
        executor.run(fn, None, [0, 1], on_result)
    assert len(steps) < 500
    check_cancelled()  # the calling thread is not a unit: nothing to cancel


THREADED = {
    "seed-mlp": {"epochs": 2, "batch_size": 64},
    "lstm": {"epochs": 2, "units": 4, "batch_size": 64},
    "mlp": {"epochs": 3, "batch_size": 64, "patience": 1, "dropout": 0.2},
}


@pytest.mark.slow
def test_threads_give_the_bytes_of_one_thread(tmp_path, ohlcv_csv):
    """Networks (dropout, early stopping, skip paths, shrinkage) and statsmodels' AR trained
    two or three at a time write what one thread writes."""
    one = run_backtest(
        cfg(ohlcv_csv, tmp_path / "one", models=THREADED, baselines=["naive", "ar"], threads=1)
    )
    three = run_backtest(
        cfg(ohlcv_csv, tmp_path / "three", models=THREADED, baselines=["naive", "ar"], threads=3)
    )
    assert run_bytes(one) == run_bytes(three)


def test_a_model_is_seeded_and_built_by_one_thread_at_a_time(tmp_path, ohlcv_csv, monkeypatch):
    """Seeding (process-wide generators) and building a network never interleave between
    threads, even when building is slow; training does overlap."""
    import keras

    events: list[tuple[str, int]] = []
    seed, build = keras.utils.set_random_seed, KerasForecaster.build

    def slow_seed(value):
        events.append(("seed", threading.get_ident()))
        seed(value)

    def slow_build(self, input_shape):
        time.sleep(0.05)  # another thread would seed here without the lock
        events.append(("built", threading.get_ident()))
        return build(self, input_shape)

    monkeypatch.setattr(keras.utils, "set_random_seed", slow_seed)
    monkeypatch.setattr(KerasForecaster, "build", slow_build)
    run_backtest(cfg(ohlcv_csv, tmp_path / "run", folds=4, threads=2))
    assert len(events) == 8 and len({t for _, t in events}) == 2
    for (first, a), (second, b) in zip(events[::2], events[1::2], strict=True):
        assert (first, second) == ("seed", "built") and a == b


def test_ray_executor_without_ray_is_a_one_line_error(tmp_path, ohlcv_csv, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    out = tmp_path / "run"
    code = main(["backtest", str(ohlcv_csv), "--executor", "ray", "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: --executor ray needs Ray")
    assert "pip install 'fincast[ray]'" in err and "\n" not in err
    assert not out.exists()


@pytest.fixture
def ray_cluster():
    ray = pytest.importorskip(
        "ray", reason="Ray is not installed (optional extra: pip install 'fincast[ray]')"
    )
    yield ray
    if ray.is_initialized():
        ray.shutdown()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # Ray forks then execs
def test_ray_local_cluster_gives_the_same_bytes_as_local(tmp_path, ohlcv_csv, ray_cluster):
    local = run_backtest(cfg(ohlcv_csv, tmp_path / "local"))
    seen = []
    on_ray = run_backtest(
        cfg(ohlcv_csv, tmp_path / "ray", executor="ray", workers=2),
        progress=lambda model, fold, status: seen.append(status),
    )
    assert not ray_cluster.is_initialized()  # the cluster it started is shut down
    assert run_bytes(local) == run_bytes(on_ray)
    assert seen == ["done"] * 9


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # Ray forks then execs
def test_ray_units_run_on_one_blas_thread(ray_cluster, monkeypatch):
    from fincast.backtest.executors import RayExecutor

    # Ray sets OMP_NUM_THREADS=1 in its workers; OpenBLAS reads this first, so without
    # fincast's own limit the workers would start with two
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert _units_blas_threads(RayExecutor(workers=2)) == [1, 1, 1]


@pytest.mark.slow
def test_volatility_networks_latent_input_gives_the_same_bytes_on_any_executor(tmp_path, ohlcv_csv):
    """A volatility network's latent-har input (fitted inside each network's fit, and
    remembered per process for the same rows) writes the same bytes from one thread,
    three threads and two worker processes, beside the latent-har baseline."""
    models = {"mlp": {"epochs": 2, "batch_size": 64, "units": 8}}
    common = dict(models=models, task="volatility", baselines=["naive", "latent-har"])
    one = run_backtest(cfg(ohlcv_csv, tmp_path / "one", threads=1, **common))
    three = run_backtest(cfg(ohlcv_csv, tmp_path / "three", threads=3, **common))
    procs = run_backtest(cfg(ohlcv_csv, tmp_path / "procs", workers=2, **common))
    assert run_bytes(one) == run_bytes(three) == run_bytes(procs)
    assert b"latent-har" in run_bytes(one)["predictions.csv"]
    off = {"mlp": {**models["mlp"], "latent_input": False}}
    without = run_backtest(cfg(ohlcv_csv, tmp_path / "off", threads=1, **{**common, "models": off}))
    assert run_bytes(without)["predictions.csv"] != run_bytes(one)["predictions.csv"]
