"""The docs site's sources hang together (the build itself is `make docs`, run by CI)."""

from __future__ import annotations

import base64
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


# a 1x1 PNG
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def _page(title: str, body: str) -> str:
    filler = "<p>" + "A paragraph of the page. " * 30 + "</p>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><article><h1 id='top'>{title.split(' - ')[0]}</h1>{filler}{body}"
        "</article></body></html>"
    )


@pytest.mark.e2e
def test_check_site_finds_what_did_not_render(tmp_path):
    """docs/hooks/check_site.py (run by `make docs`) passes a page that rendered and names
    every problem of one that did not: title, heading, image, output, link, anchor, 404."""
    hook = _hook("check_site")
    browser = hook.find_browser()
    if browser is None:
        pytest.skip("e2e: Chromium is not installed (apt-get install chromium chromium-driver)")
    site = tmp_path / "site"
    (site / "img").mkdir(parents=True)
    (site / "img" / "dot.png").write_bytes(base64.b64decode(PIXEL))
    output = (
        "<div class='jp-OutputArea-output'><table><tr><td>1</td></tr></table></div>"
        f"<div class='jp-OutputArea-output'><img src='data:image/png;base64,{PIXEL}'></div>"
    )
    good = _page(
        "Good - fincast",
        f"<img src='img/dot.png'>{output}<a href='bad.html#top'>bad</a><a href='#top'>top</a>"
        "<a href='https://example.org/nowhere'>out</a>",
    )
    bad = _page(
        "Wrong - fincast",
        "<img src='img/missing.png'><a href='nope.html'>x</a><a href='good.html#nowhere'>y</a>"
        "<div class='jp-OutputArea-output' data-mime-type='application/vnd.jupyter.stderr'>"
        "UserWarning: noisy</div><div class='jp-OutputArea-output'>"
        "Traceback (most recent call last): ValueError: boom</div>",
    )
    (site / "good.html").write_text(good, encoding="utf-8")
    (site / "bad.html").write_text(bad, encoding="utf-8")
    pages = (
        hook.PageCheck("good.html", "Good - fincast", "Good", 2, 1, 1, shot_height=800),
        hook.PageCheck("bad.html", "Bad - fincast", "Bad", 1, 1, 1, shot_height=800),
    )
    results = hook.check_site(site, pages, browser)
    assert results["good.html"] == []
    assert results["bad.html"] == [
        "title 'Wrong - fincast', expected 'Bad - fincast'",
        "heading 'Wrong', expected 'Bad'",
        "image did not load: img/missing.png",
        "0 output tables, expected at least 1",
        "0 output plots, expected at least 1",
        "stderr output: 'UserWarning: noisy'",
        "error output: 'Traceback (most recent call last): ValueError: boom'",
        "broken link: /nope.html (no such page)",
        "broken link: /good.html#nowhere (no such anchor)",
        "not found: /img/missing.png",
    ]
    for name in ("good", "bad"):
        shot = (site / "_checks" / f"{name}.png").read_bytes()
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(shot[16:20], "big") == 1280  # IHDR width: the window's
    with pytest.raises(FileNotFoundError, match="is not built"):
        hook.check_site(site, (hook.PageCheck("absent.html", "x", "x"),), browser)


def _layout_blocks(block: str) -> dict[str, str]:
    """The entries of a layout code block: ``{name at column 2: its text}``."""
    entries: dict[str, str] = {}
    name = ""
    for line in block.splitlines():
        if re.match(r"  \S", line):
            name, _, rest = line.strip().partition(" ")
            entries[name] = rest
        elif name:
            entries[name] += "\n" + line
    return entries


def test_architecture_page_names_every_module_and_only_those():
    """docs/architecture.md's layout matches src/fincast and benchmarks/: every module is
    named (a package's as `name.py` inside its package's entry), and none that is gone."""
    page = (DOCS / "architecture.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)```", page, re.S)
    src = next(_layout_blocks(b) for b in blocks if b.startswith("src/fincast/"))
    bench = next(_layout_blocks(b) for b in blocks if b.startswith("benchmarks/"))
    package = ROOT / "src" / "fincast"
    top_text = "\n".join(text for name, text in src.items() if not name.endswith("/"))
    top_named = {name for name in src if name.endswith(".py")} | set(
        re.findall(r"\b(\w+\.py)\b", top_text)
    )
    missing, gone = [], []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if len(rel.parts) == 1:
            if rel.name not in top_named:
                missing.append(str(rel))
        elif rel.name != "__init__.py":
            entry = src.get(f"{rel.parts[0]}/", "")
            if not re.search(rf"(?<![\w/]){re.escape(rel.name)}\b", entry):
                missing.append(str(rel))
    for name, text in src.items():
        if name.startswith("tests/"):
            gone += [] if (ROOT / name).is_dir() else [name]
            continue
        gone += [] if (package / name).exists() else [name]
        if name.endswith("/"):
            named = re.findall(r"\b(\w+\.py)\b", text)
            gone += [f"{name}{m}" for m in named if not (package / name / m).is_file()]
    gone += [name for name in sorted(top_named) if not (package / name).is_file()]
    bench_files = {p.name for p in (ROOT / "benchmarks").glob("*.py")} - {"__init__.py"}
    missing += [f"benchmarks/{n}" for n in sorted(bench_files - set(bench))]
    gone += [f"benchmarks/{n}" for n in bench if not (ROOT / "benchmarks" / n).exists()]
    assert missing == [], f"modules the architecture page does not name: {missing}"
    assert gone == [], f"named on the architecture page but gone: {gone}"


def _prose_lines(text: str) -> set[str]:
    """The lines of a Markdown text outside fenced code blocks, stripped."""
    lines, fenced = set(), False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.add(line.strip())
    return lines


def test_readme_links_every_guide_page_and_repeats_no_prose_of_the_site():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = sorted(p.relative_to(ROOT).as_posix() for p in (DOCS / "guide").glob("*.md"))
    assert [page for page in guide if f"]({page})" not in readme] == []
    site = set().union(*(_prose_lines(p.read_text("utf-8")) for p in DOCS.rglob("*.md")))
    kept_twice = [line for line in _prose_lines(readme) if len(line) >= 50 and line in site]
    assert kept_twice == []


def test_notebook_links_to_markdown_sources_point_at_the_built_pages():
    hook = _hook("notebooks")
    notebook = SimpleNamespace(file=SimpleNamespace(src_uri="tutorials/a.ipynb"))
    html = (
        '<a href="../guide/models.md#your-own-keras-model">x</a> <a href="../guide/panels.md">'
        '<a href="https://example.org/readme.md">e</a> <a href="#top">t</a>'
    )
    assert hook.on_page_content(html, notebook, None, None) == (
        '<a href="../guide/models.html#your-own-keras-model">x</a> '
        '<a href="../guide/panels.html"><a href="https://example.org/readme.md">e</a> '
        '<a href="#top">t</a>'
    )
    page = SimpleNamespace(file=SimpleNamespace(src_uri="guide/risk.md"))
    assert hook.on_page_content(html, page, None, None) == html
