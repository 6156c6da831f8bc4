"""evaluate(): everything metrics.json holds, from the predictions table alone."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pandas as pd
import pytest

from fincast.metrics import evaluate
from fincast.metrics.evaluation import verdict_rows
from fincast.metrics.finance import trading_metrics
from fincast.tasks import REGISTRY, Task
from fincast.tasks.level import LevelTask


def table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """naive, mean, a good model and a noise model on one series over three folds."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-01-01", periods=n)
    r = rng.normal(0, 0.01, n)
    preds = {
        "naive": np.zeros(n),
        "mean": np.full(n, 0.0002),
        "good": r + rng.normal(0, 0.004, n),
        "noise": rng.normal(0, 0.01, n),
    }
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "id": "A",
                    "date": dates,
                    "fold": np.arange(n) * 3 // n,
                    "model": m,
                    "horizon": 1,
                    "y_true": r,
                    "y_pred": p,
                    "fwd_return": r,
                }
            )
            for m, p in preds.items()
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def metrics() -> dict:
    return evaluate(table(), "return", bootstrap_reps=200)


def test_every_model_carries_finance_metrics(metrics: dict) -> None:
    for name in ("naive", "mean", "good", "noise"):
        fin = metrics["models"][name]["finance"]
        assert set(fin["trading"]) == {"long_flat", "long_short"}
        assert {"ic", "rank_ic", "ic_std", "icir"} <= set(fin["ic"])
    expected = trading_metrics(table(), "return", cost_bps=5.0)
    assert metrics["models"]["good"]["finance"]["trading"] == expected["good"]
    assert metrics["finance"]["buy_and_hold"] == expected["buy-and-hold"]
    assert metrics["finance"]["cost_bps"] == 5.0 and metrics["finance"]["periods_per_year"] == 252
    # undefined figures are None, not misleading numbers
    naive = metrics["models"]["naive"]
    assert naive["direction_accuracy"] is None
    assert naive["finance"]["ic"]["ic"] is None
    assert naive["finance"]["trading"]["long_flat"]["sharpe"] is None


def test_significance_and_verdict(metrics: dict) -> None:
    sig = metrics["significance"]
    assert sig["models"]["good"]["beats_naive"] == "yes"
    assert sig["spa"] is not None and sig["mcs"] is not None
    verdict = metrics["verdict"]
    rows = {r["model"]: r for r in verdict["models"]}
    assert set(rows) == {"mean", "good", "noise"}  # naive is the yardstick, not a row
    assert rows["good"]["beats_naive"] == "yes" and rows["good"]["status"] == "beats naive"
    assert rows["noise"]["beats_naive"] == "no"
    assert rows["noise"]["status"] == "does not beat naive"
    assert verdict["summary"].startswith("good beats naive at 5%")
    assert rows["good"]["ci_low"] <= rows["good"]["skill_vs_naive"] <= rows["good"]["ci_high"]


def test_metrics_are_json_and_deterministic(metrics: dict) -> None:
    text = json.dumps(metrics, allow_nan=False, sort_keys=True)
    again = evaluate(table(), "return", bootstrap_reps=200)
    assert json.dumps(again, allow_nan=False, sort_keys=True) == text


def test_costs_lower_every_net_figure() -> None:
    free = evaluate(table(), "return", cost_bps=0, bootstrap_reps=20)
    dear = evaluate(table(), "return", cost_bps=50, bootstrap_reps=20)
    for mode in ("long_flat", "long_short"):
        a = free["models"]["good"]["finance"]["trading"][mode]["annual_return"]
        b = dear["models"]["good"]["finance"]["trading"][mode]["annual_return"]
        assert b < a
    assert dear["finance"]["cost_bps"] == 50.0


def seeded_table() -> pd.DataFrame:
    base = table(n=120)
    good = base[base["model"] == "good"]
    naive = base[base["model"] == "naive"]
    # two seeds of "m": errors of +-0.001 and +-0.003 around the truth
    s0 = good.assign(model="m", seed=0, y_pred=good["y_true"] + 0.001)
    s1 = good.assign(model="m", seed=1, y_pred=good["y_true"] - 0.003)
    ens = good.assign(model="m-ensemble", y_pred=good["y_true"] - 0.001)
    return pd.concat([naive, s0, s1, ens], ignore_index=True)


def test_seeds_give_mean_and_std_and_a_separate_ensemble() -> None:
    out = evaluate(seeded_table(), "return", bootstrap_reps=20)
    m = out["models"]["m"]
    assert m["mse"] == pytest.approx((0.001**2 + 0.003**2) / 2)
    assert m["seeds"]["n"] == 2 and m["seeds"]["values"] == [0, 1]
    assert m["seeds"]["std"]["mse"] == pytest.approx(statistics.stdev([0.001**2, 0.003**2]))
    assert m["n_predictions"] == 120  # rows per seed, not summed over seeds
    assert "trading" in m["seeds"]["std"]["finance"]
    assert set(m["folds"]) == {"0", "1", "2"}
    ens = out["models"]["m-ensemble"]
    assert ens["mse"] == pytest.approx(0.001**2) and "seeds" not in ens
    rows = {r["model"]: r for r in out["verdict"]["models"]}
    assert rows["m"]["seeds"] == 2 and rows["m-ensemble"]["seeds"] == 1
    json.dumps(out, allow_nan=False)


def test_tasks_without_trading_rule_or_loss_are_skipped_not_failed(monkeypatch) -> None:
    level = table(n=60).assign(
        y_true=lambda f: 100 + f["y_true"], y_pred=lambda f: 100 + f["y_pred"]
    )

    class Untraded(LevelTask):  # no trading signal, no loss for the tests
        significance = False
        signal = Task.signal

    monkeypatch.setitem(REGISTRY, "level", Untraded())
    out = evaluate(level, "level", bootstrap_reps=20)
    assert "trading rule" in out["finance"]["skipped"]
    assert "loss" in out["significance"]["skipped"]
    assert "finance" not in out["models"]["good"]
    assert out["models"]["good"]["mse"] is not None  # the plain metrics are still there
    assert out["verdict"]["summary"].startswith("significance not tested")


def test_verdict_of_naive_alone() -> None:
    only = table(n=30)
    out = evaluate(only[only["model"] == "naive"], "return", bootstrap_reps=10)
    assert out["verdict"]["models"] == []
    assert "nothing to compare" in out["verdict"]["summary"]
    assert verdict_rows({"models": {}})["models"] == []
