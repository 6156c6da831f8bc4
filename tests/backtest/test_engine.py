"""End-to-end backtests: run directory contents, determinism, leakage canary."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fincast.backtest import prepare, run_backtest
from fincast.backtest.engine import _fold_predictions
from fincast.config import build_config
from fincast.errors import ConfigError, DataError, RunError

from ..conftest import make_ohlcv

FAST = {"seed-mlp": {"epochs": 2}}


def cfg(data, out, **kw):
    values = {"data": str(data), "out": str(out), "models": FAST, "folds": 3}
    values.update(kw)
    return build_config(values)


def test_backtest_on_builtin_sp500_writes_a_complete_run(tmp_path):
    out = tmp_path / "run"
    result = run_backtest(cfg("builtin:sp500", out, epochs=1))
    names = {p.name for p in out.iterdir()}
    assert {"config.yaml", "predictions.csv", "metrics.json", "manifest.json", "plots"} <= names
    assert ".lock" not in names and "parts" not in names
    pred = pd.read_csv(out / "predictions.csv")
    assert list(pred.columns) == [
        "id",
        "date",
        "fold",
        "model",
        "horizon",
        "y_true",
        "y_pred",
        "fwd_return",
    ]
    assert set(pred["model"]) == {"naive", "mean", "seed-mlp"}
    # every model is scored on exactly the same rows
    keys = {m: set(map(tuple, g[["date", "fold"]].to_numpy())) for m, g in pred.groupby("model")}
    assert keys["naive"] == keys["mean"] == keys["seed-mlp"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "return" and metrics["horizon"] == 1
    m = metrics["models"]["seed-mlp"]
    assert {"mse", "rmse", "mae", "r2", "direction_accuracy", "skill_vs_naive"} <= set(m)
    assert set(m["folds"]) == {"0", "1", "2"}
    assert metrics["models"]["naive"]["skill_vs_naive"] == pytest.approx(0.0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seed"] == 0
    assert manifest["versions"]["keras"] and len(manifest["dataset"]["sha256"]) == 64
    assert (out / "plots" / "cumulative_returns.png").stat().st_size > 1000
    assert result.run_dir == out
    # the fold boundaries respect the gap
    for f in metrics["folds"]:
        assert f["train_end"] < f["test_start"]


def test_same_seed_gives_byte_identical_predictions(tmp_path, ohlcv_csv):
    a = run_backtest(cfg(ohlcv_csv, tmp_path / "a", seed=3))
    b = run_backtest(cfg(ohlcv_csv, tmp_path / "b", seed=3))
    assert (a.run_dir / "predictions.csv").read_bytes() == (
        b.run_dir / "predictions.csv"
    ).read_bytes()
    c = run_backtest(cfg(ohlcv_csv, tmp_path / "c", seed=4))
    assert (a.run_dir / "predictions.csv").read_bytes() != (
        c.run_dir / "predictions.csv"
    ).read_bytes()


def test_config_yaml_reruns_the_same_backtest(tmp_path, ohlcv_csv):
    from fincast.config import load_config

    a = run_backtest(cfg(ohlcv_csv, tmp_path / "a", task="direction", horizon=[2]))
    again = load_config(a.run_dir / "config.yaml", {"out": str(tmp_path / "b")})
    b = run_backtest(again)
    assert (a.run_dir / "predictions.csv").read_bytes() == (
        b.run_dir / "predictions.csv"
    ).read_bytes()
    assert b.metrics["task"] == "direction"
    assert {"accuracy", "f1", "confusion_matrix", "roc_auc"} <= set(b.metrics["models"]["seed-mlp"])


def test_rows_outside_a_folds_training_never_influence_its_forecasts(tmp_path, ohlcv_csv):
    """Scalers and weights are fitted on the fold's training rows only."""
    prep = prepare(cfg(ohlcv_csv, tmp_path / "x"))
    fold = prep.folds[1]
    d = prep.design
    base, _ = _fold_predictions(prep, "seed-mlp", fold, 11)
    outside = ~fold.train_mask(d.date_pos)
    test = fold.test_mask(d.date_pos)
    X2 = d.X.copy()
    X2[outside & ~test] = 1e3  # rows neither trained on nor tested (gap, later folds)
    y2 = d.y.copy()
    y2[outside] = 99.0  # every target outside training, the test block's included
    changed_prep = replace(prep, design=replace(d, X=X2, y=y2))
    changed, _ = _fold_predictions(changed_prep, "seed-mlp", fold, 11)
    np.testing.assert_array_equal(base["y_pred"].to_numpy(), changed["y_pred"].to_numpy())
    assert not np.array_equal(base["y_true"].to_numpy(), changed["y_true"].to_numpy())


def test_panel_runs_and_skips_short_series(tmp_path):
    df = make_ohlcv(200, ids=("AAA", "BBB"))
    short = make_ohlcv(20, ids=("CCC",))
    path = tmp_path / "panel.csv"
    pd.concat([df, short]).to_csv(path, index=False)
    result = run_backtest(cfg(path, tmp_path / "run"))
    assert set(result.predictions["id"]) == {"AAA", "BBB"}
    assert any("CCC" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("kw", "exc", "words"),
    [
        ({"models": {"lstmx": {}}}, ConfigError, "not known"),
        ({"gap": 0, "horizon": [3]}, ConfigError, "gap 0 is shorter than the horizon"),
        ({"folds": 400}, DataError, "needs at least 822"),
        ({"lookback": 5000}, DataError, "needs at least"),
    ],
)
def test_bad_settings_fail_before_anything_is_written(tmp_path, ohlcv_csv, kw, exc, words):
    out = tmp_path / "run"
    with pytest.raises(exc, match=words):
        run_backtest(cfg(ohlcv_csv, out, **kw))
    assert not out.exists()


def test_refuses_a_non_empty_or_complete_run_directory(tmp_path, ohlcv_csv):
    out = tmp_path / "run"
    run_backtest(cfg(ohlcv_csv, out, models={}))
    with pytest.raises(RunError, match="already holds a complete run"):
        run_backtest(cfg(ohlcv_csv, out, models={}))


@pytest.mark.slow
def test_leakage_canary_random_walk_direction_accuracy_is_a_coin_flip(tmp_path):
    """On a pure random walk nothing is predictable: accuracy must stay within 50% ± 3."""
    rng = np.random.default_rng(2024)
    n = 3000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    path = tmp_path / "rw.csv"
    pd.DataFrame({"date": pd.bdate_range("2000-01-03", periods=n), "close": close}).to_csv(
        path, index=False
    )
    result = run_backtest(
        cfg(path, tmp_path / "run", task="direction", folds=5, models={"seed-mlp": {"epochs": 10}})
    )
    m = result.metrics["models"]["seed-mlp"]
    assert m["n_predictions"] >= 2000
    assert 0.47 <= m["accuracy"] <= 0.53


def test_resume_trusts_only_parts_that_read_back_whole(tmp_path):
    """A part cut at a row boundary (still valid CSV), one of another model or with a
    missing forecast is not a finished piece; an intact one is (issue 18)."""
    from fincast.backtest.engine import WorkUnit, _part_problem, run_unit
    from fincast.predictions import write_predictions

    csv = tmp_path / "p.csv"
    make_ohlcv(200, seed=3).drop(columns="ticker").to_csv(csv, index=False)
    prep = prepare(cfg(csv, tmp_path / "run", models=["naive"], baselines=["naive", "ridge"]))
    unit = WorkUnit(1, "ridge", 1)
    frame = run_unit(prep, unit).frame
    assert frame is not None and len(frame) > 2
    part, fail = tmp_path / "ridge__fold1.csv", tmp_path / "ridge__fold1.failed.json"
    write_predictions(part, frame)
    assert _part_problem(prep, unit, part, fail) is None
    lines = part.read_text().splitlines(keepends=True)
    part.write_text("".join(lines[:-1]))  # one whole row short: parses, but is not finished
    assert "rows instead of" in _part_problem(prep, unit, part, fail)
    part.write_text("".join(lines)[: len("".join(lines)) // 2])  # torn mid-row
    assert _part_problem(prep, unit, part, fail) is not None
    write_predictions(part, frame.assign(model="mean"))
    assert _part_problem(prep, unit, part, fail) == "rows of another model or fold"
    write_predictions(part, frame.assign(y_pred=frame["y_pred"].where(frame.index > 0)))
    assert _part_problem(prep, unit, part, fail) == "missing or non-finite forecasts"
    part.write_text("")
    assert _part_problem(prep, unit, part, fail) is not None


def test_parts_are_written_through_a_temporary_file_renamed_into_place(tmp_path, monkeypatch):
    """A crash mid-write leaves no part (or the old one), never a partial file (issue 18)."""
    import fincast.rundir as rundir
    from fincast.predictions import write_predictions

    part = tmp_path / "parts" / "ridge__fold0.csv"
    frame = pd.DataFrame({"id": ["a"], "date": ["2020-01-01"], "y_pred": [1.0]})
    seen = []

    def crash(src, dst):  # the data are complete in the temporary file, the target untouched
        seen.append((Path(src).read_text(), Path(dst).exists()))
        raise OSError("crash before the rename")

    monkeypatch.setattr(rundir.os, "replace", crash)
    with pytest.raises(OSError):
        write_predictions(part, frame)
    assert seen == [("id,date,y_pred\na,2020-01-01,1\n", False)]
    assert list(part.parent.iterdir()) == []  # no part, no temporary file left
