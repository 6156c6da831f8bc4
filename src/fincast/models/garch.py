"""GARCH(p, q) baseline for the ``volatility`` task (the ``arch`` package)."""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np

from .._threads import quiet_warnings
from ..errors import ConfigError
from ..tasks import TaskSpec
from .base import Batch, Constraint, Interval, Model, return_window

__all__ = ["GarchBaseline"]

_SCALE = 100.0  # arch fits best on returns in percent


class GarchBaseline(Model):
    """GARCH(1, 1) (zero mean) fitted per series with :func:`arch.arch_model`.

    After the fit, ``omega`` is reset so that the unconditional variance equals the
    training returns' mean square (variance targeting), which keeps short or calm training
    folds from degenerate fits (omega near 0 and a collapsing variance).

    The parameters are fitted on the training rows' one-step returns (feature ``ret``). The
    conditional variance is filtered through the returns each row has seen: its look-back
    window (``ret``, ``ret_lag1`` …; started at the unconditional variance) and, along
    consecutive rows of a series, all the returns since, so the forecast uses only data
    dated <= t. It is then projected h steps ahead:
    ``E[s2(t+k)] = v + (a + b)^(k-1) (s2(t+1) - v)``. The forecast volatility is the square
    root of the mean of those h variances, matching the target's definition. A series
    unseen in training gets the average parameters.

    Parameters
    ----------
    task
        The task (``volatility``).
    p, q
        ARCH and GARCH orders (default 1, 1).
    seed
        Unused; accepted like every model's.
    """

    name = "garch"
    description = "GARCH(1,1) per series (arch)"
    returns_input = True  # reads the ret features as one-step returns
    tasks = ("volatility",)
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "p": Interval(1, None, integer=True),
        "q": Interval(0, None, integer=True),
    }

    def __init__(self, task: TaskSpec, *, p: int = 1, q: int = 1, seed: int = 0) -> None:
        self.task = task
        self.p = p
        self.q = q
        self.seed = seed

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        from arch import arch_model

        window = return_window(train, "garch")
        ids = np.asarray(train.ids if train.ids is not None else np.zeros(len(train)), dtype=str)
        self.params_: dict[str, np.ndarray] = {}
        for sid in np.unique(ids):
            r = window[ids == sid, 0] * _SCALE
            if len(r) < 50:
                continue
            model = arch_model(r, mean="Zero", vol="GARCH", p=int(self.p), q=int(self.q))
            with quiet_warnings():  # one thread at a time: the filters are process-wide
                res = model.fit(disp="off", show_warning=False)
            ab = np.asarray(res.params, dtype="float64")[1:]  # alpha..., beta...
            if ab.sum() >= 0.999:  # integrated: keep a finite unconditional variance
                ab = ab * 0.999 / ab.sum()
            omega = float(np.mean(r**2)) * (1.0 - ab.sum())
            self.params_[sid] = np.concatenate([[omega], ab])
        if not self.params_:
            raise ConfigError("garch: every series has fewer than 50 training rows")
        self.mean_params_: np.ndarray = np.asarray(
            np.mean(list(self.params_.values()), axis=0), dtype="float64"
        )
        self.train_var_ = float(np.mean((window[:, 0] * _SCALE) ** 2))
        return self

    def _next_variance(self, window: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Conditional variance of t + 1 for every row, filtered through its past returns.

        Consecutive rows of a series (row i's ``ret_lag1`` is row i-1's ``ret``) form one
        segment, filtered in one pass from the first row's look-back window on; a break
        (another series, a missing date) starts a new segment from that row's window.
        """
        from scipy.signal import lfilter, lfiltic

        n, L = window.shape
        p, q = int(self.p), int(self.q)
        consecutive = np.zeros(n, dtype=bool)
        if n > 1 and L > 1:
            consecutive[1:] = (ids[1:] == ids[:-1]) & (window[1:, 1] == window[:-1, 0])
        starts = np.flatnonzero(~consecutive)
        ends = np.r_[starts[1:], n]
        out = np.empty(n)
        for a, b in zip(starts, ends, strict=True):
            params = self.params_.get(ids[a], self.mean_params_)
            omega, alpha, beta = params[0], params[1 : 1 + p], params[1 + p : 1 + p + q]
            persistence = alpha.sum() + beta.sum()
            uncond = omega / (1 - persistence) if persistence < 1 else self.train_var_
            seq = np.r_[window[a, ::-1], window[a + 1 : b, 0]]  # oldest first
            r2 = np.r_[np.full(p - 1, uncond), seq**2]
            x = omega + np.convolve(r2, alpha, mode="valid")  # sum_k alpha_k r2[n-k]
            den = np.r_[1.0, -beta]
            zi = lfiltic([1.0], den, y=np.full(q, uncond)) if q else None
            s2 = lfilter([1.0], den, x, zi=zi)[0] if q else x
            out[a:b] = s2[L - 1 :]
        return out

    def predict(self, data: Batch) -> np.ndarray:
        window = return_window(data, "garch") * _SCALE
        ids = np.asarray(data.ids if data.ids is not None else np.zeros(len(data)), dtype=str)
        params = np.stack([self.params_.get(s, self.mean_params_) for s in ids])
        p, q = int(self.p), int(self.q)
        persistence = params[:, 1 : 1 + p + q].sum(axis=1)
        uncond = np.where(
            persistence < 1, params[:, 0] / np.maximum(1 - persistence, 1e-6), self.train_var_
        )
        nxt = self._next_variance(window, ids)
        H = max(self.task.horizons)
        steps = (
            uncond[:, None]
            + persistence[:, None] ** np.arange(H)[None, :] * (nxt - uncond)[:, None]
        )
        mean_var = np.cumsum(steps, axis=1) / np.arange(1, H + 1)
        cols = [np.sqrt(np.maximum(mean_var[:, h - 1], 0.0)) / _SCALE for h in self.task.horizons]
        return np.stack(cols, axis=1)
