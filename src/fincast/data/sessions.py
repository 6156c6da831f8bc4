"""Intraday bars to one row per trading session, with the session's realised variance.

fincast forecasts the rows of the data it is given: intraday bars stay bars (the reader
keeps their timestamps, converted to UTC and made tz-naive). For a daily volatility target
from intraday data (``--vol-estimator realized``), :func:`session_bars` turns the bars of
each series into one row per session first.

A bar's session is decided from its own timestamp only, never from the bars around it
(whether a later bar exists, where the next gap falls): its date after adding
``session_offset``. With the default offset 0 a session is a calendar day of the
timestamps (UTC, as the reader stores them: right for an exchange whose session does not
cross midnight UTC, such as New York's 14:30–21:00 UTC); a market whose session starts
the evening before (e.g. 22:00 UTC) takes ``session_offset="2h"``, so that a bar stamped
22:00 belongs to the next day's session.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["session_bars", "session_date"]


def session_date(timestamps: pd.Series, session_offset: str | pd.Timedelta = "0h") -> pd.Series:
    """The session each timestamp belongs to: ``(timestamp + session_offset)`` at midnight.

    Element-wise: each value depends on its own timestamp only. Time zones are converted
    to UTC and dropped first, as :func:`fincast.load` does.
    """
    offset = pd.Timedelta(session_offset)
    if not pd.Timedelta(0) <= offset < pd.Timedelta(days=1):
        raise DataError(
            f"session_offset must be in [0h, 24h), got {session_offset!r}; pass e.g. '2h' for "
            "a session that starts at 22:00 UTC the evening before"
        )
    stamps = pd.Series(pd.to_datetime(timestamps))
    if stamps.dt.tz is not None:  # as the reader does: UTC, tz-naive
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return (stamps + offset).dt.normalize()


def session_bars(
    frame: pd.DataFrame,
    *,
    session_offset: str | pd.Timedelta = "0h",
    date_col: str = "date",
    id_col: str | None = "id",
    close: str = "close",
    open_: str | None = "open",
    high: str | None = "high",
    low: str | None = "low",
    volume: str | None = "volume",
) -> pd.DataFrame:
    """One row per (series, session) from intraday bars, with the realised variance ``rv``.

    ``rv`` is the sum of the squared log returns within the session: from each bar's close
    to the next bar's close of the same session, plus the first bar's ``log(close/open)``
    when an open column is given. The return from the previous session's last close to the
    session's first bar (the overnight jump) is left out, as in the realised-variance
    literature; ``yang-zhang`` on the session rows measures it.

    Parameters
    ----------
    frame
        The bars: a timestamp column, an optional series id column and the price columns
        (the names of the long frame :func:`fincast.load` returns, by default). Not
        modified.
    session_offset
        Added to each timestamp before taking its date (see the module).
    date_col, id_col
        The timestamp and series id columns (``id_col=None``: a single series).
    close, open_, high, low, volume
        The columns of the bars; ``None`` or a missing column leaves that output out
        (close is required).

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (when ``id_col`` is given), ``date`` (the session), ``open`` (the first
        bar's), ``high`` (the highest), ``low`` (the lowest), ``close`` (the last bar's),
        ``volume`` (the sum), ``rv`` and ``n_bars``, sorted by series and session. A
        session with one bar and no open has ``rv`` NaN.

    Raises
    ------
    DataError
        For a missing close or timestamp column, or a non-positive price.

    Examples
    --------
    >>> bars = pd.DataFrame({"date": pd.to_datetime(["2024-01-02 15:00", "2024-01-02 16:00",
    ...     "2024-01-03 15:00", "2024-01-03 16:00"]), "close": [100.0, 101.0, 99.0, 99.0]})
    >>> session_bars(bars, id_col=None)[["date", "close", "n_bars"]]
            date  close  n_bars
    0 2024-01-02  101.0       2
    1 2024-01-03   99.0       2
    """
    for col in (date_col, close):
        if col not in frame.columns:
            raise DataError(
                f"session_bars: column `{col}` is not in the bars ({', '.join(map(str, frame))}); "
                f"pass date_col= / close= with the right names"
            )
    ids = frame[id_col].astype(str) if id_col and id_col in frame else pd.Series("", frame.index)
    stamps = pd.to_datetime(frame[date_col])
    bars = pd.DataFrame(
        {"id": ids, "ts": stamps, "session": session_date(stamps, session_offset)},
        index=frame.index,
    )
    wanted: dict[str, str | None] = {
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
    }
    fields = {k: v for k, v in wanted.items() if v is not None and v in frame.columns}
    for key, col in fields.items():
        values = frame[col].astype("float64")
        if key != "volume" and (values <= 0).any():
            where = int(np.flatnonzero((values <= 0).to_numpy())[0])
            raise DataError(
                f"session_bars: price column `{col}` is <= 0 at {bars['ts'].iloc[where]}; "
                "log returns need positive prices"
            )
        bars[key] = values
    bars = bars.sort_values(["id", "ts"], kind="stable")
    keys = [bars["id"], bars["session"]]
    logc = np.log(bars["close"])
    ret = logc - logc.groupby(keys, sort=False).shift(1)  # NaN at each session's first bar
    if "open" in bars:
        first = ~bars.duplicated(["id", "session"])
        ret = ret.where(~first, logc - np.log(bars["open"]))
    bars["sq"] = ret**2
    grouped = bars.groupby(["id", "session"], sort=True)
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    out = grouped.agg({k: v for k, v in agg.items() if k in bars})
    out["rv"] = grouped["sq"].sum(min_count=1)
    out["n_bars"] = grouped.size()
    out = out.reset_index().rename(columns={"session": "date"})
    return out if id_col and id_col in frame else out.drop(columns="id")
