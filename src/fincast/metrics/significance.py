"""Is a model really better than naive? Diebold-Mariano, SPA, MCS and bootstrap intervals.

All tests compare losses on the same rows. The loss of a row is the task's
(``Task.row_loss``): the squared error for ``return``, ``level`` and ``volatility``, the
pinball / FZ0 loss for ``quantile`` / ``var`` and the 0/1 loss (``y_pred != y_true``) for
the class tasks. Further losses a task names (``Task.extra_losses``: QLIKE of
``volatility`` (Patton 2011) against naive, the log loss of the class tasks against the
``majority`` base-rate forecast) get a Diebold-Mariano test each, under ``dm_extra``. The 0/1 loss, not the Brier score: the naive and majority baselines give hard
classes (probability 0 or 1), and against them any probability near 0.5 would "win" on Brier
score without calling a single direction better.

For a panel the losses of all series are averaged per date first, so every test runs on one
time series of losses (the tests assume time dependence, not cross-sectional independence).
Rows of the same model and date from several training seeds are averaged the same way: the
loss of a multi-seed model is its expected loss over seeds. Each Diebold-Mariano test uses
the dates the model shares with naive; SPA, MCS and the intervals use the dates every model
has.
Headline results use the smallest horizon.

Bootstrap methods (``arch.bootstrap``): Hansen's SPA test of "no model beats naive", the
Model Confidence Set of Hansen, Lunde and Nason (size 0.1), and a stationary-bootstrap
interval for each model's headline metric. The block length is Politis-White's automatic
choice (``optimal_block_length``) for the loss differentials, at least the horizon and at
most ``sqrt(n)``. Everything is deterministic under ``seed``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from arch.bootstrap import MCS, SPA, StationaryBootstrap, optimal_block_length
from scipy import stats

from ..errors import ConfigError, DataError
from ..tasks import get_task, task_names
from .finance import _json_float, _model_order

__all__ = [
    "DEFAULT_BOOTSTRAP_REPS",
    "diebold_mariano",
    "significance",
    "supports",
]

#: Bootstrap replications by default: enough for p-values and 95% intervals to two decimals,
#: and a report of a few thousand dates builds in a second or two.
DEFAULT_BOOTSTRAP_REPS = 500


#: The fewest non-overlapping periods (dates at the headline horizon / that horizon) at
#: which the bootstrap SPA test and the MCS are computed. Below them their stationary
#: bootstrap sees too few independent periods and rejects a true null too often: three
#: forecasts of equal accuracy, 5 % level, 300-1,000 simulations (docs/guide/size.md):
#: MCS 12 % at 25 periods, 9 % at 50, 7-10 % at 100, 6-7 % at 200, 4 % at 250; SPA 11 %
#: at 12 periods (panel, h 20), 5-9 % at 50, 5 % at 100.
MIN_PERIODS = {"spa": 100, "mcs": 200}
#: The longest headline horizon at which the MCS is computed. At h 20 its stationary
#: bootstrap of per-date losses excluded one of three forecasts of equal accuracy in
#: 8.3 % of 1,000 simulations at 200 periods and 8.3 % of 600 at 250, and neither a block
#: three times the horizon (9.0 %) nor the means of non-overlapping h-date blocks (9.0 %,
#: 400 simulations each) fixed it; at h 1 and 5 it held (4.3 %, 6.6 %).
MCS_MAX_HORIZON = 5


def _long_run_variance(d: np.ndarray, lags: int) -> float:
    """``γ0 + 2 Σ_{k=1}^{lags} γk`` (uniform weights, autocovariances with divisor n)."""
    n = len(d)
    e = d - d.mean()
    total = float(e @ e) / n
    for k in range(1, lags + 1):
        total += 2.0 * float(e[k:] @ e[:-k]) / n
    return total


def diebold_mariano(
    loss_model: np.ndarray, loss_naive: np.ndarray, horizon: int = 1
) -> dict[str, Any]:
    """Diebold-Mariano test of equal predictive accuracy with the HLN correction.

    With ``d = loss_model - loss_naive`` (n pairs, NaN pairs dropped), the statistic is
    ``mean(d) / sqrt(V / n)`` where ``V = γ0 + 2 Σ_{k=1}^{h-1} γk`` is the usual DM long-run
    variance (autocovariances γk with divisor n, h - 1 lags, uniform weights as in Diebold
    and Mariano 1995 and R's ``forecast::dm.test``). When that estimate is not positive
    (possible for h > 1) the test falls back to h = 1, as ``dm.test`` does: no lags and the
    HLN factor of h = 1 (``variance="h1_fallback"``). The Harvey-Leybourne-Newbold (1997)
    factor ``sqrt((n + 1 - 2h + h(h-1)/n) / n)`` corrects the statistic, which is compared
    with Student's t with n - 1 degrees of freedom at h = 1 (HLN's choice) and
    ``n // h - 1`` at h > 1: the n dates then hold only about n / h independent periods,
    and with n - 1 the test rejected a true null in up to 7.9 % of simulated panels at
    h 20 (``docs/guide/size.md``); where the HLN factor is not defined
    (``n + 1 - 2h + h(h-1)/n <= 0``, too few rows for the horizon) the test is undefined and
    ``reason`` says so.

    Parameters
    ----------
    loss_model
        Losses of the model, one per period.
    loss_naive
        Losses of the naive forecast on the same periods.
    horizon
        Forecast horizon h (the loss differential is treated as MA(h - 1)).

    Returns
    -------
    dict
        ``statistic`` (HLN-corrected; negative when the model has smaller losses),
        ``p_value`` (one-sided, H1: the model is more accurate), ``p_value_two_sided``,
        ``mean_loss_diff``, ``n``, ``variance`` (``uniform`` or ``h1_fallback``) and
        ``beats_naive_5pct`` (one-sided p < 0.05). When the test is undefined (n < 3, zero
        variance, e.g. a model identical to naive) the statistic and p-values are None and
        ``beats_naive_5pct`` is False.

    Raises
    ------
    ConfigError
        When the losses differ in length or the horizon is < 1.

    Examples
    --------
    >>> r = diebold_mariano(np.array([1.0, 2, 1, 2]), np.array([3.0, 3, 4, 3]))
    >>> r["beats_naive_5pct"], round(r["statistic"], 3)
    (True, -3.656)
    """
    a = np.asarray(loss_model, dtype="float64").reshape(-1)
    b = np.asarray(loss_naive, dtype="float64").reshape(-1)
    if a.shape != b.shape:
        raise ConfigError(
            f"loss_model and loss_naive must have the same length, got {len(a)} and {len(b)}"
        )
    if int(horizon) != horizon or horizon < 1:
        raise ConfigError(f"horizon must be a whole number >= 1, got {horizon}")
    h = int(horizon)
    d = a - b
    d = d[np.isfinite(d)]
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    result: dict[str, Any] = {
        "statistic": None,
        "p_value": None,
        "p_value_two_sided": None,
        "mean_loss_diff": _json_float(mean),
        "n": n,
        "variance": None,
        "beats_naive_5pct": False,
    }
    if n < 3:
        return result
    if n + 1 - 2 * h + h * (h - 1) / n <= 0:  # the HLN factor is not defined
        result["reason"] = f"too few rows ({n}) for the horizon {h}"
        return result
    lags = min(h - 1, n - 1)
    variance = "uniform"
    var = _long_run_variance(d, lags)
    if not var > 0 and lags > 0:
        # As R's forecast::dm.test: a negative long-run variance falls back to h = 1 (no
        # lags and the HLN factor of h = 1), which is conservative; Bartlett weights with
        # h - 1 lags were not (n 40, h 3: p 0.022 where dm.test gives 0.060).
        variance, h = "h1_fallback", 1
        var = _long_run_variance(d, 0)
    scale = float(np.abs(d).max())
    if not var > (1e-14 * scale) ** 2 or not math.isfinite(var):
        return result
    dm = mean / math.sqrt(var / n)
    hln = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    stat = dm * hln
    # n dates of h-step targets hold about n / h independent periods, and the variance's
    # h - 1 lags are estimated from them: a t reference with n - 1 degrees of freedom
    # rejected a true null in 7.0-7.9 % of 20-series panels of 250 dates at h 20 (1,000
    # simulations, benchmarks/size.py); with n // h - 1 in 4.9-6.0 %. h = 1 is unchanged.
    df = n - 1 if h == 1 else max(1, n // h - 1)
    p_one = float(stats.t.cdf(stat, df=df))
    p_two = float(2 * stats.t.sf(abs(stat), df=df))
    result.update(
        statistic=_json_float(stat),
        p_value=_json_float(p_one),
        p_value_two_sided=_json_float(p_two),
        variance=variance,
        beats_naive_5pct=bool(p_one < 0.05),
    )
    return result


def supports(task: str) -> bool:
    """Whether the significance tests know how to score ``task`` (its row loss)."""
    return task in task_names() and get_task(task).significance


def _row_losses(predictions: pd.DataFrame, task: str) -> tuple[pd.Series, str]:
    return get_task(task).row_loss(predictions)


def _per_date(
    predictions: pd.DataFrame, values: pd.Series, h: int, *, complete: bool = True
) -> pd.DataFrame:
    """Mean of ``values`` per (date, model) for horizon h; a dates x models frame.

    With ``complete`` only the dates where every model has a value are kept.
    """
    mask = (predictions["horizon"] == h).to_numpy()
    # the models as codes numbered in the sorted order of their names (the order pivot_table
    # gives the columns), not as one Python string per row
    codes, names = pd.factorize(predictions["model"], sort=True)
    mask = mask & (codes >= 0)  # rows without a model name, which pivot_table drops
    frame = pd.DataFrame(
        {
            "date": predictions["date"].to_numpy()[mask],
            "model": codes[mask],
            "v": values.to_numpy()[mask],
        }
    )
    wide = frame.pivot_table(index="date", columns="model", values="v", aggfunc="mean")
    wide.columns = pd.Index(np.asarray(names, dtype=object)[wide.columns], name="model")
    wide = wide.sort_index()
    return wide.dropna() if complete else wide


def _block_size(diffs: np.ndarray, h: int) -> int:
    """Politis-White stationary block length of the loss differentials, in [h, sqrt(n)]."""
    n = diffs.shape[0]
    cap = max(1, math.isqrt(n))
    varying = diffs[:, np.ptp(diffs, axis=0) > 0]
    size = float(h)
    if varying.shape[1] and n >= 10:
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                opt = optimal_block_length(varying)["stationary"].to_numpy(dtype="float64")
            size = float(np.nanmax(opt)) if np.isfinite(opt).any() else float(cap)
        except (ValueError, np.linalg.LinAlgError):
            size = float(cap)
    return int(min(max(round(size), h, 1), max(cap, h)))


def _bootstrap_index(n: int, block: int, reps: int, seed: int) -> np.ndarray:
    bs = StationaryBootstrap(block, np.arange(n), seed=seed)
    return np.stack([data[0][0] for data in bs.bootstrap(reps)])


def _mcs(losses: pd.DataFrame, size: float, reps: int, block: int, seed: int) -> dict[str, Any]:
    """Model Confidence Set; models with identical losses share one candidate."""
    models = [str(m) for m in losses.columns]
    representative: dict[str, str] = {}
    unique: list[str] = []
    for m in models:
        column = losses[m].to_numpy()
        match = next((u for u in unique if np.array_equal(losses[u].to_numpy(), column)), None)
        representative[m] = match or m
        if match is None:
            unique.append(m)
    if len(unique) > 1:
        mcs = MCS(losses[unique], size=size, reps=reps, block_size=block, seed=seed)
        with np.errstate(divide="ignore", invalid="ignore"):
            mcs.compute()
        pvalues = {str(k): float(v) for k, v in mcs.pvalues["Pvalue"].items()}
    else:
        pvalues = {unique[0]: 1.0}
    p = {m: pvalues.get(representative[m], math.nan) for m in models}
    return {
        "size": size,
        "included": [m for m in models if p[m] >= size],
        "excluded": [m for m in models if not p[m] >= size],
        "pvalues": {m: _json_float(p[m]) for m in models},
    }


def _extra_dm(
    predictions: pd.DataFrame, task: str, others: list[str], h: int, models: dict[str, Any]
) -> dict[str, str]:
    """Diebold-Mariano tests on the task's further losses (``Task.extra_losses``), at
    horizon ``h``, each against its reference model; added to ``models[m]["dm_extra"]``.
    Returns ``{loss name: reference model}``."""
    refs = {}
    for name, (loss, ref) in get_task(task).extra_losses(predictions).items():
        wide = _per_date(predictions, loss, h, complete=False)
        if ref not in wide.columns:
            continue
        refs[name] = ref
        for model in others:
            if model == ref or model not in wide.columns:
                continue
            pair = wide[[model, ref]].dropna()
            dm = diebold_mariano(pair[model].to_numpy(), pair[ref].to_numpy(), h)
            models[model].setdefault("dm_extra", {})[name] = {**dm, "against": ref}
    return refs


def significance(
    predictions: pd.DataFrame,
    task: str,
    *,
    alpha: float = 0.05,
    bootstrap_reps: int = DEFAULT_BOOTSTRAP_REPS,
    seed: int = 0,
    mcs_size: float = 0.1,
) -> dict[str, Any]:
    """Test every model against naive, and all models at once.

    Parameters
    ----------
    predictions
        The predictions table (``naive`` must be present).
    task
        ``return``, ``level`` or ``direction``.
    alpha
        Level of the "beats naive" verdict (one-sided DM) and of the confidence intervals
        (``1 - alpha``).
    bootstrap_reps
        Bootstrap replications for SPA, MCS and the intervals.
    seed
        Seed of every bootstrap; the same seed gives the same result.
    mcs_size
        Size of the Model Confidence Set test (0.1 gives a 90% set).

    Returns
    -------
    dict
        JSON-serialisable::

            {"alpha", "loss": "squared_error" | "pinball" | "fz0" | "zero_one", "horizon",
             "extra_losses": {name: reference model},
             "n_periods", "block_size",
             "models": {name: {"dm": {...},            # diebold_mariano at the headline horizon
                               "dm_by_horizon": {"h": {...}},
                               "beats_naive": "yes" | "no",
                               "dm_extra": {loss: {...dm, "against": model}},
                               "ci": {"metric", "estimate", "low", "high", "level"}}},
             "spa": {"consistent", "lower", "upper", "reps", "block_size"} | None,
             "mcs": {"size", "included", "excluded", "pvalues": {name: p}} | None,
             "not_computed": {"spa" | "mcs": reason}}   # only when a test was not run

        ``ci.metric`` is ``skill_vs_naive``: ``1 - MSE / MSE_naive`` for the regression
        tasks, ``accuracy - accuracy_naive`` for ``direction``; the interval is the
        stationary-bootstrap percentile interval over dates. ``spa``/``mcs`` are None when there is no model
        besides naive, or when the dates hold fewer non-overlapping periods than
        :data:`MIN_PERIODS` asks, and ``mcs`` when the headline horizon is beyond
        :data:`MCS_MAX_HORIZON` (``not_computed`` then says why). The MCS includes
        ``naive`` as a candidate.

    Raises
    ------
    DataError
        When the ``naive`` model or a needed column is missing, or no date has all models.
    ConfigError
        For an unknown task or invalid ``alpha``/``bootstrap_reps``.
    """
    if not supports(task):
        raise ConfigError(
            f"task {task!r} has no loss for the significance tests; expected one of "
            f"{', '.join(t for t in task_names() if supports(t))}"
        )
    needed = ("id", "date", "model", "horizon", "y_true", "y_pred")
    missing = [c for c in needed if c not in predictions.columns]
    if missing:
        raise DataError(
            f"the predictions table has no column {', '.join(map(repr, missing))}; expected "
            f"{', '.join(needed)} — rebuild it with fincast's backtest"
        )
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {alpha}; pass e.g. alpha=0.05")
    if bootstrap_reps < 1:
        raise ConfigError(f"bootstrap_reps must be >= 1, got {bootstrap_reps}")
    models = _model_order(predictions)
    if "naive" not in models:
        raise DataError(
            "the predictions table has no `naive` rows, so nothing to test against; keep the "
            "naive baseline in the backtest"
        )
    others = [m for m in models if m != "naive"]
    horizons = sorted(int(h) for h in pd.unique(predictions["horizon"]))
    h0 = horizons[0]
    losses, loss_name = _row_losses(predictions, task)

    result: dict[str, Any] = {
        "alpha": alpha,
        "loss": loss_name,
        "horizon": h0,
        "models": {},
        "spa": None,
        "mcs": None,
    }
    by_h = {h: _per_date(predictions, losses, h, complete=False) for h in horizons}
    wide = by_h[h0].dropna()
    if wide.empty or "naive" not in wide.columns:
        raise DataError(
            f"no date at horizon {h0} has losses for every model; check y_true and y_pred "
            "for missing values"
        )
    n = len(wide)
    result["n_periods"] = n
    naive = wide["naive"].to_numpy()
    diffs = wide[others].to_numpy() - naive[:, None] if others else naive[:, None]
    block = _block_size(diffs, h0)
    result["block_size"] = block

    ratio = get_task(task).loss_skill == "ratio"
    index = _bootstrap_index(n, block, bootstrap_reps, seed)
    lo_q, hi_q = 100 * alpha / 2, 100 * (1 - alpha / 2)

    for model in others:
        dm_by_h = {}
        for h in horizons:
            w = by_h[h]
            if model in w.columns and "naive" in w.columns:
                pair = w[[model, "naive"]].dropna()  # each model on the dates it shares
                dm_by_h[str(h)] = diebold_mariano(
                    pair[model].to_numpy(), pair["naive"].to_numpy(), h
                )
        headline = dm_by_h.get(str(h0)) or diebold_mariano(np.empty(0), np.empty(0), h0)
        p = headline["p_value"]
        m_loss = wide[model].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            if ratio:
                estimate = 1.0 - m_loss.mean() / naive.mean()
                boot = 1.0 - m_loss[index].mean(axis=1) / naive[index].mean(axis=1)
            else:
                estimate = naive.mean() - m_loss.mean()
                boot = naive[index].mean(axis=1) - m_loss[index].mean(axis=1)
        boot = boot[np.isfinite(boot)]
        low, high = np.percentile(boot, [lo_q, hi_q]) if len(boot) else (math.nan, math.nan)
        result["models"][model] = {
            "dm": headline,
            "dm_by_horizon": dm_by_h,
            "beats_naive": "yes" if p is not None and p < alpha else "no",
            "ci": {
                "metric": "skill_vs_naive"
                if loss_name in ("squared_error", "zero_one")
                else f"{loss_name}_skill_vs_naive",
                "estimate": _json_float(estimate),
                "low": _json_float(low),
                "high": _json_float(high),
                "level": 1 - alpha,
            },
        }

    result["extra_losses"] = _extra_dm(predictions, task, others, h0, result["models"])
    if not others or n < 3:
        return result
    periods = n // h0
    short = {
        test: f"{periods} non-overlapping periods ({n} dates at horizon {h0}); the bootstrap "
        f"{test.upper()} holds its size from {least}"
        for test, least in MIN_PERIODS.items()
        if periods < least
    }
    if h0 > MCS_MAX_HORIZON and "mcs" not in short:
        short["mcs"] = (
            f"horizon {h0}: the bootstrap MCS holds its size up to horizon {MCS_MAX_HORIZON} "
            "(at 20 it excluded a model of equal accuracy in 8-10 % of simulations)"
        )
    if short:
        result["not_computed"] = short
    if "spa" not in short:
        spa = SPA(naive, wide[others].to_numpy(), reps=bootstrap_reps, block_size=block, seed=seed)
        with np.errstate(divide="ignore", invalid="ignore"):
            spa.compute()
        pv = spa.pvalues
        result["spa"] = {
            "consistent": _json_float(pv["consistent"]),
            "lower": _json_float(pv["lower"]),
            "upper": _json_float(pv["upper"]),
            "reps": bootstrap_reps,
            "block_size": block,
        }
    if "mcs" not in short:
        try:
            result["mcs"] = _mcs(wide[models], mcs_size, bootstrap_reps, block, seed)
        except (IndexError, ValueError, np.linalg.LinAlgError):
            # arch's MCS fails on a few degenerate periods (found by an end-to-end fuzz of
            # tiny ragged panels); the set is then not reported rather than failing the run
            result["mcs"] = None
    return result
