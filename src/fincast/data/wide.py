"""Wide tables: a date column plus one column per series, read as a long panel.

The shape most price downloads and spreadsheets have (``Date, AAPL, MSFT, …``). Each value
column becomes one series; leading and trailing empty cells of a column are a series that
starts later or ends earlier (a ragged panel), empty cells in between follow ``--fillna``.
Values are prices by default. With ``values="returns"`` they are simple returns per step
(0.01 is 1%) and are turned into a price index starting at 100,
``P_t = 100 * prod(1 + r)``: the log returns fincast's tasks compute from it are exactly
``log(1 + r)`` of the table, so return, direction, trend3, events and volatility tasks see
the table's returns; the level of the index is arbitrary, so level tasks are refused.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["PRICE_COLUMN", "DataNote", "looks_wide", "to_long", "to_wide"]

#: The long frame's value column for a wide table's series (a close price, or the index
#: built from returns).
PRICE_COLUMN = "close"
#: The index level a returns table starts from.
INDEX_BASE = 100.0


class DataNote(UserWarning):
    """A one-line note of what the loader detected (e.g. a wide table)."""


def looks_wide(numeric_columns: list[str], roles: dict[str, str], id_col: str | None) -> bool:
    """True when a table without an id column is unambiguously wide.

    Several numeric columns, none of them a price or volume field (open, high, low, close,
    adjusted close, volume): each one is then a series, not a field of one series.
    """
    return id_col is None and len(numeric_columns) >= 2 and not roles


def to_long(
    frame: pd.DataFrame,
    date_col: str,
    columns: list[str],
    *,
    values: str = "prices",
    where: str = "data",
) -> pd.DataFrame:
    """A wide table (``date_col`` plus the series ``columns``, numeric) as a long frame.

    Returns
    -------
    pandas.DataFrame
        Columns ``date_col``, ``id`` (the column name) and :data:`PRICE_COLUMN`, in series
        then table order, without each series' leading and trailing empty cells.

    Raises
    ------
    DataError
        For a series with no value, or a return of -100% or less.
    """
    parts = []
    for col in columns:
        series = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        present = np.flatnonzero(series.notna().to_numpy())
        if len(present) == 0:
            raise DataError(
                f"{where}: series column `{col}` of the wide table has no values; drop it"
            )
        part = frame.iloc[present[0] : present[-1] + 1]
        vals = series.iloc[present[0] : present[-1] + 1].to_numpy()
        if values == "returns":
            vals = _index_from_returns(vals, col, where)
        parts.append(
            pd.DataFrame({date_col: part[date_col].to_numpy(), "id": str(col), PRICE_COLUMN: vals})
        )
    return pd.concat(parts, ignore_index=True)


def _index_from_returns(returns: np.ndarray, col: str, where: str) -> np.ndarray:
    """``100 * cumprod(1 + r)``; a missing return keeps the index missing at that step only."""
    finite = np.isfinite(returns)
    if (returns[finite] <= -1).any():
        first = float(returns[finite][returns[finite] <= -1][0])
        raise DataError(
            f"{where}: series `{col}` has a return of {first:g} (-100% or less), which a "
            "price cannot have; --values returns expects simple returns such as 0.01 for 1%"
        )
    growth = np.where(finite, 1.0 + np.where(finite, returns, 0.0), 1.0)
    index = INDEX_BASE * np.cumprod(growth)
    return np.where(np.isnan(returns), np.nan, index)


def note_wide(where: str, columns: list[str], values: str) -> None:
    """Emit the one-line note that a table was read as wide."""
    shown = ", ".join(columns[:5]) + (" …" if len(columns) > 5 else "")
    warnings.warn(
        f"{where}: read as a wide table of {values}, one series per column "
        f"({len(columns)}: {shown}); pass --target COLUMN to forecast one column instead",
        DataNote,
        stacklevel=3,
    )


def to_wide(long: pd.DataFrame, column: str, *, date_col: str = "date") -> pd.DataFrame:
    """The inverse of :func:`to_long`: one ``column`` of a long frame as a wide table.

    Returns
    -------
    pandas.DataFrame
        ``date_col`` then one column per series id (sorted), one row per date.
    """
    table = long.pivot(index="date", columns="id", values=column)
    table.columns = [str(c) for c in table.columns]
    return table.rename_axis(date_col).reset_index()
