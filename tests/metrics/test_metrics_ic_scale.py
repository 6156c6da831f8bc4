"""Issue 26, the rank ICs and the IC decay at scale: the rewrites give the same bits.

The grouped ranks sort each group's values on their own in a padded table
(:func:`~fincast.metrics.finance._segment_order`) instead of sorting every value, and give
one rank per run of equal values; the IC decay sorts its forecasts and returns that way once
and, for the (model, date) groups a lag keeps whole, sums only the cross products of the
ranks (:meth:`~fincast.metrics.portfolio._LaggedRanks.rank_ic`); the portfolio's sort by
(model, date, score, id) is a radix sort of the ids then stable sorts of each group's
scores; first rows of keys come from tables instead of sorts or hashes. Each is compared
here with the code it replaced (copied below as the reference), with pandas' ranks, scipy's
Spearman correlation, ``np.lexsort`` or ``np.unique``, bit for bit (scipy: to 1e-12).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fincast.metrics import finance, portfolio
from fincast.metrics.portfolio import _decay_rows, _Lookup, _present

# --- the code replaced (fincast 2026-12-07, c3fac3d), kept as the reference ----------------


def ref_grouped_rank(codes, values, places=None, order=None):
    """``finance._grouped_rank`` before: a stable sort of every value, then of the codes."""
    n = len(values)
    if n == 0:
        return np.empty(0, dtype="float64")
    if order is not None:
        pass
    elif places is None:
        order = np.argsort(values, kind="stable")
        order = order[np.argsort(codes[order], kind="stable")]
    else:
        span = int(places.max()) + 1
        order = np.argsort(codes.astype("int64") * span + places)
    v, c = values[order], codes[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(c[1:], c[:-1], out=new_group[1:])
    new_run = new_group.copy()
    new_run[1:] |= v[1:] != v[:-1]
    run = np.cumsum(new_run) - 1
    pos = np.arange(n)
    start = np.maximum.accumulate(np.where(new_group, pos, 0))
    first = pos[new_run][run]
    length = np.bincount(run)[run]
    ranks = np.empty(n, dtype="float64")
    ranks[order] = (first - start) + (length + 1) / 2.0
    ranks[np.isnan(values)] = np.nan
    return ranks


def ref_sort_places(values):
    order = np.argsort(values)
    places = np.empty(len(values), dtype="int64")
    places[order] = np.arange(len(values), dtype="int64")
    return places


class RefLaggedRanks:
    """``portfolio._LaggedRanks`` before (its ``ranks``: every lag's ranks, then
    ``_corr_by_codes``)."""

    def __init__(self, groups, signal, signal_places, by_signal, pos, known, realised,
                 realised_places, width):  # fmt: skip
        self.groups, self.signal, self.signal_places = groups, signal, signal_places
        self.realised, self.realised_places = realised, realised_places
        n_groups = int(groups.max(initial=-1)) + 1
        self.rows = np.bincount(groups, minlength=n_groups)
        self.date = np.zeros(n_groups, dtype="int64")
        self.date[groups] = pos
        known_date = known % width
        self.returns = np.bincount(known_date, minlength=width)
        self.signal_rank = ref_grouped_rank(groups, signal, order=by_signal)
        self.realised_rank = ref_grouped_rank(known_date, realised, realised_places)

    def ranks(self, lag, hit, at):
        groups, later = self.groups[hit], at[hit]
        kept = np.bincount(groups, minlength=len(self.rows))
        target = np.minimum(self.date + lag, len(self.returns) - 1)
        whole = (kept == self.rows) & (kept == self.returns[target])
        x, y = self.signal_rank[hit], self.realised_rank[later]
        again = np.flatnonzero(~whole[groups])
        if len(again):
            codes = groups[again]
            x[again] = ref_grouped_rank(
                codes, self.signal[hit][again], self.signal_places[hit][again]
            )
            y[again] = ref_grouped_rank(
                codes, self.realised[later[again]], self.realised_places[later[again]]
            )
        return x, y


def ref_ic_decay(predictions, task, *, max_lag=10, horizon=None):
    """``portfolio.ic_decay`` before."""
    d = _decay_rows(predictions, task, horizon)
    width = d.n_dates + max_lag + 1
    keys = d.id * width + d.date
    first = np.flatnonzero(~pd.Series(keys).duplicated().to_numpy())
    known = keys[first]
    by_key = np.argsort(known)
    first, known = first[by_key], known[by_key]
    realised = d.fwd[first]
    models_dates, groups = _present(d.model * d.n_dates + d.date)
    group_model = d.models[models_dates // d.n_dates]
    signal = d.signal
    pos = d.date
    spread = pd.Series(signal).groupby(groups).agg(["min", "max"])
    ranks_something = (spread["max"] > spread["min"]).to_numpy()[
        np.searchsorted(spread.index.to_numpy(), groups)
    ]
    rows = np.flatnonzero(ranks_something)
    rows = rows[np.argsort(groups[rows], kind="stable")]
    keys, groups, signal = keys[rows], groups[rows], signal[rows]
    signal_places, realised_places = ref_sort_places(signal), ref_sort_places(realised)
    by_signal = np.argsort(groups * (len(signal) + 1) + signal_places)
    lagged = RefLaggedRanks(
        groups, signal, signal_places, by_signal, pos[rows], known, realised, realised_places, width
    )
    out = []
    find = _Lookup(known, len(d.ids) * width)
    for lag in range(max_lag + 1 if len(keys) else 0):
        at, hit = find(keys + lag)
        if not hit.any():
            continue
        present, corr, n = finance._corr_by_codes(
            groups[hit],
            signal[hit],
            realised[at[hit]],
            pearson=False,
            ranks=lagged.ranks(lag, hit, at),
        )
        per = pd.DataFrame({"model": group_model[present], "rank_ic": corr["rank_ic"], "n": n})
        per = per[per["n"] >= 2].dropna(subset=["rank_ic"])
        summary = per.groupby("model", sort=False)["rank_ic"].agg(["mean", "size"])
        for model, row in summary.iterrows():
            out.append({"model": model, "lag": lag, "rank_ic": row["mean"], "n": row["size"]})
    table = pd.DataFrame(out, columns=["model", "lag", "rank_ic", "n"])
    order = {m: i for i, m in enumerate(finance._model_order(predictions))}
    table = table.sort_values(
        ["model", "lag"], key=lambda c: c.map(order) if c.name == "model" else c
    )
    return table.astype({"lag": "int64", "n": "int64"}).reset_index(drop=True)


def ref_lexsort_by_group(ids, value, model, date):
    order = np.argsort(ids, kind="stable")
    order = order[np.argsort(value[order], kind="stable")]
    return order[finance._stable_order(model[order], date[order])]


# --- fixtures ------------------------------------------------------------------------------


def _values(rng, n, kind):
    if kind == "ties":
        return rng.integers(-3, 4, n) / 10.0
    if kind == "rounded":
        return np.round(rng.normal(size=n), 1)
    return rng.normal(size=n)


def _codes_and_values(seed):
    """Grouped values with ties, NaN, signed zeros, infinities, uneven and single-row groups."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 2000))
    codes = rng.integers(0, int(rng.integers(1, 50)), n)
    if seed % 3 == 0:
        codes = np.sort(codes)
    values = _values(rng, n, ("ties", "rounded", "normal")[seed % 3])
    if seed % 2:
        values[rng.random(n) < 0.1] = np.nan
    values[rng.random(n) < 0.05] = -0.0
    values[rng.random(n) < 0.02] = np.inf
    values[rng.random(n) < 0.02] = -np.inf
    return codes, values


def _panel(seed, *, n_ids=12, n_dates=25, models=("naive", "m1", "m2")):
    """A predictions table of ``return`` forecasts with ties, NaN forecasts and returns, dates
    whose forecast is constant, missing rows, repeated (model, id, date) rows and shuffles."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-03-01", periods=n_dates)
    grid = pd.MultiIndex.from_product(
        [list(models), [f"s{i:02d}" for i in range(n_ids)], dates], names=["model", "id", "date"]
    ).to_frame(index=False)
    n = len(grid)
    frame = grid.assign(fold=0, horizon=1, y_true=rng.normal(size=n))
    frame["y_pred"] = _values(rng, n, ("ties", "rounded", "normal")[seed % 3])
    frame.loc[frame["model"] == "naive", "y_pred"] = 0.0  # constant on every date
    constant = frame["date"].isin(dates[::5]) & (frame["model"] == models[-1])
    frame.loc[constant, "y_pred"] = 0.25  # one model constant on some dates
    frame["fwd_return"] = np.round(rng.normal(0, 0.01, n), 3 if seed % 2 else 7)
    if seed % 4 == 1:
        frame.loc[rng.random(n) < 0.1, "fwd_return"] = np.nan
    if seed % 4 == 2:
        frame.loc[rng.random(n) < 0.1, "y_pred"] = np.nan
    if seed % 5 in (1, 3):  # missing rows: groups a lag does not keep whole
        frame = frame[rng.random(n) > 0.15]
    if seed % 5 == 4:  # training seeds: several rows of one (model, id, date)
        again = frame.sample(frac=0.3, random_state=seed)
        frame = pd.concat([frame, again.assign(y_pred=again["y_pred"] + 0.1)])
    if seed % 2:
        frame = frame.sample(frac=1.0, random_state=seed)
    return frame.reset_index(drop=True)


# --- grouped ranks -------------------------------------------------------------------------


@pytest.mark.parametrize("cells", [1, 7, 1 << 20])
@pytest.mark.parametrize("seed", range(12))
def test_grouped_rank_is_pandas_and_the_code_it_replaced(monkeypatch, seed, cells) -> None:
    """Any slice of the padded table at a time (1 cell: a group per slice)."""
    monkeypatch.setattr(finance, "_SEGMENT_CELLS", cells)
    codes, values = _codes_and_values(seed)
    assert finance._segment_order(codes, values) is not None  # the padded table is used
    got = finance._grouped_rank(codes, values)
    np.testing.assert_array_equal(got, ref_grouped_rank(codes, values))
    np.testing.assert_array_equal(got, pd.Series(values).groupby(codes).rank().to_numpy())


@pytest.mark.parametrize("seed", range(6))
def test_segment_order_sorts_each_group_and_stable_is_lexsort(seed) -> None:
    codes, values = _codes_and_values(seed)
    order, place = finance._segment_order(codes, values)
    assert np.array_equal(np.sort(order), np.arange(len(codes)))
    v, c = values[order], codes[order]
    assert (np.diff(c) >= 0).all()  # grouped by increasing code
    same = c[1:] == c[:-1]  # within a group: increasing values, NaN last
    ok = (v[1:] >= v[:-1]) | np.isnan(v[1:])
    assert (ok | ~same).all()
    assert not (np.isnan(v[:-1]) & ~np.isnan(v[1:]) & same).any()
    # each row's place counts the rows of its group before it
    start = np.maximum.accumulate(np.where(np.r_[True, ~same], np.arange(len(c)), 0))
    np.testing.assert_array_equal(place[order], np.arange(len(c)) - start)
    stable, _ = finance._segment_order(codes, values, stable=True)
    np.testing.assert_array_equal(stable, np.lexsort((values, codes)))


def test_segment_order_declines_uneven_groups_and_other_inputs() -> None:
    one_large = np.r_[np.zeros(3_000_000, dtype="int64"), np.arange(1, 1000)]
    assert finance._segment_order(one_large, np.zeros(len(one_large))) is None
    assert finance._segment_order(np.array([0, 10**9]), np.zeros(2)) is None  # sparse codes
    assert finance._segment_order(np.array([0, -1]), np.zeros(2)) is None  # NaN codes
    assert finance._segment_order(np.array([0.0, 1.0]), np.zeros(2)) is None  # not codes
    assert finance._segment_order(np.array([0, 1]), np.array([1, 2])) is None  # not floats
    assert finance._segment_order(np.zeros(0, dtype="int64"), np.zeros(0)) is None
    # then the ranks are those of the sort of every value
    codes = np.r_[np.zeros(3_000_000, dtype="int64"), np.arange(1, 11)]
    values = np.random.default_rng(0).integers(0, 5000, len(codes)).astype("float64")
    np.testing.assert_array_equal(
        finance._grouped_rank(codes, values), ref_grouped_rank(codes, values)
    )


@pytest.mark.parametrize("size", [1, 2**16, 2**16 + 1, 2**32, 2**33])
def test_code_order_is_a_stable_argsort(size) -> None:
    rng = np.random.default_rng(size % 97)
    codes = rng.integers(0, size, 5000)
    codes[:10] = size - 1  # the largest code
    np.testing.assert_array_equal(
        finance._code_order(codes, size), np.argsort(codes, kind="stable")
    )


# --- the portfolio's sort -----------------------------------------------------------------


@pytest.mark.parametrize("cells", [3, 1 << 20])
@pytest.mark.parametrize("seed", range(8))
def test_lexsort_by_group_is_lexsort(monkeypatch, seed, cells) -> None:
    """Ties of the scores (and 0.0 against -0.0) in id order, whatever the rows' order."""
    monkeypatch.setattr(finance, "_SEGMENT_CELLS", cells)
    rng = np.random.default_rng(seed)
    n_ids, n_dates, n_models = int(rng.integers(1, 30)), int(rng.integers(1, 20)), 3
    cells_ = np.array(
        [(m, i, d) for m in range(n_models) for i in range(n_ids) for d in range(n_dates)]
    )
    cells_ = cells_[rng.random(len(cells_)) < 0.8] if seed % 2 else cells_
    cells_ = cells_[rng.permutation(len(cells_))]
    model, ids, date = cells_.T.copy()
    value = -_values(rng, len(ids), ("ties", "rounded", "normal")[seed % 3])
    value[rng.random(len(ids)) < 0.1] = -0.0
    got = portfolio._lexsort_by_group(ids, value, model, date)
    np.testing.assert_array_equal(got, np.lexsort((ids, value, date, model)))
    np.testing.assert_array_equal(got, ref_lexsort_by_group(ids, value, model, date))


def test_lexsort_by_group_of_uneven_groups_is_lexsort() -> None:
    """One (model, date) of 3M rows: too uneven for the padded table, sorted as before."""
    rng = np.random.default_rng(5)
    n = 3_000_000
    ids = np.r_[np.arange(n), np.arange(5)]
    date = np.r_[np.zeros(n, dtype="int64"), np.arange(1, 6)]
    model = np.zeros(len(ids), dtype="int64")
    value = np.round(rng.normal(size=len(ids)), 2)
    assert finance._segment_order(model * 6 + date, value) is None
    np.testing.assert_array_equal(
        portfolio._lexsort_by_group(ids, value, model, date),
        np.lexsort((ids, value, date, model)),
    )


# --- the IC decay --------------------------------------------------------------------------


def _same_decay(frame, **options):
    got = portfolio.ic_decay(frame, "return", **options)
    pd.testing.assert_frame_equal(got, ref_ic_decay(frame, "return", **options), check_exact=True)
    return got


@pytest.mark.parametrize("seed", range(15))
def test_ic_decay_is_the_code_it_replaced(seed) -> None:
    got = _same_decay(_panel(seed))
    assert {"m1", "m2"} <= set(got["model"]) and got["n"].gt(0).all()
    if seed % 5 != 4:  # naive ranks nothing (unless its repeated rows differ)
        assert "naive" not in set(got["model"])
    _same_decay(_panel(seed), max_lag=3)


def test_ic_decay_of_groups_a_lag_does_not_keep_whole() -> None:
    """Missing rows and returns make most groups partial at some lag: ranked again."""
    frame = _panel(1, n_ids=30, n_dates=40)
    frame = frame[~(frame["id"].isin(["s03", "s07"]) & frame["date"].dt.day.isin([3, 9, 17]))]
    got = _same_decay(frame)
    assert len(got) == 2 * 11


@pytest.mark.parametrize(
    "frame",
    [
        _panel(2).query("id == 's01'"),  # one series: no cross section
        _panel(3).query("model == 'naive'"),  # a constant forecast: ranks nothing
        _panel(4).assign(fwd_return=np.nan),  # no realised return: no rows
        _panel(5, n_ids=2, n_dates=3),  # two series, three dates
        _panel(6).assign(fwd_return=0.001),  # constant returns: NaN rank ICs
    ],
    ids=["one-series", "constant", "no-returns", "tiny", "flat-returns"],
)
def test_ic_decay_edge_cases_are_the_code_it_replaced(frame) -> None:
    _same_decay(frame)


@pytest.mark.parametrize("patch", ["inexact", "no-table", "sparse"])
def test_ic_decay_fallbacks_are_the_code_it_replaced(monkeypatch, patch) -> None:
    """Groups too large for exact rank sums (pandas' sums, as before); groups too uneven
    for the padded table (a sort of every value); (id, date) keys found by a hash."""
    if patch == "inexact":
        monkeypatch.setattr(finance, "_EXACT_RANK_ROWS", 3)
    elif patch == "no-table":
        monkeypatch.setattr(finance, "_segment_order", lambda codes, values, stable=False: None)
    else:
        monkeypatch.setattr(finance, "_DENSE_PAIRS", -(10**9))
    for seed in (0, 1, 3, 4):
        _same_decay(_panel(seed))


def test_ic_decay_is_the_mean_of_scipys_spearman_by_date() -> None:
    """Independently of both codes: lag 0 and lag 2 of a full panel by scipy, per date."""
    from scipy.stats import spearmanr

    frame = _panel(0, n_ids=15, n_dates=20, models=("m1",))
    got = portfolio.ic_decay(frame, "return", max_lag=2)
    wide_f = frame.pivot(index="date", columns="id", values="y_pred")
    wide_r = frame.pivot(index="date", columns="id", values="fwd_return")
    for lag in (0, 2):
        ics = []
        for t in range(len(wide_f) - lag):
            x, y = wide_f.iloc[t].to_numpy(), wide_r.iloc[t + lag].to_numpy()
            if np.ptp(x) > 0 and np.ptp(y) > 0:
                ics.append(spearmanr(x, y).statistic)
        row = got[got["lag"] == lag].iloc[0]
        assert row["n"] == len(ics)
        assert row["rank_ic"] == pytest.approx(np.mean(ics), abs=1e-12)


# --- first rows of the (id, date) keys -----------------------------------------------------


@pytest.mark.parametrize("dense", [True, False])
def test_first_rows_are_the_first_of_each_key_sorted_by_key(monkeypatch, dense) -> None:
    if not dense:
        monkeypatch.setattr(finance, "_DENSE_PAIRS", -(10**9))
    rng = np.random.default_rng(2)
    for n, size in ((0, 5), (1, 5), (500, 40), (5000, 100_000)):
        keys = rng.integers(0, size, n)
        first = np.flatnonzero(~pd.Series(keys).duplicated().to_numpy())
        by_key = np.argsort(keys[first])
        got_first, got_known = portfolio._first_rows(keys, size)
        np.testing.assert_array_equal(got_first, first[by_key])
        np.testing.assert_array_equal(got_known, keys[first][by_key])


# --- the information coefficient ----------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_information_coefficient_ranks_are_the_code_they_replaced(monkeypatch, seed) -> None:
    """The IC's ranks by the padded table are those of the sort of every value: its
    figures are the same with the old ranks patched in."""
    frame = _panel(seed)
    got = finance.information_coefficient(frame, "return")
    series = finance.ic_series_by_model(frame, "return")
    monkeypatch.setattr(finance, "_grouped_rank", ref_grouped_rank)
    assert repr(got) == repr(finance.information_coefficient(frame, "return"))
    want = finance.ic_series_by_model(frame, "return")
    for model, table in series.items():
        pd.testing.assert_frame_equal(table, want[model], check_exact=True)


def test_first_of_each_is_uniques_first_index() -> None:
    """Group numbers by a table; codes with a gap or a NaN code (-1) by ``np.unique``."""
    rng = np.random.default_rng(9)
    cases = [np.zeros(0, dtype="int64"), np.array([3, 3, 0, 2, 1, 0]), np.array([0, 2, 2])]
    cases += [np.array([-1, 0, 1, -1]), np.array([1, 1])]
    for _ in range(50):
        codes = rng.integers(0, int(rng.integers(1, 30)), int(rng.integers(1, 200)))
        cases += [codes, np.unique(codes, return_inverse=True)[1]]
    for codes in cases:
        want = np.unique(codes, return_index=True)[1]
        got = finance._first_of_each(codes)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
