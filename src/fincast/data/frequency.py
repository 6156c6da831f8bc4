"""The frequency of a series' dates (a pandas alias such as ``B``, ``W-FRI`` or ``MS``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["infer_frequency"]


def infer_frequency(dates: pd.Series | np.ndarray) -> str | None:
    """The pandas frequency alias of sorted dates (``B``, ``D``, ``W-FRI``, ``MS``, …)."""
    idx = pd.DatetimeIndex(pd.Series(dates).drop_duplicates().sort_values().to_numpy())
    if len(idx) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 announces offsets instead of strings
        freq = pd.infer_freq(idx[-min(len(idx), 60) :])
    if freq is not None:
        return freq if isinstance(freq, str) else str(getattr(freq, "freqstr", freq))
    spacing = float(np.median(np.diff(idx.to_numpy())) / np.timedelta64(1, "D"))
    if 0.9 <= spacing <= 1.5 and (idx.day_of_week < 5).mean() > 0.99:
        return "B"  # business days with holidays
    if 0.9 <= spacing <= 1.1:
        return "D"
    if 6 <= spacing <= 8:
        return "W"
    if 27 <= spacing <= 32:
        return "MS" if (idx.day == 1).mean() > 0.9 else "ME"
    if 85 <= spacing <= 95:
        return "QS" if (idx.day == 1).mean() > 0.9 else "QE"
    return None
