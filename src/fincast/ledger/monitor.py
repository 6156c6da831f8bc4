"""A sequential monitor of a model's edge over naive: a one-sided CUSUM.

Each scored date t gives the loss difference ``d_t = L_model - L_naive`` (the task's row
loss, averaged over the series of that date; for horizon h > 1 every h-th origin, so the
differences do not overlap). A model with an edge has ``E[d] = mu0 < 0``; its edge has
vanished when ``E[d] >= 0``.

The in-control mean ``mu0`` and scale ``sigma`` come from a reference sample: the model's
backtest rows when the run is known (the honest out-of-sample estimate), else the first
``reference`` live dates. After the reference, with ``z_t = (d_t - mu0) / sigma`` (clipped
at ±``clip`` so one crash day does not raise the alarm by itself) and the shift to detect
``delta = -mu0 / sigma`` (the whole edge, in standard deviations),

    S_t = max(0, S_{t-1} + z_t - k),   k = delta / 2,

and the alarm fires the first date ``S_t > h``. ``h`` is chosen so that the in-control
average run length (ARL0, the mean number of dates to a false alarm while the edge
persists) is ``arl0`` under Siegmund's approximation for normal observations,

    ARL0(k, h) ≈ (exp(2 k b) - 2 k b - 1) / (2 k²),   b = h + 1.166,

the textbook design of Page's CUSUM (Montgomery, *Introduction to Statistical Quality
Control*, ch. 9; Siegmund 1985). ``benchmarks/ledger_alarm.py`` measures the false-alarm
rate and the detection delay by simulation, heavy tails included.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["DEFAULT_ARL0", "DEFAULT_REFERENCE", "CusumResult", "arl0", "cusum", "threshold"]

#: The default in-control average run length, in scored dates (about ten trading years):
#: a false alarm within a year about 10 % of the time (``benchmarks/ledger_alarm.py``).
DEFAULT_ARL0 = 2500.0
#: Live dates used as the reference when the model's backtest is not known.
DEFAULT_REFERENCE = 60
#: Standardized differences are clipped at this many standard deviations.
CLIP = 4.0


def arl0(k: float, h: float) -> float:
    """Siegmund's approximation of the in-control ARL of a one-sided CUSUM."""
    b = h + 1.166
    if k <= 1e-9:
        return b * b
    return (math.exp(2 * k * b) - 2 * k * b - 1) / (2 * k * k)


def threshold(k: float, target: float = DEFAULT_ARL0) -> float:
    """The decision interval ``h`` whose ARL0 (:func:`arl0`) is ``target`` (bisection)."""
    lo, hi = 0.0, 1.0
    while arl0(k, hi) < target:
        hi *= 2
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if arl0(k, mid) < target else (lo, mid)
    return hi


@dataclass(frozen=True)
class CusumResult:
    """What the monitor found for one model and horizon."""

    armed: bool
    alarm: bool
    alarm_date: str | None
    alarm_index: int | None
    reference: str
    n_reference: int
    n_monitored: int
    mu0: float | None
    sigma: float | None
    k: float | None
    h: float | None
    arl0: float
    statistic: float | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _unarmed(note: str, reference: str, n_ref: int, n_mon: int, target: float) -> CusumResult:
    return CusumResult(
        False,
        False,
        None,
        None,
        reference,
        n_ref,
        n_mon,
        None,
        None,
        None,
        None,
        target,
        None,
        note,
    )


def cusum(
    dates: np.ndarray,
    diff: np.ndarray,
    *,
    reference_diff: np.ndarray | None = None,
    reference: int = DEFAULT_REFERENCE,
    target_arl0: float = DEFAULT_ARL0,
    clip: float = CLIP,
) -> CusumResult:
    """Run the one-sided CUSUM on the loss differences ``diff`` (model - naive) by date.

    Parameters
    ----------
    dates
        The date of each difference, increasing.
    diff
        ``L_model - L_naive`` per date.
    reference_diff
        The backtest's differences (the reference); None: the first ``reference`` dates
        of ``diff`` are the reference and are not monitored.
    reference, target_arl0, clip
        See the module docstring.
    """
    diff = np.asarray(diff, dtype="float64")
    dates = np.asarray(dates)
    if reference_diff is not None and len(reference_diff) >= 2:
        ref = np.asarray(reference_diff, dtype="float64")
        watched, watched_dates, source = diff, dates, "backtest"
    else:
        if len(diff) < reference + 1:
            return _unarmed(
                f"the monitor needs {reference} reference dates and one more to watch; "
                f"{len(diff)} scored so far",
                "live",
                min(len(diff), reference),
                0,
                target_arl0,
            )
        ref = diff[:reference]
        watched, watched_dates, source = diff[reference:], dates[reference:], "live"
    mu0, sigma = float(np.mean(ref)), float(np.std(ref, ddof=1))
    if not sigma > 0:
        return _unarmed(
            "the reference differences have no spread", source, len(ref), 0, target_arl0
        )
    delta = -mu0 / sigma
    if not delta > 0:
        return _unarmed(
            "the model did not beat naive in the reference period: there is no edge to "
            "lose, so nothing is monitored",
            source,
            len(ref),
            len(watched),
            target_arl0,
        )
    k = min(delta, 2.0) / 2
    h = threshold(k, target_arl0)
    z = np.clip((watched - mu0) / sigma, -clip, clip)
    s, alarm_at = 0.0, None
    for i, value in enumerate(z):
        s = max(0.0, s + float(value) - k)
        if s > h:
            alarm_at = i
            break
    alarm_date = (
        None if alarm_at is None else str(np.datetime_as_string(watched_dates[alarm_at], "D"))
    )
    note = (
        f"edge lost: alarm on {alarm_date}"
        if alarm_at is not None
        else f"no alarm in {len(watched)} monitored dates"
    )
    return CusumResult(
        True,
        alarm_at is not None,
        alarm_date,
        alarm_at,
        source,
        len(ref),
        len(watched),
        mu0,
        sigma,
        k,
        h,
        target_arl0,
        s,
        note,
    )
