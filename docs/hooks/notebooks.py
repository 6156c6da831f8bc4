"""mkdocs hook: the settings the tutorials are executed with (mkdocs-jupyter, nbconvert).

nbconvert reads ``docs/jupyter/jupyter_nbconvert_config.json`` (put first on
``JUPYTER_CONFIG_PATH`` here): a cell that runs longer than 600 s fails the build instead of
hanging it, and the kernel's local connection is encrypted (CurveZMQ keys provisioned by
the kernel manager), which also keeps ipykernel's "running over TCP without encryption"
warning out of the build log. The tutorials run with the docs directory as working
directory and write nothing (``out=None``).
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "jupyter"


def on_startup(command, dirty):  # mkdocs hook signature
    paths = [str(HERE), *filter(None, os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(dict.fromkeys(paths))
