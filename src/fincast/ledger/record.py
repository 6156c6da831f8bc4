"""Record live forecasts: ``predict(..., ledger=PATH)`` and ``fincast predict --ledger``."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..tasks import Task, TaskSpec
from .store import LedgerRow, append_forecasts

__all__ = [
    "check_recordable",
    "hashed_columns",
    "ledger_series",
    "model_hash",
    "named_by_file",
    "predict_to_ledger",
    "rows_hash",
    "rows_hashes",
]


def model_hash(model_dir: str | Path) -> str:
    """SHA-256 of a saved model directory's files (names and bytes, in sorted order)."""
    root = Path(model_dir)
    digest = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        digest.update(p.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(p.read_bytes()).digest())
    return digest.hexdigest()


def rows_hash(frame: pd.DataFrame, series: str, origin: pd.Timestamp, columns: list[str]) -> str:
    """SHA-256 of the rows of ``series`` dated <= ``origin`` (date and ``columns``)."""
    rows = frame.loc[(frame["id"] == series) & (frame["date"] <= origin), ["date", *columns]]
    text = rows.to_csv(index=False, float_format="%.17g", lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rows_hashes(
    frame: pd.DataFrame, series: str, origins: list[pd.Timestamp], columns: list[str]
) -> list[str]:
    """:func:`rows_hash` of ``series`` at each of ``origins``, the series written once.

    The SHA-256 of a prefix of the series' CSV lines is carried forward from one origin to
    the next, so a year of origins costs one CSV of the series, not one each. Dates with a
    time of day (written with it only when some row has one) and unsorted rows fall back
    to :func:`rows_hash` per origin.
    """
    part = frame.loc[frame["id"] == series, ["date", *columns]]
    dates = part["date"]
    if not dates.is_monotonic_increasing or not (dates == dates.dt.normalize()).all():
        return [rows_hash(frame, series, o, columns) for o in origins]
    text = part.to_csv(index=False, float_format="%.17g", lineterminator="\n")
    head, _, body = text.partition("\n")
    lines = body.split("\n")[: len(part)]
    ends = np.searchsorted(dates.to_numpy(), np.asarray(origins, dtype="datetime64[ns]"), "right")
    digest = hashlib.sha256((head + "\n").encode("utf-8"))
    done = 0
    out: dict[int, str] = {}
    for end in sorted(set(int(e) for e in ends)):
        digest.update("".join(line + "\n" for line in lines[done:end]).encode("utf-8"))
        done = end
        out[end] = digest.copy().hexdigest()
    return [out[int(e)] for e in ends]


def hashed_columns(info: dict[str, Any]) -> list[str]:
    """The columns a forecast's ``rows_hash`` covers (besides the date): the model's."""
    return list(info["columns"])


def check_recordable(task: TaskSpec) -> None:
    """Refuse tasks whose live scoring would need state fitted at training time.

    Labels fitted on the training data (``fitted_labels``) and a naive forecast fitted on
    training targets (a task overriding :meth:`~fincast.tasks.Task.fit_naive`) are not
    yet saved in a form ``fincast score`` can reuse.
    """
    kind = task.task
    if kind.fitted_labels or type(kind).fit_naive is not Task.fit_naive:
        raise ConfigError(
            f"--ledger does not support --task {task.kind} yet (its labels or naive forecast "
            "are fitted on the training data, which live scoring cannot reproduce); record "
            "forecasts of return, level, direction or volatility models"
        )


def _naive_outputs(task: TaskSpec, naive: np.ndarray) -> np.ndarray:
    """The naive baseline's model outputs for rows whose naive forecasts are ``naive``."""
    from ..models import make_model
    from ..models.base import Batch

    baseline = make_model("naive", task, {}, seed=0)
    batch = Batch(np.zeros((len(naive), 1), dtype="float32"), naive)
    return np.asarray(baseline.fit(batch).predict(batch), dtype="float64")


def named_by_file(frame: pd.DataFrame, name: str) -> bool:
    """True for one series whose id is the dataset's name (a file with no id column)."""
    ids = frame["id"].unique()
    return len(ids) == 1 and str(ids[0]) == str(name)


def ledger_series(ds: Any, info: dict[str, Any]) -> dict[str, str]:
    """The ledger's id of each series of ``ds``.

    A single series read from a file without an id column is named after the file, which
    changes from one day's file to the next; the ledger names it after the series the
    model was trained on (when that was one series too), so every day's forecasts of it
    share one id.
    """
    trained = list((info.get("trained_on") or {}).get("series") or [])
    if named_by_file(ds.frame, ds.name) and len(trained) == 1:
        return {str(ds.name): str(trained[0])}
    return {str(s): str(s) for s in ds.frame["id"].unique()}


def _date_text(value: Any) -> str:
    ts = pd.Timestamp(value)
    return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()


def predict_to_ledger(
    model_dir: str | os.PathLike[str],
    data: str | os.PathLike[str] | pd.DataFrame,
    ledger: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    forecaster: Any = None,
    info: dict[str, Any] | None = None,
    calendar: str | None = None,
    **reader: Any,
) -> pd.DataFrame:
    """Forecast with a saved model, as :func:`fincast.predict`, and append to ``ledger``.

    Parameters
    ----------
    model_dir
        The saved model directory (its content hash identifies the model in the ledger).
    data, out, calendar, **reader
        As :func:`fincast.predict`.
    ledger
        The ledger file (created when missing).
    forecaster, info
        The model already loaded from ``model_dir`` (loaded here when None).

    Returns
    -------
    pandas.DataFrame
        The forecast table; ``table.attrs["ledger"]`` counts the rows ``added`` and those
        ``already_recorded`` (identical, skipped).
    """
    from .. import __version__
    from ..persist import forecast_with, load_model
    from ..rundir import atomic_write_text

    model_dir = Path(model_dir)
    if forecaster is None or info is None:
        forecaster, info = load_model(model_dir)
    task: TaskSpec = forecaster.task
    check_recordable(task)
    fc = forecast_with(forecaster, info, data, calendar=calendar, **reader)
    digest = model_hash(model_dir)
    width = task.width
    naive_out = _naive_outputs(task, fc.naive)
    table = fc.table
    frame = fc.dataset.frame
    last = frame.groupby("id")["date"].max()
    created = datetime.now(UTC).isoformat(timespec="seconds")
    names = ledger_series(fc.dataset, info)
    rows = []
    for i, (sid, origin) in enumerate(zip(fc.ids, fc.origins, strict=True)):
        origin_ts = pd.Timestamp(origin)
        used = rows_hash(frame, sid, origin_ts, hashed_columns(info))
        for j, h in enumerate(task.horizons):
            mine = table[(table["id"] == sid) & (table["horizon"] == h)]
            target = mine["target_date"].iloc[0] if len(mine) else None
            records = mine.drop(columns=["id", "origin", "target_date", "horizon"])
            rows.append(
                LedgerRow(
                    model_hash=digest,
                    origin=_date_text(origin_ts),
                    series=names[str(sid)],
                    horizon=int(h),
                    target_date=None if target is None or pd.isna(target) else str(target),
                    model=str(info["model"]),
                    output=tuple(float(v) for v in fc.outputs[i, j * width : (j + 1) * width]),
                    naive=tuple(float(v) for v in naive_out[i, j * width : (j + 1) * width]),
                    forecast=tuple(records.to_dict("records")),
                    data_last_date=_date_text(last[sid]),
                    rows_hash=used,
                    fincast_version=__version__,
                    created_at=created,
                )
            )
    meta = {"model_hash": digest, "model": info["model"], "model_dir": model_dir, "info": info}
    added, same = append_forecasts(ledger, task=task.to_dict(), model=meta, rows=rows)
    table.attrs["ledger"] = {"path": str(ledger), "added": added, "already_recorded": same}
    if out is not None:
        atomic_write_text(
            Path(out), table.to_csv(index=False, float_format="%.10g", lineterminator="\n")
        )
    return table
