"""Ridge baseline: a penalised linear model (scikit-learn) on the same features."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np

from .._threads import large_copy
from ..tasks import TaskSpec
from . import _chunked
from .base import Batch, Constraint, Interval, Model

__all__ = ["RidgeBaseline"]


class RidgeBaseline(Model):
    """Linear model with an L2 penalty on the standardised features of each fold.

    Regression tasks use :class:`sklearn.linear_model.Ridge` (one multi-output fit over the
    horizons; for ``level`` it forecasts the change from the last value). Class tasks use
    L2-penalised :class:`sklearn.linear_model.LogisticRegression` (``C = 1 / alpha``), one
    per horizon and event (multinomial over down / flat / up for ``trend3``), and return
    probabilities. The scaler is fitted on the training rows only.

    Parameters
    ----------
    task
        The task.
    alpha
        Strength of the L2 penalty (default 1.0), > 0.
    seed
        Unused (the fit is deterministic); accepted like every model's.
    """

    name = "ridge"
    description = "ridge (L2 logistic for classes) on the features: alpha 1.0"
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "alpha": Interval(0, None, closed="neither")
    }

    def __init__(self, task: TaskSpec, *, alpha: float = 1.0, seed: int = 0) -> None:
        self.task = task
        self.alpha = alpha
        self.seed = seed

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        with large_copy(len(train) * train.n_features * 8):  # one thread's float64 rows at a time
            return self._fit(train)

    def _fit(self, train: Batch) -> Self:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline

        assert train.y is not None
        # X is this fit's own float64 copy of the rows: the scaler standardises it and Ridge
        # centres it in place (copy=False, copy_X=False), the same operations on the same
        # values as on copies, so the fit holds one float64 matrix instead of three
        X = train.features("float64")
        y = np.asarray(train.y, dtype="float64")
        if not self.task.is_classification:
            target = y - train.naive if self.task.forecasts_level else y
            scaler = _fit_scaler(X)  # StandardScaler's fit, without its full-size temporaries
            ridge = Ridge(alpha=float(self.alpha), copy_X=False).fit(scaler.transform(X), target)
            self.model_: Any = make_pipeline(scaler, ridge)
            return self
        self.model_ = []
        self.scaler_ = _fit_scaler(X)
        Xs = self.scaler_.transform(X)
        n_classes = self.task.width if self.task.output == "multiclass" else 2
        for j in range(y.shape[1]):
            labels = y[:, j].astype("int64")
            present = np.unique(labels)
            if len(present) < 2:  # one class only in training: predict its frequency
                prior = np.zeros(n_classes)
                prior[present[0]] = 1.0
                self.model_.append(prior)
                continue
            clf = LogisticRegression(C=1.0 / float(self.alpha), max_iter=500)
            self.model_.append(clf.fit(Xs, labels))
        return self

    def predict(self, data: Batch) -> np.ndarray:
        X = data.features("float64")  # a new array: the scaler works in place on it
        if not isinstance(self.model_, list):  # a regression pipeline
            out = np.asarray(self.model_.predict(X), dtype="float64").reshape(len(X), -1)
            if self.task.forecasts_level:
                out = out + data.naive
            return out
        Xs = self.scaler_.transform(X)
        n_classes = self.task.width if self.task.output == "multiclass" else 2
        cols = []
        for clf in self.model_:
            prob = np.zeros((len(X), n_classes))
            if isinstance(clf, np.ndarray):
                prob[:] = clf
            else:
                prob[:, clf.classes_] = clf.predict_proba(Xs)
            cols.append(prob if self.task.output == "multiclass" else prob[:, 1:2])
        return np.concatenate(cols, axis=1)


def _fit_scaler(X: np.ndarray) -> Any:
    """``StandardScaler(copy=False).fit(X)``, the same bits, in chunks of rows.

    scikit-learn's fit makes full-size temporaries of X (``isnan(X)`` as floats, ``X -
    mean``): on a 10M-row panel about 3.2 GB beside the 1.6 GB of the fold's rows, the
    peak of the whole run. The same sums are computed here a chunk at a time
    (:mod:`fincast.models._chunked`), checked bit for bit against scikit-learn in the
    tests. The scaler is set up by fitting scikit-learn's own on two rows, then given the
    moments; matrices that are not :func:`~fincast.models._chunked.chunkable` or hold a
    NaN or an infinity take scikit-learn's own fit.
    """
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler(copy=False)
    n = len(X)
    if not _chunked.chunkable(X) or not _chunked.all_finite(X):
        return scaler.fit(X)
    try:
        from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature
    except ImportError:  # a scikit-learn that moved them: its own fit
        return scaler.fit(X)
    total = _chunked.column_sums(X)
    count = np.full(X.shape[1], n - 0.0)  # n minus the (zero) NaN count, as a float
    mean = (np.zeros(X.shape[1]) + total) / count  # the first update from mean 0, count 0
    shift = total / count
    correction = _chunked.column_sums(X, shift)
    squares = _chunked.column_sums(X, shift, square=True)
    squares -= correction**2 / count
    var = squares / count
    scaler.fit(X[:2])  # every attribute scikit-learn sets, then the moments of all rows
    scaler.mean_, scaler.var_ = mean, var
    scaler.n_samples_seen_ = type(scaler.n_samples_seen_)(count[0])
    constant = _is_constant_feature(scaler.var_, scaler.mean_, scaler.n_samples_seen_)
    scaler.scale_ = _handle_zeros_in_scale(np.sqrt(scaler.var_), copy=False, constant_mask=constant)
    return scaler
