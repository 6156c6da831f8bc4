"""mkdocs hook: the settings the tutorials are executed with (mkdocs-jupyter, nbconvert).

nbconvert reads ``docs/jupyter/jupyter_nbconvert_config.json`` (put first on
``JUPYTER_CONFIG_PATH`` here): a cell that runs longer than 600 s fails the build instead of
hanging it, and the kernel's local connection is encrypted (CurveZMQ keys provisioned by
the kernel manager), which also keeps ipykernel's "running over TCP without encryption"
warning out of the build log. The tutorials run with the docs directory as working
directory and write nothing (``out=None``).

A notebook's Markdown links to other pages name their sources (``../guide/models.md``), so
they work where the notebook is read as a file; mkdocs rewrites such links in Markdown pages
but mkdocs-jupyter does not, so ``on_page_content`` points them at the built pages
(``../guide/models.html``, this site's ``use_directory_urls: false``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "jupyter"


def on_startup(command, dirty):  # mkdocs hook signature
    paths = [str(HERE), *filter(None, os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(dict.fromkeys(paths))


# href="…x.md" or "…x.md#anchor", relative (no scheme, no leading /)
_MD_LINK = re.compile(r'href="(?![a-zA-Z][a-zA-Z0-9+.-]*:|/)([^"#]+)\.md(#[^"]*)?"')


def on_page_content(html, page, config, files):  # mkdocs hook signature
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    return _MD_LINK.sub(lambda m: f'href="{m[1]}.html{m[2] or ""}"', html)
