"""The Pesaran-Timmermann and Mincer-Zarnowitz results that the task metrics carry."""

from __future__ import annotations

import numpy as np
import pytest

from fincast.metrics import classification_metrics, regression_metrics, volatility_metrics
from fincast.metrics.forecast_tests import mincer_zarnowitz, newey_west_lags, pesaran_timmermann


def test_direction_metrics_carry_the_pesaran_timmermann_test() -> None:
    rng = np.random.default_rng(0)
    up = (rng.random(400) < 0.5).astype(int)
    skilled = np.where(rng.random(400) < 0.7, up, 1 - up)
    m = classification_metrics(up, skilled)
    pt = pesaran_timmermann(up, skilled)
    assert m["pt_statistic"] == pt["statistic"] and m["pt_pvalue"] == pt["pvalue"]
    assert m["pt_pvalue"] < 1e-6
    constant = classification_metrics(up, np.ones(400, dtype=int))
    assert constant["pt_statistic"] is None and constant["pt_pvalue"] is None


def test_return_metrics_carry_the_sign_test_and_level_metrics_do_not() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=300)
    pred = 0.3 * y + rng.normal(size=300)
    m = regression_metrics(y, pred)
    assert m["pt_pvalue"] == pesaran_timmermann(y, pred)["pvalue"] < 0.01
    assert regression_metrics(y, np.zeros(300))["pt_statistic"] is None
    assert regression_metrics(y, pred, y_naive=np.zeros(300), relative=True)["pt_statistic"] is None


def test_volatility_metrics_carry_mincer_zarnowitz_on_variances() -> None:
    rng = np.random.default_rng(2)
    sigma = np.exp(rng.normal(-4, 0.3, 1000))
    realised = sigma * np.sqrt(rng.chisquare(20, 1000) / 20)  # unbiased variance proxy
    good = volatility_metrics(realised, sigma)
    direct = mincer_zarnowitz(realised**2, sigma**2, hac_lags=newey_west_lags(1000))
    assert good["mz_beta"] == pytest.approx(direct["beta"])
    assert good["mz_pvalue"] == pytest.approx(direct["pvalue"])
    assert good["mz_pvalue"] > 0.01
    assert volatility_metrics(realised, 1.5 * sigma)["mz_pvalue"] < 1e-6
    assert volatility_metrics([0.1, 0.2], [0.1, 0.1])["mz_pvalue"] is None
