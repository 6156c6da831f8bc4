"""Latent log-variance HAR (``latent-har``) for the ``volatility`` task, fitted by QMLE in JAX.

The log variance ``lv`` of the one-step return follows a HAR recursion of its own past
values (not of observed squared returns), driven by EGARCH's news of the standardised
return ``z(t) = r(t) exp(-lv(t) / 2)``:

    lv(t+1) = c + bd lv(t) + bw mean(lv(t-4) … lv(t)) + bm mean(lv(t-21) … lv(t)) + news(z(t)),
    news(z) = a (|z| - sqrt(2 / pi)) + g z                       (news="linear")
            + sum(w2 tanh(w1 z + b1)) + b2                       (news="mlp", 8 tanh units)
            + k- max(-1 - z, 0) + k+ max(z - 1, 0)               (news="pnp")

``news="pnp"`` is Engle and Ng's (1993) partially nonparametric news impact curve with
knots at one standard deviation either side: the slopes beyond -1 and +1 are free, so a
fall beyond one standard deviation can raise volatility more than EGARCH's straight lines
allow.

The parameters maximise the Gaussian quasi-likelihood, i.e. minimise
``0.5 mean(lv(t) + r(t)^2 exp(-lv(t)))`` over the training returns after a 50-step burn-in (half of a shorter series),
with the 22 lags started at the log of the mean of the first 50 squared returns; the filter
is a :func:`jax.lax.scan`, its gradient :func:`jax.value_and_grad`, the optimiser SciPy's
L-BFGS-B from several starting points (the best likelihood is kept). JAX runs in float64
inside :func:`jax.enable_x64` (a context, so other models keep float32). ``lv`` is clipped to
``[LV_MIN, LV_MAX]``.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections import OrderedDict
from functools import lru_cache
from typing import Any, ClassVar, Self

import numpy as np

from ..errors import ConfigError, ModelError
from ..tasks import TaskSpec
from .base import Batch, Constraint, Interval, Model, Options, return_window
from .har import _consecutive

__all__ = ["LatentHAR", "filter_log_variance", "news_numpy"]

#: Lags of the latent log variance the recursion reads (the monthly mean's).
LAGS = 22
#: Returns at the start of a training series that only warm up the filter (half of a
#: series shorter than 100).
BURN_IN = 50
#: The log variance is kept in this range (per-step volatility 3e-7 … 12).
LV_MIN, LV_MAX = -30.0, 5.0
#: E|z| of a standard normal, the centre of the news' size term.
E_ABS = float(np.sqrt(2.0 / np.pi))
#: Hidden tanh units of ``news="mlp"``.
HIDDEN = 8
#: Knots of ``news="pnp"`` (standard deviations of ``z``): Engle and Ng's (1993) first
#: knots either side of 0, which EGARCH's ``|z|`` and ``z`` already bend at.
PNP_KNOTS = (-1.0, 1.0)
#: Fewer training returns than this in a series: it gets the average parameters (as
#: ``garch``'s 50).
MIN_ROWS = 50
#: Filter lengths are padded up to a multiple of this (fewer JAX compilations).
PAD = 512
#: Iterations of L-BFGS-B from each starting point.
MAXITER = 500
#: Rows simulated at a time for h > 1 (bounds the (rows, paths, 22) state).
MC_CHUNK = 512


def burn_in(n: int) -> int:
    """Returns of a training series of ``n`` that only warm the filter up: 50, at most n/2."""
    return min(BURN_IN, n // 2)


def n_news(news: str) -> int:
    """The number of news parameters: ``a, g`` (+ ``w1, b1, w2`` and ``b2``; or + the
    slopes beyond the knots, ``k-`` and ``k+``)."""
    return 2 + {"mlp": 3 * HIDDEN + 1, "pnp": len(PNP_KNOTS)}.get(news, 0)


def news_numpy(q: np.ndarray, z: np.ndarray, news: str) -> np.ndarray:
    """``news(z)`` elementwise, in numpy (``q``: the news parameters)."""
    out = q[0] * (np.abs(z) - E_ABS) + q[1] * z
    if news == "mlp":
        w1, b1 = q[2 : 2 + HIDDEN], q[2 + HIDDEN : 2 + 2 * HIDDEN]
        w2, b2 = q[2 + 2 * HIDDEN : 2 + 3 * HIDDEN], q[2 + 3 * HIDDEN]
        out = out + np.tanh(z[..., None] * w1 + b1) @ w2 + b2
    if news == "pnp":
        low, high = PNP_KNOTS
        out = out + q[2] * np.maximum(low - z, 0.0) + q[3] * np.maximum(z - high, 0.0)
    return np.asarray(out)


@lru_cache(maxsize=4)
def _programs(news: str) -> tuple[Any, Any]:
    """The jitted filter and the jitted value-and-gradient of the mean negative
    log-likelihood, for one kind of news (built once; traced under float64)."""
    import jax
    import jax.numpy as jnp

    def news_fn(q: Any, z: Any) -> Any:
        out = q[0] * (jnp.abs(z) - E_ABS) + q[1] * z
        if news == "mlp":
            w1, b1 = q[2 : 2 + HIDDEN], q[2 + HIDDEN : 2 + 2 * HIDDEN]
            w2, b2 = q[2 + 2 * HIDDEN : 2 + 3 * HIDDEN], q[2 + 3 * HIDDEN]
            out = out + jnp.sum(w2 * jnp.tanh(w1 * z + b1)) + b2
        if news == "pnp":
            low, high = PNP_KNOTS
            out = out + q[2] * jnp.maximum(low - z, 0.0) + q[3] * jnp.maximum(z - high, 0.0)
        return out

    def run(theta: Any, r: Any, lv0: Any, lo: Any, hi: Any) -> Any:
        c, bd, bw, bm, q = theta[0], theta[1], theta[2], theta[3], theta[4:]

        def step(hist: Any, rt: Any) -> tuple[Any, Any]:
            lvt = hist[-1]
            z = rt * jnp.exp(-lvt / 2.0)
            nxt = c + bd * lvt + bw * jnp.mean(hist[-5:]) + bm * jnp.mean(hist) + news_fn(q, z)
            new = jnp.concatenate([hist[1:], jnp.clip(nxt, lo, hi)[None]])
            return new, new

        return jax.lax.scan(step, jnp.full(LAGS, lv0), r)[1]  # (n, LAGS): lags after r[i]

    def nll(theta: Any, r: Any, lv0: Any, lo: Any, hi: Any, weight: Any) -> Any:
        lv_next = run(theta, r, lv0, lo, hi)[:, -1]
        lv = jnp.concatenate([jnp.full(1, lv0), lv_next[:-1]])  # lv[i]: known before r[i]
        return 0.5 * jnp.sum(weight * (lv + r**2 * jnp.exp(-lv))) / jnp.sum(weight)

    return jax.jit(run), jax.jit(jax.value_and_grad(nll))


def _padded(r: np.ndarray) -> np.ndarray:
    size = max(PAD, -(-len(r) // PAD) * PAD)
    return np.r_[r, np.zeros(size - len(r))]


def filter_log_variance(theta: np.ndarray, r: np.ndarray, lv0: float, news: str) -> np.ndarray:
    """The recursion's 22 lags after each return of ``r`` (oldest first), (len(r), 22).

    Started with every lag at ``lv0``; row i's last column is ``lv(i+1)``, the log variance
    of the return after ``r[i]``, from ``r[0] … r[i]`` only.
    """
    import jax

    run, _ = _programs(news)
    with jax.enable_x64(True):
        theta = np.asarray(theta, dtype="float64")
        out = run(theta, _padded(np.asarray(r, "float64")), lv0, LV_MIN, LV_MAX)
        return np.asarray(out, dtype="float64")[: len(r)]


def _starts(news: str, seed: int) -> list[np.ndarray]:
    """Starting points (returns scaled to mean square 1): three HAR memories × two news
    sizes; the MLP's hidden layer random (fixed by ``seed``), its output weights 0, and
    the slopes beyond the knots 0 (the news starts linear)."""
    out = []
    rng = np.random.default_rng([seed, 7])
    for bd, bw, bm in ((0.4, 0.3, 0.27), (0.3, 0.3, 0.3), (0.6, 0.2, 0.18)):
        for q0 in (0.05, 0.2):
            theta = np.r_[0.0, bd, bw, bm, q0, -q0]
            if news == "mlp":
                hidden = np.r_[rng.normal(0, 1, HIDDEN), rng.normal(0, 1, HIDDEN)]
                theta = np.r_[theta, hidden, np.zeros(HIDDEN + 1)]
            elif news == "pnp":
                theta = np.r_[theta, np.zeros(len(PNP_KNOTS))]
            out.append(theta)
    return out


def _bounds(news: str) -> list[tuple[float, float]]:
    """The box L-BFGS-B searches (returns scaled to mean square 1): c in [-2, 2], the HAR
    weights in [0, 1], ``a`` in [0, 1], ``g`` in [-1, 1]; the MLP's input weights and
    biases in [-5, 5], its output weights and bias in [-2, 2]; the slopes beyond the
    knots in [-2, 2]. Measured on a 400-return series, unbounded fits wandered to
    ``a = -0.5`` after 2,000 iterations."""
    box = [(-2.0, 2.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (-1.0, 1.0)]
    if news == "mlp":
        box += [(-5.0, 5.0)] * (2 * HIDDEN) + [(-2.0, 2.0)] * (HIDDEN + 1)
    elif news == "pnp":
        box += [(-2.0, 2.0)] * len(PNP_KNOTS)
    return box


def fit_series(
    r: np.ndarray, news: str, seed: int, maxiter: int = MAXITER, start: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """QMLE parameters of one series' returns ``r`` and their mean negative log-likelihood.

    The returns are scaled to mean square 1 for the search (``lv`` shifts by
    ``m = log mean r^2``, the clip with it); ``c`` is mapped back:
    ``c = c' + m (1 - bd - bw - bm)``. The likelihood reported is of the scaled returns.
    ``start``: one starting point (parameters as returned, ``c`` unscaled) instead of
    :func:`_starts`' six.
    """
    import jax
    from scipy.optimize import minimize

    _, value_and_grad = _programs(news)
    m = float(np.log(max(np.mean(r**2), 1e-300)))
    scaled = r * np.exp(-m / 2.0)
    lv0 = float(np.log(max(np.mean(scaled[:BURN_IN] ** 2), 1e-300)))
    rp = _padded(scaled)
    weight = np.zeros(len(rp))
    weight[burn_in(len(r)) : len(r)] = 1.0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = value_and_grad(theta, rp, lv0, LV_MIN - m, LV_MAX - m, weight)
        return float(value), np.asarray(grad, dtype="float64")

    starts = _starts(news, seed)
    if start is not None:
        x0 = np.array(start, dtype="float64")
        x0[0] -= m * (1.0 - x0[1:4].sum())
        box = np.array(_bounds(news))
        starts = [np.clip(x0, box[:, 0], box[:, 1])]
    best: tuple[np.ndarray, float] | None = None
    with jax.enable_x64(True):
        for x0 in starts:
            res = minimize(
                objective,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=_bounds(news),
                options={"maxiter": maxiter},
            )
            finite = np.isfinite(res.fun) and np.all(np.isfinite(res.x))
            if finite and (best is None or res.fun < best[1]):
                best = (np.asarray(res.x, dtype="float64"), float(res.fun))
    if best is None:
        raise ModelError("latent-har: the likelihood is not finite at any starting point")
    theta = best[0].copy()
    theta[0] += m * (1.0 - theta[1:4].sum())
    return theta, best[1]


#: Series fits kept by :func:`cached_fit` (a fit is a few numbers).
FIT_CACHE_SIZE = 4096
_FITS: OrderedDict[tuple[Any, ...], tuple[np.ndarray, float]] = OrderedDict()
_FITS_LOCK = threading.Lock()
#: One lock per fit being computed: a second thread asking for it waits for the first's.
_PENDING: dict[tuple[Any, ...], threading.Lock] = {}


def cached_fit(r: np.ndarray, news: str, seed: int) -> tuple[np.ndarray, float]:
    """:func:`fit_series`, remembered in this process for the same returns (their bytes),
    news and seed: a backtest fits the same series on the same rows several times (the
    ``latent-har`` baseline choosing the rival on a validation tail, and each network's
    ``latent-har`` input on the rows before that tail). The fit is deterministic, so a
    remembered one is the fit itself.

    ``news="pnp"`` nests the linear news (slopes beyond the knots 0): it is fitted from
    one start, the linear fit (remembered too) with those slopes at 0, so its likelihood
    is never below the linear one's and a network's ``pnp`` input shares the ``latent-har``
    baseline's linear fit."""
    r = np.ascontiguousarray(r, dtype="float64")
    key = (news, int(seed), MAXITER, len(r), hashlib.blake2b(r.tobytes()).digest())
    with _FITS_LOCK:
        hit = _FITS.get(key)
        if hit is not None:
            _FITS.move_to_end(key)
            return hit[0].copy(), hit[1]
        pending = _PENDING.setdefault(key, threading.Lock())
    with pending:  # the same fit asked for by two threads (mlp and lstm) is made once
        with _FITS_LOCK:
            hit = _FITS.get(key)
            if hit is not None:  # made by the thread this one waited for
                _FITS.move_to_end(key)
                if _PENDING.get(key) is pending:
                    del _PENDING[key]
                return hit[0].copy(), hit[1]
        try:
            start = None
            if news == "pnp":
                start = np.r_[cached_fit(r, "linear", seed)[0], np.zeros(len(PNP_KNOTS))]
            theta, nll = fit_series(r, news, seed, start=start)
        except BaseException:
            with _FITS_LOCK:
                _PENDING.pop(key, None)
            raise
        with _FITS_LOCK:  # remembered before the next thread can ask again
            _FITS[key] = (theta.copy(), nll)
            _PENDING.pop(key, None)
            while len(_FITS) > FIT_CACHE_SIZE:
                _FITS.popitem(last=False)
    return theta, nll


class LatentHAR(Model):
    """HAR recursion of the latent log variance with EGARCH news, fitted by Gaussian QMLE.

    Fitted per series on the training rows' one-step returns (feature ``ret``); a series
    with fewer than 50 training returns, or unseen in training, gets the average
    parameters. The filter runs, as :class:`~fincast.models.garch.GarchBaseline`'s does,
    through each row's look-back window (``ret``, ``ret_lag1`` …; started with every lag at
    the log of the series' training mean square) and along consecutive rows of a series,
    so the forecast at row t uses returns dated <= t; a break (another series, a missing
    date) starts a new segment from that row's window.

    The forecast is ``E[y]``, the expected realised volatility over the next h steps
    ``sqrt(mean(r(t+1)^2 … r(t+h)^2))`` (what log-HAR's smearing estimates): at h 1
    ``exp(lv(t+1) / 2) mean|z|`` over the training residuals ``z``; at h > 1 the mean over
    ``paths`` simulated paths whose standardised residuals are drawn (with replacement)
    from the training residuals, the same draws for every row (fixed by ``seed``).

    Parameters
    ----------
    task
        The task (``volatility``).
    news
        ``"linear"`` (default): EGARCH's ``a (|z| - sqrt(2/pi)) + g z``; ``"pnp"``: plus
        free slopes beyond ``z = -1`` and ``z = +1`` (Engle and Ng's partially
        nonparametric curve; 8 parameters); ``"mlp"``: plus a tanh network of ``z`` (8
        units), started at output 0 (slower: 31 parameters).
    paths
        Simulated paths for h > 1 (default 256).
    seed
        Fixes the MLP's starting weights and the bootstrap draws.
    """

    name = "latent-har"
    description = "latent log-variance HAR with EGARCH news, Gaussian QMLE per series (JAX)"
    returns_input = True  # reads the ret features as one-step returns
    saveable = True  # fincast train: get_state / set_state through fincast.json
    #: ``fincast predict`` filters through a series' last 250 rows: on builtin:sp500 the
    #: forecast from 22 rows was 1 % off the full history's, from 250 the same to 1e-8.
    context_rows = 250
    tasks = ("volatility",)
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "news": Options(("linear", "pnp", "mlp")),
        "paths": Interval(1, None, integer=True),
    }

    def __init__(
        self, task: TaskSpec, *, news: str = "linear", paths: int = 256, seed: int = 0
    ) -> None:
        self.task = task
        self.news = news
        self.paths = paths
        self.seed = seed

    # -- fitting ----------------------------------------------------------------------
    def _draws(self, z: np.ndarray, key: int) -> np.ndarray:
        """Bootstrap draws of the residuals, (paths, max horizon), fixed by seed and key."""
        rng = np.random.default_rng([int(self.seed), key])
        return np.asarray(z[rng.integers(0, len(z), (int(self.paths), max(self.task.horizons)))])

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        window = return_window(train, self.name)
        ids = np.asarray(train.ids if train.ids is not None else np.zeros(len(train)), dtype=str)
        self.series_: dict[str, dict[str, Any]] = {}
        self.nll_: dict[str, float] = {}
        residuals = []
        for sid in np.unique(ids):
            r = np.asarray(window[ids == sid, 0], dtype="float64")
            if len(r) < MIN_ROWS:
                continue
            theta, nll = cached_fit(r, self.news, int(self.seed))
            lv0 = float(np.log(max(np.mean(r[:BURN_IN] ** 2), 1e-300)))
            lv = np.r_[lv0, filter_log_variance(theta, r, lv0, self.news)[:-1, -1]]
            z = (r * np.exp(-lv / 2.0))[burn_in(len(r)) :]
            residuals.append(z)
            self.series_[sid] = {
                "theta": theta,
                "lv0": float(np.log(max(np.mean(r**2), 1e-300))),
                "abs_z": float(np.mean(np.abs(z))),
                "draws": self._draws(z, zlib.crc32(sid.encode())),
            }
            self.nll_[sid] = nll
        if not self.series_:
            raise ConfigError(
                f"latent-har: every series has fewer than {MIN_ROWS} training rows; "
                "use fewer --folds or a longer series"
            )
        fits = list(self.series_.values())
        self.average_: dict[str, Any] = {
            "theta": np.mean([f["theta"] for f in fits], axis=0),
            "lv0": float(np.log(max(np.mean(window[:, 0].astype("float64") ** 2), 1e-300))),
            "abs_z": float(np.mean([f["abs_z"] for f in fits])),
            "draws": self._draws(np.concatenate(residuals), 0),
        }
        return self

    # -- forecasting ------------------------------------------------------------------
    def _fit_of(self, sid: str) -> dict[str, Any]:
        return self.series_.get(sid, self.average_)

    def _lags(self, window: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The 22 lags ``lv(t-20) … lv(t+1)`` of every row, filtered through its past returns
        (consecutive rows form one segment started from the first row's window)."""
        n, width = window.shape
        starts = np.flatnonzero(~_consecutive(window, ids))
        ends = np.r_[starts[1:], n]
        out = np.empty((n, LAGS))
        for a, b in zip(starts, ends, strict=True):
            fit = self._fit_of(ids[a])
            seq = np.r_[window[a, ::-1], window[a + 1 : b, 0]]  # oldest first
            out[a:b] = filter_log_variance(fit["theta"], seq, fit["lv0"], self.news)[width - 1 :]
        return out

    def _simulate(self, lags: np.ndarray, fit: dict[str, Any]) -> np.ndarray:
        """``E[sqrt(mean r^2 over t+1 … t+h)]`` for h = 1 … H by simulation, (n, H)."""
        theta, draws = fit["theta"], fit["draws"]
        c, bd, bw, bm, q = theta[0], theta[1], theta[2], theta[3], theta[4:]
        H = draws.shape[1]
        news_of = news_numpy(q, draws, self.news)  # (paths, H): news of each drawn z
        out = np.empty((len(lags), H))
        for lo in range(0, len(lags), MC_CHUNK):
            hist = np.repeat(lags[lo : lo + MC_CHUNK, None, :], draws.shape[0], axis=1)
            sq = np.exp(hist[..., -1]) * draws[:, 0] ** 2  # (rows, paths)
            out[lo : lo + MC_CHUNK, 0] = np.mean(np.sqrt(sq), axis=1)
            for k in range(1, H):
                nxt = (
                    c
                    + bd * hist[..., -1]
                    + bw * hist[..., -5:].mean(axis=-1)
                    + bm * hist.mean(axis=-1)
                    + news_of[:, k - 1]
                )
                hist = np.concatenate([hist[..., 1:], np.clip(nxt, LV_MIN, LV_MAX)[..., None]], -1)
                sq = sq + np.exp(hist[..., -1]) * draws[:, k] ** 2
                out[lo : lo + MC_CHUNK, k] = np.mean(np.sqrt(sq / (k + 1)), axis=1)
        return out

    def predict(self, data: Batch) -> np.ndarray:
        window = np.asarray(return_window(data, self.name), dtype="float64")
        ids = np.asarray(data.ids if data.ids is not None else np.zeros(len(data)), dtype=str)
        lags = self._lags(window, ids)
        horizons = self.task.horizons
        out = np.empty((len(window), len(horizons)))
        for sid in np.unique(ids):
            rows = ids == sid
            fit = self._fit_of(sid)
            one = np.exp(lags[rows, -1] / 2.0) * fit["abs_z"]
            sim = self._simulate(lags[rows], fit) if max(horizons) > 1 else None
            for j, h in enumerate(horizons):
                out[rows, j] = one if h == 1 or sim is None else sim[:, h - 1]
        return out

    # -- persistence ------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The fitted state as JSON-serialisable lists (:meth:`set_state` restores it)."""

        def listed(fit: dict[str, Any]) -> dict[str, Any]:
            return {k: np.asarray(v).tolist() for k, v in fit.items()}

        return {
            "series": {sid: listed(f) for sid, f in self.series_.items()},
            "average": listed(self.average_),
        }

    def set_state(self, state: dict[str, Any]) -> Self:
        """Restore a state written by :meth:`get_state` (the same bits: float64 lists)."""

        def arrays(fit: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {k: np.asarray(v, dtype="float64") for k, v in fit.items()}
            for key in ("lv0", "abs_z"):
                out[key] = float(out[key])
            return out

        self.series_ = {sid: arrays(f) for sid, f in state["series"].items()}
        self.average_ = arrays(state["average"])
        return self
