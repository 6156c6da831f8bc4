"""Column sums of a large float64 matrix a chunk of rows at a time, the same bits as numpy's.

numpy adds the rows of a C-ordered matrix of two or more columns along axis 0 one after
the other (the inner loop runs over the columns), so summing a chunk onto the running
total adds the same numbers in the same order as summing the whole matrix. Fitting a
scaler this way needs no temporary as large as the matrix: on a 10M-row panel, 1.6 GB
each (``X - mean`` and its squares, a float copy of ``isnan(X)``). A single column is
contiguous, and numpy sums it pairwise instead: callers keep numpy's own computation there
(:func:`chunkable`). The tests check both functions against numpy and scikit-learn bit for
bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CHUNK_ROWS", "all_finite", "chunkable", "column_sums", "mean_std"]

#: Rows summed at a time.
CHUNK_ROWS = 65_536


def chunkable(X: np.ndarray) -> bool:
    """Whether :func:`column_sums` gives numpy's bits for ``X`` and is worth it: a
    C-ordered float64 matrix of two or more columns and more than one chunk of rows."""
    return (
        X.ndim == 2
        and X.dtype == np.float64
        and X.flags.c_contiguous
        and X.shape[1] >= 2
        and X.shape[0] > CHUNK_ROWS
    )


def all_finite(X: np.ndarray) -> bool:
    """``np.isfinite(X).all()`` without a boolean copy of the whole matrix."""
    return all(bool(np.isfinite(X[i : i + CHUNK_ROWS]).all()) for i in range(0, len(X), CHUNK_ROWS))


def column_sums(
    X: np.ndarray, shift: np.ndarray | None = None, *, square: bool = False
) -> np.ndarray:
    """``np.sum(X - shift, axis=0)`` (of its squares with ``square``), a chunk at a time:
    each chunk is summed starting from the running total, row after row."""
    total: np.ndarray | None = None
    for i in range(0, len(X), CHUNK_ROWS):
        part = X[i : i + CHUNK_ROWS]
        if shift is not None:
            part = part - shift
            if square:
                np.square(part, out=part)
        if total is not None:
            part = np.concatenate([total[None], part])
        total = np.sum(part, axis=0)
    assert total is not None
    return total


def mean_std(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(X.mean(axis=0), X.std(axis=0))`` of a :func:`chunkable` matrix, numpy's bits.

    numpy's mean divides the column sums by the row count; its std subtracts that mean,
    squares, sums and divides again, then takes the square root.
    """
    n = len(X)
    mean = column_sums(X) / n
    return mean, np.sqrt(column_sums(X, mean, square=True) / n)
