"""A month of live forecasts on builtin:sp500, recorded day by day, then scored."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import fincast
from fincast.cli import main
from fincast.design import build_design
from fincast.features import FeatureSpec
from fincast.ledger import LedgerError, read_ledger, score_ledger
from fincast.ledger.record import rows_hash, rows_hashes
from fincast.ledger.score import input_hashes
from fincast.tasks import TaskSpec

from ._helpers import no_fincast_warnings

LIVE = ("2018-11-01", "2018-11-30")


@pytest.fixture(scope="module")
def month(spx, model, tmp_path_factory):
    """The ledger after one predict --ledger call per trading day of November 2018."""
    db = tmp_path_factory.mktemp("ledger") / "spx.db"
    days = spx.loc[spx["date"].between(*LIVE), "date"]
    with no_fincast_warnings():
        for day in days:  # the data as it stood at each day's close
            table = fincast.predict(model, spx[spx["date"] <= day], ledger=db)
            assert table.attrs["ledger"]["added"] == 1
    shutil.copy(db, db.with_name("unscored.db"))  # before any score records observations
    return db, days


def unscored(month, tmp_path):
    """A fresh copy of the month's ledger, as it was before any score."""
    db, _ = month
    tmp_path.mkdir(parents=True, exist_ok=True)
    copy = tmp_path / "ledger.db"
    shutil.copy(db.with_name("unscored.db"), copy)
    return copy


def test_month_is_recorded_once_per_day(month, model):
    db, days = month
    frame = read_ledger(db)
    assert len(frame) == len(days) == 21
    assert list(frame["origin"]) == [d.date().isoformat() for d in days]
    assert frame["model_hash"].nunique() == 1
    assert (frame["data_last_date"] == frame["origin"]).all()
    assert frame["rows_hash"].nunique() == len(days)
    assert frame["fincast_version"].eq(fincast.__version__).all()
    # recording the same day again adds nothing
    again = fincast.predict(model, fincast.load("builtin:sp500").frame.iloc[:-30], ledger=db)
    assert again.attrs["ledger"] == {"path": str(db), "added": 0, "already_recorded": 1}


def test_score_matches_the_frozen_model_on_those_dates(month, model, spx, tmp_path):
    db, days = month
    live = score_ledger(db, "builtin:sp500", tmp_path / "live")
    got = live.predictions
    assert set(got["model"]) == {"naive", "seed-mlp"}
    mine = got[got["model"] == "seed-mlp"].reset_index(drop=True)
    # the frozen model over the same dates, as a backtest would predict them
    info = model.info
    task = TaskSpec.from_dict(info["task"])
    ds = fincast.load("builtin:sp500")
    design = build_design(
        ds, task, FeatureSpec(info["features"]["kind"], info["features"]["lookback"])
    )
    rows = np.isin(design.dates, days.to_numpy())
    frozen = model.forecaster.predict(design.batch(rows))[:, 0]
    np.testing.assert_array_equal(mine["date"].to_numpy(), design.dates[rows])
    np.testing.assert_allclose(mine["y_true"], design.y[rows, 0], rtol=1e-9)  # CSV: 10 digits
    np.testing.assert_allclose(
        mine["y_pred"] - mine["y_true"], frozen - design.y[rows, 0], rtol=1e-6, atol=1e-9
    )
    naive = got[got["model"] == "naive"]
    np.testing.assert_allclose(naive["y_pred"], design.naive[rows, 0])
    # what a backtest writes, for the live period
    out = live.run_dir
    for name in ("predictions.csv", "metrics.json", "report.html", "config.yaml", "live.json"):
        assert (out / name).is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert {r["model"] for r in metrics["verdict"]["models"]} == {"seed-mlp"}
    assert metrics["live"]["scored"] == 21 and metrics["live"]["pending"] == 0
    assert "Live against backtest" in (out / "report.html").read_text()
    # the run directory rebuilds like a backtest's
    assert fincast.rebuild_report(out).metrics["verdict"] == metrics["verdict"]


def test_pending_targets_are_skipped_and_counted(month, spx, tmp_path):
    db, days = month
    cut = spx[spx["date"] <= days.iloc[-3]]  # the last 3 origins' outcomes are unknown
    live = score_ledger(db, cut, tmp_path / "live")
    assert live.live["pending"] == 3 and live.live["scored"] == 18
    assert any("3 forecasts wait for their outcome" in n for n in live.live["notes"])


def test_revised_history_is_named_not_rescored(month, spx, tmp_path):
    db, days = month
    score_ledger(db, spx, tmp_path / "first")
    revised = spx.copy()
    at = revised.index[revised["date"] == days.iloc[5]]
    revised.loc[at, "Adj Close"] *= 1.01
    with pytest.raises(
        LedgerError, match=r"revises history .* sp500, 2018-11-08, column `Adj Close`"
    ):
        score_ledger(db, revised, tmp_path / "second")
    assert not (tmp_path / "second").exists()


def test_cli_predict_ledger_and_score(month, spx, model, tmp_path, capsys):
    db = tmp_path / "cli.db"
    csv = tmp_path / "new.csv"
    spx[spx["date"] <= "2018-12-20"].to_csv(csv, index=False)
    assert main(["predict", str(csv), "--model", str(model), "--ledger", str(db), "-q"]) == 0
    assert "1 forecasts added" in capsys.readouterr().err
    assert main(["score", str(db), "builtin:sp500", "--out", str(tmp_path / "o"), "-q"]) == 0
    # bad input: one line, exit 2
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 200)
    assert main(["score", str(bad), "builtin:sp500"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert main(["predict", str(csv), "--model", str(model), "--ledger", str(bad)]) == 2


def test_a_single_series_named_after_each_days_file_keeps_one_id(spx, model, tmp_path):
    db = tmp_path / "files.db"
    plain = spx.drop(columns="id")  # no id column: the series is named after the file
    for day in ("2018-12-17", "2018-12-18"):
        plain[plain["date"] <= day].to_csv(tmp_path / f"spx_{day}.csv", index=False)
        fincast.predict(model, tmp_path / f"spx_{day}.csv", ledger=db)
    fincast.predict(model, tmp_path / "spx_2018-12-18.csv", ledger=db)  # a rerun
    assert list(read_ledger(db)["series"]) == ["sp500", "sp500"]  # the training series
    plain.to_csv(tmp_path / "latest.csv", index=False)
    live = score_ledger(db, tmp_path / "latest.csv", tmp_path / "live")
    assert live.live["scored"] == 2 and set(live.predictions["id"]) == {"sp500"}


def test_recomputed_history_hash_equals_the_recorded_one(month):
    """Score reads and prepares the rows as predict did: every recorded hash is recomputed."""
    db, _ = month
    recorded = read_ledger(db)["rows_hash"]
    assert list(input_hashes(db, "builtin:sp500")) == list(recorded)
    # a data file with no id column, named after the file, hashes the same rows
    assert list(input_hashes(db, fincast.load("builtin:sp500").frame.drop(columns="id"))) == list(
        recorded
    )


def test_unchanged_history_gives_no_note(month, tmp_path):
    live = score_ledger(unscored(month, tmp_path), "builtin:sp500", tmp_path / "live")
    assert live.revised_inputs is None and "revised_inputs" not in live.live
    assert not any("history" in n for n in live.live["notes"])
    saved = json.loads((live.run_dir / "live.json").read_text())
    assert "revised_inputs" not in saved


def test_revised_history_before_the_origins_is_noted_and_scored_as_made(month, spx, tmp_path):
    _, days = month
    base = score_ledger(unscored(month, tmp_path / "a"), spx, tmp_path / "base")
    revised = spx.copy()
    at = revised.index[revised["date"] == "2018-10-15"]  # before every origin; no score used it
    revised.loc[at, "Adj Close"] *= 1.01
    live = score_ledger(unscored(month, tmp_path / "b"), revised, tmp_path / "revised")
    first = days.iloc[0].date().isoformat()
    assert live.revised_inputs == {
        "forecasts": 21,
        "origins": 21,
        "first": [{"series": "sp500", "origin": d.date().isoformat()} for d in days.iloc[:5]],
    }
    note = [n for n in live.live["notes"] if "history" in n]
    assert note == [
        "the history 21 forecasts were made from differs in <DataFrame> (first: series sp500, "
        f"origin {first}): the data were revised since (e.g. back-adjusted prices); these "
        "forecasts are scored as made, on the outcomes in <DataFrame>"
    ]
    saved = json.loads((live.run_dir / "live.json").read_text())
    assert saved["revised_inputs"] == live.revised_inputs
    # scored as made: the same predictions and verdict as on the unrevised data
    assert live.predictions.equals(base.predictions)
    assert live.metrics["verdict"] == base.metrics["verdict"]


def test_revised_history_counts_only_the_forecasts_made_after_it(month, spx, tmp_path):
    db, days = month
    revised = spx.copy()
    at = revised.index[revised["date"] == days.iloc[15]]
    revised.loc[at, "Adj Close"] *= 1.01
    got = input_hashes(unscored(month, tmp_path), revised)
    recorded = read_ledger(db)["rows_hash"]
    assert list(got.iloc[:15]) == list(recorded.iloc[:15])
    assert (got.iloc[15:] != recorded.iloc[15:]).all()
    live = score_ledger(unscored(month, tmp_path), revised, tmp_path / "live")
    assert live.revised_inputs is not None and live.revised_inputs["forecasts"] == 6
    first = days.iloc[15].date().isoformat()
    assert live.revised_inputs["first"][0] == {"series": "sp500", "origin": first}
    assert any(
        n.startswith(
            "the history 6 forecasts were made from differs in <DataFrame> (first: "
            f"series sp500, origin {first})"
        )
        for n in live.live["notes"]
    )


def test_rows_hashes_in_one_pass_equal_rows_hash_at_each_origin(spx):
    cols = ["Open", "Adj Close", "Volume"]
    gappy = spx.copy()
    gappy.loc[gappy.index[[3, 2000]], "Volume"] = np.nan  # written as empty fields
    at = [1, 0, 100, 2000, 2001, len(spx) - 1, 100]  # unsorted, repeated, the first row
    for frame in (gappy, gappy.assign(date=gappy["date"] + pd.Timedelta(hours=16))):
        origins = [pd.Timestamp(frame["date"].iloc[i]) for i in at]
        assert rows_hashes(frame, "sp500", origins, cols) == [
            rows_hash(frame, "sp500", o, cols) for o in origins
        ]
