"""The backtest a saved model was trained from: recorded by train, found by score."""

from __future__ import annotations

import json
import shutil

import pytest

import fincast
from fincast.cli import main
from fincast.errors import ConfigError
from fincast.ledger import LedgerError, score_ledger

from ._helpers import no_fincast_warnings
from .conftest import TRAIN_END

DAYS = ("2018-11-01", "2018-11-02", "2018-11-05", "2018-11-06")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small backtest of seed-mlp on builtin:sp500 (its config.yaml reruns it)."""
    out = tmp_path_factory.mktemp("bt") / "run"
    with no_fincast_warnings():
        fincast.backtest("builtin:sp500", out=out, models=["seed-mlp"], epochs=1, folds=2, seed=0)
    return out


def _skill(run_dir, model="seed-mlp"):
    verdict = json.loads((run_dir / "metrics.json").read_text())["verdict"]
    return next(r["skill_vs_naive"] for r in verdict["models"] if r["model"] == model)


def _train(spx, out, backtest):
    with no_fincast_warnings():
        return fincast.train(
            spx[spx["date"] <= TRAIN_END],
            out=out,
            models=["seed-mlp"],
            epochs=1,
            seed=0,
            backtest=backtest,
        )


def _ledger(spx, model, db):
    for day in DAYS:
        fincast.predict(model, spx[spx["date"] <= day], ledger=db)
    return db


def _copy_with_skill(run_dir, dest, skill):
    """A copy of ``run_dir`` whose verdict gives seed-mlp the skill ``skill``."""
    shutil.copytree(run_dir, dest)
    metrics = json.loads((dest / "metrics.json").read_text())
    for row in metrics["verdict"]["models"]:
        if row["model"] == "seed-mlp":
            row["skill_vs_naive"] = skill
    (dest / "metrics.json").write_text(json.dumps(metrics))
    return dest


def test_score_finds_the_backtest_train_recorded_and_an_explicit_one_wins(
    run, spx, tmp_path, capsys
):
    model = _train(spx, tmp_path / "model", run)
    info = json.loads((tmp_path / "model" / "fincast.json").read_text())
    assert info["backtest_run"] == str(run.resolve())
    db = _ledger(spx, model, tmp_path / "spx.db")

    live = score_ledger(db, spx, tmp_path / "live")  # no backtest given: the recorded one
    (row,) = live.live["comparison"]
    assert row["backtest_run"] == str(run.resolve())
    assert row["backtest_skill"] == pytest.approx(_skill(run))
    assert not any("backtest" in n for n in live.live["notes"])

    other = _copy_with_skill(run, tmp_path / "other", 0.123)
    live = score_ledger(db, spx, tmp_path / "live", backtest=other)  # --backtest wins
    (row,) = live.live["comparison"]
    assert row["backtest_run"] == str(other) and row["backtest_skill"] == 0.123

    args = ["score", str(db), "builtin:sp500", "--out", str(tmp_path / "o")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"backtest {_skill(run):.4g}" in out


def test_a_recorded_run_that_no_longer_exists_is_a_note(run, spx, tmp_path, capsys):
    gone = _copy_with_skill(run, tmp_path / "gone", 0.5)
    model = _train(spx, tmp_path / "model", gone)
    db = _ledger(spx, model, tmp_path / "spx.db")
    shutil.rmtree(gone)

    live = score_ledger(db, spx, tmp_path / "live")
    (row,) = live.live["comparison"]
    assert row["backtest_skill"] is None and row["live_skill"] is not None
    (note,) = [n for n in live.live["notes"] if "backtest" in n]
    assert f"the backtest run {gone.resolve()} recorded in the model's fincast.json" in note
    assert "no longer exists" in note and "--backtest RUN" in note

    assert main(["score", str(db), "builtin:sp500", "--out", str(tmp_path / "o"), "-q"]) == 0
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if "no longer exists" in x]
    assert line.startswith("note: the backtest run ")


def test_score_refuses_a_backtest_that_is_not_a_run(run, spx, model, tmp_path, capsys):
    db = _ledger(spx, model, tmp_path / "spx.db")
    with pytest.raises(LedgerError, match=r"--backtest .*nowhere is not a finished backtest run"):
        score_ledger(db, spx, tmp_path / "live", backtest=tmp_path / "nowhere")
    assert not (tmp_path / "live").exists()
    args = ["score", str(db), "builtin:sp500", "--out", str(tmp_path / "o")]
    assert main([*args, "--backtest", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --backtest ") and "\n" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing", r"is not a finished backtest run directory \(missing metrics.json\)"),
        ("model", r"did not backtest seed-mlp \(it holds mean\)"),
        ("task", r"forecast another task \(horizons: \[1\]; this model: \[2\]\)"),
    ],
)
def test_train_refuses_a_backtest_of_another_model_or_task(run, spx, tmp_path, change, message):
    bad = tmp_path / "bad"
    shutil.copytree(run, bad)
    options = {"horizon": [2] if change == "task" else [1]}
    if change == "missing":
        (bad / "metrics.json").unlink()
    if change == "model":
        metrics = json.loads((bad / "metrics.json").read_text())
        metrics["verdict"]["models"] = [
            r for r in metrics["verdict"]["models"] if r["model"] != "seed-mlp"
        ]
        (bad / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(ConfigError, match=message):
        fincast.train(spx, out=tmp_path / "m", models=["seed-mlp"], backtest=bad, **options)
    assert not (tmp_path / "m").exists()


def test_cli_train_records_the_run_its_config_came_from(run, tmp_path, capsys):
    out = tmp_path / "m"
    args = ["train", "--config", str(run / "config.yaml"), "--models", "seed-mlp"]
    assert main([*args, "--out", str(out), "-q"]) == 0
    assert json.loads((out / "fincast.json").read_text())["backtest_run"] == str(run.resolve())
    assert "backtest recorded" in capsys.readouterr().out

    # a run that did not backtest this task: trained, not recorded, and said so
    other = tmp_path / "h2"
    assert main([*args, "--horizon", "2", "--out", str(other), "-q"]) == 0
    assert json.loads((other / "fincast.json").read_text())["backtest_run"] is None
    err = capsys.readouterr().err
    assert "note: no backtest recorded for the model (--backtest " in err
    assert "forecast another task (horizons" in err

    # an explicit --backtest that is not a run: one line, exit 2, nothing written
    bad = ["train", "builtin:sp500", "--models", "seed-mlp", "--backtest", str(tmp_path)]
    assert main([*bad, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --backtest ") and "\n" not in err
    assert not (tmp_path / "x").exists()


def test_live_report_says_interval_coverage_is_not_available(spx, model, tmp_path, capsys):
    db = _ledger(spx, model, tmp_path / "spx.db")
    live = score_ledger(db, spx, tmp_path / "live")
    said = live.live["intervals"]
    assert "interval coverage and VaR hit rate are not available" in said
    assert "point forecasts" in said
    assert json.loads((live.run_dir / "live.json").read_text())["intervals"] == said
    assert (
        "Live interval coverage and VaR hit rate are not available"
        in (live.run_dir / "report.html").read_text()
    )
    assert main(["score", str(db), "builtin:sp500", "--out", str(tmp_path / "o")]) == 0
    assert said in capsys.readouterr().out
