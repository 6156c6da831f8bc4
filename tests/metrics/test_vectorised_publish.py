"""The integer-code rewrites of the publish stage give the bits of the pandas code they replaced.

Issue 26, metrics stage: the portfolio's scored rows, weights and legs and the naive join of
the per-series scores were pandas sorts, group-bys, pivots and merges on string keys. The
functions below are that code, verbatim (``ref_*``; the portfolio's legs and weights are
``test_vectorised_evaluation``'s references); the module's results must equal theirs
exactly, on fixed panels and on random small panels (hypothesis) with ties, NaN, repeated
(model, id, date) rows, dates with one series and dates missing for some series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fincast.metrics import finance
from fincast.metrics.portfolio import (
    _scored_rows,
    _weights,
    ic_decay,
    parse_portfolio,
    portfolio_returns,
)
from fincast.metrics.summary import _KEYS, _NAIVE, _with_naive
from fincast.tasks import get_task

from .test_vectorised_evaluation import ref_ic_decay, ref_weights, table
from .test_vectorised_evaluation import ref_portfolio_returns as ref_portfolio_returns_of

# --- the reference implementation (fincast before these changes) -------------------------


def ref_scored_rows(predictions: pd.DataFrame, task: str, h: int) -> pd.DataFrame:
    rows = predictions[(predictions["horizon"] == h) & predictions["fwd_return"].notna()]
    frame = pd.DataFrame(
        {
            "model": rows["model"].astype(str).to_numpy(),
            "id": rows["id"].astype(str).to_numpy(),
            "date": pd.to_datetime(rows["date"]).to_numpy(),
            "score": finance._forecast_score(rows, task),
            "ret": np.expm1(rows["fwd_return"].to_numpy(dtype="float64")),
        }
    )
    calendar = np.sort(frame["date"].unique())[::h]
    frame = frame[frame["date"].isin(calendar)]
    return frame.groupby(["model", "id", "date"], as_index=False, sort=False).mean()


def ref_portfolio_returns(predictions, task, **kw):
    """The portfolio's returns as before (its legs and weights: test_vectorised_evaluation's
    reference), from the scored rows as before."""
    return ref_portfolio_returns_of(predictions, task, scored=ref_scored_rows, **kw)


def ref_with_naive(predictions: pd.DataFrame, task=None) -> pd.DataFrame:
    frame = predictions.reset_index(drop=True)
    keys = [*_KEYS, "label"] if "label" in frame.columns else _KEYS
    extra = task.naive_columns(frame.columns) if task is not None else []
    naive = frame.loc[frame["model"] == _NAIVE, [*keys, "y_pred", *extra]]
    naive = naive.drop_duplicates(keys, keep="last").rename(
        columns={"y_pred": "y_naive", **{c: f"naive_{c}" for c in extra}}
    )
    out = frame.merge(naive, on=keys, how="left", validate="many_to_one")
    out["y_naive"] = out["y_naive"].astype("float64")
    return out


# --- random small panels ------------------------------------------------------------------


@st.composite
def panels(draw) -> pd.DataFrame:
    """A small predictions table: ties, NaN, seed copies, one-series and missing dates."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_ids = draw(st.integers(1, 9))
    n_dates = draw(st.integers(1, 14))
    horizons = draw(st.sampled_from([(1,), (2,), (1, 3)]))
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-01", periods=n_dates)
    frames = []
    for h in horizons:
        fwd = np.round(rng.normal(0.0, 0.02, (n_dates, n_ids)), draw(st.sampled_from([2, 6])))
        fwd[rng.random(fwd.shape) < 0.1] = np.nan
        for model in ("naive", "m", "ties", "z"):
            if model == "naive":
                pred = np.zeros_like(fwd)
                pred[rng.random(fwd.shape) < 0.1] = -0.0
            elif model == "ties":
                pred = np.round(rng.normal(0, 0.02, fwd.shape), 2)
            else:
                pred = rng.normal(0, 0.02, fwd.shape)
            pred[rng.random(fwd.shape) < 0.05] = np.nan
            frames.append(
                pd.DataFrame(
                    {
                        "id": np.tile([f"S{i}" for i in range(n_ids)], n_dates),
                        "date": np.repeat(dates, n_ids),
                        "fold": np.repeat(np.arange(n_dates) * 2 // n_dates, n_ids),
                        "model": model,
                        "horizon": h,
                        "y_true": np.nan_to_num(fwd).reshape(-1),
                        "y_pred": pred.reshape(-1),
                        "fwd_return": fwd.reshape(-1),
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    out = out[rng.random(len(out)) > draw(st.sampled_from([0.0, 0.2, 0.5]))]  # missing rows
    if draw(st.booleans()):  # a second seed of some rows: repeated (model, id, date)
        again = out[(out["model"] == "m") & (rng.random(len(out)) < 0.5)]
        out = pd.concat([out, again.assign(y_pred=again["y_pred"] * 0.5 + 0.001)])
    if draw(st.booleans()):  # repeated naive rows: the last one counts
        again = out[(out["model"] == _NAIVE) & (rng.random(len(out)) < 0.3)]
        out = pd.concat([out, again.assign(y_pred=0.5)])
    order = rng.permutation(len(out)) if draw(st.booleans()) else np.arange(len(out))
    return out.iloc[order].reset_index(drop=True)


SPECS = ["quantile:5", "quantile:2:forecast", "topk:1", "topk:3:forecast"]


def _same_portfolio(preds: pd.DataFrame, spec: str, h: int) -> None:
    try:
        want = ref_portfolio_returns(preds, "return", spec=spec, cost_bps=3.0, horizon=h)
    except ValueError:  # no rows at all: nothing to concatenate, both ways
        with pytest.raises(ValueError):
            portfolio_returns(preds, "return", spec=spec, cost_bps=3.0, horizon=h)
        return
    got = portfolio_returns(preds, "return", spec=spec, cost_bps=3.0, horizon=h)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(preds=panels(), spec=st.sampled_from(SPECS))
def test_portfolio_returns_of_random_panels_are_the_reference(preds, spec) -> None:
    for h in sorted(preds["horizon"].unique()):
        _same_portfolio(preds, spec, int(h))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(preds=panels())
def test_scored_rows_and_weights_of_random_panels_are_the_reference(preds) -> None:
    for h in sorted(preds["horizon"].unique()):
        got = _scored_rows(preds, "return", int(h))
        want = ref_scored_rows(preds, "return", int(h))
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        for spec in SPECS:
            rule = parse_portfolio(spec)
            pd.testing.assert_frame_equal(
                _weights(got, rule), ref_weights(want, rule), check_exact=True
            )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(preds=panels())
def test_naive_join_of_random_panels_is_the_merge(preds) -> None:
    task = get_task("return")
    pd.testing.assert_frame_equal(
        _with_naive(preds, task), ref_with_naive(preds, task), check_exact=True
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("spec", SPECS)
def test_portfolio_returns_of_ragged_panels_with_seed_copies_are_the_reference(seed, spec):
    preds = table(seed, horizons=(1, 5))
    copy = preds[preds["model"] == "m"].assign(y_pred=lambda f: f["y_pred"] * 1.5 + 0.001)
    both = pd.concat([preds, copy], ignore_index=True)  # two rows per (model, id, date)
    for h in (1, 5):
        _same_portfolio(both, spec, h)


def test_naive_join_brings_the_tasks_naive_columns_and_labels() -> None:
    """var's ``var_``/``es_`` columns come along as ``naive_...``; ``label`` is a key."""
    preds = table(1)
    rng = np.random.default_rng(0)
    preds = preds.assign(var_5=rng.normal(size=len(preds)), es_5=rng.normal(size=len(preds)))
    preds = preds[rng.random(len(preds)) > 0.1].reset_index(drop=True)
    task = get_task("var")
    assert task.naive_columns(preds.columns) == ["var_5", "es_5"]
    got = _with_naive(preds, task)
    assert got["naive_var_5"].isna().any()
    pd.testing.assert_frame_equal(got, ref_with_naive(preds, task), check_exact=True)
    labelled = pd.concat([preds.assign(label="a"), preds.assign(label="b", y_pred=1.0)])
    labelled = labelled.sample(frac=0.9, random_state=1)
    pd.testing.assert_frame_equal(
        _with_naive(labelled, task), ref_with_naive(labelled, task), check_exact=True
    )


def test_a_wrong_naive_join_would_fail() -> None:
    """The comparison can fail: a join that keeps the first naive row is not the reference."""
    preds = table(2)
    naive = preds[preds["model"] == _NAIVE]
    preds = pd.concat([preds, naive.assign(y_pred=0.5)], ignore_index=True)
    want = ref_with_naive(preds)
    first = ref_with_naive(
        pd.concat([naive.assign(y_pred=0.5), preds.iloc[: len(preds) - len(naive)]])
    )
    assert not np.array_equal(first["y_naive"].to_numpy(), want["y_naive"].to_numpy())
    pd.testing.assert_frame_equal(_with_naive(preds), want, check_exact=True)


def ref_mode_returns(predictions, task, modes, cost_bps, h, threshold=0.5):
    def sampled_rows(predictions, h):
        rows = predictions[(predictions["horizon"] == h) & predictions["fwd_return"].notna()]
        keys = rows[["id", "date"]].drop_duplicates().sort_values(["id", "date"], kind="stable")
        keys = keys[keys.groupby("id", sort=False).cumcount().to_numpy() % h == 0]
        return rows.merge(keys, on=["id", "date"], how="inner")

    def period_returns(rows, cost_bps):
        previous = rows.groupby(["model", "id"], sort=False)["position"].shift(1).fillna(0.0)
        rows["turnover"] = (rows["position"] - previous).abs()
        rows["exposure"] = rows["position"].abs()
        rows["gross_return"] = rows["position"] * np.expm1(rows["fwd_return"].astype("float64"))
        rows["net_return"] = rows["gross_return"] - cost_bps / 1e4 * rows["turnover"]
        out = rows.groupby(["model", "date"], sort=True, observed=True).agg(
            position=("position", "mean"),
            exposure=("exposure", "mean"),
            turnover=("turnover", "mean"),
            gross_return=("gross_return", "mean"),
            net_return=("net_return", "mean"),
            n_series=("id", "size"),
        )
        out = out.reset_index()
        out["model"] = out["model"].astype(str)
        return out

    frame = predictions.copy(deep=False)
    for m in modes:
        frame[f"position_{m}"] = finance.positions(frame, task, mode=m, threshold=threshold)
    held = [f"position_{m}" for m in modes]
    rows = sampled_rows(frame, h)[["model", "id", "date", *held, "fwd_return"]]
    hold = rows.drop_duplicates(["id", "date"]).assign(
        model=finance.BUY_AND_HOLD, **dict.fromkeys(held, 1.0)
    )
    order = [*finance._model_order(predictions), finance.BUY_AND_HOLD]
    rows = pd.concat([rows, hold], ignore_index=True)
    rows["model"] = pd.Categorical(rows["model"].astype(str), categories=order)
    rows = rows.sort_values(["model", "id", "date"], kind="stable")
    out = {}
    for m in modes:
        one = rows[["model", "id", "date", "fwd_return"]].assign(position=rows[f"position_{m}"])
        out[m] = period_returns(one, cost_bps)
    return out


def _same_strategy_returns(preds: pd.DataFrame, task: str = "return") -> None:
    for h in sorted(preds["horizon"].unique()):
        got = finance._mode_returns(preds, task, finance._MODES, 4.0, int(h), 0.5)
        want = ref_mode_returns(preds, task, finance._MODES, 4.0, int(h))
        for mode in finance._MODES:
            pd.testing.assert_frame_equal(got[mode], want[mode], check_exact=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(preds=panels())
def test_strategy_returns_of_random_panels_are_the_reference(preds) -> None:
    _same_strategy_returns(preds)


@pytest.mark.parametrize("seed", [0, 1])
def test_strategy_returns_of_ragged_panels_are_the_reference(seed: int) -> None:
    preds = table(seed, horizons=(1, 5))
    _same_strategy_returns(preds)
    copy = preds[preds["model"] == "m"].assign(y_pred=lambda f: -f["y_pred"])
    _same_strategy_returns(pd.concat([preds, copy], ignore_index=True))  # seed copies
    direction = preds.assign(prob=1 / (1 + np.exp(-100 * preds["y_pred"].fillna(0.0))))
    _same_strategy_returns(direction, "direction")


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    groups=st.integers(1, 12),
    decimals=st.sampled_from([0, 1, 6]),
)
def test_rank_correlation_by_counting_is_the_pandas_one(seed, n, groups, decimals) -> None:
    """The exact (bincount) rank correlation gives pandas' grouped means and sums' bits."""
    rng = np.random.default_rng(seed)
    codes = np.sort(rng.integers(0, groups, n)) * 3  # group numbers with gaps
    x, y = np.round(rng.normal(size=(2, n)), decimals)
    x[rng.random(n) < 0.1] = -0.0
    _, fast, size = finance._corr_by_codes(codes, x, y)
    # float codes take the pandas path
    groups_, slow, size_ = finance._corr_by_codes(codes.astype("float64"), x, y)
    np.testing.assert_array_equal(size, size_)
    np.testing.assert_array_equal(fast["rank_ic"], slow["rank_ic"])
    np.testing.assert_array_equal(fast["ic"], slow["ic"])
    assert np.array_equal(np.unique(codes), groups_)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(preds=panels(), max_lag=st.integers(0, 4))
def test_ic_decay_of_random_panels_is_the_reference(preds, max_lag) -> None:
    """Whole-group ranks reused across lags: the reference's figures, partial groups too."""
    for h in sorted(preds["horizon"].unique()):
        got = ic_decay(preds, "return", max_lag=max_lag, horizon=int(h))
        want = ref_ic_decay(preds, "return", max_lag=max_lag, horizon=int(h))
        pd.testing.assert_frame_equal(got, want, check_exact=True)
