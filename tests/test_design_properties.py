"""The design (features, windows, naive forecasts, targets) as properties (issue 18).

* No look-ahead at the design level: perturbing a dataset after a date T (redrawn paths,
  sign flips where the task allows them, NaNs, missing dates, a new series) changes no X,
  window, naive forecast or known target dated up to T, for every task, OHLCV and
  single-column series, compared exactly.
* Sequence windows: ``windows[i, k]`` is the per-step feature row ``lookback - 1 - k``
  steps earlier in the same series, never another series' row nor a later one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast.data.dataset import Dataset
from fincast.design import build_design
from fincast.features import FeatureSpec, build_features, sequence_columns
from fincast.tasks import TASKS, TaskSpec

from .conftest import make_ohlcv

ROLES = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}


def _frame(n: int, n_ids: int, seed: int, single: bool, missing: int) -> pd.DataFrame:
    f = make_ohlcv(n, seed=seed, ids=tuple(f"S{i}" for i in range(n_ids)))
    f = f.rename(columns={"ticker": "id"})
    if single:  # one plain column (a rate): no OHLCV roles, values near zero
        f = f[["id", "date"]].assign(rate=np.log(f["Close"] / 100.0) * 20 + 0.3)
    rng = np.random.default_rng(seed)
    if missing:  # missing dates before T too (ragged series), the same in both datasets
        f = f.drop(index=rng.choice(f.index, missing, replace=False))
    return f.sort_values(["id", "date"], kind="stable").reset_index(drop=True)


def _dataset(f: pd.DataFrame, single: bool) -> Dataset:
    return Dataset(f, "x", "x", "rate" if single else "Close", {} if single else dict(ROLES))


def _perturb(f: pd.DataFrame, t, seed: int, how: set[str], sign: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 7)
    g = f.copy()
    later = (g["date"] > t).to_numpy()
    cols = [c for c in g.columns if c not in ("id", "date")]
    if "redraw" in how:
        for c in cols:
            g.loc[later, c] = g.loc[later, c] * np.exp(rng.normal(0, 0.3, later.sum()))
    if sign and "sign" in how:
        g.loc[later, "rate"] = -g.loc[later, "rate"] - 1.0
    if "nan" in how:
        hit = later & (rng.random(len(g)) < 0.3)
        g.loc[hit, rng.choice(cols)] = np.nan
    if "drop" in how:  # missing dates after T
        g = g.drop(index=g.index[later & (rng.random(len(g)) < 0.3)])
    if "new" in how:
        new = g[(g["date"] > t) & (g["id"] == g["id"].iloc[0])].assign(id="A_new")
        g = pd.concat([g, new])
    return g.sort_values(["id", "date"], kind="stable").reset_index(drop=True)


def _rows(design, keep: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"id": design.ids[keep], "date": design.dates[keep]})


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(30, 60),
    n_ids=st.integers(1, 3),
    lookback=st.integers(1, 6),
    cut=st.floats(0.3, 0.8),
    seed=st.integers(0, 10_000),
    task=st.sampled_from(sorted(TASKS)),
    horizon=st.integers(1, 5),
    single=st.booleans(),
    missing=st.integers(0, 6),
    how=st.sets(st.sampled_from(["redraw", "sign", "nan", "drop", "new"]), min_size=1),
)
def test_no_design_value_dated_up_to_t_changes_when_later_data_changes(
    n, n_ids, lookback, cut, seed, task, horizon, single, missing, how
):
    f = _frame(n, n_ids, seed, single, missing)
    dates = np.sort(f["date"].unique())
    t = dates[int(cut * (len(dates) - 1))]
    spec = TaskSpec(task, (horizon,))
    ds_a = _dataset(f, single)
    log = spec.uses_log(ds_a.target, ds_a.roles)
    g = _perturb(f, t, seed, how, sign=not log)  # a sign flip only where it is allowed
    ds_b = _dataset(g, single)
    features = FeatureSpec(lookback=lookback)

    # the feature table itself, row by row for the rows dated <= T
    fa = build_features(f, ds_a.target, ds_a.roles, features, log=log)
    fb = build_features(g, ds_b.target, ds_b.roles, features, log=log)
    early_a, early_b = (f["date"] <= t).to_numpy(), (g["date"] <= t).to_numpy()
    pd.testing.assert_frame_equal(
        fa[early_a].reset_index(drop=True), fb[early_b].reset_index(drop=True), check_exact=True
    )

    a = build_design(ds_a, spec, features, windows=True, require_target=False)
    b = build_design(ds_b, spec, features, windows=True, require_target=False)
    ea, eb = a.dates <= t, b.dates <= t
    pd.testing.assert_frame_equal(_rows(a, ea), _rows(b, eb), check_exact=True)
    np.testing.assert_array_equal(a.X[ea], b.X[eb])
    assert a.windows is not None and b.windows is not None
    np.testing.assert_array_equal(a.windows[ea], b.windows[eb])
    np.testing.assert_array_equal(a.naive[ea], b.naive[eb])
    assert a.feature_names == b.feature_names
    # a target dated t is unchanged where its series' row h steps later is still <= T
    end = f.groupby("id")["date"].shift(-horizon)
    known_rows = _rows(a, ea).merge(
        f.assign(end=end)[["id", "date", "end"]], on=["id", "date"], how="left"
    )
    known = (known_rows["end"] <= t).to_numpy()
    np.testing.assert_array_equal(a.y[ea][known], b.y[eb][known])
    np.testing.assert_array_equal(a.fwd_return[ea][known], b.fwd_return[eb][known])


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(25, 50),
    n_ids=st.integers(1, 3),
    lookback=st.integers(1, 7),
    seed=st.integers(0, 10_000),
    missing=st.integers(0, 8),
)
def test_window_step_k_is_the_same_series_row_lookback_minus_1_minus_k_steps_earlier(
    n, n_ids, lookback, seed, missing
):
    f = _frame(n, n_ids, seed, single=False, missing=missing)
    ds = _dataset(f, single=False)
    d = build_design(ds, TaskSpec("return"), FeatureSpec(lookback=lookback), windows=True)
    feats = build_features(f, "Close", ROLES, FeatureSpec(lookback=lookback))
    cols = sequence_columns(list(feats.columns))
    steps = feats[cols].to_numpy(dtype="float32")
    assert d.windows is not None and d.windows.shape == (len(d), lookback, len(cols))
    # each row's place in the frame, and its position within its own series
    place = pd.Series(np.arange(len(f)), index=pd.MultiIndex.from_frame(f[["id", "date"]]))
    rows = place.loc[list(zip(d.ids, d.dates, strict=True))].to_numpy()
    pos = f.groupby("id").cumcount().to_numpy()
    log_close = np.log(f["Close"].to_numpy())
    k = np.arange(lookback)
    src = rows[:, None] - (lookback - 1 - k)[None, :]  # (n, lookback) frame rows
    ids = f["id"].to_numpy()
    assert (ids[src] == d.ids[:, None]).all()  # the same series
    assert (pos[src] == pos[rows][:, None] - (lookback - 1 - k)[None, :]).all()  # steps back
    np.testing.assert_array_equal(d.windows, steps[src])
    assert (pos[rows] >= lookback).all()
    # the last step is the row itself: its return, from its own series' previous close
    assert cols[0] == "ret"
    expected = (log_close[rows] - log_close[rows - 1]).astype("float32")
    np.testing.assert_allclose(d.windows[:, -1, 0], expected, rtol=1e-5)
