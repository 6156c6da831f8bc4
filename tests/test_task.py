import numpy as np
import pandas as pd
import pytest

from fincast.errors import ConfigError
from fincast.tasks import TaskSpec, build_targets


def frame(values, ids=None):
    n = len(values)
    return pd.DataFrame(
        {
            "id": ids or ["a"] * n,
            "date": pd.date_range("2020-01-01", periods=n),
            "x": np.asarray(values, dtype=float),
        }
    )


def test_return_target_is_future_log_return_and_naive_zero():
    t = build_targets(frame([1.0, 2.0, 4.0, 2.0]), "x", TaskSpec("return", (1, 2)))
    np.testing.assert_allclose(t["y"][1].to_numpy()[:3], np.log([2, 2, 0.5]))
    np.testing.assert_allclose(t["y"][2].to_numpy()[:2], np.log([4, 1]))
    assert np.isnan(t["y"][1].iloc[3]) and t["y"][2].iloc[2:].isna().all()
    assert (t["naive"][1] == 0).all()
    np.testing.assert_allclose(t["fwd_return"][1].to_numpy()[:3], np.log([2, 2, 0.5]))


def test_level_target_and_naive_last_value():
    t = build_targets(frame([1.0, 2.0, 4.0]), "x", TaskSpec("level"))
    assert t["y"][1].tolist()[:2] == [2.0, 4.0]
    assert t["naive"][1].tolist() == [1.0, 2.0, 4.0]


def test_direction_target_and_naive_last_direction():
    t = build_targets(frame([1.0, 2.0, 1.5, 1.5, 3.0]), "x", TaskSpec("direction"))
    assert t["y"][1].tolist()[:4] == [1.0, 0.0, 0.0, 1.0]
    naive = t["naive"][1].tolist()
    assert np.isnan(naive[0]) and naive[1:] == [1.0, 0.0, 0.0, 1.0]


def test_targets_never_cross_series():
    f = frame([1.0, 2.0, 10.0, 20.0], ids=["a", "a", "b", "b"])
    t = build_targets(f, "x", TaskSpec("level"))
    assert t["y"][1].tolist()[0] == 2.0 and np.isnan(t["y"][1].iloc[1])
    assert t["y"][1].iloc[2] == 20.0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"kind": "price"}, "task 'price' is not known"),
        ({"horizons": (0,)}, "horizon must be"),
        ({"horizons": ()}, "horizon is empty"),
    ],
)
def test_bad_task_specs(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        TaskSpec(**kwargs)
