"""``--help`` reads as sentences: a docstring's hard line breaks never reach the terminal."""

from __future__ import annotations

import re

import pytest

from fincast.cli import app, main

BOX = "│╭╮╰╯─┃━"
#: How a line of help may end: a sentence, a parenthesis or the ``[default: …]`` note.
ENDS = (".", ":", ")", "]", "…", "?")


def _help(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main([*args, "--help"]) == 0
    raw = [line.strip() for line in capsys.readouterr().out.splitlines()]
    lines = [line.strip(BOX).strip() for line in raw if not line.startswith(("╭", "╰"))]
    return [line for line in lines if line and not line.startswith("Usage:")]


def _commands() -> list[str]:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    assert len(names) >= 8
    return names


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal so wide that rich wraps nothing: every line break left is a hard one."""
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.setenv("TERMINAL_WIDTH", "1000")
    monkeypatch.setattr("typer.rich_utils.MAX_WIDTH", 1000, raising=False)


@pytest.mark.parametrize(
    "command", [[], *[[c] for c in _commands()]], ids=lambda c: c[0] if c else "top"
)
def test_every_help_line_ends_a_sentence(command, capsys, wide):
    lines = _help(command, capsys)
    assert len(lines) >= 2
    broken = [line for line in lines if not line.endswith(ENDS)]
    assert not broken, f"`fincast {' '.join(command)} --help` breaks mid-sentence: {broken}"


def test_tune_help_reads_as_one_paragraph(capsys, wide):
    lines = _help(["tune"], capsys)
    first = next(line for line in lines if line.startswith("Tune a model"))
    assert re.fullmatch(r"Tune a model .*training period, then backtest the best .*folds\.", first)
    top = _help([], capsys)
    listed = next(line for line in top if line.startswith("tune "))
    assert listed.endswith("on the test folds.")  # the short help in the command list too
