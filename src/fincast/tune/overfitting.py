"""Overfitting after search: the deflated Sharpe ratio and the probability of backtest overfitting.

Every trial of ``fincast tune`` also trades its forecasts of the inner validation blocks
with the long/flat rule after costs (:func:`trial_returns`, the rule of the backtest's
finance metrics); the tuning summary then asks whether the best trial's Sharpe ratio
survives the search:

- **Deflated Sharpe ratio** (Bailey & López de Prado 2014, J. of Portfolio Management
  40(5)): the probability that the selected trial's true Sharpe ratio exceeds the best one
  expected from ``N`` unskilled trials — of the best trial's validation trades
  (:func:`overfitting_summary`) and of the tuned configuration's backtest trades on the
  outer test folds (:func:`backtest_dsr`) — ``N`` counting every trial tried (pruned ones too)
  and the variance of the trials' Sharpe ratios taken from those that finished
  (:func:`~fincast.metrics.forecast_tests.deflated_sharpe_ratio`). Below 0.95 the tuned
  Sharpe is "not significant after deflation".
- **Probability of backtest overfitting** (Bailey, Borwein, López de Prado & Zhu 2015,
  "The probability of backtest overfitting", J. of Computational Finance 20(4)) by
  combinatorially symmetric cross-validation (:func:`cscv_pbo`): the share of the
  ``C(S, S/2)`` splits of the periods into halves where the trial best on one half ranks
  at or below the median on the other. Computed when there are "enough" trials and
  periods: at least :data:`PBO_MIN_TRIALS` finished trials (with fewer the relative rank
  takes so few values that the estimate is mostly discreteness) and at least
  :data:`PBO_MIN_ROWS_PER_BLOCK` periods in each of the ``S`` blocks; ``S`` is 16 as in
  the paper, fewer (even, >= 4) when the periods are few.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..metrics.forecast_tests import deflated_sharpe_ratio

__all__ = [
    "DSR_LEVEL",
    "PBO_MIN_ROWS_PER_BLOCK",
    "PBO_MIN_TRIALS",
    "backtest_dsr",
    "cscv_pbo",
    "overfitting_summary",
    "trial_returns",
]

#: Finished trials needed for the probability of backtest overfitting.
PBO_MIN_TRIALS = 10
#: Periods needed in each CSCV block.
PBO_MIN_ROWS_PER_BLOCK = 4
#: A deflated Sharpe ratio at or above this reads as significant (one-sided 5 %).
DSR_LEVEL = 0.95


def trial_returns(frame: pd.DataFrame, task: str, cost_bps: float) -> list[float]:
    """Per-period net returns of the long/flat rule on a trial's ``trial`` rows.

    ``frame`` is a predictions table of the trial's validation forecasts (model ``trial``,
    plus ``naive`` rows for tasks whose signal needs them); an empty list when the task has
    no trading rule.
    """
    from ..metrics import finance

    if not finance.supports(task):
        return []
    rets = finance.strategy_returns(frame, task, mode="long_flat", cost_bps=cost_bps)
    rows = rets[rets["model"] == "trial"].sort_values("date")
    return [float(v) for v in rows["net_return"].to_numpy(dtype="float64")]


def _dsr_undefined(n_finished: int, variance: float) -> str | None:
    """Why the deflated Sharpe ratio cannot be computed, or None when it can.

    The DSR deflates by the best Sharpe ratio expected from the trials by luck, estimated
    from the variance of the finished trials' Sharpe ratios: with fewer than two of them,
    or none that differ, that variance is unknown (0 is not an estimate), and a "DSR"
    computed with it would be the undeflated PSR.
    """
    if n_finished < 2:
        return f"{n_finished} finished trial(s); the deflation needs the Sharpe ratios of >= 2"
    if not variance > 0:
        return "the finished trials' Sharpe ratios do not vary"
    return None


def backtest_dsr(
    returns: Sequence[float], summary: dict[str, Any], periods_per_year: float | None = None
) -> dict[str, Any]:
    """The deflated Sharpe ratio of the tuned configuration's backtest trades.

    ``returns`` are the per-period net returns of the tuned model's long/flat rule on the
    outer test folds; ``summary`` is :func:`overfitting_summary`'s result, whose trial
    count and variance of the trials' Sharpe ratios deflate it. Returns ``sharpe``,
    ``sharpe_annual``, ``dsr``, ``sr0``, ``psr``, ``n_periods``, ``significant`` and
    ``verdict``.
    """
    r = np.asarray(returns, dtype="float64")
    r = r[np.isfinite(r)]
    out: dict[str, Any] = {"n_periods": len(r), "dsr": None, "significant": None}
    if len(r) < 3 or not np.std(r) > 0:
        out["verdict"] = "the tuned backtest never traded: no Sharpe ratio to deflate."
        return out
    sharpe = float(np.mean(r) / np.std(r, ddof=1))
    variance = float(summary.get("trial_sharpe_variance") or 0.0)
    n_tried = max(int(summary.get("n_trials") or 1), 1)
    skew, kurt = float(stats.skew(r)), float(stats.kurtosis(r, fisher=False))
    undefined = _dsr_undefined(int(summary.get("n_finished", n_tried) or 0), variance)
    out |= {"sr0": None, "psr": None}
    if undefined is None:
        try:
            out |= deflated_sharpe_ratio(sharpe, len(r), n_tried, variance, skew, kurt)
        except Exception:  # a non-positive variance of the Sharpe estimate: undefined
            undefined = "the Sharpe ratio's estimated variance is not positive"
    annual = sharpe * math.sqrt(periods_per_year) if periods_per_year else None
    out |= {"sharpe": sharpe, "sharpe_annual": annual, "dsr_undefined": undefined}
    shown = f"{annual:.2f} annualised" if annual is not None else f"{sharpe:.3f} per period"
    if out["dsr"] is None:
        out["verdict"] = (
            f"tuned backtest Sharpe {shown}: the deflated Sharpe ratio cannot be computed "
            f"({undefined})."
        )
        return out
    out["significant"] = bool(out["dsr"] >= DSR_LEVEL)
    word = "stays significant" if out["significant"] else "is not significant"
    sign = ">=" if out["significant"] else "<"
    out["verdict"] = (
        f"tuned backtest Sharpe {shown} {word} after deflation for {n_tried} trials "
        f"(DSR {out['dsr']:.2f} {sign} {DSR_LEVEL})."
    )
    return out


def _sharpe(block: np.ndarray) -> np.ndarray:
    """Per-period Sharpe ratio of each column (ddof 1); ``-inf`` for a constant column."""
    mean = block.mean(axis=0)
    sd = block.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), -np.inf)
    return np.asarray(out, dtype="float64")


def _split_sharpe(chosen: np.ndarray, cut: np.ndarray, means: np.ndarray, size: int) -> np.ndarray:
    """Per-period Sharpe ratio (ddof 1) of every trial on the union of the blocks each row of
    ``chosen`` (splits x blocks, 0/1) picks; ``-inf`` where a trial is constant there.

    The variance is pooled from each block's sum of squared deviations about its own mean
    plus the spread of the block means, so no split's rows are gathered."""
    within = ((cut - means[:, None, :]) ** 2).sum(axis=1)  # blocks x trials
    k = chosen.sum(axis=1, keepdims=True) * size
    mean = chosen @ means * size / k
    between = chosen @ (means**2) * size - k * mean**2
    var = (chosen @ within + np.maximum(between, 0.0)) / (k - 1)
    scale = chosen @ (means**2 + within / size) * size / k  # mean square, for a tolerance
    flat = var <= 1e-12 * np.maximum(scale, np.finfo("float64").tiny)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(flat, -np.inf, mean / np.sqrt(np.where(flat, 1.0, var)))
    return np.asarray(out, dtype="float64")


def cscv_pbo(returns: np.ndarray, n_blocks: int = 16) -> dict[str, Any]:
    """Probability of backtest overfitting by CSCV (Bailey et al. 2015, section 2).

    The ``T x N`` matrix of ``N`` trials' per-period returns is cut into ``n_blocks``
    (even) consecutive blocks of equal size (the last ``T mod S`` rows are dropped). For
    each of the ``C(S, S/2)`` ways to pick half the blocks as in-sample ``J`` (the rest
    out-of-sample): ``n*`` is the trial with the highest Sharpe ratio on ``J``, ``w`` its
    relative rank on the complement (``rank / (N + 1)``, rank 1 the worst; ties
    averaged), and ``lambda = log(w / (1 - w))``. PBO is the share of splits with
    ``lambda <= 0``: the in-sample best is at or below the out-of-sample median.

    Returns
    -------
    dict
        ``pbo``, ``n_splits``, ``n_blocks``, ``n_trials``, ``n_periods`` and
        ``median_logit``.

    Examples
    --------
    Two trials, the second better in every block: never overfit.

    >>> r = np.array([[0.0, 1.0], [1.0, 2.0], [0.5, 1.5], [1.0, 3.0]])
    >>> cscv_pbo(r, n_blocks=2)["pbo"]
    0.0
    """
    m = np.asarray(returns, dtype="float64")
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"cscv_pbo needs a T x N matrix with N >= 2, got shape {m.shape}")
    if n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"n_blocks must be even and >= 2, got {n_blocks}")
    size = m.shape[0] // n_blocks
    if size < 1:
        raise ValueError(f"{m.shape[0]} periods cannot fill {n_blocks} blocks")
    n = m.shape[1]
    # every split at once from per-block sums: in-sample blocks are rows of `chosen`
    combos = np.array(list(itertools.combinations(range(n_blocks), n_blocks // 2)))
    chosen = np.zeros((len(combos), n_blocks))
    chosen[np.arange(len(combos))[:, None], combos] = 1.0
    cut = m[: size * n_blocks].reshape(n_blocks, size, n)
    means = cut.mean(axis=1)
    inside = _split_sharpe(chosen, cut, means, size)
    outside = _split_sharpe(1.0 - chosen, cut, means, size)
    best = np.argmax(inside, axis=1)
    rank = stats.rankdata(outside, axis=1)[np.arange(len(combos)), best]
    w = rank / (n + 1)
    lam = np.log(w / (1 - w))
    return {
        "pbo": float(np.mean(lam <= 0)),
        "n_splits": len(lam),
        "n_blocks": n_blocks,
        "n_trials": n,
        "n_periods": size * n_blocks,
        "median_logit": float(np.median(lam)),
    }


def _blocks_for(periods: int) -> int:
    """16 blocks as in the paper, fewer (even, >= 4) when the periods are few; 0 if too few."""
    for s in (16, 14, 12, 10, 8, 6, 4):
        if periods // s >= PBO_MIN_ROWS_PER_BLOCK:
            return s
    return 0


def overfitting_summary(
    returns: Sequence[Sequence[float]],
    best: int,
    n_tried: int,
    periods_per_year: float | None = None,
) -> dict[str, Any]:
    """Deflated Sharpe ratio of trial ``best`` and, with enough trials, the PBO.

    Parameters
    ----------
    returns
        Per-period validation returns of every finished trial (equal lengths).
    best
        Index of the selected trial in ``returns``.
    n_tried
        Trials tried, pruned ones included (the DSR's N).
    periods_per_year
        To annualise the Sharpe ratios shown (the tests use per-period ones).

    Returns
    -------
    dict
        ``sharpe`` (per period), ``sharpe_annual``, ``dsr``, ``sr0``, ``psr``, ``n_trials``,
        ``n_periods``, ``significant`` (DSR >= :data:`DSR_LEVEL`), ``pbo`` (a
        :func:`cscv_pbo` result or ``{"skipped": reason}``) and ``verdict`` (one sentence).
    """
    usable = [np.asarray(r, dtype="float64") for r in returns]
    n_obs = len(usable[best]) if usable else 0
    out: dict[str, Any] = {"n_trials": int(n_tried), "n_periods": n_obs}
    r = usable[best] if usable else np.empty(0)
    if n_obs < 3 or not np.std(r) > 0:
        out |= {"dsr": None, "significant": None}
        out["pbo"] = {"skipped": "the selected trial never traded (no varying returns)"}
        out["verdict"] = (
            "the tuned configuration's validation trades are too few for a Sharpe test."
        )
        return out
    sharpes = np.array([_sharpe(x.reshape(-1, 1))[0] for x in usable if len(x) > 2])
    sharpes = sharpes[np.isfinite(sharpes)]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0
    sharpe = float(np.mean(r) / np.std(r, ddof=1))
    skew, kurt = float(stats.skew(r)), float(stats.kurtosis(r, fisher=False))
    undefined = _dsr_undefined(len(sharpes), variance)
    dsr: dict[str, Any] = {"dsr": None, "sr0": None, "psr": None}
    if undefined is None:
        try:
            dsr = deflated_sharpe_ratio(sharpe, n_obs, max(int(n_tried), 1), variance, skew, kurt)
        except Exception:  # non-positive variance of the Sharpe estimate: undefined
            undefined = "the Sharpe ratio's estimated variance is not positive"
    annual = sharpe * math.sqrt(periods_per_year) if periods_per_year else None
    out |= {"sharpe": sharpe, "sharpe_annual": annual, "trial_sharpe_variance": variance}
    out |= {"n_finished": len(sharpes), "dsr_undefined": undefined}
    out |= dsr
    out["significant"] = None if dsr["dsr"] is None else bool(dsr["dsr"] >= DSR_LEVEL)
    lengths = {len(x) for x in usable}
    blocks = _blocks_for(n_obs)
    if len(usable) < PBO_MIN_TRIALS:
        out["pbo"] = {
            "skipped": f"{len(usable)} finished trials; the PBO needs at least {PBO_MIN_TRIALS}"
        }
    elif len(lengths) != 1 or not blocks:
        out["pbo"] = {
            "skipped": f"{n_obs} validation periods; the PBO needs at least "
            f"{4 * PBO_MIN_ROWS_PER_BLOCK} of them, equal for every trial"
        }
    else:
        out["pbo"] = cscv_pbo(np.column_stack(usable), n_blocks=blocks)
    shown = f"{annual:.2f} annualised" if annual is not None else f"{sharpe:.3f} per period"
    if out["significant"] is None:
        out["verdict"] = (
            f"best trial's validation Sharpe {shown}: the deflated Sharpe ratio cannot be "
            f"computed ({undefined})."
        )
    elif out["significant"]:
        out["verdict"] = (
            f"best trial's validation Sharpe {shown} stays significant after deflation for "
            f"{n_tried} trials "
            f"(DSR {dsr['dsr']:.2f} >= {DSR_LEVEL})."
        )
    else:
        out["verdict"] = (
            f"best trial's validation Sharpe {shown} is not significant after deflation for "
            f"{n_tried} trials "
            f"(DSR {dsr['dsr']:.2f} < {DSR_LEVEL})."
        )
    if "pbo" in out["pbo"]:
        out["verdict"] += f" Probability of backtest overfitting {out['pbo']['pbo']:.0%}."
    return out
