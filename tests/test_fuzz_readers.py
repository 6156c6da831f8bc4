"""Fuzzing the readers and validators: whatever the file, only a FincastError escapes."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from fincast.backtest import prepare
from fincast.config import RunConfig, build_config, load_config
from fincast.data import check_min_rows, check_positive, load, summarize
from fincast.errors import ConfigError, FincastError

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)

HEADERS = [
    "Date",
    "date",
    "Close",
    "close",
    "Open",
    "Adj Close",
    "Volume",
    "ticker",
    "x",
    "",
    "Date",
]
CELLS = st.one_of(
    st.dates(
        min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2030-01-01").date()
    ).map(str),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.datetimes().map(lambda d: d.isoformat() + "+05:00"),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-1000, 10**12).map(str),
    st.sampled_from(
        [
            "",
            "inf",
            "-inf",
            "nan",
            "NA",
            "n/a",
            "AAA",
            "BBB",
            "../../x",
            "é",
            '"',
            "'",
            "1,5",
            "0",
            "-1",
        ]
    ),
    st.text(max_size=8),
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str]:
    n_cols = draw(st.integers(1, 5))
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=n_cols, max_size=n_cols))
    rows = draw(st.lists(st.lists(CELLS, min_size=n_cols, max_size=n_cols), max_size=30))
    sep = draw(st.sampled_from([",", ";", "\t", " ", "|"]))
    text = "\n".join(sep.join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    suffix = draw(st.sampled_from([".csv", ".txt", ".tsv"]))
    return data, suffix


def _load_and_check(path: Path) -> None:
    try:
        ds = load(path)
        summarize(ds)
        check_positive(ds, ds.target, "fuzz")
        check_min_rows(ds, 5, "fuzz")
        event("loaded and checked")
    except FincastError as exc:
        event(f"{type(exc).__name__}")


def _write(data: bytes, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return Path(name)


@SETTINGS
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".parquet", ".csv.gz"]))
def test_random_bytes_only_raise_fincast_errors(data, suffix):
    path = _write(data, suffix)
    try:
        _load_and_check(path)
    finally:
        path.unlink()


@SETTINGS
@given(csv_files())
@example((b"Date\n01/01/2263", ".csv"))  # found by this test: a date past 2262 overflowed
@example((b"Date,Close\n1500-01-01,1\n1500-01-02,2", ".csv"))
@example((b"date,Date\n0.0,2000-01-01", ".csv"))  # found: a second date column overwrote it
def test_random_csv_text_only_raises_fincast_errors(file):
    data, suffix = file
    path = _write(data, suffix)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _load_and_check(path)
    finally:
        path.unlink()


@st.composite
def price_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Mostly well-formed panels with a few injected faults, so that many get far."""
    names = draw(
        st.lists(
            st.sampled_from(["A", "B", "../../etc/x", "é", "C"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    parts = []
    for sid in names:
        n = draw(st.integers(1, 60))
        start = draw(st.integers(0, 30))
        dates = pd.Timestamp("2020-01-01") + pd.to_timedelta(range(start, start + n), unit="D")
        steps = draw(st.lists(st.floats(-0.05, 0.05), min_size=n, max_size=n))
        close = (100 * pd.Series(steps).add(1).cumprod()).tolist()
        faults = draw(
            st.lists(
                st.tuples(
                    st.integers(0, n - 1),
                    st.sampled_from(
                        [float("nan"), float("inf"), -1.0, 0.0, 1e308, 5e-324, "dup", "const"]
                    ),
                ),
                max_size=3,
            )
        )
        for i, value in faults:
            if value == "const":
                close = [close[0]] * n
            elif value != "dup":
                close[i] = value
        part = pd.DataFrame({"date": dates, "ticker": sid, "Close": close})
        if any(v == "dup" for _, v in faults):
            part = pd.concat([part, part.iloc[:1]], ignore_index=True)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@SETTINGS
@given(
    frame=price_frames(),
    task=st.sampled_from(["return", "level", "direction"]),
    fillna=st.sampled_from(["error", "ffill", "drop"]),
    fmt=st.sampled_from([".csv", ".parquet"]),
)
def test_validation_up_to_the_folds_only_raises_fincast_errors(frame, task, fillna, fmt):
    """Loading, checks, features, targets and folds: a FincastError or a usable run plan."""
    path = _write(b"", fmt)
    try:
        if fmt == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        config = build_config(
            {
                "data": str(path),
                "task": task,
                "fillna": fillna,
                "lookback": 3,
                "folds": 2,
                "models": ["naive"],
            }
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                prep = prepare(config)
        except FincastError as exc:
            event(f"{type(exc).__name__}")
            return
        event("prepared")
        assert len(prep.folds) == 2
        assert len(prep.design) > 0
    finally:
        path.unlink()


@SETTINGS
@given(
    frame=price_frames(),
    cell=CELLS,
    where=st.tuples(st.integers(0, 200), st.integers(0, 2)),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
)
def test_mutated_valid_csv_only_raises_fincast_errors(frame, cell, where, sep, encoding):
    """A well-formed file with one cell replaced by anything."""
    table = [[str(v) for v in r] for r in frame.to_numpy().tolist()]
    row, col = where
    if table:
        table[row % len(table)][col] = cell
    text = "\n".join(sep.join(r) for r in [["Date", "Ticker", "Close"], *table])
    path = _write(text.encode(encoding, errors="replace"), ".csv")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _load_and_check(path)
    finally:
        path.unlink()


CONFIG_KEYS = st.one_of(st.sampled_from(sorted(RunConfig.model_fields)), st.text(max_size=10))
CONFIG_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@SETTINGS
@given(st.dictionaries(CONFIG_KEYS, CONFIG_VALUES, max_size=6))
@example({"\n": None})  # found by this test: the key's newline split the error line
def test_random_configurations_only_raise_config_errors(values):
    try:
        config = build_config(values)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    assert RunConfig.model_validate(config.model_dump()) == config


@SETTINGS
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
@example("?")  # found by this test: YAML `?` is {None: None}, a key that is not a name
@example("1: 2")
def test_random_yaml_files_only_raise_config_errors(text):
    path = _write(text.encode("utf-8", errors="replace"), ".yaml")
    try:
        load_config(path)
    except ConfigError:
        pass
    finally:
        path.unlink()
