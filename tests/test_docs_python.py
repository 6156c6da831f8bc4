"""The docs' "From Python" page (docs/guide/python.md) runs as written (a doctest)."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "python.md"


@pytest.mark.slow
def test_from_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = PAGE.read_text(encoding="utf-8")
    test = doctest.DocTestParser().get_doctest(page, {}, "docs From Python", str(PAGE), 0)
    assert len(test.examples) >= 8
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted == len(test.examples)
    assert list(tmp_path.iterdir()) == []  # the example writes nothing
