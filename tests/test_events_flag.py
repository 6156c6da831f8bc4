"""`--events NAME:RULE=VALUE,…` is the command-line form of the config's `events` list."""

import pytest

from fincast.config import build_config
from fincast.errors import ConfigError
from fincast.tasks import parse_events


def test_events_text_becomes_the_config_list():
    cfg = build_config({"task": "events", "events": "up2:above=0.02, big:abs_above_std=2"})
    assert cfg.events == [{"name": "up2", "above": 0.02}, {"name": "big", "abs_above_std": 2.0}]
    specs = parse_events(cfg.events)
    assert [(e.name, e.rule, e.threshold) for e in specs] == [
        ("up2", "above", 0.02),
        ("big", "abs_above_std", 2.0),
    ]


@pytest.mark.parametrize(
    ("text", "words"), [("up2", "expected events like"), ("up2:above=x", "must be a number")]
)
def test_bad_events_text_names_the_item(text, words):
    with pytest.raises(ConfigError, match=words):
        build_config({"events": text})
