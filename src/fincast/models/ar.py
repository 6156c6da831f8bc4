"""Autoregression baseline (statsmodels ``AutoReg``) on each series' one-step returns."""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np

from .._threads import quiet_warnings
from ..errors import ConfigError
from ..tasks import TaskSpec
from .base import Batch, Constraint, Interval, Model, return_window

__all__ = ["ARBaseline"]


class ARBaseline(Model):
    """AR(p) with a constant on the one-step returns, iterated h steps ahead.

    Fitted per series with :class:`statsmodels.tsa.ar_model.AutoReg` on the training
    rows' returns (feature ``ret``: log returns, or first differences for a series that is
    not strictly positive); a series unseen in training gets the average coefficients.
    For a test row the recursion starts from the row's own lagged returns (features
    ``ret``, ``ret_lag1`` …), so it uses only data dated <= t. ``return``: the sum of the
    h forecast one-step returns; ``level``: the last value moved by it; ``direction``: the
    probability that the h-step return is > 0 under normal errors.

    Parameters
    ----------
    task
        The task.
    lags
        The order p (default 5); at most the look-back.
    seed
        Unused; accepted like every model's.
    """

    name = "ar"
    description = "AR(5) per series on one-step returns (statsmodels)"
    returns_input = True  # reads the ret features as one-step returns
    tasks = ("return", "level", "direction")
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "lags": Interval(1, None, integer=True)
    }

    def __init__(self, task: TaskSpec, *, lags: int = 5, seed: int = 0) -> None:
        self.task = task
        self.lags = lags
        self.seed = seed

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        from statsmodels.tsa.ar_model import AutoReg

        window = return_window(train, "ar")
        p = int(self.lags)
        if p < 1 or p > window.shape[1]:
            raise ConfigError(
                f"ar: lags must be between 1 and the look-back ({window.shape[1]}), got "
                f"{self.lags}; set models: {{ar: {{lags: N}}}} or a longer --lookback"
            )
        ids = np.asarray(train.ids if train.ids is not None else np.zeros(len(train)), dtype=str)
        self.params_: dict[str, np.ndarray] = {}
        self.sigma2_: dict[str, float] = {}
        for sid in np.unique(ids):
            r = window[ids == sid, 0]
            if len(r) < 3 * p + 10:
                continue
            with quiet_warnings():  # one thread at a time: the filters are process-wide
                res = AutoReg(r, lags=p, trend="c").fit()
            self.params_[sid] = np.asarray(res.params, dtype="float64")
            self.sigma2_[sid] = float(res.sigma2)
        if not self.params_:
            raise ConfigError(
                f"ar: every series has fewer than {3 * p + 10} training rows; lower lags"
            )
        self.mean_params_: np.ndarray = np.asarray(
            np.mean(list(self.params_.values()), axis=0), dtype="float64"
        )
        self.mean_sigma2_ = float(np.mean(list(self.sigma2_.values())))
        self.positive_ = "level" not in (train.feature_names or ())
        return self

    def predict(self, data: Batch) -> np.ndarray:
        window = return_window(data, "ar")
        p = int(self.lags)
        ids = np.asarray(data.ids if data.ids is not None else np.zeros(len(data)), dtype=str)
        params = np.stack([self.params_.get(s, self.mean_params_) for s in ids])
        sigma2 = np.array([self.sigma2_.get(s, self.mean_sigma2_) for s in ids])
        const, phi = params[:, 0], params[:, 1:]
        state = window[:, :p].copy()  # r_t, r_{t-1}, …
        H = max(self.task.horizons)
        path = np.empty((len(data), H))
        for k in range(H):  # loop over forecast steps, vectorised over rows
            nxt = const + (phi * state).sum(axis=1)
            path[:, k] = nxt
            state = np.concatenate([nxt[:, None], state[:, :-1]], axis=1)
        cum = np.cumsum(path, axis=1)[:, [h - 1 for h in self.task.horizons]]
        if self.task.forecasts_level:
            naive = np.asarray(data.naive, dtype="float64")
            return naive * np.exp(cum) if self.positive_ else naive + cum
        if not self.task.is_classification:  # a return
            return cum
        # direction: P(sum of the next h returns > 0), psi-weights of the AR for the variance
        from scipy.stats import norm

        psi = np.zeros((len(data), H))
        psi[:, 0] = 1.0
        for j in range(1, H):
            m = min(j, p)
            psi[:, j] = (phi[:, :m] * psi[:, j - 1 :: -1][:, :m]).sum(axis=1)
        cols = []
        for i, h in enumerate(self.task.horizons):
            weights = np.cumsum(psi[:, :h], axis=1)  # error e_{t+k} enters the sum this much
            sd = np.sqrt(sigma2 * (weights**2).sum(axis=1))
            cols.append(norm.cdf(cum[:, i] / np.maximum(sd, 1e-12)))
        return np.stack(cols, axis=1)
