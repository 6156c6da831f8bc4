"""Scores of quantile and Value-at-Risk / Expected Shortfall forecasts.

- :func:`pinball` — the pinball (quantile) loss per row; its mean is scikit-learn's
  :func:`~sklearn.metrics.mean_pinball_loss` (Koenker & Bassett 1978).
- :func:`fz0` — the FZ0 loss of a joint (VaR, ES) forecast (Fissler & Ziegel 2016; Patton,
  Ziegel & Chen 2019, "Dynamic semiparametric models for expected shortfall (and
  Value-at-Risk)", J. Econometrics 211, eq. (6)): the loss for which the true VaR and ES
  are the best forecast, so it ranks (VaR, ES) forecasts consistently.
- :func:`quantile_metrics` — pinball loss and coverage (hit rate) per level.
- :func:`risk_metrics` — per tail level: hit rate, Kupiec, Christoffersen, the Basel zone
  of 99 % VaR (last 250 rows), the Acerbi-Székely Z2 ES test (from :mod:`.risk`), the
  mean FZ0 loss and a plain verdict.

Sign convention (as :mod:`.risk`): VaR and ES are positive losses of the position; an
exception (breach) is a return below ``-VaR``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DataError
from ..tasks.var import fz0
from . import risk
from .intervals import pinball_loss

__all__ = ["fz0", "level_name", "pinball", "quantile_metrics", "risk_metrics", "risk_verdict"]

#: Simulated paths of the Z2 test's p-value (seeded: reproducible).
Z2_SIMS = 1000


def level_name(level: float) -> str:
    """A level as it appears in column names and metric keys (``0.05``, ``0.5``)."""
    return f"{float(level):g}"


def pinball(y: ArrayLike, q: ArrayLike, level: float) -> np.ndarray:
    """Pinball loss per row: ``max(level (y - q), (level - 1) (y - q))``.

    Examples
    --------
    >>> pinball([1.0, -1.0], [0.0, 0.0], 0.1).round(3).tolist()
    [0.1, 0.9]
    """
    u = np.asarray(y, dtype="float64") - np.asarray(q, dtype="float64")
    return np.maximum(level * u, (level - 1.0) * u)


def quantile_metrics(y_true: ArrayLike, quantiles: Mapping[float, ArrayLike]) -> dict[str, Any]:
    """Pinball loss and coverage of quantile forecasts.

    Parameters
    ----------
    y_true
        Realised values, (n,).
    quantiles
        Level -> forecast of that quantile, (n,) each.

    Returns
    -------
    dict
        ``pinball`` (mean over levels of the mean pinball loss), ``pinball_by_level``,
        ``coverage`` (share of rows with ``y <= q`` per level; nominal: the level),
        ``coverage_error`` (mean absolute gap between coverage and level),
        ``n_predictions`` and ``notes`` (the coverage in one sentence).
    """
    y = np.asarray(y_true, dtype="float64")
    keep = np.isfinite(y)
    for q in quantiles.values():
        keep &= np.isfinite(np.asarray(q, dtype="float64"))
    out: dict[str, Any] = {"n_predictions": int(keep.sum())}
    if not keep.any():
        out.update(pinball=None, pinball_by_level={}, coverage={}, coverage_error=None)
        return out
    by_level, coverage = {}, {}
    for level, q in quantiles.items():
        qk = np.asarray(q, dtype="float64")[keep]
        by_level[level_name(level)] = pinball_loss(y[keep], qk, level)
        coverage[level_name(level)] = float(np.mean(y[keep] <= qk))
    out["pinball"] = float(np.mean(list(by_level.values())))
    out["pinball_by_level"] = by_level
    out["coverage"] = coverage
    out["coverage_error"] = float(np.mean([abs(coverage[level_name(t)] - t) for t in quantiles]))
    out["notes"] = [
        "quantile coverage: "
        + ", ".join(
            f"{100 * coverage[level_name(t)]:.1f} % at or below q {level_name(t)}"
            for t in quantiles
        )
    ]
    return out


def risk_verdict(alpha: float, test: Mapping[str, Any], size: float = 0.05) -> str:
    """One plain sentence on a VaR backtest, e.g. ``99 % VaR breached 2.4 % of days
    (expected 1 %) — Kupiec rejects; ES too small (Acerbi-Székely Z2 p = 0.001); Basel zone
    (last 250 days): red``."""
    conf = f"{100 * (1 - alpha):g} %"
    rate = float(test.get("hit_rate") or 0.0)
    text = f"{conf} VaR breached {100 * rate:.1f} % of days (expected {100 * alpha:g} %)"
    p = test.get("kupiec_pvalue")
    if p is not None and np.isfinite(p):
        text += " — Kupiec rejects" if p < size else " — Kupiec does not reject"
    ind = test.get("independence_pvalue")
    if ind is not None and np.isfinite(ind) and ind < size:
        text += "; breaches cluster (Christoffersen rejects independence)"
    es_p = test.get("es_z2_pvalue")
    if es_p is not None and np.isfinite(es_p):
        text += (
            f"; ES too small (Acerbi-Székely Z2 p = {es_p:.3f})"
            if es_p < size
            else f"; ES test passes (Z2 p = {es_p:.3f})"
        )
    if test.get("es_z2_skipped"):
        text += f"; ES test not run ({test['es_z2_skipped']})"
    if test.get("basel_zone"):
        text += f"; Basel zone (last 250 days): {test['basel_zone']}"
    return text


def risk_metrics(
    y_true: ArrayLike,
    var: Mapping[float, ArrayLike],
    es: Mapping[float, ArrayLike],
    *,
    seed: int = 0,
    ordered: bool = True,
    clusters: ArrayLike | None = None,
) -> dict[str, Any]:
    """Backtests of VaR and ES forecasts (positive losses) per tail level ``alpha``.

    Parameters
    ----------
    y_true
        Realised position returns in time order, (n,).
    var, es
        Level -> VaR and ES forecasts (positive losses), (n,) each.
    seed
        Seed of the Z2 test's simulated p-value.
    ordered
        The rows are one series' non-overlapping periods in time order. False (rows pooled
        over series or horizons): only the tests that do not need the order run (hit rate,
        Kupiec, Z2); Christoffersen's and the Basel zone are ``None``.
    clusters
        With ``ordered=False``: a label per row (its date) for rows that share a shock (the
        series of a panel, the horizons of one date). When some label holds several rows,
        Kupiec's test is the clustered beta-binomial one
        (:func:`~fincast.metrics.risk.kupiec_clustered`) and the Z2 null draws a cluster's
        rows from one common factor; the entry's ``tests`` says so.

    Returns
    -------
    dict
        ``n_predictions``, ``fz0`` (mean over levels of the mean FZ0 loss), ``hit_rate_error``
        (mean absolute gap between hit rate and alpha), and ``levels``: per alpha the
        :func:`~fincast.metrics.risk.var_backtest` fields, ``var_pinball``, ``fz0``,
        ``es_z2``, ``es_z2_pvalue`` and ``verdict``; ``notes``: the verdicts.
    """
    y = np.asarray(y_true, dtype="float64")
    labels = None
    if clusters is not None and not ordered:
        labels = np.asarray(clusters).reshape(-1)
        if len(labels) != len(y):
            raise DataError(f"clusters has {len(labels)} rows but y_true has {len(y)}")
    levels: dict[str, Any] = {}
    losses, gaps, n = [], [], 0
    for alpha in var:
        v = np.asarray(var[alpha], dtype="float64")
        e = np.asarray(es[alpha], dtype="float64")
        keep = np.isfinite(y) & np.isfinite(v) & np.isfinite(e)
        n = max(n, int(keep.sum()))
        if not keep.any():
            continue
        cl = None if labels is None else labels[keep]
        if ordered:
            entry: dict[str, Any] = dict(risk.var_backtest(y[keep], v[keep], alpha))
        else:
            if cl is not None and len(np.unique(cl)) == len(cl):
                cl = None  # one row per label: nothing shares a shock
            pof = (
                risk.kupiec_pof(y[keep] < -v[keep], alpha)
                if cl is None
                else risk.kupiec_clustered(y[keep] < -v[keep], alpha, cl)
            )
            entry = {
                "n": pof["n"],
                "exceptions": pof["misses"],
                "hit_rate": pof["miss_rate"],
                "kupiec_pvalue": pof["pvalue"],
                "independence_pvalue": None,
                "cc_pvalue": None,
                "basel_zone": None,
            }
            if cl is not None:
                entry["tests"] = (
                    f"clustered by date: {pof['clusters']} dates "
                    f"({risk.kupiec_clustered_label(pof)}, "
                    f"Z2 with a common factor)"
                )
        entry["var_pinball"] = float(np.mean(pinball(y[keep], -v[keep], alpha)))
        loss = fz0(y[keep], v[keep], e[keep], alpha)
        entry["fz0"] = float(np.nanmean(loss)) if np.isfinite(loss).any() else None
        ok = e[keep] > 0
        if ok.all() and (e[keep] > v[keep]).all():
            test = risk.acerbi_szekely_test(
                y[keep],
                v[keep],
                e[keep],
                alpha,
                n_sims=Z2_SIMS,
                seed=seed,
                clusters=cl,
            )
            entry["es_z2"], entry["es_z2_pvalue"] = test["z2"], test["pvalue"]
        else:
            entry["es_z2"] = entry["es_z2_pvalue"] = None
            bad = int(np.sum(~ok | (e[keep] <= v[keep])))
            entry["es_z2_skipped"] = f"ES is not a loss above VaR on {bad} rows"
        entry["verdict"] = risk_verdict(alpha, entry)
        levels[level_name(alpha)] = entry
        if entry["fz0"] is not None:
            losses.append(entry["fz0"])
        gaps.append(abs(entry["hit_rate"] - alpha))
    return {
        "n_predictions": n,
        "notes": [entry["verdict"] for entry in levels.values()],
        "fz0": float(np.mean(losses)) if losses else None,
        "hit_rate_error": float(np.mean(gaps)) if gaps else None,
        "levels": levels,
    }
