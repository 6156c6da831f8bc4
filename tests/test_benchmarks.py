"""The benchmark's building blocks run (tiny sizes; nothing about timings is asserted)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ sits next to src/, it is not installed
    sys.path.insert(0, str(ROOT))

pytest.importorskip("optax")

from benchmarks import (  # noqa: E402
    ledger_alarm,
    quality,
    run,
    simulate,
    throughput,
    walkforward,
)

from .conftest import make_ohlcv  # noqa: E402


def test_throughput_compares_the_three_ways_of_training():
    out = throughput.compare(epochs=1, repeats=1, rows=64)
    assert out["rows"] == 64
    assert set(out["methods"]) == {"fincast", "plain_keras", "plain_keras_spe32", "jax_scan"}
    for method in out["methods"].values():
        assert method["s_per_epoch"] > 0 and method["first_fit_s"] > 0
    for key in ("ratio_plain", "ratio_jax", "ratio_plain_cpu", "ratio_jax_cpu"):
        assert math.isfinite(out[key]) and out[key] > 0


def test_the_simulation_is_the_ar2_garch_process_it_claims():
    frame, limits = simulate.ar_garch(6000, seed=3)
    r = np.diff(np.log(frame["close"].to_numpy()))
    design = np.column_stack([r[1:-1], r[:-2]])
    phi, *_ = np.linalg.lstsq(design, r[2:], rcond=None)
    np.testing.assert_allclose(phi, simulate.AR_GARCH_PARAMS[1:3], atol=0.05)
    # the oracle's error is the return minus its AR(2) conditional mean
    resid = r[2:] - design @ np.asarray(simulate.AR_GARCH_PARAMS[1:3])
    np.testing.assert_allclose(limits["oracle_error"].to_numpy()[2:], resid, atol=1e-10)
    # the variance is the one of the next return: it is larger after big moves (GARCH)
    variance = limits["variance"].to_numpy()
    assert len(variance) == len(r) and (variance > 0).all()
    assert np.corrcoef(r[:-1] ** 2, variance[1:])[0, 1] > 0.1
    walk = np.diff(np.log(simulate.random_walk(3000)["close"].to_numpy()))
    assert abs(np.corrcoef(walk[1:], walk[:-1])[0, 1]) < 0.06
    panel = simulate.simulated_panel(3, 50)
    assert panel["ticker"].nunique() == 3 and len(panel) == 150


def test_quality_runs_a_backtest_and_compares_with_the_optimum():
    tiny = {"epochs": 1, "folds": 2, "models": ["seed-mlp"]}
    q = quality.ar_garch_quality(400, settings=tiny)
    assert set(q["models"]) == {"naive", "mean", "seed-mlp"}
    for row in q["models"].values():
        assert row["optimum"] > 0 and row["ratio"] > 0 and row["n"] > 0
        assert row["ratio_oracle"] > 0
    rw = quality.random_walk_skill(400, settings=tiny)
    assert rw["models"]["naive"]["skill_vs_naive"] == 0


@pytest.mark.slow
def test_a_walkforward_case_runs_in_its_own_process(tmp_path):
    path = tmp_path / "p.csv"
    make_ohlcv(160).drop(columns="ticker").to_csv(path, index=False)
    case = walkforward.run_case(
        [str(path), "--epochs", "1", "--folds", "2", "--lookback", "5"], workdir=tmp_path
    )
    assert "error" not in case, case
    assert case["wall_s"] > 0 and case["training_s"] >= 0 and case["peak_rss_mb"] > 50
    assert case["rows"] > 0


def _fake_results():
    """Results shaped as run.run() returns them (made-up numbers)."""
    method = {"s_per_epoch": 0.01, "cpu_s_per_epoch": 0.02, "first_fit_s": 1.0}
    models = {"naive": {"ratio": 1.3}, "seed-mlp": {"ratio": 1.02}, "lstm": {"ratio": 1.2}}
    results = {
        "date": "2026-01-01T00:00:00+00:00",
        "total_s": 300.0,
        "machine": {
            "nproc": 2,
            "cpu": "CPU",
            "ram_gb": 8,
            "python": "3.11",
            "versions": {"keras": "3", "jax": "0.4"},
            "load_average": [1.0, 1.0, 1.0],
            "load_average_end": [1.0, 1.0, 1.0],
        },
        "throughput": {
            "rows": 100,
            "epochs": 2,
            "repeats": 1,
            "methods": dict.fromkeys(throughput_methods(), method),
            "ratio_plain": 0.5,
            "ratio_jax": 2.5,
            "ratio_plain_cpu": 0.5,
            "ratio_jax_cpu": 2.5,
        },
        "walkforward": [
            {"name": "default", "wall_s": 42.0, "training_s": 30.0, "peak_rss_mb": 700, "rows": 9},
            {"name": "broken", "error": ["error: x"]},
        ],
        "quality": {
            "ar_garch": {"rows": 10, "settings": {}, "models": models},
            "ar_garch_defaults": {"rows": 10, "settings": {}, "models": models},
            "random_walk": {"rows": 10, "models": {"seed-mlp": {"skill_vs_naive": -0.01}}},
        },
        "ledger_alarm": {"seconds": 4.0, "cap": 5000, "rows": [_ALARM_ROW]},
    }
    return results


_ALARM_ROW = {
    "tails": "t3",
    "reference": "backtest",
    "edge": 0.5,
    "target_arl0": 2500.0,
    "reps": 200,
    "unarmed": 0,
    "arl0": 3261.4,
    "censored": 0.3,
    "false_alarm_252": 0.065,
    "false_alarm_500": 0.11,
    "delay_mean": 49.2,
    "delay_median": 44.0,
    "delay_p90": 75.1,
    "detected_250": 1.0,
}


def test_the_report_tables_and_goals(tmp_path):
    cases = run.walkforward_cases(quick=True, workdir=tmp_path)
    assert (tmp_path / "panel20.csv").exists() and len(cases) == 2
    text = run.markdown(_fake_results())
    assert "| fincast / hand-written JAX time (CPU time: 2.5) | 2.5 | <= 2.0 | **no** |" in text
    assert "| default walk-forward wall time (default) | 42 s | < 60 s | yes |" in text
    assert "seed-mlp MSE / best possible | 1.02 | <= 1.05 | yes |" in text
    assert "lstm MSE / best possible | 1.2 | <= 1.05 | **no** |" in text
    assert "| broken | failed:" in text
    assert "**Ledger monitor** (`benchmarks/ledger_alarm.py`, 200 replications a row" in text
    assert "| 0.5 | t(3) | backtest (500) | 3,261 | 6.5% | 11.0% | 49 / 44 / 75 | 100% |" in text


def test_ledger_alarm_rows_measure_false_alarms_and_delays():
    out = ledger_alarm.run(30, cap=400, edges=(0.5,), seed=1)
    assert [(r["tails"], r["reference"]) for r in out["rows"]] == [
        ("normal", "backtest"),
        ("normal", "live"),
        ("t3", "backtest"),
        ("t3", "live"),
    ]
    backtest = out["rows"][0]
    assert backtest["reps"] == 30 and backtest["unarmed"] == 0
    # the edge vanishes at the start: a strong edge's loss is seen within a few dozen dates
    assert backtest["detected_250"] >= 0.9 and backtest["delay_median"] < 150
    # while it persists, false alarms within a year stay rare (design: about 10 %)
    assert backtest["false_alarm_252"] <= 0.3 and backtest["arl0"] > 252
    table = ledger_alarm.markdown(out)
    assert sum(line.startswith("| 0.5 |") for line in table) == 4
    assert ledger_alarm.BENCH_REPS < 400  # make bench runs fewer than make bench-ledger


def test_main_writes_the_results_and_prints_the_tables(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run, "run", lambda quick, log: {**_fake_results(), "quick": quick})
    out = tmp_path / "r" / "bench.json"
    assert run.main(["--quick", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["quick"] is True
    printed = capsys.readouterr().out
    assert "| goal | measured | target | met |" in printed and str(out) in printed


def throughput_methods():
    return ["fincast", "plain_keras", "plain_keras_spe32", "jax_scan"]


def test_startup_measures_the_light_commands():
    from benchmarks import startup

    out = startup.measure(repeats=1)
    assert out["help_s"] > 0 and set(out["cases"]) == set(startup.CASES)
    assert any("--help" in line for line in startup.markdown(out))


def test_the_default_settings_table_has_a_row_per_model_and_a_column_per_score():
    from benchmarks import defaults

    cases = [
        {"case": "sp500-return", "folds": 3, "models": {"mlp": {"skill": 0.0}}},
        {
            "case": "sp500-volatility",
            "folds": 3,
            "models": {"mlp": {"skill_h": {"1": 0.5, "5": 0.25}, "beats_naive": "yes"}},
        },
    ]
    table = defaults.markdown(cases)
    assert "| mlp | 0.0000 | 0.5000 | 0.2500 | yes |" in table
    assert set(defaults.CASES) >= {"ar2-garch", "random-walk", "panel", "nasdaq-direction"}


def test_health_benchmark_times_validate_with_and_without_the_checks():
    from benchmarks import health

    out = health.measure(tickers=3, days=200, repeats=1)
    assert out["rows"] == 600 and out["findings"] == 0  # a random walk: nothing to report
    assert set(out["cases"]) == {"load_only", "with_health", "health_only", "cli"}
    assert out["ratio"] > 0 and math.isfinite(out["ratio_cpu"])
    text = "\n".join(health.markdown(out))
    assert "with / without the health checks" in text and "load average" in text


def test_the_peers_table_pairs_each_fincast_run_with_the_plain_script_run_after_it():
    from benchmarks import peers

    def runs(f_engine, p_engine):
        return {
            "fincast": [
                {"engine_s": e, "process_s": e + 5, "peak_rss_mb": 600.0} for e in f_engine
            ],
            "fincast_warm": [  # the compilation cache saves a second per run
                {"engine_s": e - 1, "process_s": e + 4, "peak_rss_mb": 590.0} for e in f_engine
            ],
            "plain_keras": [
                {
                    "engine_s": e,
                    "process_s": e + 3,
                    "peak_rss_mb": 550.0,
                    "train_rows": [3000, 4600],
                }
                for e in p_engine
            ],
            "plain_keras_cache_warm": [  # the same script, its compilations read from disk
                {"engine_s": e / 2, "process_s": e / 2 + 3, "peak_rss_mb": 550.0} for e in p_engine
            ],
        }

    results = {
        "load_start": [1.0], "load_end": [2.0], "epochs": {"mlp": 20, "lstm": 5},
        "runs": {"mlp": runs([2.0, 3.0], [10.0, 20.0]), "lstm": runs([8.0, 9.0], [16.0, 9.0])},
        "peak_gflops": {"matmul_1024": 80.0, "matmul_lstm_step": 40.0},
    }  # fmt: skip
    results["summary"] = peers.summarise(results)
    s = results["summary"]
    assert s["mlp"]["ratio_engine_s_all"] == [0.2, 0.15]  # per pair, not median / median
    assert s["lstm"]["ratio_engine_s"] == pytest.approx(0.75)
    assert s["mlp"]["warm_ratio_engine_s_all"] == [0.1, 0.1]
    assert s["lstm"]["fincast_gflops"] > 0 and s["lstm"]["plain_keras_gflops"] > 0
    assert s["lstm"]["fincast_warm_gflops"] > s["lstm"]["fincast_gflops"]
    text = "\n".join(peers.markdown(results))
    assert "| LSTM walk-forward engine | cold | 0.75 |" in text and "<= 0.25 | **no** |" in text
    assert "| MLP walk-forward engine | cold | 0.175 |" in text and "Darts 0.48" in text
    assert "| MLP walk-forward engine | warm | 0.1 | [0.1, 0.1] | <= 0.12 | yes |" in text
    assert s["mlp"]["cached_ratio_engine_s_all"] == [0.2, 0.2]  # against the cached script
    assert "persistent cache filled by the run before | 7.5 |" in text  # median(10, 20) / 2
    assert "not a target): LSTM engine 1.33, MLP engine 0.2" in text


def test_the_plain_script_runs_with_jaxs_defaults_or_the_cache_it_is_given(monkeypatch):
    """fincast's import sets a persistent cache in os.environ; the reference script must
    not inherit it (it would read compilations from disk), unless asked to."""
    from benchmarks import peers

    seen = []

    def fake_run(cmd, env, **kwargs):
        seen.append({k: env.get(k) for k in peers._CACHE_VARS})
        Path(cmd[cmd.index("--json") + 1]).write_text('{"engine_s": 1.0}')
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/somewhere/fincast/jax")
    monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    monkeypatch.setattr(peers.subprocess, "run", fake_run)
    assert peers._run_plain("mlp", 1)["engine_s"] == 1.0
    assert peers._run_plain("mlp", 1, cache="/tmp/c")["engine_s"] == 1.0
    assert seen == [
        {"JAX_COMPILATION_CACHE_DIR": None, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": None},
        {"JAX_COMPILATION_CACHE_DIR": "/tmp/c", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"},
    ]


@pytest.mark.slow
def test_report_speed_splits_the_rebuild_of_a_real_run(tmp_path):
    from benchmarks import report_speed

    result = report_speed.measure_demo(tmp_path, quick=True, repeats=1)
    row = result["runs"][0]
    for key in ("rebuild_s", "metrics", "plots", "html", "process_s", "plot:actual_vs_predicted"):
        assert row[key] > 0, key
    assert row["metrics"] + row["plots"] + row["html"] <= row["rebuild_s"]
    text = "\n".join(report_speed.markdown(result))
    assert "| metrics |" in text and "| plots |" in text and "fincast backtest" in text
