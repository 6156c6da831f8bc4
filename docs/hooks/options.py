"""mkdocs hook: render the options reference from the declarations in ``config.py``.

``docs/reference/options.md`` holds the table between ``<!-- options:start -->`` and
``<!-- options:end -->`` (so it reads on GitHub too, and a test keeps that copy current);
at build time the block is replaced by :func:`fincast.cli_options.options_table`, so the
site always shows every declared option with its flag, section, default and help text.
"""

from __future__ import annotations

import re

from mkdocs.exceptions import PluginError

MARKERS = re.compile(r"<!-- options:start -->\n.*?\n<!-- options:end -->", re.S)


def on_page_markdown(markdown, page, config, files):  # mkdocs hook signature
    if page.file.src_uri != "reference/options.md":
        return markdown
    from fincast.cli_options import options_table

    if not MARKERS.search(markdown):
        raise PluginError("docs/reference/options.md lost its <!-- options:start/end --> markers")
    table = options_table()
    return MARKERS.sub(lambda _: f"<!-- options:start -->\n{table}\n<!-- options:end -->", markdown)
