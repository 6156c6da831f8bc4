"""The in-memory dataset every later step works from: one long table."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["OHLCV_ROLES", "Dataset"]

#: Roles fincast recognises among a dataset's numeric columns, in feature order.
OHLCV_ROLES = ("open", "high", "low", "close", "adj_close", "volume")


@dataclass(frozen=True)
class Dataset:
    """A validated financial dataset in canonical long format.

    Attributes
    ----------
    frame
        One row per (series, date): column ``id`` (str), column ``date``
        (``datetime64[ns]``, tz-naive), then the numeric fields with their original names.
        Sorted by ``id`` then ``date``, no duplicate (id, date), ``RangeIndex``.
    name
        Short dataset name (file stem or built-in name); a single series' id.
    source
        What the user passed: a path, or ``builtin:NAME``.
    target
        The column to forecast.
    roles
        Role -> column for the OHLCV columns found (``open``, ``high``, ``low``, ``close``,
        ``adj_close``, ``volume``), matched case-insensitively (``Adj Close``, ``adj_close``,
        ``adjclose`` are all ``adj_close``).
    sha256
        SHA-256 of the file read (``None`` for data passed in memory).
    layout
        ``long``, or ``wide`` when the table had one column per series (read into the long
        ``frame`` by :mod:`fincast.data.wide`).
    """

    frame: pd.DataFrame
    name: str
    source: str
    target: str
    roles: dict[str, str] = field(default_factory=dict)
    sha256: str | None = None
    layout: str = "long"

    @property
    def ids(self) -> list[str]:
        """The series ids, sorted."""
        return sorted(self.frame["id"].unique().tolist())

    @property
    def is_panel(self) -> bool:
        """True when the dataset holds more than one series."""
        return self.frame["id"].nunique() > 1

    @property
    def numeric_columns(self) -> list[str]:
        """The numeric fields, in file order."""
        return [c for c in self.frame.columns if c not in ("id", "date")]
