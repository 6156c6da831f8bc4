"""CSV text of a frame, the same bytes as pandas' ``to_csv`` but built column by column.

pandas formats each float of a ``float_format`` column through a Python function call of
its own (with an ``isna`` check per value), which made writing the predictions table the
largest cost of publishing a large panel. :func:`csv_text` builds each column's strings in
one pass (each distinct float once, as ``"%.10g" % v``, exactly what pandas applies, but
computed in numpy by :func:`format_g10`: the same strings) and joins the rows once. Frames
it cannot write identically to pandas (quoted or missing strings, intraday or missing
dates, time zones, extension types, a single column) return None: the caller writes those
with pandas itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

__all__ = ["CHUNK_ROWS", "csv_text", "format_g10", "to_csv_bytes", "to_csv_text"]

#: Rows formatted at a time by :func:`to_csv_bytes`: the strings of one chunk are alive at
#: once, not those of the whole frame (for a 1.7M-row part, about 0.8 GB by estimate).
#: 50,000 rather than 200,000: a part is written while the next units train, so its text
#: adds to the training stage's peak (about 40 MB of strings for a 1M-row panel's 166k-row
#: parts, a quarter of that in chunks of 50,000); the bytes are the same at any size.
CHUNK_ROWS = 50_000

_SPECIAL = (",", '"', "\n", "\r")  # characters that make the csv module quote a field


def _by_value(
    values: np.ndarray, format_many: Callable[[np.ndarray], list[str] | np.ndarray]
) -> list[str]:
    """``format_many`` of the distinct values once (told apart by their bits, so -0.0 and
    0.0 stay apart), then the strings of every row."""
    bits = values.view(f"i{values.itemsize}") if values.dtype.kind in "fM" else values
    codes, uniques = pd.factorize(bits)
    text = np.asarray(format_many(np.asarray(uniques).view(values.dtype)), dtype=object)
    if not len(text):
        text = np.array([""], dtype=object)
    return text[codes].tolist()


# "%.10g" in numpy. A double x with 1e-13 <= |x| < 1e32 is written from its 10 significant
# digits m (an integer in [1e9, 1e10]) and decimal exponent e: m = round(|x| * 10**(9 - e)),
# one correctly rounded product (or quotient) by an exact power of ten (10**k is a double for
# k <= 22) rounded to an integer half to even. The product is within half an ulp (<= 2**-20
# below 1e10) of the exact value and on the same side of every half-integer (those are
# doubles, and rounding is monotone), so it rounds as the exact value does unless it is a
# half-integer itself. Those values (with a margin) and the rest (zeros, infinities, tiny and
# huge values) are formatted by Python.
_G10 = "%.10g"
_G10_EXP = (-13, 31)  # the exponents written in numpy
_G10_TIE = 1e-5  # a fraction this close to 0.5 (only 0.5 itself is needed) goes to Python
_G10_WIDTH = 16  # "-1.234567891e+31", "-0.0001234567891"
_G10_KEYS = 2 * (_G10_EXP[1] - _G10_EXP[0] + 1) * 10  # (sign, exponent, digits kept)
_POW10 = np.array([float(10**k) for k in range(23)])  # exact doubles


def _g10_digits(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 10 significant digits (an int64 in [1e9, 1e10)) and the decimal exponent of each
    of ``x`` (absolute values), and where they are exactly those ``"%.10g"`` writes."""
    lo, hi = _G10_EXP
    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.floor(np.log10(x))  # nan, -inf for 0, inf: not ok
    ok = (guess >= lo) & (guess <= hi)
    e = np.where(ok, guess, 0).astype(np.int64)
    x = np.where(ok, x, 1.0)  # no nan or inf in what follows

    def scale(rows: np.ndarray | slice) -> np.ndarray:
        k = 9 - e[rows]
        scaled = x[rows] * _POW10[np.clip(k, 0, 22)]
        down = np.flatnonzero(k < 0)
        scaled[down] = x[rows][down] / _POW10[-k[down]]  # one rounding, as the product
        return scaled

    scaled = scale(slice(None))
    off = np.flatnonzero(ok & ((scaled < 1e9) | (scaled > 1e10)))  # log10 one off
    if len(off):
        e[off] += np.where(scaled[off] < 1e9, -1, 1)
        ok[off] = (e[off] >= lo) & (e[off] <= hi)
        e[off] = np.clip(e[off], lo, hi)
        scaled[off] = scale(off)
    ok &= (scaled >= 1e9) & (scaled <= 1e10)
    ok &= np.abs(scaled - np.floor(scaled) - 0.5) > _G10_TIE
    m = np.rint(scaled)  # half to even (no tie is ok)
    top = m == 1e10  # 9999999999.5 and up: 1e9 of the next exponent
    m[top] = 1e9
    e += top
    ok &= e <= hi
    return np.where(ok, m, 1e9).astype(np.int64), e, ok


@functools.cache
def _g10_tables() -> tuple[np.ndarray, np.ndarray]:
    """For each of 0..99999: its 5 digits in ASCII (and 3 NULs) as 8 bytes, and how many
    of them are left once trailing zeros are dropped."""
    i = np.arange(100_000)
    tens = 10 ** np.arange(4, -1, -1)
    text = np.zeros((len(i), 8), dtype=np.uint8)
    text[:, :5] = i[:, None] // tens % 10 + ord("0")
    kept = 5 - (i[:, None] % (10 * tens) == 0).sum(axis=1)
    return text.view(np.uint64).ravel(), kept.astype(np.int64)


@functools.cache
def _g10_runs(key: int) -> tuple[tuple[int, int, int], ...]:
    """How the strings of pattern ``key`` are written from a row's digits laid out as
    :func:`_g10_tables` gives them (5 digits, 3 NULs, 5 digits): (at, byte, count) copies
    ``count`` bytes from ``byte`` on to column ``at``; (at, -1, char) writes ``char``."""
    neg, rest = divmod(key, _G10_KEYS // 2)
    e, nd = divmod(rest, 10)
    e, nd = e + _G10_EXP[0], nd + 1
    runs: list[tuple[int, int, int]] = []
    at = 0

    def put(text: str) -> None:
        nonlocal at
        for c in text:
            runs.append((at, -1, ord(c)))
            at += 1

    def copy(first: int, stop: int) -> None:  # digits first..stop-1
        nonlocal at
        for a, b in ((first, min(stop, 5)), (max(first, 5), stop)):
            if b > a:
                runs.append((at, a + 3 * (a >= 5), b - a))
                at += b - a

    put("-" * neg)
    if -4 <= e < 0:
        put("0." + "0" * (-e - 1))
        copy(0, nd)
    elif 0 <= e < 10:
        copy(0, e + 1)  # an integer's last digits may be zeros
        if nd > e + 1:
            put(".")
            copy(e + 1, nd)
    else:
        copy(0, 1)
        if nd > 1:
            put(".")
            copy(1, nd)
        put(f"e{'-' if e < 0 else '+'}{abs(e):02d}")
    assert at <= _G10_WIDTH
    return tuple(runs)


def format_g10(values: np.ndarray) -> list[str]:
    """``["%.10g" % v for v in values.tolist()]`` of a float array, in numpy.

    The same strings (tests compare them over all doubles): values numpy cannot write
    exactly (see the comment above) are formatted by Python. The strings are built a
    pattern (sign, exponent, digits kept) at a time, on the values sorted by pattern.
    """
    out: list[str] = _g10_objects(values).tolist()
    return out


def _g10_objects(values: np.ndarray) -> np.ndarray:
    """:func:`format_g10` as an array of objects."""
    x = np.asarray(values, dtype=np.float64).ravel()
    n = len(x)
    m, e, ok = _g10_digits(np.abs(x))
    five, kept = _g10_tables()
    upper = m // 100_000
    lower = m - upper * 100_000
    nd = np.where(lower == 0, kept[upper], 5 + kept[lower])  # without trailing zeros
    lo, hi = _G10_EXP
    key = (np.signbit(x) * (hi - lo + 1) + e - lo) * 10 + nd - 1
    key[~ok] = _G10_KEYS  # written by Python
    order = np.argsort(key.astype(np.int16), kind="stable")
    counts = np.bincount(key, minlength=_G10_KEYS + 1)
    digits = np.empty((n, 2), dtype=np.uint64)  # the bytes of _g10_tables, sorted
    digits[:, 0] = five[upper[order]]
    digits[:, 1] = five[lower[order]]
    ascii = digits.view(np.uint8)
    chars = np.zeros((n, _G10_WIDTH), dtype=np.uint8)
    start = 0
    for k in np.flatnonzero(counts[:_G10_KEYS]).tolist():
        rows = slice(start, start + int(counts[k]))
        for at, byte, count in _g10_runs(k):
            if byte < 0:
                chars[rows, at] = count
            else:
                chars[rows, at : at + count] = ascii[rows, byte : byte + count]
        start = rows.stop
    unsorted = np.empty_like(chars)
    unsorted.view(f"V{_G10_WIDTH}")[order] = chars.view(f"V{_G10_WIDTH}")
    out = unsorted.astype(np.uint32).view(f"U{_G10_WIDTH}").ravel().astype(object)
    for i in order[start:].tolist():
        out[i] = _G10 % float(x[i])
    return out


def _floats(values: np.ndarray, float_format: str) -> list[str]:
    def format_many(distinct: np.ndarray) -> list[str] | np.ndarray:
        out: list[str] | np.ndarray
        if float_format == _G10 and distinct.itemsize <= 8:
            out = _g10_objects(distinct)  # the same strings, in numpy
        else:
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
