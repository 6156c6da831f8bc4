"""The vectorised evaluation layer gives the same bits as the implementation it replaced.

The reference functions below are the per-date/per-lag pandas code of fincast before issue
26 (``_grouped_corr`` with ``groupby(keys).rank()``, ``portfolio_returns`` with a Python
function per date group, ``ic_decay`` with one merge per lag), kept here verbatim as slow
oracles; the module's results must equal theirs exactly, not only to a tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fincast.metrics import finance
from fincast.metrics.portfolio import (
    EQUAL_WEIGHT,
    PortfolioSpec,
    _scored_rows,
    _weights,
    ic_decay,
    parse_portfolio,
    portfolio_returns,
)

# --- the reference implementation (fincast before issue 26) ------------------------------


def ref_grouped_corr(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    d = frame[[*keys, "signal", "fwd_return"]].copy()
    grouped = d.groupby(keys, sort=True)
    d["rx"] = grouped["signal"].rank()
    d["ry"] = grouped["fwd_return"].rank()
    result: dict[str, pd.Series] = {}
    for name, (x, y) in {"ic": ("signal", "fwd_return"), "rank_ic": ("rx", "ry")}.items():
        g = d.groupby(keys, sort=True)
        dx = d[x] - g[x].transform("mean")
        dy = d[y] - g[y].transform("mean")
        parts = pd.DataFrame({"sxy": dx * dy, "sxx": dx * dx, "syy": dy * dy})
        for k in keys:
            parts[k] = d[k].to_numpy()
        sums = parts.groupby(keys, sort=True).sum()
        spread = g[x].max() - g[x].min()
        spread_y = g[y].max() - g[y].min()
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = sums["sxy"] / np.sqrt(sums["sxx"] * sums["syy"])
        result[name] = corr.where((spread > 0) & (spread_y > 0)).clip(-1.0, 1.0)
    out = pd.DataFrame(result)
    out["n"] = d.groupby(keys, sort=True).size()
    return out.reset_index()


def ref_weights(frame: pd.DataFrame, spec: PortfolioSpec) -> pd.DataFrame:
    f = frame.dropna(subset=["score"]).sort_values(
        ["model", "date", "score", "id"], ascending=[True, True, False, True], kind="stable"
    )
    g = f.groupby(["model", "date"], sort=False)
    pos = g.cumcount().to_numpy()
    n = g["score"].transform("size").to_numpy()
    spread = (g["score"].transform("max") - g["score"].transform("min")).to_numpy()
    k = np.array([spec.leg_size(int(v)) for v in n]) * (spread > 0)
    side = np.where(pos < k, 1.0, np.where(pos >= n - k, -1.0, 0.0))
    if spec.weighting == "forecast":
        raw = (f["score"] - g["score"].transform("mean")).abs().to_numpy() * (side != 0)
    else:
        raw = (side != 0).astype("float64")
    f = f.assign(side=side, raw=raw)
    keys = [f["model"], f["date"], f["side"]]
    total = f.groupby(keys)["raw"].transform("sum").to_numpy()
    count = f.groupby(keys)["raw"].transform("size").to_numpy()
    share = np.where(total > 0, raw / np.where(total > 0, total, 1.0), 1.0 / count)
    f["weight"] = side * share
    return f[["model", "date", "id", "weight", "ret"]]


def ref_leg_returns(w: pd.DataFrame, cost: float) -> pd.DataFrame:
    wide = w.pivot_table(index="date", columns="id", values="weight", aggfunc="sum").fillna(0.0)
    ret = w.pivot_table(index="date", columns="id", values="ret", aggfunc="mean")
    ret = ret.reindex_like(wide).fillna(0.0)
    turnover = wide.diff().abs().sum(axis=1)
    turnover.iloc[:1] = wide.iloc[:1].abs().sum(axis=1)
    gross = (wide * ret).sum(axis=1)
    return pd.DataFrame({"gross": gross, "turnover": turnover, "net": gross - cost * turnover})


def ref_portfolio_returns(
    predictions, task, *, spec="quantile:5", cost_bps=5.0, horizon=None, scored=_scored_rows
):
    """``scored``: the scored rows' function (fincast's, or test_vectorised_publish's
    reference of the code it replaced)."""
    rule = parse_portfolio(spec)
    h = finance._pick_horizon(predictions, horizon)
    frame = scored(predictions, task, h)
    cost = cost_bps / 1e4
    weights = ref_weights(frame, rule)
    bench = frame.drop_duplicates(["id", "date"]).assign(model=EQUAL_WEIGHT)
    bench["weight"] = 1.0 / bench.groupby("date")["id"].transform("size")
    parts = []
    for model in [*finance._model_order(predictions), EQUAL_WEIGHT]:
        w = bench if model == EQUAL_WEIGHT else weights[weights["model"] == model]
        if w.empty:
            continue
        long = ref_leg_returns(w.assign(weight=w["weight"].clip(lower=0.0)), cost)
        short = ref_leg_returns(w.assign(weight=w["weight"].clip(upper=0.0)), cost)
        counts = w.groupby("date").agg(
            n_long=("weight", lambda s: int((s > 0).sum())),
            n_short=("weight", lambda s: int((s < 0).sum())),
            n_series=("id", "size"),
        )
        parts.append(
            pd.DataFrame(
                {
                    "model": model,
                    "date": long.index,
                    "long_short": (long["net"] + short["net"]).to_numpy(),
                    "long": long["net"].to_numpy(),
                    "short": short["net"].to_numpy(),
                    "long_short_gross": (long["gross"] + short["gross"]).to_numpy(),
                    "turnover": (long["turnover"] + short["turnover"]).to_numpy(),
                    **{c: counts[c].reindex(long.index).to_numpy() for c in counts.columns},
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def ref_ic_decay(predictions, task, *, max_lag=10, horizon=None):
    frame = finance._ic_rows(predictions, task, horizon)
    frame = frame.assign(date=pd.to_datetime(frame["date"]), id=frame["id"].astype(str))
    frame = frame.groupby(["model", "id", "date"], as_index=False, sort=False)[
        ["signal", "fwd_return"]
    ].mean()
    calendar = np.sort(frame["date"].unique())
    frame["pos"] = np.searchsorted(calendar, frame["date"].to_numpy())
    realised = frame.drop_duplicates(["id", "pos"])[["id", "pos", "fwd_return"]]
    out = []
    for lag in range(max_lag + 1):
        later = realised.assign(pos=realised["pos"] - lag)
        rows = frame.drop(columns="fwd_return").merge(later, on=["id", "pos"], how="inner")
        if rows.empty:
            continue
        per = ref_grouped_corr(rows, ["model", "date"])
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


# --- fixtures -----------------------------------------------------------------------------


def table(seed: int, n_ids: int = 23, n_dates: int = 90, horizons=(1,)) -> pd.DataFrame:
    """A ragged panel: ties, a constant model, missing returns, late and early series."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n_dates)
    ids = [f"S{i:02d}" for i in range(n_ids)]
    frames = []
    for h in horizons:
        fwd = rng.normal(0.0, 0.02, (n_dates, n_ids)) * np.sqrt(h)
        fwd[rng.random(fwd.shape) < 0.05] = np.nan
        for model, pred in {
            "naive": np.zeros_like(fwd),
            "m": 0.3 * np.nan_to_num(fwd) + rng.normal(0, 0.02, fwd.shape),
            "ties": np.round(rng.normal(0, 0.02, fwd.shape), 2),
        }.items():
            frames.append(
                pd.DataFrame(
                    {
                        "id": np.tile(ids, n_dates),
                        "date": np.repeat(dates, n_ids),
                        "fold": np.repeat(np.arange(n_dates) * 3 // n_dates, n_ids),
                        "model": model,
                        "horizon": h,
                        "y_true": np.nan_to_num(fwd).reshape(-1),
                        "y_pred": pred.reshape(-1),
                        "fwd_return": fwd.reshape(-1),
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    late = (out["id"] == "S00") & (out["date"] < dates[20])
    early = (out["id"] == "S01") & (out["date"] > dates[60])
    return out[~late & ~early].reset_index(drop=True)


SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("keys", [["date"], ["model", "date"], ["fold"], ["model", "fold"]])
def test_grouped_corr_is_the_reference_bit_for_bit(seed: int, keys: list[str]) -> None:
    frame = finance._ic_rows(table(seed), "return", None)
    got = finance._grouped_corr(frame, keys)
    want = ref_grouped_corr(frame, keys)
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)


def test_grouped_rank_matches_pandas_with_ties_and_nans() -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 7, 500)
    values = np.round(rng.normal(size=500), 1)
    values[rng.random(500) < 0.1] = np.nan
    values[:5] = -0.0
    want = pd.Series(values).groupby(codes).rank().to_numpy()
    np.testing.assert_array_equal(finance._grouped_rank(codes, values), want)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("spec", ["quantile:5", "quantile:3:forecast", "topk:4", "topk:50"])
def test_portfolio_returns_are_the_reference_bit_for_bit(seed: int, spec: str) -> None:
    preds = table(seed, horizons=(1, 5))
    for h in (1, 5):
        got = portfolio_returns(preds, "return", spec=spec, cost_bps=7.0, horizon=h)
        want = ref_portfolio_returns(preds, "return", spec=spec, cost_bps=7.0, horizon=h)
        pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize("spec", ["quantile:5", "quantile:2", "topk:1", "topk:3:forecast"])
def test_weights_are_the_reference(spec: str) -> None:
    frame = _scored_rows(table(4), "return", 1)
    rule = parse_portfolio(spec)
    pd.testing.assert_frame_equal(_weights(frame, rule), ref_weights(frame, rule), check_exact=True)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("horizon", [1, 5])
def test_ic_decay_is_the_reference_bit_for_bit(seed: int, horizon: int) -> None:
    preds = table(seed, horizons=(1, 5))
    got = ic_decay(preds, "return", horizon=horizon, max_lag=6)
    want = ref_ic_decay(preds, "return", horizon=horizon, max_lag=6)
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_ic_decay_of_seed_copies_averages_like_the_reference() -> None:
    preds = table(7)
    copy = preds[preds["model"] == "m"].assign(y_pred=lambda f: f["y_pred"] * 1.5 + 0.001)
    both = pd.concat([preds, copy], ignore_index=True)  # two rows per (model, id, date)
    pd.testing.assert_frame_equal(
        ic_decay(both, "return"), ref_ic_decay(both, "return"), check_exact=True
    )


def test_information_coefficient_is_the_reference() -> None:
    preds = table(3)
    frame = finance._ic_rows(preds, "return", None)
    got = finance.information_coefficient(preds, "return")
    per = ref_grouped_corr(frame[frame["model"] == "m"], ["date"])
    per = per[per["n"] >= 2]
    assert got["m"]["rank_ic"] == float(per["rank_ic"].dropna().mean())
    assert got["m"]["ic"] == float(per["ic"].dropna().mean())


@pytest.mark.parametrize("seed", SEEDS)
def test_grouped_rank_from_places_of_a_larger_array_is_the_same(seed: int) -> None:
    """ic_decay ranks subsets of one array by its integer sort places: the same ranks."""
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=2000), 1)  # many ties
    values[:7] = 0.0
    values[7:11] = -0.0
    places = finance._sort_places(values)
    for _ in range(5):
        keep = rng.random(2000) < 0.6
        codes = rng.integers(0, 40, keep.sum())
        want = pd.Series(values[keep]).groupby(codes).rank().to_numpy()
        got = finance._grouped_rank(codes, values[keep], places[keep])
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, finance._grouped_rank(codes, values[keep]))


@pytest.mark.parametrize("seed", SEEDS)
def test_ic_decay_with_dates_a_model_ranks_nothing_is_the_reference(seed: int) -> None:
    """Dates whose forecasts are equal across series are skipped up front: same figures."""
    preds = table(seed)
    dates = np.sort(preds["date"].unique())
    flat = preds[preds["model"] == "m"].assign(model="flat_days")
    on_flat_day = flat["date"].isin(dates[::3])
    flat.loc[on_flat_day, "y_pred"] = 0.25  # equal across series on every third date
    both = pd.concat([preds, flat], ignore_index=True)
    got = ic_decay(both, "return", max_lag=5)
    want = ref_ic_decay(both, "return", max_lag=5)
    assert set(got["model"]) == {"m", "ties", "flat_days"}  # naive ranks nothing
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_evaluate_hands_its_ic_to_the_portfolio_with_the_same_figures() -> None:
    """evaluate computes the IC once; the portfolio section is what it computes alone."""
    from fincast.metrics.evaluation import evaluate
    from fincast.metrics.portfolio import portfolio_metrics

    preds = table(2)
    got = evaluate(preds, "return", bootstrap_reps=50)["portfolio"]
    alone = portfolio_metrics(preds, "return")
    assert got["models"]["m"]["ic"]["rank_ic"] is not None
    assert got == alone


@pytest.mark.parametrize("seed", [0, 1])
def test_evaluate_hands_the_strategy_returns_the_plots_would_compute(seed: int) -> None:
    """The trading curves are drawn from the metrics' long/flat returns: the same table."""
    from fincast.metrics.evaluation import evaluate
    from fincast.report.plots import _trading_curves

    preds = table(seed, horizons=(1, 5))
    figures: dict[str, pd.DataFrame] = {}
    evaluate(preds, "return", cost_bps=7.0, bootstrap_reps=20, figures=figures)
    handed = figures["strategy_returns"]
    alone = finance.strategy_returns(preds, "return", mode="long_flat", cost_bps=7.0)
    pd.testing.assert_frame_equal(handed, alone, check_exact=True)
    drawn = _trading_curves(preds, "return", None, 7.0, handed)
    computed = _trading_curves(preds, "return", None, 7.0)
    pd.testing.assert_frame_equal(drawn[0], computed[0], check_exact=True)
    assert drawn[1:] == computed[1:]


def test_a_multi_seed_run_hands_no_strategy_returns() -> None:
    """The metrics average the seeds while the plots draw the first: nothing handed over."""
    from fincast.metrics.evaluation import evaluate

    preds = table(0)
    seeded = pd.concat(
        [preds.assign(seed=0), preds[preds["model"] == "m"].assign(seed=1)], ignore_index=True
    )
    seeded.loc[seeded["model"] != "m", "seed"] = np.nan
    figures: dict[str, pd.DataFrame] = {}
    evaluate(seeded, "return", bootstrap_reps=20, figures=figures)
    assert "strategy_returns" not in figures


@pytest.mark.parametrize("seed", [0, 1])
def test_ic_series_without_ranks_is_the_same_ic(seed: int) -> None:
    """The IC plot asks for the Pearson IC only: the same figures as the full pass."""
    preds = table(seed)
    full = finance.ic_series_by_model(preds, "return")
    pearson = finance.ic_series_by_model(preds, "return", rank=False)
    assert set(pearson) == set(full)
    for name, frame in pearson.items():
        assert "rank_ic" not in frame.columns
        pd.testing.assert_frame_equal(frame, full[name].drop(columns="rank_ic"), check_exact=True)
