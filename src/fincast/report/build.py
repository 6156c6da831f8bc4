"""Rebuild a run's metrics, plots and report from its directory, without retraining.

``fincast report RUN_DIR`` reads the predictions table (``predictions.parquet``, or the
``predictions.csv`` of a run made before it existed) and ``config.yaml`` (and, when present,
``metrics.json`` for the fold dates, failures and warnings, ``history.json`` and
``manifest.json``), then rewrites ``metrics.json``, ``plots/`` and ``report.html`` exactly as
the backtest wrote them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._gc import young_collections
from .._memory import release_freed_memory
from ..config import RunConfig
from ..errors import RunError
from ..metrics.evaluation import evaluate
from ..predictions import CSV, PARQUET, read_predictions, table_path
from ..rundir import atomic_write_text, read_manifest
from .html import write_report
from .plots import write_plots

__all__ = ["RUN_FIELDS", "ReportResult", "publish", "rebuild_report", "report_title"]

#: Keys of ``metrics.json`` that describe the run rather than score it (kept on rebuild).
RUN_FIELDS = ("failures", "warnings", "folds", "shrinkage")
#: Run fields kept only when the run recorded them (a run made before ``data_health``
#: existed has none, which the report tells apart from "no findings").
OPTIONAL_RUN_FIELDS = ("data_health",)


@dataclass
class ReportResult:
    """What :func:`rebuild_report` wrote."""

    run_dir: Path
    report: Path
    plots: list[Path]
    metrics: dict[str, Any]


def report_title(manifest: dict[str, Any] | None, run_dir: Path) -> str:
    """``fincast report · <dataset> · <run directory name>``."""
    name = ((manifest or {}).get("dataset") or {}).get("name")
    return " · ".join(["fincast report", *([str(name)] if name else []), Path(run_dir).name])


@young_collections()
def publish(
    run_dir: Path,
    predictions: pd.DataFrame,
    config: RunConfig,
    *,
    run_fields: dict[str, Any],
    history: dict[str, Any] | None,
    manifest: dict[str, Any] | None,
    bootstrap_reps: int | None = None,
) -> ReportResult:
    """Score ``predictions`` and write ``metrics.json``, ``plots/`` and ``report.html``.

    The one path from a predictions table to a run's outputs: the backtest and
    :func:`rebuild_report` both call it, so a rebuilt run matches the original.
    ``run_fields`` holds the :data:`RUN_FIELDS` (fold dates, failures, warnings) and
    :data:`OPTIONAL_RUN_FIELDS` (the data-health findings), which describe the run and
    cannot be derived from the table.
    """
    options: dict[str, Any] = {
        "cost_bps": config.cost_bps,
        "seed": config.seed,
        "portfolio": config.portfolio,
    }
    if bootstrap_reps is not None:
        options["bootstrap_reps"] = bootstrap_reps
    figures: dict[str, pd.DataFrame] = {}  # computed once by the metrics, drawn below
    from ..metrics.rivals import validation_losses

    options["validation"] = validation_losses(history)  # each fold's rival, chosen before it
    metrics = evaluate(predictions, config.task, figures=figures, **options)
    release_freed_memory()
    for key in RUN_FIELDS:
        metrics[key] = run_fields.get(key, [])
    for key in OPTIONAL_RUN_FIELDS:
        if key in run_fields:
            metrics[key] = run_fields[key]
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    plots = write_plots(
        predictions,
        config.task,
        run_dir / "plots",
        cost_bps=config.cost_bps,
        history=history,
        strategy=figures.get("strategy_returns"),
    )
    if "skipped" not in metrics["portfolio"]:
        from .plots import first_seed
        from .portfolio import plot_ic_decay, plot_portfolio

        if len(first_seed(predictions)) != len(predictions):
            figures = {}  # the figures draw the first seed; the metrics average the seeds
        plots.append(
            plot_portfolio(
                predictions,
                config.task,
                run_dir / "plots" / "portfolio.png",
                spec=config.portfolio,
                cost_bps=config.cost_bps,
                returns=figures.get("returns"),
            )
        )
        plots.append(
            plot_ic_decay(
                predictions,
                config.task,
                run_dir / "plots" / "ic_decay.png",
                decay=figures.get("ic_decay"),
            )
        )
    if "models" in metrics["intervals"]:
        from .intervals import plot_fan

        fan = plot_fan(predictions, metrics, run_dir / "plots" / "fan.png")
        plots.extend([fan] if fan is not None else [])
    report = write_report(
        run_dir / "report.html",
        metrics,
        plots,
        config_yaml=config.to_yaml(),
        manifest=manifest,
        title=report_title(manifest, run_dir),
    )
    return ReportResult(run_dir, report, plots, metrics)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} is not readable JSON ({exc}); rerun the backtest") from None


def rebuild_report(run_dir: str | Path, *, bootstrap_reps: int | None = None) -> ReportResult:
    """Recompute ``metrics.json``, the plots and ``report.html`` of a run directory.

    Parameters
    ----------
    run_dir
        A run directory written by ``fincast backtest``.
    bootstrap_reps
        Bootstrap replications of the significance tests (default: the library default).

    Returns
    -------
    ReportResult

    Raises
    ------
    RunError
        When the directory, its predictions table (``predictions.parquet`` or
        ``predictions.csv``) or its ``config.yaml`` is missing or unreadable.
    """
    from ..config import load_config

    run = Path(run_dir)
    if not run.is_dir():
        raise RunError(
            f"run directory {run} does not exist; pass a directory made by fincast backtest"
        )
    table = table_path(run)
    for name, present in ((f"{PARQUET} or {CSV}", table), ("config.yaml", run / "config.yaml")):
        if present is None or not present.is_file():
            raise RunError(
                f"{run} has no {name}: it is not a finished fincast run; finish it with "
                f"`fincast backtest --resume {run}`"
            )
    assert table is not None
    config = load_config(run / "config.yaml")
    try:
        predictions = read_predictions(table)
    except (OSError, ValueError, pd.errors.ParserError) as exc:  # ArrowInvalid is a ValueError
        raise RunError(f"{table} cannot be read ({exc})") from None
    old = _read_json(run / "metrics.json") if (run / "metrics.json").is_file() else {}
    history = _read_json(run / "history.json") if (run / "history.json").is_file() else None
    manifest = read_manifest(run)

    return publish(
        run,
        predictions,
        config,
        run_fields=old,
        history=history,
        manifest=manifest,
        bootstrap_reps=bootstrap_reps,
    )
