"""Covariates known at the time: extra series joined *as of* each row's date.

A covariate value dated ``d`` is usable for a forecast made at date ``t`` only when
``t >= available(d)``, where ``available(d)`` is ``d`` plus the covariate's publication lag:

- ``lag: N`` (a whole number >= 0): N rows of the data's calendar (the sorted distinct dates
  of all series) after the first calendar date on or after ``d``; ``lag: 0`` makes a value
  usable on its own date (the right choice for a value known at that day's close, like the
  asset's own close);
- ``lag: "1M"`` (a number then ``D`` days, ``B`` business days, ``W`` weeks, ``M`` months,
  ``Q`` quarters or ``Y`` years): ``d`` plus that calendar offset (``2020-01-15 + 1M`` is
  ``2020-02-15``).

Each row of the data then takes the covariate's last value with ``available <= t``
(``pandas.merge_asof``, backward), per series (``by: id``) or the same for every series
(``by: global``). Rows before the first available value get NaN and are left out of the
design. Transforms are applied to the covariate's own observations, before the join, so a
transformed value only uses observations dated ``<= d``:

- ``level``: the value as it is;
- ``diff``: the change since the previous observation of the covariate;
- ``log_diff``: the log change since the previous observation (values must be > 0);
- ``zscore``: the level; every model input is already standardised with the mean and
  standard deviation of each fold's training rows by the model's own scaler (the Keras
  models and ``ridge``), which is exactly a per-fold z-score.

Tables (a path, a DataFrame, or a built-in such as ``builtin:vix``): *long* (a date column,
an optional id column, one or more numeric value columns, each a covariate named
``cov_<column>``) or *wide* (``by: id`` and no id column: a date column and one column per
series of the data; one covariate named ``cov_<file stem>``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .builtin import load_builtin
from .frequency import infer_frequency
from .readers import DATE_NAMES, ID_NAMES, _find, _parse_dates, _read_file

__all__ = [
    "TRANSFORMS",
    "Covariate",
    "check_coverage",
    "covariate_features",
    "load_covariates",
    "parse_lag",
    "saved_entries",
]

#: Transforms a covariate may take.
TRANSFORMS = ("level", "diff", "log_diff", "zscore")
_KEYS = ("path", "lag", "by", "transform", "columns", "date_col", "id_col", "fillna")
_OFFSET = re.compile(r"^(\d+)\s*([DBWMQY])$", re.IGNORECASE)


def parse_lag(lag: int | str, where: str = "covariate") -> int | pd.DateOffset:
    """A publication lag: a whole number of calendar rows, or a calendar offset like ``1M``.

    Raises
    ------
    ConfigError
        For a negative lag or anything else that is not a lag.

    Examples
    --------
    >>> parse_lag(2), parse_lag("1M")
    (2, <DateOffset: months=1>)
    """
    text = str(lag).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        n = int(text)
        if n < 0:
            raise ConfigError(
                f"{where}: lag {n} is negative, which would use values before they are "
                "published; use a lag >= 0 (e.g. lag: 1, or lag: 1M for a monthly release)"
            )
        return n
    match = _OFFSET.match(text)
    if not match:
        raise ConfigError(
            f"{where}: lag {lag!r} is not a lag; use a whole number of rows >= 0 or a number "
            "followed by D, B, W, M, Q or Y (e.g. 1M)"
        )
    n, unit = int(match.group(1)), match.group(2).upper()
    if unit == "B":
        return pd.offsets.BDay(n)
    kwargs = {"D": {"days": n}, "W": {"weeks": n}, "M": {"months": n}}.get(unit)
    kwargs = kwargs or {"Q": {"months": 3 * n}, "Y": {"years": n}}[unit]
    return pd.DateOffset(**kwargs)


@dataclass(frozen=True)
class Covariate:
    """One covariate, read and checked: its observations in long form.

    Attributes
    ----------
    name
        Feature column name (``cov_...``).
    table
        ``date``, ``value`` and, when ``by_id``, ``id``; sorted, transformed, no NaN.
    lag
        Rows of the data's calendar, or a calendar offset.
    by_id
        Per series (True) or the same for every series.
    where
        The source, for messages.
    """

    name: str
    table: pd.DataFrame
    lag: int | pd.DateOffset
    by_id: bool
    where: str


def _read(source: Any) -> tuple[pd.DataFrame, str, str]:
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.reset_index()
        return frame, "covariate DataFrame", "covariate"
    if isinstance(source, str) and source.startswith("<DataFrame"):
        raise DataError(
            f"covariate {source} was a Python DataFrame when this configuration was saved; "
            "pass the DataFrame again (covariates=[...]) or write it to a file"
        )
    if isinstance(source, str) and source.startswith("builtin:"):
        name = source.split(":", 1)[1]
        return load_builtin(name), source, name
    path = Path(os.fspath(source)).expanduser()
    frame = _read_file(path)[0]
    return frame, str(path), path.name.split(".")[0]


def _spec(entry: Any) -> dict[str, Any]:
    if isinstance(entry, str | os.PathLike | pd.DataFrame):
        entry = {"path": entry}
    if not isinstance(entry, dict) or "path" not in entry:
        raise ConfigError(
            f"covariates: each entry needs a path (e.g. {{path: vix.csv, lag: 1}}), got {entry!r}"
        )
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"covariates: unknown key(s) {', '.join(unknown)}; expected {', '.join(_KEYS)}"
        )
    return dict(entry)


def _numeric(frame: pd.DataFrame, col: str, where: str) -> pd.Series:
    values = pd.to_numeric(frame[col], errors="coerce")
    bad = values.isna() & frame[col].notna() & (frame[col].astype("string").str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{where}: covariate column `{col}` has a non-numeric value {frame[col].iloc[i]!r} "
            f"at row {i + 2}; fix it or leave that column out with columns: [...]"
        )
    return values.astype("float64")


def _transform(table: pd.DataFrame, how: str, name: str, where: str, by_id: bool) -> pd.DataFrame:
    if how not in TRANSFORMS:
        raise ConfigError(
            f"{where}: transform {how!r} of `{name}` is not known; use {', '.join(TRANSFORMS)}"
        )
    if how in ("level", "zscore"):
        return table
    value = table["value"]
    if how == "log_diff":
        if (value <= 0).any():
            i = int(np.flatnonzero((value <= 0).to_numpy())[0])
            raise DataError(
                f"{where}: covariate `{name}` is {value.iloc[i]} on {table['date'].iloc[i].date()}"
                "; log_diff needs values > 0: use transform: diff"
            )
        value = np.log(value)
    groups = table["id"] if by_id else pd.Series(0, index=table.index)
    out = table.assign(value=value.groupby(groups, sort=False).diff())
    return out.dropna(subset=["value"]).reset_index(drop=True)


def _covariates_of(entry: Any, data_ids: Sequence[str]) -> list[Covariate]:
    spec = _spec(entry)
    frame, where, stem = _read(spec["path"])
    lag = parse_lag(spec.get("lag", 0), f"{where}")
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    date_col = _find(columns, spec.get("date_col"), DATE_NAMES, "date", where)
    if date_col is None:
        raise DataError(
            f"{where}: no date column (looked for {', '.join(DATE_NAMES)}); name it date or "
            "pass date_col: NAME in the covariate entry"
        )
    id_col = _find(columns, spec.get("id_col"), ID_NAMES, "id", where)
    by = spec.get("by", "id" if id_col else "global")
    if by not in ("id", "global"):
        raise ConfigError(f"{where}: by must be id or global, got {by!r}")
    dates = _parse_dates(frame[date_col], where, date_col)
    values = [c for c in columns if c not in (date_col, id_col)]
    wide = False
    if by == "id" and id_col is None:  # wide: one column per series
        unknown = sorted(set(values) - {str(s) for s in data_ids})
        if unknown or not values:
            raise DataError(
                f"{where}: by: id needs an id column or one column per series of the data; "
                f"columns {', '.join(unknown) or '(none)'} are not series of the data"
            )
        long = pd.DataFrame({"date": dates, **{c: _numeric(frame, c, where) for c in values}})
        long = long.melt(id_vars="date", var_name="id", value_name=stem)
        frame, date_col, id_col, values, dates = long, "date", "id", [stem], long["date"]
        wide = True
    elif spec.get("columns") is not None:
        wanted = [str(c) for c in spec["columns"]]
        missing = [c for c in wanted if c not in values]
        if missing:
            raise DataError(
                f"{where}: covariate column(s) {', '.join(missing)} not found (columns: "
                f"{', '.join(values)})"
            )
        values = wanted
    if not values:
        raise DataError(f"{where}: no value column next to the date; add one")
    by_id = by == "id"
    ids = frame[id_col].astype(str) if by_id and id_col else None
    keys = pd.DataFrame({"date": dates, **({"id": ids} if ids is not None else {})})
    dup = keys.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        who = f" for series {keys['id'].iloc[i]}" if ids is not None else ""
        raise DataError(
            f"{where}: date {keys['date'].iloc[i].date()} appears twice{who} (row {i + 2}); "
            "keep one value per date" + ("" if ids is not None else " or give an id column")
        )
    out = []
    for col in values:
        value = frame[col].astype("float64") if wide else _numeric(frame, col, where)
        table = keys.assign(value=value.to_numpy())
        table = table.sort_values([*(["id"] if by_id else []), "date"], kind="stable")
        table = _missing(table, spec.get("fillna", "error"), where, col, by_id)
        table = _transform(table, spec.get("transform", "level"), col, where, by_id)
        out.append(Covariate(f"cov_{col}", table.reset_index(drop=True), lag, by_id, where))
    return out


def _missing(table: pd.DataFrame, policy: str, where: str, col: str, by_id: bool) -> pd.DataFrame:
    bad = ~np.isfinite(table["value"].to_numpy())
    if not bad.any():
        return table
    if policy == "error":
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{where}: covariate `{col}` has {int(bad.sum())} missing values (first at "
            f"{table['date'].iloc[i].date()}); fill them or pass fillna: ffill (or drop)"
        )
    table = table.assign(value=table["value"].where(~bad))
    if policy == "ffill":
        groups = table["id"] if by_id else pd.Series(0, index=table.index)
        table = table.assign(value=table["value"].groupby(groups, sort=False).ffill())
    elif policy != "drop":
        raise ConfigError(f"{where}: fillna must be error, ffill or drop, got {policy!r}")
    return table.dropna(subset=["value"])


def load_covariates(
    entries: Sequence[Any] | None, data_ids: Sequence[str], fillna: str = "error"
) -> list[Covariate]:
    """Read and check covariate tables.

    Parameters
    ----------
    entries
        Each a path, a DataFrame, or a mapping ``{path, lag, by, transform, columns,
        date_col, id_col, fillna}`` (``path`` may be a DataFrame).
    data_ids
        Series ids of the data (a wide table's columns must be among them).
    fillna
        Missing-value policy when an entry gives none (the run's ``--fillna``).

    Raises
    ------
    DataError, ConfigError
        No date column, duplicate dates, non-numeric or missing values, a bad lag,
        transform or ``by``, two covariates with the same name.
    """
    out: list[Covariate] = []
    for entry in entries or ():
        spec = _spec(entry)
        spec.setdefault("fillna", fillna)
        out.extend(_covariates_of(spec, data_ids))
    names = [c.name for c in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            f"covariates: {', '.join(twice)} come from more than one table; rename a column "
            "or pick columns with columns: [...]"
        )
    return out


def _available(cov: Covariate, calendar: np.ndarray) -> pd.Series:
    dates = cov.table["date"]
    if isinstance(cov.lag, int):
        pos = np.searchsorted(calendar, dates.to_numpy(), side="left") + cov.lag
        ok = pos < len(calendar)
        avail = np.full(len(dates), np.datetime64("NaT"), dtype="datetime64[ns]")
        avail[ok] = calendar[pos[ok]]
        return pd.Series(avail, index=dates.index)
    return dates + cov.lag


def covariate_features(frame: pd.DataFrame, covariates: Sequence[Covariate]) -> pd.DataFrame:
    """Each covariate's last available value at every row of ``frame`` (as-of join).

    Parameters
    ----------
    frame
        Canonical long frame (``id``, ``date``, ...).
    covariates
        From :func:`load_covariates`.

    Returns
    -------
    pandas.DataFrame
        One float64 column per covariate, index aligned with ``frame``; NaN before a
        covariate's first available value (or for a series it does not cover).

    Raises
    ------
    DataError
        When a covariate's dates never overlap the data's.
    """
    calendar = np.sort(frame["date"].unique()).astype("datetime64[ns]")
    left = pd.DataFrame(
        {"date": frame["date"].to_numpy(dtype="datetime64[ns]"), "id": frame["id"].astype(str)}
    )
    left["_row"] = np.arange(len(left))
    left = left.sort_values("date", kind="stable")
    out: dict[str, np.ndarray] = {}
    for cov in covariates:
        first, last = cov.table["date"].min(), cov.table["date"].max()
        if len(cov.table) == 0 or first > calendar[-1] or last < calendar[0]:
            raise DataError(
                f"{cov.where}: covariate `{cov.name[4:]}` covers "
                f"{first.date() if len(cov.table) else '(nothing)'} … "
                f"{last.date() if len(cov.table) else ''}, which never overlaps the data "
                f"({pd.Timestamp(calendar[0]).date()} … {pd.Timestamp(calendar[-1]).date()}); "
                "pass a covariate for the same period"
            )
        if cov.by_id:
            missing = sorted(set(left["id"]) - set(cov.table["id"]))
            if missing:
                raise DataError(
                    f"{cov.where}: covariate `{cov.name[4:]}` has no values for series "
                    f"{', '.join(missing[:5])}; add them, or pass by: global"
                )
        right = cov.table.assign(available=_available(cov, calendar)).dropna(subset=["available"])
        right = right.sort_values("available", kind="stable")
        right["id"] = right["id"].astype(str) if cov.by_id else ""
        joined = pd.merge_asof(
            left.assign(id=left["id"] if cov.by_id else ""),
            right[["available", "id", "value"]],
            left_on="date",
            right_on="available",
            by="id",
            direction="backward",
        )
        values = np.full(len(frame), np.nan)
        values[joined["_row"].to_numpy()] = joined["value"].to_numpy(dtype="float64")
        out[cov.name] = values
    return pd.DataFrame(out, index=frame.index, dtype="float64")


def _next_date(dates: pd.Series) -> pd.Timestamp:
    """When the observation after the last one of ``dates`` is due (its own frequency)."""
    last = pd.Timestamp(dates.max())
    freq = infer_frequency(dates)
    if freq is None:
        step = pd.Series(pd.DatetimeIndex(dates.drop_duplicates().sort_values())).diff().median()
        return last + max(step, pd.Timedelta(days=1)) if pd.notna(step) else last
    return last + pd.tseries.frequencies.to_offset(freq)


def check_coverage(
    covariates: Sequence[Covariate], frame: pd.DataFrame, origins: pd.Series
) -> None:
    """Refuse a forecast whose origin is past what a covariate file covers.

    A covariate covers a forecast made at ``t`` while its next observation (the last one's
    date plus its usual step: the inferred frequency, else the median spacing) would not
    yet be available at ``t`` (that date plus the publication lag). Past that, the as-of
    join would silently reuse a stale value, which the model never saw in training.

    Parameters
    ----------
    covariates
        From :func:`load_covariates`.
    frame
        The canonical long frame of the new data (its dates are the lag's calendar).
    origins
        Forecast origin (last usable date) of each series, indexed by series id.

    Raises
    ------
    DataError
        Naming the covariate, its source, its last date and the forecast origin.
    """
    calendar = np.sort(frame["date"].unique()).astype("datetime64[ns]")
    for cov in covariates:
        groups = cov.table.groupby("id") if cov.by_id else [("", cov.table)]
        for sid, table in groups:
            due = _next_date(table["date"])
            probe = Covariate(cov.name, pd.DataFrame({"date": [due]}), cov.lag, False, cov.where)
            available = _available(probe, calendar).iloc[0]
            if pd.isna(available):
                continue  # not due within the data's dates
            ids = [sid] if cov.by_id else list(origins.index)
            late = [i for i in ids if i in origins.index and origins[i] >= available]
            if late:
                raise DataError(
                    f"{cov.where}: covariate `{cov.name[4:]}` ends on "
                    f"{table['date'].max().date()}, but the forecast from "
                    f"{pd.Timestamp(origins[late[0]]).date()} (series {late[0]}) needs its "
                    f"value of {due.date()}, available from {pd.Timestamp(available).date()}; "
                    "update the covariate file to cover the forecast date"
                )


def saved_entries(entries: Sequence[Any] | None) -> list[dict[str, Any]]:
    """Covariate entries a saved model can re-read: paths made absolute, no DataFrames.

    Raises
    ------
    ConfigError
        For a covariate given as a DataFrame (nothing to re-read at predict time).
    """
    out = []
    for entry in entries or ():
        spec = _spec(entry)
        source = spec["path"]
        if isinstance(source, pd.DataFrame):
            raise ConfigError(
                "train: a covariate given as a DataFrame cannot be re-read by predict; "
                "write it to a CSV or Parquet file and pass its path"
            )
        if not str(source).startswith("builtin:"):
            spec["path"] = str(Path(os.fspath(source)).expanduser().resolve())
        out.append(spec)
    return out
