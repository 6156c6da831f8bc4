"""Select the Keras backend before Keras is imported anywhere in fincast."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
# Quieter, CPU-only JAX unless the user asked otherwise.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def compilation_cache_dir() -> Path:
    """Where JAX keeps fincast's compiled programs between runs (unless the user set
    ``JAX_COMPILATION_CACHE_DIR``): ``$XDG_CACHE_HOME/fincast/jax``, else
    ``~/.cache/fincast/jax``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fincast" / "jax"


# JAX's persistent compilation cache: a network's training loop compiles once per machine,
# not once per run (the LSTM's takes seconds). Results are the same bits as a fresh
# compilation. JAX_COMPILATION_CACHE_DIR="" turns it off; a directory of your own moves it.
# Every program is kept, however quick to compile: building a network runs about thirty
# small ones (its weight initialisers), 0.02-0.07 s each, which a threshold (JAX's default
# is 1 s) would compile again in every run: 0.47 s of a warm LSTM peer run at 0.1 s.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(compilation_cache_dir()))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


def keras() -> Any:
    """Import and return Keras with fincast's default backend selected."""
    import keras as _keras

    return _keras
