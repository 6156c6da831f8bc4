"""Simulated prices whose best possible forecast is known, and a simulated panel.

Returns are in log units: a price series ``P`` with ``log(P[t+1] / P[t]) = r[t+1]``, so
fincast's ``return`` target at date t is exactly ``r[t+1]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from arch.univariate import ARX, GARCH, Normal

__all__ = [
    "AR_GARCH_PARAMS",
    "LOGHAR_LEVERAGE",
    "ar_garch",
    "loghar_leverage",
    "random_walk",
    "simulated_panel",
]

#: AR(2) mean (constant, phi1, phi2) and GARCH(1,1) variance (omega, alpha, beta), with the
#: returns in percent: daily volatility about 1 %, the AR part explains about a fifth of the
#: variance.
AR_GARCH_PARAMS = (0.0, 0.5, -0.25, 0.02, 0.08, 0.9)


def _frame(returns: np.ndarray, start: str = "2000-01-03") -> pd.DataFrame:
    dates = pd.bdate_range(start, periods=len(returns) + 1)
    close = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    return pd.DataFrame({"date": dates, "close": close})


def ar_garch(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prices whose log returns follow AR(2) with GARCH(1,1) noise (``arch`` simulation).

    Returns
    -------
    prices
        ``date, close`` with ``n + 1`` rows.
    limits
        Indexed by forecast date (the return from each date to the next): ``variance``, the
        conditional variance of that return, the lowest expected squared error any forecast
        made at that date can reach; ``oracle_error``, the error the best forecast (the true
        conditional mean) actually made on it.
    """
    model = ARX(None, lags=2, volatility=GARCH(1, 0, 1), distribution=Normal(seed=seed))
    sim = model.simulate(list(AR_GARCH_PARAMS), n, burn=1000)
    returns = sim["data"].to_numpy() / 100.0
    frame = _frame(returns)
    limits = pd.DataFrame(
        {
            "variance": (sim["volatility"].to_numpy() / 100.0) ** 2,
            "oracle_error": sim["errors"].to_numpy() / 100.0,
        },
        # the return r[i] (dated i + 1) is forecast at date i
        index=frame["date"].iloc[:-1].to_numpy(),
    )
    return frame, limits


#: log-HAR of the latent log variance with a leverage threshold: (daily, weekly, monthly
#: weights, size effect of |z|, extra log variance per unit of a fall beyond -1 sd, mean
#: daily volatility). Only falls larger than one standard deviation raise volatility
#: beyond the symmetric size effect: a kink a linear model of the returns' squares or logs
#: cannot draw.
LOGHAR_LEVERAGE = (0.45, 0.35, 0.17, 0.2, 1.2, 0.01)


def loghar_leverage(n: int, seed: int = 0, burn: int = 500) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prices whose volatility follows a log-HAR with a leverage threshold; its best
    ``volatility`` forecast (horizon 1, ``close`` estimator) is known.

    ``log v[t+1] = c + bd log v[t] + bw mean_5(log v) + bm mean_22(log v)
    + a (|z[t]| - E|z|) + g max(-1 - z[t], 0)`` and ``r[t] = sqrt(v[t]) z[t]``, z standard
    normal: ``v[t]`` is a function of the shocks before t, so it is known at the forecast
    date. The volatility target of that date is ``|r[t]|``, whose conditional mean is
    ``sqrt(2 v[t] / pi)``; no forecast has a lower expected squared error, which is
    ``v[t] (1 - 2 / pi)``.

    Returns
    -------
    prices
        ``date, close`` with ``n + 1`` rows.
    limits
        Indexed by forecast date: ``variance``, the lowest expected squared error of the
        volatility forecast (``v (1 - 2/pi)``), and ``oracle_error``, the error the
        conditional mean made.
    """
    bd, bw, bm, a, g, vol = LOGHAR_LEVERAGE
    rng = np.random.default_rng(seed)
    total = n + burn
    z = rng.standard_normal(total)
    mean_abs = np.sqrt(2 / np.pi)
    tail = 0.24197072451914337 - 0.15865525393145707  # E max(-1 - z, 0) = phi(1) - P(z > 1)
    mu = np.log(vol**2)
    c = mu * (1 - bd - bw - bm) - g * tail
    lv = np.full(total + 1, mu)
    for t in range(total):
        w, m = lv[max(0, t - 4) : t + 1].mean(), lv[max(0, t - 21) : t + 1].mean()
        shock = a * (abs(z[t]) - mean_abs) + g * max(-1.0 - z[t], 0.0)
        lv[t + 1] = c + bd * lv[t] + bw * w + bm * m + shock
    v = np.exp(lv[burn:total])
    returns = np.sqrt(v) * z[burn:]
    frame = _frame(returns)
    best = np.sqrt(2 * v / np.pi)
    limits = pd.DataFrame(
        {"variance": v * (1 - 2 / np.pi), "oracle_error": np.abs(returns) - best},
        index=frame["date"].iloc[:-1].to_numpy(),
    )
    return frame, limits


def random_walk(n: int, seed: int = 0, vol: float = 0.01) -> pd.DataFrame:
    """Prices following a driftless geometric random walk: nothing to forecast."""
    rng = np.random.default_rng(seed)
    return _frame(rng.normal(0.0, vol, n))


def simulated_panel(tickers: int, n: int, seed: int = 0) -> pd.DataFrame:
    """A long-format daily OHLCV panel of ``tickers`` random-walk stocks, ``n`` dates each."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2005-01-03", periods=n)
    frames = []
    for k in range(tickers):
        ret = rng.normal(0.0002, 0.015, n)
        close = 50.0 * np.exp(np.cumsum(ret))
        open_ = close * np.exp(rng.normal(0, 0.004, n))
        high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.005, n)))
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.005, n)))
        volume = rng.integers(100_000, 1_000_000, n).astype(float)
        frames.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "ticker": f"T{k:02d}",
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": volume,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
