"""The significance tests: the verdict's loss and the task's extra losses (QLIKE, log loss)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from fincast.metrics.significance import diebold_mariano, significance
from fincast.metrics.volatility import qlike
from fincast.tasks import get_task


def _vol_table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sigma = np.exp(rng.normal(-4.5, 0.4, n))
    realised = sigma * np.abs(rng.standard_normal(n))
    dates = pd.bdate_range("2012-01-02", periods=n)
    frames = []
    for model, pred in [
        ("naive", np.roll(realised, 1) + 1e-4),
        ("good", sigma),
        ("flat", np.full(n, sigma.mean())),
    ]:
        frames.append(
            pd.DataFrame(
                {
                    "id": "s",
                    "date": dates,
                    "fold": 0,
                    "model": model,
                    "horizon": 1,
                    "y_true": realised,
                    "y_pred": pred,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_volatility_qlike_loss_mean_matches_the_metric():
    table = _vol_table()
    loss = get_task("volatility").qlike_loss(table)
    good = table["model"] == "good"
    assert loss[good].mean() == pytest.approx(qlike(table.y_true[good], table.y_pred[good]))


def test_volatility_dm_runs_on_squared_error_with_qlike_as_an_extra():
    table = _vol_table()
    result = significance(table, "volatility", bootstrap_reps=50)
    assert result["loss"] == "squared_error"
    assert result["extra_losses"] == {"qlike": "naive"}
    y = table.loc[table.model == "good", "y_true"].to_numpy()
    f = table.loc[table.model == "good", "y_pred"].to_numpy()
    f0 = table.loc[table.model == "naive", "y_pred"].to_numpy()
    got = result["models"]["good"]["dm"]
    expected = diebold_mariano((f - y) ** 2, (f0 - y) ** 2)
    assert got["statistic"] == pytest.approx(expected["statistic"])
    assert got["p_value"] < 0.05 and result["models"]["good"]["beats_naive"] == "yes"

    # an independent QLIKE: s2/f2 - log(s2/f2) - 1 on variances
    def q(s, g):
        r = s**2 / g**2
        return r - np.log(r) - 1

    extra = result["models"]["good"]["dm_extra"]["qlike"]
    assert extra["against"] == "naive"
    assert extra["statistic"] == pytest.approx(diebold_mariano(q(y, f), q(y, f0))["statistic"])
    assert extra["p_value"] < 0.05


def test_direction_log_loss_dm_is_against_the_base_rate_forecast():
    rng = np.random.default_rng(3)
    n = 500
    p_up = rng.uniform(0.2, 0.8, n)
    y = (rng.random(n) < p_up).astype(float)
    dates = pd.bdate_range("2012-01-02", periods=n)
    rows = []
    for model, prob in [
        ("naive", np.roll(y, 1)),
        ("majority", np.full(n, y.mean())),
        ("skilled", p_up),
    ]:
        rows.append(
            pd.DataFrame(
                {
                    "id": "s",
                    "date": dates,
                    "fold": 0,
                    "model": model,
                    "horizon": 1,
                    "y_true": y,
                    "y_pred": (prob > 0.5).astype(float),
                    "prob": prob,
                }
            )
        )
    table = pd.concat(rows, ignore_index=True)
    result = significance(table, "direction", bootstrap_reps=50)
    assert result["loss"] == "zero_one"
    assert result["extra_losses"] == {"log_loss": "majority"}
    ll = result["models"]["skilled"]["dm_extra"]["log_loss"]
    # per-row log losses, independently via sklearn (mean of one-row log losses)
    per_row = np.array(
        [log_loss([yy], [[1 - pp, pp]], labels=[0.0, 1.0]) for yy, pp in zip(y, p_up, strict=True)]
    )
    base = np.array([log_loss([yy], [[1 - y.mean(), y.mean()]], labels=[0.0, 1.0]) for yy in y])
    assert ll["statistic"] == pytest.approx(diebold_mariano(per_row, base)["statistic"])
    assert ll["p_value"] < 0.05 and ll["against"] == "majority"
    assert "log_loss" not in result["models"]["majority"].get("dm_extra", {})
