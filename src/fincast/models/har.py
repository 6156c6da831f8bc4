"""HAR and log-HAR volatility baselines (Corsi 2009): OLS on daily, weekly, monthly means.

The regressors of a row dated t are the means of the squared one-step log returns
(feature ``ret`` and its lags) over the last 1, 5 and 22 steps,

    RV_d(t) = r(t)^2,  RV_w(t) = mean(r(t-4)^2 … r(t)^2),  RV_m(t) = mean(r(t-21)^2 … r(t)^2),

which with ``--vol-estimator close`` is the task's own per-step variance proxy. The
target of horizon h is the mean per-step variance over t+1 … t+h (the squared
``volatility`` target). A row's look-back window holds ``lookback`` returns (20 by
default); the older ones are read along consecutive rows of the same series (row i-1's
``ret`` is row i's ``ret_lag1``), as :class:`~fincast.models.garch.GarchBaseline` filters
its variance. The first ``22 - lookback`` rows of a block (the start of a training fold or
of a test block) average the returns they have.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np

from ..errors import ConfigError
from ..tasks import TaskSpec
from .base import Batch, Constraint, Model, Options, return_window

__all__ = ["HARBaseline", "LogHARBaseline", "har_regressors"]

#: The HAR components in steps: daily, weekly, monthly.
HAR_LAGS = (1, 5, 22)
#: Zero handling: a quantity is raised to this share of its training mean before a log
#: (log-HAR) and a variance forecast is floored at it (HAR).
ZERO_FLOOR = 0.01
#: Fewer training rows than this in a series: it uses the pooled fit.
MIN_ROWS = 30


def _consecutive(window: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """True where row i continues row i-1: same series and its window shifted by one."""
    n, width = window.shape
    out = np.zeros(n, dtype=bool)
    if n > 1 and width > 1:
        same = np.all(window[1:, 1:] == window[:-1, :-1], axis=1)
        out[1:] = (ids[1:] == ids[:-1]) & same
    return out


def squared_history(window: np.ndarray, ids: np.ndarray, depth: int) -> np.ndarray:
    """Squared returns r(t-k)^2, k = 0 … depth-1, of every row; NaN where unknown.

    ``window`` is (n, L), column k the return at t-k. Beyond the window, row i reads the
    returns of the consecutive rows before it in the same series (no row after it).
    """
    n, width = window.shape
    out = np.full((n, depth), np.nan)
    starts = np.flatnonzero(~_consecutive(window, ids))
    ends = np.r_[starts[1:], n]
    for a, b in zip(starts, ends, strict=True):
        seq = np.r_[window[a, ::-1], window[a + 1 : b, 0]] ** 2  # oldest first
        padded = np.r_[np.full(depth, np.nan), seq]
        # row a + j ends at padded position depth + width - 1 + j
        last = depth + width - 1 + np.arange(b - a)
        out[a:b] = padded[last[:, None] - np.arange(depth)[None, :]]
    return out


def har_regressors(data: Batch, owner: str, news: bool = False) -> np.ndarray:
    """The (n, 3) daily, weekly and monthly means of squared returns of every row.

    ``news``: two more columns, the row's return standardised by the monthly component,
    ``z(t) = r(t) / sqrt(RV_m(t))`` (0 where ``RV_m`` is 0), and ``|z(t)|``: the news terms
    of Nelson's (1991) EGARCH, a fall raising volatility more than a rise of the same
    size. ``RV_m`` includes ``r(t)^2``, so ``|z| <= sqrt(22)`` whatever the return.
    """
    window = np.asarray(return_window(data, owner), dtype="float64")
    ids = np.asarray(data.ids if data.ids is not None else np.zeros(len(data)), dtype=str)
    hist = squared_history(window, ids, max(HAR_LAGS))
    means = np.stack([np.nanmean(hist[:, :lag], axis=1) for lag in HAR_LAGS], axis=1)
    if not news:
        return means
    monthly = means[:, -1]
    scale = np.sqrt(np.where(monthly > 0, monthly, 1.0))
    z = np.where(monthly > 0, window[:, 0] / scale, 0.0)
    return np.column_stack([means, z, np.abs(z)])


class HARBaseline(Model):
    """HAR-RV: OLS of the h-step mean variance on the 1, 5 and 22-step mean squared returns.

    ``s2(t, h) = b0 + bd RV_d(t) + bw RV_w(t) + bm RV_m(t) + e``, one OLS
    (:func:`numpy.linalg.lstsq`) per horizon, refitted in every fold on its training rows.
    The forecast volatility is ``sqrt(max(s2_hat, 0.01 * mean training s2))``.

    Parameters
    ----------
    task
        The task (``volatility``).
    pooled
        False (default): one fit per series of a panel (a series with fewer than 30
        training rows, or unseen in training, uses the pooled fit); True: one fit over all
        series' rows.
    news
        False (default): the field's standard model. True: two more regressors, EGARCH's
        news terms ``z = r(t) / sqrt(RV_m(t))`` and ``|z|`` (:func:`har_regressors`), taken
        as they are (not logged): in the variance for ``har``, in log variance for
        ``loghar``, as the networks' log-HAR input uses them.
    seed
        Unused (OLS is deterministic); accepted like every model's.
    """

    name = "har"
    description = "HAR-RV: OLS on 1/5/22-step mean squared returns, per series"
    returns_input = True  # reads the ret features as one-step returns
    tasks = ("volatility",)
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "pooled": Options((False, True)),
        "news": Options((False, True)),
    }
    #: log-HAR: fit on logs, smearing correction back to volatility.
    log: ClassVar[bool] = False

    def __init__(
        self, task: TaskSpec, *, pooled: bool = False, news: bool = False, seed: int = 0
    ) -> None:
        self.task = task
        self.pooled = pooled
        self.news = news
        self.seed = seed

    def _fit_one(self, x: np.ndarray, y2: np.ndarray) -> dict[str, np.ndarray]:
        """One OLS per horizon on regressors ``x`` (m, 3), or (m, 5) with the news terms, and
        target variances ``y2`` (m, H); only the three means are logged and floored."""
        floor_x = ZERO_FLOOR * np.mean(x[:, : len(HAR_LAGS)], axis=0)
        floor_y = ZERO_FLOOR * np.nanmean(y2, axis=0)
        coef = np.empty((y2.shape[1], x.shape[1] + 1))
        smear = np.ones(y2.shape[1])
        for j in range(y2.shape[1]):
            ok = np.isfinite(y2[:, j])
            design = self._design(x[ok], floor_x)
            target = y2[ok, j]
            if self.log:
                target = np.log(np.maximum(target, floor_y[j]))
            coef[j] = np.linalg.lstsq(design, target, rcond=None)[0]
            if self.log:  # Duan's smearing on the log-volatility residuals
                smear[j] = np.mean(np.exp((target - design @ coef[j]) / 2.0))
        return {"coef": coef, "floor_x": floor_x, "floor_y": floor_y, "smear": smear}

    def _design(self, x: np.ndarray, floor_x: np.ndarray) -> np.ndarray:
        means, news = x[:, : len(HAR_LAGS)], x[:, len(HAR_LAGS) :]
        if self.log:
            means = np.log(np.maximum(means, floor_x))
        return np.column_stack([np.ones(len(x)), means, news])

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        assert train.y is not None
        x = har_regressors(train, self.name, self.news)
        y2 = np.square(np.asarray(train.y, dtype="float64"))
        ids = np.asarray(train.ids if train.ids is not None else np.zeros(len(train)), dtype=str)
        if len(x) < x.shape[1] + 1:
            raise ConfigError(
                f"{self.name}: the training fold has {len(x)} rows, fewer than the "
                f"{x.shape[1] + 1} coefficients; use fewer --folds or a longer series"
            )
        self.pooled_fit_ = self._fit_one(x, y2)
        self.fits_: dict[str, dict[str, np.ndarray]] = {}
        if not self.pooled:
            for sid in np.unique(ids):
                rows = ids == sid
                if rows.sum() >= MIN_ROWS:
                    self.fits_[sid] = self._fit_one(x[rows], y2[rows])
        return self

    def _forecast(self, fit: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        design = self._design(x, fit["floor_x"])
        raw = design @ fit["coef"].T  # (n, H)
        if self.log:
            return np.exp(raw / 2.0) * fit["smear"]
        return np.sqrt(np.maximum(raw, fit["floor_y"]))

    def predict(self, data: Batch) -> np.ndarray:
        return self.predict_regressors(har_regressors(data, self.name, self.news), data)

    def predict_regressors(self, x: np.ndarray, data: Batch) -> np.ndarray:
        """The forecasts of ``data``'s rows from their regressors ``x``
        (:func:`har_regressors` of ``data`` with this model's ``news``)."""
        ids = np.asarray(data.ids if data.ids is not None else np.zeros(len(data)), dtype=str)
        out = np.empty((len(x), len(self.task.horizons)))
        for sid in np.unique(ids):
            rows = ids == sid
            out[rows] = self._forecast(self.fits_.get(sid, self.pooled_fit_), x[rows])
        return out


class LogHARBaseline(HARBaseline):
    """log-HAR: OLS of the log h-step mean variance on the logs of RV_d, RV_w, RV_m.

    ``log s2(t, h) = b0 + bd log RV_d(t) + bw log RV_w(t) + bm log RV_m(t) + e``, one OLS
    per horizon (per series by default). The forecast volatility is
    ``exp(fit / 2) * mean(exp(e / 2))``: Duan's (1983) smearing estimate of
    ``E[sqrt(s2)]`` from the training residuals of the log volatility. Zeros (a zero
    return, a flat h-step window) are raised to 1 % of their training mean before the log.

    Parameters
    ----------
    task
        The task (``volatility``).
    pooled
        False (default): one fit per series; True: one fit over all series' rows.
    news
        True: EGARCH's news terms ``z`` and ``|z|`` as two more regressors, in log
        variance (see :class:`HARBaseline`); the networks' log-HAR input.
    seed
        Unused; accepted like every model's.
    """

    name = "loghar"
    description = "log-HAR: OLS of log variance on logs of 1/5/22-step means, smearing"
    log = True
