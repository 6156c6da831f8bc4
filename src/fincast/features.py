"""Leakage-free features: every feature dated t is computed from rows dated <= t.

All builders work per series on the canonical long frame with grouped shifts and rolling
windows (no Python loop over rows), so a feature row never sees the future of its own
series nor any other series.

Feature sets
------------
``default``
    Stationary inputs. With OHLCV columns: close-to-close log return, high-low range
    ``log(high/low)``, intraday return ``log(close/open)``, log volume change, the target
    relative to its rolling mean, the rolling volatility of returns, and the returns lagged
    1 … ``lookback - 1`` steps. With a single column: its log returns (or first differences
    when it is not strictly positive), their lags, rolling mean and volatility, and the
    value relative to its rolling mean.
``raw``
    The raw OHLCV columns as they are (open, high, low, close, volume), or the target column
    alone when there are no OHLCV columns: the classic "predict tomorrow's close from today's
    five columns" set-up.
``+calendar`` (after a set, e.g. ``default+calendar``; alone it means ``default+calendar``)
    Adds what the calendar says about the row's own date, known in advance: day of week
    (0 = Monday), month, calendar days and weekdays (Monday to Friday) to the end of the
    month, and from the New York Stock Exchange calendar (``exchange_calendars``' XNYS
    regular holidays, known in advance): trading sessions to the end of the month and
    whether the next or the previous weekday is an exchange holiday.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = [
    "CS_NORMALIZE",
    "EXTRAS",
    "FEATURE_SETS",
    "FeatureSpec",
    "build_features",
    "cross_sectional",
    "sequence_columns",
]

#: Cross-sectional normalisations of a panel's features (``--cs-normalize``).
CS_NORMALIZE = ("none", "rank", "zscore")

FEATURE_SETS: dict[str, str] = {
    "default": "stationary OHLCV transforms plus lagged returns over the lookback",
    "raw": "the raw OHLCV columns (or the target column) as they are",
}

#: Extra feature groups that follow a set after ``+``.
EXTRAS: dict[str, str] = {
    "calendar": "day of week, month, days, weekdays and XNYS sessions to the month end, "
    "next/previous weekday an XNYS holiday",
}


@dataclass(frozen=True)
class FeatureSpec:
    """How features are built.

    Parameters
    ----------
    kind
        One of :data:`FEATURE_SETS`.
    lookback
        Number of past steps the features look at (lags, rolling windows), >= 1.
    """

    kind: str = "default"
    lookback: int = 20

    @property
    def base(self) -> str:
        """The feature set without extras (``default`` for ``+calendar``)."""
        return self.kind.split("+")[0].strip() or "default"

    @property
    def extras(self) -> tuple[str, ...]:
        """Extra feature groups after ``+`` (only ``calendar`` exists)."""
        return tuple(e.strip() for e in self.kind.split("+")[1:])

    def __post_init__(self) -> None:
        if self.base not in FEATURE_SETS or any(e not in EXTRAS for e in self.extras):
            raise ConfigError(
                f"features {self.kind!r} is not known; expected one of {', '.join(FEATURE_SETS)}"
                ", optionally followed by +calendar (e.g. default+calendar)"
            )
        if int(self.lookback) != self.lookback or self.lookback < 1:
            raise ConfigError(
                f"lookback must be a whole number of steps >= 1, got {self.lookback}; "
                "pass e.g. --lookback 20"
            )


def _log_change(values: pd.Series, groups: pd.Series) -> pd.Series:
    logged = np.log(values.where(values > 0))
    return logged - logged.groupby(groups, sort=False).shift(1)


def _rolling(values: pd.Series, groups: pd.Series, window: int, how: str) -> pd.Series:
    rolled = values.groupby(groups, sort=False).rolling(window, min_periods=window)
    out = getattr(rolled, how)()
    return out.reset_index(level=0, drop=True).reindex(values.index)


def build_features(
    frame: pd.DataFrame,
    target: str,
    roles: dict[str, str],
    spec: FeatureSpec,
    *,
    log: bool = True,
) -> pd.DataFrame:
    """Feature table aligned with ``frame``'s rows.

    Parameters
    ----------
    frame
        Canonical long frame (``id``, ``date``, fields), sorted by id then date.
    target
        The target column.
    roles
        OHLCV role -> column, as found by the loader.
    spec
        Which features to build.
    log
        Measure the target's steps as log changes (a positive price) or, when ``False``,
        as plain differences (see :meth:`fincast.tasks.TaskSpec.uses_log`). It is decided
        from the column's meaning and the task, never from the values: a whole-series
        ``(value > 0).all()`` let a value dated after T change every feature before T.

    Returns
    -------
    pandas.DataFrame
        One float64 column per feature, index aligned with ``frame``. The first rows of each
        series, whose look-back window is not yet full, are NaN.
    """
    feats = _base_features(frame, target, roles, spec, log=log)
    if "calendar" in spec.extras:
        feats = pd.concat([feats, calendar_features(frame["date"])], axis=1)
    return feats


def calendar_features(dates: pd.Series) -> pd.DataFrame:
    """What the calendar says about each date alone (no other row is read).

    Examples
    --------
    >>> calendar_features(pd.Series(pd.to_datetime(["2024-01-29"]))).iloc[0].tolist()
    [0.0, 1.0, 2.0, 2.0, 2.0, 0.0, 0.0]
    """
    d = pd.to_datetime(dates)
    end = d + pd.offsets.MonthEnd(0)
    day = d.to_numpy(dtype="datetime64[D]")
    end_day = end.to_numpy(dtype="datetime64[D]")
    first, last = day.min() - 10, end_day.max() + 10
    sessions = exchange_sessions(first, last)
    holidays = np.setdiff1d(np.arange(first, last + 1), sessions)
    holidays = holidays[np.is_busday(holidays)]  # weekdays the exchange is closed
    to_end = np.searchsorted(sessions, end_day, side="right")
    to_end -= np.searchsorted(sessions, day, side="right")
    next_day = np.busday_offset(day, 1, roll="forward")
    prev_day = np.busday_offset(day, -1, roll="backward")
    return pd.DataFrame(
        {
            "cal_dow": d.dt.day_of_week.astype("float64"),
            "cal_month": d.dt.month.astype("float64"),
            "cal_days_to_month_end": (end - d).dt.days.astype("float64"),
            "cal_weekdays_to_month_end": np.busday_count(
                day + 1, end.to_numpy(dtype="datetime64[D]") + 1
            ).astype("float64"),
            "cal_sessions_to_month_end": to_end.astype("float64"),
            "cal_holiday_next": np.isin(next_day, holidays).astype("float64"),
            "cal_holiday_prev": np.isin(prev_day, holidays).astype("float64"),
        },
        index=dates.index,
    )


def exchange_sessions(
    start: np.datetime64, end: np.datetime64, calendar: str = "XNYS"
) -> np.ndarray:
    """The scheduled trading sessions of an exchange from ``start`` to ``end`` (days).

    Weekdays less the exchange's *regular* holidays from ``exchange_calendars`` (XNYS: the
    New York Stock Exchange's holiday rules), which are known years in advance, so using
    them is no look-ahead. Ad-hoc closures (Hurricane Sandy in 2012, national days of
    mourning) are left out: they were not known at the previous close.
    """
    import warnings

    import exchange_calendars as xcals

    with warnings.catch_warnings():  # its own pandas deprecation notices
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar(calendar, start=str(start), end=str(end))
        rules = cal.regular_holidays
        holidays = rules.holidays(str(start), str(end)) if rules is not None else []
    days = np.arange(start, end + 1)
    days = days[np.is_busday(days)]
    return np.setdiff1d(days, np.asarray(pd.DatetimeIndex(holidays), dtype="datetime64[D]"))


def _base_features(
    frame: pd.DataFrame, target: str, roles: dict[str, str], spec: FeatureSpec, *, log: bool
) -> pd.DataFrame:
    groups = frame["id"]
    value = frame[target].astype("float64")
    ohlc = [roles.get(r) for r in ("open", "high", "low", "close")]
    if spec.base == "raw":
        cols = [roles[r] for r in ("open", "high", "low", "close", "volume") if r in roles]
        if target not in cols:
            cols = [*cols, target] if cols else [target]
        return frame[cols].astype("float64").rename(columns=lambda c: f"raw_{c}")

    out: dict[str, pd.Series] = {}
    positive = log
    step = _log_change(value, groups) if positive else value.groupby(groups, sort=False).diff()
    lagged = step.groupby(groups, sort=False)
    out["ret"] = step
    for lag in range(1, spec.lookback):
        out[f"ret_lag{lag}"] = lagged.shift(lag)
    if all(c is not None for c in ohlc):
        o, h, lo, c = (frame[col].astype("float64") for col in ohlc)
        out["range"] = np.log(h.where(h > 0) / lo.where(lo > 0))
        out["intraday"] = np.log(c.where(c > 0) / o.where(o > 0))
    if "volume" in roles:
        vol = np.log1p(frame[roles["volume"]].astype("float64").clip(lower=0))
        out["volume_change"] = vol - vol.groupby(groups, sort=False).shift(1)
    if spec.lookback >= 2:
        mean = _rolling(value, groups, spec.lookback, "mean")
        if positive:
            out["rel_mean"] = value / mean - 1.0
        else:
            scale = _rolling(value, groups, spec.lookback, "std").replace(0.0, np.nan)
            out["rel_mean"] = ((value - mean) / scale).fillna(0.0).where(mean.notna())
        out["volatility"] = _rolling(step, groups, spec.lookback, "std")
    if not positive:
        out["level"] = value
    return pd.DataFrame(out, index=frame.index)


def cross_sectional(
    feats: pd.DataFrame, frame: pd.DataFrame, how: str, keep: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Each feature ranked or z-scored across the series of each date (``--cs-normalize``).

    A row's value is compared with the same feature of the other series *on the same date*
    only (rows dated t, themselves built from data dated <= t), so nothing from the future
    enters. Series whose feature is not yet defined on a date (a look-back still filling)
    are left out of that date's cross-section and stay NaN.

    Parameters
    ----------
    feats
        Feature table aligned with ``frame``.
    frame
        The canonical long frame (its ``id`` and ``date`` columns).
    how
        ``rank``: the percentile rank among the date's series, centred to (-0.5, 0.5]
        (ties share their mean rank); ``zscore``: ``(x - mean) / sd`` over the date's series
        (population sd; 0 when every series has the same value); ``none``: unchanged.
    keep
        Columns left as they are: the same for every series on a date (calendar, global
        covariates) or a series identity, which a cross-section would erase.

    Raises
    ------
    ConfigError
        For a single series, or an unknown ``how``.
    """
    if how == "none":
        return feats
    if how not in CS_NORMALIZE:
        raise ConfigError(f"cs-normalize must be one of {', '.join(CS_NORMALIZE)}, got {how!r}")
    n_series = frame["id"].nunique()
    if n_series < 2:
        raise ConfigError(
            f"--cs-normalize {how} compares the series of each date, but the data has "
            f"{n_series} series; pass a panel (an id column) or leave out --cs-normalize"
        )
    cols = [c for c in feats.columns if c not in keep]
    by_date = feats[cols].groupby(frame["date"].to_numpy(), sort=False)
    if how == "rank":
        normed = by_date.rank(pct=True) - 0.5
    else:
        mean = by_date.transform("mean")
        sd = by_date.transform("std", ddof=0)
        normed = (feats[cols] - mean) / sd.where(sd > 0)
        normed = normed.mask((sd == 0) & feats[cols].notna(), 0.0)
    out = feats.copy()
    out[cols] = normed.astype("float64")
    return out


def sequence_columns(feature_names: list[str] | tuple[str, ...]) -> list[str]:
    """The per-step features that sequence models read over a look-back window.

    Lags and rolling statistics are left out: the window itself holds that history.
    """
    rolling = ("rel_mean", "volatility")
    return [c for c in feature_names if not c.startswith("ret_lag") and c not in rolling]
