"""The ``fincast`` command line: parse arguments, call the public API, map errors.

The flags of ``backtest``, ``train`` and ``tune`` are generated from the option declarations
in ``config.py`` (:mod:`fincast.cli_options`). User errors
(:class:`~fincast.errors.FincastError`) print one line ``error: …`` on stderr and exit 2;
anything else is a bug in fincast and exits 1. ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import warnings
from contextlib import nullcontext, suppress
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from . import _backend  # noqa: F401  (selects the Keras backend first)
from .cli_options import INVOCATION, join_help, run_command
from .cli_output import (
    err_console,
    out_console,
    print_datasets,
    print_forecast,
    print_models,
    print_path,
    print_portfolio,
    print_summary,
    print_verdict,
)
from .cli_output import progress as _progress
from .cli_score import predict_ledger, register_score
from .cli_validate import register_validate
from .errors import ConfigError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Forecast financial time series with Keras and check, walk-forward, whether the "
    "forecast beats naive baselines out of sample.",
    pretty_exceptions_enable=False,
)
_RUN = ("config", "quiet", "debug")


@app.callback()
def _main(debug: Annotated[bool, INVOCATION["debug"][1]] = False) -> None:
    """``--debug`` is read by :func:`main`; every command accepts it too."""


def _config(config_file: Path | None, flags: dict[str, Any]) -> Any:
    from .config import build_config, load_config

    if config_file is not None:
        return load_config(config_file, flags)
    return build_config(flags, where="command line")


@run_command(app, invocation=("config", "resume", "csv", "quiet", "debug"))
def backtest(
    flags: dict[str, Any],
    config: Path | None,
    resume: Path | None,
    csv: bool,
    quiet: bool,
    debug: bool,
) -> None:
    """Walk-forward backtest of models against naive baselines; writes a run directory."""
    from .backtest import prepare, run_backtest
    from .metrics import metrics_table
    from .rundir import check_resume, resumable

    if resume is not None:
        config = config or resumable(resume)
        flags["out"] = str(resume)
    cfg = _config(config, flags)
    if resume is not None:
        check_resume(resume, cfg)  # before the data are read; run_backtest checks it too
    prep = prepare(cfg)
    out_console.print(f"target: {prep.dataset.target}", highlight=False, markup=False)
    for w in prep.warnings:
        err_console.print(f"warning: {w}", highlight=False, markup=False, soft_wrap=True)
    total = len(prep.model_names) * len(prep.folds)
    n_folds, n_warnings = len(prep.folds), len(prep.warnings)
    handed = [prep]  # run_backtest gets the only reference: it frees the design to publish
    del prep
    statuses: dict[str, int] = {}
    with _progress(quiet) as bar:
        job = bar.add_task("walk-forward", total=total)

        def step(model: str, fold: int, status: str) -> None:
            statuses[status] = statuses.get(status, 0) + 1
            bar.update(job, advance=1, description=f"{model} fold {fold + 1}/{n_folds}")

        result = run_backtest(
            cfg, prepared=handed.pop(), resume=resume is not None, progress=step, csv=csv
        )
    print_summary(result.metrics, metrics_table(result.metrics))
    print_verdict(result.metrics)
    print_portfolio(result.metrics)
    for f in result.failures:
        err_console.print(
            f"[red]failed:[/] {f['model']} fold {f['fold']}: {f['error']}",
            highlight=False,
            soft_wrap=True,
        )
    for w in result.warnings[n_warnings:]:  # what the run found (resume notes)
        err_console.print(f"note: {w}", highlight=False, markup=False, soft_wrap=True)
    if resume is not None:
        err_console.print(
            f"resumed {resume}: {statuses.get('resumed', 0)} of {total} (model, fold) pieces "
            "were already done; the rest were computed now",
            highlight=False,
            soft_wrap=True,
        )
    print_path("run directory", result.run_dir)
    print_path("report", result.run_dir / "report.html")


@run_command(app, invocation=(*_RUN, "trials", "timeout", "storage", "inner_folds", "no_backtest"))
def tune(
    flags: dict[str, Any],
    config: Path | None,
    quiet: bool,
    debug: bool,
    trials: int,
    timeout: float | None,
    storage: str | None,
    inner_folds: int,
    no_backtest: bool,
) -> None:
    """Tune a model with Optuna on validation folds inside the training period, then
    backtest the best configuration next to the untuned default on the test folds."""
    from .metrics import metrics_table
    from .tune import tune as run_tune

    out = flags.get("out")
    if config is None and out is not None and (Path(out) / "config.yaml").is_file():
        config = Path(out) / "config.yaml"  # rerunning a killed tuning run resumes it
    cfg = _config(config, flags)
    with _progress(quiet) as bar:
        job = bar.add_task("tuning", total=trials)

        def step(number: int, state: str, value: float | None, finished: int) -> None:
            shown = "–" if value is None else f"{value:.4g}"
            bar.update(job, completed=finished, description=f"trial {number} {state} {shown}")

        result = run_tune(
            cfg,
            trials=trials,
            timeout=timeout,
            storage=storage,
            inner=inner_folds,
            backtest=not no_backtest,
            on_trial=step,
        )
    for w in result.warnings:
        err_console.print(f"[yellow]note:[/] {w}", highlight=False)
    out_console.print(
        f"best of {result.n_trials} trials ({result.n_pruned} pruned): validation score "
        f"{result.best_value:.4g} ({result.score}) with {json.dumps(result.best_params)}",
        highlight=False,
    )
    if result.comparison is not None:
        print_summary(result.comparison, metrics_table(result.comparison))
    print_path("best config", result.best_config)
    print_path("run directory", result.run_dir)


@run_command(app, invocation=("config", "backtest_run", "quiet", "debug"))
def train(
    flags: dict[str, Any], config: Path | None, backtest_run: Path | None, quiet: bool, debug: bool
) -> None:
    """Fit one model on all the data and save it (model.keras + fincast.json) to --out."""
    from .data.health import DataHealthWarning
    from .persist import train as train_model

    out = flags.pop("out", None) or "model"  # a model directory, not the config's run directory
    cfg = _config(config, flags)
    if backtest_run is None and config is not None:  # a run's config.yaml: that run
        from .provenance import run_of_config

        backtest_run, note = run_of_config(config, cfg)
        if note:
            err_console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", DataHealthWarning)
        with nullcontext() if quiet else err_console.status("training on all the data…"):
            path = train_model(cfg, out, backtest=backtest_run)
    for w in seen:
        kind = "note" if w.category.__name__ == "DataNote" else "warning"
        if kind == "note" or issubclass(w.category, DataHealthWarning):
            err_console.print(f"{kind}: {w.message}", highlight=False, markup=False, soft_wrap=True)
    print_path("model saved", path)
    if backtest_run is not None:
        print_path("backtest recorded", backtest_run)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `fincast backtest`.")],
    quiet: Annotated[bool, INVOCATION["quiet"][1]] = False,
    debug: Annotated[bool, INVOCATION["debug"][1]] = False,
) -> None:
    """Rebuild metrics.json, the plots and report.html of a run, without retraining."""
    from .api import rebuild_report

    with err_console.status("rebuilding the report…") if not quiet else nullcontext():
        result = rebuild_report(run_dir)
    if quiet:
        return
    print_verdict(result.metrics)
    print_path("report", result.report)


#: The data options ``predict`` takes (the loader's and the calendar's).
_PREDICT_KEYS: tuple[str, ...] = ("data", "date_col", "id_col", "fillna", "sep", "decimal")
_PREDICT_KEYS += ("thousands", "wide", "values", "calendar")


@run_command(
    app,
    invocation=("model", "data_option", "forecast_out", "ledger", "quiet", "debug"),
    sections=("data",),
    keys=_PREDICT_KEYS,
    data_required=True,
)
def predict(
    flags: dict[str, Any],
    model: Path,
    data_option: str | None,
    forecast_out: Path | None,
    ledger: Path | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Forecast the next h steps of each series in new data with a saved model."""
    from .config import build_config
    from .persist import predict as predict_model

    data = flags.pop("data", None) or data_option
    if data is None:
        raise ConfigError("predict needs new data: pass DATA (or --data) as a CSV/Parquet path")
    checked = build_config({**flags, "data": data}, where="command line")  # the flags' errors
    if ledger is not None:  # the ledger's side of predict lives in cli_score
        return predict_ledger(model, data, forecast_out, ledger, quiet, checked, flags)
    table = predict_model(model, data, forecast_out, **{k: getattr(checked, k) for k in flags})
    if not quiet:
        print_forecast(table, f"forecast · {model}")
    if forecast_out is not None:
        print_path("forecast written", forecast_out)


register_validate(app)  # fincast validate DATA (cli_validate.py)
register_score(app)  # fincast score LEDGER DATA (cli_score.py)


@app.command()
def datasets() -> None:
    """List the built-in datasets (shipped inside installed packages; no download)."""
    print_datasets()


@app.command("models")
def list_models() -> None:
    """List the models and baselines."""
    print_models()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fincast`` console script; returns the exit code."""
    from .cli_errors import run_app

    return run_app(join_help(app), list(sys.argv[1:] if argv is None else argv))


def run() -> None:
    """Console-script wrapper that exits with :func:`main`'s code."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` without tearing the interpreter down.

    After a backtest, Python's finalisation of JAX, Keras, pandas, SciPy and matplotlib
    (freeing every module and object one by one) takes about 0.5 s and does nothing for the
    run: its outputs are written and closed (atomic writes). Standard output and error are
    flushed and the ``atexit`` handlers run (logging's flush, Ray's shutdown, a user's own)
    as on a normal exit; then :func:`os._exit`.
    """
    _flush()
    atexit._run_exitfuncs()
    _flush()  # what the handlers printed
    os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe (``| head``) or a closed stream
            stream.flush()
