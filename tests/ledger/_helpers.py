"""Helpers of the ledger tests."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def no_fincast_warnings() -> Iterator[None]:
    """Warnings raised from fincast's own code fail the test (Keras' are not ours)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", module=r"fincast(\..*)?$")
        yield
