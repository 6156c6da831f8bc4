"""The Python API: the same operations as the command line, as functions.

Every function takes the data as a path (CSV, Parquet, ``builtin:NAME``) or a pandas
DataFrame (long: a date column, optionally an id column; or wide with ``wide=True``: a
date column plus one column per series). The DataFrame is copied, never modified.
Results are held in memory (:class:`~fincast.results.Result`); a run directory is written
only when ``out`` says where (the default for files, as on the command line), and nothing
is written with ``out=None``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeAlias

import pandas as pd

from .config import RunConfig, build_config
from .errors import ConfigError
from .persist import load_model
from .report.build import ReportResult
from .report.build import rebuild_report as _rebuild_report
from .results import Figures, Result, TrainedModel

__all__ = ["backtest", "load_model", "predict", "rebuild_report", "train", "tune"]

#: What ``config.data`` says when the data came as a DataFrame.
FRAME_SOURCE: Final = "<DataFrame>"


class _Unset:
    def __repr__(self) -> str:
        return "<default>"


#: ``out`` not given: a run directory for files (as on the command line), none for frames.
DEFAULT: Final = _Unset()

Data: TypeAlias = str | os.PathLike[str] | pd.DataFrame | None


def _split_data(data: Data, where: str) -> tuple[pd.DataFrame | None, str | None]:
    """The DataFrame (or None) and the ``config.data`` text of ``data``."""
    if data is None:
        return None, None
    if isinstance(data, pd.DataFrame):
        return data, FRAME_SOURCE
    if isinstance(data, str | os.PathLike):
        return None, os.fspath(data)
    raise ConfigError(
        f"{where}: data must be a file path, builtin:NAME or a pandas DataFrame, got "
        f"{type(data).__name__}"
    )


def _models_option(options: dict[str, Any]) -> None:
    """``models={"mine": build}``: register builders passed as Python objects."""
    models = options.get("models")
    if not isinstance(models, Mapping) or all(
        v is None or isinstance(v, Mapping) for v in models.values()
    ):
        return
    from .models.custom import register_builders

    options["models"] = register_builders(models)


def _config(
    data: Data,
    config: RunConfig | None,
    options: dict[str, Any],
    where: str,
    out: Any = DEFAULT,
) -> tuple[RunConfig, pd.DataFrame | None, bool]:
    """The run configuration, the DataFrame (if any) and whether to write a directory."""
    frame, text = _split_data(data, where)
    values = config.model_dump() if config is not None else {}
    if text is not None:
        values["data"] = text
    _models_option(options)
    values.update(options)
    if out is not DEFAULT:
        values["out"] = None if out is None else os.fspath(out)
    cfg = build_config(values, where=where)
    if cfg.data == FRAME_SOURCE and frame is None:
        raise ConfigError(
            f"{where}: the configuration was made from a DataFrame; pass the DataFrame again"
        )
    write = cfg.out is not None or (out is DEFAULT and frame is None)
    return cfg, frame, write


def backtest(
    data: Data = None,
    *,
    out: str | os.PathLike[str] | _Unset | None = DEFAULT,
    config: RunConfig | None = None,
    csv: bool = False,
    **options: Any,
) -> Result:
    """Walk-forward backtest, as ``fincast backtest``.

    Parameters
    ----------
    data
        A CSV/Parquet path, ``builtin:NAME`` or a DataFrame (long, or wide with
        ``wide=True``).
    out
        The run directory to write. Default: ``runs/<timestamp>-<dataset>`` for a path,
        nothing for a DataFrame; ``None``: nothing is written.
    config
        A full configuration; ``options`` override its values.
    csv
        Write ``predictions.csv`` beside ``predictions.parquet`` whatever the run's size, as
        ``--csv`` (by default only for tables of at most 1,000,000 rows).
    **options
        Any :class:`~fincast.config.RunConfig` key, e.g. ``task="direction"``,
        ``models=["seed-mlp"]``, ``epochs=20``, ``folds=5``. ``models`` may map a name to
        your own Keras builder (see :class:`~fincast.KerasModel`).

    Returns
    -------
    Result
        ``predictions``, ``metrics``, ``verdict``, ``run_dir`` (None when nothing was
        written), ``plot()`` and ``report()``.

    Examples
    --------
    >>> import fincast
    >>> result = fincast.backtest("builtin:sp500", epochs=5, out="runs/doc")  # doctest: +SKIP
    >>> result.verdict  # doctest: +SKIP
    """
    from .backtest import prepare, run_backtest

    cfg, frame, write = _config(data, config, options, "backtest()", out)
    if write:
        done = run_backtest(cfg, prepared=prepare(cfg, frame), csv=csv)
        return _result(done, Path(done.run_dir), keep=True)
    with tempfile.TemporaryDirectory(prefix="fincast-") as tmp:
        run_dir = Path(tmp) / "run"
        cfg = cfg.model_copy(update={"out": str(run_dir)})
        done = run_backtest(cfg, prepared=prepare(cfg, frame), csv=csv)
        return _result(done, run_dir, keep=False)


def _result(done: Any, run_dir: Path, *, keep: bool) -> Result:
    """A :class:`Result` with the figures and the report read from ``run_dir``."""
    plots = run_dir / "plots"
    images = {p.stem: p.read_bytes() for p in sorted(plots.glob("*.png"))} if plots.is_dir() else {}
    report = run_dir / "report.html"
    return Result(
        predictions=done.predictions,
        metrics=done.metrics,
        run_dir=run_dir if keep else None,
        failures=list(done.failures),
        warnings=list(done.warnings),
        figures=Figures(images),
        report_html=report.read_text(encoding="utf-8") if report.is_file() else "",
    )


def train(
    data: Data = None,
    *,
    out: str | os.PathLike[str] | _Unset | None = DEFAULT,
    config: RunConfig | None = None,
    backtest: str | os.PathLike[str] | None = None,
    **options: Any,
) -> TrainedModel:
    """Fit one Keras model on all the data, as ``fincast train``.

    Parameters
    ----------
    data
        A CSV/Parquet path, ``builtin:NAME`` or a DataFrame.
    out
        The model directory to create; ``None`` (the default for a DataFrame): keep the
        model in memory only.
    config
        A full configuration; ``options`` override its values.
    backtest
        The run directory of this model's backtest (same model and task), recorded in
        ``fincast.json`` so that ``fincast score`` compares live figures with it.
    **options
        Any :class:`~fincast.config.RunConfig` key; ``models`` must name one Keras model.

    Returns
    -------
    TrainedModel
        Path-like when saved; ``model.predict(new_data)`` forecasts with it.

    Examples
    --------
    >>> import fincast
    >>> model = fincast.train("builtin:sp500", out="models/spx", epochs=20)  # doctest: +SKIP
    >>> fincast.predict(model, "new_prices.csv")  # doctest: +SKIP
    """
    from .persist import load_model as _load_model
    from .persist import train as _train

    cfg, frame, write = _config(data, config, options, "train()", out)
    if write:
        target = cfg.out or "model"
        path = _train(cfg, target, frame, backtest=backtest)
        return TrainedModel(Path(path), _read_info(path), None)
    with tempfile.TemporaryDirectory(prefix="fincast-") as tmp:
        path = _train(cfg, Path(tmp) / "model", frame, backtest=backtest)
        forecaster, info = _load_model(path)
    return TrainedModel(None, info, forecaster)


def _read_info(path: Path) -> dict[str, Any]:
    import json

    return dict(json.loads((path / "fincast.json").read_text(encoding="utf-8")))


def predict(
    model: TrainedModel | str | os.PathLike[str],
    data: str | os.PathLike[str] | pd.DataFrame,
    out: str | os.PathLike[str] | None = None,
    *,
    calendar: str | None = None,
    ledger: str | os.PathLike[str] | None = None,
    **reader: Any,
) -> pd.DataFrame:
    """Forecast the next steps of every series of ``data`` with a trained model.

    Parameters
    ----------
    model
        A :class:`~fincast.results.TrainedModel` or a model directory.
    data
        New data (path or DataFrame) with the training data's columns and frequency.
    out
        Optional CSV path for the forecast table.
    calendar
        Exchange calendar code of the target dates (default: the model's; ``none``: the
        data's business days).
    ledger
        A forecast ledger file (SQLite, created when missing) to append the forecast to
        (:mod:`fincast.ledger`); ``model`` must then be saved in a directory.
    **reader
        Options of :func:`fincast.load` (``sep``, ``fillna``, ``wide``…).

    Returns
    -------
    pandas.DataFrame
        One row per (series, horizon); see :func:`fincast.persist.predict`.
    """
    if ledger is not None:
        from .ledger import record_forecast

        return record_forecast(model, data, ledger, out, calendar=calendar, **reader)
    if isinstance(model, TrainedModel) and model.forecaster is not None:
        return model.predict(data, out, calendar=calendar, **reader)
    from .persist import predict as _predict

    return _predict(Path(model), data, out, calendar=calendar, **reader)


def tune(
    data: Data = None,
    *,
    out: str | os.PathLike[str] | None = None,
    config: RunConfig | None = None,
    trials: int = 20,
    timeout: float | None = None,
    inner: int = 3,
    backtest: bool = True,
    **options: Any,
) -> Any:
    """Tune a Keras model with Optuna, as ``fincast tune``.

    Parameters
    ----------
    data
        A CSV/Parquet path, ``builtin:NAME`` or a DataFrame (stored as Parquet in a temporary
        directory for the tuning workers; such a run cannot be resumed from the CLI).
    out
        The tuning run directory (default ``runs/<time>-tune-<dataset>``).
    config, **options
        As for :func:`backtest`.
    trials, timeout, inner, backtest
        As ``--trials``, ``--timeout``, ``--inner-folds`` and ``--no-backtest``.

    Returns
    -------
    fincast.tune.TuneResult
    """
    from .tune import tune as _tune

    frame, _ = _split_data(data, "tune()")
    tmp = tempfile.mkdtemp(prefix="fincast-") if frame is not None else None
    try:
        if frame is not None and tmp is not None:
            path = Path(tmp) / "data.parquet"
            frame.to_parquet(path)
            data = str(path)
        cfg, _, _ = _config(data, config, options, "tune()", out)
        return _tune(cfg, trials=trials, timeout=timeout, inner=inner, backtest=backtest)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def rebuild_report(run_dir: str | Path) -> ReportResult:
    """Recompute ``metrics.json``, the plots and ``report.html`` of a run, as ``fincast report``.

    Nothing is retrained: everything is computed from the run's predictions table
    (``predictions.parquet``, or the ``predictions.csv`` of a run made before it existed) and
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
