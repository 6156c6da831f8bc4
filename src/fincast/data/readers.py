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
import re
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import DataError
from .builtin import load_builtin
from .dataset import Dataset
from .wide import PRICE_COLUMN, _index_from_returns, looks_wide, note_wide, to_long

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


#: (decimal, thousands) pairs tried, in order of preference, when not given. A comma as
#: thousands separator is never guessed (``12,5`` would read as 125): pass ``--thousands ,``.
NUMBER_FORMATS: tuple[tuple[str, str | None], ...] = (
    (".", None),
    (",", None),
    (",", "."),
    (",", " "),
)
_SAMPLE_LINES = 500


def _skip_for_numbers(columns: list[str], date_col: str | None, id_col: str | None) -> set[str]:
    names = {n for n in (*DATE_NAMES, *ID_NAMES)}
    return {c for c in columns if c.strip().lower() in names or c in (date_col, id_col)}


def _numeric_score(frame: pd.DataFrame, skip: set[str], decimal: str, thousands: str | None) -> int:
    """How many columns of ``frame`` hold numbers (percent strings included)."""
    score = 0
    for col in frame.columns:
        if str(col).strip() in skip:
            continue
        values = frame[col]
        if (
            pd.api.types.is_numeric_dtype(values)
            or _as_percent(values, decimal, thousands) is not None
        ):
            score += 1
    return score


def _number_format(
    sample: str,
    sep: str,
    decimal: str | None,
    thousands: str | None,
    skip_names: tuple[str | None, str | None],
) -> tuple[str, str | None]:
    """The (decimal, thousands) under which pandas reads the most numeric columns.

    Each candidate of :data:`NUMBER_FORMATS` (those agreeing with what the user gave, none
    using the column separator) reads the first lines with ``pandas.read_csv``; the first
    candidate with the highest count of numeric columns wins, so a file that reads fully
    numeric with the defaults is read exactly as before.
    """
    given = [
        (d, t)
        for d, t in NUMBER_FORMATS
        if (decimal is None or d == decimal) and (thousands is None or t == thousands)
    ]
    if not given:
        return decimal or ("," if thousands == "." else "."), thousands
    candidates = [(d, t) for d, t in given if sep not in (d, t)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else given[0]
    try:
        header = pd.read_csv(io.StringIO(sample), sep=sep, nrows=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return candidates[0]
    skip = _skip_for_numbers([str(c).strip() for c in header.columns], *skip_names)
    best, best_score = candidates[0], -1
    for dec, th in candidates:
        try:
            frame = pd.read_csv(
                io.StringIO(sample),
                sep=sep,
                decimal=dec,
                thousands=th,
                dtype={c: str for c in header.columns if str(c).strip() in skip},
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
            continue
        score = _numeric_score(frame, skip, dec, th)
        if score > best_score:
            best, best_score = (dec, th), score
        if score == len(frame.columns) - len(skip & {str(c).strip() for c in frame.columns}):
            break  # every column is numeric: nothing can do better
    return best


def _as_percent(values: pd.Series, decimal: str, thousands: str | None) -> pd.Series | None:
    """``values`` as fractions when every non-empty one is a number followed by ``%``."""
    if pd.api.types.is_numeric_dtype(values):
        return None
    text = values.astype("string").str.strip()
    text = text[text.notna() & text.ne("")]
    if not len(text) or not text.str.endswith("%").all():
        return None
    body = values.astype("string").str.strip().str.removesuffix("%")
    if thousands:
        body = body.str.replace(thousands, "", regex=False)
    if decimal != ".":
        body = body.str.replace(decimal, ".", regex=False)
    numbers = pd.to_numeric(body, errors="coerce")
    if numbers[text.index].isna().any():
        return None
    return numbers.astype("float64") / 100.0


def _read_csv(
    path: Path,
    raw: bytes,
    sep: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    skip_names: tuple[str | None, str | None] = (None, None),
) -> tuple[pd.DataFrame, str, str | None]:
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
    if sep is None:
        try:
            sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","
    lines = sample.splitlines()
    if len(raw) > 20000 and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut short
    dec, th = _number_format(
        "\n".join(lines[:_SAMPLE_LINES]) + "\n", sep, decimal, thousands, skip_names
    )
    options: dict[str, object] = {}
    if th is not None:  # dates such as 01.02.2020 must not lose their dots
        try:
            header = pd.read_csv(io.StringIO(sample), sep=sep, nrows=0)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
            header = pd.DataFrame()  # the full read below reports what is wrong
        skip = _skip_for_numbers([str(c).strip() for c in header.columns], *skip_names)
        options["dtype"] = {c: str for c in header.columns if str(c).strip() in skip}
    try:
        # bytes in, not a decoded str: a StringIO of a large file costs 4 bytes a character
        frame = pd.read_csv(
            io.BytesIO(raw), sep=sep, encoding=encoding, decimal=dec, thousands=th, **options
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"{where}: cannot be parsed as CSV ({first}); check the delimiter and quoting "
            "(or pass --sep)"
        ) from None
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        for name, delim in (("semicolons", ";"), ("tabs", "\t"), ("|", "|"), ("spaces", " ")):
            if delim in header.strip():
                raise DataError(
                    f"{where}: only one column `{header}` was found; the values seem "
                    f"separated by {name}: use commas (or ; tab |) between columns, or pass "
                    "--sep"
                )
    return frame, dec, th


def _read_file(
    path: Path,
    sep: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    skip_names: tuple[str | None, str | None] = (None, None),
) -> tuple[pd.DataFrame, str, str, str | None]:
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
        return frame, digest, ".", None
    if suffix.endswith(".gz"):
        import gzip

        try:
            raw = gzip.decompress(raw)
        except OSError:
            raise DataError(
                f"{where}: is not a valid gzip file; decompress it by hand or re-export it"
            ) from None
    frame, dec, th = _read_csv(path, raw, sep, decimal, thousands, skip_names)
    return frame, digest, dec, th


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


def _maybe_dayfirst(text: pd.Series, parsed: pd.Series) -> pd.Series:
    """Day-first dates (31.01.2020, 31/01/2020) where month-first reads fewer or scrambles them.

    pandas guesses month-first for ``02.01.2020``; a European export is day-first. Both are
    tried when the first date has that shape; day-first wins when it parses more values,
    or as many and in a more sorted order (a file is sorted by date, or by series then date),
    or, for dates written with dots, on a tie.
    """
    first = text.dropna()
    if not len(first) or not re.match(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", str(first.iloc[0])):
        return parsed
    try:
        other = pd.to_datetime(text, errors="coerce", utc=True, dayfirst=True)
    except (ValueError, TypeError, OverflowError):
        return parsed

    def rank(p: pd.Series) -> tuple[int, int]:
        steps = p.diff().dropna()
        return int(p.notna().sum()), int((steps > pd.Timedelta(0)).sum())

    dotted = "." in str(first.iloc[0])  # 31.01.2020 is day-first in every locale using it
    if rank(other) > rank(parsed) or (dotted and rank(other) == rank(parsed)):
        return other
    return parsed


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
            parsed = _maybe_dayfirst(text, parsed)
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
    sep: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    wide: bool | None = None,
    values: Literal["prices", "returns"] = "prices",
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
    sep, decimal, thousands
        CSV column separator, decimal mark and thousands separator. When not given, the
        separator is sniffed among ``, ; tab |`` and the decimal mark and thousands separator
        are those of :data:`NUMBER_FORMATS` under which pandas reads the most numeric columns
        from the first lines (so ``1.234,56`` in a ``;`` file is 1234.56). Columns whose
        values all end in ``%`` are read as fractions (``1.5%`` is 0.015).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        For anything that makes the data unusable, with what, where and how to fix it.
    """
    digest: str | None = None
    dec, th = decimal or ".", thousands
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
        raw, digest, dec, th = _read_file(path, sep, decimal, thousands, (date_col, id_col))
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
        elif (percent := _as_percent(series, dec, th)) is not None:
            numeric[col] = percent
        else:
            converted = pd.to_numeric(series, errors="coerce")
            if converted.notna().any():
                numeric[col] = converted.astype("float64")
                texts[col] = series
    for role, col in _roles([c for c in columns if c not in (dcol, icol)]).items():
        if col not in numeric:  # a price read as text: never fall back to another column
            shown = raw[col].dropna().astype(str).str.strip()
            shown = shown[shown.ne("")]
            example = shown.iloc[0] if len(shown) else ""
            what = "volume" if role == "volume" else "price"
            raise DataError(
                f"{where}: {what} column `{col}` holds text, not numbers (e.g. {example!r}); "
                f"{_number_hint(example, dec)}"
            )
    if not numeric:
        raise DataError(f"{where}: no numeric column to forecast among {', '.join(columns)}")
    layout = "long"
    if wide or (
        wide is None and target is None and looks_wide(list(numeric), _roles(list(numeric)), icol)
    ):
        if icol is not None:
            raise DataError(
                f"{where}: column `{icol}` holds series ids, so the table is long, not wide; "
                "leave out --wide"
            )
        if target is not None:
            raise DataError(
                f"{where}: --target does not apply to a wide table (every column is a "
                "series); leave out --target, or pass --no-wide to forecast one column"
            )
        _check_text(texts, numeric, dates, where, dname)
        if wide is None:
            note_wide(where, list(numeric), values)
        long = to_long(
            pd.DataFrame({"date": dates.to_numpy(), **numeric}),
            "date",
            list(numeric),
            values=values,
            where=where,
        )
        ids, dates = long["id"], long["date"]
        numeric, texts, target = {PRICE_COLUMN: long[PRICE_COLUMN]}, {}, PRICE_COLUMN
        values = "prices"  # already turned into an index
        layout = "wide"
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
                f"{frame['id'].iloc[i]}; "
                + _number_hint(
                    str(text.iloc[order].iloc[i]).strip(), dec, "choose another --target"
                )
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
    if values == "returns":  # a long table of returns: the target as a price index
        frame[target] = _returns_index(frame, target, where)
        roles = {}
        needed = [target]
    frame = _handle_missing(frame, needed, fillna, where)
    if frame[target].isna().all() or len(frame) == 0:
        raise DataError(f"{where}: target column `{target}` has no values")
    if digest is None and not isinstance(source, pd.DataFrame):
        digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return Dataset(frame.reset_index(drop=True), dname, src, target, roles, digest, layout)


def _check_text(
    texts: dict[str, pd.Series],
    numeric: dict[str, pd.Series],
    dates: pd.Series,
    where: str,
    name: str,
) -> None:
    """A wide table's series columns: text that is not a number is an error."""
    for col, text in texts.items():
        shown = text.astype("string").str.strip().fillna("")
        bad = (numeric[col].isna() & shown.ne("")).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{where}: column `{col}` has non-numeric value {text.iloc[i]!r} "
                f"({int(bad.sum())} such) at {pd.Timestamp(dates.iloc[i]).date()}, series "
                f"{col}; " + _number_hint(str(text.iloc[i]).strip(), ".", "clean it")
            )


def _returns_index(frame: pd.DataFrame, target: str, where: str) -> pd.Series:
    """The target of a long table of returns as a price index per series (see ``wide``)."""
    out = pd.Series(np.nan, index=frame.index, dtype="float64")
    for sid, rows in frame.groupby("id", sort=False).groups.items():
        vals = frame.loc[rows, target].to_numpy(dtype="float64")
        out.loc[rows] = _index_from_returns(vals, str(sid), where)
    return out


def _number_hint(example: str, decimal: str, otherwise: str = "pass --target COLUMN") -> str:
    """The likely fix for a number pandas could not read, from one example value."""
    body = example.removesuffix("%").strip()
    if decimal == "." and re.fullmatch(r"[-+]?\d{1,3}([.\s]\d{3})*,\d+", body):
        grouped = "." in body or " " in body
        return "it looks like a decimal comma: pass --decimal ," + (
            f" --thousands '{'.' if '.' in body else ' '}'" if grouped else ""
        )
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", body):
        return "it looks like thousands separators: pass --thousands ,"
    if re.search(r"[$€£¥]", example):
        return "remove the currency symbols from the column (fincast reads plain numbers)"
    return f"clean it or {otherwise}"


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
