"""HAR and log-HAR: coefficients against independent OLS, arch's HARX, panels, no look-ahead."""

import numpy as np
import pandas as pd
import pytest

from fincast.models import Batch, make_model
from fincast.models.har import har_regressors
from fincast.tasks import TaskSpec

HORIZONS = (1, 5)


def garch_returns(n: int, seed: int, zeros: int = 0) -> np.ndarray:
    """A GARCH(1,1) path of daily-sized returns (float32-exact), ``zeros`` of them 0."""
    rng = np.random.default_rng(seed)
    r, s2 = np.empty(n), 1e-4
    for t in range(n):
        r[t] = np.sqrt(s2) * rng.standard_normal()
        s2 = 2e-6 + 0.1 * r[t] ** 2 + 0.88 * s2
    r[rng.choice(n, zeros, replace=False)] = 0.0
    return r.astype("float32").astype("float64")


def har_batch(r: np.ndarray, lags: int, sid: str = "s", start: int = 21) -> Batch:
    """Rows t = start … n-1-max(h): ``lags`` returns in the window, y the h-step volatility."""
    H = max(HORIZONS)
    idx = np.arange(start, len(r) - H)
    X = np.stack([r[idx - k] for k in range(lags)], axis=1).astype("float32")
    y = np.stack([np.sqrt([np.mean(r[t + 1 : t + 1 + h] ** 2) for t in idx]) for h in HORIZONS], 1)
    names = ("ret", *(f"ret_lag{k}" for k in range(1, lags)))
    return Batch(X, y.copy(), y, np.array([sid] * len(idx)), None, names)


def independent_regressors(r: np.ndarray, start: int = 21) -> pd.DataFrame:
    """RV_d, RV_w, RV_m from pandas' rolling means over the full series."""
    r2 = pd.Series(r**2)
    out = pd.DataFrame({f"rv{k}": r2.rolling(k).mean() for k in (1, 5, 22)})
    return out.iloc[start : len(r) - max(HORIZONS)].reset_index(drop=True)


def ols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import statsmodels.api as sm

    return np.asarray(sm.OLS(y, sm.add_constant(x, has_constant="add")).fit().params)


def test_regressors_read_history_along_consecutive_rows():
    r = garch_returns(300, 0)
    full = har_regressors(har_batch(r, 22), "har")
    short = har_regressors(har_batch(r, 5), "har")  # 5 returns a row, the rest from the rows before
    expected = independent_regressors(r).to_numpy()
    np.testing.assert_allclose(full, expected, rtol=1e-12)
    np.testing.assert_allclose(short[17:], expected[17:], rtol=1e-12)
    # the first rows of a block average what they have: row 0 sees 5 returns
    np.testing.assert_allclose(short[0, 2], np.mean(r[17:22] ** 2), rtol=1e-12)


@pytest.mark.parametrize("lags", [22, 8])
def test_har_coefficients_match_an_independent_ols(lags):
    r = garch_returns(800, 1)
    task = TaskSpec("volatility", HORIZONS)
    b = har_batch(r, lags, start=40)
    model = make_model("har", task).fit(b)
    x = independent_regressors(r, start=40).to_numpy().copy()
    for i in range(22 - lags):  # the block's first rows: the returns they have, from t-lags-i+1
        t = 40 + i
        x[i, 2] = np.mean(r[t - lags - i + 1 : t + 1] ** 2)
        x[i, 1] = np.mean(r[t - 4 : t + 1] ** 2)
    for j in range(len(HORIZONS)):
        expected = ols(x, b.y[:, j] ** 2)
        np.testing.assert_allclose(model.fits_["s"]["coef"][j], expected, rtol=1e-8, atol=1e-12)
    # and the forecast is the square root of the fitted variance
    fitted = np.column_stack([np.ones(len(x)), x]) @ model.fits_["s"]["coef"].T
    np.testing.assert_allclose(
        model.predict(b), np.sqrt(np.maximum(fitted, model.fits_["s"]["floor_y"])), rtol=1e-10
    )


def test_har_matches_arch_harx():
    from arch.univariate import HARX

    r = garch_returns(1000, 2)
    task = TaskSpec("volatility", (1,))
    idx = np.arange(21, len(r) - 1)
    X = np.stack([r[idx - k] for k in range(22)], axis=1).astype("float32")
    y = np.abs(r[idx + 1])[:, None]
    names = ("ret", *(f"ret_lag{k}" for k in range(1, 22)))
    b = Batch(X, y.copy(), y, np.array(["s"] * len(idx)), None, names)
    model = make_model("har", task).fit(b)
    res = HARX(r**2, lags=[1, 5, 22], rescale=False).fit()  # const, 3 lags, sigma2
    np.testing.assert_allclose(model.fits_["s"]["coef"][0], np.asarray(res.params)[:4], rtol=1e-6)


def test_loghar_fits_logs_with_floored_zeros_and_a_smearing_correction():
    r = garch_returns(900, 3, zeros=25)  # log(0) must not appear
    task = TaskSpec("volatility", HORIZONS)
    b = har_batch(r, 22)
    model = make_model("loghar", task).fit(b)
    x = independent_regressors(r).to_numpy()
    floor_x = 0.01 * x.mean(axis=0)
    lx = np.log(np.maximum(x, floor_x))
    for j in range(len(HORIZONS)):
        y2 = b.y[:, j] ** 2
        ly = np.log(np.maximum(y2, 0.01 * y2.mean()))
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(lx)), lx]), ly, rcond=None)
        np.testing.assert_allclose(model.fits_["s"]["coef"][j], ols(lx, ly), rtol=1e-8, atol=1e-10)
        resid = ly - np.column_stack([np.ones(len(lx)), lx]) @ coef
        smear = np.mean(np.exp(resid / 2))
        assert smear > 1.0  # exp(E[log]) underestimates E[vol]
        expected = np.exp((np.column_stack([np.ones(len(lx)), lx]) @ coef) / 2) * smear
        np.testing.assert_allclose(model.predict(b)[:, j], expected, rtol=1e-8)
    pred = model.predict(b)
    assert np.isfinite(pred).all() and (pred > 0).all()
    # the smearing correction makes the mean forecast close to the mean volatility
    assert abs(pred[:, 0].mean() / b.y[:, 0].mean() - 1) < 0.05


def independent_news(r: np.ndarray, start: int = 21) -> pd.DataFrame:
    """EGARCH's news terms from pandas: z = r / sqrt(22-day mean of r^2), and |z|."""
    z = pd.Series(r) / np.sqrt(pd.Series(r**2).rolling(22).mean())
    out = pd.DataFrame({"z": z, "abs_z": z.abs()})
    return out.iloc[start : len(r) - max(HORIZONS)].reset_index(drop=True)


def test_the_news_regressors_are_the_return_over_its_monthly_volatility():
    r = garch_returns(400, 11)
    r[200:240] = 0.0  # a flat stretch: a zero monthly mean gives z = 0, not NaN
    got = har_regressors(har_batch(r, 22), "loghar", news=True)
    expected = pd.concat([independent_regressors(r), independent_news(r)], axis=1).to_numpy()
    flat = expected[:, 2] == 0
    assert flat.sum() >= 15
    expected[flat, 3:] = 0.0
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    # the plain regressors are the first three columns, unchanged
    np.testing.assert_array_equal(got[:, :3], har_regressors(har_batch(r, 22), "loghar"))
    # the monthly mean holds r(t)^2 itself, so |z| <= sqrt(22) even on a crash day
    r[300] = -0.5
    crash = har_regressors(har_batch(r, 22), "loghar", news=True)
    assert np.abs(crash[:, 3]).max() <= np.sqrt(22) + 1e-12
    assert crash[300 - 21, 3] < -4.0


def test_loghar_with_news_terms_matches_an_independent_ols():
    r = garch_returns(900, 12, zeros=10)
    task = TaskSpec("volatility", HORIZONS)
    b = har_batch(r, 22)
    model = make_model("loghar", task, {"news": True}).fit(b)
    plain = make_model("loghar", task).fit(b)
    x = independent_regressors(r).to_numpy()
    news = independent_news(r).to_numpy()  # zero returns here, never a zero monthly mean
    lx = np.column_stack([np.log(np.maximum(x, 0.01 * x.mean(axis=0))), news])
    for j in range(len(HORIZONS)):
        y2 = b.y[:, j] ** 2
        ly = np.log(np.maximum(y2, 0.01 * y2.mean()))
        coef = ols(lx, ly)
        np.testing.assert_allclose(model.fits_["s"]["coef"][j], coef, rtol=1e-8, atol=1e-10)
        fitted = np.column_stack([np.ones(len(lx)), lx]) @ coef
        smear = np.mean(np.exp((ly - fitted) / 2))
        np.testing.assert_allclose(model.predict(b)[:, j], np.exp(fitted / 2) * smear, rtol=1e-8)
    # the plain log-HAR's floors and fit are untouched by the option
    np.testing.assert_array_equal(model.fits_["s"]["floor_x"], plain.fits_["s"]["floor_x"])
    assert plain.fits_["s"]["coef"].shape == (2, 4) and model.fits_["s"]["coef"].shape == (2, 6)


def test_news_terms_carry_the_leverage_of_a_simulated_asymmetric_volatility():
    """On data where falls raise volatility (an EGARCH-type recursion), the fitted z
    coefficient is negative and the forecasts are nearer the known conditional mean of
    ``|r|`` than the plain log-HAR's, out of sample."""
    rng = np.random.default_rng(5)
    n, lv = 6000, np.log(1e-4)
    r, sd = np.empty(n), np.empty(n)
    for t in range(n):
        z = rng.standard_normal()
        sd[t] = np.exp(lv / 2)
        r[t] = sd[t] * z
        lv = -0.37 + 0.96 * lv + 0.15 * (abs(z) - 0.8) - 0.15 * z
    task = TaskSpec("volatility", HORIZONS)
    b = har_batch(r, 22)
    train, test = b.take(np.arange(3000)), b.take(np.arange(3000, len(b)))
    best = np.sqrt(2 / np.pi) * sd[21 + 3000 + 1 : 21 + len(b) + 1]  # E|r(t+1)| at row t
    news = make_model("loghar", task, {"news": True}).fit(train)
    plain = make_model("loghar", task).fit(train)
    assert news.fits_["s"]["coef"][0, 4] < 0  # z: a fall raises log variance
    excess = lambda m: np.mean((m.predict(test)[:, 0] - best) ** 2)  # noqa: E731
    assert excess(news) < 0.9 * excess(plain)  # 0.85 measured


@pytest.mark.parametrize("name", ["har", "loghar"])
def test_panels_are_fitted_per_series_or_pooled(name):
    ra, rb = garch_returns(600, 4), 3.0 * garch_returns(600, 5)  # b three times as volatile
    a, b = har_batch(ra, 22, "a"), har_batch(rb, 22, "b")
    panel = Batch(
        np.concatenate([a.X, b.X]), np.concatenate([a.naive, b.naive]),
        np.concatenate([a.y, b.y]), np.concatenate([a.ids, b.ids]), None, a.feature_names,
    )  # fmt: skip
    task = TaskSpec("volatility", HORIZONS)
    per = make_model(name, task).fit(panel)
    alone = make_model(name, task).fit(a)
    np.testing.assert_allclose(per.predict(a), alone.predict(a), rtol=1e-10)
    np.testing.assert_allclose(per.fits_["a"]["coef"], alone.fits_["a"]["coef"])
    pooled = make_model(name, task, {"pooled": True}).fit(panel)
    assert pooled.fits_ == {}
    assert not np.allclose(pooled.predict(a), per.predict(a), rtol=1e-3)
    x = har_regressors(panel, name)
    target = panel.y[:, 0] ** 2
    if name == "loghar":
        x = np.log(np.maximum(x, pooled.pooled_fit_["floor_x"]))
        target = np.log(np.maximum(target, pooled.pooled_fit_["floor_y"][0]))
    np.testing.assert_allclose(pooled.pooled_fit_["coef"][0], ols(x, target), rtol=1e-8)
    # a series unseen in training gets the pooled fit
    c = har_batch(garch_returns(100, 6), 22, "c")
    expected_c = per._forecast(per.pooled_fit_, har_regressors(c, name))
    np.testing.assert_allclose(per.predict(c), expected_c)


@pytest.mark.parametrize(
    ("name", "params"), [("har", {}), ("loghar", {}), ("loghar", {"news": True})]
)
def test_har_is_deterministic_and_never_reads_the_future(name, params):
    r = garch_returns(700, 7)
    task = TaskSpec("volatility", HORIZONS)
    b = har_batch(r, 20)
    cut = 400  # rows < cut train; predictions of rows <= T must not move when r after T does
    fit = lambda batch: make_model(name, task, params).fit(batch)  # noqa: E731
    first = fit(b.take(np.arange(cut))).predict(b.take(np.arange(cut, 600)))
    again = fit(b.take(np.arange(cut))).predict(b.take(np.arange(cut, 600)))
    np.testing.assert_array_equal(first, again)
    T = 21 + 500  # the date of row 500
    r2 = r.copy()
    r2[T + 1 :] = garch_returns(len(r) - T - 1, 8) * 5
    b2 = har_batch(r2, 20)
    train2 = b.take(np.arange(cut))  # training rows keep their (past) targets
    later = fit(train2).predict(b2.take(np.arange(cut, 600)))
    np.testing.assert_array_equal(later[: 500 - cut + 1], first[: 500 - cut + 1])
    assert not np.allclose(later[500 - cut + 1 :], first[500 - cut + 1 :])
