"""Data: readers (CSV, Parquet, built-in datasets), the canonical Dataset, validation, health."""

from .builtin import BUILTINS, load_builtin
from .dataset import OHLCV_ROLES, Dataset
from .health import Finding, check_health, screen, screen_records
from .readers import load
from .sessions import session_bars, session_date
from .validate import check_min_rows, check_positive, check_two_classes, summarize

__all__ = [
    "BUILTINS",
    "OHLCV_ROLES",
    "Dataset",
    "Finding",
    "check_health",
    "check_min_rows",
    "check_positive",
    "check_two_classes",
    "load",
    "load_builtin",
    "screen",
    "screen_records",
    "session_bars",
    "session_date",
    "summarize",
]
