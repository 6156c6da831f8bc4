"""The Python API as a notebook user meets it: DataFrames in, results in memory out."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

import fincast
from fincast.errors import DataError

from .conftest import make_ohlcv

CORPUS = Path(__file__).parent / "data" / "bad"
FAST = {"epochs": 2, "folds": 2, "lookback": 5}


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_notebook_dataframe_in_results_out_nothing_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    df = make_ohlcv(ids=("AAA", "BBB"))
    before_df = copy.deepcopy(df)
    result = fincast.backtest(df, models=["seed-mlp"], **FAST)
    assert _files(tmp_path) == set(), "out=None (the default for a DataFrame) wrote files"
    assert result.run_dir is None
    pd.testing.assert_frame_equal(df, before_df)  # the user's frame is untouched
    preds = result.predictions
    assert isinstance(preds, pd.DataFrame)
    assert {"naive", "seed-mlp"} <= set(preds["model"]) and set(preds["id"]) == {"AAA", "BBB"}
    verdict = result.verdict
    assert isinstance(verdict, pd.DataFrame)
    assert "seed-mlp" in set(verdict["model"]) and "naive" not in set(verdict["model"])
    assert {"status", "skill_vs_naive", "dm_p_value"} <= set(verdict.columns)
    assert result.metrics["models"]["seed-mlp"]["skill_vs_naive"] == pytest.approx(
        verdict.set_index("model").loc["seed-mlp", "skill_vs_naive"]
    )
    figures = result.plot()
    assert {"actual_vs_predicted", "cumulative_returns", "drawdown"} <= set(figures)
    assert figures["drawdown"].startswith(b"\x89PNG")
    assert "data:image/png;base64," in figures._repr_html_()
    assert "id='verdict'" in result.report().html
    assert "seed-mlp" in result._repr_html_() and "<table" in result._repr_html_()
    assert _files(tmp_path) == set()


def test_dataframe_and_file_give_the_same_predictions(tmp_path, ohlcv_csv):
    df = pd.read_csv(ohlcv_csv)
    in_memory = fincast.backtest(df, models=["seed-mlp"], out=None, **FAST)
    on_disk = fincast.backtest(str(ohlcv_csv), models=["seed-mlp"], out=tmp_path / "r", **FAST)
    assert on_disk.run_dir == tmp_path / "r" and (tmp_path / "r" / "report.html").is_file()
    cols = [c for c in on_disk.predictions.columns if c != "id"]  # the series is named "data"
    pd.testing.assert_frame_equal(in_memory.predictions[cols], on_disk.predictions[cols])
    assert set(on_disk.plot()) == {p.stem for p in (tmp_path / "r" / "plots").glob("*.png")}


def test_a_path_still_writes_a_run_directory_by_default(tmp_path, monkeypatch, ohlcv_csv):
    monkeypatch.chdir(tmp_path)
    result = fincast.backtest(str(ohlcv_csv), models=["naive"], folds=2)
    assert result.run_dir is not None and (result.run_dir / "predictions.csv").is_file()
    assert fincast.backtest(str(ohlcv_csv), models=["naive"], folds=2, out=None).run_dir is None


def test_train_and_predict_from_dataframes_in_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    df = make_ohlcv()
    before_df = copy.deepcopy(df)
    model = fincast.train(df, models=["seed-mlp"], epochs=2, lookback=5)
    assert model.model_dir is None and _files(tmp_path) == set()
    forecast = fincast.predict(model, df)
    assert forecast["origin"].tolist() == [df["date"].max().date().isoformat()]
    saved = fincast.train(df, models=["seed-mlp"], epochs=2, lookback=5, out="m")
    assert (tmp_path / "m" / "model.keras").is_file()
    again = fincast.predict(saved, df)
    assert again["forecast"].iloc[0] == pytest.approx(forecast["forecast"].iloc[0], rel=1e-5)
    pd.testing.assert_frame_equal(df, before_df)


#: Corpus files whose problem is in the table itself (not the file format).
TABLE_PROBLEMS = [
    "duplicate_dates.csv",
    "all_one_date.csv",
    "no_date_column.csv",
    "missing_date.csv",
    "impossible_date.csv",
    "date_out_of_range.csv",
    "all_nan_target.csv",
    "inf_values.csv",
    "missing_values.csv",
    "text_in_numeric.csv",
    "empty_ticker.csv",
    "negative_prices.csv",
    "too_short.csv",
    "currency_close.csv",
]


@pytest.mark.parametrize("name", TABLE_PROBLEMS)
def test_bad_dataframes_raise_the_files_one_line_error(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entry = next(
        e for e in yaml.safe_load((CORPUS / "manifest.yaml").read_text()) if e["file"] == name
    )
    df = pd.read_csv(CORPUS / name)
    before_df = copy.deepcopy(df)
    with pytest.raises(DataError) as caught:
        fincast.backtest(df, models=["naive"])
    message = str(caught.value)
    assert "\n" not in message and message.startswith("<DataFrame>: ")
    stem = name.split(".")[0]  # a DataFrame's one series is called "data", a file's its stem
    assert entry["error"].replace(name, "<DataFrame>").replace(f"series {stem}", "series data") in (
        message
    )
    pd.testing.assert_frame_equal(df, before_df)
    assert _files(tmp_path) == set()


def test_data_of_another_type_is_a_clear_error():
    with pytest.raises(fincast.ConfigError, match="path, builtin:NAME or a pandas DataFrame"):
        fincast.backtest([1, 2, 3])


def test_tune_takes_a_dataframe(tmp_path):
    pytest.importorskip("optuna")
    df = make_ohlcv()
    before_df = copy.deepcopy(df)
    space = {"epochs": {"low": 1, "high": 2}, "batch_size": [64]}
    result = fincast.tune(
        df,
        out=tmp_path / "t",
        models={"seed-mlp": {"epochs": 1}},
        folds=2,
        search_space=space,
        trials=2,
        inner=2,
        backtest=False,
    )
    assert result.n_trials == 2 and result.best_params["batch_size"] == 64
    pd.testing.assert_frame_equal(df, before_df)
