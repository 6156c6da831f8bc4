"""Design.for_fold drops the series=ID columns of ids without a training row, and only those."""

from __future__ import annotations

import numpy as np

from fincast.design import Design


def _design(names: tuple[str, ...]) -> Design:
    n = 6
    ids = np.array(["A", "A", "A", "B", "B", "C"], dtype=object)
    x = np.arange(n * len(names), dtype="float32").reshape(n, len(names))
    return Design(
        ids=ids,
        dates=np.arange(n),
        date_pos=np.arange(n),
        calendar=np.arange(n),
        X=x,
        y=np.zeros((n, 1)),
        naive=np.zeros((n, 1)),
        fwd_return=np.zeros((n, 1)),
        feature_names=names,
        horizons=(1,),
    )


def test_unseen_series_columns_are_dropped() -> None:
    d = _design(("ret_1", "series=A", "series=B", "series=C"))
    train = np.array([True, True, False, True, False, False])  # A and B train, C does not
    fold = d.for_fold(train)
    assert fold.feature_names == ("ret_1", "series=A", "series=B")
    np.testing.assert_array_equal(fold.X, d.X[:, :3])


def test_without_series_columns_the_design_is_the_same_object() -> None:
    d = _design(("ret_1", "vol_5"))
    assert d.for_fold(np.array([True, False, False, False, False, False])) is d
