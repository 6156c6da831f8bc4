"""Trading metrics from the predictions table: positions, strategy returns, Sharpe, IC.

Everything here works from the predictions table alone (one row per model, id, date and
horizon, with ``y_pred``, ``fwd_return`` and, for ``direction``, ``prob``), so a figure can
be checked from the run's predictions table (``predictions.parquet`` or ``predictions.csv``)
without retraining.

How a forecast becomes a trade
------------------------------
The *signal* of a row is the sign of what the model expects:

- ``return``: the sign of ``y_pred`` (the forecast log return);
- ``level``: the sign of ``y_pred`` minus the ``naive`` forecast of the same row (the last
  value), i.e. the forecast change;
- ``direction``: the sign of ``prob - threshold`` (``y_pred`` stands in for ``prob`` when there
  is none).

``long_flat`` holds 1 on a positive signal and 0 otherwise; ``long_short`` holds the signal
itself (+1, -1, or 0 when the forecast is exactly flat).

For a horizon h the strategy trades every h-th forecast date of each series (starting at the
series' first test date) and holds for h steps, so holding periods never overlap. Over a
period the position p earns the simple return ``p * (exp(fwd_return) - 1)`` (a short earns
minus the asset's simple return), less ``cost_bps / 1e4 * |p - p_prev|`` for the trades
(the first position is a trade from flat). A panel is an equal-weight portfolio of the series
that have a row on the date: its return is the mean of the series' simple returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import empyrical as ep
import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..tasks import get_task, task_names
from .overlap import ordinal

__all__ = [
    "BUY_AND_HOLD",
    "equity_curves",
    "ic_series",
    "ic_series_by_model",
    "infer_periods_per_year",
    "information_coefficient",
    "positions",
    "strategy_returns",
    "supports",
    "trading_metrics",
]

BUY_AND_HOLD = "buy-and-hold"
"""Name of the pseudo-model that is always long (one initial trade)."""

Mode = Literal["long_flat", "long_short"]
_MODES: tuple[Mode, ...] = ("long_flat", "long_short")
_REQUIRED = ("id", "date", "model", "horizon", "y_pred")


def _json_float(value: Any) -> float | None:
    """A plain float, or None for NaN, inf and missing values."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _check(predictions: pd.DataFrame, task: str, extra: Iterable[str] = ()) -> None:
    if not supports(task):
        raise ConfigError(
            f"task {task!r} has no trading signal; expected one of {', '.join(_tradable())}"
        )
    missing = [c for c in (*_REQUIRED, *extra) if c not in predictions.columns]
    if missing:
        raise DataError(
            f"the predictions table has no column {', '.join(map(repr, missing))}; expected "
            f"columns {', '.join(_REQUIRED)}, fwd_return (and prob for direction) — rebuild "
            "it with fincast's backtest"
        )


def _pick_horizon(predictions: pd.DataFrame, horizon: int | None) -> int:
    available = sorted(int(h) for h in pd.unique(predictions["horizon"]))
    if not available:
        raise DataError("the predictions table is empty; run a backtest first")
    if horizon is None:
        return available[0]
    if int(horizon) not in available:
        raise ConfigError(
            f"horizon {horizon} is not in the predictions table; expected one of "
            f"{', '.join(map(str, available))}"
        )
    return int(horizon)


def _tradable() -> list[str]:
    return [name for name in task_names() if get_task(name).tradable]


def supports(task: str) -> bool:
    """Whether forecasts of ``task`` can be traded (its task object has a signal).

    Examples
    --------
    >>> supports("return"), supports("no-such-task")
    (True, False)
    """
    return task in task_names() and get_task(task).tradable


def _forecast_score(predictions: pd.DataFrame, task: str) -> np.ndarray:
    """What a model expects, on a scale where larger means more bullish."""
    return get_task(task).signal(predictions)


def positions(
    predictions: pd.DataFrame,
    task: str,
    *,
    mode: Mode = "long_flat",
    threshold: float = 0.5,
) -> pd.Series:
    """The position each forecast row asks for.

    Parameters
    ----------
    predictions
        The predictions table.
    task
        ``return``, ``level`` or ``direction``.
    mode
        ``long_flat`` gives {0, 1}; ``long_short`` gives {-1, +1}, and 0 where the forecast is
        exactly flat.
    threshold
        For ``direction``: go long when ``prob > threshold`` (short when below, in
        ``long_short``).

    Returns
    -------
    pandas.Series
        Float positions named ``position``, aligned with ``predictions.index``. Rows without a
        forecast are flat (0).

    Raises
    ------
    ConfigError
        For an unknown task or mode.
    DataError
        When a column is missing, or the ``level`` task has no ``naive`` rows.

    Examples
    --------
    >>> p = pd.DataFrame({"id": "a", "date": pd.date_range("2020", periods=3),
    ...                   "model": "m", "horizon": 1, "y_pred": [0.1, -0.2, 0.0]})
    >>> positions(p, "return", mode="long_short").tolist()
    [1.0, -1.0, 0.0]
    """
    _check(predictions, task)
    if mode not in _MODES:
        raise ConfigError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")
    score = _forecast_score(predictions, task)
    if get_task(task).signal_is_probability:
        score = score - threshold
    signal = np.nan_to_num(np.sign(score), nan=0.0)
    if mode == "long_flat":
        signal = (signal > 0).astype("float64")
    return pd.Series(signal + 0.0, index=predictions.index, name="position")


def _sampled(
    predictions: pd.DataFrame, h: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    """The rows of horizon h on every h-th date of each series (non-overlapping periods)
    as row numbers (in table order), with the id and date codes
    of all rows (numbered in sorted order of the ids and of the dates) and the dates.

    A series' dates are its distinct dates with a horizon-h row and a realised return;
    every h-th of them from its first is kept.
    """
    ok = (predictions["horizon"] == h) & predictions["fwd_return"].notna()
    rows = np.flatnonzero(ok.to_numpy(dtype=bool))
    id_code = pd.factorize(predictions["id"], sort=True, use_na_sentinel=False)[0]
    date_code, dates = pd.factorize(predictions["date"], sort=True, use_na_sentinel=False)
    key = id_code[rows].astype("int64") * (len(dates) + 1) + date_code[rows]
    size = (int(id_code.max(initial=-1)) + 1) * (len(dates) + 1)
    distinct, at = _distinct(key, size)  # sorted by (id, date)
    series = distinct // (len(dates) + 1)
    start = np.flatnonzero(np.r_[True, series[1:] != series[:-1]]) if len(distinct) else series
    place = np.arange(len(distinct)) - np.repeat(start, np.diff(np.r_[start, len(distinct)]))
    return rows[(place % h == 0)[at]], id_code, date_code, dates


def _dense(key: np.ndarray, size: int) -> bool:
    """Whether integer keys below ``size`` are counted in a table: none negative (a NaN
    code) and the range not much larger than the keys (else they are sorted or hashed)."""
    return size <= 4 * len(key) + _DENSE_PAIRS and not (len(key) and key.min() < 0)


def _distinct(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` of integer keys in ``[0, size)``: by counting
    when the range is not much larger than the keys (no sort of every key)."""
    if not _dense(key, size):
        return np.unique(key, return_inverse=True)
    used = np.bincount(key, minlength=size) > 0
    return np.flatnonzero(used), (np.cumsum(used) - 1)[key]


def _has_repeats(key: np.ndarray, size: int) -> bool:
    """``pd.Series(key).duplicated().any()`` of integer keys in ``[0, size)``: by counting
    when the range is not much larger than the keys (no hash table of every key)."""
    if not _dense(key, size):
        return bool(pd.Series(key).duplicated().any())
    return bool(len(key)) and int(np.bincount(key, minlength=size).max()) > 1


def strategy_returns(
    predictions: pd.DataFrame,
    task: str,
    *,
    mode: Mode = "long_flat",
    cost_bps: float = 5.0,
    horizon: int | None = None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Per-period returns of trading each model's forecasts, before and after costs.

    Parameters
    ----------
    predictions
        The predictions table (needs ``fwd_return``).
    task
        ``return``, ``level`` or ``direction``.
    mode
        ``long_flat`` or ``long_short`` (see :func:`positions`).
    cost_bps
        Cost per side in basis points of the traded notional: a period's cost is
        ``cost_bps / 1e4 * |position - previous position|``.
    horizon
        The horizon to trade (default the smallest). Positions are held for h steps on every
        h-th forecast date of each series.
    threshold
        Probability threshold for ``direction``.

    Returns
    -------
    pandas.DataFrame
        One row per (model, date), models in table order then ``buy-and-hold``, with ``position`` (mean position across series:
        the position itself for one series, the net exposure for a panel), ``exposure`` (mean
        absolute position), ``turnover`` (mean ``|Δposition|``), ``gross_return`` and
        ``net_return`` (simple returns of the period) and ``n_series``. A ``buy-and-hold``
        pseudo-model (always long, one initial trade) is included.

    Raises
    ------
    ConfigError
        For an unknown task, mode or horizon, or a negative cost.
    DataError
        When a needed column is missing.

    Examples
    --------
    >>> p = pd.DataFrame({"id": "a", "date": pd.date_range("2020", periods=2),
    ...                   "model": "m", "horizon": 1, "y_pred": [0.1, 0.1],
    ...                   "fwd_return": [np.log(1.02), np.log(0.99)]})
    >>> strategy_returns(p, "return", cost_bps=10).query("model == 'm'")["net_return"].round(6).tolist()
    [0.019, -0.01]
    """
    _check(predictions, task, ("fwd_return",))
    if mode not in _MODES:
        raise ConfigError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")
    h = _pick_horizon(predictions, horizon)
    return _mode_returns(predictions, task, (mode,), cost_bps, h, threshold)[mode]


def _mode_returns(
    predictions: pd.DataFrame,
    task: str,
    modes: tuple[Mode, ...],
    cost_bps: float,
    h: int,
    threshold: float,
) -> dict[Mode, pd.DataFrame]:
    """:func:`strategy_returns` of each mode; the rows are sampled and sorted once.

    The rows are sorted by (model in table order, id, date), stable, and each (model,
    date)'s figures are pandas' grouped means over one integer key numbered in that order,
    in that row order: the same sums as grouping the sorted rows by their columns.
    """
    if not cost_bps >= 0:
        raise ConfigError(f"cost_bps must be >= 0, got {cost_bps}; pass e.g. cost_bps=5")
    rows, id_code, date_code, calendar = _sampled(predictions, h)
    width = len(calendar) + 1
    key = id_code[rows].astype("int64") * width + date_code[rows]
    hold = rows[~pd.Series(key).duplicated().to_numpy()]  # each (id, date)'s first row
    del key
    order = [*_model_order(predictions), BUY_AND_HOLD]
    codes, names = pd.factorize(predictions["model"], use_na_sentinel=False)
    model_code = pd.Index(order).get_indexer([str(n) for n in names]).astype("int32")[codes]
    del codes
    both = np.r_[rows, hold]
    model = np.r_[model_code[rows], np.full(len(hold), len(order) - 1, dtype="int32")]
    del model_code
    # int32 codes (numbers of models, series and dates) sort as their int64 values would
    ids, dates = id_code[both].astype("int32"), date_code[both].astype("int32")
    del id_code, date_code
    sort = _stable_order(model, ids, dates)
    both, model, ids, dates = both[sort], model[sort], ids[sort], dates[sort]
    held = np.r_[np.zeros(len(rows), dtype=bool), np.ones(len(hold), dtype=bool)][sort]
    del sort, rows, hold
    first = np.r_[True, (model[1:] != model[:-1]) | (ids[1:] != ids[:-1])] if len(both) else held
    del ids
    group = model.astype("int64") * width + dates
    del model, dates
    fwd = predictions["fwd_return"].to_numpy(dtype="float64")[both]
    out: dict[Mode, pd.DataFrame] = {}
    for m in modes:
        pos = positions(predictions, task, mode=m, threshold=threshold).to_numpy()[both]
        pos[held] = 1.0  # buy-and-hold is always long
        returns = _period_returns(pos, first, fwd, group, cost_bps)
        del pos
        key = returns.index.to_numpy(dtype="int64")
        returns.insert(0, "date", calendar[key % width])
        returns.insert(0, "model", np.asarray(order, dtype=object)[key // width])
        returns = returns.reset_index(drop=True)
        returns["model"] = returns["model"].astype(str)
        out[m] = returns
    return out


def _stable_order(*keys: np.ndarray) -> np.ndarray:
    """``np.lexsort(keys[::-1])`` of non-negative integer codes (the first key sorts first):
    the same permutation from one stable argsort of the codes combined in mixed radix, as
    int32 when they fit (half the memory) else int64 (lexsort when their combined range
    would not fit in an int64)."""
    sizes = [int(k.max(initial=-1)) + 1 for k in keys]
    if math.prod(sizes) >= 2**62 or any(len(k) and k.min() < 0 for k in keys):
        return np.lexsort(keys[::-1])
    dtype = "int32" if math.prod(sizes) < 2**31 else "int64"
    combined = np.zeros(len(keys[0]), dtype=dtype)
    for key, size in zip(keys, sizes, strict=True):
        combined *= size
        combined += key.astype(dtype, copy=False)
    return np.argsort(combined, kind="stable")


_PARTS = ("position", "exposure", "turnover", "gross_return", "net_return")


def _period_returns(
    position: np.ndarray, first: np.ndarray, fwd: np.ndarray, group: np.ndarray, cost_bps: float
) -> pd.DataFrame:
    """Per (model, date) returns of sorted position rows (the tail of strategy_returns),
    indexed by ``group``: each row's (model, date) number, increasing in sorted order.

    ``first`` marks the first row of each (model, id), which trades from flat. The five
    per-row figures are written into one block that pandas groups without copying it.
    """
    n = len(position)
    block = np.empty((len(_PARTS), n))
    block[0] = position
    np.abs(position, out=block[1])
    turnover = block[2]  # |position - previous position|, from flat on each first row
    if n:
        turnover[0] = 0.0
        turnover[1:] = position[:-1]
    turnover[first] = 0.0
    np.subtract(position, turnover, out=turnover)
    np.abs(turnover, out=turnover)
    gross = block[3]
    np.expm1(fwd, out=gross)
    np.multiply(position, gross, out=gross)
    net = block[4]
    np.multiply(cost_bps / 1e4, turnover, out=net)
    np.subtract(gross, net, out=net)
    parts = pd.DataFrame(block.T, columns=list(_PARTS), copy=False)
    grouped = parts.groupby(group, sort=True)
    out = grouped.mean()
    out["n_series"] = grouped.size()
    return out


def equity_curves(returns: pd.DataFrame, column: str = "net_return") -> pd.DataFrame:
    """Wealth and drawdown of each model's strategy from its per-period returns.

    Parameters
    ----------
    returns
        The result of :func:`strategy_returns`.
    column
        ``net_return`` (after costs, default) or ``gross_return``.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``date``, ``wealth`` (growth of 1, compounded with empyrical's
        ``cum_returns`` from 1), ``cumulative`` (``wealth - 1``) and ``drawdown``
        (``wealth / running peak - 1`` with the starting wealth of 1 as the first peak; <= 0),
        models in the order of ``returns``.

    Examples
    --------
    >>> r = pd.DataFrame({"model": "m", "date": pd.date_range("2020", periods=3),
    ...                   "net_return": [0.1, -0.5, 0.2]})
    >>> equity_curves(r)["drawdown"].round(3).tolist()
    [0.0, -0.5, -0.4]
    """
    frames = []
    for model, group in returns.groupby("model", sort=False):
        g = group.sort_values("date", kind="stable")
        r = g[column].to_numpy(dtype="float64")
        wealth = np.asarray(ep.cum_returns(r, starting_value=1.0), dtype="float64")
        peak = np.maximum.accumulate(np.maximum(wealth, 1.0))
        frames.append(
            pd.DataFrame(
                {
                    "model": str(model),
                    "date": g["date"].to_numpy(),
                    "wealth": wealth,
                    "cumulative": wealth - 1.0,
                    "drawdown": wealth / peak - 1.0,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["model", "date", "wealth", "cumulative", "drawdown"])
    return pd.concat(frames, ignore_index=True)


def infer_periods_per_year(dates: Iterable[Any], horizon: int = 1) -> float:
    """Holding periods per year for h-step periods, from the spacing of the dates.

    The median spacing between distinct dates decides the frequency: daily (252 trading days,
    or 365 when more than a tenth of the dates fall on weekends), weekly (52), monthly (12),
    quarterly (4), yearly (1); anything else is ``365.25 / median days``. The result is divided
    by ``horizon``.

    Parameters
    ----------
    dates
        Forecast dates (any order, repeats allowed).
    horizon
        Steps per holding period.

    Returns
    -------
    float

    Examples
    --------
    >>> infer_periods_per_year(pd.bdate_range("2020", periods=30), horizon=5)
    50.4
    """
    values = dates if isinstance(dates, pd.Series | pd.Index | np.ndarray) else list(dates)
    unique = pd.DatetimeIndex(pd.unique(pd.to_datetime(pd.Series(values)))).sort_values()
    if len(unique) < 2:
        return 252.0 / horizon
    days = float(np.median((unique[1:] - unique[:-1]) / pd.Timedelta(days=1)))
    if days <= 4:
        weekend = float(np.mean(unique.day_of_week >= 5))
        base = 365.0 if weekend > 0.1 else 252.0
    elif days <= 10:
        base = 52.0
    elif 25 <= days <= 35:
        base = 12.0
    elif 80 <= days <= 100:
        base = 4.0
    elif 350 <= days <= 380:
        base = 1.0
    else:
        base = 365.25 / days
    return base / horizon


def _period_metrics(group: pd.DataFrame, ppy: float) -> dict[str, float | int | None]:
    r = group.sort_values("date")["net_return"].to_numpy(dtype="float64")
    held = group["exposure"].to_numpy() > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {
            "annual_return": ep.annual_return(r, annualization=ppy),
            "annual_volatility": ep.annual_volatility(r, annualization=ppy),
            "sharpe": ep.sharpe_ratio(r, annualization=ppy),
            "sortino": ep.sortino_ratio(r, annualization=ppy),
            "max_drawdown": ep.max_drawdown(r),
            "calmar": ep.calmar_ratio(r, annualization=ppy),
            "hit_rate": float(np.mean(r[held] > 0)) if held.any() else None,
            "turnover": float(group["turnover"].mean()),
            "exposure": float(group["exposure"].mean()),
            "total_return": float(np.prod(1.0 + r) - 1.0) if len(r) else None,
        }
    out: dict[str, float | int | None] = {k: _json_float(v) for k, v in values.items()}
    out["n_periods"] = len(r)
    return out


def _model_order(predictions: pd.DataFrame) -> list[str]:
    return [str(m) for m in pd.unique(predictions["model"])]


def trading_metrics(
    predictions: pd.DataFrame,
    task: str,
    *,
    cost_bps: float = 5.0,
    mode: Literal["long_flat", "long_short", "both"] = "both",
    periods_per_year: float | None = None,
    horizon: int | None = None,
    threshold: float = 0.5,
    tables: dict[str, pd.DataFrame] | None = None,
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Performance of trading each model's forecasts, after costs.

    Annual return (CAGR), volatility, Sharpe (risk-free 0), Sortino (target 0), maximum
    drawdown and Calmar come from ``empyrical`` on the net simple returns of
    :func:`strategy_returns`, annualised with ``periods_per_year``.

    Parameters
    ----------
    predictions
        The predictions table.
    task
        ``return``, ``level`` or ``direction``.
    cost_bps
        Cost per side in basis points.
    mode
        ``long_flat``, ``long_short`` or ``both`` (default).
    periods_per_year
        Holding periods per year; inferred by :func:`infer_periods_per_year` when None.
    horizon
        The horizon to trade (default the smallest).
    threshold
        Probability threshold for ``direction``.
    tables
        When given, receives each mode's :func:`strategy_returns` table under the mode's
        name (the report draws its curves from ``long_flat``).

    Returns
    -------
    dict
        Always ``{model: {mode: metrics}}`` with one key per requested mode
        (``long_flat`` and ``long_short`` for ``both``), models in table order followed by
        ``buy-and-hold``. ``metrics`` holds ``annual_return``, ``annual_volatility``,
        ``sharpe``, ``sortino``, ``max_drawdown`` (<= 0, e.g. -0.35), ``calmar``,
        ``hit_rate`` (share of periods with a position whose net return is > 0),
        ``turnover`` (mean per period), ``exposure`` (mean absolute position),
        ``total_return`` and ``n_periods``. Undefined values are None.

    Raises
    ------
    ConfigError
        For an unknown task, mode or horizon.
    DataError
        When a needed column is missing.
    """
    if mode == "both":
        modes: tuple[Mode, ...] = _MODES
    elif mode in _MODES:
        modes = (mode,)
    else:
        raise ConfigError(f"mode must be long_flat, long_short or both, got {mode!r}")
    _check(predictions, task, ("fwd_return",))
    if periods_per_year is not None and not periods_per_year > 0:
        raise ConfigError(
            f"periods_per_year must be > 0, got {periods_per_year}; pass e.g. 252 for daily "
            "periods, or None to infer it from the dates"
        )
    h = _pick_horizon(predictions, horizon)
    ppy = periods_per_year or infer_periods_per_year(
        predictions.loc[predictions["horizon"] == h, "date"], h
    )
    out: dict[str, dict[str, dict[str, float | int | None]]] = {
        m: {} for m in [*_model_order(predictions), BUY_AND_HOLD]
    }
    for m, returns in _mode_returns(predictions, task, modes, cost_bps, h, threshold).items():
        if tables is not None:
            tables[m] = returns
        for model, group in returns.groupby("model", sort=False):
            out[str(model)][m] = _period_metrics(group, ppy)
    return {k: v for k, v in out.items() if v}


# --- information coefficient --------------------------------------------------------------


def _ic_rows(predictions: pd.DataFrame, task: str, horizon: int | None) -> pd.DataFrame:
    _check(predictions, task, ("fwd_return",))
    h = _pick_horizon(predictions, horizon)
    rows = predictions[predictions["horizon"] == h]
    cols = ["id", "date", "model", "fwd_return"] + (["fold"] if "fold" in rows.columns else [])
    frame = rows[cols].copy(deep=False)  # copy-on-write: assigning signal copies nothing else
    frame["signal"] = _forecast_score(rows, task)
    if "fold" not in frame.columns:
        frame["fold"] = 0
    return frame.dropna(subset=["signal", "fwd_return"])


_DENSE_PAIRS = 1_000_000
"""Slack of a table indexed by integer key beyond 4 entries per key (:func:`_dense`,
:func:`_is_panel`): a wider key range is sorted or hashed instead."""


def _is_panel(frame: pd.DataFrame) -> bool:
    """Whether some (model, date) holds two series or more (NaN keys and ids left out, as
    ``groupby(["model", "date"])["id"].nunique()`` leaves them).

    By integer codes: a (model, date) holds several series when the smallest and largest
    code of its ids differ.
    """
    ids, names = pd.factorize(frame["id"])
    if len(names) < 2:
        return False
    model, models = pd.factorize(frame["model"])
    date, dates = pd.factorize(frame["date"])
    ok = (ids >= 0) & (model >= 0) & (date >= 0)
    pair = model[ok].astype("int64") * len(dates) + date[ok]
    ids = ids[ok]
    size = len(models) * len(dates)
    if size > 4 * len(pair) + _DENSE_PAIRS:  # too sparse for a table: number the pairs
        pair, distinct = pd.factorize(pair)
        size = len(distinct)
    lo = np.full(size, len(names), dtype="int64")
    hi = np.full(size, -1, dtype="int64")
    np.minimum.at(lo, pair, ids)
    np.maximum.at(hi, pair, ids)
    return bool((hi > lo).any())


def _group_codes(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Each row's group number, numbered in the sorted order of the keys (0, 1, …)."""
    if len(keys) == 1:
        codes, _ = pd.factorize(frame[keys[0]], sort=True)
        return np.asarray(codes, dtype="int64")
    return frame.groupby(keys, sort=True).ngroup().to_numpy(dtype="int64")


def _sort_places(values: np.ndarray) -> np.ndarray:
    """Each value's place in the sorted array (NaN last): a key that orders like ``values``.

    Equal values take consecutive places, so any subset sorted by (group, place) has each
    group's ties next to each other: :func:`_grouped_rank` can then rank subsets of the
    same values by sorting integers instead of floats.
    """
    order = np.argsort(values)
    places = np.empty(len(values), dtype="int64")
    places[order] = np.arange(len(values), dtype="int64")
    return places


def _code_order(codes: np.ndarray, size: int) -> np.ndarray:
    """``np.argsort(codes, kind="stable")`` of non-negative integer codes below ``size``: the
    same permutation from numpy's radix sort of 16-bit keys (one pass below 2^16, two passes,
    low half then high half, below 2^32) instead of a merge sort of every int64."""
    if size <= 1 << 16:
        return np.argsort(codes.astype("uint16"), kind="stable")
    if size <= 1 << 32:
        wide = codes.astype("uint32")
        order = np.argsort((wide & 0xFFFF).astype("uint16"), kind="stable")
        return order[np.argsort((wide[order] >> 16).astype("uint16"), kind="stable")]
    return np.argsort(codes, kind="stable")


_SEGMENT_CELLS = 1 << 20
"""Cells of the padded table that :func:`_segment_order` sorts at a time."""


def _segment_order(
    codes: np.ndarray, values: np.ndarray, *, stable: bool = False
) -> tuple[np.ndarray, np.ndarray] | None:
    """A permutation that sorts float rows by (code, value), NaN last within each code, and
    each row's place among its code's sorted values (0, 1, …); None when the codes are not
    group numbers (non-negative integers) or their groups are too uneven for a padded table.

    Each code's values are laid out in one row of a table padded with NaN, and the rows are
    sorted each on its own: short sorts that fit in the caches instead of one sort of every
    value (5x faster for a panel's dates of 1,000 series). Equal values come in any order,
    which average ranks (:func:`_grouped_rank`) do not see; with ``stable`` in the order of
    the rows, so the permutation is ``np.lexsort((values, codes))``'s. The table is sorted a
    slice of rows at a time (:data:`_SEGMENT_CELLS` cells), so its memory does not grow with
    the rows.
    """
    codes, values = np.asarray(codes), np.asarray(values)
    n = len(values)
    if not n or codes.dtype.kind not in "iu" or values.dtype.kind != "f" or codes.min() < 0:
        return None
    if int(codes.max()) >= 2 * n + _DENSE_PAIRS:  # more codes than the table may hold
        return None
    counts = np.bincount(codes)
    width = int(counts.max())
    if len(counts) * width > 2 * n + _DENSE_PAIRS:
        return None
    by_code = _code_order(codes, len(counts))
    ends = np.cumsum(counts)
    starts = ends - counts
    grouped = values[by_code]
    # NaN values and the NaN padding sort together at the end of a row: a stable sort keeps
    # the values (in the first slots) ahead of the padding
    kind: Literal["stable"] | None = "stable" if stable or np.isnan(grouped).any() else None
    order = np.empty(n, dtype="int64")
    place = np.empty(n, dtype="int64")
    step = max(1, _SEGMENT_CELLS // width)
    slots = np.arange(width)
    for lo in range(0, len(counts), step):
        hi = min(lo + step, len(counts))
        count, base = counts[lo:hi], int(starts[lo])
        offset = starts[lo:hi] - base
        rows = np.repeat(np.arange(hi - lo), count)
        table = np.full((hi - lo, width), np.nan)
        table[rows, np.arange(len(rows)) - offset[rows]] = grouped[base : base + len(rows)]
        sub = np.argsort(table, axis=1, kind=kind)
        keep = slots < count[:, None]
        done = by_code[base + (sub + offset[:, None])[keep]]
        order[base : base + len(rows)] = done
        place[done] = np.broadcast_to(slots, keep.shape)[keep]
    return order, place


def _grouped_rank(
    codes: np.ndarray,
    values: np.ndarray,
    places: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Average ranks (1 = smallest) of ``values`` within each group, as pandas' ``rank()``.

    One sort of (group, value) and run lengths, no per-group Python call; NaN ranks NaN.
    The average rank of a tie run is an integer or a half, exact in floating point, so
    the result is the same bits as ``groupby(...).rank()``. ``places``, when given, are
    :func:`_sort_places` of a larger array these values are taken from (the same
    ranks, from a sort of integers). ``order``, when given, is the permutation that sorts
    the rows by (group, value) already (no sort at all).
    """
    n = len(values)
    if n == 0:
        return np.empty(0, dtype="float64")
    if order is not None:
        pass
    elif places is None and (segments := _segment_order(codes, values)) is not None:
        order = segments[0]  # sorted code by code in a padded table
    elif places is None:
        # np.lexsort((values, codes)) as two stable sorts, the same permutation: a stable
        # sort of the floats, then of their codes (faster than lexsort's merges of both)
        order = np.argsort(values, kind="stable")
        order = order[np.argsort(codes[order], kind="stable")]
    else:
        span = int(places.max()) + 1
        order = np.argsort(codes.astype("int64") * span + places)  # unique keys
    v, c = values[order], codes[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(c[1:], c[:-1], out=new_group[1:])
    new_run = new_group.copy()
    new_run[1:] |= v[1:] != v[:-1]
    # one rank per run of equal values: its first place in its group plus (length + 1) / 2
    first = np.flatnonzero(new_run)
    length = np.diff(first, append=n)
    starts = np.flatnonzero(new_group)
    start = starts[np.searchsorted(starts, first, side="right") - 1]  # its group's first row
    ranks = np.empty(n, dtype="float64")
    ranks[order] = np.repeat((first - start) + (length + 1) / 2.0, length)
    ranks[np.isnan(values)] = np.nan
    return ranks


def _corr_by_codes(
    codes: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    pearson: bool = True,
    rank: bool = True,
    places: tuple[np.ndarray, np.ndarray] | None = None,
    x_order: np.ndarray | None = None,
    ranks: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Pearson and Spearman correlation of x with y within each group of ``codes``.

    Returns the groups present (increasing), ``{"ic": …, "rank_ic": …}`` (without ``ic``
    when not ``pearson``, without ``rank_ic`` when not ``rank``) and the rows of each group.
    Means and sums are pandas' grouped reductions over one integer key, in row order (the
    same compensated sums as grouping by the key columns themselves); those of the ranks
    are exact (:func:`_rank_corr`), so counted with ``np.bincount``. ``places`` are :func:`_sort_places` keys of x and y
    (see :func:`_grouped_rank`); ``x_order`` sorts the rows by (group, x); ``ranks``, when
    given, are the ranks of x and y within the groups already.
    """
    codes = np.asarray(codes)
    dense = codes.min(initial=0) >= 0 and codes.dtype.kind in "iu"
    if dense:  # group numbers: count them instead of grouping
        counts = np.bincount(codes)
        groups = np.flatnonzero(counts)
        size = counts[groups]
        at = (np.cumsum(counts > 0) - 1)[codes]
    else:
        by_code = pd.Series(codes).groupby(codes, sort=True).size()
        groups, size = by_code.index.to_numpy(), by_code.to_numpy()
    key = pd.Index(codes, name="_g")
    result: dict[str, np.ndarray] = {}
    px, py = places if places is not None else (None, None)
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {"ic": (x, y)} if pearson else {}
    if rank and ranks is not None:
        pairs["rank_ic"] = ranks
    elif rank:
        pairs["rank_ic"] = _varying_ranks(codes, x, y, px, py, x_order, dense)
    for name, (a, b) in pairs.items():
        exact = dense and size.max(initial=0) <= _EXACT_RANK_ROWS
        if name == "rank_ic" and exact and not (np.isnan(a).any() or np.isnan(b).any()):
            result[name] = _rank_corr(at, size, a, b)
            continue
        d = pd.DataFrame({"a": a, "b": b}, index=key)
        g = d.groupby(level=0, sort=True)
        means = g.transform("mean")
        da = d["a"].to_numpy() - means["a"].to_numpy()
        db = d["b"].to_numpy() - means["b"].to_numpy()
        parts = pd.DataFrame({"sxy": da * db, "sxx": da * da, "syy": db * db}, index=key)
        sums = parts.groupby(level=0, sort=True).sum()
        lo, hi = g.min(), g.max()
        spread = (hi["a"] - lo["a"]).to_numpy()
        spread_y = (hi["b"] - lo["b"]).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = sums["sxy"].to_numpy() / np.sqrt(sums["sxx"].to_numpy() * sums["syy"].to_numpy())
        corr = np.where((spread > 0) & (spread_y > 0), corr, np.nan)
        result[name] = np.clip(corr, -1.0, 1.0)
    return groups, result, size


def _varying_ranks(
    codes: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    px: np.ndarray | None,
    py: np.ndarray | None,
    x_order: np.ndarray | None,
    dense: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The ranks of x and y within each group, for their rank correlation.

    A group whose x values are all equal has no rank correlation (its x ranks are all
    equal: NaN, whatever the ranks of y), so its rows are not ranked: both ranks are 1 (the
    correlation stays NaN and every other group's sums are its own). A constant forecast
    (naive's) is then not ranked at all. Only for dense codes without NaN (else as before).
    """
    varies = None
    if dense and x_order is None and len(x) and not (np.isnan(x).any() or np.isnan(y).any()):
        lo = np.full(int(codes.max()) + 1, np.inf)
        hi = np.full(len(lo), -np.inf)
        np.minimum.at(lo, codes, x)
        np.maximum.at(hi, codes, x)
        varies = (hi > lo)[codes]
    if varies is None or varies.all():
        return _grouped_rank(codes, x, px, x_order), _grouped_rank(codes, y, py)
    rows = np.flatnonzero(varies)
    rank_x, rank_y = np.ones(len(x)), np.ones(len(y))
    if len(rows):
        sub = codes[rows]
        rank_x[rows] = _grouped_rank(sub, x[rows], None if px is None else px[rows])
        rank_y[rows] = _grouped_rank(sub, y[rows], None if py is None else py[rows])
    return rank_x, rank_y


_EXACT_RANK_ROWS = 100_000
"""Largest group whose rank sums :func:`_rank_corr` adds exactly (n^3 / 12 in quarters is
well below 2^53)."""


def _rank_corr(at: np.ndarray, size: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of the ranks ``a`` and ``b`` within each group (``at``: each row's
    group, numbered 0, 1, …; ``size``: the rows of each), without NaN.

    Average ranks within a group of n sum to n (n + 1) / 2, so their mean is an integer or a
    half, their deviations halves and the products quarters: every sum here is exact, in
    any order, and so the same bits as pandas' grouped means and sums. A group's ranks are
    all equal exactly when the sum of squared deviations is 0 (the spread test).
    """
    n = len(size)
    ma = np.bincount(at, weights=a, minlength=n) / size
    mb = np.bincount(at, weights=b, minlength=n) / size
    da, db = a - ma[at], b - mb[at]
    sxy = np.bincount(at, weights=da * db, minlength=n)
    sxx = np.bincount(at, weights=da * da, minlength=n)
    syy = np.bincount(at, weights=db * db, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = sxy / np.sqrt(sxx * syy)
    corr = np.where((sxx > 0) & (syy > 0), corr, np.nan)
    return np.clip(corr, -1.0, 1.0)


def _first_of_each(codes: np.ndarray) -> np.ndarray:
    """``np.unique(codes, return_index=True)[1]``: the first row of each distinct code, by
    increasing code; for group numbers (0, 1, … all present) by a table, not a sort."""
    n = len(codes)
    if not n or codes.min() < 0 or int(codes.max()) >= n:
        return np.unique(codes, return_index=True)[1]
    first = np.full(int(codes.max()) + 1, n, dtype="int64")
    np.minimum.at(first, codes, np.arange(n, dtype="int64"))
    if (first == n).any():  # a code missing: not group numbers
        return np.unique(codes, return_index=True)[1]
    return first


def _grouped_corr(frame: pd.DataFrame, keys: list[str], *, rank: bool = True) -> pd.DataFrame:
    """Pearson and Spearman (unless not ``rank``) correlation of signal with fwd_return
    within each group."""
    codes = _group_codes(frame, keys)
    _, corr, n = _corr_by_codes(
        codes,
        frame["signal"].to_numpy(dtype="float64"),
        frame["fwd_return"].to_numpy(dtype="float64"),
        rank=rank,
    )
    first = _first_of_each(codes)
    out = frame[keys].iloc[first].reset_index(drop=True)
    out["ic"] = corr["ic"]
    if rank:
        out["rank_ic"] = corr["rank_ic"]
    out["n"] = n
    return out


def ic_series(
    predictions: pd.DataFrame, task: str, model: str, *, horizon: int | None = None
) -> pd.DataFrame:
    """Information coefficient of one model over time, for plotting.

    Parameters
    ----------
    predictions
        The predictions table.
    task
        ``return``, ``level`` or ``direction``.
    model
        The model name.
    horizon
        The horizon (default the smallest).

    Returns
    -------
    pandas.DataFrame
        For a panel, one row per date with the cross-sectional ``ic`` (Pearson), ``rank_ic``
        (Spearman) and ``n`` (series on the date); for a single series, one row per ``fold``
        with the time-series correlations over the fold. NaN where undefined (a constant
        forecast, fewer than two rows).

    Raises
    ------
    DataError
        When the model is not in the table or a column is missing.
    """
    frame = _ic_rows(predictions, task, horizon)
    if model not in set(_model_order(predictions)):
        raise DataError(
            f"model {model!r} is not in the predictions table; expected one of "
            f"{', '.join(_model_order(predictions))}"
        )
    key = "date" if _is_panel(frame) else "fold"
    rows = frame[frame["model"] == model]
    if rows.empty:
        return pd.DataFrame({key: [], "ic": [], "rank_ic": [], "n": []})
    return _grouped_corr(rows, [key])[[key, "ic", "rank_ic", "n"]]


def _split(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Rows of a ``_grouped_corr`` table keyed by model, by model (without the column)."""
    return {
        str(model): part.drop(columns="model").reset_index(drop=True)
        for model, part in table.groupby(table["model"].astype(str), sort=False)
    }


def ic_series_by_model(
    predictions: pd.DataFrame,
    task: str,
    *,
    horizon: int | None = None,
    rank: bool = True,
) -> dict[str, pd.DataFrame]:
    """:func:`ic_series` of every model with rows, computed in one pass (for plots).

    ``rank=False`` leaves out the ``rank_ic`` column (a plot of the Pearson IC needs no
    ranks); the ``ic`` figures are the same either way. (Leaving some models' rows out
    would not be: pandas sums groups whose keys come sorted another way, which moves the
    last digits.)

    Returns
    -------
    dict
        ``{model: frame}``, each frame as :func:`ic_series` returns it up to rounding in
        the last digits (pandas' grouped means may add in another order); the metrics use
        :func:`information_coefficient`, model by model.
    """
    frame = _ic_rows(predictions, task, horizon)
    key = "date" if _is_panel(frame) else "fold"
    return _split(_grouped_corr(frame, ["model", key], rank=rank))


def _summary(values: pd.Series) -> tuple[float, float, int]:
    v = values.dropna().to_numpy(dtype="float64")
    mean = float(v.mean()) if len(v) else math.nan
    std = float(v.std(ddof=1)) if len(v) > 1 else math.nan
    return mean, std, len(v)


def _t_stat(values: pd.Series | None) -> float:
    """``mean / std * sqrt(n)`` of the finite values (NaN when undefined)."""
    if values is None:
        return math.nan
    mean, std, n = _summary(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        return mean / std * math.sqrt(n) if std > 0 else math.nan


def information_coefficient(
    predictions: pd.DataFrame, task: str, *, horizon: int | None = None
) -> dict[str, dict[str, float | int | str | None]]:
    """Correlation between each model's forecasts and the realised forward returns.

    The forecast is ``y_pred`` for ``return``, ``y_pred`` minus the naive forecast (the
    forecast change) for ``level`` and ``prob`` for ``direction``. A constant forecast (the
    ``naive`` model of ``return`` and ``level``) has no IC: its values are None.

    Parameters
    ----------
    predictions
        The predictions table.
    task
        ``return``, ``level`` or ``direction``.
    horizon
        The horizon (default the smallest).

    Returns
    -------
    dict
        ``{model: {"ic", "rank_ic", "ic_mean", "rank_ic_mean", "ic_std", "rank_ic_std",
        "icir", "rank_icir", "t_stat", "rank_t_stat", "n", "n_obs", "method", "t_method",
        "n_t"}}``.

        Panels (``method="cross_sectional"``): the Pearson (``ic``) and Spearman
        (``rank_ic``) correlations across series on each date with at least two series, then
        their mean (``ic`` = ``ic_mean``), standard deviation and ``icir = mean / std`` over
        the ``n`` dates. The t-statistics take every h-th of those dates only (``n_t`` of
        them, ``t_method`` says so): the h-step returns of neighbouring dates overlap, so
        their ICs are correlated and ``icir * sqrt(n)`` rejected a true "no skill" 50 % of
        the time at 5 % with h = 10; on non-overlapping dates ``t_stat = mean / std *
        sqrt(n_t)`` holds its size. At h = 1 every date counts, as before.

        One series (``method="time_series"``): ``ic``/``rank_ic`` are the correlations over
        all ``n_obs`` rows; ``ic_mean``, the std, ICIR (``ic_mean / ic_std``) and t-stat
        come from the per-fold correlations over the ``n`` folds (each fold is one
        out-of-sample period).

    Raises
    ------
    DataError
        When a needed column is missing.
    """
    frame = _ic_rows(predictions, task, horizon)
    h = _pick_horizon(predictions, horizon)
    panel = _is_panel(frame)
    out: dict[str, dict[str, float | int | str | None]] = {}
    for model in _model_order(predictions):
        rows = frame[frame["model"] == model]
        t_method = "per fold"
        if panel:
            per = _grouped_corr(rows, ["date"]) if len(rows) else pd.DataFrame(columns=["ic"])
            per = per[per["n"] >= 2] if len(per) else per
            ic, ic_std, n = _summary(per.get("ic", pd.Series(dtype="float64")))
            ric, ric_std, _ = _summary(per.get("rank_ic", pd.Series(dtype="float64")))
            ic_mean, ric_mean = ic, ric
            apart = per.iloc[::h] if len(per) else per  # every h-th date: no overlap
            t_ic, t_ric = _t_stat(apart.get("ic")), _t_stat(apart.get("rank_ic"))
            n_t = int(apart["ic"].notna().sum()) if len(apart) else 0
            t_method = "every date" if h == 1 else f"every {ordinal(h)} date (non-overlapping)"
        else:
            whole = _grouped_corr(rows.assign(_all=0), ["_all"]) if len(rows) else None
            ic = float(whole["ic"].iloc[0]) if whole is not None else math.nan
            ric = float(whole["rank_ic"].iloc[0]) if whole is not None else math.nan
            per = _grouped_corr(rows, ["fold"]) if len(rows) else pd.DataFrame()
            ic_mean, ic_std, n = _summary(per.get("ic", pd.Series(dtype="float64")))
            ric_mean, ric_std, _ = _summary(per.get("rank_ic", pd.Series(dtype="float64")))
        with np.errstate(divide="ignore", invalid="ignore"):
            icir = ic_mean / ic_std if ic_std > 0 else math.nan
            ricir = ric_mean / ric_std if ric_std > 0 else math.nan
        if not panel:  # the folds are separate out-of-sample periods
            t_ic, t_ric, n_t = icir * math.sqrt(n), ricir * math.sqrt(n), n
        out[model] = {
            "ic": _json_float(ic),
            "rank_ic": _json_float(ric),
            "ic_mean": _json_float(ic_mean),
            "rank_ic_mean": _json_float(ric_mean),
            "ic_std": _json_float(ic_std),
            "rank_ic_std": _json_float(ric_std),
            "icir": _json_float(icir),
            "rank_icir": _json_float(ricir),
            "t_stat": _json_float(t_ic),
            "rank_t_stat": _json_float(t_ric),
            "n": int(n),
            "n_obs": len(rows),
            "method": "cross_sectional" if panel else "time_series",
            "t_method": t_method,
            "n_t": int(n_t),
        }
    return out
