"""Checks and the summary printed by ``fincast validate``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .dataset import Dataset
from .frequency import infer_frequency

__all__ = ["check_min_rows", "check_positive", "check_scorable", "check_two_classes", "summarize"]


def _frequency(dates: pd.Series) -> str:
    return infer_frequency(dates.to_numpy()) or "irregular"


def summarize(ds: Dataset) -> dict[str, Any]:
    """A JSON-serialisable summary: series, rows, dates, frequency, gaps, columns."""
    f = ds.frame
    sizes = f.groupby("id").size()
    longest = sizes.idxmax()
    dates = f.loc[f["id"] == longest, "date"]
    spacing = dates.diff().dropna()
    median = spacing.median() if len(spacing) else pd.Timedelta(0)
    gaps = spacing[spacing > 2 * median] if len(spacing) else spacing
    largest = None
    if len(gaps):
        j = gaps.idxmax()
        largest = {
            "from": str(f.loc[j - 1, "date"].date()),
            "to": str(f.loc[j, "date"].date()),
            "days": int(gaps.max().days),
        }
    return {
        "source": ds.source,
        "name": ds.name,
        "n_series": len(sizes),
        "ids": [str(i) for i in sizes.index[:20]],
        "n_rows": len(f),
        "start": str(f["date"].min().date()),
        "end": str(f["date"].max().date()),
        "frequency": _frequency(dates),
        "gaps": {"count": len(gaps), "largest": largest},
        "rows_per_series": {"min": int(sizes.min()), "max": int(sizes.max())},
        "target": ds.target,
        "roles": dict(ds.roles),
        "columns": [
            {"name": c, "dtype": str(f[c].dtype), "n_missing": int(f[c].isna().sum())}
            for c in ds.numeric_columns
        ],
        "sha256": ds.sha256,
    }


def check_positive(
    ds: Dataset, column: str, why: str, fix: str = "use --task level or clean the data"
) -> None:
    """Raise :class:`DataError` if ``column`` has values <= 0 (``why`` says what needs it)."""
    values = ds.frame[column].to_numpy(dtype="float64")
    bad = ~(values > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{ds.source}: column `{column}` has {int(bad.sum())} non-positive values (first "
            f"{values[i]:g} at {ds.frame['date'].iloc[i].date()}, series {ds.frame['id'].iloc[i]}); "
            f"{why}, which need positive prices: {fix}"
        )


def check_min_rows(ds: Dataset, needed: int, why: str) -> list[str]:
    """Series with fewer than ``needed`` rows (to skip); an error when no series has enough."""
    sizes = ds.frame.groupby("id").size()
    short = sizes[sizes < needed]
    if len(short) == len(sizes):
        what = (
            f"series {sizes.index[0]}" if len(sizes) == 1 else f"every one of {len(sizes)} series"
        )
        raise DataError(
            f"{ds.source}: {what} has {int(sizes.max())} rows at most but needs at least "
            f"{needed} ({why}); lower --lookback/--folds/--horizon or use more data"
        )
    return [str(i) for i in short.index]


def check_scorable(y: np.ndarray, ids: np.ndarray, source: str, column: str, task: str) -> None:
    """Raise :class:`DataError` when targets ``y`` (rows, horizons) are too large to score.

    A squared error (MSE, Diebold-Mariano, skill) of a target above about
    ``sqrt(float64 max / rows) / 2`` overflows to infinity whatever the forecast, so the
    run could only report ``null`` metrics; the message names the series and the fix.
    """
    values = np.asarray(y, dtype="float64").reshape(len(ids), -1)
    size = np.where(np.isfinite(values), np.abs(values), 0.0).max(axis=1, initial=0.0)
    limit = np.sqrt(np.finfo("float64").max / max(values.size, 1)) / 2
    bad = np.flatnonzero(size > limit)
    if len(bad) == 0:
        return
    row = bad[np.argmax(size[bad])]
    raise DataError(
        f"{source}: series {ids[row]} has a --task {task} target of {size[row]:.3g} (column "
        f"`{column}`), too large to score: its squared error overflows; correct that value "
        "in the source (or blank it and pass --fillna ffill), or use --task return"
    )


def check_two_classes(y: np.ndarray, ids: np.ndarray, source: str, column: str) -> None:
    """Raise :class:`DataError` when a class target ``y`` (rows, horizons) has one class only.

    A series that never moves (or only rises) gives a ``direction`` target with a single
    class: any model would be degenerate, so this is an error naming the series and the fix.
    """
    values = np.asarray(y, dtype="float64")
    finite = values[np.isfinite(values)]
    classes = np.unique(finite)
    if len(classes) >= 2 or len(finite) == 0:
        return
    kind = "up" if classes[0] == 1 else "down or flat"
    names = sorted({str(i) for i in np.asarray(ids)})
    shown = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
    what = f"series {names[0]}" if len(names) == 1 else f"all {len(names)} series ({shown})"
    raise DataError(
        f"{source}: every target of {what} is {kind} (column `{column}` "
        f"{'only rises' if kind == 'up' else 'never rises'}), so --task direction has one "
        "class only; use --task return or --task level, or data that moves both ways"
    )
