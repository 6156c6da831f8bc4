"""Issue 26, metrics stage at the scale of an equity universe: the rewrites give the same bits.

The naive join of :func:`~fincast.metrics.summary._with_naive` looks each key's last naive
row up in an array indexed by the key's code (the codes renumbered only when their range
outgrows the table); it must equal the ``merge`` it replaced
(``test_vectorised_publish.ref_with_naive``) on the cases the random panels rarely draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fincast.metrics import finance, summary
from fincast.metrics.overlap import independent_rows
from fincast.metrics.summary import _key_codes, _with_naive
from fincast.tasks import get_task

from .test_vectorised_publish import ref_with_naive


def _rows(ids, dates, models, y_pred, horizon=1, **extra) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "id": ids,
            "date": pd.to_datetime(dates),
            "fold": 0,
            "model": models,
            "horizon": np.broadcast_to(horizon, n),
            "y_true": np.linspace(-0.01, 0.01, n),
            "y_pred": y_pred,
            **extra,
        }
    )


def _same(preds: pd.DataFrame, task=None) -> pd.DataFrame:
    got = _with_naive(preds, task)
    pd.testing.assert_frame_equal(got, ref_with_naive(preds, task), check_exact=True)
    return got


def test_one_series_one_date_and_no_naive_row() -> None:
    one = _rows(["a", "a"], ["2020-01-01"] * 2, ["naive", "m"], [0.0, 0.3])
    assert _same(one)["y_naive"].tolist() == [0.0, 0.0]
    alone = _rows(["a"], ["2020-01-01"], ["m"], [0.3])  # no naive at all: missing
    assert _same(alone)["y_naive"].isna().all()
    _same(alone.iloc[:0])  # no rows


def test_missing_naive_rows_make_int_columns_float_and_last_naive_row_counts() -> None:
    task = get_task("var")
    preds = _rows(
        ["a", "a", "b", "b", "a"],
        ["2020-01-01", "2020-01-01", "2020-01-01", "2020-01-02", "2020-01-01"],
        ["naive", "m", "m", "naive", "naive"],
        [0.1, 0.2, 0.3, 0.4, 0.5],
        var_5=np.array([1, 2, 3, 4, 5]),  # ints: floats where naive has no row
        es_5=np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
    )
    got = _same(preds, task)
    np.testing.assert_array_equal(got["y_naive"], [0.5, 0.5, np.nan, 0.4, 0.5])
    assert got["naive_var_5"].dtype == "float64"
    whole = preds[preds["id"] == "a"]  # every row has a naive row: ints stay ints
    assert _same(whole, task)["naive_var_5"].dtype == "int64"


def test_nan_keys_match_each_other_as_in_the_merge() -> None:
    preds = _rows(
        ["a", None, None, "a"],
        ["2020-01-01", "2020-01-01", "2020-01-01", None],
        ["naive", "naive", "m", "m"],
        [0.1, 0.2, 0.3, 0.4],
    )
    got = _same(preds)
    assert got["y_naive"].iloc[2] == 0.2 and np.isnan(got["y_naive"].iloc[3])


@pytest.mark.parametrize("dense", [True, False])
def test_sparse_keys_are_renumbered_and_still_the_merge(monkeypatch, dense) -> None:
    """Keys whose combined range outgrows the table are renumbered on the way (here forced
    by a small table): the same join either way."""
    if not dense:
        monkeypatch.setattr(summary, "_DENSE_KEYS", 0)
    rng = np.random.default_rng(3)
    n = 60
    ids = [f"S{i}" for i in rng.permutation(n)]  # every row its own id, date and horizon
    dates = pd.bdate_range("2020-01-01", periods=n)[rng.permutation(n)]
    preds = pd.concat(
        [
            _rows(ids, dates, "naive", rng.normal(size=n), horizon=np.arange(1, n + 1)),
            _rows(ids, dates, "m", rng.normal(size=n), horizon=np.arange(1, n + 1)),
        ],
        ignore_index=True,
    ).sample(frac=0.9, random_state=1)
    codes, size = _key_codes(preds, ["id", "date", "horizon"])
    assert codes.min() >= 0 and codes.max() < size
    assert (size <= len(preds)) == (not dense)  # renumbered: at most one code per row
    _same(preds)


@pytest.mark.parametrize("small", [False, True])
def test_codes_equal_exactly_when_keys_equal(monkeypatch, small) -> None:
    """With ``small`` the combined range outgrows the table (4 codes per row) after the
    dates, so the codes are renumbered on the way; else they are the mixed radix."""
    if small:
        monkeypatch.setattr(summary, "_DENSE_KEYS", 0)
    rng = np.random.default_rng(0)
    n = 2000
    dates = pd.bdate_range("2020-01-01", periods=300)
    frame = pd.DataFrame(
        {
            "id": rng.choice([*(f"S{i}" for i in range(299)), None], n),
            "date": np.where(rng.random(n) < 0.05, pd.NaT, rng.choice(dates, n)),
            "horizon": rng.choice([1, 5], n),
        }
    )
    codes, size = _key_codes(frame, ["id", "date", "horizon"])
    assert codes.min() >= 0 and codes.max() < size
    product = frame["id"].nunique(dropna=False) * frame["date"].nunique(dropna=False) * 2
    assert size < product if small else size == product
    groups = frame.groupby(["id", "date", "horizon"], dropna=False).ngroup().to_numpy()
    assert np.array_equal(codes[:, None] == codes[None, :], groups[:, None] == groups[None, :])


# --- independent_rows: the calendar places by factorizing the dates ----------------------


def ref_independent_rows(dates, horizons=None):
    """``independent_rows`` before: every date converted, the calendar sorted."""
    values = pd.to_datetime(pd.Series(np.asarray(dates).reshape(-1))).to_numpy()
    if horizons is None:
        step = 1
    else:
        h = np.asarray(horizons).reshape(-1)
        step = max(int(h.max()), 1) if len(h) else 1
    calendar = np.unique(values)
    pos = np.searchsorted(calendar, values)
    keep = pos % step == 0
    clustered = bool(keep.any() and np.bincount(pos[keep]).max() > 1)
    return keep, pos, step, clustered


def _dates_cases():
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2021-01-01", periods=40).to_numpy()
    panel = np.tile(days, 5)[rng.permutation(200)]  # unsorted, each date five times
    yield panel, rng.choice([1, 3, 5], 200)
    yield days[::-1].copy(), 1  # one series, backwards
    yield days[:1], None  # one date
    yield np.repeat(days[:1], 4), 2  # one date, several rows
    yield days[:0], None  # no rows
    yield panel.astype("datetime64[D]"), 5  # another unit
    yield panel.astype("datetime64[ns]"), 2
    with_nat = panel.copy()
    with_nat[::7] = np.datetime64("NaT")
    yield with_nat, 3  # NaT: converted and sorted as before (last)
    yield pd.Series(panel).dt.strftime("%Y-%m-%d").to_numpy(), 2  # strings: converted
    yield pd.Series(panel), pd.Series(np.full(200, 4))  # a Series, as coverage passes


@pytest.mark.parametrize("case", range(10))
def test_independent_rows_are_the_sorted_calendar_places(case) -> None:
    dates, h = list(_dates_cases())[case]
    got = independent_rows(dates, h)
    keep, pos, step, clustered = ref_independent_rows(dates, h)
    assert got.cluster.dtype == pos.dtype
    np.testing.assert_array_equal(got.cluster, pos)
    np.testing.assert_array_equal(got.keep, keep)
    assert (got.step, got.clustered) == (step, clustered)


def test_independent_rows_places_follow_the_dates_not_the_rows() -> None:
    """Not the order of first appearance: the places are those of the sorted calendar."""
    dates = pd.to_datetime(["2020-01-03", "2020-01-01", "2020-01-02", "2020-01-01"]).to_numpy()
    got = independent_rows(dates, 2)
    assert got.cluster.tolist() == [2, 0, 1, 0]
    assert got.keep.tolist() == [True, True, False, True] and got.clustered


# --- information coefficient: the panel test and the ranks of constant forecasts ---------


def ref_is_panel(frame: pd.DataFrame) -> bool:
    """``finance._is_panel`` before: pandas' grouped count of distinct ids."""
    if frame["id"].nunique() < 2:
        return False
    return bool(frame.groupby(["model", "date"])["id"].nunique().max() >= 2)


def _ic_frames():
    rng = np.random.default_rng(11)
    dates = pd.bdate_range("2022-01-03", periods=6)
    n = 60
    panel = pd.DataFrame(
        {
            "id": rng.choice(["a", "b", "c"], n),
            "date": rng.choice(dates, n),
            "model": rng.choice(["naive", "m"], n),
        }
    )
    yield panel
    yield panel.assign(id="a")  # one series
    yield panel.assign(date=dates[0])  # one date
    # two series, but never on one (model, date): a stack of single series
    yield pd.DataFrame({"id": ["a", "b", "a"], "date": dates[[0, 1, 2]], "model": "m"})
    # the only (model, date) with two ids has a NaN model, date or id: not a panel
    for column, missing in (("model", None), ("date", pd.NaT), ("id", None)):
        two = pd.DataFrame({"id": ["a", "b", "c"], "date": dates[[0, 0, 1]], "model": "m"})
        two[column] = two[column].astype(object)
        two.loc[1, column] = missing
        yield two
    yield panel.iloc[:0]


@pytest.mark.parametrize("sparse", [False, True])
def test_is_panel_is_the_grouped_count_of_distinct_ids(monkeypatch, sparse) -> None:
    if sparse:  # the (model, date) pairs numbered rather than laid out in a table
        monkeypatch.setattr(finance, "_DENSE_PAIRS", -(10**9))
    results = []
    for frame in _ic_frames():
        results.append(finance._is_panel(frame))
        assert results[-1] == ref_is_panel(frame)
    assert results == [True, False, True, False, False, False, False, False]


def _with_constant_groups(seed: int, n: int = 400, groups: int = 30):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, groups, n)
    x = np.round(rng.normal(size=n), 1)
    y = np.round(rng.normal(size=n), 1)
    flat = np.isin(codes, rng.choice(groups, groups // 3, replace=False))
    x[flat] = np.where(rng.random(flat.sum()) < 0.5, 0.0, -0.0)  # constant: 0.0 and -0.0
    nearly = np.isin(codes, np.setdiff1d(np.arange(groups), codes[flat])[:5])
    x[nearly] = 1.0  # all equal but one, one step of the floats away: ranked
    x[np.flatnonzero(nearly)[::4]] = np.nextafter(1.0, 2.0)
    return codes, x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("exact", [True, False])
def test_rank_ic_skipping_constant_groups_is_ranking_them(monkeypatch, seed, exact) -> None:
    """Groups whose forecasts are all equal are not ranked: every group's rank IC (NaN for
    those) and Pearson IC the same bits as ranking all of them."""
    if not exact:  # the pandas sums rather than the counted ones
        monkeypatch.setattr(finance, "_EXACT_RANK_ROWS", 1)
    codes, x, y = _with_constant_groups(seed)
    full = (finance._grouped_rank(codes, x), finance._grouped_rank(codes, y))
    groups, want, size = finance._corr_by_codes(codes, x, y, ranks=full)
    got_groups, got, got_size = finance._corr_by_codes(codes, x, y)
    np.testing.assert_array_equal(got_groups, groups)
    np.testing.assert_array_equal(got_size, size)
    for name in ("ic", "rank_ic"):
        np.testing.assert_array_equal(got[name], want[name])
    assert np.isnan(want["rank_ic"]).sum() >= 10 and np.isfinite(want["rank_ic"]).sum() >= 10
    # a forecast constant everywhere (naive's): nothing ranked, no rank IC
    _, all_flat, _ = finance._corr_by_codes(codes, np.full(len(x), 0.5), y)
    assert np.isnan(all_flat["rank_ic"]).all()


def test_rank_ic_with_nan_or_a_sort_order_ranks_every_group() -> None:
    codes, x, y = _with_constant_groups(4)
    y[::9] = np.nan
    full = (finance._grouped_rank(codes, x), finance._grouped_rank(codes, y))
    _, want, _ = finance._corr_by_codes(codes, x, y, ranks=full)
    _, got, _ = finance._corr_by_codes(codes, x, y)
    np.testing.assert_array_equal(got["rank_ic"], want["rank_ic"])


@pytest.mark.parametrize("seed", [0, 1])
def test_grouped_rank_sort_is_lexsorts_permutation(seed) -> None:
    """Two stable sorts (values, then codes) are lexsort's order: the ranks of pandas."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 9, 3000)
    values = np.round(rng.normal(size=3000), 1)
    values[rng.random(3000) < 0.05] = np.nan
    values[rng.random(3000) < 0.05] = -0.0
    want = pd.Series(values).groupby(codes).rank().to_numpy()
    np.testing.assert_array_equal(finance._grouped_rank(codes, values), want)
    order = np.argsort(values, kind="stable")
    order = order[np.argsort(codes[order], kind="stable")]
    np.testing.assert_array_equal(order, np.lexsort((values, codes)))


# --- distinct keys and repeats by counting -------------------------------------------------


def _keys():
    rng = np.random.default_rng(5)
    yield rng.integers(0, 50, 300), 50  # repeats
    yield rng.permutation(300), 300  # none
    yield np.array([7]), 8  # one key
    yield np.array([4, 1, 4]), 5  # one key twice
    yield np.array([], dtype="int64"), 0  # no keys
    yield np.array([3, -1, 3, -1]), 4  # a NaN code: hashed/sorted as before
    yield np.array([10**12, 5, 10**12]), 10**12 + 1  # sparse: sorted/hashed as before


@pytest.mark.parametrize("case", range(7))
def test_distinct_and_repeats_are_unique_and_duplicated(case) -> None:
    key, size = list(_keys())[case]
    distinct, at = finance._distinct(key, size)
    want, want_at = np.unique(key, return_inverse=True)
    np.testing.assert_array_equal(distinct, want)
    np.testing.assert_array_equal(at, want_at)
    assert at.shape == want_at.shape
    assert finance._has_repeats(key, size) == bool(pd.Series(key).duplicated().any())


# --- the point-forecast errors without sklearn's input checks ---------------------------


def _error_cases():
    rng = np.random.default_rng(9)
    yield np.array([0.3]), np.array([0.1])  # one row
    yield np.array([1.0, 1.0]), np.array([1.0, 1.0])  # perfect, flat target: R² 1
    yield np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 1.0])  # flat target: R² 0
    yield np.array([1.0, -1.0, 2.0]), np.array([0.5, 0.5, 2.0])  # the doctest's
    yield np.array([-0.0, 0.0, 1e-300]), np.array([0.0, -0.0, -1e-300])  # signed zeros
    yield rng.normal(0, 0.01, 4145), rng.normal(0, 0.001, 4145)  # a series of a panel
    yield np.round(rng.normal(size=999), 1), np.round(rng.normal(size=999), 1)  # ties
    yield rng.normal(1e8, 1.0, 70_000), rng.normal(1e8, 1.0, 70_000)  # large, cancelling
    big = rng.standard_cauchy(300_001)  # long: several blocks of numpy's pairwise sums
    yield big, big * 0.5 + rng.normal(size=len(big))


@pytest.mark.parametrize("case", range(9))
def test_point_errors_are_sklearns_bits(case) -> None:
    from sklearn.metrics import (
        accuracy_score,
        mean_absolute_error,
        mean_squared_error,
        r2_score,
        root_mean_squared_error,
    )

    from fincast.metrics import regression
    from fincast.tasks.base import mse as task_mse

    actual, predicted = list(_error_cases())[case]
    mse, rmse, mae, r2 = regression._point_errors(actual, predicted)
    assert mse == mean_squared_error(actual, predicted)
    assert task_mse(actual, predicted) == mse  # the skill's
    assert rmse == root_mean_squared_error(actual, predicted)
    assert mae == mean_absolute_error(actual, predicted)
    if len(actual) >= 2:
        assert r2 == r2_score(actual, predicted)
    else:
        assert np.isnan(r2)
    accuracy, _ = regression._sign_accuracy(actual, predicted)
    called = (actual != 0) & (predicted != 0)
    if called.any():
        want = accuracy_score(np.sign(actual[called]), np.sign(predicted[called]))
        assert accuracy == want
    else:
        assert accuracy is None


def test_skill_is_one_minus_sklearns_mse_ratio() -> None:
    from sklearn.metrics import mean_squared_error

    rng = np.random.default_rng(2)
    y, pred, naive = rng.normal(size=(3, 5000))
    want = float(1.0 - mean_squared_error(y, pred) / float(mean_squared_error(y, naive)))
    assert get_task("return").skill(y, pred, naive) == want
    assert get_task("return").skill(y, pred, y) is None  # naive perfect: no skill


# --- lexsort's permutation from fewer sorts ---------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_stable_order_and_group_sort_are_lexsorts_permutation(n) -> None:
    from fincast.metrics.portfolio import _lexsort_by_group

    rng = np.random.default_rng(n)
    model = rng.integers(0, 3, n).astype("int32")
    ids = rng.integers(0, 40, n).astype("int32")
    dates = rng.integers(0, 25, n).astype("int32")
    value = np.round(rng.normal(size=n), 1)  # ties
    value[rng.random(n) < 0.2] = -0.0  # equal to 0.0: a tie as well
    value[rng.random(n) < 0.2] = 0.0
    np.testing.assert_array_equal(
        finance._stable_order(model, ids, dates), np.lexsort((dates, ids, model))
    )
    np.testing.assert_array_equal(
        _lexsort_by_group(ids, value, model, dates), np.lexsort((ids, value, dates, model))
    )


def test_stable_order_of_keys_too_wide_for_an_int64_is_lexsort() -> None:
    a = np.array([2**40, 0, 2**40, 5], dtype="int64")
    b = np.array([3, 2**30, 1, 0], dtype="int64")
    np.testing.assert_array_equal(finance._stable_order(a, b, a), np.lexsort((a, b, a)))


def test_stable_order_of_keys_wider_than_an_int32_is_lexsort() -> None:
    rng = np.random.default_rng(4)
    a = rng.integers(0, 3, 500).astype("int32")
    b = (rng.integers(0, 4, 500) * 2**22).astype("int64")  # 3 * (3 * 2**22 + 1) * 200 > 2**31
    c = rng.integers(0, 200, 500).astype("int32")
    np.testing.assert_array_equal(finance._stable_order(a, b, c), np.lexsort((c, b, a)))
