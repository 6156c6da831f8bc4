"""Exchange calendars: the trading sessions forecasts are dated on (``--calendar XNYS``).

Codes are those of the `exchange_calendars` library (``XNYS`` New York, ``XLON`` London,
``XTKS`` Tokyo…), imported only when a calendar is used. Without ``--calendar`` the data's
own dates decide (business days inferred from the data), except for the built-in US index
datasets, which trade on ``XNYS``.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError

__all__ = [
    "BUILTIN_CALENDARS",
    "business_days_after",
    "calendar_for",
    "calendar_notes",
    "check_calendar",
    "data_holidays",
    "next_sessions",
    "off_calendar_dates",
]

#: The calendar of built-in datasets that trade on one exchange.
BUILTIN_CALENDARS = {"builtin:sp500": "XNYS", "builtin:nasdaq": "XNYS"}
#: ``--calendar`` values meaning "no exchange calendar: infer business days from the data".
NONE_VALUES = ("none", "data")


def calendar_for(code: str | None, source: str | None) -> str | None:
    """The calendar a run uses: ``code``, else the built-in dataset's, else None (the data's).

    ``none`` (or ``data``) turns a built-in dataset's calendar off. A code is checked (and
    its case fixed, ``xnys`` is ``XNYS``); an unknown one is a :class:`ConfigError`.
    """
    if code is None:
        return BUILTIN_CALENDARS.get(str(source)) if source else None
    if code.strip().lower() in NONE_VALUES:
        return None
    return check_calendar(code.strip())


def _library() -> Any:
    import exchange_calendars

    return exchange_calendars


def check_calendar(code: str) -> str:
    """``code`` as the library spells it; a :class:`ConfigError` listing close matches if
    it is not a calendar."""
    names = _library().get_calendar_names(include_aliases=True)
    by_upper = {n.upper(): n for n in names}
    if code.upper() in by_upper:
        return str(by_upper[code.upper()])
    close = difflib.get_close_matches(code.upper(), list(by_upper), n=4, cutoff=0.5)
    hint = f"did you mean {', '.join(by_upper[c] for c in close)}? " if close else ""
    raise ConfigError(
        f"--calendar {code!r} is not an exchange calendar code; {hint}use a code of the "
        "exchange_calendars library such as XNYS (New York), XLON (London), XTKS (Tokyo), "
        "or none for business days inferred from the data"
    )


def calendar_notes(code: str | None, dates: pd.Series | np.ndarray) -> list[str]:
    """Warnings about the data's dates under calendar ``code`` (dates that are not sessions)."""
    if code is None:
        return []
    off = off_calendar_dates(code, dates)
    if not off:
        return []
    shown = ", ".join(str(d.date()) for d in off[:3]) + (" …" if len(off) > 3 else "")
    return [
        f"{len(off)} date(s) of the data are not {code} trading sessions ({shown}); check "
        "--calendar, or pass --calendar none to date forecasts by the data's business days"
    ]


@functools.lru_cache(maxsize=32)
def _sessions(code: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """The sessions of ``code`` from ``start`` to ``end`` (cached: calendars are slow to make)."""
    import warnings

    xcals = _library()
    try:
        with warnings.catch_warnings():  # its own pandas 4 deprecation notices (Series.values)
            warnings.simplefilter("ignore", getattr(pd.errors, "Pandas4Warning", FutureWarning))
            cal = xcals.get_calendar(code, start=start, end=end)
    except Exception as exc:  # dates outside what the library covers
        raise ConfigError(
            f"calendar {code} cannot cover {start.date()} to {end.date()} ({exc}); leave "
            "out --calendar"
        ) from None
    return pd.DatetimeIndex(cal.sessions).tz_localize(None)


def _years(start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Whole calendar years around ``start``..``end`` (so the cache is reused)."""
    return pd.Timestamp(year=start.year, month=1, day=1), pd.Timestamp(
        year=end.year, month=12, day=31
    )


def next_sessions(
    code: str, origin: pd.Timestamp, horizons: Sequence[int]
) -> dict[int, pd.Timestamp]:
    """The ``h``-th trading session after ``origin`` for each horizon ``h``.

    ``origin`` need not be a session (the first session after it counts as 1).
    """
    origin = pd.Timestamp(origin)
    end = origin + pd.Timedelta(days=2 * max(horizons) + 30)
    sessions = _sessions(code, *_years(origin, end))
    after = sessions[sessions > origin.normalize()]
    return {int(h): pd.Timestamp(after[int(h) - 1]) for h in horizons}


def off_calendar_dates(code: str, dates: pd.Series | np.ndarray) -> list[pd.Timestamp]:
    """The dates among ``dates`` that are not sessions of calendar ``code``."""
    idx = pd.DatetimeIndex(pd.Series(dates).drop_duplicates().sort_values().to_numpy())
    if len(idx) == 0:
        return []
    sessions = _sessions(code, *_years(idx[0], idx[-1]))
    return list(idx.normalize()[~idx.normalize().isin(sessions)])


#: A month-day missing from the data's weekdays in at least this many years is a holiday.
HOLIDAY_YEARS = 2


def data_holidays(dates: pd.Series | np.ndarray) -> list[str]:
    """Fixed-date holidays inferred from daily data: ``MM-DD`` never traded on a weekday.

    A month-day counts when it falls on a weekday inside the data's range in at least
    :data:`HOLIDAY_YEARS` years and the data has no row on it in any year (New Year's Day,
    Christmas…). Moving holidays (Easter, Thanksgiving) need an exchange calendar.
    """
    idx = pd.DatetimeIndex(pd.Series(dates).drop_duplicates().sort_values().to_numpy())
    if len(idx) < 3:
        return []
    idx = idx.normalize()
    weekdays = pd.bdate_range(idx[0], idx[-1])
    traded = set(idx.strftime("%m-%d"))
    missing = weekdays[~weekdays.isin(idx)]
    counts = pd.Series(missing.year, index=missing.strftime("%m-%d")).groupby(level=0).nunique()
    return sorted(k for k, n in counts.items() if n >= HOLIDAY_YEARS and k not in traded)


def business_days_after(
    origin: pd.Timestamp, horizons: Sequence[int], holidays: Sequence[str]
) -> dict[int, pd.Timestamp]:
    """The ``h``-th business day after ``origin``, skipping weekends and ``MM-DD`` holidays."""
    origin = pd.Timestamp(origin).normalize()
    years = range(origin.year, origin.year + 2 + max(horizons) // 250)
    days = [pd.Timestamp(f"{y}-{md}") for y in years for md in holidays if _valid(y, md)]
    step = pd.offsets.CustomBusinessDay(holidays=days)
    return {int(h): origin + int(h) * step for h in horizons}


def _valid(year: int, month_day: str) -> bool:
    try:
        pd.Timestamp(f"{year}-{month_day}")
    except ValueError:
        return False
    return True
