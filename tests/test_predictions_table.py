"""The predictions table on disk: predictions.parquet always, predictions.csv for small runs
or with --csv, the same frame from either, and nothing half-written (issue 26, item 2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import fincast
from fincast import predictions as table
from fincast.backtest import engine, run_backtest
from fincast.cli import main
from fincast.config import build_config
from fincast.predictions import (
    assemble_table,
    join_parts,
    read_predictions,
    read_table,
    write_parquet,
    write_predictions,
    write_table,
)

SRC = str(Path(fincast.__file__).resolve().parents[1])


def _frame(kind: str, seed: int = 0, n: int = 40) -> pd.DataFrame:
    """A predictions table of the shapes fincast writes (before the CSV rounds it)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2001-01-01", periods=n)
    frame = pd.DataFrame(
        {
            "id": np.repeat(["AAPL", "MSFT"], n // 2),
            "date": np.tile(dates[: n // 2], 2),
            "fold": seed,
            "model": "ridge",
            "horizon": 1,
        }
    )
    y = rng.normal(0, 0.01, n)
    y[::7] = np.nan
    if kind == "return":
        frame = frame.assign(y_true=y, y_pred=rng.normal(0, 1e-3, n) / 3)
    elif kind == "direction":  # 0/1 floats (read back as integers) and a probability
        prob = rng.uniform(size=n)
        frame = frame.assign(y_true=(y > 0) * 1.0, y_pred=(prob > 0.5) * 1.0, prob=prob)
    elif kind == "events":
        frame = frame.assign(label=np.tile(["crash", "rally"], n // 2), y_true=1.0 * (y > 0))
        frame = frame.assign(y_pred=0.0, prob=rng.uniform(size=n))
    elif kind in ("intervals", "minus zero"):  # tiny and huge values (and -0.0)
        pred = rng.normal(0, 1, n) * 10.0 ** rng.integers(-300, 300, n)
        if kind == "minus zero":
            pred[3] = -0.0
        frame = frame.assign(y_true=y, y_pred=pred, **{"lo_0.9": pred - 1, "hi_0.9": pred + 1})
    elif kind == "seeds":  # a seed column empty for the ensemble rows
        frame = frame.assign(y_true=y, y_pred=y * 0.5, seed=np.where(np.arange(n) % 3, 1.0, np.nan))
    elif kind == "numeric ids":  # ids pandas reads as numbers: the parts cannot be joined
        frame = frame.assign(id=np.repeat(["0001", "0002"], n // 2), y_true=y, y_pred=y / 7)
    return frame.assign(fwd_return=y)


KINDS = ["return", "direction", "events", "intervals", "minus zero", "seeds", "numeric ids"]


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a.dtypes) == list(b.dtypes)
    for col in a.columns:  # bit for bit, NaNs included
        if a[col].dtype.kind in "fiM":
            assert a[col].to_numpy().tobytes() == b[col].to_numpy().tobytes(), col


@pytest.mark.parametrize("kind", KINDS)
def test_parquet_and_csv_give_identical_frames(tmp_path, kind):
    frame = _frame(kind)
    got = write_table(tmp_path, frame, csv=True)
    csv_path, parquet_path = tmp_path / "predictions.csv", tmp_path / "predictions.parquet"
    assert csv_path.read_bytes() == write_predictions(tmp_path / "old.csv", frame).read_bytes()
    from_csv = read_predictions(csv_path)  # how every reader read the table before
    _assert_same(read_predictions(parquet_path), from_csv)
    _assert_same(got, from_csv)
    _assert_same(read_table(tmp_path), from_csv)  # the Parquet file is the one read
    csv_path.unlink()
    _assert_same(read_table(tmp_path), from_csv)
    parquet_path.unlink()
    with pytest.raises(fincast.DataError, match=r"no predictions\.parquet or predictions\.csv"):
        read_table(tmp_path)


def test_read_table_prefers_the_parquet_file(tmp_path):
    parquet = write_table(tmp_path, _frame("return"))
    write_predictions(tmp_path / "predictions.csv", _frame("direction"))  # another table
    _assert_same(read_table(tmp_path), parquet)
    assert table.table_path(tmp_path) == tmp_path / "predictions.parquet"


@pytest.mark.parametrize("kind", KINDS)
def test_assembled_parts_are_the_table_their_csv_reads_as(tmp_path, kind):
    parts = []
    for i in range(4):
        part = _frame(kind, seed=i)
        if i == 1:
            part["y_pred"] = 0.0  # one part's column reads as integers, the others as floats
        parts.append(write_predictions(tmp_path / f"part{i}.csv", part))
    run = tmp_path / "run"
    first = _frame(kind)
    strings = [*first["id"].unique(), "ridge", *first.get("label", pd.Series()).unique()]
    got = assemble_table(run, parts, strings)
    joined = join_parts(parts, strings)
    if kind in ("numeric ids", "minus zero"):
        assert joined is None  # read, concatenated and written again, as before
    else:
        assert joined == (run / "predictions.csv").read_bytes()
    from_csv = read_predictions(run / "predictions.csv")
    _assert_same(got, from_csv)
    _assert_same(read_predictions(run / "predictions.parquet"), from_csv)


def test_the_parquet_file_is_written_in_row_groups_and_deterministically(tmp_path):
    frame = read_predictions(write_predictions(tmp_path / "t.csv", _frame("return", n=1000)))
    a = write_parquet(tmp_path / "a.parquet", frame, rows=300)
    b = write_parquet(tmp_path / "b.parquet", frame, rows=300)
    assert pq.ParquetFile(a).metadata.num_row_groups == 4
    assert a.read_bytes() == b.read_bytes()
    _assert_same(read_predictions(a), frame)


class _Interrupt(KeyboardInterrupt):
    pass


def test_an_interrupted_parquet_write_leaves_the_old_file_or_none(tmp_path, monkeypatch):
    frame = read_predictions(write_predictions(tmp_path / "t.csv", _frame("return", n=1000)))
    path = tmp_path / "predictions.parquet"
    calls = []
    original = pq.ParquetWriter.write_table

    def write_then_interrupt(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise _Interrupt  # Ctrl-C after the first row group
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_then_interrupt)
    with pytest.raises(_Interrupt):
        write_parquet(path, frame, rows=300)
    assert not path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no temporary file left

    monkeypatch.setattr(pq.ParquetWriter, "write_table", original)
    before = write_parquet(path, frame.iloc[:10], rows=300).read_bytes()
    calls.clear()
    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_then_interrupt)
    with pytest.raises(_Interrupt):
        write_parquet(path, frame, rows=300)
    assert path.read_bytes() == before  # the earlier table, whole


def test_a_process_killed_mid_write_leaves_no_predictions_parquet(tmp_path):
    """A real crash (no cleanup runs): only a hidden temporary file may be left."""
    script = f"""
import os, numpy as np, pandas as pd, pyarrow.parquet as pq
from fincast.predictions import write_parquet
original = pq.ParquetWriter.write_table
def crash(self, *a, **k):
    original(self, *a, **k)
    os._exit(9)  # killed after the first row group reached the file
pq.ParquetWriter.write_table = crash
frame = pd.DataFrame({{"id": ["A"] * 1000, "y_pred": np.arange(1000.0)}})
write_parquet({str(tmp_path / "predictions.parquet")!r}, frame, rows=100)
"""
    env = dict(os.environ, PYTHONPATH=SRC)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert done.returncode == 9, done.stderr
    names = [p.name for p in tmp_path.iterdir()]
    assert "predictions.parquet" not in names
    assert all(n.startswith(".predictions.parquet.") and n.endswith(".tmp") for n in names)


# --- whole runs ----------------------------------------------------------------------------


def _cfg(data, out, **kw):
    values = {"data": str(data), "out": str(out), "models": ["ridge"], "folds": 3}
    return build_config({**values, **kw})


@pytest.fixture(scope="module")
def prices(tmp_path_factory):
    from .conftest import make_ohlcv

    path = tmp_path_factory.mktemp("prices") / "prices.csv"
    make_ohlcv(260, seed=2, ids=("AAA", "BBB")).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def reference(prices, tmp_path_factory):
    """A small run with today's defaults: both files."""
    return run_backtest(_cfg(prices, tmp_path_factory.mktemp("ref") / "run")).run_dir


def test_a_small_run_writes_both_files_with_the_same_table(reference):
    assert (reference / "predictions.csv").is_file()
    assert (reference / "predictions.parquet").is_file()
    _assert_same(
        read_predictions(reference / "predictions.parquet"),
        read_predictions(reference / "predictions.csv"),
    )
    assert not [p.name for p in reference.glob(".*")]  # no lock, no temporary file


@pytest.fixture
def large(monkeypatch):
    """Every table counts as large: only predictions.parquet, in several row groups."""
    monkeypatch.setattr(table, "CSV_MAX_ROWS", 10)
    monkeypatch.setattr(table, "ROW_GROUP_ROWS", 100)


def test_a_large_run_writes_only_parquet_and_reports_from_it(
    prices, reference, tmp_path, large, capsys
):
    out = tmp_path / "large"
    result = run_backtest(_cfg(prices, out))
    assert (out / "predictions.parquet").is_file() and not (out / "predictions.csv").exists()
    assert pq.ParquetFile(out / "predictions.parquet").metadata.num_row_groups > 1
    _assert_same(result.predictions, read_predictions(reference / "predictions.csv"))
    metrics = (reference / "metrics.json").read_bytes()
    assert (out / "metrics.json").read_bytes() == metrics
    for plot in (reference / "plots").iterdir():
        assert (out / "plots" / plot.name).read_bytes() == plot.read_bytes(), plot.name

    _scores_removed(out)
    (out / "report.html").unlink()
    assert main(["report", str(out), "--quiet"]) == 0, capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == metrics
    assert (out / "report.html").is_file()
    for plot in (reference / "plots").iterdir():
        assert (out / "plots" / plot.name).read_bytes() == plot.read_bytes(), plot.name


def _scores_removed(run: Path) -> None:
    """Keep only what describes the run in metrics.json: `fincast report` recomputes the rest."""
    import json

    from fincast.report.build import OPTIONAL_RUN_FIELDS, RUN_FIELDS

    metrics = json.loads((run / "metrics.json").read_text())
    kept = {k: v for k, v in metrics.items() if k in (*RUN_FIELDS, *OPTIONAL_RUN_FIELDS)}
    assert "models" in metrics and "models" not in kept
    (run / "metrics.json").write_text(json.dumps(kept))
    shutil.rmtree(run / "plots")


def test_csv_flag_forces_the_csv(prices, reference, tmp_path, large, capsys):
    out = tmp_path / "cli"
    code = main(["backtest", str(prices), "--models", "ridge", "--folds", "3", "--csv", "-q",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    want = (reference / "predictions.csv").read_bytes()
    assert (out / "predictions.csv").read_bytes() == want
    assert (out / "metrics.json").read_bytes() == (reference / "metrics.json").read_bytes()

    api = fincast.backtest(prices, models=["ridge"], folds=3, out=tmp_path / "api", csv=True)
    assert api.run_dir is not None and (api.run_dir / "predictions.csv").read_bytes() == want
    quiet = fincast.backtest(prices, models=["ridge"], folds=3, out=tmp_path / "no-csv")
    assert quiet.run_dir is not None and not (quiet.run_dir / "predictions.csv").exists()


def test_an_old_run_with_only_the_csv_reports(reference, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(reference, old)
    (old / "predictions.parquet").unlink()  # what fincast wrote before the Parquet file
    _scores_removed(old)
    assert main(["report", str(old), "--quiet"]) == 0, capsys.readouterr().err
    assert (old / "metrics.json").read_bytes() == (reference / "metrics.json").read_bytes()
    assert not (old / "predictions.parquet").exists()  # a report rewrites no table


def test_report_names_both_files_when_the_table_is_missing(reference, tmp_path, capsys):
    run = tmp_path / "none"
    shutil.copytree(reference, run)
    for name in ("predictions.parquet", "predictions.csv"):
        (run / name).unlink()
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert "no predictions.parquet or predictions.csv" in err and "--resume" in err


def _interrupted(prices, out, monkeypatch) -> Path:
    """A run stopped after its table was written, before its metrics (the manifest says so)."""

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(engine, "publish", stop)
        with pytest.raises(KeyboardInterrupt):
            run_backtest(_cfg(prices, out))
    assert (out / "parts").is_dir() and not (out / "metrics.json").exists()
    return out


@pytest.mark.parametrize("kept", ["csv", "parquet", "both", "neither"])
def test_resume_finishes_a_run_whatever_table_it_left(
    prices, reference, tmp_path, monkeypatch, kept
):
    out = _interrupted(prices, tmp_path / "run", monkeypatch)
    if kept in ("parquet", "neither"):
        (out / "predictions.csv").unlink()  # as a large run leaves it
    if kept in ("csv", "neither"):
        (out / "predictions.parquet").unlink()  # as a run of an older fincast leaves it
    result = run_backtest(_cfg(prices, out), resume=True)
    assert not result.failures
    for name in ("predictions.csv", "metrics.json"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    assert (out / "predictions.parquet").read_bytes() == (
        reference / "predictions.parquet"
    ).read_bytes()


def test_resuming_a_large_run_drops_the_csv_an_earlier_try_wrote(
    prices, reference, tmp_path, monkeypatch, large
):
    with monkeypatch.context() as m:
        m.setattr(table, "CSV_MAX_ROWS", 10**9)  # the first try wrote the CSV
        out = _interrupted(prices, tmp_path / "run", monkeypatch)
    assert (out / "predictions.csv").is_file()
    run_backtest(_cfg(prices, out), resume=True)
    assert not (out / "predictions.csv").exists()
    assert (out / "metrics.json").read_bytes() == (reference / "metrics.json").read_bytes()


def test_a_write_interrupted_in_the_run_leaves_no_table_and_resume_finishes(
    prices, reference, tmp_path, monkeypatch
):
    out = tmp_path / "run"
    with monkeypatch.context() as m:

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        m.setattr(pq.ParquetWriter, "write_table", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_backtest(_cfg(prices, out))
    assert not (out / "predictions.parquet").exists()
    assert not list(out.glob(".predictions.parquet.*"))
    assert (
        not (out / "manifest.json").exists()
        or "complete" not in (out / "manifest.json").read_text()
    )
    (out / ".predictions.parquet.crashed.tmp").write_bytes(b"PAR1")  # as a kill -9 leaves it
    run_backtest(_cfg(prices, out), resume=True)
    assert (out / "metrics.json").read_bytes() == (reference / "metrics.json").read_bytes()
    assert not list(out.glob(".*.tmp"))  # the finished run cleans up a crashed write


def test_train_and_score_accept_a_backtest_with_either_file(reference, tmp_path):
    from fincast.config import load_config
    from fincast.ledger.live import check_backtest
    from fincast.ledger.store import LedgerError
    from fincast.provenance import backtest_run

    run = tmp_path / "run"
    shutil.copytree(reference, run)
    config = load_config(run / "config.yaml")
    for name in ("predictions.csv", "predictions.parquet"):
        assert backtest_run(run, config, "ridge") == run  # `fincast train --backtest RUN`
        check_backtest(run)  # `fincast score --backtest RUN`
        (run / name).unlink()  # parquet only, then neither
    with pytest.raises(
        fincast.ConfigError, match=r"missing predictions\.parquet or predictions\.csv"
    ):
        backtest_run(run, config, "ridge")
    with pytest.raises(LedgerError, match=r"missing predictions\.parquet or predictions\.csv"):
        check_backtest(run)
