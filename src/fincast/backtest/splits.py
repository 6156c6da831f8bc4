"""Walk-forward splits over the dates of a (possibly multi-series) dataset.

The last ``folds * test_size`` dates are cut into ``folds`` equal, consecutive test blocks.
Fold k trains on dates before its test block, leaving out the ``gap`` dates just before it,
so that no training target (which looks ``horizon`` steps ahead) reaches into the test
period. With an ``expanding`` window training starts at the first date; with a ``rolling``
window it keeps the last ``train_size`` dates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError

__all__ = ["Fold", "walk_forward_folds"]


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold, as half-open ranges of date positions."""

    index: int
    train_start: int
    train_end: int  # exclusive
    test_start: int
    test_end: int  # exclusive

    def train_mask(self, date_pos: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows (given their date positions) that train this fold."""
        return (date_pos >= self.train_start) & (date_pos < self.train_end)

    def test_mask(self, date_pos: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows (given their date positions) tested in this fold."""
        return (date_pos >= self.test_start) & (date_pos < self.test_end)


def walk_forward_folds(
    n_dates: int,
    *,
    folds: int = 5,
    gap: int = 1,
    window: str = "expanding",
    train_size: int | None = None,
    test_size: int | None = None,
    min_train: int = 1,
) -> list[Fold]:
    """Walk-forward folds over ``n_dates`` sorted dates.

    Parameters
    ----------
    n_dates
        Number of distinct dates with usable rows.
    folds
        Number of test blocks, >= 1.
    gap
        Dates left out between the end of training and the test block (>= the horizon).
    window
        ``expanding`` or ``rolling``.
    train_size
        Dates in each training window; required for ``rolling``.
    test_size
        Dates per test block; default ``n_dates // (folds + 1)``, as in scikit-learn's
        ``TimeSeriesSplit``, so the first fold trains on about as many dates as it tests.
    min_train
        Fewest training dates a fold may have.

    Returns
    -------
    list of Fold

    Raises
    ------
    ConfigError
        For invalid settings.
    DataError
        When the data is too short for them.
    """
    if int(folds) != folds or folds < 1:
        raise ConfigError(f"folds must be a whole number >= 1, got {folds}; pass e.g. --folds 5")
    if gap < 0:
        raise ConfigError(f"gap must be >= 0, got {gap}")
    if window not in ("expanding", "rolling"):
        raise ConfigError(f"window must be 'expanding' or 'rolling', got {window!r}")
    if window == "rolling" and (train_size is None or train_size < 1):
        raise ConfigError(
            "--window rolling needs --train-size N (dates in each training window), N >= 1"
        )
    size = test_size if test_size is not None else n_dates // (folds + 1)
    if test_size is not None and test_size < 1:
        raise ConfigError(f"test_size must be >= 1, got {test_size}")
    first_test = n_dates - folds * size
    needed_train = max(min_train, train_size or 0)
    if size < 1 or first_test - gap < needed_train:
        raise DataError(
            f"{n_dates} usable dates are too few for {folds} folds with a gap of {gap} "
            f"and at least {needed_train} training dates; use fewer --folds, a shorter "
            "--lookback or --horizon, or more data"
        )
    out = []
    for k in range(folds):
        test_start = first_test + k * size
        train_end = test_start - gap
        train_start = 0 if window == "expanding" else max(0, train_end - int(train_size or 0))
        out.append(Fold(k, train_start, train_end, test_start, test_start + size))
    return out
