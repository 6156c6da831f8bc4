"""The ledger file: appends, idempotence, conflicts, concurrent writers, bad files."""

from __future__ import annotations

import multiprocessing
import sqlite3
from dataclasses import replace

import pytest

from fincast.errors import FincastError
from fincast.ledger.store import (
    SCHEMA_VERSION,
    LedgerError,
    LedgerRow,
    append_forecasts,
    ledger_task,
    read_forecasts,
)

TASK = {"kind": "return", "horizons": [1], "transform": "auto"}
MODEL = {"model_hash": "abc123", "model": "seed-mlp", "model_dir": "m", "info": {"x": 1}}


def _row(origin: str, value: float = 0.001, series: str = "s", horizon: int = 1) -> LedgerRow:
    return LedgerRow(
        model_hash="abc123",
        origin=origin,
        series=series,
        horizon=horizon,
        target_date=None,
        model="seed-mlp",
        output=(value,),
        naive=(0.0,),
        forecast=({"forecast": value},),
        data_last_date=origin,
        rows_hash="h",
        fincast_version="0",
        created_at="2020-01-01T00:00:00+00:00",
    )


def test_append_is_idempotent_and_refuses_a_different_forecast(tmp_path):
    db = tmp_path / "l.db"
    rows = [_row("2020-01-02"), _row("2020-01-03")]
    assert append_forecasts(db, task=TASK, model=MODEL, rows=rows) == (2, 0)
    assert append_forecasts(db, task=TASK, model=MODEL, rows=rows) == (0, 2)
    changed = [_row("2020-01-06"), replace(rows[1], output=(0.002,))]
    with pytest.raises(LedgerError, match=r"series s, origin 2020-01-03, horizon 1"):
        append_forecasts(db, task=TASK, model=MODEL, rows=changed)
    # one transaction: the new row of the refused append was not written either
    assert list(read_forecasts(db)["origin"]) == ["2020-01-02", "2020-01-03"]
    assert read_forecasts(db)["output"].iloc[1] == [0.001]


def test_rows_are_never_updated_or_deleted(tmp_path):
    db = tmp_path / "l.db"
    append_forecasts(db, task=TASK, model=MODEL, rows=[_row("2020-01-02")])
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE forecasts SET output = '[1]'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM forecasts")
    con.close()


def test_another_task_is_refused(tmp_path):
    db = tmp_path / "l.db"
    append_forecasts(db, task=TASK, model=MODEL, rows=[_row("2020-01-02")])
    other = {**TASK, "kind": "volatility"}
    with pytest.raises(LedgerError, match=r"records task return .* forecasts volatility"):
        append_forecasts(db, task=other, model=MODEL, rows=[_row("2020-01-03")])
    assert ledger_task(db) == TASK


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "l.db"
    append_forecasts(db, task=TASK, model=MODEL, rows=[_row("2020-01-02")])
    con = sqlite3.connect(db)
    con.execute("INSERT INTO schema (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(LedgerError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        read_forecasts(db)
    with pytest.raises(LedgerError, match="newer"):
        append_forecasts(db, task=TASK, model=MODEL, rows=[_row("2020-01-03")])


@pytest.mark.parametrize(
    "content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 5000]
)
def test_corrupt_file_is_a_one_line_error(tmp_path, content):
    db = tmp_path / "l.db"
    db.write_bytes(content)
    with pytest.raises(FincastError) as info:
        append_forecasts(db, task=TASK, model=MODEL, rows=[_row("2020-01-02")])
    assert "\n" not in str(info.value) and "corrupt" in str(info.value)
    assert db.read_bytes() == content  # nothing rewritten


def test_plain_sqlite_file_is_not_a_ledger(tmp_path):
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(LedgerError, match="not a fincast ledger"):
        read_forecasts(db)


def test_missing_ledger_is_an_error_when_reading(tmp_path):
    with pytest.raises(LedgerError, match="does not exist"):
        read_forecasts(tmp_path / "nope.db")


def _writer(path: str, series: str, n: int) -> None:
    for i in range(n):
        rows = [_row(f"2020-{1 + i // 28:02d}-{1 + i % 28:02d}", 0.001 * i, series)]
        append_forecasts(path, task=TASK, model=MODEL, rows=rows)
        append_forecasts(path, task=TASK, model=MODEL, rows=rows)  # a retry: no duplicate


def test_two_concurrent_writers_lose_nothing(tmp_path):
    db = str(tmp_path / "l.db")
    n = 60
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, s, n)) for s in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    frame = read_forecasts(db)
    assert len(frame) == 2 * n
    assert frame.groupby("series").size().to_dict() == {"a": n, "b": n}
    assert not frame.duplicated(["model_hash", "origin", "series", "horizon"]).any()
