"""What each test of a verdict assumes, in words a reader can check (``verdict.assumptions``).

Every statistic fincast reports holds its size only under its own assumptions: how many
lags, which rows count as independent, how the bootstrap resamples. The report prints them
in one line under the verdict, from ``metrics.json`` alone, so a rebuilt report says the
same.
"""

from __future__ import annotations

from typing import Any

__all__ = ["verdict_assumptions"]


def _first(metrics: dict[str, Any], *path: str) -> Any:
    """The first non-empty value at ``path`` under a model other than naive."""
    for name, entry in (metrics.get("models") or {}).items():
        if name == "naive":
            continue
        value: Any = entry
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value not in (None, "", 0):
            return value
    return None


def _dm(sig: dict[str, Any]) -> str | None:
    if not sig or "skipped" in sig or not sig.get("models"):
        return None
    h = int(sig.get("horizon", 1))
    lags = h - 1
    text = (
        f"DM: one-sided, {lags} lag{'s' if lags != 1 else ''} (uniform, HLN-corrected, "
        f"Student t) on the mean loss of each of {sig.get('n_periods', '?')} dates"
    )
    fallback = [
        m for m, e in sig["models"].items() if (e.get("dm") or {}).get("variance") == "h1_fallback"
    ]
    if fallback:
        text += f"; h = 1 variance for {', '.join(fallback)} (the h-step one was not positive)"
    return text


def _interval_form(models: dict[str, Any]) -> str | None:
    """The clustered form of the interval tests, when a panel's rows share dates."""
    for entry in models.values():
        for level in (entry or {}).values():
            if isinstance(level, dict) and level.get("tests"):
                return str(level["tests"])
    return None


def _var_form(metrics: dict[str, Any]) -> str | None:
    """The clustered form of a ``var`` run's pooled backtests, when its rows share dates."""
    for name, entry in (metrics.get("models") or {}).items():
        for level in ((entry or {}).get("levels") or {}).values():
            if name != "naive" and isinstance(level, dict) and level.get("tests"):
                return str(level["tests"])
    return None


def verdict_assumptions(metrics: dict[str, Any]) -> list[str]:
    """One short clause per test the metrics report: its lags, rows and resampling.

    Parameters
    ----------
    metrics
        ``metrics.json`` (or :func:`~fincast.metrics.evaluation.evaluate`'s result).

    Returns
    -------
    list of str
        E.g. ``["DM: one-sided, 4 lags (uniform, HLN-corrected, Student t) on the mean
        loss of each of 1250 dates", "SPA and MCS: stationary bootstrap, mean block 12,
        500 replications", "IC t: every 5th date (non-overlapping), n = 250", ...]``;
        empty when nothing was tested.
    """
    out: list[str] = []
    sig = metrics.get("significance") or {}
    dm = _dm(sig)
    if dm:
        out.append(dm)
    spa = sig.get("spa") if isinstance(sig, dict) else None
    skipped = (sig.get("not_computed") if isinstance(sig, dict) else None) or {}
    if spa:
        out.append(
            f"{'SPA' if 'mcs' in skipped else 'SPA and MCS'}: stationary bootstrap, mean block "
            f"{spa.get('block_size')}, {spa.get('reps')} replications"
        )
    for test, reason in skipped.items():
        out.append(f"{test.upper()}: not computed, {reason}")
    method = _first(metrics, "finance", "ic", "t_method")
    if method:
        n_t = _first(metrics, "finance", "ic", "n_t")
        out.append(f"IC t: {method}" + (f", n = {n_t}" if n_t else ""))
    pt = _first(metrics, "pt_test")
    if pt:
        out.append(f"direction (PT): {pt}")
    mz = _first(metrics, "mz_test")
    if mz:
        out.append(f"Mincer-Zarnowitz: {mz}")
    intervals = (metrics.get("intervals") or {}).get("models") or {}
    if intervals:
        form = _interval_form(intervals)
        out.append(
            "interval coverage tests (Kupiec, Christoffersen): every h-th date of each series, "
            + (form or "transitions within a series")
        )
    if metrics.get("task") == "var":
        form = _var_form(metrics)
        out.append(
            "VaR backtests: one series' non-overlapping h-step periods in time order (pooled "
            "rows: hit rate, Kupiec and Z2 only, every H-th date" + (f", {form})" if form else ")")
        )
    if (metrics.get("portfolio") or {}).get("models"):
        out.append(
            "portfolio DM and Sharpe interval: horizon 1 on the non-overlapping rebalance periods"
            " (Sharpe interval: delta method, Newey-West, fixed-b critical value)"
        )
    return out
