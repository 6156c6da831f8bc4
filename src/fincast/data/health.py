"""Data health: the checks a quant runs before trusting a backtest.

Data that parses can still be wrong in ways that make a backtest confident and meaningless.
:func:`check_health` looks for them in a loaded :class:`~fincast.data.Dataset` and returns
one :class:`Finding` per problem, each naming the series, column, date(s) and value seen,
and what to do about it:

- ``split`` — a one-step price ratio close to 1/2, 1/3, 2, 3, 1/10 … (:data:`SPLIT_RATIOS`)
  that persists: an unadjusted split or reverse split;
- ``spike`` — a move beyond the threshold that reverts the next step (a corrupt tick,
  e.g. 1e300 in the middle of a series);
- ``move`` — any other one-step move of a price with \\|log return\\| above ``max_move``
  (default 0.5); when Close and Adj Close both exist and Adj Close does not move, the move
  is an adjustment (split or dividend) that Adj Close accounts for;
- ``adjustment`` — Close and Adj Close diverging in a way adjustments do not: on one date
  only, or with the adjustment factor falling as time passes;
- ``stale`` — ``stale_run`` (default 10) or more identical consecutive prices;
- ``volume`` — negative volume, or runs of ``stale_run`` or more zero volumes;
- ``ohlc`` — High below Open/Close, Low above them, or High below Low;
- ``gap`` — a calendar gap beyond holidays (a whole week of business days missing in daily
  data, or more than three times the usual spacing otherwise).

Duplicate timestamps (after time zones are converted to UTC) are already an error when the
data is read. Findings are warnings; ``info`` findings describe something that does not
affect the run (a split in Close when the target is the adjusted close). :func:`screen`
is what a backtest and ``fincast train`` run first: it applies ``--adjust-splits``, turns
warnings into an error under ``--strict`` and returns the lines to print.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from ..errors import DataError
from .dataset import Dataset

__all__ = [
    "SPLIT_RATIOS",
    "DataHealthWarning",
    "Finding",
    "HealthOptions",
    "adjust_splits",
    "check_health",
    "is_screen_line",
    "lines",
    "record_text",
    "screen",
    "screen_records",
]

#: Share counts after / before a split (2 is 2:1); a price moves by the reciprocal.
_SHARES = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 15.0, 20.0, 25.0, 50.0, 100.0, 1.5)
#: Price ratios (after / before) a split (< 1) or reverse split (> 1) gives.
SPLIT_RATIOS: tuple[float, ...] = tuple(sorted({1 / s for s in _SHARES} | set(_SHARES)))
#: How far (in log) a step may be from a split ratio and still be that split.
SPLIT_TOLERANCE = 0.06
#: Findings shown in full by :func:`screen`; the rest are counted.
SHOWN = 20
_MORE = "more data findings (`fincast validate --json` lists them all)"
_PRICE_ROLES = ("open", "high", "low", "close", "adj_close")


class DataHealthWarning(UserWarning):
    """A data-health line (``fincast train`` issues the findings as these warnings)."""


@dataclass(frozen=True)
class Finding:
    """One data-health problem, in the user's terms.

    Attributes
    ----------
    check
        ``split``, ``spike``, ``move``, ``adjustment``, ``stale``, ``volume``, ``ohlc`` or
        ``gap``.
    series, column
        Where: the series id and the column as named in the file.
    dates
        The date, or the first and last date of a run or gap (ISO strings).
    value
        What was seen, e.g. ``Close 100 → 50 (× 0.5)``.
    action
        What to do about it.
    severity
        ``warning`` (``--strict`` makes it an error) or ``info`` (nothing to do for this run).
    count
        How many occurrences this finding sums up (e.g. OHLC violations of one series).
    ratio
        ``split``: the price ratio after / before (0.5 for a 2:1 split).
    """

    check: str
    series: str
    column: str
    dates: tuple[str, ...]
    value: str
    action: str
    severity: Literal["warning", "info"] = "warning"
    count: int = 1
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def text(self) -> str:
        """One line: check, series, column, dates, what was seen and what to do."""
        return record_text(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable mapping (``fincast validate --json``)."""
        out = asdict(self)
        out["dates"] = list(self.dates)
        out.pop("extra")
        return out


def record_text(record: dict[str, Any]) -> str:
    """:meth:`Finding.text` of a :meth:`Finding.to_dict` record (as in ``metrics.json``)."""
    when = " … ".join(str(d) for d in record.get("dates") or [])
    return (
        f"{record.get('check')}: series {record.get('series')}, `{record.get('column')}`, "
        f"{when}: {record.get('value')}; {record.get('action')}"
    )


def is_screen_line(line: str, records: list[dict[str, Any]]) -> bool:
    """Whether ``line`` is one :func:`screen` printed for the findings ``records``."""
    if line.startswith("--adjust-splits: ") or line.endswith(_MORE):
        return True
    return any(line == record_text(r) for r in records)


def _day(value: Any) -> str:
    stamp = pd.Timestamp(value)
    return str(stamp.date()) if stamp == stamp.normalize() else stamp.isoformat()


def _num(value: float) -> str:
    return f"{value:.6g}"


def _split_name(ratio: float) -> str:
    if ratio < 1:
        shares = 1 / ratio
        return f"a {_num(shares)}:1 split" if shares != 1.5 else "a 3:2 split"
    return f"a 1:{_num(ratio)} reverse split" if ratio != 1.5 else "a 2:3 reverse split"


def _nearest_split(step: float, tolerance: float = SPLIT_TOLERANCE) -> float | None:
    logs = np.log(SPLIT_RATIOS)
    j = int(np.argmin(np.abs(logs - step)))
    return SPLIT_RATIOS[j] if abs(logs[j] - step) < tolerance else None


def _log_steps(values: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log prices (NaN where not positive) and their one-step changes within each series."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
    steps = np.empty_like(logs)
    steps[0] = np.nan
    steps[1:] = logs[1:] - logs[:-1]
    steps[new] = np.nan
    return logs, steps


class _Series:
    """Row positions of the series in a sorted long frame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        ids = frame["id"].to_numpy()
        self.n = len(ids)
        self.new = np.r_[True, ids[1:] != ids[:-1]] if self.n else np.zeros(0, bool)
        first = np.flatnonzero(self.new)
        self.first = np.repeat(first, np.diff(np.r_[first, self.n]))  # first row of i's series
        last = np.r_[first[1:], self.n] - 1
        self.last = np.repeat(last, np.diff(np.r_[first, self.n]))  # last row of i's series
        self.ids = ids
        self.dates = frame["date"].to_numpy()


def _level_change(logs: np.ndarray, rows: _Series, i: int, width: int = 5) -> float:
    """Median log level of up to ``width`` rows from ``i`` minus that of the rows before."""
    before = logs[max(rows.first[i], i - width) : i]
    after = logs[i : min(rows.last[i] + 1, i + width)]
    before, after = before[np.isfinite(before)], after[np.isfinite(after)]
    if not len(before) or not len(after):
        return float("nan")
    return float(np.median(after) - np.median(before))


def _move_columns(ds: Dataset) -> list[str]:
    cols = [ds.roles[r] for r in ("close", "adj_close") if r in ds.roles]
    if ds.target not in cols:
        price_role = ds.target in {ds.roles.get(r) for r in _PRICE_ROLES}
        values = ds.frame[ds.target].to_numpy(dtype="float64")
        finite = values[np.isfinite(values)]
        if price_role or (len(finite) and (finite > 0).all()):
            cols.append(ds.target)
    return cols


def _classify(
    r: float, part: float | None, adjusts: bool, max_move: float
) -> tuple[str, float | None]:
    """``(kind, split ratio)`` of a large move ``r``; ``part`` is the share of it that the
    companion column (Adj Close for Close, and back) does not make."""
    if part is not None and adjusts:
        if abs(part) < max_move / 2:
            return "real", None  # both columns move alike in a source that adjusts
        ratio = _nearest_split(part, tolerance=0.02)
        return ("split", ratio) if ratio is not None else ("adjustment", None)
    return "unexplained", _nearest_split(r)


def _moves(ds: Dataset, rows: _Series, col: str, max_move: float) -> list[Finding]:
    values = ds.frame[col].to_numpy(dtype="float64")
    logs, steps = _log_steps(values, rows.new)
    close, adj = ds.roles.get("close"), ds.roles.get("adj_close")
    other = adj if col == close else close if col == adj else None
    other_steps = adjusts = None
    if other is not None:
        other_logs, other_steps = _log_steps(ds.frame[other].to_numpy(dtype="float64"), rows.new)
        with np.errstate(invalid="ignore"):
            factor = np.abs(other_logs - logs)  # |log(Adj Close / Close)|
        adjusts = pd.Series(factor).groupby(rows.ids).max().to_dict()  # per series
    with np.errstate(invalid="ignore"):
        candidates = np.flatnonzero(np.abs(steps) > max_move)
    out: list[Finding] = []
    skip = -1
    for i in candidates[:10_000]:
        if i <= skip:
            continue
        r = steps[i]
        series, day = str(rows.ids[i]), _day(rows.dates[i])
        before, now = values[i - 1], values[i]
        seen = f"{col} {_num(before)} → {_num(now)} (× {now / before:.4g})"
        nxt = steps[i + 1] if i + 1 < rows.n and not rows.new[i + 1] else np.nan
        if abs(nxt) > max_move / 2 and abs(r + nxt) < 0.25 * abs(r):
            out.append(
                Finding(
                    "spike",
                    series,
                    col,
                    (day,),
                    f"{col} jumps from {_num(before)} to {_num(now)} and back to "
                    f"{_num(values[i + 1])} the next step",
                    "a corrupt tick: correct that value in the source, or blank it and pass "
                    "--fillna ffill",
                )
            )
            skip = i + 1
            continue
        part = None
        if other_steps is not None and np.isfinite(other_steps[i]):
            part = float(r - other_steps[i])
        source_adjusts = bool(adjusts is not None and adjusts.get(rows.ids[i], 0) > 1e-3)
        kind, ratio = _classify(r, part, source_adjusts, max_move)
        if kind == "real" and col == adj:
            continue  # Close moves alike and carries the finding
        level = _level_change(logs, rows, i) if ratio is not None else np.nan
        if kind == "unexplained" and ratio is not None and not abs(level - np.log(ratio)) < 0.12:
            ratio = None  # not a level that persists: a plain move
        severity: Literal["warning", "info"] = "warning"
        if kind == "real":
            check, what = "move", f"{seen}, a one-step log move of {r:+.2f}"
            action = f"`{other}` moves alike and the source adjusts it: a real market move"
            severity = "info"
        elif kind in ("split", "adjustment") and col == close:
            name = _split_name(ratio) if ratio is not None else "split or dividend"
            check = "split" if ratio is not None else "move"
            what = f"{seen} while `{other}` does not move: {name} adjustment"
            if ds.target == other:
                action = f"`{col}` is not adjusted; the target `{other}` is"
                severity = "info"
            else:
                action = f"`{col}` is not adjusted: forecast `{other}` or pass --adjust-splits"
        elif kind in ("split", "adjustment"):  # Adj Close jumps and Close does not
            check, ratio = "adjustment", None
            what = f"{seen} while `{other}` does not move"
            action = "Adj Close should not jump where Close does not: check the source"
        elif ratio is not None:
            check = "split"
            what = f"{seen}, and the new level holds: it looks like {_split_name(ratio)}"
            action = (
                "if so, the prices before it are not split-adjusted: use adjusted prices, or "
                "pass --adjust-splits"
            )
        else:
            check, what = "move", f"{seen}, a one-step log move of {r:+.2f}"
            action = "check the source: a missing adjustment or a bad value would look like this"
        out.append(
            Finding(check, series, col, (day,), what, action, severity=severity, ratio=ratio)
        )
    return out


def _adjustment(ds: Dataset, rows: _Series) -> list[Finding]:
    """Close vs Adj Close: a one-date disagreement, or an adjustment factor falling in time."""
    close, adj = ds.roles.get("close"), ds.roles.get("adj_close")
    if close is None or adj is None:
        return []
    c = ds.frame[close].to_numpy(dtype="float64")
    a = ds.frame[adj].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where((c > 0) & (a > 0), a / np.where(c > 0, c, 1.0), np.nan)
    _, steps = _log_steps(factor, rows.new)
    nxt = np.r_[steps[1:], np.nan]
    with np.errstate(invalid="ignore"):
        blip = (np.abs(steps) > 0.05) & (np.abs(steps + nxt) < 0.25 * np.abs(steps))
        falls = (steps < -0.02) & ~blip & ~np.r_[False, blip[:-1]]
    out = []
    for mask, what, action in (
        (
            blip,
            "disagree on this date only",
            "one of the two is wrong that day: check both in the source",
        ),
        (
            falls,
            "diverge the wrong way (the adjustment factor Adj Close / Close falls as time passes)",
            "adjustments look misapplied: check the source's adjusted prices",
        ),
    ):
        for sid in pd.unique(rows.ids[mask]):
            hit = np.flatnonzero(mask & (rows.ids == sid))
            i = int(hit[0])
            out.append(
                Finding(
                    "adjustment",
                    str(sid),
                    f"{close}, {adj}",
                    (_day(rows.dates[i]),),
                    f"`{close}` {_num(c[i])} and `{adj}` {_num(a[i])} {what}"
                    + (f" ({len(hit)} dates, first shown)" if len(hit) > 1 else ""),
                    action,
                    count=len(hit),
                )
            )
    return out


def _runs(
    mask: np.ndarray, values: np.ndarray, rows: _Series, min_len: int
) -> list[tuple[int, int]]:
    """(first, last) rows of runs of ``min_len`` or more rows where ``mask`` holds and
    ``values`` stay equal, within a series."""
    if not mask.any():
        return []
    starts = rows.new | ~mask | np.r_[True, values[1:] != values[:-1]]
    starts |= np.r_[True, ~mask[:-1]]
    first = np.flatnonzero(starts)
    length = np.diff(np.r_[first, rows.n])
    keep = (length >= min_len) & mask[first]
    return [(int(f), int(f + n - 1)) for f, n in zip(first[keep], length[keep], strict=True)]


def _stale(ds: Dataset, rows: _Series, stale_run: int) -> list[Finding]:
    col = ds.roles.get("close") or ds.roles.get("adj_close")
    if col is None and ds.target in _move_columns(ds):
        col = ds.target
    if col is None:
        return []
    values = ds.frame[col].to_numpy(dtype="float64")
    out = []
    for f, last in _runs(np.isfinite(values), values, rows, stale_run):
        n = last - f + 1
        near = values[max(rows.first[f], f - 250) : min(rows.last[f] + 1, last + 251)]
        steps = np.abs(np.diff(near[np.isfinite(near)]))
        tick = float(steps[steps > 0].min()) if (steps > 0).any() else 0.0
        coarse = values[f] != 0 and tick / abs(values[f]) > 0.005
        action = (
            f"prices around here move in steps of {_num(tick)} ({tick / abs(values[f]):.0%} "
            "of the price): rounding in the source rather than a stale feed"
            if coarse
            else "a feed that stopped updating looks like this: check the source, or drop "
            "those dates"
        )
        out.append(
            Finding(
                "stale",
                str(rows.ids[f]),
                col,
                (_day(rows.dates[f]), _day(rows.dates[last])),
                f"{col} is {_num(values[f])} on {n} consecutive dates",
                action,
                severity="info" if coarse else "warning",
                count=n,
            )
        )
    return out


def _volume(ds: Dataset, rows: _Series, stale_run: int) -> list[Finding]:
    col = ds.roles.get("volume")
    if col is None:
        return []
    v = ds.frame[col].to_numpy(dtype="float64")
    out = []
    negative = v < 0
    for sid in pd.unique(rows.ids[negative]):
        hit = np.flatnonzero(negative & (rows.ids == sid))
        i = int(hit[0])
        out.append(
            Finding(
                "volume",
                str(sid),
                col,
                (_day(rows.dates[i]),),
                f"{col} is negative ({_num(v[i])}"
                + (f"; {len(hit)} dates, first shown)" if len(hit) > 1 else ")"),
                "a volume cannot be negative: correct it in the source",
                count=len(hit),
            )
        )
    for f, last in _runs(v == 0, v, rows, stale_run):
        n = last - f + 1
        if n:
            out.append(
                Finding(
                    "volume",
                    str(rows.ids[f]),
                    col,
                    (_day(rows.dates[f]), _day(rows.dates[last])),
                    f"{col} is 0 on {n} consecutive dates",
                    "no trading, or a feed without volume there: check the source",
                    count=n,
                )
            )
    return out


def _ohlc(ds: Dataset, rows: _Series) -> list[Finding]:
    names = [ds.roles.get(r) for r in ("open", "high", "low", "close")]
    if any(n is None for n in names):
        return []
    o, h, lo, c = (ds.frame[n].to_numpy(dtype="float64") for n in names)
    slack = 1e-6 * np.abs(np.fmax(h, lo))  # rounding in the source is not a finding
    with np.errstate(invalid="ignore"):
        bad = (h < np.fmax(o, c) - slack) | (lo > np.fmin(o, c) + slack) | (h < lo - slack)
    out = []
    for sid in pd.unique(rows.ids[bad]):
        hit = np.flatnonzero(bad & (rows.ids == sid))
        i = int(hit[0])
        out.append(
            Finding(
                "ohlc",
                str(sid),
                ", ".join(str(n) for n in names),
                (_day(rows.dates[i]),),
                f"Open {_num(o[i])}, High {_num(h[i])}, Low {_num(lo[i])}, Close {_num(c[i])}: "
                "High is below Open/Close or Low above them"
                + (f" ({len(hit)} dates, first shown)" if len(hit) > 1 else ""),
                "columns swapped or a bad row: check the source",
                count=len(hit),
            )
        )
    return out


def _gaps(ds: Dataset, rows: _Series) -> list[Finding]:
    dates = rows.dates.astype("datetime64[D]")
    if rows.n < 3:
        return []
    prev = np.r_[dates[:1], dates[:-1]]
    spacing = (dates - prev).astype("int64")
    spacing[rows.new] = 0
    out = []
    starts = np.flatnonzero(rows.new)
    for start, end in zip(starts, np.r_[starts[1:], rows.n], strict=True):
        pos = np.arange(start + 1, end)
        sid = rows.ids[start]
        if len(pos) < 2:
            continue
        median = float(np.median(spacing[pos]))
        if median <= 1:  # daily: a week of business days missing is more than a holiday
            missing = np.busday_count(prev[pos] + 1, dates[pos])
            bad = pos[missing >= 5]
        else:
            bad = pos[spacing[pos] > 3 * median]
        if not len(bad):
            continue
        j = int(bad[np.argmax(spacing[bad])])
        out.append(
            Finding(
                "gap",
                str(sid),
                "date",
                (_day(prev[j]), _day(dates[j])),
                f"no rows for {int(spacing[j])} days"
                + (f" (the largest of {len(bad)} such gaps)" if len(bad) > 1 else ""),
                "missing data, or a market closure: fill it from the source if it is missing",
                count=len(bad),
            )
        )
    return out


def check_health(ds: Dataset, *, max_move: float = 0.5, stale_run: int = 10) -> list[Finding]:
    """Every data-health finding of ``ds``, in series then date order within each check.

    Parameters
    ----------
    ds
        The loaded dataset.
    max_move
        One-step \\|log return\\| of a price above which a move is reported.
    stale_run
        Identical consecutive prices (or zero volumes) from which a run is reported.

    Returns
    -------
    list of Finding
    """
    rows = _Series(ds.frame)
    if rows.n == 0:
        return []
    found: list[Finding] = []
    for col in _move_columns(ds):
        found += _moves(ds, rows, col, max_move)
    found += _adjustment(ds, rows)
    found += _stale(ds, rows, stale_run)
    found += _volume(ds, rows, stale_run)
    found += _ohlc(ds, rows)
    found += _gaps(ds, rows)
    return found


def adjust_splits(ds: Dataset, findings: list[Finding]) -> tuple[Dataset, list[str]]:
    """Apply the ``split`` findings to the price history; the user's data is not touched.

    For a split found in Close (or another price column) on date d with price ratio k,
    every price of that column's family (Open, High, Low, Close; Adj Close on its own)
    dated before d is multiplied by k and Volume by 1/k, as an adjusted source would.

    Returns
    -------
    (Dataset, list of str)
        The adjusted dataset and one line per split applied.
    """
    splits = [f for f in findings if f.check == "split" and f.ratio is not None]
    if not splits:
        return ds, []
    frame = ds.frame.copy()
    roles = ds.roles
    close_family = [roles[r] for r in ("open", "high", "low", "close") if r in roles]
    notes = []
    for f in splits:
        assert f.ratio is not None
        before = (frame["id"] == f.series) & (frame["date"] < pd.Timestamp(f.dates[0]))
        columns = close_family if f.column == roles.get("close") else [f.column]
        for col in columns:
            frame.loc[before, col] = frame.loc[before, col] * f.ratio
        what = f"{', '.join(columns)} before it × {_num(f.ratio)}"
        if f.column == roles.get("close") and "volume" in roles:
            frame.loc[before, roles["volume"]] = frame.loc[before, roles["volume"]] / f.ratio
            what += f", {roles['volume']} × {_num(1 / f.ratio)}"
        notes.append(
            f"--adjust-splits: series {f.series}, {_split_name(f.ratio)} on {f.dates[0]}: {what}"
        )
    return Dataset(frame, ds.name, ds.source, ds.target, ds.roles, ds.sha256), notes


class HealthOptions(Protocol):
    """The run options :func:`screen` reads (a :class:`~fincast.config.RunConfig`)."""

    strict: bool
    adjust_splits: bool
    max_move: float
    stale_run: int


def lines(findings: list[Finding], limit: int = SHOWN) -> list[str]:
    """The findings as lines to print, ``limit`` at most plus a count of the rest."""
    shown = [f.text() for f in findings]
    if len(shown) > limit:
        rest = len(shown) - limit
        more = f"… and {rest} {_MORE}"
        shown = [*shown[:limit], more]
    return shown


def screen(ds: Dataset, options: HealthOptions) -> tuple[Dataset, list[str]]:
    """Check ``ds`` before a run: adjust splits if asked, fail under strict, else warn.

    Returns
    -------
    (Dataset, list of str)
        The dataset to run on (split-adjusted with ``adjust_splits``) and the lines to
        print as warnings (splits applied first, then the warning-level findings; ``info``
        findings are left to ``fincast validate``).

    Raises
    ------
    DataError
        With ``strict``, for the first warning-level finding.
    """
    ds, notes, _ = screen_records(ds, options)
    return ds, notes


def screen_records(
    ds: Dataset, options: HealthOptions
) -> tuple[Dataset, list[str], list[dict[str, Any]]]:
    """:func:`screen`, plus the findings as records for ``metrics.json["data_health"]``.

    Returns
    -------
    (Dataset, list of str, list of dict)
        As :func:`screen`, then one :meth:`Finding.to_dict` record per split applied by
        ``adjust_splits`` (its ``action`` says what was done) and per warning-level finding
        left after it, in that order — every one, not only the first :data:`SHOWN`.

    Raises
    ------
    DataError
        With ``strict``, for the first warning-level finding.
    """
    findings = check_health(ds, max_move=options.max_move, stale_run=options.stale_run)
    notes: list[str] = []
    records: list[dict[str, Any]] = []
    if options.adjust_splits:
        applied = [f for f in findings if f.check == "split" and f.ratio is not None]
        ds, notes = adjust_splits(ds, findings)
        for f, note in zip(applied, notes, strict=True):
            records.append({**f.to_dict(), "action": f"applied: {note}"})
        if notes:
            findings = check_health(ds, max_move=options.max_move, stale_run=options.stale_run)
    warn = [f for f in findings if f.severity == "warning"]
    if options.strict and warn:
        more = f" ({len(warn)} data findings in all: `fincast validate` lists them)"
        raise DataError(f"{ds.source}: {warn[0].text()}{more if len(warn) > 1 else ''} [--strict]")
    records += [f.to_dict() for f in warn]
    return ds, notes + lines(warn), records
