"""Train once on all the data, save, and forecast on new data.

A model directory holds ``model.keras`` (the network, loaded with Keras
``safe_mode=True``) and ``fincast.json`` with everything inference needs: the task and
feature specs, the column names, the fitted scalers, the data frequency and the versions.
A baseline that declares ``saveable`` (``latent-har``) has no ``model.keras``: its fitted
state (:meth:`get_state`, plain numbers) is ``fincast.json``'s ``state``.
No pickle is ever read.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import RunConfig
from .data import Dataset, check_positive, load, screen
from .data.calendar import (
    business_days_after,
    calendar_for,
    calendar_notes,
    data_holidays,
    next_sessions,
)
from .data.covariates import check_coverage, load_covariates, saved_entries
from .data.frequency import frequency_family, infer_frequency
from .data.health import DataHealthWarning
from .design import Design, build_design
from .errors import ConfigError, DataError, ModelError
from .features import FeatureSpec
from .intervals import check_intervals, check_saved_tail, saved_bounds, saved_calibration
from .models import MODELS, make_model
from .models.base import Model, check_cs_normalize
from .models.custom import ensure_loadable, register_from_config
from .models.keras_base import KerasForecaster, load_keras_state, save_keras_state
from .models.registry import is_baseline, model_params
from .predictions import interval_columns
from .provenance import backtest_run
from .rundir import atomic_write_text, package_versions
from .tasks import TaskSpec

__all__ = [
    "Forecast",
    "fit_on_all",
    "forecast_with",
    "infer_frequency",
    "load_as_trained",
    "load_model",
    "predict",
    "predict_with",
    "train",
]

FORMAT_VERSION = 1


def _forecast_records(
    task: TaskSpec, out: np.ndarray, j: int, last_value: float
) -> list[dict[str, Any]]:
    """The forecast columns of horizon number ``j`` from one row of model output."""
    width = task.width
    chunk = np.asarray(out[j * width : (j + 1) * width], dtype="float64")
    return task.task.forecast_records(task, chunk, last_value)


def _per_series_frequency(ds: Dataset) -> str | None:
    longest = ds.frame.groupby("id").size().idxmax()
    return infer_frequency(ds.frame.loc[ds.frame["id"] == longest, "date"])


def _holidays(ds: Dataset) -> list[str]:
    """Daily data: the fixed-date holidays its longest series never trades on."""
    if frequency_family(_per_series_frequency(ds)) != "B":
        return []
    longest = ds.frame.groupby("id").size().idxmax()
    return data_holidays(ds.frame.loc[ds.frame["id"] == longest, "date"])


def train(
    config: RunConfig,
    out: str | Path,
    data: pd.DataFrame | None = None,
    *,
    backtest: str | os.PathLike[str] | None = None,
) -> Path:
    """Fit one Keras model on all the data and save it to ``out``.

    Parameters
    ----------
    config
        The run configuration; ``config.models`` must name exactly one Keras model (or
        one baseline whose fitted state can be saved: ``saveable``, e.g. ``latent-har``).
    out
        The model directory to create (must not exist or be empty).
    data
        A DataFrame to read instead of ``config.data`` (the Python API's).
    backtest
        The backtest run directory of this model (:func:`backtest_run` checks it before
        any work); recorded in ``fincast.json`` as ``backtest_run`` (absolute), where
        ``fincast score`` finds it.

    Returns
    -------
    Path
        The model directory.
    """
    register_from_config(config)  # builders by import path, plugins (fincast.models)
    calendar = calendar_for(config.calendar, config.data)  # an unknown code fails here
    keras_models = [
        m for m in config.models if m in MODELS and (not is_baseline(m) or MODELS[m].saveable)
    ]
    if len(config.models) != 1 or len(keras_models) != 1:
        saveable = [n for n, c in MODELS.items() if c.kind == "baseline" and c.saveable]
        raise ConfigError(
            f"train needs exactly one Keras model (or one of the baselines "
            f"{', '.join(saveable)}) in --models, got {list(config.models)}; "
            "pass e.g. --models seed-mlp"
        )
    name = keras_models[0]
    run = None if backtest is None else backtest_run(backtest, config, name)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out} exists and is not empty; choose another directory")
    covariate_entries = [
        {"fillna": config.fillna, **entry} for entry in saved_entries(config.covariates)
    ]
    task = TaskSpec.from_config(config)
    check_intervals(task, config.intervals)
    probe = make_model(name, task, model_params(config, name), seed=config.seed)
    check_cs_normalize({name: probe}, config.cs_normalize)  # before reading the data
    features = FeatureSpec(config.features, config.lookback)
    ds = load(config.data if data is None else data, **config.reader_options())
    reader = {"wide": ds.layout == "wide", "values": config.values}
    ds, notes = screen(ds, config)  # data health: --strict, --adjust-splits
    if config.calendar is not None:
        notes = [*notes, *calendar_notes(calendar, ds.frame["date"])]
    for note in notes:
        warnings.warn(note, DataHealthWarning, stacklevel=2)
    if task.uses_log(ds.target, ds.roles):
        check_positive(ds, ds.target, *task.positive_reason())
    series = ds.ids if config.series_embedding else None
    design = build_design(
        ds,
        task,
        features,
        windows=MODELS[name].sequence,
        series_ids=series,
        covariates=load_covariates(covariate_entries, ds.ids, config.fillna),
        cs_normalize=config.cs_normalize,
    ).for_fold()  # trend3 / events thresholds: fitted on all the training data
    if len(design) < max(10, config.batch_size):
        raise DataError(
            f"{ds.source}: only {len(design)} usable rows after the look-back and horizon; "
            "use more data or a shorter --lookback/--horizon"
        )
    params = model_params(config, name)
    model = make_model(name, task, params, seed=config.seed)
    before, cal_rows = _tail(model, design, task, config.val_fraction)
    if config.intervals:  # before any training
        check_saved_tail(int(cal_rows.sum()), config.intervals, ds.source)
    fit_on_all(model, design, task)
    intervals = None
    if config.intervals:  # split conformal on the training data's tail (fincast.intervals)
        fitted: Any = model
        if not _uses_validation(model):  # refit before the tail, as a backtest does
            fitted = make_model(name, task, params, seed=config.seed).fit(design.batch(before))
        intervals = saved_calibration(
            task, design, config.intervals, fitted=fitted, cal_mask=cal_rows, source=ds.source
        )
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        for p in tmp.iterdir():
            p.unlink()
    tmp.mkdir(parents=True, exist_ok=True)
    if isinstance(model, KerasForecaster):
        state = save_keras_state(model, tmp)
    else:
        state = model.get_state()
    used = sorted({ds.target, *ds.roles.values()} & set(ds.numeric_columns))
    info = {
        "format": FORMAT_VERSION,
        "model": name,
        "params": {k: v for k, v in model.get_params().items() if k != "seed"},
        "seed": config.seed,
        "task": task.to_dict(),
        "thresholds": design.labeler.thresholds() if design.labeler is not None else None,
        "series_embedding": series,
        "features": {"kind": features.kind, "lookback": features.lookback},
        "covariates": covariate_entries,
        "cs_normalize": config.cs_normalize,
        "feature_names": list(design.feature_names),
        "target": ds.target,
        "roles": ds.roles,
        "columns": used,
        "date_col": config.date_col,
        "id_col": config.id_col,
        "frequency": _per_series_frequency(ds),
        "calendar": calendar,
        "holidays": _holidays(ds),
        "reader": reader,
        "trained_on": {
            "source": ds.source,
            "sha256": ds.sha256,
            "series": ds.ids[:50],
            "rows": len(design),
            "start": str(pd.Timestamp(design.dates.min()).date()),
            "end": str(pd.Timestamp(design.dates.max()).date()),
        },
        "intervals": intervals,
        "backtest_run": None if run is None else str(run),
        "state": state,
        "versions": package_versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(tmp / "fincast.json", json.dumps(info, indent=2) + "\n")
    if out.exists():
        out.rmdir()
    tmp.rename(out)
    return out


def _uses_validation(model: Model) -> bool:
    return isinstance(model, KerasForecaster) and model.uses_validation


def _tail(
    model: Model, design: Design, task: TaskSpec, fraction: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """The rows before the last ``val_fraction`` of the dates (purged) and those dates' rows
    (a baseline, which has no ``val_fraction`` of its own: ``fraction``, the run's)."""
    dates = len(design.calendar)
    share = model.val_fraction if isinstance(model, KerasForecaster) else fraction
    val_start = dates - max(1, round(dates * float(share)))
    train_rows = design.date_pos < val_start - task.max_horizon
    if design.target_end_pos is not None:
        train_rows &= design.target_end_pos < val_start
    return train_rows, design.date_pos >= val_start


def fit_on_all(model: Model, design: Design, task: TaskSpec) -> Model:
    """Fit ``model`` on every row of ``design``, as ``fincast train`` does.

    A network that wants a validation slice (early stopping, shrinkage) gets the last
    ``val_fraction`` of the dates, after a purge gap of the horizon; the rest trains it.
    """
    if not _uses_validation(model):
        return model.fit(design.batch())
    train_rows, val_rows = _tail(model, design, task)
    return model.fit(design.batch(train_rows), design.chronological(val_rows))


def load_model(model_dir: str | Path) -> tuple[Model, dict[str, Any]]:
    """Load a model directory written by :func:`train`.

    Returns
    -------
    tuple
        The fitted forecaster and its ``fincast.json`` information.
    """
    d = Path(model_dir)
    meta = d / "fincast.json"
    saved_baseline = meta.is_file() and not (d / "model.keras").exists()
    if saved_baseline:  # a saveable baseline's directory: fincast.json alone
        try:
            name = json.loads(meta.read_text(encoding="utf-8")).get("model")
        except (ValueError, AttributeError):
            name = None
        saved_baseline = name in MODELS and is_baseline(name) and MODELS[name].saveable
    if not meta.is_file() or not ((d / "model.keras").is_file() or saved_baseline):
        raise ModelError(
            f"{d} is not a fincast model directory (needs fincast.json and model.keras); "
            "create one with `fincast train … --out DIR`"
        )
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelError(f"{meta} is not valid JSON ({exc}); retrain the model") from None
    if info.get("format") != FORMAT_VERSION:
        raise ModelError(f"{meta} has format {info.get('format')!r}, expected {FORMAT_VERSION}")
    task = TaskSpec.from_dict(info["task"])
    ensure_loadable(info["model"], info["params"])  # the user's own models
    model = make_model(info["model"], task, info["params"], seed=info.get("seed", 0))
    if not isinstance(model, KerasForecaster):
        try:
            model.set_state(info["state"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"{meta}: the saved state of {info['model']} is incomplete ({exc!r}); "
                "retrain the model"
            ) from None
        return model, info
    try:
        load_keras_state(model, d, info["state"])
    except Exception as exc:
        raise ModelError(
            f"{d / 'model.keras'} cannot be loaded ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
            "it is loaded with Keras safe_mode=True: custom layers must be registered "
            "serializable (@keras.saving.register_keras_serializable()) in a module imported "
            "before predicting"
        ) from None
    return model, info


def predict(
    model_dir: str | Path,
    data: str | os.PathLike[str] | pd.DataFrame,
    out: str | os.PathLike[str] | None = None,
    *,
    calendar: str | None = None,
    **reader: Any,
) -> pd.DataFrame:
    """Forecast the next h steps of every series of ``data`` with a saved model.

    Parameters
    ----------
    model_dir
        A directory written by :func:`train`.
    data
        New data with the same columns and frequency as the training data.
    out
        Optional CSV path for the forecast (written atomically).
    calendar
        Exchange calendar code the target dates fall on (default: the model's, saved by
        :func:`train`; ``none``: the data's business days).
    **reader
        Options of :func:`fincast.data.load` (``sep``, ``decimal``, ``thousands``,
        ``fillna``…); the date and id columns, the target, ``wide`` and ``values`` default
        to those the model was trained with.

    Returns
    -------
    pandas.DataFrame
        One row per (series, horizon): ``id``, ``origin`` (the last date of the series),
        ``target_date`` (the ``h``-th trading session after the origin under the calendar,
        else ``h`` steps of the data's frequency), ``horizon``, ``forecast`` (value in
        target units; the probability of "up" for ``direction``; the realised volatility
        for ``volatility``; the most likely class, with ``prob_down``, ``prob_flat``,
        ``prob_up``, for ``trend3``), plus ``last_value`` and, for ``return``, the implied
        ``forecast_level``; for a model trained with ``--intervals``, ``lo_<level>`` and
        ``hi_<level>`` (split-conformal bounds, in the units of the task's target: the
        log return for ``return``). For ``events`` one row per (series, horizon, event)
        with ``label`` and its probability as ``forecast``.
    """
    model, info = load_model(model_dir)
    return predict_with(model, info, data, out, calendar=calendar, **reader)


#: Rows before a series' last row that prediction reads (``har.HAR_LAGS``' longest).
CONTEXT_ROWS = 22


def _context_rows(ids: np.ndarray, last_rows: np.ndarray, depth: int) -> np.ndarray:
    """Sorted indices of each series' last ``depth`` rows (ending at its row in ``last_rows``)."""
    ids = np.asarray(ids)
    keep = np.zeros(len(ids), dtype=bool)
    for row in last_rows:
        start = max(0, row - depth + 1)
        span = np.arange(start, row + 1)
        keep[span[ids[span] == ids[row]]] = True
    return np.flatnonzero(keep)


def predict_with(
    model: Model,
    info: dict[str, Any],
    data: str | os.PathLike[str] | pd.DataFrame,
    out: str | os.PathLike[str] | None = None,
    *,
    calendar: str | None = None,
    **reader: Any,
) -> pd.DataFrame:
    """:func:`predict` with a model already loaded (or trained in memory) and its info."""
    forecast = forecast_with(model, info, data, calendar=calendar, **reader)
    if out is not None:
        atomic_write_text(
            Path(out), forecast.table.to_csv(index=False, float_format="%.10g", lineterminator="\n")
        )
    return forecast.table


@dataclass(frozen=True)
class Forecast:
    """What :func:`forecast_with` computed: the forecast table and what it came from.

    Attributes
    ----------
    table
        The :func:`predict` table.
    ids, origins
        Series id and origin date of each forecast row (one per series), (n,).
    outputs, naive
        The model's raw outputs (n, horizons * task width) and the naive forecasts
        (n, horizons) of those rows, as a backtest's predictions table is built from.
    dataset
        The data, as loaded.
    """

    table: pd.DataFrame
    ids: np.ndarray
    origins: np.ndarray
    outputs: np.ndarray
    naive: np.ndarray
    dataset: Dataset


def load_as_trained(
    data: str | os.PathLike[str] | pd.DataFrame, info: dict[str, Any], **reader: Any
) -> Dataset:
    """Read ``data`` as the model's training data was read (``info`` of ``fincast.json``).

    The reader options saved with the model (date and id columns, target, wide layout),
    overridden by ``reader``; the model's target and the OHLCV roles of its columns. The
    frame :func:`forecast_with` forecasts from, and the one ``fincast score`` checks a
    ledger's recorded ``rows_hash`` against: both read it here. Columns the model needs
    are not checked (each caller says what is missing in its own terms).
    """
    saved = info.get("reader") or {}
    options: dict[str, Any] = {
        "date_col": info.get("date_col"),
        "id_col": info.get("id_col"),
        "target": None if saved.get("wide") else info["target"],
        "wide": bool(saved.get("wide")),
        "values": saved.get("values", "prices"),
    }
    options.update({k: v for k, v in reader.items() if v is not None})
    ds = load(data, **options)
    roles = {r: c for r, c in info["roles"].items() if c in ds.frame.columns}
    return Dataset(ds.frame, ds.name, ds.source, info["target"], roles, ds.sha256)


def forecast_with(
    model: Model,
    info: dict[str, Any],
    data: str | os.PathLike[str] | pd.DataFrame,
    *,
    calendar: str | None = None,
    **reader: Any,
) -> Forecast:
    """:func:`predict_with`'s forecast with the raw model outputs it came from."""
    task = model.task
    how = info.get("cs_normalize", "none")
    if how != "none" and model.reads_returns():
        # saved before train refused the pair: its log-HAR input would read ranks as returns
        raise ModelError(
            f"the model ({info['model']}) was trained with --cs-normalize {how} and reads the "
            "return features as returns through its log-HAR or latent-har input, which --cs-normalize "
            "turns into cross-sectional "
            f"{'ranks' if how == 'rank' else 'z-scores'}: its forecasts would be wrong; "
            f"retrain it without --cs-normalize, or with models: {{{info['model']}: "
            "{har_input: false, latent_input: false}}"
        )
    ds = load_as_trained(data, info, **reader)
    missing = [c for c in info["columns"] if c not in ds.frame.columns]
    if missing:
        raise DataError(
            f"{ds.source}: column(s) {', '.join(f'`{c}`' for c in missing)} the model was "
            f"trained with are missing (it needs {', '.join(info['columns'])}); "
            "pass data with the same columns"
        )
    if task.uses_log(ds.target, ds.roles):
        check_positive(ds, ds.target, *task.positive_reason("the model's task"))
    freq = _per_series_frequency(ds)
    if frequency_family(freq) != frequency_family(info.get("frequency")):
        raise DataError(
            f"{ds.source}: the data's frequency is {freq or 'irregular'} but the model was "
            f"trained on {info.get('frequency') or 'irregular'} data; resample it to match"
        )
    features = FeatureSpec(info["features"]["kind"], info["features"]["lookback"])
    series = info.get("series_embedding")
    covariates = load_covariates(info.get("covariates"), ds.ids)
    design = build_design(
        ds,
        task,
        features,
        require_target=False,
        windows=model.sequence,
        series_ids=series,
        covariates=covariates,
        cs_normalize=info.get("cs_normalize", "none"),
    )
    if tuple(design.feature_names) != tuple(info["feature_names"]):
        raise DataError(
            f"{ds.source}: the features built from this data ({', '.join(design.feature_names)}) "
            f"differ from the model's ({', '.join(info['feature_names'])}); pass data with the "
            "same OHLCV columns"
        )
    last_rows = pd.Series(np.arange(len(design))).groupby(design.ids).max().to_numpy()
    frame_last = ds.frame.groupby("id")["date"].max()
    if len(last_rows) == 0:
        raise DataError(
            f"{ds.source}: no series has the {features.lookback + 1} rows the model's "
            "look-back needs; pass more history"
        )
    if covariates:  # a stale covariate would be reused silently by the as-of join
        check_coverage(covariates, ds.frame, frame_last)
    # the last rows with the rows before them that a model reads along its series (the
    # log-HAR input's monthly mean of a network reaches 22 steps back, beyond the window)
    context = _context_rows(design.ids, last_rows, max(CONTEXT_ROWS, model.context_depth()))
    out_values = model.predict(design.batch(context))[np.searchsorted(context, last_rows)]
    saved_intervals = info.get("intervals")
    offset = pd.tseries.frequencies.to_offset(info["frequency"]) if info.get("frequency") else None
    calendar = info.get("calendar") if calendar is None else calendar_for(calendar, None)
    holidays = info.get("holidays") or []  # inferred from the training data
    rows = []
    for i, row in enumerate(last_rows):
        sid = design.ids[row]
        origin = pd.Timestamp(design.dates[row])
        last_value = float(
            ds.frame.loc[(ds.frame["id"] == sid) & (ds.frame["date"] == origin), ds.target].iloc[0]
        )
        stale = origin < frame_last[sid]
        notes = []
        if stale:
            notes.append("latest rows incomplete; forecast from the last complete row")
        if series is not None and sid not in series:
            notes.append("series not seen in training: its identity input is all zeros")
        if calendar:
            sessions = next_sessions(calendar, origin, task.horizons)
        elif holidays and frequency_family(info.get("frequency")) == "B":
            sessions = business_days_after(origin, task.horizons, holidays)
        else:
            sessions = {}
        bounds = saved_bounds(task, out_values[i], saved_intervals) if saved_intervals else {}
        for j, h in enumerate(task.horizons):
            target = sessions.get(h)
            if target is None and offset is not None:
                target = origin + h * offset
            base: dict[str, Any] = {
                "id": sid,
                "origin": origin.date().isoformat()
                if origin == origin.normalize()
                else origin.isoformat(),
                "target_date": None if target is None else target.date().isoformat(),
                "horizon": h,
            }
            for rec in _forecast_records(task, out_values[i], j, last_value):
                for level, (lo, hi) in sorted(bounds.items()):
                    lo_name, hi_name = interval_columns(level)
                    rec[lo_name], rec[hi_name] = float(lo[j]), float(hi[j])
                if notes:
                    rec["note"] = "; ".join(notes)
                rows.append({**base, **rec})
    return Forecast(
        pd.DataFrame(rows),
        np.asarray(design.ids[last_rows], dtype=object),
        np.asarray(design.dates[last_rows]),
        np.asarray(out_values, dtype="float64"),
        np.asarray(design.naive[last_rows], dtype="float64"),
        ds,
    )
