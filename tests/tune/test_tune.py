"""fincast tune: nested walk-forward, resumable SQLite studies, a best config that reruns."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from fincast.backtest import run_backtest
from fincast.cli import main
from fincast.config import build_config, load_config
from fincast.errors import ConfigError, DataError
from fincast.tune import resolve_space, tune
from fincast.tune.space import sample

optuna = pytest.importorskip(
    "optuna", reason="Optuna is not installed (pip install 'fincast[tune]')"
)

SPACE = {
    "epochs": {"low": 1, "high": 2},
    "batch_size": [64],
    "lr": {"low": 1e-3, "high": 1e-2, "log": True},
    "optimizer": ["adam", "rmsprop"],
}
SMALL = {"seed-mlp": {"epochs": 2, "batch_size": 64}}


def tune_cfg(data, out, **kw):
    values = {
        "data": str(data),
        "out": str(out),
        "models": SMALL,
        "folds": 2,
        "search_space": SPACE,
    }
    values.update(kw)
    return build_config(values)


def _trials(out):
    study = optuna.load_study(
        study_name="fincast-seed-mlp", storage=f"sqlite:///{out.resolve() / 'study.db'}"
    )
    return study.get_trials(deepcopy=False)


@pytest.mark.slow
def test_cli_tune_never_shows_test_dates_to_a_trial_and_its_best_config_reruns(
    tmp_path, ohlcv_csv, capsys
):
    out = tmp_path / "tune"
    config = tmp_path / "tune.yaml"
    config.write_text(
        json.dumps({"models": SMALL, "folds": 2, "search_space": SPACE})  # JSON is YAML
    )
    code = main(
        [
            "tune",
            str(ohlcv_csv),
            "--config",
            str(config),
            "--out",
            str(out),
            "--trials",
            "2",
            "--inner-folds",
            "2",
            "-q",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "seed-mlp (tuned)" in printed.out and "seed-mlp (default)" in printed.out
    for name in ("study.db", "trials.csv", "best_config.yaml", "tune.json"):
        assert (out / name).is_file(), name
    assert (out / "plots" / "tune_history.png").stat().st_size > 1000
    assert (out / "plots" / "tune_importance.png").stat().st_size > 1000

    # every trial trained and validated strictly before the first outer test block
    folds = json.loads((out / "tuned" / "metrics.json").read_text())["folds"]
    first_test = min(pd.Timestamp(f["test_start"]) for f in folds)
    trials = _trials(out)
    assert len(trials) == 2
    for trial in trials:
        used = [trial.user_attrs[f"fold{k}"] for k in range(2)]
        for fold in used:
            train_end, val_start, val_end = (
                pd.Timestamp(fold["train"][1]),
                pd.Timestamp(fold["validation"][0]),
                pd.Timestamp(fold["validation"][1]),
            )
            assert train_end < val_start <= val_end < first_test
        # the inner folds walk forward: the second validates after the first
        assert pd.Timestamp(used[0]["validation"][1]) < pd.Timestamp(used[1]["validation"][0])

    # the best configuration is a ready-to-run config: it reruns the tuned backtest exactly
    summary = json.loads((out / "tune.json").read_text())
    best = load_config(out / "best_config.yaml", {"out": str(tmp_path / "rerun")})
    assert best.models == {"seed-mlp": {**SMALL["seed-mlp"], **summary["best_params"]}}
    rerun = run_backtest(best)
    assert (rerun.run_dir / "predictions.csv").read_bytes() == (
        out / "tuned" / "predictions.csv"
    ).read_bytes()
    assert set(summary["comparison"]) == {"naive", "mean", "seed-mlp (default)", "seed-mlp (tuned)"}
    # the search's overfitting check: DSR counting both trials; too few trials for the PBO
    over = summary["overfitting"]
    assert over["n_trials"] == 2 and "skipped" in over["pbo"]
    assert over["n_periods"] == len(trials[0].user_attrs["returns"]) > 0
    assert summary["verdict"].startswith("tuned backtest Sharpe")
    assert over["backtest"]["n_periods"] > 0 and "after deflation" in over["backtest"]["verdict"]
    assert "user_attrs_returns" not in pd.read_csv(out / "trials.csv").columns


def test_a_killed_study_resumes_and_continues_its_trial_count(tmp_path, ohlcv_csv):
    out = tmp_path / "tune"
    first = tune(tune_cfg(ohlcv_csv, out), trials=2, inner=2, backtest=False)
    assert first.n_trials == 2
    # a kill leaves a trial running; the rerun fails it and finishes the missing trials
    study = optuna.load_study(
        study_name="fincast-seed-mlp", storage=f"sqlite:///{out.resolve() / 'study.db'}"
    )
    study.ask()
    seen = []
    again = tune(
        tune_cfg(ohlcv_csv, out),
        trials=3,
        inner=2,
        backtest=False,
        on_trial=lambda n, state, value, finished: seen.append((n, finished)),
    )
    trials = _trials(out)
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert [t.state.name for t in trials][2] == "FAIL"
    assert seen == [(3, 3)]  # one new trial, numbered after the earlier ones
    assert again.n_trials == 3
    # the study already has its trials: a rerun runs none
    assert tune(tune_cfg(ohlcv_csv, out), trials=3, inner=2, backtest=False).n_trials == 3
    assert len(_trials(out)) == 4
    assert trials[0].user_attrs["pid"] == os.getpid()  # in this process by default


@pytest.mark.slow
def test_two_worker_processes_share_the_study_and_split_the_trials(tmp_path, ohlcv_csv):
    out = tmp_path / "tune"
    result = tune(tune_cfg(ohlcv_csv, out, workers=2), trials=2, inner=2, backtest=False)
    trials = _trials(out)
    assert result.n_trials == 2 and [t.number for t in trials] == [0, 1]
    pids = {t.user_attrs["pid"] for t in trials}
    assert len(pids) == 2 and os.getpid() not in pids
    assert trials[0].params != trials[1].params  # each worker samples with its own seed


def test_search_space_declared_in_config_overrides_the_default():
    space = resolve_space("lstm", {"units": [8], "lr": 0.01})
    assert space["units"] == [8] and space["lr"] == 0.01
    assert space["layers"] == {"low": 1, "high": 2}  # the default space of lstm
    assert {"lr", "batch_size", "epochs", "dropout", "l2", "optimizer"} <= set(
        resolve_space("seed-mlp", None)
    )
    trial = optuna.trial.FixedTrial({"units": 8, "layers": 2, "lr": 0.01})
    params = sample(trial, {"units": [8, 16], "layers": {"low": 1, "high": 2}, "lr": 0.01})
    assert params == {"units": 8, "layers": 2, "lr": 0.01}


@pytest.mark.parametrize(
    ("space", "words"),
    [
        ({"lr": {"low": 0.1}}, "needs `low` and `high`"),
        ({"lr": {"low": 0, "high": 1, "log": True}}, "log range needs `low` > 0"),
        ({"units": []}, "list of choices is empty"),
    ],
)
def test_malformed_search_spaces_are_config_errors(space, words):
    with pytest.raises(ConfigError, match=words):
        resolve_space("mlp", space)


def test_a_parameter_the_model_lacks_fails_before_anything_is_written(tmp_path, ohlcv_csv):
    out = tmp_path / "tune"
    with pytest.raises(ConfigError, match="search_space does not fit model 'seed-mlp'"):
        tune(tune_cfg(ohlcv_csv, out, search_space={"units": [8]}), trials=1)
    with pytest.raises(DataError, match="inner validation folds"):
        tune(tune_cfg(ohlcv_csv, out), trials=1, inner=200)
    assert not out.exists()


def test_the_keras_callback_reports_each_epoch_and_the_median_pruner_stops_training(
    tmp_path, ohlcv_csv
):
    from fincast.backtest import prepare
    from fincast.tune.objective import STEP_STRIDE, Objective, for_tuning, inner_folds

    full = prepare(tune_cfg(ohlcv_csv, tmp_path / "x"))
    prep = for_tuning(full)
    first_test = full.design.calendar[full.folds[0].test_start]
    assert len(prep.design) < len(full.design) and prep.design.dates.max() < first_test
    folds = inner_folds(prep, 2)
    space = resolve_space("seed-mlp", {**SPACE, "epochs": 3})
    study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    study.add_trial(  # a finished trial that scored perfectly at every step
        optuna.trial.create_trial(
            value=0.0,
            intermediate_values={k * STEP_STRIDE + e: 0.0 for k in range(2) for e in range(3)},
        )
    )
    trial = study.ask()
    with pytest.raises(optuna.TrialPruned, match="epoch 1"):
        Objective(prep, "seed-mlp", space, folds)(trial)
    reported = study._storage.get_trial(trial._trial_id).intermediate_values
    assert list(reported) == [0]  # pruned after the first epoch of the first fold

    # without a better competitor the trial runs every epoch of every inner fold
    free = optuna.create_study()
    trial = free.ask()
    value = Objective(prep, "seed-mlp", space, folds)(trial)
    reported = free._storage.get_trial(trial._trial_id).intermediate_values
    assert sorted(reported) == [0, 1, 2, STEP_STRIDE, STEP_STRIDE + 1, STEP_STRIDE + 2]
    assert value == pytest.approx((reported[2] + reported[STEP_STRIDE + 2]) / 2, rel=1e-5)


def test_tune_without_optuna_is_a_one_line_error(tmp_path, ohlcv_csv, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` raises ImportError
    out = tmp_path / "tune"
    code = main(["tune", str(ohlcv_csv), "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: fincast tune needs Optuna") and "fincast[tune]" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("{units: [8]}", "error: search_space does not fit model 'seed-mlp'"),
        ("[1, 2]", "error: --search-space must be a mapping"),
        ("{lr: {low: 1}}", "error: search_space.lr: a range needs `low` and `high`"),
    ],
)
def test_search_space_flag_errors_are_one_line(tmp_path, ohlcv_csv, capsys, flag, words):
    out = tmp_path / "tune"
    args = ["tune", str(ohlcv_csv), "--models", "seed-mlp", "--search-space", flag]
    code = main([*args, "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(words) and "\n" not in err
    assert not out.exists()


@pytest.mark.parametrize("threads", [2, 3])
def test_inner_folds_on_threads_give_the_study_of_one_thread(tmp_path, ohlcv_csv, threads):
    """Folds trained beside the first report afterwards, in order: the same reports, the
    same pruning step (here in the second fold, so the replay decides) and the same value
    as one fold after another."""
    from fincast.backtest import prepare
    from fincast.tune.objective import STEP_STRIDE, Objective, for_tuning, inner_folds

    prep = for_tuning(prepare(tune_cfg(ohlcv_csv, tmp_path / "x")))
    folds = inner_folds(prep, 3)
    space = resolve_space("seed-mlp", {**SPACE, "epochs": 3})

    def study_with(competitor):
        study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=0),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=1),
        )
        if competitor is not None:
            study.add_trial(
                optuna.trial.create_trial(
                    value=0.0,
                    intermediate_values={
                        k * STEP_STRIDE + e: competitor(k) for k in range(3) for e in range(3)
                    },
                )
            )
        return study

    def run(n, competitor):
        study = study_with(competitor)
        trial = study.ask()
        try:
            outcome: object = Objective(prep, "seed-mlp", space, folds, threads=n)(trial)
        except optuna.TrialPruned as exc:
            outcome = str(exc)
        frozen = study._storage.get_trial(trial._trial_id)
        return outcome, frozen.intermediate_values, frozen.user_attrs

    # beaten from the second fold on: pruned at its first epoch, by the replayed reports
    late = run(threads, lambda k: 10.0 if k == 0 else 0.0)
    assert late == run(1, lambda k: 10.0 if k == 0 else 0.0)
    assert late[0] == "pruned at epoch 1 of inner fold 2"
    assert sorted(late[1]) == [0, 1, 2, STEP_STRIDE]
    assert "fold2" not in late[2]  # as one after another: the third fold was never reached
    # beaten everywhere: pruned in the first fold; the folds beside it report nothing
    early = run(threads, lambda k: 0.0)
    assert early == run(1, lambda k: 0.0) and sorted(early[1]) == [0]
    # no competitor: every fold runs; the same value, reports and attributes
    free = run(threads, None)
    assert free == run(1, None) and isinstance(free[0], float)
    assert sorted(free[1]) == [k * STEP_STRIDE + e for k in range(3) for e in range(3)]


def test_trials_run_with_the_older_objects_frozen_for_the_collector(
    tmp_path, ohlcv_csv, monkeypatch
):
    """Optuna collects garbage after every trial; with the process's older objects frozen
    that collection walks only what the trial made (0.27 s a trial otherwise)."""
    import gc

    from fincast.tune import objective

    frozen = []
    call = objective.Objective.__call__

    def spy(self, trial):
        frozen.append(gc.get_freeze_count())
        return call(self, trial)

    monkeypatch.setattr(objective.Objective, "__call__", spy)
    tune(tune_cfg(ohlcv_csv, tmp_path / "t"), trials=2, inner=2, backtest=False)
    assert len(frozen) == 2 and min(frozen) > 0
    assert gc.get_freeze_count() == 0  # unfrozen afterwards


def test_young_collections_freezes_what_exists_and_collects_what_it_made():
    import gc
    import weakref

    from fincast._gc import young_collections

    class Node:
        pass

    with young_collections():
        assert gc.get_freeze_count() > 0
        cycle = Node()
        cycle.self = cycle  # garbage only a collection frees
        ref = weakref.ref(cycle)
        del cycle
        with young_collections():  # nested: the outer freeze is left alone
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0 and ref() is None
