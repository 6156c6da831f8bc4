import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fincast.backtest.splits import walk_forward_folds
from fincast.errors import ConfigError, DataError


def test_expanding_folds_default_sizes_and_gap():
    folds = walk_forward_folds(600, folds=5, gap=3)
    assert [f.test_start for f in folds] == [100, 200, 300, 400, 500]
    assert all(f.test_end - f.test_start == 100 for f in folds)
    assert all(f.train_start == 0 and f.train_end == f.test_start - 3 for f in folds)
    assert folds[-1].test_end == 600


def test_rolling_window_keeps_train_size():
    folds = walk_forward_folds(600, folds=3, gap=1, window="rolling", train_size=50, test_size=40)
    assert all(f.train_end - f.train_start == 50 for f in folds)
    assert [f.test_start for f in folds] == [480, 520, 560]


def test_masks_select_rows_by_date_position():
    fold = walk_forward_folds(10, folds=1, gap=2, test_size=3)[0]
    pos = np.arange(10)
    assert pos[fold.train_mask(pos)].tolist() == [0, 1, 2, 3, 4]
    assert pos[fold.test_mask(pos)].tolist() == [7, 8, 9]


@given(
    n=st.integers(20, 2000),
    k=st.integers(1, 10),
    gap=st.integers(0, 10),
    rolling=st.booleans(),
)
def test_no_training_date_within_gap_of_test(n, k, gap, rolling):
    try:
        folds = walk_forward_folds(
            n,
            folds=k,
            gap=gap,
            window="rolling" if rolling else "expanding",
            train_size=15 if rolling else None,
        )
    except DataError:
        return
    for prev, f in zip([None, *folds], folds, strict=False):
        assert f.train_start < f.train_end <= f.test_start - gap
        assert f.test_end <= n
        if prev is not None:
            assert f.test_start == prev.test_end  # contiguous, non-overlapping test blocks


@pytest.mark.parametrize(
    ("kwargs", "exc", "words"),
    [
        ({"folds": 0}, ConfigError, "folds must be"),
        ({"window": "sliding"}, ConfigError, "expanding' or 'rolling"),
        ({"window": "rolling"}, ConfigError, "--train-size"),
        ({"folds": 100}, DataError, "too few"),
    ],
)
def test_bad_settings(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        walk_forward_folds(60, **kwargs)
