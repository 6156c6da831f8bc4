"""fincast._csv writes the same bytes as pandas' to_csv, or declines (None)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast._csv import csv_text, to_csv_text
from fincast.predictions import read_predictions, write_predictions


def _pandas(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")


def _table(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 0.01, n)
    y[::7] = np.nan
    return pd.DataFrame(
        {
            "id": np.repeat(["T0001", "0042", "a b"], n)[:n],
            "date": pd.to_datetime(np.tile(pd.bdate_range("1999-12-30", periods=n), 1)),
            "fold": np.arange(n) % 3,
            "model": "ridge",
            "horizon": np.uint8(5),
            "y_true": y,
            "y_pred": np.r_[[0.0, -0.0, np.inf, -np.inf, 1e-300, 1.5e300, 123456789012.0], y[7:]],
            "flag": np.arange(n) % 2 == 0,
            "f32": rng.normal(0, 1, n).astype("float32"),
        }
    )


def test_same_bytes_as_pandas_on_a_predictions_like_table() -> None:
    frame = _table()
    text = csv_text(frame)
    assert text is not None  # this table takes the fast path
    assert text == _pandas(frame)


def test_same_bytes_on_a_table_read_back_from_csv(tmp_path) -> None:
    """predictions.csv is written from tables read back from the parts (str ids, us dates)."""
    path = tmp_path / "p.csv"
    path.write_text(_pandas(_table(30)))
    frame = read_predictions(path)
    assert isinstance(frame["id"].dtype, pd.StringDtype)
    assert csv_text(frame) == _pandas(frame)


def test_empty_table_is_its_header() -> None:
    frame = _table().iloc[:0]
    assert csv_text(frame) == _pandas(frame)


@pytest.mark.parametrize(
    "change",
    [
        {"id": ["a,b"] * 50},  # would be quoted
        {"id": ['say "x"'] * 50},
        {"id": ["line\nbreak"] * 50},
        {"id": [None] + ["T1"] * 49},  # missing string: na_rep
        {"date": pd.to_datetime(["2000-01-03 09:30"] * 50)},  # intraday
        {"date": pd.to_datetime([None] + ["2000-01-03"] * 49)},  # NaT
        {"date": pd.date_range("2000-01-03", periods=50, tz="UTC")},  # time zone
        {"fold": pd.array([1, None] * 25, dtype="Int64")},  # nullable
        {"model": pd.Categorical(["a", "b"] * 25)},
    ],
)
def test_declines_what_pandas_writes_its_own_way(change) -> None:
    frame = _table().assign(**change)
    assert csv_text(frame) is None
    assert to_csv_text(frame) == _pandas(frame)  # and the caller gets pandas' bytes


def test_declines_a_single_column() -> None:
    frame = pd.DataFrame({"id": ["", "a"]})  # the csv module quotes a lone empty field
    assert csv_text(frame) is None
    assert to_csv_text(frame) == _pandas(frame)


def test_write_predictions_round_trip(tmp_path) -> None:
    frame = _table()
    path = write_predictions(tmp_path / "predictions.csv", frame)
    assert path.read_text() == _pandas(frame)


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(finite_or_not, min_size=1, max_size=30),
    st.lists(st.text(alphabet="abcXYZ019 _.-", min_size=1, max_size=6), min_size=1, max_size=5),
)
def test_property_same_bytes(values, ids) -> None:
    n = len(values)
    frame = pd.DataFrame({"id": [ids[i % len(ids)] for i in range(n)], "x": values, "n": range(n)})
    assert csv_text(frame) == _pandas(frame)


@pytest.mark.parametrize(
    "change",
    [
        {},
        # pandas decides these from the whole column: a chunk alone would be written otherwise
        {"date": pd.to_datetime(["2000-01-03"] * 45 + ["2000-01-03 09:30"] * 5, format="ISO8601")},
        {"id": ["T1"] * 45 + ["a,b"] * 5},
        {"id": ["T1"] * 45 + [None] * 5},
    ],
)
def test_written_in_chunks_the_same_bytes(tmp_path, monkeypatch, change) -> None:
    """write_csv builds the text a chunk of rows at a time (bounded memory on large parts):
    the same bytes as pandas writing the whole frame, also when only a later chunk holds
    what pandas formats from the whole column."""
    from fincast import _csv

    frame = _table().assign(**change)
    monkeypatch.setattr(_csv, "CHUNK_ROWS", 7)
    written: list[int] = []  # the sizes of the writes write_csv makes
    real = _csv.to_csv_bytes

    def counted(*args, **kwargs):
        for chunk in real(*args, **kwargs):
            written.append(len(chunk))
            yield chunk

    monkeypatch.setattr(_csv, "to_csv_bytes", counted)
    path = write_predictions(tmp_path / "p.csv", frame)
    assert path.read_text() == _pandas(frame)
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]  # no temporary file left
    if not change:
        assert len(written) == 8  # 50 rows, 7 at a time
    else:  # chunks written before the one pandas must write whole were discarded
        assert 1 <= len(written) < 8


def test_chunks_stop_where_pandas_must_write_the_whole_frame() -> None:
    from fincast._csv import NotChunked, to_csv_bytes

    frame = _table().assign(
        date=pd.to_datetime(["2000-01-03"] * 45 + ["2000-01-03 09:30"] * 5, format="ISO8601")
    )
    chunks = to_csv_bytes(frame, rows=10)
    assert next(chunks).startswith(b"id,date,")  # the first chunks are fast-path text
    with pytest.raises(NotChunked):
        list(chunks)
