"""The verdict says what each test assumes (issue: tests hold their size, item 3)."""

from __future__ import annotations

from fincast.metrics.assumptions import verdict_assumptions
from fincast.metrics.evaluation import verdict_rows
from fincast.report.html import _verdict


def _metrics(h: int, fallback: bool = False) -> dict:
    dm = {"p_value": 0.2, "variance": "h1_fallback" if fallback else "uniform"}
    return {
        "task": "return",
        "models": {
            "naive": {"finance": {"ic": {"t_method": "per fold", "n_t": 0}}},
            "mlp": {
                "skill_vs_naive": 0.01,
                "pt_test": f"PT (1992) on every {h}th date (non-overlapping {h}-step periods)",
                "finance": {"ic": {"t_method": f"every {h}th date (non-overlapping)", "n_t": 40}},
            },
        },
        "significance": {
            "alpha": 0.05,
            "horizon": h,
            "n_periods": 200,
            "models": {"mlp": {"dm": dm, "beats_naive": "no"}},
            "spa": {"consistent": 0.4, "reps": 500, "block_size": 9},
        },
        "portfolio": {"models": {"mlp": {}}},
    }


def test_each_test_states_its_lags_and_rows() -> None:
    lines = verdict_assumptions(_metrics(5))
    assert lines[0].startswith("DM: one-sided, 4 lags (uniform, HLN-corrected")
    assert "200 dates" in lines[0]
    assert "SPA and MCS: stationary bootstrap, mean block 9, 500 replications" in lines
    assert "IC t: every 5th date (non-overlapping), n = 40" in lines
    assert "direction (PT): PT (1992) on every 5th date (non-overlapping 5-step periods)" in lines
    assert any(line.startswith("portfolio DM and Sharpe interval: horizon 1") for line in lines)
    assert not any("Mincer" in line or "VaR" in line for line in lines)


def test_a_dm_fallback_is_named() -> None:
    assert "h = 1 variance for mlp" in verdict_assumptions(_metrics(5, fallback=True))[0]
    assert "1 lag (" in verdict_assumptions(_metrics(2))[0]


def test_the_report_prints_them_under_the_verdict() -> None:
    metrics = _metrics(5)
    metrics["verdict"] = verdict_rows(metrics)
    html = _verdict(metrics)
    assert "<span id='assumptions'>What the tests assume: DM: one-sided, 4 lags" in html
    assert "IC t: every 5th date (non-overlapping), n = 40" in html


def test_nothing_tested_nothing_assumed() -> None:
    assert verdict_assumptions({"models": {"naive": {}}}) == []
    assert "assumptions" not in verdict_rows({"models": {"naive": {}}})


def test_a_bootstrap_test_not_computed_says_why() -> None:
    metrics = _metrics(20)
    reason = "9 non-overlapping periods (180 dates at horizon 20); the bootstrap MCS holds its size from 200"
    metrics["significance"]["not_computed"] = {"mcs": reason}
    lines = verdict_assumptions(metrics)
    assert "SPA: stationary bootstrap, mean block 9, 500 replications" in lines
    assert f"MCS: not computed, {reason}" in lines
    html = _verdict(metrics)
    assert "MCS not computed: 9 non-overlapping periods" in html
