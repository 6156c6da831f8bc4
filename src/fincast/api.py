"""The Python API: the same operations as the command line, as functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .backtest import BacktestResult, run_backtest
from .config import RunConfig, build_config
from .persist import load_model, predict
from .persist import train as _train
from .report.build import ReportResult
from .report.build import rebuild_report as _rebuild_report

__all__ = ["backtest", "load_model", "predict", "rebuild_report", "train"]


def backtest(
    data: str | None = None, *, config: RunConfig | None = None, **options: Any
) -> BacktestResult:
    """Walk-forward backtest, as ``fincast backtest``.

    Parameters
    ----------
    data
        A CSV/Parquet path or ``builtin:NAME``.
    config
        A full configuration; ``options`` override its values.
    **options
        Any :class:`~fincast.config.RunConfig` key, e.g. ``task="direction"``,
        ``models=["seed-mlp"]``, ``epochs=20``, ``folds=5``, ``out="runs/demo"``.

    Returns
    -------
    BacktestResult
        The run directory, the predictions table, the metrics and any failures.

    Examples
    --------
    >>> import fincast
    >>> result = fincast.backtest("builtin:sp500", epochs=5, out="runs/doc")  # doctest: +SKIP
    >>> result.metrics["models"]["seed-mlp"]["skill_vs_naive"]  # doctest: +SKIP
    """
    values = config.model_dump() if config is not None else {}
    if data is not None:
        values["data"] = data
    values.update(options)
    return run_backtest(build_config(values, where="backtest()"))


def train(
    data: str | None = None, *, out: str, config: RunConfig | None = None, **options: Any
) -> Path:
    """Fit one Keras model on all the data and save it, as ``fincast train``.

    Parameters
    ----------
    data
        A CSV/Parquet path or ``builtin:NAME``.
    out
        The model directory to create.
    config
        A full configuration; ``options`` override its values.
    **options
        Any :class:`~fincast.config.RunConfig` key; ``models`` must name one Keras model.

    Returns
    -------
    Path
        The model directory; :func:`predict` forecasts new data with it.

    Examples
    --------
    >>> import fincast
    >>> path = fincast.train("builtin:sp500", out="models/spx", epochs=20)  # doctest: +SKIP
    >>> fincast.predict(path, "new_prices.csv")  # doctest: +SKIP
    """
    values = config.model_dump() if config is not None else {}
    if data is not None:
        values["data"] = data
    values.update(options)
    return _train(build_config(values, where="train()"), out)


def rebuild_report(run_dir: str | Path) -> ReportResult:
    """Recompute ``metrics.json``, the plots and ``report.html`` of a run, as ``fincast report``.

    Nothing is retrained: everything is computed from the run's ``predictions.csv`` and
    ``config.yaml``.

    Parameters
    ----------
    run_dir
        A run directory written by :func:`backtest`.

    Returns
    -------
    ReportResult
        The paths written and the metrics.

    Examples
    --------
    >>> import fincast
    >>> fincast.rebuild_report("runs/demo").report  # doctest: +SKIP
    PosixPath('runs/demo/report.html')
    """
    return _rebuild_report(run_dir)
