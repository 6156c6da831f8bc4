"""Read CSV, Parquet, built-in datasets and DataFrames into the canonical long frame.

Rules
-----
- Date column: ``--date-col``, else the first column named (case-insensitively) date,
  datetime, timestamp or time, else a DatetimeIndex. Dates are parsed with pandas'
  inference on the whole column; values that do not parse under one format are an error
  naming the first bad value (mixed formats are rejected rather than guessed). Time zones
  are converted to UTC and dropped, so mixed offsets line up.
- Id column: ``--id-col``, else ticker, symbol, id, asset or series. Without one the file is
  a single series whose id is the dataset name (file stem or built-in name).
- Encodings: UTF-8 (with or without BOM), UTF-16 with a BOM, else latin-1 (which decodes any
  bytes). Delimiters are sniffed among , ; tab and |; a single column whose header holds
  another separator (spaces…) is an error naming it.
- A date column holding one date only, duplicate (id, date) rows, non-numeric text in a
  needed column and an empty file are errors; missing or infinite values follow ``fillna``.
- Unsorted rows are sorted by (id, date); the caller's file or frame is never modified.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import DataError
from .builtin import load_builtin
from .dataset import Dataset

__all__ = ["load"]

DATE_NAMES = ("date", "datetime", "timestamp", "time")
ID_NAMES = ("ticker", "symbol", "id", "asset", "series")
_ROLE_NAMES = {
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "adj_close": ("adjclose", "adjustedclose", "adj_close", "adjclose_"),
    "volume": ("volume",),
}


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _roles(columns: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for col in columns:
        key = _norm(col)
        for role, names in _ROLE_NAMES.items():
            if key in {_norm(n) for n in names} and role not in found:
                found[role] = col
    return found


def _sniff_magic(raw: bytes, where: str) -> None:
    head = raw[:8]
    if head.startswith(b"PK\x03\x04"):
        raise DataError(
            f"{where}: looks like an Excel (.xlsx) or zip file, not CSV; export it as CSV"
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(f"{where}: looks like an old Excel (.xls) file, not CSV; export it as CSV")
    if head.startswith(b"PAR1"):
        raise DataError(f"{where}: looks like a Parquet file; rename it to .parquet")
    stripped = raw.lstrip()[:1]
    if stripped in (b"{", b"["):
        raise DataError(f"{where}: looks like JSON, not CSV; convert it to CSV or Parquet")
    if b"\x00" in raw[:4096]:
        raise DataError(f"{where}: is binary, not a text CSV file; pass a CSV or Parquet file")


def _encoding(raw: bytes) -> str:
    """UTF-16 with a byte-order mark, else UTF-8 (BOM or not), else latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8-sig"


def _read_csv(path: Path, raw: bytes) -> pd.DataFrame:
    where = path.name
    encoding = _encoding(raw)
    if encoding == "utf-16":
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{where}: is not valid UTF-16 text; save it as UTF-8 CSV") from None
        encoding = "utf-8-sig"
    if not raw.strip():
        raise DataError(f"{where}: the file is empty; pass a CSV with a header and rows")
    _sniff_magic(raw, where)
    sample = raw[:20000].decode(encoding, errors="ignore")
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    try:
        # bytes in, not a decoded str: a StringIO of a large file costs 4 bytes a character
        frame = pd.read_csv(io.BytesIO(raw), sep=sep, encoding=encoding)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"{where}: cannot be parsed as CSV ({first}); check the delimiter and quoting"
        ) from None
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        for name, delim in (("semicolons", ";"), ("tabs", "\t"), ("|", "|"), ("spaces", " ")):
            if delim in header.strip():
                raise DataError(
                    f"{where}: only one column `{header}` was found; the values seem "
                    f"separated by {name}: use commas (or ; tab |) between columns"
                )
    return frame


def _read_file(path: Path) -> tuple[pd.DataFrame, str]:
    where = path.name
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path (or use builtin:sp500)")
    if path.is_dir():
        raise DataError(f"{path}: is a directory; pass a CSV or Parquet file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None
    digest = hashlib.sha256(raw).hexdigest()
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".parquet", ".pq")):
        try:
            frame = pd.read_parquet(io.BytesIO(raw))
        except Exception as exc:
            raise DataError(
                f"{where}: is not a readable Parquet file ({type(exc).__name__}); re-export "
                "it, or pass a CSV"
            ) from None
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.reset_index()
        return frame, digest
    if suffix.endswith(".gz"):
        import gzip

        try:
            raw = gzip.decompress(raw)
        except OSError:
            raise DataError(
                f"{where}: is not a valid gzip file; decompress it by hand or re-export it"
            ) from None
    return _read_csv(path, raw), digest


def _find(
    columns: list[str], wanted: str | None, names: tuple[str, ...], what: str, where: str
) -> str | None:
    if wanted is not None:
        if wanted in columns:
            return wanted
        close = difflib.get_close_matches(wanted, [str(c) for c in columns], n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise DataError(
            f"{where}: {what} column `{wanted}` not found{hint} (columns: {', '.join(map(str, columns))})"
        )
    lowered = {str(c).strip().lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return str(lowered[name])
    return None


def _parse_dates(values: pd.Series, where: str, col: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = values.astype("string").str.strip()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = pd.to_datetime(text, errors="coerce", utc=True)
            except (ValueError, TypeError, OverflowError):
                parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
        missing = (text.isna() | (text == "")).to_numpy()
        if missing.any():
            first = int(np.flatnonzero(missing)[0])
            raise DataError(
                f"{where}: column `{col}` is empty at row {first + 2} ({int(missing.sum())} "
                "empty); fill in the dates or drop those rows"
            )
        bad = parsed.isna().to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            count = int(bad.sum())
            shown = values.iloc[first]
            good = np.flatnonzero(~bad)
            contrast = ""
            if len(good):
                contrast = f", while row {int(good[0]) + 2} is {values.iloc[int(good[0])]!r}"
            raise DataError(
                f"{where}: column `{col}` has {count} value(s) that are not dates in one "
                f"consistent format (first {shown!r} at row {first + 2}{contrast}); use one "
                "format such as 2020-01-31 throughout, or pass --date-col"
            )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        return parsed.astype("datetime64[ns]")
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError):
        low, high = pd.Timestamp.min.date(), pd.Timestamp.max.date()
        outside = (parsed < pd.Timestamp(low)) | (parsed > pd.Timestamp(high))
        i = int(np.flatnonzero(outside.to_numpy())[0]) if outside.any() else 0
        raise DataError(
            f"{where}: column `{col}` has a date outside {low} … {high} "
            f"({values.iloc[i]!r} at row {i + 2}); fix or drop that row"
        ) from None


def load(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    date_col: str | None = None,
    id_col: str | None = None,
    target: str | None = None,
    fillna: Literal["error", "ffill", "drop"] = "error",
    name: str | None = None,
) -> Dataset:
    """Load and validate a dataset into canonical long format.

    Parameters
    ----------
    source
        A CSV (``.csv``, ``.csv.gz``, ``.txt``, ``.tsv``) or Parquet path, ``builtin:NAME``,
        or a DataFrame (copied, never modified).
    date_col, id_col
        Column names, detected when not given.
    target
        The column to forecast: default the adjusted close, else the close, else the only
        numeric column.
    fillna
        Missing or infinite values in the needed columns (the target and the OHLCV columns):
        ``error`` (default), ``ffill`` (forward-fill within each series; leading gaps are
        dropped) or ``drop`` (drop those rows).
    name
        Dataset name (default: file stem or built-in name).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        For anything that makes the data unusable, with what, where and how to fix it.
    """
    digest: str | None = None
    if isinstance(source, pd.DataFrame):
        where, dname, src = "<DataFrame>", name or "data", "<DataFrame>"
        raw = source.copy()
        if isinstance(raw.index, pd.DatetimeIndex):
            raw = raw.reset_index()
    elif isinstance(source, str) and source.startswith("builtin:"):
        bname = source.split(":", 1)[1]
        raw = load_builtin(bname)
        where, dname, src = source, name or bname, source
    else:
        path = Path(source)
        raw, digest = _read_file(path)
        where, src = path.name, str(source)
        dname = name or path.name.split(".")[0]
    raw.columns = [str(c).strip() for c in raw.columns]
    if raw.columns.duplicated().any():
        dup = raw.columns[raw.columns.duplicated()][0]
        raise DataError(f"{where}: column `{dup}` appears twice; rename one of them")
    if len(raw) == 0:
        raise DataError(f"{where}: has a header but no rows; pass a file with data")
    columns = list(raw.columns)
    dcol = _find(columns, date_col, DATE_NAMES, "date", where)
    if dcol is None:
        raise DataError(
            f"{where}: no date column found among {', '.join(columns)}; name it Date or pass "
            "--date-col COLUMN"
        )
    icol = _find(columns, id_col, ID_NAMES, "id", where)
    dates = _parse_dates(raw[dcol], where, dcol)
    if icol is not None:
        ids = raw[icol].astype("string").fillna("").str.strip()
        if (ids == "").any():
            row = int(np.flatnonzero((ids == "").to_numpy())[0])
            raise DataError(
                f"{where}: column `{icol}` has an empty series id at row {row + 2}; fill it"
            )
        ids = ids.astype(object)
    else:
        ids = pd.Series(dname, index=raw.index, dtype=object)
    for col in columns:  # the long frame's own `id` and `date` columns must stay unique
        if col in ("id", "date") and col not in (dcol, icol):
            used = dcol if col == "date" else icol
            raise DataError(
                f"{where}: column `{col}` clashes with the {col} column fincast uses "
                f"(`{used}`); rename or drop `{col}`, or pass --{col}-col {col}"
            )
    numeric: dict[str, pd.Series] = {}
    texts: dict[str, pd.Series] = {}
    for col in columns:
        if col in (dcol, icol):
            continue
        series = raw[col]
        if pd.api.types.is_bool_dtype(series):
            series = series.astype("float64")
        if pd.api.types.is_numeric_dtype(series):
            numeric[col] = series.astype("float64")
        else:
            converted = pd.to_numeric(series, errors="coerce")
            if converted.notna().any():
                numeric[col] = converted.astype("float64")
                texts[col] = series
    if not numeric:
        raise DataError(f"{where}: no numeric column to forecast among {', '.join(columns)}")
    frame = pd.DataFrame({"id": ids.to_numpy(), "date": dates.to_numpy(), **numeric})
    roles = _roles(list(numeric))
    if target is None:
        target = roles.get("adj_close") or roles.get("close")
        if target is None:
            if len(numeric) != 1:
                raise DataError(
                    f"{where}: several numeric columns ({', '.join(numeric)}) and none is a "
                    "close price; pass --target COLUMN"
                )
            target = next(iter(numeric))
    elif target not in numeric:
        pool = list(numeric)
        close = difflib.get_close_matches(target, pool, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise DataError(
            f"{where}: target column `{target}` not found{hint} (numeric columns: {', '.join(pool)})"
        )
    needed = list(dict.fromkeys([target, *roles.values()]))
    order = np.lexsort((frame["date"].to_numpy(), frame["id"].to_numpy().astype(str)))
    frame = frame.iloc[order].reset_index(drop=True)
    for col, text in texts.items():
        if col not in needed:
            continue
        bad_mask = frame[col].isna().to_numpy() & text.iloc[order].notna().to_numpy()
        bad_mask &= text.iloc[order].astype("string").str.strip().fillna("").ne("").to_numpy()
        if bad_mask.any():
            i = int(np.flatnonzero(bad_mask)[0])
            raise DataError(
                f"{where}: column `{col}` has non-numeric value {text.iloc[order].iloc[i]!r} "
                f"({int(bad_mask.sum())} such) at {frame['date'].iloc[i].date()}, series "
                f"{frame['id'].iloc[i]}; clean it or choose another --target"
            )
    if len(frame) > 1 and frame["date"].nunique() == 1:
        raise DataError(
            f"{where}: every row of column `{dcol}` has the same date "
            f"({frame['date'].iloc[0].date()}); this needs one row per date (is --date-col "
            "right?)"
        )
    dup = frame.duplicated(["id", "date"], keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(
            f"{where}: {int(dup.sum())} duplicate (series, date) rows (first {frame['date'].iloc[i].date()}, "
            f"series {frame['id'].iloc[i]}); keep one row per date and series"
        )
    frame = _handle_missing(frame, needed, fillna, where)
    if frame[target].isna().all() or len(frame) == 0:
        raise DataError(f"{where}: target column `{target}` has no values")
    if digest is None and not isinstance(source, pd.DataFrame):
        digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return Dataset(frame.reset_index(drop=True), dname, src, target, roles, digest)


def _handle_missing(
    frame: pd.DataFrame, needed: list[str], policy: str, where: str
) -> pd.DataFrame:
    values = frame[needed].to_numpy(dtype="float64")
    inf = np.isinf(values)
    if inf.any():
        frame = frame.copy()
        frame[needed] = np.where(inf, np.nan, values)
    bad = frame[needed].isna()
    if not bad.any().any():
        return frame
    if policy == "error":
        col = (
            bad.sum().idxmax() if bad.any().sum() == 1 else next(c for c in needed if bad[c].any())
        )
        count = int(bad[col].sum())
        i = int(np.flatnonzero(bad[col].to_numpy())[0])
        kind = "infinite" if inf[i, needed.index(col)] else "missing"
        if frame[col].isna().all():
            raise DataError(
                f"{where}: column `{col}` has no values at all (all missing); choose another --target"
            )
        raise DataError(
            f"{where}: column `{col}` has {count} {kind} values (first at "
            f"{frame['date'].iloc[i].date()}, series {frame['id'].iloc[i]}); fill them or pass "
            "--fillna ffill (or --fillna drop)"
        )
    if policy == "ffill":
        frame = frame.copy()
        frame[needed] = frame.groupby("id", sort=False)[needed].ffill()
        return frame.dropna(subset=needed)
    if policy == "drop":
        return frame.dropna(subset=needed)
    raise DataError(f"fillna must be error, ffill or drop, got {policy!r}")
