"""The README's "From Python" example runs as written (a doctest)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


@pytest.mark.slow
def test_from_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    section = _section("From Python")
    test = doctest.DocTestParser().get_doctest(section, {}, "README From Python", str(README), 0)
    assert len(test.examples) >= 8
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted == len(test.examples)
    assert list(tmp_path.iterdir()) == []  # the example writes nothing
