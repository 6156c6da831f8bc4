"""mkdocs hook: guide pages that other branches add are linked in the nav once they exist.

``docs/guide/size.md`` (the size table of the tests), ``ledger.md`` and ``rivals.md`` are
written elsewhere; each one present is put in the User guide after "Large panels", titled
by its first ``# heading``. A page that does not exist is left out, so the build stays
strict either way.
"""

from __future__ import annotations

from pathlib import Path

OPTIONAL = ("guide/size.md", "guide/ledger.md", "guide/rivals.md")
AFTER = "guide/scale.md"


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("-", " ").capitalize()


def _find_guide(nav: list) -> list | None:
    for entry in nav:
        if isinstance(entry, dict):
            for value in entry.values():
                if isinstance(value, list) and any(
                    isinstance(e, dict) and AFTER in e.values() for e in value
                ):
                    return value
    return None


def on_config(config):
    docs = Path(config["docs_dir"])
    guide = _find_guide(config["nav"])
    if guide is None:
        return config
    listed = {v for e in guide if isinstance(e, dict) for v in e.values()}
    at = next(i for i, e in enumerate(guide) if isinstance(e, dict) and AFTER in e.values()) + 1
    for page in OPTIONAL:
        if (docs / page).is_file() and page not in listed:
            guide.insert(at, {_title(docs / page): page})
            at += 1
    return config
