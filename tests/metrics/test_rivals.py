"""The best classical rival: chosen per fold on validation losses, tested on test rows."""

import numpy as np
import pandas as pd
import pytest

from fincast.metrics.evaluation import evaluate
from fincast.metrics.rivals import (
    rival_choice,
    rival_label,
    rival_tests,
    validation_losses,
)
from fincast.metrics.significance import diebold_mariano


def test_each_fold_takes_its_smallest_validation_loss_so_far_ties_by_name():
    losses = {
        "ridge": {0: (1.0, 10), 1: (3.0, 10), 2: (2.0, 10)},
        "har": {0: (2.0, 10), 1: (1.0, 10), 2: (2.0, 10)},
        "ar": {0: (5.0, 10)},
    }
    # fold 1: ridge 2.0 and har 1.5 over folds 0-1; fold 2: ridge 2.0, har 5/3
    assert rival_choice(losses, [0, 1, 2, 3]) == {0: "ridge", 1: "har", 2: "har"}
    # the tails are weighted by their dates: a long tail of fold 0 outweighs fold 1's
    weighted = {"ridge": {0: (1.0, 90), 1: (3.0, 10)}, "har": {0: (2.0, 90), 1: (1.0, 10)}}
    assert rival_choice(weighted, [0, 1]) == {0: "ridge", 1: "ridge"}
    # equal losses: the first name
    assert rival_choice({"ridge": {0: (1.0, 5)}, "har": {0: (1.0, 5)}}, [0]) == {0: "har"}
    assert rival_label({0: "ridge", 1: "har", 2: "har"}) == "har (2 folds), ridge (1)"
    assert rival_label({0: "ridge", 1: "ridge"}) == "ridge"


def test_validation_losses_read_only_scored_entries():
    history = {
        "mlp": {"0": {"loss": [1.0], "val_loss": [1.0]}},
        "ridge": {
            "0": {"validation": {"loss": 0.5, "dates": 10}},
            "1": {"validation": {"error": "x"}},
        },
        "har": {"1": {"validation": {"loss": float("nan"), "dates": 3}}},
    }
    assert validation_losses(history) == {"ridge": {0: (0.5, 10)}}
    assert validation_losses(None) == {}


def _table(n=300, seed=0):
    """Two folds of a return task: ridge is good in fold 0, ar in fold 1, mlp in both."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n)
    y = rng.normal(0, 1, n)
    fold = (np.arange(n) >= n // 2).astype(int)
    good = y + rng.normal(0, 0.5, n)
    bad = y + rng.normal(0, 1.5, n)
    forecasts = {
        "naive": np.zeros(n),
        "ridge": np.where(fold == 0, good, bad),
        "ar": np.where(fold == 0, bad, good + rng.normal(0, 0.1, n)),
        "mlp": y + rng.normal(0, 0.3, n),
    }
    frames = [
        pd.DataFrame(
            {
                "id": "A",
                "date": dates,
                "model": m,
                "fold": fold,
                "horizon": 1,
                "y_true": y,
                "y_pred": f,
            }
        )
        for m, f in forecasts.items()
    ]
    return pd.concat(frames, ignore_index=True), forecasts, y, fold


def test_the_rival_is_the_chosen_model_of_each_fold():
    table, f, y, fold = _table()
    losses = {"ridge": {0: (0.2, 9), 1: (2.0, 9)}, "ar": {0: (2.0, 9), 1: (0.3, 99)}}
    out = rival_tests(table, "return", losses)
    assert out["choice"] == {"0": "ridge", "1": "ar"}
    assert out["rival"] == "ridge (1 fold), ar (1)"
    # an independent composite: ridge's rows in fold 0, ar's in fold 1
    rival = np.where(fold == 0, f["ridge"], f["ar"])
    l_rival, l_mlp, l_naive = (rival - y) ** 2, (f["mlp"] - y) ** 2, y**2
    got = out["models"]["mlp"]
    assert got["skill_gap"] == pytest.approx((l_rival.mean() - l_mlp.mean()) / l_naive.mean())
    assert got["dm"] == diebold_mariano(l_mlp, l_rival, 1)
    assert got["beats_rival"] == "yes" and got["dm"]["p_value"] < 0.001
    assert set(out["models"]) == {"mlp"}  # baselines are candidates, never challengers


def test_a_choice_from_the_test_block_would_differ():
    """Validation losses that point at the worse model give the worse rival: the choice is
    theirs, not the test block's."""
    table, _f, _y, _fold = _table()
    wrong = rival_tests(
        table, "return", {"ridge": {0: (9.0, 5), 1: (0.1, 99)}, "ar": {0: (0.1, 5), 1: (9.0, 99)}}
    )
    assert wrong["choice"] == {"0": "ar", "1": "ridge"}
    right = rival_tests(
        table, "return", {"ridge": {0: (0.1, 5), 1: (9.0, 99)}, "ar": {0: (9.0, 5), 1: (0.1, 99)}}
    )
    assert wrong["models"]["mlp"]["skill_gap"] > right["models"]["mlp"]["skill_gap"]


def test_a_network_equal_to_its_rival_does_not_beat_it():
    table, _f, _y, _fold = _table()
    copy = table[table["model"] == "ridge"].assign(model="mlp")
    table = pd.concat([table[table["model"] != "mlp"], copy], ignore_index=True)
    out = rival_tests(table, "return", {"ridge": {0: (0.1, 5), 1: (0.1, 5)}})
    got = out["models"]["mlp"]
    assert got["skill_gap"] == 0.0 and got["beats_rival"] == "no"


def test_skipped_without_a_network_or_without_candidates():
    table, *_ = _table()
    only_baselines = table[table["model"] != "mlp"]
    assert "skipped" in rival_tests(only_baselines, "return", {"ridge": {0: (1.0, 5)}})
    assert "skipped" in rival_tests(table, "return", {})


def test_the_verdict_names_the_rival_and_the_test():
    table, *_ = _table()
    metrics = evaluate(
        table,
        "return",
        bootstrap_reps=50,
        validation={"ridge": {0: (0.2, 9), 1: (2.0, 9)}, "ar": {0: (2.0, 9), 1: (0.3, 99)}},
    )
    rows = {r["model"]: r for r in metrics["verdict"]["models"]}
    assert rows["mlp"]["rival"] == "ridge (1 fold), ar (1)"
    assert rows["mlp"]["beats_rival"] == "yes"
    assert (
        rows["mlp"]["rival_dm_p_value"]
        == metrics["significance"]["rival"]["models"]["mlp"]["dm"]["p_value"]
    )
    assert "rival" not in rows["ridge"]
    sentence = metrics["verdict"]["rival"]
    assert sentence.startswith(
        "Best classical rival, chosen on the validation tails up to each fold"
    )
    assert "mlp vs ridge (1 fold), ar (1): +" in sentence and "(beats it at 5%)" in sentence
    # without validation losses nothing changes
    plain = evaluate(table, "return", bootstrap_reps=50)
    assert "rival" not in plain["significance"] and "rival" not in plain["verdict"]
