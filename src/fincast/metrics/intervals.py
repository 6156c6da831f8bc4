"""Scores of interval and quantile forecasts: coverage, width, Winkler score, pinball loss.

Plain functions of arrays; nothing here reads the predictions table, so the interval
columns (``lo_<level>`` / ``hi_<level>``) can be scored the same way wherever they come
from. Rows where any input is not finite are left out; every function returns ``nan``
when no row is left.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from ..errors import DataError

__all__ = [
    "coverage",
    "interval_metrics",
    "mean_width",
    "pinball_loss",
    "winkler_score",
]


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    arrays = [np.asarray(v, dtype="float64").reshape(-1) for v in values]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        lengths = ", ".join(str(len(a)) for a in arrays)
        raise DataError(f"interval metrics need arrays of one length, got lengths {lengths}")
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    return [a[keep] for a in arrays]


def _bounded(y: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> tuple[np.ndarray, ...]:
    """``y``, ``lo``, ``hi`` of the rows with a finite outcome and both bounds known: an
    infinite bound is a real (unbounded) interval, only a missing one (NaN) is left out."""
    yy, ll, hh = (np.asarray(v, dtype="float64").reshape(-1) for v in (y, lo, hi))
    if not len(yy) == len(ll) == len(hh):
        raise DataError(
            f"interval metrics need arrays of one length, got lengths {len(yy)}, {len(ll)}, "
            f"{len(hh)}"
        )
    keep = np.isfinite(yy) & ~np.isnan(ll) & ~np.isnan(hh)
    return yy[keep], ll[keep], hh[keep], keep


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise DataError(f"interval level must lie in (0, 1), got {level}; e.g. 0.9 for 90 %")
    return level


def coverage(y: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> float:
    """Share of rows with ``lo <= y <= hi`` (the empirical coverage of the intervals).

    An infinite bound counts (an unbounded interval covers its side); rows with a missing
    outcome or bound are left out.

    Examples
    --------
    >>> coverage([1.0, 2.0, 5.0], [0.0, 0.0, 0.0], [3.0, 3.0, 3.0])
    0.6666666666666666
    >>> coverage([1.0, 2.0], [-np.inf, 0.0], [np.inf, 1.0])
    0.5
    """
    yy, ll, hh, _ = _bounded(y, lo, hi)
    if not len(yy):
        return float("nan")
    return float(np.mean((yy >= ll) & (yy <= hh)))


def mean_width(lo: ArrayLike, hi: ArrayLike) -> float:
    """Mean of ``hi - lo``.

    Examples
    --------
    >>> mean_width([0.0, 1.0], [2.0, 2.0])
    1.5
    """
    ll, hh = _arrays(lo, hi)
    return float(np.mean(hh - ll)) if len(ll) else float("nan")


def winkler_score(y: ArrayLike, lo: ArrayLike, hi: ArrayLike, level: float) -> float:
    """Mean Winkler (interval) score of central ``level`` intervals; smaller is better.

    For ``alpha = 1 - level`` the score of one row is (Winkler 1972; Gneiting & Raftery
    2007, eq. 43)::

        (hi - lo) + (2 / alpha) * (lo - y) * [y < lo] + (2 / alpha) * (y - hi) * [y > hi]

    It rewards narrow intervals and penalises misses by how far they miss; it is a proper
    score for the ``alpha/2`` and ``1 - alpha/2`` quantiles and equals ``2 / alpha`` times
    the sum of their pinball losses.

    Examples
    --------
    >>> round(winkler_score([1.0, 4.0], [0.0, 0.0], [2.0, 2.0], level=0.8), 9)
    12.0
    """
    alpha = 1.0 - _check_level(level)
    yy, ll, hh = _arrays(y, lo, hi)
    if not len(yy):
        return float("nan")
    below = np.clip(ll - yy, 0.0, None)
    above = np.clip(yy - hh, 0.0, None)
    return float(np.mean((hh - ll) + (2.0 / alpha) * (below + above)))


def pinball_loss(y: ArrayLike, q_pred: ArrayLike, quantile: float) -> float:
    """Mean pinball (quantile) loss of forecasts of the ``quantile``-quantile.

    ``L = mean(max(tau * (y - q), (tau - 1) * (y - q)))`` with ``tau = quantile``
    (Koenker & Bassett 1978); computed by :func:`sklearn.metrics.mean_pinball_loss`.

    Examples
    --------
    >>> pinball_loss([1.0, 3.0], [2.0, 2.0], quantile=0.9)
    0.5
    """
    from sklearn.metrics import mean_pinball_loss

    tau = _check_level(quantile)
    yy, qq = _arrays(y, q_pred)
    if not len(yy):
        return float("nan")
    return float(mean_pinball_loss(yy, qq, alpha=tau))


def interval_metrics(
    y: ArrayLike,
    lo: ArrayLike,
    hi: ArrayLike,
    level: float,
    *,
    groups: ArrayLike | None = None,
    tested: ArrayLike | None = None,
    clusters: ArrayLike | None = None,
) -> dict[str, Any]:
    """Coverage, mean width, Winkler score and the coverage tests of ``level`` intervals.

    The misses (``y`` outside ``[lo, hi]``, in time order) go to Kupiec's and
    Christoffersen's tests with the nominal miss rate ``1 - level``
    (:func:`fincast.metrics.risk.christoffersen`). Coverage and the misses count rows with
    an infinite bound; the width and the Winkler score are over the rows with finite bounds.

    Parameters
    ----------
    groups
        The series of each row (rows of one series consecutive, in time order): the
        independence test counts transitions within a series only.
    tested
        One boolean per row: the rows the tests use (e.g. every h-th date, whose h-step
        targets do not overlap); all rows by default. Coverage, width and Winkler score use
        every row.
    clusters
        A label per row (its date) for rows of several series that share a date's shocks.
        When a tested label holds several rows, Kupiec's test is the clustered
        beta-binomial one (:func:`~fincast.metrics.risk.kupiec_clustered`), the
        independence test the score test with a date-clustered variance
        (:func:`~fincast.metrics.risk.independence_clustered`), and conditional coverage
        refers the sum of their chi2(1) statistics to chi2(2), as Christoffersen's
        ``LR_cc = LR_uc + LR_ind``; ``tests`` then says so.

    Returns
    -------
    dict
        ``level``, ``coverage``, ``mean_width``, ``winkler``, ``n``, ``misses``,
        ``kupiec_pvalue``, ``independence_pvalue``, ``cc_pvalue``; ``None`` where
        undefined. Plain Python values (JSON-ready).

    Examples
    --------
    >>> m = interval_metrics([1.0, 2.0, 5.0, 1.0], [0.0] * 4, [3.0] * 4, level=0.9)
    >>> m["coverage"], m["misses"]
    (0.75, 1)
    """
    from .risk import (
        christoffersen,
        independence_clustered,
        kupiec_clustered,
        kupiec_clustered_label,
    )

    level = _check_level(level)
    yy, ll, hh, keep = _bounded(y, lo, hi)
    miss = (yy < ll) | (yy > hh)
    test_rows = np.ones(len(yy), dtype=bool)
    if tested is not None:
        test_rows = np.asarray(tested, dtype=bool).reshape(-1)[keep]
    series = None if groups is None else np.asarray(groups).reshape(-1)[keep][test_rows]
    labels = None if clusters is None else np.asarray(clusters).reshape(-1)[keep][test_rows]
    if labels is not None and len(np.unique(labels)) == len(labels):
        labels = None  # one row per date: nothing shares a shock
    tests = christoffersen(miss[test_rows], 1.0 - level, groups=series) if test_rows.any() else {}
    form = None
    if labels is not None and test_rows.any():
        hits = miss[test_rows]
        uc = kupiec_clustered(hits, 1.0 - level, labels)
        ind = independence_clustered(
            hits, series if series is not None else np.zeros(len(hits)), labels
        )
        cc = uc["lr"] + ind["lr"]
        tests = {
            "uc_pvalue": uc["pvalue"],
            "ind_pvalue": ind["pvalue"],
            "cc_pvalue": float(stats.chi2.sf(cc, 2)) if math.isfinite(cc) else None,
        }
        form = (
            f"clustered by date: {uc['clusters']} dates ({kupiec_clustered_label(uc)}, "
            "independence score test with date-clustered variance)"
        )

    def plain(v: Any) -> Any:
        return float(v) if v is not None and math.isfinite(float(v)) else None

    return {
        "level": level,
        "coverage": plain(coverage(yy, ll, hh)),
        "mean_width": plain(mean_width(ll, hh)),
        "winkler": plain(winkler_score(yy, ll, hh, level)),
        "n": len(yy),
        "misses": int(miss.sum()),
        "kupiec_pvalue": plain(tests.get("uc_pvalue")),
        "independence_pvalue": plain(tests.get("ind_pvalue")),
        "cc_pvalue": plain(tests.get("cc_pvalue")),
    } | ({"tests": form} if form else {})
