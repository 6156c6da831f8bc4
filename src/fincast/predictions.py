"""The predictions table: the hand-over between forecasting and everything after it.

One row per (model, id, date, horizon) — and per event label for tasks with
``row_per_label`` (``events``) — with the columns of :data:`COLUMNS` in that order (those
that apply) plus the task's forecast columns:

- regression tasks (``return``, ``level``, ``volatility``): ``y_true``, ``y_pred``
  (volatility forecasts are floored at ``VOL_FLOOR``, a volatility being >= 0);
- ``direction``: ``y_pred`` (1 when ``prob`` > 0.5) and ``prob`` (probability of up);
- ``trend3``: ``y_true`` / ``y_pred`` as class indices 0 = down, 1 = flat, 2 = up, and
  ``prob_down``, ``prob_flat``, ``prob_up``;
- ``events``: a ``label`` column (the event name), ``y_true`` / ``y_pred`` 0 or 1 and
  ``prob``;
- ``quantile``: ``q_<level>`` per quantile level (``q_0.05``; sorted across levels, never
  crossing) and ``y_pred``, the quantile nearest the median;
- ``var``: ``var_<alpha>`` and ``es_<alpha>`` per level (positive losses of the position;
  ``y_true`` is the position's return) and ``y_pred`` = ``-var`` of the first level.

With ``--intervals`` (regression tasks), ``lo_<level>`` / ``hi_<level>`` (e.g. ``lo_0.9``,
``hi_0.9``) follow the forecast columns: the prediction interval of nominal coverage
``level`` (:func:`interval_columns`, :func:`interval_levels`).

Metrics, plots and the report work from this table alone, so they can be rebuilt from
the run directory without retraining. This module owns its columns, building, reading,
writing and checking; it depends on the task objects only.

In a run directory the table is ``predictions.parquet`` (:data:`PARQUET`), always, and
``predictions.csv`` (:data:`CSV`) too for tables of at most :data:`CSV_MAX_ROWS` rows or when
asked (``--csv``). Both hold the same values: the Parquet file holds the table exactly as
pandas reads the CSV back (floats written with ``%.10g`` and read again), so every reader
gets the same frame from either (:func:`read_table`, which prefers the Parquet file; a run
made before it existed has only the CSV).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from .errors import DataError
from .rundir import atomic_path, atomic_write_chunks, write_csv
from .tasks import TaskSpec

__all__ = [
    "COLUMNS",
    "CSV",
    "CSV_MAX_ROWS",
    "PARQUET",
    "REQUIRED",
    "ROW_GROUP_ROWS",
    "SEED_COLUMN",
    "assemble_table",
    "build_predictions",
    "check_predictions",
    "interval_columns",
    "interval_levels",
    "join_parts",
    "read_predictions",
    "read_table",
    "table_path",
    "with_intervals",
    "write_parquet",
    "write_predictions",
    "write_table",
]

#: The predictions table of a run directory: always written, read first.
PARQUET = "predictions.parquet"
#: Its CSV: written beside it for tables of at most :data:`CSV_MAX_ROWS` rows or with
#: ``--csv``; the only table of runs made before the Parquet file existed.
CSV = "predictions.csv"
#: The largest table that also gets ``predictions.csv`` without ``--csv`` (larger runs: only
#: Parquet; the CSV is the slowest output to write and read and the largest file).
CSV_MAX_ROWS = 1_000_000
#: Rows per Parquet row group: the table is written (and can be read) that many rows at a time.
ROW_GROUP_ROWS = 250_000

#: Key and score columns, in table order (``fold``/``model``/``seed`` come from the
#: backtest; ``label`` only for per-label tasks; forecast columns follow ``y_true``).
COLUMNS = ("id", "date", "fold", "model", "seed", "horizon", "label", "y_true", "y_pred")
#: The columns every scored table has.
REQUIRED = ("id", "date", "fold", "model", "horizon", "y_true", "y_pred")
#: The column that numbers the seeds of a multi-seed model (``--seeds`` > 1).
SEED_COLUMN = "seed"


def build_predictions(
    task: TaskSpec,
    ids: np.ndarray,
    dates: np.ndarray,
    y: np.ndarray,
    out: np.ndarray,
    fwd_return: np.ndarray,
    **constants: Any,
) -> pd.DataFrame:
    """The predictions-table rows of one model on some rows.

    Parameters
    ----------
    task
        The task.
    ids, dates
        Series id and date of each row, (n,).
    y
        Targets, (n, horizons), or (n, horizons * labels) for per-label tasks.
    out
        The model's output, (n, horizons * task.width), horizon-major.
    fwd_return
        Realised h-step log returns, (n, horizons).
    **constants
        Columns with one value (e.g. ``fold=0, model="naive"``), placed after ``date``.
    """
    kind = task.task
    n, horizons = len(ids), np.asarray(task.horizons)
    n_h, width = len(horizons), task.width
    per = width if kind.row_per_label else 1
    cols: dict[str, Any] = {
        "id": np.repeat(ids, n_h * per),
        "date": np.repeat(dates, n_h * per),
        **constants,
    }
    cols["horizon"] = np.tile(np.repeat(horizons, per), n)
    if kind.row_per_label:
        cols["label"] = np.tile(np.asarray(task.labels, dtype=object), n * n_h)
    cols["y_true"] = np.asarray(y, dtype="float64").reshape(-1)
    flat = np.asarray(out, dtype="float64").reshape(n * n_h * per, -1)
    cols.update(kind.prediction_columns(task, flat))
    cols["fwd_return"] = np.repeat(np.asarray(fwd_return, dtype="float64").reshape(-1), per)
    return pd.DataFrame(cols)


def interval_columns(level: float) -> tuple[str, str]:
    """The ``(lo, hi)`` column names of the ``level`` interval, e.g. ``lo_0.9``, ``hi_0.9``."""
    return f"lo_{level:g}", f"hi_{level:g}"


def interval_levels(predictions: pd.DataFrame) -> list[float]:
    """The interval levels a table has both columns of, increasing."""
    levels = []
    for col in predictions.columns:
        if str(col).startswith("lo_"):
            try:
                level = float(str(col)[3:])
            except ValueError:
                continue
            if interval_columns(level)[1] in predictions.columns:
                levels.append(level)
    return sorted(levels)


def with_intervals(
    frame: pd.DataFrame, bounds: dict[float, tuple[np.ndarray, np.ndarray]]
) -> pd.DataFrame:
    """``frame`` with the ``lo_<level>`` / ``hi_<level>`` columns of ``bounds`` inserted
    after the forecast columns (before ``fwd_return``), levels in increasing order."""
    out = frame.copy()
    at = out.columns.get_loc("fwd_return") if "fwd_return" in out.columns else len(out.columns)
    for level in sorted(bounds):
        lo, hi = bounds[level]
        lo_name, hi_name = interval_columns(level)
        out.insert(int(at), lo_name, np.asarray(lo, dtype="float64").reshape(-1))
        out.insert(int(at) + 1, hi_name, np.asarray(hi, dtype="float64").reshape(-1))
        at += 2
    return out


def check_predictions(
    predictions: pd.DataFrame, needed: Iterable[str] = REQUIRED, *, what: str = "score"
) -> None:
    """Raise DataError when ``predictions`` lacks a needed column or is empty.

    Parameters
    ----------
    predictions
        The table.
    needed
        The columns the caller reads.
    what
        What the caller does with it (``score``, ``plot``…), for the message.
    """
    needed = tuple(needed)
    missing = [c for c in needed if c not in predictions.columns]
    if missing:
        raise DataError(
            f"the predictions table lacks the column(s) {', '.join(missing)}; expected "
            f"{', '.join(needed)} (and prob for direction); was it written by fincast?"
        )
    if predictions.empty:
        raise DataError(f"the predictions table is empty: there is nothing to {what}")


def _read_csv(source: Path | IO[bytes]) -> pd.DataFrame:
    frame = pd.read_csv(source, dtype={"id": str})
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def read_predictions(path: Path) -> pd.DataFrame:
    """Read a predictions table written by fincast: Parquet (``.parquet``) or CSV."""
    if Path(path).suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()
    return _read_csv(path)


def table_path(run_dir: Path) -> Path | None:
    """The predictions table of a run directory: :data:`PARQUET`, else :data:`CSV`, else None."""
    for name in (PARQUET, CSV):
        if (Path(run_dir) / name).is_file():
            return Path(run_dir) / name
    return None


def read_table(run_dir: Path) -> pd.DataFrame:
    """The predictions table of a run directory (``predictions.parquet``, or the CSV of a
    run made before it existed): the same frame from either.

    Raises
    ------
    DataError
        When the directory has neither file.
    """
    path = table_path(run_dir)
    if path is None:
        raise DataError(
            f"{run_dir} has no {PARQUET} or {CSV}: it holds no predictions table; pass the "
            "directory of a finished `fincast backtest` run"
        )
    return read_predictions(path)


def write_predictions(path: Path, predictions: pd.DataFrame) -> Path:
    """Write a predictions table atomically (CSV with a stable float format)."""
    return write_csv(path, predictions)


def write_parquet(path: Path, predictions: pd.DataFrame, rows: int | None = None) -> Path:
    """Write a predictions table as Parquet atomically, ``rows`` rows (a row group) at a time.

    The frame's dtypes are kept (pandas' metadata is stored), so reading the file gives the
    same frame back. The file is written under a temporary name and renamed into place
    when complete: an error or an interrupt leaves no half-written ``path``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    step = max(1, int(rows or ROW_GROUP_ROWS))
    schema = pa.Schema.from_pandas(predictions, preserve_index=False)
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, len(predictions), step):
            chunk = predictions.iloc[start : start + step]
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))
    return Path(path)


def _write_files(
    run_dir: Path, frame: pd.DataFrame, csv: bool, csv_chunks: Iterable[bytes]
) -> pd.DataFrame:
    """Write ``predictions.parquet`` of ``frame`` and, for a small table or with ``csv``,
    ``predictions.csv`` of ``csv_chunks`` (its text); a larger table's stale CSV goes."""
    write_parquet(Path(run_dir) / PARQUET, frame)
    if csv or len(frame) <= CSV_MAX_ROWS:
        atomic_write_chunks(Path(run_dir) / CSV, csv_chunks)
    else:
        (Path(run_dir) / CSV).unlink(missing_ok=True)  # left by an earlier try of this run
    return frame


def write_table(run_dir: Path, predictions: pd.DataFrame, *, csv: bool = False) -> pd.DataFrame:
    """Write a run directory's predictions table; return it as the files hold it.

    The table is the CSV text of ``predictions`` read back (floats written with ``%.10g``),
    which is what ``predictions.parquet`` holds and ``predictions.csv`` (written for tables
    of at most :data:`CSV_MAX_ROWS` rows, or with ``csv``) says.
    """
    from ._csv import to_csv_text

    text = to_csv_text(predictions, "%.10g").encode("utf-8")
    frame = _read_csv(io.BytesIO(text))
    return _write_files(run_dir, frame, csv, (text,))


def _kept_as_text(values: Iterable[str]) -> bool:
    """Whether pandas' ``read_csv`` reads each value, alone in its column, back as itself.

    Then it reads any column of them as those strings (not numbers, booleans or missing):
    a column is converted only when every value in it converts.
    """
    values = list(dict.fromkeys(values))
    if not values or not all(type(v) is str for v in values):
        return not values
    row = pd.DataFrame([values], columns=[f"c{i}" for i in range(len(values))], dtype=object)
    back = pd.read_csv(io.StringIO(row.to_csv(index=False)))
    return all(
        pd.api.types.is_string_dtype(back[c].dtype) and back[c].iloc[0] == v
        for c, v in zip(row.columns, values, strict=True)
    )


def _other_columns_numeric(path: Path, lines: int = 1000) -> bool:
    """Whether the first ``lines`` rows of a part read back as numbers outside ``id``,
    ``date``, ``model`` and ``label``, and print as they were written."""
    from ._csv import to_csv_text

    with open(path, "rb") as fh:
        sample = b"".join(line for _, line in zip(range(lines + 1), fh, strict=False))
    head = pd.read_csv(io.BytesIO(sample))
    if any(
        not pd.api.types.is_numeric_dtype(head[c].dtype)
        for c in head.columns
        if c not in ("id", "date", "model", "label")
    ):
        return False
    return to_csv_text(head).encode() == sample


def _joinable(paths: Sequence[Path], strings: Iterable[str]) -> bool:
    """Whether :func:`join_parts` can join ``paths`` (see there); reads one part at a time."""
    if not paths or not _kept_as_text(strings):
        return False
    if not _other_columns_numeric(Path(paths[0])):
        return False
    header: bytes | None = None
    for path in paths:
        text = Path(path).read_bytes()
        first, sep, body = text.partition(b"\n")
        if not sep or not body or not text.endswith(b"\n"):
            return False
        if b",-0," in body or b",-0\n" in body:  # read as the integer 0 if all its column is
            return False
        if header is None:
            header = first
        elif first != header:
            return False
    return True


def _joined_chunks(paths: Sequence[Path]) -> Iterator[bytes]:
    """The parts' text joined: the first part whole, then each other part without its header."""
    for i, path in enumerate(paths):
        text = Path(path).read_bytes()
        yield text if i == 0 else text.partition(b"\n")[2]


def join_parts(paths: Sequence[Path], strings: Iterable[str]) -> bytes | None:
    """The bytes of ``write_predictions(concat(read_csv(p) for p in paths))``, or None.

    The parts are CSV written by :func:`write_predictions`; reading them back and writing
    them again gives their own text when they share one header, none is empty, and pandas
    reads every string value in them (``strings``: the ids, models and labels of the ``id``,
    ``model`` and ``label`` columns; any other column must be numeric, and the first rows of
    the first part must print as they were written) back as
    itself (:func:`_kept_as_text`), and no field is ``-0`` (an integer column reads it as 0),
    since floats written with ``%.10g`` read back to values that print the same. Then the table is the parts' text joined, without parsing
    and formatting it again; otherwise None (the caller reads and writes the parts).
    """
    if not _joinable(paths, strings):
        return None
    return b"".join(_joined_chunks(paths))


def _same_kinds(first: pd.DataFrame, other: pd.DataFrame) -> bool:
    """Whether two parts have the same columns, each of the same dtype (an integer column
    beside a float one is fine: pandas reads the joined column as floats, as concat makes it)."""
    if list(first.columns) != list(other.columns):
        return False
    numbers = {np.dtype("int64"), np.dtype("float64")}
    return all(
        a == b or (a in numbers and b in numbers)
        for a, b in zip(first.dtypes, other.dtypes, strict=True)
    )


def _read_parts(paths: Sequence[Path]) -> pd.DataFrame | None:
    """The table pandas reads from the parts' joined text, read part by part; None when the
    parts' columns are not of the same kinds (then only reading the joined text says)."""
    frames: list[pd.DataFrame] = []
    for path in paths:
        frame = pd.read_csv(path, dtype={"id": str})
        if frames and not _same_kinds(frames[0], frame):
            return None
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    del frames
    table["date"] = pd.to_datetime(table["date"])  # once, over every part's dates
    return table


def assemble_table(
    run_dir: Path, parts: Sequence[Path], strings: Iterable[str], *, csv: bool = False
) -> pd.DataFrame:
    """Write a run's predictions table from its parts, in order; return the table.

    ``predictions.parquet`` always, ``predictions.csv`` for tables of at most
    :data:`CSV_MAX_ROWS` rows or with ``csv``. When the parts join (:func:`join_parts`),
    the CSV is their text joined and the table is read part by part; otherwise the parts
    are read, concatenated and written again (:func:`write_table`). Either way the table
    returned, and held by the Parquet file, is what reading the CSV gives.
    """
    if _joinable(parts, strings):
        frame = _read_parts(parts)
        if frame is None:
            frame = _read_csv(io.BytesIO(b"".join(_joined_chunks(parts))))
        return _write_files(run_dir, frame, csv, _joined_chunks(parts))
    frames = [pd.read_csv(part) for part in parts]
    return write_table(run_dir, pd.concat(frames, ignore_index=True), csv=csv)
