"""The docs site's sources hang together (the build itself is `make docs`, run by CI)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from fincast.cli_options import options_table

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _nav_pages(entries: list) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def _hook(name: str):
    spec = importlib.util.spec_from_file_location(name, DOCS / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_nav_page_exists():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = _nav_pages(config["nav"])
    assert len(pages) >= 20
    assert [p for p in pages if not (DOCS / p).is_file()] == []
    assert len([p for p in pages if p.startswith("tutorials/")]) >= 3


def test_readme_is_a_front_page_whose_links_resolve():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    assert "![" in text and "docs/report.png" in text
    links = re.findall(r"\]\(((?:docs/)[^)#\s]*)", text)
    assert len(links) >= 15
    assert [link for link in links if not (ROOT / link).exists()] == []


def test_the_options_hook_renders_the_declarations():
    pytest.importorskip(
        "mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')"
    )
    hook = _hook("options")
    page = SimpleNamespace(file=SimpleNamespace(src_uri="reference/options.md"))
    stale = "intro\n<!-- options:start -->\n| old |\n<!-- options:end -->\nafter\n"
    rendered = hook.on_page_markdown(stale, page, None, None)
    assert (
        rendered
        == f"intro\n<!-- options:start -->\n{options_table()}\n<!-- options:end -->\nafter\n"
    )
    other = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    assert hook.on_page_markdown(stale, other, None, None) == stale


def test_optional_guide_pages_join_the_nav_only_when_present(tmp_path):
    hook = _hook("optional_nav")
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "ledger.md").write_text("# The ledger\n", encoding="utf-8")
    guide = [
        {"Covariates": "guide/panels.md"},
        {"Large panels": "guide/scale.md"},
        {"Tuning": "guide/tuning.md"},
    ]
    config = {
        "docs_dir": str(tmp_path),
        "nav": [{"Getting started": "index.md"}, {"User guide": guide}],
    }
    hook.on_config(config)
    assert [next(iter(e.values())) for e in guide] == [
        "guide/panels.md",
        "guide/scale.md",
        "guide/ledger.md",
        "guide/tuning.md",
    ]
    assert guide[2] == {"The ledger": "guide/ledger.md"}
