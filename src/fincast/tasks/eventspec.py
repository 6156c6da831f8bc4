"""The binary events of the ``events`` task: their rules, defaults and config parsing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

__all__ = ["DEFAULT_EVENTS", "EVENT_RULES", "EventSpec", "parse_events"]

#: How an event compares the h-step log return r with its threshold x; ``*_std`` rules
#: measure x in standard deviations of the training fold's h-step returns.
EVENT_RULES: dict[str, str] = {
    "above": "r > x",
    "below": "r < x",
    "abs_above": "|r| > x",
    "above_std": "r > x * sd",
    "below_std": "r < x * sd",
    "abs_above_std": "|r| > x * sd",
}


@dataclass(frozen=True)
class EventSpec:
    """One binary event of the h-step log return.

    Parameters
    ----------
    name
        Label name (a column of the forecast).
    rule
        One of :data:`EVENT_RULES`.
    threshold
        The threshold ``x`` (a log return, or a number of training standard deviations).
    """

    name: str
    rule: str
    threshold: float

    def __post_init__(self) -> None:
        if self.rule not in EVENT_RULES:
            raise ConfigError(
                f"event {self.name!r}: rule {self.rule!r} is not known; expected one of "
                f"{', '.join(EVENT_RULES)}, e.g. {{name: up1, above: 0.01}}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The event as a config mapping, e.g. ``{"name": "up_1pct", "above": 0.01}``."""
        return {"name": self.name, self.rule: self.threshold}


#: Default events: up more than 1 %, down more than 1 % (as log returns), and an absolute
#: move larger than 2 training standard deviations.
DEFAULT_EVENTS = (
    EventSpec("up_1pct", "above", 0.01),
    EventSpec("down_1pct", "below", -0.01),
    EventSpec("big_move", "abs_above_std", 2.0),
)


def parse_events(value: Iterable[Any] | None) -> tuple[EventSpec, ...]:
    """Events from config mappings like ``[{name: up1, above: 0.01}, …]``.

    Raises
    ------
    ConfigError
        For a mapping without a name, with no or several rules, or a duplicate name.
    """
    if value is None:
        return DEFAULT_EVENTS
    out: list[EventSpec] = []
    for i, item in enumerate(value):
        if isinstance(item, EventSpec):
            out.append(item)
            continue
        if not isinstance(item, Mapping) or "name" not in item:
            raise ConfigError(
                f"events[{i}] must be a mapping with a name and one rule, e.g. "
                f"{{name: up1, above: 0.01}}; got {item!r}"
            )
        rules = [k for k in item if k != "name"]
        if len(rules) != 1:
            raise ConfigError(
                f"event {item['name']!r} needs exactly one rule of {', '.join(EVENT_RULES)}; "
                f"got {', '.join(map(str, rules)) or 'none'}"
            )
        try:
            threshold = float(item[rules[0]])
        except (TypeError, ValueError):
            raise ConfigError(
                f"event {item['name']!r}: threshold must be a number, got {item[rules[0]]!r}"
            ) from None
        out.append(EventSpec(str(item["name"]), str(rules[0]), threshold))
    names = [e.name for e in out]
    if not out or len(set(names)) != len(names):
        raise ConfigError(f"events must be a non-empty list with distinct names, got {names}")
    return tuple(out)
