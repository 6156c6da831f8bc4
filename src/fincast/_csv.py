"""CSV text of a frame, the same bytes as pandas' ``to_csv`` but built column by column.

pandas formats each float of a ``float_format`` column through a Python function call of
its own (with an ``isna`` check per value), which made writing the predictions table the
largest cost of publishing a large panel. :func:`csv_text` builds each column's strings in
one pass (``"%.10g" % v`` of each float, exactly what pandas applies) and joins the rows
once. Frames it cannot write identically to pandas (quoted or missing strings, intraday
or missing dates, time zones, extension types, a single column) return None: the caller
writes those with pandas itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

__all__ = ["CHUNK_ROWS", "csv_text", "to_csv_bytes", "to_csv_text"]

#: Rows formatted at a time by :func:`to_csv_bytes`: the strings of one chunk are alive at
#: once, not those of the whole frame (for a 1.7M-row part, about 0.8 GB by estimate).
CHUNK_ROWS = 200_000

_SPECIAL = (",", '"', "\n", "\r")  # characters that make the csv module quote a field


def _by_value(values: np.ndarray, format_many: Callable[[np.ndarray], list[str]]) -> list[str]:
    """``format_many`` of the distinct values once (told apart by their bits, so -0.0 and
    0.0 stay apart), then the strings of every row."""
    bits = values.view(f"i{values.itemsize}") if values.dtype.kind in "fM" else values
    codes, uniques = pd.factorize(bits)
    text = np.array(format_many(np.asarray(uniques).view(values.dtype)) or [""], dtype=object)
    return text[codes].tolist()


def _floats(values: np.ndarray, float_format: str) -> list[str]:
    def format_many(distinct: np.ndarray) -> list[str]:
        out = [float_format % v for v in distinct.tolist()]
        for i in np.flatnonzero(np.isnan(distinct)).tolist():
            out[i] = ""  # na_rep
        return out

    return _by_value(values, format_many)


def _strings(values: np.ndarray) -> list[str] | None:
    """The strings as written, or None if one is missing, not a str, or would be quoted."""
    items = values.tolist()
    for item in pd.unique(values):
        if type(item) is not str or any(c in item for c in _SPECIAL):
            return None
    return items


def _dates(values: np.ndarray) -> list[str] | None:
    """``YYYY-MM-DD`` of dates at midnight (how pandas writes a date-only column), else None."""
    if np.isnat(values).any():
        return None
    days = values.astype("datetime64[D]")
    if len(values) and not (
        (days == values).all()
        and np.datetime64("1000-01-01") <= days.min()
        and days.max() <= np.datetime64("9999-12-31")
    ):
        return None
    return _by_value(days, lambda d: np.datetime_as_string(d, unit="D").tolist())


def _column(series: pd.Series, float_format: str) -> list[str] | None:
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) or dtype == np.dtype("O"):
        return _strings(series.to_numpy(dtype=object))
    if not isinstance(dtype, np.dtype):
        return None  # categorical, nullable, tz-aware…: pandas' own rules
    values = series.to_numpy()
    if dtype.kind == "f":
        return _floats(values, float_format)
    if dtype.kind in "iu":
        return _by_value(values, lambda d: [str(v) for v in d.tolist()])
    if dtype.kind == "b":
        return np.where(values, "True", "False").tolist()
    if dtype.kind == "M":
        return _dates(values)
    return None


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def csv_text(frame: pd.DataFrame, float_format: str = "%.10g") -> str | None:
    """``frame.to_csv(index=False, float_format=float_format, lineterminator="\\n")``, or None.

    None when some column is of a kind this function does not write exactly as pandas
    does (see the module docstring); the result is otherwise the same string.
    """
    names = [str(c) for c in frame.columns]
    if len(names) < 2 or any(type(c) is not str for c in frame.columns):
        return None
    if any(any(ch in name for ch in _SPECIAL) for name in names):
        return None
    if frame.columns.has_duplicates:
        return None
    columns: list[list[str]] = []
    done: list[tuple[np.ndarray, list[str]]] = []  # y_true and fwd_return are often equal
    for name in names:
        series = frame[name]
        values = series.to_numpy() if isinstance(series.dtype, np.dtype) else None
        same = None
        if values is not None and values.dtype.kind in "fiub":
            same = next((t for v, t in done if _same_bits(v, values)), None)
        col = same if same is not None else _column(series, float_format)
        if col is None:
            return None
        if values is not None and same is None and values.dtype.kind in "fiub":
            done.append((values, col))
        columns.append(col)
    header = ",".join(names) + "\n"
    if len(frame) == 0:
        return header
    return header + "\n".join(map(",".join, zip(*columns, strict=True))) + "\n"


def to_csv_text(frame: pd.DataFrame, float_format: str = "%.10g") -> str:
    """The CSV text of ``frame``: :func:`csv_text` where it applies, pandas' otherwise."""
    text = csv_text(frame, float_format)
    if text is None:
        text = frame.to_csv(index=False, float_format=float_format, lineterminator="\n")
    return text


def to_csv_bytes(
    frame: pd.DataFrame, float_format: str = "%.10g", rows: int | None = None
) -> Iterator[bytes]:
    """:func:`to_csv_text` of ``frame`` as UTF-8, ``rows`` rows (default
    :data:`CHUNK_ROWS`) at a time.

    The same bytes: each row's text depends only on its own values, so chunks written by
    :func:`csv_text` join into the whole frame's text. When a chunk is one that
    :func:`csv_text` does not write (pandas decides some formats from a whole column, e.g.
    its dates), this raises :class:`NotChunked` before yielding anything of that chunk, and
    the caller writes the frame with :func:`to_csv_text` instead.
    """
    rows = CHUNK_ROWS if rows is None else rows
    if len(frame) <= rows:
        yield to_csv_text(frame, float_format).encode("utf-8")
        return
    for start in range(0, len(frame), rows):
        text = csv_text(frame.iloc[start : start + rows], float_format)
        if text is None:
            raise NotChunked
        if start:
            text = text[text.index("\n") + 1 :]  # the header once, at the top
        yield text.encode("utf-8")


class NotChunked(Exception):
    """A chunk of the frame is not one :func:`csv_text` writes as pandas would."""
