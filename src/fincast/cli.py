"""The ``fincast`` command line: parse arguments, call the public API, map errors.

User errors (:class:`~fincast.errors.FincastError`) print one line ``error: …`` on stderr
and exit 2; anything else is a bug in fincast and exits 1. ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import json
import math
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from . import _backend  # noqa: F401  (selects the Keras backend first)
from .errors import ConfigError, FincastError, RunError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Forecast financial time series with Keras and check, walk-forward, whether the "
    "forecast beats naive baselines out of sample.",
    pretty_exceptions_enable=False,
)
out_console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


# -- shared option types ----------------------------------------------------------------
DataArg = Annotated[
    str | None,
    typer.Argument(help="CSV or Parquet file, or builtin:NAME (see `fincast datasets`)."),
]
DateCol = Annotated[str | None, typer.Option("--date-col", help="Name of the date column.")]
IdCol = Annotated[
    str | None, typer.Option("--id-col", help="Name of the series id column (panels).")
]
Target = Annotated[
    str | None,
    typer.Option(
        help="Column to forecast (default: adjusted close, else close, else the only "
        "numeric column)."
    ),
]
FillNa = Annotated[
    str | None,
    typer.Option(
        "--fillna", help="Missing values in needed columns: error (default), ffill, drop."
    ),
]

Executor = Annotated[
    str | None,
    typer.Option(
        help="Where (model, fold) units run: local (default) or ray; results are identical."
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(help="Local processes (default 1: this process) or CPUs of a local Ray cluster."),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Join this Ray cluster (e.g. auto or ray://head:10001) instead of starting one.",
    ),
]

ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="YAML config file; flags override it.")
]
TaskOpt = Annotated[
    str | None,
    typer.Option(help="return (default), level, direction, trend3, events or volatility."),
]
FlatBand = Annotated[
    float | None,
    typer.Option(
        "--flat-band",
        help="trend3: flat band in training standard deviations (default 0.25).",
    ),
]
VolEstimator = Annotated[
    str | None,
    typer.Option("--vol-estimator", help="volatility: close (default) or parkinson."),
]
Transform = Annotated[
    str | None,
    typer.Option(
        help="level: steps of the target as log changes or plain differences: auto (logs of "
        "a price column, differences of any other), log or diff."
    ),
]
Events = Annotated[
    str | None,
    typer.Option(
        help="events: NAME:RULE=VALUE,… e.g. up1:above=0.01,big:abs_above_std=2 "
        "(rules: above, below, abs_above, above_std, below_std, abs_above_std; default "
        "up 1%, down 1%, "
        "|move| > 2 sd)."
    ),
]
SeriesEmbedding = Annotated[
    bool | None,
    typer.Option(
        "--series-embedding/--no-series-embedding",
        help="Panels: give the model the series identity as an input (default off).",
    ),
]


def _yaml_mapping(flag: str, text: str | None) -> dict[str, Any] | None:
    """A flag's YAML (or JSON) mapping, e.g. ``--search-space '{units: [16, 32]}'``."""
    if text is None:
        return None
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{flag} is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(value, dict):
        raise ConfigError(
            f"{flag} must be a mapping like '{{lr: {{low: 1.0e-4, high: 1.0e-2}}}}', got {text!r}"
        )
    return value


def _overrides(**flags: Any) -> dict[str, Any]:
    return {k: v for k, v in flags.items() if v is not None}


def _config(config_file: Path | None, flags: dict[str, Any]) -> Any:
    from .config import build_config, load_config

    if config_file is not None:
        return load_config(config_file, flags)
    return build_config(flags, where="command line")


@app.command()
def backtest(
    data: DataArg = None,
    config: ConfigFile = None,
    date_col: DateCol = None,
    id_col: IdCol = None,
    target: Target = None,
    fillna: FillNa = None,
    task: TaskOpt = None,
    flat_band: FlatBand = None,
    vol_estimator: VolEstimator = None,
    transform: Transform = None,
    events: Events = None,
    series_embedding: SeriesEmbedding = None,
    horizon: Annotated[
        str | None, typer.Option(help="Steps ahead to forecast, e.g. 1 (default) or 1,5,20.")
    ] = None,
    lookback: Annotated[
        int | None, typer.Option(help="Past steps the features look at (default 20).")
    ] = None,
    features: Annotated[
        str | None, typer.Option(help="Feature set: default (stationary) or raw.")
    ] = None,
    models: Annotated[
        str | None,
        typer.Option(help="Comma-separated models (default mlp); see `fincast models`."),
    ] = None,
    baselines: Annotated[
        str | None,
        typer.Option(help="Comma-separated baselines (default: the task's set; naive always)."),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs (default 100).")] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Minibatch size (default 32).")
    ] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default 0.001).")] = None,
    optimizer: Annotated[
        str | None, typer.Option(help="adam (default), sgd, momentum, rmsprop or gd.")
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(
            help="mse, mae, huber, qlike (volatility), binary_crossentropy or categorical_crossentropy "
            "(default by task)."
        ),
    ] = None,
    dropout: Annotated[
        float | None, typer.Option(help="Dropout rate after hidden layers (default 0).")
    ] = None,
    l1: Annotated[float | None, typer.Option(help="L1 kernel penalty (default 0).")] = None,
    l2: Annotated[float | None, typer.Option(help="L2 kernel penalty (default 0).")] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            help="Early stopping: epochs without a better validation loss (default 10 for "
            "networks, off for seed-mlp; 0 turns it off)."
        ),
    ] = None,
    val_fraction: Annotated[
        float | None,
        typer.Option(
            "--val-fraction",
            help="Share of each training fold held out for early stopping (default 0.1).",
        ),
    ] = None,
    shrink: Annotated[
        bool | None,
        typer.Option(
            "--shrink/--no-shrink",
            help="Shrink networks' forecasts toward naive, weight fitted on the validation "
            "slice (default on).",
        ),
    ] = None,
    folds: Annotated[int | None, typer.Option(help="Walk-forward test blocks (default 5).")] = None,
    window: Annotated[
        str | None, typer.Option(help="Training window: expanding (default) or rolling.")
    ] = None,
    train_size: Annotated[
        int | None, typer.Option("--train-size", help="Dates per rolling training window.")
    ] = None,
    test_size: Annotated[
        int | None,
        typer.Option("--test-size", help="Dates per test block (default: dates / (folds + 1))."),
    ] = None,
    gap: Annotated[
        int | None, typer.Option(help="Dates between training and test (default: the horizon).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 0).")] = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            help="Train each Keras model with N seeds: metrics as mean ± sd, plus a "
            "NAME-ensemble of the seed-averaged forecast (default 1)."
        ),
    ] = None,
    cost_bps: Annotated[
        float | None,
        typer.Option(
            "--cost-bps",
            help="Transaction cost per side of the trading rule, in basis points (default 5).",
        ),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(help="Run directory (default runs/<timestamp>-<dataset>)."),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="Finish an interrupted run in this directory (computes only what is missing)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    executor: Executor = None,
    workers: Workers = None,
    ray_address: RayAddress = None,
) -> None:
    """Walk-forward backtest of models against naive baselines; writes a run directory."""
    from .backtest import prepare, run_backtest
    from .metrics import metrics_table

    if window is not None and window not in ("expanding", "rolling"):
        raise ConfigError(f"--window must be expanding or rolling, got {window!r}")
    flags = _overrides(
        data=data,
        date_col=date_col,
        id_col=id_col,
        target=target,
        fillna=fillna,
        task=task,
        flat_band=flat_band,
        vol_estimator=vol_estimator,
        transform=transform,
        events=events,
        series_embedding=series_embedding,
        horizon=horizon,
        lookback=lookback,
        features=features,
        models=models,
        baselines=baselines,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        loss=loss,
        dropout=dropout,
        l1=l1,
        l2=l2,
        patience=patience,
        val_fraction=val_fraction,
        shrink=shrink,
        folds=folds,
        window=window,
        train_size=train_size,
        test_size=test_size,
        gap=gap,
        seed=seed,
        seeds=seeds,
        cost_bps=cost_bps,
        out=out,
        executor=executor,
        workers=workers,
        ray_address=ray_address,
    )
    if resume is not None:
        if not resume.is_dir():
            raise RunError(f"cannot resume {resume}: no such run directory; check the path")
        if not (resume / "config.yaml").is_file():
            raise RunError(
                f"cannot resume {resume}: it has no config.yaml, so it is not a fincast run "
                "directory (or the run stopped before it started); start a new run instead"
            )
        if config is None:
            config = resume / "config.yaml"
        flags["out"] = str(resume)
    cfg = _config(config, flags)
    if resume is not None:
        _check_resume_matches(resume, cfg)
    prep = prepare(cfg)
    for w in prep.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    total = len(prep.model_names) * len(prep.folds)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    ) as bar:
        job = bar.add_task("walk-forward", total=total)

        statuses: dict[str, int] = {}

        def step(model: str, fold: int, status: str) -> None:
            statuses[status] = statuses.get(status, 0) + 1
            bar.update(job, advance=1, description=f"{model} fold {fold + 1}/{len(prep.folds)}")

        result = run_backtest(cfg, prepared=prep, resume=resume is not None, progress=step)
    _print_summary(result.metrics, metrics_table(result.metrics))
    _print_verdict(result.metrics)
    for f in result.failures:
        err_console.print(
            f"[red]failed:[/] {f['model']} fold {f['fold']}: {f['error']}",
            highlight=False,
            soft_wrap=True,
        )
    if resume is not None:
        err_console.print(
            f"resumed {resume}: {statuses.get('resumed', 0)} of {total} (model, fold) pieces "
            "were already done; the rest were computed now",
            highlight=False,
            soft_wrap=True,
        )
    out_console.print(f"run directory: [bold]{result.run_dir}[/]", highlight=False)
    out_console.print(f"report: [bold]{result.run_dir / 'report.html'}[/]", highlight=False)


@app.command()
def tune(
    data: DataArg = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML config file (with an optional search_space)."),
    ] = None,
    date_col: DateCol = None,
    id_col: IdCol = None,
    target: Target = None,
    fillna: FillNa = None,
    task: Annotated[str | None, typer.Option(help="return (default), level or direction.")] = None,
    horizon: Annotated[str | None, typer.Option(help="Steps ahead, e.g. 1 or 1,5,20.")] = None,
    lookback: Annotated[int | None, typer.Option(help="Past steps the features look at.")] = None,
    features: Annotated[str | None, typer.Option(help="Feature set: default or raw.")] = None,
    models: Annotated[
        str | None,
        typer.Option(help="The Keras model to tune (default: the config's first, mlp)."),
    ] = None,
    folds: Annotated[
        int | None, typer.Option(help="Outer walk-forward test blocks (default 5).")
    ] = None,
    window: Annotated[str | None, typer.Option(help="expanding (default) or rolling.")] = None,
    train_size: Annotated[
        int | None, typer.Option("--train-size", help="Dates per rolling training window.")
    ] = None,
    gap: Annotated[int | None, typer.Option(help="Dates between training and test.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 0).")] = None,
    out: Annotated[
        str | None, typer.Option(help="Run directory (default runs/<timestamp>-tune-<dataset>).")
    ] = None,
    trials: Annotated[
        int, typer.Option(help="Finished trials the study should reach (a rerun resumes).")
    ] = 20,
    timeout: Annotated[
        float | None, typer.Option(help="Stop starting trials after this many seconds.")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(help="Optuna storage URL (default sqlite:///<run dir>/study.db)."),
    ] = None,
    inner_folds: Annotated[
        int,
        typer.Option(
            "--inner-folds", help="Validation folds carved from the training period (default 3)."
        ),
    ] = 3,
    search_space: Annotated[
        str | None,
        typer.Option(
            "--search-space",
            help="Search space as a YAML/JSON mapping, e.g. '{lr: {low: 1e-4, high: 1e-2, "
            "log: true}, units: [16, 32]}'; overrides the config's search_space.",
        ),
    ] = None,
    no_backtest: Annotated[
        bool,
        typer.Option(
            "--no-backtest", help="Skip the final backtest of the default and tuned model."
        ),
    ] = False,
    executor: Executor = None,
    workers: Workers = None,
    ray_address: RayAddress = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Tune a model with Optuna on validation folds inside the training period, then
    backtest the best configuration next to the untuned default on the test folds."""
    from .metrics import metrics_table
    from .tune import tune as run_tune

    flags = _overrides(
        data=data,
        date_col=date_col,
        id_col=id_col,
        target=target,
        fillna=fillna,
        task=task,
        horizon=horizon,
        lookback=lookback,
        features=features,
        models=models,
        folds=folds,
        window=window,
        train_size=train_size,
        gap=gap,
        seed=seed,
        out=out,
        executor=executor,
        workers=workers,
        ray_address=ray_address,
        search_space=_yaml_mapping("--search-space", search_space),
    )
    if config is None and out is not None and (Path(out) / "config.yaml").is_file():
        config = Path(out) / "config.yaml"  # rerunning a killed tuning run resumes it
    cfg = _config(config, flags)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    ) as bar:
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
        f"{result.best_value:.4g} with {json.dumps(result.best_params)}",
        highlight=False,
    )
    if result.comparison is not None:
        _print_summary(result.comparison, metrics_table(result.comparison))
    out_console.print(f"best config: [bold]{result.best_config}[/]", highlight=False)
    out_console.print(f"run directory: [bold]{result.run_dir}[/]", highlight=False)


def _check_resume_matches(resume: Path, cfg: Any) -> None:
    """Refuse to finish a run with settings other than those it was started with."""
    from .config import load_config
    from .rundir import _refuse_if_locked

    _refuse_if_locked(resume)  # a run still going is the first thing to say
    stored = load_config(resume / "config.yaml").model_dump()
    now = cfg.model_dump()
    # where units run never changes the results: a run may be finished on another executor
    free = {"out", "executor", "workers", "ray_address"}
    changed = [k for k in now if k not in free and now[k] != stored.get(k)]
    if changed:
        shown = ", ".join(f"{k} {stored.get(k)!r} -> {now[k]!r}" for k in changed[:3])
        raise RunError(
            f"cannot resume {resume} with different settings ({shown}); drop those flags to "
            "finish the run as it was started, or start a new run with another --out"
        )


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else "–"
    return str(value)


def _print_summary(metrics: dict[str, Any], table_df: Any) -> None:
    table = Table(
        title=f"walk-forward results · task {metrics['task']} · horizon {metrics['horizon']}"
    )
    for col in table_df.columns:
        header = "skill > 0" if col == "beats_naive" else str(col)
        table.add_column(header, justify="left" if col == "model" else "right", no_wrap=True)
    for _, row in table_df.iterrows():
        std = (metrics["models"].get(row["model"], {}).get("seeds") or {}).get("std", {})
        cells = []
        for col, value in row.items():
            text = _fmt(value)
            spread = std.get(col)
            if isinstance(spread, float) and spread > 0 and text != "–" and col != "n_predictions":
                text += f" ± {spread:.2g}"
            cells.append(text)
        table.add_row(*cells)
    _wide().print(table)


def _print_verdict(metrics: dict[str, Any]) -> None:
    """The verdict of ``metrics.json`` as a rich table: which models beat naive, how surely."""
    verdict = metrics.get("verdict") or {}
    rows = verdict.get("models", [])
    alpha = float(verdict.get("alpha", 0.05))
    table = Table(title=f"verdict · {verdict.get('summary', '')}", title_justify="left")
    for col in (
        "model",
        f"beats naive at {alpha:.0%}",
        "reading",
        "skill vs naive",
        f"{1 - alpha:.0%} interval",
        "DM p",
        "Sharpe (net)",
        "buy&hold Sharpe",
        "IC",
    ):
        table.add_column(col, justify="left" if col in ("model", "reading") else "right")
    for r in rows:
        yes = r.get("beats_naive") == "yes"
        interval = "–"
        if r.get("ci_low") is not None and r.get("ci_high") is not None:
            interval = f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
        p = r.get("dm_p_value")
        seeds = r.get("seeds", 1)
        table.add_row(
            str(r["model"]) + (f" ({seeds} seeds)" if seeds > 1 else ""),
            "[green]yes[/]" if yes else "[yellow]no[/]",
            str(r.get("status", "")),
            _fmt(r.get("skill_vs_naive")),
            interval,
            "<0.001" if p is not None and p < 0.001 else _fmt(p),
            _fmt(r.get("sharpe")),
            _fmt(r.get("buy_and_hold_sharpe")),
            _fmt(r.get("ic")),
        )
    _wide().print(table)


def _wide() -> Console:
    """The output console; piped output is not squeezed to 80 columns."""
    return out_console if out_console.is_terminal else Console(width=200)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `fincast backtest`.")],
) -> None:
    """Rebuild metrics.json, the plots and report.html of a run, without retraining."""
    from .api import rebuild_report

    with err_console.status("rebuilding the report…"):
        result = rebuild_report(run_dir)
    _print_verdict(result.metrics)
    out_console.print(f"report: [bold]{result.report}[/]", highlight=False)


@app.command()
def train(
    data: DataArg = None,
    out: Annotated[str, typer.Option(help="Model directory to create.")] = "model",
    config: ConfigFile = None,
    date_col: DateCol = None,
    id_col: IdCol = None,
    target: Target = None,
    fillna: FillNa = None,
    task: TaskOpt = None,
    flat_band: FlatBand = None,
    vol_estimator: VolEstimator = None,
    transform: Transform = None,
    events: Events = None,
    series_embedding: SeriesEmbedding = None,
    horizon: Annotated[str | None, typer.Option(help="Steps ahead, e.g. 1 or 1,5,20.")] = None,
    lookback: Annotated[int | None, typer.Option(help="Past steps the features look at.")] = None,
    features: Annotated[str | None, typer.Option(help="Feature set: default or raw.")] = None,
    models: Annotated[
        str | None, typer.Option(help="The one Keras model to train (default mlp).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs (default 100).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Minibatch size.")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    optimizer: Annotated[
        str | None, typer.Option(help="adam, sgd, momentum, rmsprop or gd.")
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(
            help="mse, mae, huber, qlike, binary_crossentropy or categorical_crossentropy."
        ),
    ] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout rate.")] = None,
    l1: Annotated[float | None, typer.Option(help="L1 kernel penalty.")] = None,
    l2: Annotated[float | None, typer.Option(help="L2 kernel penalty.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 0).")] = None,
) -> None:
    """Fit one model on all the data and save it (model.keras + fincast.json) to --out."""
    from .persist import train as train_model

    flags = _overrides(
        data=data,
        date_col=date_col,
        id_col=id_col,
        target=target,
        fillna=fillna,
        task=task,
        flat_band=flat_band,
        vol_estimator=vol_estimator,
        transform=transform,
        events=events,
        series_embedding=series_embedding,
        horizon=horizon,
        lookback=lookback,
        features=features,
        models=models,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        loss=loss,
        dropout=dropout,
        l1=l1,
        l2=l2,
        seed=seed,
    )
    cfg = _config(config, flags)
    with err_console.status("training on all the data…"):
        path = train_model(cfg, out)
    out_console.print(f"model saved: [bold]{path}[/]", highlight=False)


@app.command()
def predict(
    model: Annotated[
        Path, typer.Option("--model", help="Model directory written by `fincast train`.")
    ],
    data: Annotated[
        str, typer.Option("--data", help="New data: CSV/Parquet path or builtin:NAME.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Write the forecast to this CSV file too.")
    ] = None,
) -> None:
    """Forecast the next h steps of each series in new data with a saved model."""
    from .persist import predict as predict_model

    table = predict_model(model, data, out)
    view = Table(title=f"forecast · {model}")
    for col in table.columns:
        view.add_column(str(col), justify="left" if col in ("id", "note") else "right")
    for _, row in table.iterrows():
        view.add_row(*(_fmt(v) for v in row.tolist()))
    _wide().print(view)
    if out is not None:
        out_console.print(f"forecast written: [bold]{out}[/]", highlight=False)


@app.command()
def validate(
    data: DataArg = None,
    date_col: DateCol = None,
    id_col: IdCol = None,
    target: Target = None,
    fillna: FillNa = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Check a data file and print a summary (series, rows, dates, frequency, gaps, columns)."""
    from .data import load, summarize

    if data is None:
        raise ConfigError("validate needs a DATA argument: a CSV/Parquet path or builtin:NAME")
    if fillna is not None and fillna not in ("error", "ffill", "drop"):
        raise ConfigError(f"--fillna must be error, ffill or drop, got {fillna!r}")
    ds = load(data, date_col=date_col, id_col=id_col, target=target, fillna=fillna or "error")  # type: ignore[arg-type]
    summary = summarize(ds)
    if as_json:
        out_console.print_json(json.dumps(summary, default=str))
        return
    table = Table(title=f"{summary.get('source', data)} · valid", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in summary.items():
        if key == "columns":
            value = ", ".join(
                f"{c['name']} ({c['dtype']}, {c['n_missing']} missing)" for c in value
            )
        elif isinstance(value, dict | list):
            value = json.dumps(value, default=str)
        table.add_row(key, str(value))
    out_console.print(table)


@app.command()
def datasets() -> None:
    """List the built-in datasets (shipped inside installed packages; no download)."""
    from .data import BUILTINS

    table = Table(title="built-in datasets (use as builtin:NAME)")
    table.add_column("name", style="bold")
    table.add_column("description")
    for name, text in BUILTINS.items():
        table.add_row(name, text)
    out_console.print(table)


@app.command("models")
def list_models() -> None:
    """List the models and baselines."""
    from .models import MODELS

    table = Table(title="models (use with --models / --baselines)")
    table.add_column("name", style="bold")
    table.add_column("kind")
    table.add_column("tasks")
    table.add_column("description")
    for name, info in MODELS.items():
        tasks = ", ".join(info.tasks) if info.tasks is not None else "all"
        table.add_row(name, "baseline" if info.baseline else "keras", tasks, info.description)
    out_console.print(table)


def _click_classes(name: str) -> tuple[type[BaseException], ...]:
    """``click.exceptions.NAME`` from the copy of click typer vendors (typer >= 0.2x) and
    from click itself, whichever are installed."""
    import importlib

    found: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "typer.exceptions", "click.exceptions"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    if not found:  # pragma: no cover - typer always brings one of them
        raise RuntimeError("neither typer's vendored click nor click is importable")
    return tuple(found)


def _one_line(text: str) -> str:
    """``text`` on one line (messages from libraries may span several)."""
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fincast`` console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    aborts: tuple[type[BaseException], ...] = (
        typer.Abort,
        KeyboardInterrupt,
        *_click_classes("Abort"),
    )
    try:
        app(args=args, standalone_mode=False)
    except FincastError as exc:
        if debug:
            traceback.print_exc()
        err_console.print(
            f"error: {_one_line(str(exc))}", highlight=False, markup=False, soft_wrap=True
        )
        return exc.exit_code
    except aborts:
        err_console.print("error: interrupted", highlight=False, markup=False)
        return 130
    except (
        OSError
    ) as exc:  # the environment, not fincast: disk full, no permission, a file in the way
        if debug:
            traceback.print_exc()
        what = f" {exc.filename}" if exc.filename else ""
        err_console.print(
            f"error: cannot write or read{what}: {_one_line(exc.strerror or str(exc))}; check "
            "the path, its permissions and the free disk space",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return 2
    except _click_classes("Exit") as exc:
        return int(getattr(exc, "exit_code", 0))
    except _click_classes("ClickException") as exc:
        # bad flags: unknown option, a value of the wrong type, a missing argument
        message = exc.format_message()  # type: ignore[attr-defined]
        if not message.strip():  # no arguments: click has printed the help
            return int(getattr(exc, "exit_code", 2))
        ctx = getattr(exc, "ctx", None)
        where = f"`{ctx.command_path} --help`" if ctx is not None else "`fincast --help`"
        err_console.print(
            f"error: {_one_line(message)} (see {where})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return int(getattr(exc, "exit_code", 2)) or 2
    except Exception as exc:
        traceback.print_exc() if debug else None
        err_console.print(
            f"internal error: {type(exc).__name__}: {_one_line(str(exc))} (a bug in fincast; "
            "rerun with --debug for the traceback and report it)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return 1
    return 0


def run() -> None:
    """Console-script wrapper that exits with :func:`main`'s code."""
    sys.exit(main())
