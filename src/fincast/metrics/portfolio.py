"""Cross-sectional portfolios of a panel forecast, from the predictions table alone.

What a portfolio manager does with a panel forecast: on each rebalancing date rank the
series by what the model expects, buy the top and sell the bottom.

The rule
--------
- **Dates**: the forecasts of the smallest horizon h; the portfolio is rebalanced on every
  h-th date of the panel's forecast calendar (its first test date, then every h steps) and
  held for h steps, so holding periods never overlap.
- **Ranking**: the task's trading score (:meth:`fincast.tasks.base.Task.signal`: the forecast
  return for ``return``, the forecast change for ``level``, ``prob`` for ``direction``),
  largest first; ties are broken by series id. Series without a forecast or a realised
  return on the date are left out. Several rows of one (model, id, date) (training seeds)
  are averaged.
- **Legs**: ``quantile:q`` holds the top ``max(1, n // q)`` of the ``n`` series of a date long
  and as many from the bottom short; ``topk:k`` holds ``min(k, n // 2)`` each side. A date
  whose forecasts are all equal (a constant forecast ranks nothing) or with fewer than two
  series is flat.
- **Weights**: ``equal`` (each leg sums to 1: one unit long, one unit short) or ``forecast``
  (within a leg proportional to ``|score - mean score of the date|``; equal if all are 0).
- **Returns**: a leg earns the weighted simple returns ``exp(fwd_return) - 1`` of its series
  (the short leg minus them); ``long_short`` is the sum of the two legs. Costs are
  ``cost_bps / 1e4`` per unit of turnover ``Σ|w_t - w_{t-1}|`` (target weights, the first
  rebalance trades from cash).
- **Benchmark**: ``equal-weight``, the equal-weight long portfolio of every series with a
  realised return on the date (costs charged the same way).

Statistics (annual return, volatility, Sharpe, max drawdown, and the information ratio
against the benchmark) come from ``empyrical``; the Diebold-Mariano test (loss = minus the
period's return) from :func:`fincast.metrics.significance.diebold_mariano` at horizon 1,
since the holding periods do not overlap; the Sharpe interval from Lo's (2002) delta method
with a Newey-West long-run covariance (``statsmodels``) and fixed-b critical values.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import empyrical as ep
import numpy as np
import pandas as pd

from ..errors import ConfigError
from . import finance
from .finance import _json_float

__all__ = [
    "EQUAL_WEIGHT",
    "MIN_SERIES",
    "PortfolioSpec",
    "ic_decay",
    "parse_portfolio",
    "portfolio_metrics",
    "portfolio_returns",
    "sharpe_interval",
]

#: Name of the benchmark pseudo-model: equal weight in every series with a return.
EQUAL_WEIGHT = "equal-weight"
#: Fewest series for cross-sectional portfolio metrics.
MIN_SERIES = 5
_LEGS = ("long_short", "long", "short")
_SPEC = re.compile(r"^(quantile|topk):(\d+)(?::(equal|forecast))?$")


@dataclass(frozen=True)
class PortfolioSpec:
    """A cross-sectional portfolio rule: ``quantile:q`` or ``topk:k``, equal or forecast weight."""

    scheme: Literal["quantile", "topk"] = "quantile"
    n: int = 5
    weighting: Literal["equal", "forecast"] = "equal"

    def leg_size(self, n_series: int) -> int:
        """Series held in each leg on a date with ``n_series`` series (0: flat)."""
        if n_series < 2:
            return 0
        k = max(1, n_series // self.n) if self.scheme == "quantile" else self.n
        return min(k, n_series // 2)

    def __str__(self) -> str:
        text = f"{self.scheme}:{self.n}"
        return text if self.weighting == "equal" else f"{text}:{self.weighting}"


def parse_portfolio(spec: str | PortfolioSpec) -> PortfolioSpec:
    """Read ``quantile:Q`` or ``topk:K``, optionally followed by ``:equal`` or ``:forecast``.

    Raises
    ------
    ConfigError
        For anything else, or Q < 2 / K < 1.

    Examples
    --------
    >>> parse_portfolio("topk:3:forecast")
    PortfolioSpec(scheme='topk', n=3, weighting='forecast')
    """
    if isinstance(spec, PortfolioSpec):
        return spec
    match = _SPEC.match(str(spec).strip())
    n = int(match.group(2)) if match else 0
    if not match or n < (2 if match.group(1) == "quantile" else 1):
        raise ConfigError(
            f"portfolio must be quantile:Q (Q >= 2) or topk:K (K >= 1), optionally followed by "
            f":equal or :forecast, got {spec!r}; e.g. --portfolio quantile:5"
        )
    return PortfolioSpec(match.group(1), n, match.group(3) or "equal")  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Scored:
    """The scored rows of :func:`_scored_rows` as integer codes and float arrays.

    ``model`` and ``id`` are codes into the sorted names ``models`` and ``ids`` (so
    ordering codes orders the names as pandas orders the strings); ``date`` codes into
    the sorted ``calendar``. Rows are unique per (model, id, date), in the order of
    their first row in the predictions table.
    """

    model: np.ndarray
    id: np.ndarray
    date: np.ndarray
    score: np.ndarray
    ret: np.ndarray
    models: np.ndarray
    ids: np.ndarray
    calendar: np.ndarray

    def frame(self) -> pd.DataFrame:
        """The rows as :func:`_scored_rows` returns them."""
        return pd.DataFrame(
            {
                "model": self.models[self.model],
                "id": self.ids[self.id],
                "date": self.calendar[self.date],
                "score": self.score,
                "ret": self.ret,
            }
        )


def _str_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``values`` as strings (``astype(str)``) into their sorted distinct strings.

    The values are factorized first (a hash), so only the distinct ones become strings.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    names = np.asarray([str(v) for v in uniques], dtype=object)
    remap, distinct = pd.factorize(names, sort=True)
    return remap[codes].astype("int64"), np.asarray(distinct, dtype=object)


def _scored(predictions: pd.DataFrame, task: str, h: int) -> _Scored:
    """(model, id, date, score, ret) on the rebalancing dates of horizon h, as codes.

    Several rows of one (model, id, date) are averaged by pandas' grouped mean over one
    integer key, in row order: the same sums as grouping by the key columns.
    """
    rows = predictions[(predictions["horizon"] == h) & predictions["fwd_return"].notna()]
    model, models = _str_codes(rows["model"])
    ids, id_names = _str_codes(rows["id"])
    date, calendar = pd.factorize(pd.to_datetime(rows["date"]).to_numpy(), sort=True)
    score = np.asarray(finance._forecast_score(rows, task), dtype="float64")
    ret = np.expm1(rows["fwd_return"].to_numpy(dtype="float64"))
    on = date % h == 0  # every h-th date of the forecast calendar
    model, ids, date, score, ret = model[on], ids[on], date[on], score[on], ret[on]
    key = (model * len(id_names) + ids) * len(calendar) + date
    size = len(models) * len(id_names) * len(calendar)
    if finance._has_repeats(key, size):  # training seeds: average each (model, id, date)
        means = pd.DataFrame({"score": score, "ret": ret}).groupby(key, sort=False).mean()
        key = means.index.to_numpy(dtype="int64")
        score, ret = means["score"].to_numpy(), means["ret"].to_numpy()
        date = key % len(calendar)
        ids = key // len(calendar) % len(id_names)
        model = key // len(calendar) // len(id_names)
    used, place = _present(date)  # the rebalancing dates
    return _Scored(model, ids, place, score, ret, models, id_names, np.asarray(calendar)[used])


def _present(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of non-negative integer ``codes`` (increasing) and each code's
    place among them: ``np.unique(codes, return_inverse=True)`` by counting, not sorting."""
    used = np.bincount(codes) > 0 if len(codes) else np.zeros(0, dtype=bool)
    return np.flatnonzero(used), (np.cumsum(used) - 1)[codes]


def _group_starts(*keys: np.ndarray) -> np.ndarray:
    """True where any of the (sorted) ``keys`` changes: the first row of each group."""
    n = len(keys[0])
    new = np.zeros(n, dtype=bool)
    if n:
        new[0] = True
        for k in keys:
            new[1:] |= k[1:] != k[:-1]
    return new


def _lexsort_by_group(
    ids: np.ndarray, value: np.ndarray, model: np.ndarray, date: np.ndarray
) -> np.ndarray:
    """``np.lexsort((ids, value, date, model))`` for non-negative integer codes ``model``
    and ``date``: the same permutation, by lexsort's own stable sorts, key by key, with the
    last two keys as one integer (:func:`finance._stable_order`: one sort of them instead
    of two merges); or, when the (model, date) groups are even enough, the ids by a radix
    sort and then (model, date, value) by stable sorts of each group's values
    (:func:`finance._segment_order`), the same permutation again."""
    if len(ids) and min(ids.min(), model.min(), date.min()) >= 0:
        n_dates = int(date.max()) + 1
        if (int(model.max()) + 1) * n_dates < 2**62 and int(ids.max()) < 2**62:
            order = finance._code_order(ids, int(ids.max()) + 1)
            group = model[order].astype("int64") * n_dates + date[order]
            segments = finance._segment_order(group, value[order], stable=True)
            if segments is not None:
                return order[segments[0]]
    order = np.argsort(ids, kind="stable")
    order = order[np.argsort(value[order], kind="stable")]
    return order[finance._stable_order(model[order], date[order])]


def _weight_arrays(s: _Scored, spec: PortfolioSpec) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``s`` with a score, sorted by (model, date, score descending, id), and their
    long (> 0) and short (< 0) target weights.

    Sums and means are pandas' grouped reductions over one integer key whose groups are
    numbered as those of the key columns were: the same sums, bit for bit.
    """
    rows = np.flatnonzero(~np.isnan(s.score))
    rows = rows[_lexsort_by_group(s.id[rows], -s.score[rows], s.model[rows], s.date[rows])]
    score = s.score[rows]
    start = _group_starts(s.model[rows], s.date[rows])
    group = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    n_group = np.diff(np.append(first, len(rows)))
    pos = np.arange(len(rows)) - first[group]
    n = n_group[group]
    spread = score[first] - score[first + n_group - 1]  # sorted descending: max - min
    k = _leg_sizes(spec, n) * (spread > 0)[group]
    side = np.where(pos < k, 1.0, np.where(pos >= n - k, -1.0, 0.0))
    del pos, n, k, first, start  # the row arrays the legs no longer need
    if spec.weighting == "forecast":
        mean = pd.Series(score).groupby(group, sort=False).transform("mean").to_numpy()
        raw = np.abs(score - mean) * (side != 0)
    else:
        raw = (side != 0).astype("float64")
    # numbered as grouping by (model, date, side) numbers its groups: pandas adds a
    # group's values in an order that depends on the numbering
    leg = group * 3 + (side + 1).astype("int64")
    del group
    sums = pd.Series(raw).groupby(leg, sort=True)
    del leg
    total = sums.transform("sum").to_numpy()
    count = sums.transform("size").to_numpy()
    del sums
    share = np.where(total > 0, raw / np.where(total > 0, total, 1.0), 1.0 / count)
    return rows, side * share


def _weights(frame: pd.DataFrame, spec: PortfolioSpec) -> pd.DataFrame:
    """Long (> 0) and short (< 0) target weights of every (model, date, id) of a
    :func:`_scored_rows` frame."""
    model, models = _str_codes(frame["model"])
    ids, id_names = _str_codes(frame["id"])
    date, calendar = pd.factorize(frame["date"].to_numpy(), sort=True)
    s = _Scored(
        model,
        ids,
        date.astype("int64"),
        frame["score"].to_numpy(dtype="float64"),
        frame["ret"].to_numpy(dtype="float64"),
        models,
        id_names,
        np.asarray(calendar),
    )
    rows, weight = _weight_arrays(s, spec)
    out = frame.iloc[rows][["model", "date", "id"]].assign(weight=weight)
    return out.assign(ret=frame["ret"].to_numpy()[rows])


def _leg_returns(
    date: np.ndarray, ids: np.ndarray, weight: np.ndarray, ret: np.ndarray, cost: float
) -> pd.DataFrame:
    """Per-date gross and net returns and turnover of one model's weights (one leg).

    ``date`` and ``ids`` are codes, each (date, id) once. The weights and returns are laid
    out as pandas' ``pivot_table`` lays them out (dates by series, missing cells 0) and the
    same frame operations run on them, so the sums are the same bits.
    """
    dates, row = _present(date)
    series, col = _present(ids)
    wide_w = np.zeros((len(dates), len(series)))
    wide_r = np.zeros((len(dates), len(series)))
    wide_w[row, col] = weight
    wide_r[row, col] = ret
    # copy=False keeps pivot_table's memory layout (rows of a date next to each other),
    # which decides the order numpy adds a date's series in
    wide = pd.DataFrame(wide_w, index=dates, columns=series, copy=False)
    returns = pd.DataFrame(wide_r, index=dates, columns=series, copy=False)
    turnover = wide.diff().abs().sum(axis=1)
    turnover.iloc[:1] = wide.iloc[:1].abs().sum(axis=1)
    gross = (wide * returns).sum(axis=1)
    return pd.DataFrame({"gross": gross, "turnover": turnover, "net": gross - cost * turnover})


def _model_part(
    name: str,
    s: _Scored,
    date: np.ndarray,
    ids: np.ndarray,
    weight: np.ndarray,
    ret: np.ndarray,
    cost: float,
) -> pd.DataFrame:
    """The :func:`portfolio_returns` rows of one model from its (date, id) weights."""
    # pandas' clip: -0.0 is kept as it is
    long = _leg_returns(date, ids, np.where(weight < 0, 0.0, weight), ret, cost)
    short = _leg_returns(date, ids, np.where(weight > 0, 0.0, weight), ret, cost)
    dates, row = _present(date)
    counts = {
        "n_long": np.bincount(row, weights=weight > 0, minlength=len(dates)),
        "n_short": np.bincount(row, weights=weight < 0, minlength=len(dates)),
        "n_series": np.bincount(row, minlength=len(dates)),
    }
    return pd.DataFrame(
        {
            "model": name,
            "date": s.calendar[dates],
            "long_short": (long["net"] + short["net"]).to_numpy(),
            "long": long["net"].to_numpy(),
            "short": short["net"].to_numpy(),
            "long_short_gross": (long["gross"] + short["gross"]).to_numpy(),
            "turnover": (long["turnover"] + short["turnover"]).to_numpy(),
            **{c: v.astype("int64") for c, v in counts.items()},
        }
    )


def _portfolio_parts(
    predictions: pd.DataFrame, task: str, rule: PortfolioSpec, cost: float, h: int
) -> list[pd.DataFrame]:
    """The :func:`portfolio_returns` rows of every model, then of the benchmark."""
    s = _scored(predictions, task, h)
    rows, weight = _weight_arrays(s, rule)
    model = s.model[rows]
    by_model = np.argsort(model, kind="stable")  # each model's rows, still in weight order
    bounds = np.searchsorted(model[by_model], np.arange(len(s.models) + 1))
    code = {str(m): i for i, m in enumerate(s.models)}
    parts = []
    for name in finance._model_order(predictions):
        if name not in code:
            continue
        take = rows[by_model[bounds[code[name]] : bounds[code[name] + 1]]]
        if not len(take):
            continue
        w = weight[by_model[bounds[code[name]] : bounds[code[name] + 1]]]
        parts.append(_model_part(name, s, s.date[take], s.id[take], w, s.ret[take], cost))
    # the benchmark: each (id, date) once (its first row), equal weight across the date
    key = s.id * len(s.calendar) + s.date
    first = np.flatnonzero(~pd.Series(key).duplicated().to_numpy())
    date, ids = s.date[first], s.id[first]
    size = np.bincount(date, minlength=len(s.calendar))
    if len(first):
        bench = 1.0 / size[date].astype("float64")
        parts.append(_model_part(EQUAL_WEIGHT, s, date, ids, bench, s.ret[first], cost))
    return parts


def _scored_rows(predictions: pd.DataFrame, task: str, h: int) -> pd.DataFrame:
    """(model, id, date, score, ret) on the rebalancing dates of horizon h."""
    return _scored(predictions, task, h).frame()


def _leg_sizes(spec: PortfolioSpec, n_series: np.ndarray) -> np.ndarray:
    """:meth:`PortfolioSpec.leg_size` of every element of ``n_series`` at once."""
    n = np.asarray(n_series, dtype="int64")
    k = np.maximum(1, n // spec.n) if spec.scheme == "quantile" else np.full_like(n, spec.n)
    return np.where(n < 2, 0, np.minimum(k, n // 2))


def portfolio_returns(
    predictions: pd.DataFrame,
    task: str,
    *,
    spec: str | PortfolioSpec = "quantile:5",
    cost_bps: float = 5.0,
    horizon: int | None = None,
) -> pd.DataFrame:
    """Per-period returns of every model's cross-sectional portfolio and the benchmark.

    Parameters
    ----------
    predictions
        The predictions table (``id``, ``date``, ``model``, ``horizon``, ``y_pred``,
        ``fwd_return``; ``prob`` for ``direction``).
    task
        A task with a trading signal (``return``, ``level``, ``direction``, ``trend3``).
    spec
        ``quantile:Q`` or ``topk:K`` (see :func:`parse_portfolio`).
    cost_bps
        Cost per unit of turnover, in basis points.
    horizon
        Horizon to trade (default the smallest); rebalanced every ``horizon`` dates.

    Returns
    -------
    pandas.DataFrame
        One row per (model, date), models in table order then ``equal-weight``, with the
        net returns ``long_short``, ``long``, ``short``, ``long_short_gross``, the
        ``turnover`` of the whole book, ``n_long``, ``n_short`` and ``n_series``.

    Raises
    ------
    ConfigError
        For a task without a trading signal, a bad spec, horizon or cost.
    DataError
        When a needed column is missing.
    """
    finance._check(predictions, task, ("fwd_return",))
    rule = parse_portfolio(spec)
    if not cost_bps >= 0:
        raise ConfigError(f"cost_bps must be >= 0, got {cost_bps}; pass e.g. cost_bps=5")
    h = finance._pick_horizon(predictions, horizon)
    return pd.concat(
        _portfolio_parts(predictions, task, rule, cost_bps / 1e4, h), ignore_index=True
    )


def _stats(r: np.ndarray, bench: np.ndarray | None, ppy: float) -> dict[str, Any]:
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {
            "annual_return": ep.annual_return(r, annualization=ppy),
            "annual_volatility": ep.annual_volatility(r, annualization=ppy),
            "sharpe": ep.sharpe_ratio(r, annualization=ppy),
            "max_drawdown": ep.max_drawdown(r),
            "total_return": ep.cum_returns_final(r) if len(r) else None,
        }
        if bench is not None:
            values["information_ratio"] = ep.excess_sharpe(r, bench) * math.sqrt(ppy)
    return {k: _json_float(v) for k, v in values.items()}


SHARPE_CI_DRAWS = 20_000
"""Simulated samples behind the Sharpe interval's critical value (:func:`_fixed_b_critical`)."""


@functools.lru_cache(maxsize=64)
def _fixed_b_critical(n: int, lags: int, alpha: float) -> float:
    """Two-sided ``1 - alpha`` critical value of a mean's t-statistic whose variance is the
    Newey-West (Bartlett, ``lags`` lags) estimate on ``n`` observations.

    The normal quantile ignores that the long-run variance is itself estimated from the same
    short sample, and such a test rejects a true null too often; the fixed-b critical value
    (Kiefer & Vogelsang 2005) does not. It is simulated here from ``SHARPE_CI_DRAWS``
    Gaussian samples of ``n`` (at most 1,000, the bandwidth kept at the same share ``b =
    (lags + 1) / n``), with a fixed seed, so it also carries the small-sample ``t``
    correction. ``tests/metrics/test_portfolio.py`` checks it against Kiefer & Vogelsang's
    polynomial for the 5 % test, ``1.96 + 2.9694 b + 0.4160 b^2 - 0.5324 b^3``.
    """
    t_len = min(n, 1000)
    lag = lags if t_len == n else max(0, round((lags + 1) * t_len / n) - 1)
    rng = np.random.default_rng(0)
    stats_ = []
    for start in range(0, SHARPE_CI_DRAWS, 2000):
        x = rng.standard_normal((min(2000, SHARPE_CI_DRAWS - start), t_len))
        d = x - x.mean(axis=1, keepdims=True)
        lrv = (d * d).mean(axis=1)
        for j in range(1, lag + 1):
            lrv += 2 * (1 - j / (lag + 1)) * (d[:, j:] * d[:, :-j]).sum(axis=1) / t_len
        stats_.append(np.abs(x.mean(axis=1)) * math.sqrt(t_len) / np.sqrt(lrv))
    return float(np.quantile(np.concatenate(stats_), 1 - alpha))


def sharpe_interval(r: np.ndarray, ppy: float, alpha: float = 0.05) -> dict[str, Any]:
    """``1 - alpha`` interval of the annualised Sharpe ratio of non-overlapping period returns.

    Lo's (2002) delta method on the moments ``(r - mu, (r - mu)^2 - sigma^2)``, their
    long-run covariance the Newey-West estimate (``statsmodels``,
    ``floor(4 (n / 100)^(2/9))`` lags) so that serial correlation and fat tails widen the
    interval, and a fixed-b critical value (:func:`_fixed_b_critical`) in place of the
    normal one. The interval is centred on empyrical's Sharpe ratio. With no lags the
    standard error is Mertens' (2002) ``sqrt((1 - g3 SR + (g4 - 1) / 4 SR^2) / n)``.

    In the size table's simulations (a signal without skill, 60 rebalance periods, 1,000
    panels of 20 series) it excluded the true Sharpe ratio of 0 in 4.6 / 3.9 / 4.7 % of
    the panels at h 1 / 5 / 20, where the percentile stationary bootstrap it replaces did
    so in 10.7 / 6.7 / 9.3 % (300 panels); on 60 returns of an MA(1) with coefficient 0.2
    in 5.4 % (4,000 samples).
    """
    from statsmodels.stats.sandwich_covariance import S_hac_simple

    from .forecast_tests import newey_west_lags

    r = np.asarray(r, dtype="float64")
    n = len(r)
    if n < 10 or not np.ptp(r) > 0:
        return {"low": None, "high": None, "level": 1 - alpha, "reason": "too few periods"}
    d = r - r.mean()
    var = float(np.mean(d * d))
    lags = newey_west_lags(n)
    moments = np.column_stack([d, d * d - var])
    omega = S_hac_simple(moments, nlags=lags) / n if lags else moments.T @ moments / n
    grad = np.array([1 / math.sqrt(var), -r.mean() / (2 * var**1.5)])
    se = math.sqrt(max(float(grad @ omega @ grad), 0.0) / n) * math.sqrt(ppy)
    crit = _fixed_b_critical(n, lags, alpha)
    centre = float(ep.sharpe_ratio(r, annualization=ppy))
    return {
        "low": _json_float(centre - crit * se),
        "high": _json_float(centre + crit * se),
        "level": 1 - alpha,
        "method": "delta method, Newey-West, fixed-b",
        "lags": lags,
        "critical_value": crit,
    }


def _dm(model: np.ndarray, other: np.ndarray) -> dict[str, Any]:
    """DM on the period returns: the rebalancing periods do not overlap, so horizon 1
    (no lags, no HLN factor of h), whatever the forecast horizon."""
    from .significance import diebold_mariano

    out = diebold_mariano(-model, -other, horizon=1)
    out["beats_5pct"] = out.pop("beats_naive_5pct")
    return out


@dataclass(frozen=True)
class _DecayRows:
    """:func:`ic_decay`'s rows, one per (model, id, date), as codes: ``model`` into the
    sorted ``models``, ``id`` into the sorted ``ids``, ``date`` into the sorted dates."""

    model: np.ndarray
    id: np.ndarray
    date: np.ndarray
    signal: np.ndarray
    fwd: np.ndarray
    models: np.ndarray
    ids: np.ndarray
    n_dates: int


def _decay_rows(predictions: pd.DataFrame, task: str, horizon: int | None) -> _DecayRows:
    """The IC rows of the horizon; several rows of one (model, id, date) (training seeds)
    averaged by pandas' grouped mean over one integer key numbered as the key columns'
    groups are (first appearance), in row order: the same sums."""
    frame = finance._ic_rows(predictions, task, horizon)
    model, models = pd.factorize(frame["model"], sort=True, use_na_sentinel=False)
    ids, id_names = _str_codes(frame["id"])
    date, dates = pd.factorize(pd.to_datetime(frame["date"]).to_numpy(), sort=True)
    signal = frame["signal"].to_numpy(dtype="float64")
    fwd = frame["fwd_return"].to_numpy(dtype="float64")
    n_ids, n_dates = len(id_names), len(dates)
    key = (model.astype("int64") * n_ids + ids) * n_dates + date
    if finance._has_repeats(key, len(models) * n_ids * n_dates):
        means = pd.DataFrame({"signal": signal, "fwd": fwd}).groupby(key, sort=False).mean()
        key = means.index.to_numpy(dtype="int64")
        signal, fwd = means["signal"].to_numpy(), means["fwd"].to_numpy()
        model, ids, date = key // n_dates // n_ids, key // n_dates % n_ids, key % n_dates
    return _DecayRows(
        model.astype("int64"),
        ids.astype("int64"),
        date.astype("int64"),
        signal,
        fwd,
        np.asarray(models, dtype=object),
        id_names,
        n_dates,
    )


class _Lookup:
    """Where each of some integer keys is in the sorted distinct ``known`` keys (all in
    ``[0, size)``): a table of every key when it is not much larger than the keys, else a
    binary search."""

    def __init__(self, known: np.ndarray, size: int) -> None:
        self.known = known
        self.table: np.ndarray | None = None
        if size <= 8 * len(known) + 1_000_000:
            self.table = np.full(size, -1, dtype="int64")
            self.table[known] = np.arange(len(known))

    def __call__(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each key's place in ``known`` (any valid place where absent) and whether found."""
        if self.table is not None:
            at = self.table[keys]
            return np.maximum(at, 0), at >= 0
        at = np.minimum(np.searchsorted(self.known, keys), len(self.known) - 1)
        return at, self.known[at] == keys


def _first_rows(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct non-negative integer key below ``size`` and the keys,
    by increasing key: ``np.flatnonzero(~duplicated)`` sorted by key, by a table indexed by
    key when the range allows (no hash table, no sort)."""
    if not finance._dense(keys, size):
        first = np.flatnonzero(~pd.Series(keys).duplicated().to_numpy())
        known = keys[first]
        by_key = np.argsort(known)
        return first[by_key], known[by_key]
    at = np.full(size, len(keys), dtype="int64")
    np.minimum.at(at, keys, np.arange(len(keys), dtype="int64"))
    known = np.flatnonzero(at < len(keys))
    return at[known], known


def _sorted_within(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The permutation sorting rows by (code, value) and places that order the values of
    any one code as the values do (:func:`fincast.metrics.finance._segment_order`, else a
    sort of every value)."""
    segments = finance._segment_order(codes, values)
    if segments is not None:
        return segments
    places = finance._sort_places(values)
    return np.argsort(codes * (len(values) + 1) + places), places


class _LaggedRanks:
    """Ranks of :func:`ic_decay`'s forecasts and later returns within each (model, date).

    The ranks of a group's forecasts, and of the returns of its series ``lag`` dates later,
    depend only on the values ranked: when a lag keeps every row of the group and the
    later date's returns of every series, they are the ranks of the whole group and of the
    whole later date, computed once here.
    """

    def __init__(
        self,
        groups: np.ndarray,
        signal: np.ndarray,
        signal_places: np.ndarray,
        by_signal: np.ndarray,
        pos: np.ndarray,
        known_date: np.ndarray,
        realised: np.ndarray,
        realised_places: np.ndarray,
        by_realised: np.ndarray,
        width: int,
    ) -> None:
        self.groups, self.signal, self.signal_places = groups, signal, signal_places
        self.realised, self.realised_places = realised, realised_places
        n_groups = int(groups.max(initial=-1)) + 1
        self.rows = np.bincount(groups, minlength=n_groups)  # rows of each group
        self.date = np.zeros(n_groups, dtype="int64")
        self.date[groups] = pos  # each group's date
        self.returns = np.bincount(known_date, minlength=width)  # returns of each date
        self.known_date = known_date
        self.signal_rank = finance._grouped_rank(groups, signal, order=by_signal)
        self.realised_rank = finance._grouped_rank(known_date, realised, order=by_realised)

    def ranks(self, lag: int, hit: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ranks of the forecasts (rows ``hit``) and of their returns ``lag`` dates later
        (``realised[at[hit]]``) within each group."""
        groups, later = self.groups[hit], at[hit]
        kept = np.bincount(groups, minlength=len(self.rows))
        target = np.minimum(self.date + lag, len(self.returns) - 1)
        whole = (kept == self.rows) & (kept == self.returns[target])
        x, y = self.signal_rank[hit], self.realised_rank[later]
        again = np.flatnonzero(~whole[groups])
        if len(again):
            codes = groups[again]
            x[again] = finance._grouped_rank(
                codes, self.signal[hit][again], self.signal_places[hit][again]
            )
            y[again] = finance._grouped_rank(
                codes, self.realised[later[again]], self.realised_places[later[again]]
            )
        return x, y

    def exact(self) -> bool:
        """Whether :meth:`rank_ic` applies: every group and date small enough for exact rank
        sums (:func:`fincast.metrics.finance._rank_corr`) and no NaN to rank."""
        limit = finance._EXACT_RANK_ROWS
        return (
            int(self.rows.max(initial=0)) <= limit
            and int(self.returns.max(initial=0)) <= limit
            and not (np.isnan(self.signal).any() or np.isnan(self.realised).any())
        )

    @functools.cached_property
    def _fixed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Deviations of the whole groups' and dates' ranks from their means, and the sums
        of their squares by group and by date (all exact: halves and quarters)."""
        n_groups, width = len(self.rows), len(self.returns)
        with np.errstate(divide="ignore", invalid="ignore"):
            mx = np.bincount(self.groups, weights=self.signal_rank, minlength=n_groups) / self.rows
            sy = np.bincount(self.known_date, weights=self.realised_rank, minlength=width)
            my = sy / self.returns
        dx = self.signal_rank - mx[self.groups]
        dy = self.realised_rank - my[self.known_date]
        sxx = np.bincount(self.groups, weights=dx * dx, minlength=n_groups)
        syy = np.bincount(self.known_date, weights=dy * dy, minlength=width)
        return dx, dy, sxx, syy

    def rank_ic(
        self, lag: int, hit: np.ndarray, at: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``_corr_by_codes(groups[hit], …, ranks=self.ranks(lag, hit, at))``'s groups, rank
        IC and rows when :meth:`exact`, with less work: the sums of a group that the lag keeps
        whole are those of its whole ranks (its forecasts' and its later date's returns'),
        fixed but for the cross products; only the other groups are ranked and summed again.
        Every sum is exact (:func:`fincast.metrics.finance._rank_corr`), so the same bits.
        """
        dx, dy, sxx_group, syy_date = self._fixed
        groups = self.groups
        kept = np.bincount(groups[hit], minlength=len(self.rows))
        target = np.minimum(self.date + lag, len(self.returns) - 1)
        whole = (kept == self.rows) & (kept == self.returns[target])
        use = hit & whole[groups]
        sxy = np.bincount(groups, weights=np.where(use, dx * dy[at], 0.0), minlength=len(kept))
        sxx, syy = sxx_group, syy_date[target]
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = sxy / np.sqrt(sxx * syy)
        corr = np.clip(np.where((sxx > 0) & (syy > 0), corr, np.nan), -1.0, 1.0)
        again = hit & ~whole[groups]
        if again.any():
            codes, later = groups[again], at[again]
            x = finance._grouped_rank(codes, self.signal[again], self.signal_places[again])
            y = finance._grouped_rank(codes, self.realised[later], self.realised_places[later])
            counts = np.bincount(codes)
            some = np.flatnonzero(counts)
            place = (np.cumsum(counts > 0) - 1)[codes]
            corr[some] = finance._rank_corr(place, counts[some], x, y)
        present = np.flatnonzero(kept)
        return present, corr[present], kept[present]


def ic_decay(
    predictions: pd.DataFrame, task: str, *, max_lag: int = 10, horizon: int | None = None
) -> pd.DataFrame:
    """Cross-sectional rank IC of each model's forecast against later and later returns.

    For ``lag`` L, the forecast made at the forecast calendar's date t is compared, across
    the series, with the realised h-step return that starts L dates after t (``lag 0`` is
    its own target, the IC of the report; a signal that persists decays slowly). Rows
    come from the predictions table alone: the return starting at t + L is the
    ``fwd_return`` of the same series on that date. Training seeds are averaged.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``lag``, ``rank_ic`` (mean over dates of the Spearman correlation across
        series, dates with at least two series) and ``n`` (those dates); models whose
        forecast ranks nothing are left out.
    """
    d = _decay_rows(predictions, task, horizon)
    width = d.n_dates + max_lag + 1
    keys = d.id * width + d.date  # one integer per (id, date)
    first, known = _first_rows(keys, len(d.ids) * width)  # each one's first row, by key
    realised = d.fwd[first]
    models_dates, groups = _present(d.model * d.n_dates + d.date)  # numbered in sorted order
    group_model = d.models[models_dates // d.n_dates]
    signal = d.signal
    pos = d.date
    # A (model, date) whose forecasts are all equal ranks nothing at any lag (its rank IC is
    # NaN and left out), so its rows are dropped before the lags: the same figures, less work
    # (the naive model of a return panel). Each lag then ranks subsets of the same two arrays,
    # sorted by integer places rather than floats.
    n_groups = len(models_dates)
    lo, hi = np.full(n_groups, np.inf), np.full(n_groups, -np.inf)
    np.fmin.at(lo, groups, signal)  # min and max (NaN left out) are exact in any order
    np.fmax.at(hi, groups, signal)
    ranks_something = (hi > lo)[groups]
    # rows grouped by (model, date), in their order within each group: pandas groups sorted
    # keys faster (and may then add in another order, but ranks are integers and halves,
    # whose sums and products here are exact in any order)
    rows = np.flatnonzero(ranks_something)
    rows = rows[finance._code_order(groups[rows], n_groups)]
    keys, groups, signal = keys[rows], groups[rows], signal[rows]
    # each group's forecasts and each date's returns sorted once, group by group (places
    # within a group order any subset of it as the values do)
    by_signal, signal_places = _sorted_within(groups, signal)
    known_date = known % width
    by_realised, realised_places = _sorted_within(known_date, realised)
    # Each lag's ranks are those of the whole group (the forecasts of a (model, date), the
    # returns of the date L later) wherever the lag keeps the whole of both, as it does for
    # most dates of a panel; only the other groups are ranked again.
    lagged = _LaggedRanks(
        groups,
        signal,
        signal_places,
        by_signal,
        pos[rows],
        known_date,
        realised,
        realised_places,
        by_realised,
        width,
    )
    out = []
    find = _Lookup(known, len(d.ids) * width)
    exact = lagged.exact()
    for lag in range(max_lag + 1 if len(keys) else 0):
        at, hit = find(keys + lag)  # hit: the series has a return starting `lag` dates later
        if not hit.any():
            continue
        if exact:
            present, rank_ic, n = lagged.rank_ic(lag, hit, at)
        else:
            present, corr, n = finance._corr_by_codes(
                groups[hit],
                signal[hit],
                realised[at[hit]],
                pearson=False,
                ranks=lagged.ranks(lag, hit, at),
            )
            rank_ic = corr["rank_ic"]
        per = pd.DataFrame({"model": group_model[present], "rank_ic": rank_ic, "n": n})
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


def portfolio_metrics(
    predictions: pd.DataFrame,
    task: str,
    *,
    spec: str | PortfolioSpec = "quantile:5",
    cost_bps: float = 5.0,
    alpha: float = 0.05,
    tables: dict[str, pd.DataFrame] | None = None,
    ic: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Cross-sectional portfolio metrics of every model of a panel (``metrics.json`` ``portfolio``).

    Parameters
    ----------
    predictions
        The predictions table.
    task
        The run's task.
    spec
        ``quantile:Q`` or ``topk:K`` (optionally ``:forecast`` weights).
    cost_bps
        Cost per unit of turnover, in basis points.
    alpha
        The Sharpe interval's level is ``1 - alpha`` (:func:`sharpe_interval`).
    tables
        When given, receives the tables the figures are drawn from, so the report need not
        compute them again: ``"returns"`` (:func:`portfolio_returns`) and ``"ic_decay"``
        (:func:`ic_decay`), both of the smallest horizon.
    ic
        :func:`~fincast.metrics.finance.information_coefficient` of ``predictions`` at the
        smallest horizon when the caller has it already (it is not computed again).

    Returns
    -------
    dict
        ``{"skipped": reason}`` for a single series, fewer than :data:`MIN_SERIES` series, a
        task without a trading signal or a table without ``fwd_return``. Otherwise
        ``{"rule", "spec", "cost_bps", "horizon", "periods_per_year", "n_series",
        "equal_weight": stats, "models": {name: {"long_short": stats, "long": stats,
        "short": stats, "turnover", "ic": {...}, "ic_decay": [rank IC at lags 0, 1, …]}}}``
        (:func:`ic_decay`) where ``stats`` holds
        ``annual_return``, ``annual_volatility``, ``sharpe``, ``max_drawdown``,
        ``total_return``, ``information_ratio`` (against ``equal-weight``) and, for
        ``long_short`` and ``long``, ``dm_vs_equal_weight`` (one-sided p < alpha: higher
        returns), ``dm_vs_naive`` (when ``naive`` ranks anything) and, for ``long_short``,
        ``sharpe_ci``. A model whose forecast ranks nothing (constant) is
        ``{"skipped": reason}``.
    """
    n_series = int(predictions["id"].nunique()) if "id" in predictions.columns else 0
    if n_series < MIN_SERIES:
        return {
            "skipped": f"cross-sectional portfolios need a panel of at least {MIN_SERIES} "
            f"series; this run has {n_series}"
        }
    if not finance.supports(task):
        return {"skipped": f"task {task!r} has no trading signal to rank series by"}
    if "fwd_return" not in predictions.columns:
        return {"skipped": "the predictions table has no fwd_return column"}
    rule = parse_portfolio(spec)
    h = finance._pick_horizon(predictions, None)
    ppy = finance.infer_periods_per_year(predictions.loc[predictions["horizon"] == h, "date"], h)
    returns = portfolio_returns(predictions, task, spec=rule, cost_bps=cost_bps, horizon=h)
    wide = {
        leg: returns.pivot(index="date", columns="model", values=leg).fillna(0.0) for leg in _LEGS
    }
    bench = wide["long"][EQUAL_WEIGHT].to_numpy()
    if ic is None:
        ic = finance.information_coefficient(predictions, task, horizon=h)
    models: dict[str, Any] = {}
    naive_ranks = (
        "naive" in wide["long"] and (returns.query("model == 'naive'")["n_long"] > 0).any()
    )
    for model in finance._model_order(predictions):
        rows = returns[returns["model"] == model]
        if rows.empty or not (rows["n_long"] > 0).any():
            models[model] = {"skipped": "its forecasts are equal across series: nothing to rank"}
            continue
        entry: dict[str, Any] = {}
        for leg in _LEGS:
            r = wide[leg][model].to_numpy()
            entry[leg] = _stats(r, bench, ppy)
            if leg == "short":
                continue
            entry[leg]["dm_vs_equal_weight"] = _dm(r, bench)
            if naive_ranks and model != "naive":
                entry[leg]["dm_vs_naive"] = _dm(r, wide[leg]["naive"].to_numpy())
        entry["long_short"]["sharpe_ci"] = sharpe_interval(
            wide["long_short"][model].to_numpy(), ppy, alpha
        )
        entry["turnover"] = _json_float(rows["turnover"].mean())
        entry["n_periods"] = len(rows)
        entry["ic"] = {
            k: ic.get(model, {}).get(k)
            for k in ("ic", "rank_ic", "icir", "rank_icir", "t_stat", "rank_t_stat", "n")
        }
        models[model] = entry
    decay = ic_decay(predictions, task, horizon=h)
    if tables is not None:
        tables.update(returns=returns, ic_decay=decay)
    for model, rows in decay.groupby("model", sort=False):
        if "skipped" not in models.get(str(model), {"skipped": ""}):
            models[str(model)]["ic_decay"] = [_json_float(v) for v in rows["rank_ic"]]
    return {
        "rule": (
            f"each {h}-step period rank the series by the forecast; long the top, short the "
            f"bottom ({rule}), {rule.weighting} weights, net of cost_bps on turnover"
        ),
        "spec": str(rule),
        "cost_bps": float(cost_bps),
        "horizon": h,
        "periods_per_year": ppy,
        "n_series": n_series,
        "equal_weight": {
            **_stats(bench, None, ppy),
            "turnover": _json_float(returns.query("model == @EQUAL_WEIGHT")["turnover"].mean()),
        },
        "models": models,
    }
