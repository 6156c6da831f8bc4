"""``fincast tune``: an Optuna study over a model's search space, then an honest backtest.

The study (TPE sampler, median pruner) lives in SQLite inside the run directory by default,
so a killed tuning run continues where it stopped when the same command is run again:
``--trials N`` is the number of finished (complete or pruned) trials the study should
reach. The best configuration is written as a ready-to-run config, and, unless disabled,
backtested on the untouched outer test folds next to the untuned default.

Run directory::

    config.yaml          the tuning configuration
    study.db             the Optuna study (unless --storage points elsewhere)
    trials.csv           every trial: parameters, value, state, the dates it used
    best_config.yaml     the best configuration: fincast backtest --config best_config.yaml
    plots/tune_history.png, plots/tune_importance.png
    default/, tuned/     backtests of the untuned and the tuned model (outer test folds)
    tune.json            summary: best value and parameters, default vs tuned metrics, and
                         the deflated Sharpe ratio / PBO of the search (``overfitting``)
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .._gc import young_collections
from ..backtest.engine import Prepared, model_params, prepare, run_backtest
from ..backtest.executors import default_threads, make_executor
from ..config import RunConfig, load_config
from ..errors import ConfigError, RunError
from ..models import make_model
from ..rundir import RunDirectory, atomic_write_text, read_manifest, write_csv
from ..tasks import TaskSpec
from .objective import Objective, for_tuning, inner_folds
from .overfitting import backtest_dsr, overfitting_summary
from .plots import plot_history, plot_importance
from .space import is_tunable, resolve_space

__all__ = ["TuneResult", "tune"]

OPTUNA_INSTALL_HINT = "pip install 'fincast[tune]' (or pip install optuna)"

#: Called after each finished trial with (trial number, state, value or None, finished
#: trials of the study so far, those of earlier runs included).
TrialFn = Callable[[int, str, float | None, int], None]


@dataclass
class TuneResult:
    """What a tuning run produced."""

    run_dir: Path
    model: str
    best_params: dict[str, Any]
    best_value: float
    n_trials: int
    n_pruned: int
    best_config: Path
    comparison: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    #: What ``best_value`` measures (the task's tuning score, lower is better).
    score: str = ""
    #: Deflated Sharpe ratio and PBO of the search (:mod:`fincast.tune.overfitting`),
    #: None for tasks without a trading rule.
    overfitting: dict[str, Any] | None = None


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            f"fincast tune needs Optuna, which is not installed; install it with "
            f"{OPTUNA_INSTALL_HINT}"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _pick_model(config: RunConfig, model: str | None) -> str:
    if model is not None:
        if not is_tunable(model):
            raise ConfigError(
                f"model {model!r} has nothing to tune (not a Keras model or lightgbm); "
                "`fincast models` lists them"
            )
        return model
    for name in config.models:
        if is_tunable(name):
            return name
    raise ConfigError(
        "nothing to tune: the config names no Keras model (or lightgbm); pass --models seed-mlp"
    )


@dataclass(frozen=True)
class _Job:
    """What a tuning worker needs (picklable): it rebuilds the data from the config."""

    config: RunConfig
    model: str
    storage: str
    study_name: str
    trials: int
    timeout: float | None
    inner: int


def _study(optuna: Any, job: _Job, worker: int = 0) -> Any:
    # each parallel worker samples with its own seed, so they do not propose the same trials
    sampler = optuna.samplers.TPESampler(seed=job.config.seed + worker)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    return optuna.create_study(
        study_name=job.study_name,
        storage=job.storage,
        sampler=sampler,
        pruner=pruner,
        direction="minimize",
        load_if_exists=True,
    )


def _finished(optuna: Any, study: Any) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def _optimize(
    job: _Job,
    prep: Prepared | None = None,
    on_trial: TrialFn | None = None,
    worker: int = 0,
    share: int | None = None,
    threads: int | None = None,
) -> int:
    """Run trials until the study has ``job.trials`` finished ones (or the timeout).

    ``share`` caps the trials this worker starts (parallel workers split the missing ones).
    A trial's inner folds train on ``threads`` threads (default ``--threads``: one per core;
    1 in worker processes, which already share the cores).
    """
    optuna = _import_optuna()
    study = _study(optuna, job, worker)
    remaining = job.trials - _finished(optuna, study)
    if share is not None:
        remaining = min(remaining, share)
    if remaining <= 0:
        return 0
    prep = for_tuning(prep or prepare(job.config))
    space = resolve_space(job.model, job.config.search_space)
    if threads is None:
        threads = job.config.threads or default_threads()
    objective = Objective(prep, job.model, space, inner_folds(prep, job.inner), threads)
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    callbacks: list[Any] = [optuna.study.MaxTrialsCallback(job.trials, states=states)]
    if on_trial is not None:
        callbacks.append(
            lambda s, t: on_trial(t.number, t.state.name.lower(), t.value, _finished(optuna, s))
        )
    with young_collections():  # the collection after each trial skips the older objects
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=job.timeout,
            callbacks=callbacks,
            catch=(ConfigError,),
            gc_after_trial=True,
        )
    return remaining


def _worker(job: _Job, unit: tuple[int, int]) -> int:
    worker, share = unit
    return _optimize(job, worker=worker, share=share, threads=1)


def _check_space(prep: Prepared, model: str) -> dict[str, Any]:
    """Fail before any trial when a searched parameter does not fit the model."""
    space = resolve_space(model, prep.config.search_space)
    probe = {}
    for name, spec in space.items():
        if isinstance(spec, dict):
            probe[name] = spec["low"]
        elif isinstance(spec, list):
            probe[name] = spec[0]
        else:
            probe[name] = spec
    try:
        make_model(model, prep.task, {**model_params(prep.config, model), **probe})
    except ConfigError as exc:
        raise ConfigError(
            f"search_space does not fit model {model!r} ({exc}); remove that parameter "
            "or tune a model that has it"
        ) from None
    return space


def _stale_to_failed(optuna: Any, study: Any) -> int:
    """Mark trials left running by a killed run as failed (we hold the run's lock)."""
    n = 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        n += 1
    return n


def _backtest_into(config: RunConfig, out: Path) -> dict[str, Any]:
    """Backtest ``config`` into ``out``: reuse a complete identical run, finish a partial one.

    A run of another configuration there (an earlier best, before the study went on) is
    replaced.
    """
    wanted = config.model_copy(update={"out": str(out)})
    old = out / "config.yaml"
    if old.is_file() and load_config(old).model_dump() != wanted.model_dump():
        shutil.rmtree(out)
    manifest = read_manifest(out) if out.is_dir() else None
    if manifest and manifest.get("status") == "complete":
        return dict(json.loads((out / "metrics.json").read_text()))
    resume = out.is_dir() and any(out.iterdir())
    return run_backtest(wanted, resume=resume).metrics


def tune(
    config: RunConfig,
    *,
    model: str | None = None,
    trials: int = 20,
    timeout: float | None = None,
    storage: str | None = None,
    inner: int = 3,
    backtest: bool = True,
    on_trial: TrialFn | None = None,
) -> TuneResult:
    """Tune one Keras model on inner validation folds, then backtest the best configuration.

    Parameters
    ----------
    config
        The run configuration; ``config.search_space`` overrides the model's default space
        and ``config.out`` is the tuning run directory (default ``runs/<time>-tune-<data>``).
    model
        The model to tune (default: the first Keras model of ``config.models``).
    trials
        Finished trials the study should reach (a resumed study runs only the missing ones).
    timeout
        Stop starting new trials after this many seconds.
    storage
        Optuna storage URL (default ``sqlite:///<run dir>/study.db``).
    inner
        Inner validation folds carved from the first outer fold's training period.
    backtest
        Also backtest the untuned default and the best configuration on the outer folds.
    on_trial
        Called after each finished trial (in-process executions only).

    Returns
    -------
    TuneResult

    Raises
    ------
    FincastError
        For bad settings or data, before any trial runs.
    """
    optuna = _import_optuna()
    if int(trials) != trials or trials < 1:
        raise ConfigError(f"--trials must be a whole number >= 1, got {trials}")
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"--timeout must be > 0 seconds, got {timeout}")
    if int(inner) != inner or inner < 1:
        raise ConfigError(f"--inner-folds must be a whole number >= 1, got {inner}")
    name = _pick_model(config, model)
    prep = prepare(config)
    _check_space(prep, name)
    inner_folds(prep, inner)  # too little data fails here, before anything is written
    out = Path(
        config.out or f"runs/{datetime.now().strftime('%Y%m%d-%H%M%S')}-tune-{prep.dataset.name}"
    )
    run = RunDirectory(out, resume=out.is_dir() and any(out.iterdir())).open()
    complete = False
    try:
        resolved = config.model_copy(update={"out": str(out)})
        atomic_write_text(out / "config.yaml", resolved.to_yaml())
        url = storage or f"sqlite:///{out.resolve() / 'study.db'}"
        job = _Job(resolved, name, url, f"fincast-{name}", int(trials), timeout, int(inner))
        study = _study(optuna, job)
        if storage is None:
            _stale_to_failed(optuna, study)
        with make_executor(
            config.executor, workers=config.workers, address=config.ray_address
        ) as executor:  # one Ray session for the trials and both backtests
            missing = job.trials - _finished(optuna, study)
            if executor.workers <= 1 or missing <= 1:
                _optimize(job, prep, on_trial)
            elif missing > 0:
                n = min(executor.workers, missing)
                shares = [(i, missing // n + (i < missing % n)) for i in range(n)]
                executor.run(_worker, job, shares, lambda done: None)
            result = _summarise(optuna, _study(optuna, job), job, out)
            if backtest:
                result.comparison = _compare(resolved, result, out)
                _deflate_backtest(resolved, result, out / "tuned")
                atomic_write_text(out / "tune.json", json.dumps(_summary(result), indent=2) + "\n")
        complete = True
    finally:
        run.close(complete=complete)
    return result


def _summarise(optuna: Any, study: Any, job: _Job, out: Path) -> TuneResult:
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise RunError(
            f"no trial of study {job.study_name} completed (all pruned or failed); "
            "widen the search_space, raise --trials, or check the data"
        )
    best = study.best_trial
    frame = study.trials_dataframe()
    write_csv(out / "trials.csv", frame.drop(columns="user_attrs_returns", errors="ignore"))
    cfg = job.config
    params = {**cfg.models.get(job.model, {}), **best.params}
    best_cfg = cfg.model_copy(update={"models": {job.model: params}, "out": None})
    path = atomic_write_text(out / "best_config.yaml", best_cfg.to_yaml())
    plot_history(study, out / "plots" / "tune_history.png")
    notes = []
    if not plot_importance(study, out / "plots" / "tune_importance.png"):
        notes.append("parameter importance needs at least 2 completed trials; not plotted")
    pruned = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
    overfit = _overfitting(complete, best, len(complete) + len(pruned), job.config)
    if overfit is not None:
        overfit["validation_verdict"] = overfit["verdict"]
        notes.append(overfit["verdict"])
    result = TuneResult(
        out,
        job.model,
        dict(best.params),
        float(best.value),
        len(complete) + len(pruned),
        len(pruned),
        path,
        warnings=notes,
        score=TaskSpec.from_config(job.config).task.tune_metric,
        overfitting=overfit,
    )
    atomic_write_text(out / "tune.json", json.dumps(_summary(result), indent=2) + "\n")
    return result


def _overfitting(
    complete: list[Any], best: Any, n_tried: int, config: RunConfig
) -> dict[str, Any] | None:
    """The deflated Sharpe ratio of the best trial's validation trades and the PBO."""
    from ..metrics.finance import supports

    if not supports(config.task):
        return None
    with_returns = [t for t in complete if t.user_attrs.get("returns")]
    if best not in with_returns:
        return None
    returns = [t.user_attrs["returns"] for t in with_returns]
    ppy = _periods_per_year(config)
    return overfitting_summary(returns, with_returns.index(best), n_tried, ppy)


def _deflate_backtest(config: RunConfig, result: TuneResult, run: Path) -> None:
    """Add the deflated Sharpe ratio of the tuned backtest's trades; it leads the verdict."""
    from ..metrics.finance import strategy_returns
    from ..predictions import read_table, table_path

    over = result.overfitting
    if over is None or table_path(run) is None:
        return
    preds = read_table(run)
    rets = strategy_returns(preds, config.task, mode="long_flat", cost_bps=config.cost_bps)
    mine = rets[rets["model"] == result.model].sort_values("date")["net_return"]
    over["backtest"] = backtest_dsr(mine.to_numpy(dtype="float64"), over, _periods_per_year(config))
    over["verdict"] = f"{over['backtest']['verdict']} Validation: {over['verdict']}"
    result.warnings = [w for w in result.warnings if w != over["validation_verdict"]]
    result.warnings.append(over["verdict"])


def _periods_per_year(config: RunConfig) -> float | None:
    """Trading periods a year of the data (its frequency over the smallest horizon)."""
    from ..data import load
    from ..metrics.finance import infer_periods_per_year

    try:
        ds = load(config.data, **config.reader_options())
        dates = ds.frame.loc[ds.frame["id"] == ds.ids[0], "date"]
        return float(infer_periods_per_year(dates, min(config.horizon)))
    except Exception:  # only the display of an annualised Sharpe ratio depends on it
        return None


def _compare(config: RunConfig, result: TuneResult, out: Path) -> dict[str, Any]:
    """Backtest the untuned default and the tuned model on the outer test folds."""
    base = config.model_copy(update={"models": {result.model: config.models.get(result.model, {})}})
    tuned = load_config(result.best_config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default_m = _backtest_into(base, out / "default")
        tuned_m = _backtest_into(tuned, out / "tuned")
    return {
        "task": default_m["task"],
        "horizon": default_m["horizon"],
        "models": {
            **{k: v for k, v in default_m["models"].items() if k != result.model},
            f"{result.model} (default)": default_m["models"].get(result.model, {}),
            f"{result.model} (tuned)": tuned_m["models"].get(result.model, {}),
        },
    }


def _summary(result: TuneResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "model": result.model,
        "best_value": result.best_value,
        "score": result.score,
        "best_params": result.best_params,
        "trials": result.n_trials,
        "pruned": result.n_pruned,
        "best_config": result.best_config.name,
    }
    if result.overfitting is not None:
        data["overfitting"] = result.overfitting
        data["verdict"] = result.overfitting["verdict"]
    if result.comparison is not None:
        data["comparison"] = {
            name: {k: v for k, v in m.items() if not isinstance(v, dict | list)}
            for name, m in result.comparison["models"].items()
        }
    return data
