"""join_parts gives the bytes of reading the parts back and writing them again, or None."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fincast.predictions import join_parts, write_predictions


def _part(ids, fold: int, model: str, seed: int = 0, **extra) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(ids) * 4
    y = rng.normal(0, 0.01, n)
    y[::5] = np.nan
    frame = pd.DataFrame(
        {
            "id": np.repeat(ids, 4),
            "date": np.tile(pd.bdate_range("2001-01-01", periods=4), len(ids)),
            "fold": fold,
            "model": model,
            "horizon": 1,
            "y_true": y,
            "y_pred": rng.normal(0, 0.001, n),
            "fwd_return": y,
        }
    )
    return frame.assign(**extra)


def _old_way(paths) -> bytes:
    """What the backtest did before: read every part, concatenate, write."""
    frames = [pd.read_csv(p) for p in paths]
    out = paths[0].parent / "old.csv"
    write_predictions(out, pd.concat(frames, ignore_index=True))
    return out.read_bytes()


def _write(tmp_path, frames) -> list:
    paths = []
    for i, frame in enumerate(frames):
        paths.append(write_predictions(tmp_path / f"part{i}.csv", frame))
    return paths


IDS = ["AAPL", "T0001", "a b", "x,y"]


def test_joined_parts_are_the_bytes_of_reading_and_writing_them(tmp_path) -> None:
    frames = [_part(IDS, f, m, seed=f) for m in ("naive", "ridge") for f in range(3)]
    frames[0]["y_pred"] = 0.0  # an all-integral float column reads back as integers
    paths = _write(tmp_path, frames)
    joined = join_parts(paths, [*IDS, "naive", "ridge"])
    assert joined is not None
    assert joined == _old_way(paths)


@pytest.mark.parametrize("bad_id", ["0001", "1.5", "NA", "True", "nan", ""])
def test_ids_pandas_would_convert_are_refused(tmp_path, bad_id: str) -> None:
    paths = _write(tmp_path, [_part(["AAPL", bad_id], 0, "m"), _part(["AAPL"], 1, "m")])
    assert join_parts(paths, ["AAPL", bad_id, "m"]) is None


def test_a_numeric_looking_model_name_is_refused(tmp_path) -> None:
    paths = _write(tmp_path, [_part(IDS, 0, "42")])
    assert join_parts(paths, [*IDS, "42"]) is None


def test_different_headers_are_refused(tmp_path) -> None:
    paths = _write(tmp_path, [_part(IDS, 0, "m"), _part(IDS, 1, "m", seed=1, lo_0_9=0.1)])
    assert join_parts(paths, [*IDS, "m"]) is None


def test_minus_zero_in_a_column_that_reads_as_integers_is_refused(tmp_path) -> None:
    frame = _part(IDS, 0, "m").assign(y_pred=-0.0)  # "-0" everywhere: read back as 0
    paths = _write(tmp_path, [frame])
    assert b",-0," in paths[0].read_bytes()
    assert _old_way(paths) != paths[0].read_bytes()  # why: the old way wrote "0"
    assert join_parts(paths, [*IDS, "m"]) is None


def test_an_unknown_string_column_is_refused(tmp_path) -> None:
    paths = _write(tmp_path, [_part(IDS, 0, "m", note="007")])
    assert join_parts(paths, [*IDS, "m"]) is None


def test_an_empty_part_is_refused(tmp_path) -> None:
    paths = _write(tmp_path, [_part(IDS, 0, "m"), _part(IDS, 1, "m").iloc[:0]])
    assert join_parts(paths, [*IDS, "m"]) is None
