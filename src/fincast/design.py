"""The model-ready design: features, targets and naive forecasts as aligned arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .data.covariates import Covariate, covariate_features
from .data.dataset import Dataset
from .features import FeatureSpec, build_features, cross_sectional, sequence_columns
from .models.base import Batch
from .tasks import Labeler, TaskSpec, build_targets, fit_labeler

__all__ = ["Design", "build_design", "feature_matrix", "series_shards"]


@dataclass(frozen=True)
class Design:
    """Rows usable for modelling, in (id, date) order.

    Attributes
    ----------
    ids, dates
        Series id and forecast date of each row.
    date_pos
        Position of each row's date among ``calendar`` (all distinct dates of the design).
    X
        Features (n, f), float32.
    y, naive, fwd_return
        (n, horizons) float64; ``y`` and ``fwd_return`` are NaN for rows without a future.
    feature_names, horizons
        Column names of ``X``; the horizons of the columns of ``y``.
    windows
        Per-step features over the look-back window, (n, lookback, s), float32, for
        sequence models (``None`` unless asked for).
    task
        The task the targets were built for.
    labeler
        For ``trend3`` / ``events``: the thresholds ``y`` and ``naive`` were labelled with
        (see :meth:`for_fold`); ``None`` while they are still raw returns.
    target_end_pos
        Position among ``calendar`` of the last date each row's target looks at (the row
        ``max(horizons)`` steps later in the same series; ``len(calendar)`` or more when that
        date is past the calendar or unknown). A training row is usable for a fold only if
        this is before the fold's first test date: with ragged panels (series with missing
        dates) ``gap`` dates alone do not guarantee that.
    """

    ids: np.ndarray
    dates: np.ndarray
    date_pos: np.ndarray
    calendar: np.ndarray
    X: np.ndarray
    y: np.ndarray
    naive: np.ndarray
    fwd_return: np.ndarray
    feature_names: tuple[str, ...]
    horizons: tuple[int, ...]
    windows: np.ndarray | None = None
    task: TaskSpec | None = None
    labeler: Labeler | None = None
    target_end_pos: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def batch(self, mask: np.ndarray | None = None) -> Batch:
        """The rows selected by ``mask`` (all rows by default) as a model :class:`Batch`."""
        if mask is None:
            return Batch(self.X, self.naive, self.y, self.ids, self.windows, self.feature_names)
        rows = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)
        windows = None if self.windows is None else self.windows[rows]
        return Batch.of_rows(  # the features are gathered only when the model reads them
            self.X, rows, self.naive[rows], self.y[rows], self.ids[rows], windows,
            self.feature_names,
        )  # fmt: skip

    def chronological(self, mask: np.ndarray) -> Batch:
        """The rows selected by a boolean ``mask`` as a :class:`Batch` in date order."""
        rows = np.flatnonzero(mask)
        return self.batch(rows[np.argsort(self.date_pos[rows], kind="stable")])

    def for_fold(self, train_mask: np.ndarray | None = None) -> Design:
        """The design with ``trend3`` / ``events`` labels fitted on the training rows only.

        The thresholds (flat band, events in standard deviations) are fitted on the raw
        returns of the rows in ``train_mask`` (all rows when ``None``) and applied to every
        row, so a test row's label never depends on test-period statistics. Other tasks
        are returned unchanged.

        With ``--series-embedding``, the ``series=ID`` columns of series without a training
        row are dropped (their rows read all zeros, like an id the model never saw): a
        series that only starts after the fold would otherwise widen the inputs and move
        the fold's forecasts (issue 18).
        """
        d = self._without_unseen_series(train_mask)
        if d.task is None or not d.task.fitted_labels or d.labeler is not None:
            return d
        train = d.y if train_mask is None else d.y[train_mask]
        labeler = fit_labeler(d.task, train)
        return replace(
            d,
            y=labeler.transform(d.y),
            naive=labeler.transform(d.naive),
            labeler=labeler,
        )

    def _without_unseen_series(self, train_mask: np.ndarray | None) -> Design:
        """The design less the ``series=ID`` columns of ids absent from ``train_mask``."""
        names = self.feature_names
        if train_mask is None or not any(c.startswith("series=") for c in names):
            return self  # no series columns: nothing to look up (the ids are not sorted)
        seen = {f"series={s}" for s in pd.unique(self.ids[train_mask])}
        drop = {c for c in names if c.startswith("series=") and c not in seen}
        if not drop:
            return self
        keep = [i for i, c in enumerate(names) if c not in drop]
        windows = self.windows
        if windows is not None:
            steps = sequence_columns(names)
            windows = windows[:, :, [i for i, c in enumerate(steps) if c not in drop]]
        return replace(
            self,
            X=self.X[:, keep],
            feature_names=tuple(names[i] for i in keep),
            windows=windows,
        )


def build_design(
    ds: Dataset,
    task: TaskSpec,
    features: FeatureSpec,
    *,
    require_target: bool = True,
    windows: bool = False,
    series_ids: Sequence[str] | None = None,
    covariates: Sequence[Covariate] = (),
    cs_normalize: str = "none",
) -> Design:
    """Build features and targets for every row of ``ds`` and keep the usable rows.

    Parameters
    ----------
    ds
        The dataset.
    task, features
        What to forecast and from what.
    require_target
        Keep only rows whose future is known (backtests); ``False`` keeps the latest rows
        too (forecasting new data).
    windows
        Also build the look-back windows sequence models read.
    series_ids
        When given (``--series-embedding``), the series identity becomes an input: one
        0/1 column ``series=ID`` per id of this list (an id not in it gets all zeros).
    covariates
        Extra series joined as of each row's date (:mod:`fincast.data.covariates`): one
        feature column each, in the flat features and the sequence windows.
    cs_normalize
        ``rank`` or ``zscore``: every feature ranked or z-scored across the series of each
        date (:func:`fincast.features.cross_sectional`), except those the same for every
        series on a date (calendar features, global covariates) and the series identity.

    Every row kept has at least ``lookback`` earlier rows in its series, whatever the
    feature set, so tabular and sequence models are always scored on the same rows.
    """
    frame = ds.frame
    log = task.uses_log(ds.target, ds.roles)
    X, finite, names = feature_matrix(
        ds, features, log=log, series_ids=series_ids, covariates=covariates,
        cs_normalize=cs_normalize,
    )  # fmt: skip
    targets = build_targets(frame, ds.target, task, ds.roles)
    y = targets["y"].to_numpy(dtype="float64")
    naive = targets["naive"].to_numpy(dtype="float64")
    position = frame.groupby("id", sort=False).cumcount().to_numpy()
    ok = finite & np.isfinite(naive).all(axis=1)
    ok &= position >= features.lookback
    if require_target:
        ok &= np.isfinite(y).all(axis=1)
    seq = None
    if windows:
        cols = sequence_columns(list(names))
        steps = np.arange(features.lookback - 1, -1, -1)
        index = np.flatnonzero(ok)[:, None] - steps[None, :]
        seq = X[:, [names.index(c) for c in cols]][index]
        seq_ok = np.isfinite(seq).all(axis=(1, 2))
        if not seq_ok.all():  # defensive: never feed a window with holes
            keep = np.flatnonzero(ok)[seq_ok]
            ok = np.zeros_like(ok)
            ok[keep] = True
            seq = seq[seq_ok]
    X = _compact(X, ok)
    dates = frame["date"].to_numpy()[ok]
    calendar, date_pos = np.unique(dates, return_inverse=True)
    end_dates = frame["date"].groupby(frame["id"], sort=False).shift(-task.max_horizon)
    end_pos = np.searchsorted(calendar, end_dates.to_numpy()[ok], side="left")
    end_pos = np.where(end_dates.isna().to_numpy()[ok], len(calendar) + 1, end_pos)
    codes, uniques = pd.factorize(frame["id"])  # one str object per series, not per row
    return Design(
        ids=np.asarray(uniques, dtype=object)[codes[ok]],
        dates=dates,
        date_pos=date_pos.astype("int64"),
        calendar=calendar,
        X=X,
        y=y[ok],
        naive=naive[ok],
        fwd_return=targets["fwd_return"].to_numpy(dtype="float64")[ok],
        feature_names=names,
        horizons=task.horizons,
        windows=seq,
        task=task,
        target_end_pos=end_pos.astype("int64"),
    )


#: Rows of whole series whose features are built at a time (:func:`feature_matrix`).
SHARD_ROWS = 262_144


def series_shards(ids: pd.Series, rows: int = SHARD_ROWS) -> list[tuple[int, int]]:
    """Row ranges ``[start, stop)`` of whole series, each about ``rows`` rows or one series.

    One range for everything when a series' rows are not contiguous (the canonical frame
    sorts by id, so they are).
    """
    codes, uniques = pd.factorize(ids, use_na_sentinel=False)
    n = len(codes)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if n else np.array([0])
    if len(starts) != max(len(uniques), 1):  # a series in several runs
        return [(0, n)]
    bounds = [0]
    for start in starts[1:]:
        if start - bounds[-1] >= rows:
            bounds.append(int(start))
    return [(a, b) for a, b in zip(bounds, [*bounds[1:], n], strict=True)]


def feature_matrix(
    ds: Dataset,
    features: FeatureSpec,
    *,
    log: bool,
    series_ids: Sequence[str] | None = None,
    covariates: Sequence[Covariate] = (),
    cs_normalize: str = "none",
    shard_rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Every row's features as float32, whether each is finite in float64, and their names.

    The features are built series shard by series shard (:func:`series_shards`) and
    written into one preallocated float32 matrix, so the float64 feature tables of only one
    shard are in memory at a time. Every feature of a row is computed from its own series
    (grouped shifts and rolling windows), so the values are those of the whole frame at
    once, bit for bit (``tests/test_design_shards.py``); the covariates' as-of join, which
    looks at the whole calendar, is computed once for all rows, and a cross-sectional
    normalisation (``cs_normalize``), which compares series, builds everything in one shard.
    ``shard_rows`` defaults to :data:`SHARD_ROWS`.
    """
    frame = ds.frame
    n = len(frame)
    whole = cs_normalize != "none"
    shards = [(0, n)] if whole or n == 0 else series_shards(frame["id"], shard_rows or SHARD_ROWS)
    cov = covariate_features(frame, covariates) if covariates and not whole else None
    X: np.ndarray | None = None
    finite = np.zeros(n, dtype=bool)
    names: tuple[str, ...] = ()
    for start, stop in shards:
        part = frame if (start, stop) == (0, n) else frame.iloc[start:stop]
        feats = build_features(part, ds.target, ds.roles, features, log=log)
        if series_ids is not None:
            onehot = {f"series={s}": (part["id"] == s).astype("float64") for s in series_ids}
            feats = pd.concat([feats, pd.DataFrame(onehot, index=part.index)], axis=1)
        if covariates:
            more = covariate_features(part, covariates) if cov is None else cov.iloc[start:stop]
            feats = pd.concat([feats, more], axis=1)
        if cs_normalize != "none":
            keep = [c for c in feats.columns if c.startswith(("cal_", "series="))]
            keep += [c.name for c in covariates if not c.by_id]
            feats = cross_sectional(feats, part, cs_normalize, tuple(keep))
        values = feats.to_numpy(dtype="float64")
        if X is None:
            names = tuple(feats.columns)
            X = np.empty((n, len(names)), dtype="float32")
        finite[start:stop] = np.isfinite(values).all(axis=1)
        X[start:stop] = values  # float64 -> float32: the cast astype("float32") makes
        del feats, values
    assert X is not None  # at least one shard, (0, 0) for an empty frame
    return X, finite, names


def _compact(X: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """``X[ok]`` built in place in ``X``'s own memory, chunk by chunk (a view of its first
    rows is returned): rows only move towards the start, so nothing is read after being
    overwritten, and no second matrix of every row is allocated."""
    keep = np.flatnonzero(ok)
    chunk = 65_536
    for start in range(0, len(keep), chunk):
        rows = keep[start : start + chunk]
        X[start : start + len(rows)] = X[rows]
    return X[: len(keep)]
