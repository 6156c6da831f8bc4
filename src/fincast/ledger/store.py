"""The forecast ledger: an append-only SQLite record of every live forecast.

One file (stdlib :mod:`sqlite3`, WAL journal) holds

- ``schema`` — the schema version (refused when newer than this fincast's);
- ``meta`` — the task the ledger records (``task``: a :meth:`TaskSpec.to_dict`, JSON); a
  ledger holds forecasts of one task definition only;
- ``models`` — one row per saved model (its content hash, name, directory and
  ``fincast.json``);
- ``forecasts`` — one row per (model hash, origin, series, horizon): the target date, the
  model's raw outputs and the naive forecast of that horizon (JSON), the ``predict``
  records (JSON), the data's last date, a hash of the rows the forecast read, fincast's
  version and when it was made;
- ``observations`` — the data values ``fincast score`` used (series, date, column values),
  so that a later ``score`` whose data revise them is refused, not silently re-scored.

Rows are only ever inserted, never updated or deleted. Every append is one
``BEGIN IMMEDIATE`` transaction; concurrent writers wait for each other (busy timeout).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import RunError

__all__ = [
    "SCHEMA_VERSION",
    "LedgerError",
    "LedgerRow",
    "append_forecasts",
    "append_observations",
    "ledger_task",
    "read_forecasts",
    "read_models",
    "read_observations",
]

#: The schema this fincast writes; a ledger with a newer one is refused.
SCHEMA_VERSION = 1
#: Seconds a writer waits for another to finish its transaction.
BUSY_TIMEOUT = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    model_hash TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    model_dir TEXT NOT NULL,
    info TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS forecasts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model_hash TEXT NOT NULL REFERENCES models (model_hash),
    origin TEXT NOT NULL,
    series TEXT NOT NULL,
    horizon INTEGER NOT NULL,
    target_date TEXT,
    model TEXT NOT NULL,
    output TEXT NOT NULL,
    naive TEXT NOT NULL,
    forecast TEXT NOT NULL,
    data_last_date TEXT NOT NULL,
    rows_hash TEXT NOT NULL,
    fincast_version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (model_hash, origin, series, horizon)
);
CREATE TABLE IF NOT EXISTS observations (
    series TEXT NOT NULL,
    date TEXT NOT NULL,
    vals TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    PRIMARY KEY (series, date)
);
CREATE TRIGGER IF NOT EXISTS forecasts_no_update BEFORE UPDATE ON forecasts
BEGIN SELECT RAISE(ABORT, 'the fincast ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS forecasts_no_delete BEFORE DELETE ON forecasts
BEGIN SELECT RAISE(ABORT, 'the fincast ledger is append-only'); END;
"""


class LedgerError(RunError):
    """A ledger file cannot be used (corrupt, newer schema, another task, a conflict)."""


@dataclass(frozen=True)
class LedgerRow:
    """One forecast of one (series, horizon) from one origin, as stored."""

    model_hash: str
    origin: str
    series: str
    horizon: int
    target_date: str | None
    model: str
    output: tuple[float, ...]
    naive: tuple[float, ...]
    forecast: tuple[dict[str, Any], ...]
    data_last_date: str
    rows_hash: str
    fincast_version: str
    created_at: str


def _dumps(value: Any) -> str:
    """Canonical JSON (floats round-trip exactly; NaN as null)."""
    return json.dumps(value, sort_keys=True, allow_nan=False, default=str)


def _clean(values: Iterable[float]) -> list[float | None]:
    return [None if v != v else float(v) for v in values]  # NaN -> null


@contextmanager
def _connect(path: str | os.PathLike[str], *, create: bool) -> Iterator[sqlite3.Connection]:
    """An open ledger with the schema checked (and created when ``create``)."""
    p = Path(path)
    if not create and not p.is_file():
        raise LedgerError(
            f"ledger {p} does not exist; create it with `fincast predict … --ledger {p}`"
        )
    if p.exists() and not p.is_file():
        raise LedgerError(f"ledger {p} is a directory, not a file; pass a file path")
    try:
        con = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        raise LedgerError(f"ledger {p} cannot be opened ({exc}); check the path") from None
    try:
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        if create:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";\n"):
                if statement.strip():
                    con.execute(statement)
            rows = con.execute("SELECT version FROM schema").fetchall()
            if not rows:
                con.execute("INSERT INTO schema (version) VALUES (?)", (SCHEMA_VERSION,))
            con.execute("COMMIT")
        _check_schema(con, p)
        yield con
    except sqlite3.DatabaseError as exc:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise LedgerError(
            f"ledger {p} is not a readable fincast ledger ({exc}); it may be corrupt or not "
            "an SQLite file: restore it from a backup or start a new ledger file"
        ) from None
    finally:
        con.close()


def _check_schema(con: sqlite3.Connection, path: Path) -> None:
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema" not in names or "forecasts" not in names:
        raise LedgerError(
            f"{path} is an SQLite file but not a fincast ledger (no schema/forecasts tables); "
            "pass a ledger written by `fincast predict --ledger`"
        )
    versions = [int(r[0]) for r in con.execute("SELECT version FROM schema")]
    version = max(versions) if versions else 0
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"ledger {path} has schema version {version}, newer than this fincast's "
            f"{SCHEMA_VERSION}; upgrade fincast to read it"
        )


def ledger_task(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The task definition a ledger records (None for an empty one)."""
    with _connect(path, create=False) as con:
        row = con.execute("SELECT value FROM meta WHERE key = 'task'").fetchone()
    return None if row is None else dict(json.loads(row[0]))


def _describe_task(task: dict[str, Any]) -> str:
    return f"{task.get('kind')} at horizon(s) {','.join(str(h) for h in task.get('horizons', []))}"


def append_forecasts(
    path: str | os.PathLike[str],
    *,
    task: dict[str, Any],
    model: dict[str, Any],
    rows: Sequence[LedgerRow],
) -> tuple[int, int]:
    """Append ``rows`` to the ledger at ``path`` (created when missing) in one transaction.

    Parameters
    ----------
    path
        The ledger file.
    task
        The task definition (:meth:`TaskSpec.to_dict`); must match the ledger's.
    model
        ``model_hash``, ``model``, ``model_dir`` and ``info`` (the ``fincast.json``).
    rows
        The forecasts.

    Returns
    -------
    tuple
        Rows added and rows already recorded identically (skipped).

    Raises
    ------
    LedgerError
        Another task, or a row whose (model hash, origin, series, horizon) is recorded
        with a different forecast; nothing is written then.
    """
    added = same = 0
    with _connect(path, create=True) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            stored = con.execute("SELECT value FROM meta WHERE key = 'task'").fetchone()
            if stored is None:
                con.execute("INSERT INTO meta (key, value) VALUES ('task', ?)", (_dumps(task),))
            elif json.loads(stored[0]) != json.loads(_dumps(task)):
                theirs = json.loads(stored[0])
                raise LedgerError(
                    f"ledger {path} records task {_describe_task(theirs)} but this model "
                    f"forecasts {_describe_task(task)}; use one ledger file per task"
                )
            con.execute(
                "INSERT OR IGNORE INTO models (model_hash, model, model_dir, info, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    model["model_hash"],
                    model["model"],
                    str(model["model_dir"]),
                    _dumps(model["info"]),
                    rows[0].created_at if rows else "",
                ),
            )
            for r in rows:
                output, naive = _dumps(_clean(r.output)), _dumps(_clean(r.naive))
                old = con.execute(
                    "SELECT output, naive, target_date FROM forecasts WHERE model_hash = ? "
                    "AND origin = ? AND series = ? AND horizon = ?",
                    (r.model_hash, r.origin, r.series, r.horizon),
                ).fetchone()
                if old is not None:
                    if (old[0], old[1], old[2]) != (output, naive, r.target_date):
                        raise LedgerError(
                            f"ledger {path} already holds a different forecast of series "
                            f"{r.series}, origin {r.origin}, horizon {r.horizon} by model "
                            f"{r.model} ({r.model_hash[:12]}): stored {old[0]} (target "
                            f"{old[2]}), new {output} (target {r.target_date}); the data "
                            "up to the origin changed since; the ledger keeps the first "
                            "forecast (nothing was written)"
                        )
                    same += 1
                    continue
                con.execute(
                    "INSERT INTO forecasts (model_hash, origin, series, horizon, target_date, "
                    "model, output, naive, forecast, data_last_date, rows_hash, "
                    "fincast_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r.model_hash,
                        r.origin,
                        r.series,
                        int(r.horizon),
                        r.target_date,
                        r.model,
                        output,
                        naive,
                        _dumps(list(r.forecast)),
                        r.data_last_date,
                        r.rows_hash,
                        r.fincast_version,
                        r.created_at,
                    ),
                )
                added += 1
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return added, same


def read_forecasts(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Every forecast of the ledger, in insertion order (``output``/``naive`` as lists)."""
    with _connect(path, create=False) as con:
        frame = pd.read_sql_query("SELECT * FROM forecasts ORDER BY seq", con)
    for col in ("output", "naive", "forecast"):
        frame[col] = [json.loads(v) for v in frame[col]]
    return frame


def read_models(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The ledger's models: content hash -> ``model``, ``model_dir``, ``info``."""
    with _connect(path, create=False) as con:
        rows = con.execute("SELECT model_hash, model, model_dir, info FROM models").fetchall()
    return {h: {"model": m, "model_dir": d, "info": json.loads(i)} for h, m, d, i in rows}


def read_observations(
    path: str | os.PathLike[str],
) -> dict[tuple[str, str], dict[str, float | None]]:
    """The data values earlier scores used: (series, date) -> column -> value."""
    with _connect(path, create=False) as con:
        rows = con.execute("SELECT series, date, vals FROM observations").fetchall()
    return {(s, d): json.loads(v) for s, d, v in rows}


def append_observations(
    path: str | os.PathLike[str],
    values: dict[tuple[str, str], dict[str, float | None]],
    scored_at: str,
) -> int:
    """Record the data values a score used (those not recorded yet); returns how many."""
    added = 0
    with _connect(path, create=False) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            for (series, date), vals in values.items():
                cur = con.execute(
                    "INSERT OR IGNORE INTO observations (series, date, vals, scored_at) "
                    "VALUES (?, ?, ?, ?)",
                    (series, date, _dumps(vals), scored_at),
                )
                added += cur.rowcount
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return added
