"""Memory-bounded design (issue 26): the sharded, preallocated path gives the same bits.

* ``build_design`` builds features series shard by series shard into one float32 matrix
  (:func:`fincast.design.feature_matrix`); whatever the shard size, every array of the
  design is equal bit for bit to the plain whole-frame path (``build_features`` on the whole
  frame, ``to_numpy("float64")``, ``X[ok].astype("float32")``), also as a hypothesis property
  over ragged panels with holes.
* A fold's training rows are not a copy of the design: ``Design.batch`` hands the model the
  design's own matrix and the rows, and ``for_fold`` of a task without fitted labels returns
  the same arrays (``np.shares_memory``).
* Ridge fitted on such a batch (one float64 copy, scaled and centred in place) forecasts the
  same bits as sklearn's copying pipeline on a materialised copy, and leaves the design and
  a caller's float64 array untouched.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fincast.design as design_mod
from fincast.data.dataset import Dataset
from fincast.design import build_design, series_shards
from fincast.features import FeatureSpec, build_features
from fincast.models import make_model
from fincast.models.base import Batch
from fincast.tasks import TaskSpec

from .conftest import make_ohlcv

ROLES = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}
ARRAYS = ("ids", "dates", "date_pos", "calendar", "X", "y", "naive", "fwd_return")


def _panel(n: int, n_ids: int, seed: int, missing: int = 0, holes: int = 0) -> pd.DataFrame:
    f = make_ohlcv(n, seed=seed, ids=tuple(f"S{i}" for i in range(n_ids)))
    f = f.rename(columns={"ticker": "id"})
    rng = np.random.default_rng(seed)
    if missing:  # ragged series: missing dates
        f = f.drop(index=rng.choice(f.index, min(missing, len(f) - 1), replace=False))
    if holes:  # missing values: rows whose features are not finite
        f.loc[rng.choice(f.index, min(holes, len(f)), replace=False), "Volume"] = np.nan
    if n_ids > 1:  # series of different lengths
        f = f[~((f["id"] == "S0") & (f["date"] < f["date"].iloc[n // 3]))]
    return f.sort_values(["id", "date"], kind="stable").reset_index(drop=True)


def _dataset(f: pd.DataFrame) -> Dataset:
    return Dataset(f, "x", "x", "Close", dict(ROLES))


def _build(ds: Dataset, shard_rows: int, monkeypatch: pytest.MonkeyPatch, **kw):
    monkeypatch.setattr(design_mod, "SHARD_ROWS", shard_rows)
    return build_design(ds, **kw)


def _same(a, b) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        if x.dtype == object:
            assert list(x) == list(y), name
        else:
            assert x.tobytes() == y.tobytes(), name
    assert a.feature_names == b.feature_names
    assert (a.windows is None) == (b.windows is None)
    if a.windows is not None:
        assert a.windows.tobytes() == b.windows.tobytes()
    assert a.target_end_pos.tobytes() == b.target_end_pos.tobytes()


def _plain_X(ds: Dataset, spec: FeatureSpec, design) -> np.ndarray:
    """The whole-frame path: every feature in float64 at once, the design's rows, float32."""
    feats = build_features(ds.frame, ds.target, ds.roles, spec)
    place = pd.Series(
        np.arange(len(ds.frame)), index=pd.MultiIndex.from_frame(ds.frame[["id", "date"]])
    )
    rows = place.loc[list(zip(design.ids, design.dates, strict=True))].to_numpy()
    return feats.to_numpy(dtype="float64")[rows].astype("float32")


def test_series_shards_cover_whole_series_in_order():
    ids = pd.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 4 + ["d"])
    assert series_shards(ids, 1) == [(0, 5), (5, 8), (8, 12), (12, 13)]
    assert series_shards(ids, 8) == [(0, 8), (8, 13)]
    assert series_shards(ids, 100) == [(0, 13)]
    assert series_shards(pd.Series(["a", "b", "a"]), 1) == [(0, 3)]  # not contiguous: one


@pytest.mark.parametrize("kind", ["default", "default+calendar", "raw"])
@pytest.mark.parametrize("task", ["return", "volatility", "trend3"])
def test_sharded_design_is_the_whole_frame_design_bit_for_bit(kind, task, monkeypatch):
    ds = _dataset(_panel(90, 4, seed=3, missing=12, holes=5))
    kw = dict(task=TaskSpec(task), features=FeatureSpec(kind, 6), windows=True)
    whole = _build(ds, 10**9, monkeypatch, **kw)
    for rows in (1, 50, 100, 200):
        _same(_build(ds, rows, monkeypatch, **kw), whole)
        _same(_build(ds, rows, monkeypatch, **kw, series_ids=ds.ids), _build(
            ds, 10**9, monkeypatch, **kw, series_ids=ds.ids
        ))  # fmt: skip
    np.testing.assert_array_equal(whole.X, _plain_X(ds, FeatureSpec(kind, 6), whole))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(20, 60),
    n_ids=st.integers(1, 5),
    lookback=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    missing=st.integers(0, 10),
    holes=st.integers(0, 6),
    shard_rows=st.integers(1, 120),
    task=st.sampled_from(["return", "volatility", "level", "direction"]),
    calendar=st.booleans(),
)
def test_any_shard_size_gives_the_plain_design(
    n, n_ids, lookback, seed, missing, holes, shard_rows, task, calendar
):
    ds = _dataset(_panel(n, n_ids, seed, missing, holes))
    spec = FeatureSpec("default+calendar" if calendar else "default", lookback)
    kw = dict(task=TaskSpec(task), features=spec, windows=True, require_target=False)
    with pytest.MonkeyPatch.context() as mp:
        whole = _build(ds, 10**9, mp, **kw)
        sharded = _build(ds, shard_rows, mp, **kw)
    _same(sharded, whole)
    log = TaskSpec(task).uses_log(ds.target, ds.roles)
    if log:  # the plain path's features (log steps, as build_design asks for this task)
        np.testing.assert_array_equal(whole.X, _plain_X(ds, spec, whole))


def test_a_folds_rows_are_not_a_copy_of_the_design():
    ds = _dataset(_panel(200, 3, seed=1))
    d = build_design(ds, TaskSpec("return"), FeatureSpec(lookback=5))
    train = d.date_pos < 120
    assert d.for_fold(train) is d  # no fitted labels, no series columns: the same design
    batch = d.batch(train)
    assert batch._X is None and np.shares_memory(batch._source, d.X)  # rows, not a copy
    rows = np.flatnonzero(train)
    assert len(batch) == len(rows)
    as64 = batch.features("float64")
    assert batch._X is None  # gathering for a model did not keep a float32 copy
    assert not np.shares_memory(as64, d.X)
    assert as64.tobytes() == np.array(d.X[rows], dtype="float64").tobytes()
    assert batch.column(2).tobytes() == d.X[rows, 2].tobytes()
    sub = batch.take(np.arange(len(rows)) % 3 == 0)
    assert sub._X is None and sub.X.tobytes() == d.X[rows[::3]].tobytes()
    assert batch.X.tobytes() == d.X[rows].tobytes()  # read as X: materialised once, kept
    assert batch.X is batch.X
    ordered = d.chronological(train)
    assert ordered.X.tobytes() == d.X[rows[np.argsort(d.date_pos[rows], kind="stable")]].tobytes()


def test_chunked_gather_equals_plain_indexing(monkeypatch):
    rng = np.random.default_rng(0)
    source = rng.normal(size=(1000, 7)).astype("float32")
    rows = np.sort(rng.choice(1000, 600, replace=False))
    monkeypatch.setattr(Batch, "CHUNK_ROWS", 37)
    b = Batch.of_rows(source, rows, np.zeros((600, 1)))
    assert b.features("float64").tobytes() == np.array(source[rows], "float64").tobytes()
    assert b.features("float32").tobytes() == source[rows].tobytes()


@pytest.mark.parametrize("task", ["return", "level", "trend3", "direction"])
def test_ridge_on_rows_of_the_design_forecasts_the_copying_pipelines_bits(task):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ds = _dataset(_panel(300, 3, seed=5, missing=9))
    spec = TaskSpec(task)
    d = build_design(ds, spec, FeatureSpec(lookback=8))
    if spec.fitted_labels:
        d = d.for_fold(d.date_pos < 200)
    before = d.X.copy()
    train, test = d.date_pos < 200, d.date_pos >= 205
    model = make_model("ridge", spec).fit(d.batch(train))
    out = model.predict(d.batch(test))
    assert d.X.tobytes() == before.tobytes()  # nothing scaled in the design's own matrix
    eager = make_model("ridge", spec).fit(Batch(d.X[train], d.naive[train], d.y[train]))
    assert eager.predict(Batch(d.X[test], d.naive[test])).tobytes() == out.tobytes()
    if not spec.is_classification:  # sklearn's default, copying pipeline: the same bits
        X = np.asarray(d.X[train], dtype="float64")
        target = d.y[train] - d.naive[train] if spec.forecasts_level else d.y[train]
        ref = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X, target)
        expected = ref.predict(np.asarray(d.X[test], dtype="float64")).reshape(len(out), -1)
        if spec.forecasts_level:
            expected = expected + d.naive[test]
        assert expected.tobytes() == out.tobytes()
    else:  # sklearn's copying scaler and logistic regressions: the same bits
        from sklearn.linear_model import LogisticRegression

        scaler = StandardScaler().fit(np.asarray(d.X[train], dtype="float64"))
        assert _scaler_bits(model.scaler_) == _scaler_bits(scaler)
        Xs = scaler.transform(np.asarray(d.X[train], dtype="float64"))
        Xt = scaler.transform(np.asarray(d.X[test], dtype="float64"))
        probs = []
        for j in range(d.y.shape[1]):
            labels = d.y[train][:, j].astype("int64")
            clf = LogisticRegression(C=1.0, max_iter=500).fit(Xs, labels)
            prob = clf.predict_proba(Xt)
            probs.append(prob if spec.output == "multiclass" else prob[:, 1:2])
        assert np.concatenate(probs, axis=1).tobytes() == out.tobytes()
    caller = np.asarray(d.X[test], dtype="float64")
    kept = caller.copy()
    model.predict(Batch(caller, d.naive[test]))
    assert caller.tobytes() == kept.tobytes()  # a caller's float64 array is not scaled


def test_a_handed_over_run_frees_its_frame_to_train_and_its_design_to_publish(
    tmp_path, monkeypatch
):
    import weakref

    from fincast.backtest import engine
    from fincast.config import RunConfig

    f = make_ohlcv(400, seed=2, ids=("A", "B", "C")).rename(columns={"ticker": "id"})
    path = tmp_path / "panel.csv"
    f.to_csv(path, index=False)
    out = tmp_path / "r"
    config = RunConfig(data=str(path), models=["ridge"], baselines=["naive"], out=str(out))
    seen: dict[str, bool] = {}
    publish, fold_setup = engine.publish, engine._fold_setup

    def spy_publish(*args, **kwargs):
        seen["design freed to publish"] = design() is None
        return publish(*args, **kwargs)

    def spy_setup(*args, **kwargs):
        seen.setdefault("frame freed to train", frame() is None)
        return fold_setup(*args, **kwargs)

    monkeypatch.setattr(engine, "publish", spy_publish)
    monkeypatch.setattr(engine, "_fold_setup", spy_setup)
    prep = engine.prepare(config)
    design, frame = weakref.ref(prep.design), weakref.ref(prep.dataset.frame)
    rows, series = len(prep.dataset.frame), len(prep.dataset.ids)
    handed = [prep]
    del prep
    result = engine.run_backtest(config, prepared=handed.pop(), csv=True)
    assert seen == {"frame freed to train": True, "design freed to publish": True}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"]["rows"] == rows and manifest["dataset"]["series"] == series
    assert len(result.predictions) == len(pd.read_csv(out / "predictions.csv"))


def test_large_copies_are_made_by_one_thread_at_a_time(monkeypatch):
    import threading
    import time

    from fincast import _threads

    monkeypatch.setattr(_threads, "LARGE_COPY_BYTES", 1000)
    inside, most = [0], [0]
    lock = threading.Lock()

    def work(nbytes: int) -> None:
        with _threads.large_copy(nbytes):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    def run(nbytes: int) -> int:
        most[0] = 0
        threads = [threading.Thread(target=work, args=(nbytes,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return most[0]

    assert run(1000) == 1  # large: serialised
    assert run(999) > 1  # small: they do not wait


def _scaler_bits(scaler) -> tuple:
    return (
        scaler.mean_.tobytes(),
        scaler.var_.tobytes(),
        scaler.scale_.tobytes(),
        type(scaler.n_samples_seen_),
        np.asarray(scaler.n_samples_seen_).tobytes(),
        scaler.n_features_in_,
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(38, 200),
    f=st.integers(1, 30),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1e-8, 1.0, 1e6]),
    special=st.sampled_from(["none", "constant", "negzero", "huge-offset"]),
)
def test_ridge_scaler_fit_in_chunks_is_sklearns_bit_for_bit(n, f, seed, scale, special):
    """The ridge's scaler is fitted a chunk of rows at a time (no full-size temporaries on
    large panels): the same mean, variance, scale and transform as StandardScaler's fit;
    the networks' input moments are numpy's mean and std."""
    from sklearn.preprocessing import StandardScaler

    from fincast.models import _chunked, ridge

    rng = np.random.default_rng(seed)
    X = rng.standard_t(3, size=(n, f)) * scale
    if special == "constant":
        X[:, 0] = 0.1
    elif special == "negzero":
        X[:, 0] = -0.0
    elif special == "huge-offset":
        X[:, -1] += 1e9
    want = StandardScaler(copy=False).fit(X.copy())
    old = _chunked.CHUNK_ROWS
    _chunked.CHUNK_ROWS = 37  # several chunks (hypothesis runs without fixtures)
    try:
        got = ridge._fit_scaler(X)
        mean, std = _chunked.mean_std(X) if _chunked.chunkable(X) else (X.mean(0), X.std(0))
    finally:
        _chunked.CHUNK_ROWS = old
    assert _scaler_bits(got) == _scaler_bits(want)
    assert got.transform(X.copy()).tobytes() == want.transform(X.copy()).tobytes()
    # the networks' input scaler: numpy's mean and std, bit for bit
    assert mean.tobytes() == X.mean(axis=0).tobytes()
    assert std.tobytes() == X.std(axis=0).tobytes()


def test_ridge_scaler_takes_sklearns_fit_for_what_it_does_not_chunk(monkeypatch):
    from sklearn.preprocessing import StandardScaler

    from fincast.models import _chunked, ridge

    monkeypatch.setattr(_chunked, "CHUNK_ROWS", 10)
    X = np.random.default_rng(1).normal(size=(50, 3))
    X[7, 1] = np.nan  # NaN: sklearn ignores it in the moments
    got, want = ridge._fit_scaler(X.copy()), StandardScaler().fit(X.copy())
    assert _scaler_bits(got) == _scaler_bits(want)
    X[7, 1] = np.inf  # sklearn's own error
    with pytest.raises(ValueError, match="infinity"):
        ridge._fit_scaler(X)
    small = np.random.default_rng(2).normal(size=(10, 2))
    assert _scaler_bits(ridge._fit_scaler(small)) == _scaler_bits(StandardScaler().fit(small))
