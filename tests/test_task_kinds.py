"""trend3, events and volatility targets; thresholds fitted on training rows only."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fincast
from fincast.design import build_design
from fincast.errors import ConfigError
from fincast.features import FeatureSpec
from fincast.tasks import EventSpec, TaskSpec, build_targets, fit_labeler, parse_events

from .conftest import make_ohlcv


def frame(values, **extra):
    n = len(values)
    return pd.DataFrame(
        {"id": "a", "date": pd.date_range("2020-01-01", periods=n), "x": values, **extra}
    )


def test_trend3_labels_use_the_training_band():
    task = TaskSpec("trend3", flat_band=0.5)
    labeler = fit_labeler(task, np.array([[-2.0], [2.0]]))  # sd 2 -> band +-1
    assert labeler.thresholds() == {"1": {"flat_band": 1.0, "sd": 2.0}}
    out = labeler.transform(np.array([[-1.5], [-0.5], [0.9], [1.1], [np.nan]]))
    assert out[:4, 0].tolist() == [0.0, 1.0, 1.0, 2.0] and np.isnan(out[4, 0])


def test_events_labels_fixed_and_in_training_sds():
    task = TaskSpec(
        "events",
        (1, 2),
        events=[{"name": "up", "above": 0.01}, {"name": "big", "abs_above_std": 2}],
    )
    assert task.labels == ("up", "big") and task.width == 2
    labeler = fit_labeler(task, np.array([[0.01, 0.0], [-0.01, 0.0]]))  # sd 0.01, 0
    out = labeler.transform(np.array([[0.015, 0.001], [-0.03, np.nan]]))
    # horizon-major: (h1 up, h1 big, h2 up, h2 big)
    assert out[0].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert out[1, :2].tolist() == [0.0, 1.0] and np.isnan(out[1, 2:]).all()


@pytest.mark.parametrize(
    ("events", "words"),
    [
        ([{"above": 0.01}], "mapping with a name"),
        ([{"name": "x", "above": 0.01, "below": 0.0}], "exactly one rule"),
        ([{"name": "x", "over": 0.01}], "rule 'over' is not known"),
        ([{"name": "x", "above": "a"}], "must be a number"),
        ([{"name": "x", "above": 1}, {"name": "x", "below": 1}], "distinct names"),
    ],
)
def test_bad_events_are_config_errors(events, words):
    with pytest.raises(ConfigError, match=words):
        parse_events(events)


def test_bad_task_options():
    with pytest.raises(ConfigError, match="flat_band must be >= 0"):
        TaskSpec("trend3", flat_band=-1)
    with pytest.raises(ConfigError, match="vol_estimator"):
        TaskSpec("volatility", vol_estimator="garman")


def test_task_round_trips_through_a_dict():
    task = TaskSpec("events", (1, 5), events=(EventSpec("dn", "below_std", -1.5),))
    assert TaskSpec.from_dict(task.to_dict()) == task


def test_volatility_targets_close_to_close_and_parkinson():
    x = np.exp(np.cumsum([0.0, 0.01, -0.02, 0.03, 0.0, 0.01]))
    t = build_targets(frame(x), "x", TaskSpec("volatility", (1, 2)))
    r = np.diff(np.log(x))
    np.testing.assert_allclose(t["y"][2].iloc[1], np.sqrt((r[1] ** 2 + r[2] ** 2) / 2))
    np.testing.assert_allclose(t["naive"][2].iloc[3], np.sqrt((r[1] ** 2 + r[2] ** 2) / 2))
    np.testing.assert_allclose(t["y"][1].iloc[0], abs(r[0]))
    assert np.isnan(t["y"][1].iloc[-1]) and np.isnan(t["naive"][2].iloc[1])
    hl = frame(x, High=x * 1.02, Low=x / 1.02)
    roles = {"high": "High", "low": "Low"}
    park = build_targets(hl, "x", TaskSpec("volatility", vol_estimator="parkinson"), roles)
    np.testing.assert_allclose(
        park["y"][1].iloc[0], np.sqrt(np.log(1.02**2) ** 2 / (4 * np.log(2)))
    )
    with pytest.raises(ConfigError, match="high and low"):
        build_targets(frame(x), "x", TaskSpec("volatility", vol_estimator="parkinson"), {})


@settings(max_examples=15, deadline=None)
@given(cut=st.integers(60, 140), scale=st.floats(2.0, 50.0))
def test_fold_labels_never_depend_on_test_period_returns(cut, scale):
    """Blowing up every return after the training rows changes no training threshold."""
    df = make_ohlcv(200, seed=1).drop(columns="ticker")
    ds = fincast.load(df)
    for kind in ("trend3", "events"):
        task = TaskSpec(kind, (1, 3))
        design = build_design(ds, task, FeatureSpec(lookback=5))
        train = design.date_pos < cut
        base = design.for_fold(train)
        wild = design.y.copy()
        wild[~train] *= scale  # the test period's moves are now much larger
        changed = type(design)(**{**design.__dict__, "y": wild}).for_fold(train)
        np.testing.assert_array_equal(base.labeler.scale, changed.labeler.scale)
        np.testing.assert_array_equal(base.y[train], changed.y[train])
        assert base.labeler.scale.tolist() == pytest.approx(
            np.nanstd(design.y[train], axis=0).tolist()
        )
