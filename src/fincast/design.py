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

__all__ = ["Design", "build_design"]


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
    feats = build_features(frame, ds.target, ds.roles, features, log=log)
    if series_ids is not None:
        onehot = {f"series={s}": (frame["id"] == s).astype("float64") for s in series_ids}
        feats = pd.concat([feats, pd.DataFrame(onehot, index=frame.index)], axis=1)
    if covariates:
        feats = pd.concat([feats, covariate_features(frame, covariates)], axis=1)
    if cs_normalize != "none":
        keep = [c for c in feats.columns if c.startswith(("cal_", "series="))]
        keep += [c.name for c in covariates if not c.by_id]
        feats = cross_sectional(feats, frame, cs_normalize, tuple(keep))
    targets = build_targets(frame, ds.target, task, ds.roles)
    X = feats.to_numpy(dtype="float64")
    y = targets["y"].to_numpy(dtype="float64")
    naive = targets["naive"].to_numpy(dtype="float64")
    position = frame.groupby("id", sort=False).cumcount().to_numpy()
    ok = np.isfinite(X).all(axis=1) & np.isfinite(naive).all(axis=1)
    ok &= position >= features.lookback
    if require_target:
        ok &= np.isfinite(y).all(axis=1)
    seq = None
    if windows:
        cols = sequence_columns(list(feats.columns))
        steps = np.arange(features.lookback - 1, -1, -1)
        index = np.flatnonzero(ok)[:, None] - steps[None, :]
        seq = feats[cols].to_numpy(dtype="float32")[index]
        seq_ok = np.isfinite(seq).all(axis=(1, 2))
        if not seq_ok.all():  # defensive: never feed a window with holes
            keep = np.flatnonzero(ok)[seq_ok]
            ok = np.zeros_like(ok)
            ok[keep] = True
            seq = seq[seq_ok]
    dates = frame["date"].to_numpy()[ok]
    calendar, date_pos = np.unique(dates, return_inverse=True)
    end_dates = frame["date"].groupby(frame["id"], sort=False).shift(-task.max_horizon)
    end_pos = np.searchsorted(calendar, end_dates.to_numpy()[ok], side="left")
    end_pos = np.where(end_dates.isna().to_numpy()[ok], len(calendar) + 1, end_pos)
    return Design(
        ids=frame["id"].to_numpy(dtype=object)[ok],
        dates=dates,
        date_pos=date_pos.astype("int64"),
        calendar=calendar,
        X=X[ok].astype("float32"),
        y=y[ok],
        naive=naive[ok],
        fwd_return=targets["fwd_return"].to_numpy(dtype="float64")[ok],
        feature_names=tuple(feats.columns),
        horizons=task.horizons,
        windows=seq,
        task=task,
        target_end_pos=end_pos.astype("int64"),
    )
