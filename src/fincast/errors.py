"""Exceptions raised by fincast.

Every error a user can cause is a :class:`FincastError`; the command line prints its message
as one line ``error: …`` and exits with code 2. Anything else is a bug in fincast and exits 1.

The tree is short on purpose::

    FincastError
    ├── DataError     the input data: missing file, bad dates, NaNs, too few rows…
    ├── ConfigError   options and configuration: unknown model, horizon 0, bad YAML key…
    ├── ModelError    a model that cannot be built, trained, saved or loaded
    └── RunError      the run directory: locked, already complete, not a fincast run…

Messages say what is wrong, where (file, column, row or date, series), what was expected,
and how to fix it.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "FincastError", "ModelError", "RunError"]


class FincastError(Exception):
    """Base class of every error a user can act on (exit code 2)."""

    exit_code = 2


class DataError(FincastError):
    """The input data cannot be used as it is."""


class ConfigError(FincastError):
    """An option or configuration value is invalid."""


class ModelError(FincastError):
    """A model cannot be built, trained, saved or loaded."""


class RunError(FincastError):
    """A run directory cannot be used (locked, incomplete, not a fincast run)."""
