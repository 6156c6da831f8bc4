"""Select the Keras backend before Keras is imported anywhere in fincast."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")
# Quieter, CPU-only JAX unless the user asked otherwise.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def keras() -> Any:
    """Import and return Keras with fincast's default backend selected."""
    import keras as _keras

    return _keras
