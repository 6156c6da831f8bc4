"""A small run of the size-and-power table (``benchmarks/size.py``), in the slow tier.

Every statistic below is simulated under a null that is true by construction, at h 1 and
h 5, on one series and on a 20-series panel, through fincast's own functions. At 80
replications the standard error at 5 % is 2.4 points, so the bound of 15 % fails only on a
real size problem: before the overlap fixes these rejected 20-50 % of the time (IC t 50 %
at h 10, PT 20-26 %, MZ 34-44 % at h 20, pooled panel Kupiec 36-38 %, the MCS on 12-50
non-overlapping periods 11-24 %).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_every_statistic_holds_its_size_in_a_small_run() -> None:
    from benchmarks.size import MEANS, run

    rows = run(
        80,
        families=("dm", "ic", "pt", "mz", "intervals"),
        horizons=(1, 5),
        boot=49,
        power_reps=20,
    )
    rates = [r for r in rows if r["statistic"] not in MEANS]
    assert {r["statistic"] for r in rates} >= {
        "DM squared error (one-sided)",
        "SPA (consistent p)",
        "MCS excludes a model (5 %)",
        "IC t",
        "rank IC t",
        "Pesaran-Timmermann",
        "Mincer-Zarnowitz (volatility)",
        "interval coverage (Kupiec)",
    }
    too_often = [
        f"{r['statistic']} ({r['data']}, h {r['h']}): {r['size']:.1%}"
        for r in rates
        if r["size"] > 0.15
    ]
    assert not too_often
    # and the tests are not silent: under the alternative DM rejects nearly always
    dm = [r for r in rates if r["statistic"] == "DM squared error (one-sided)"]
    assert all(r["power"] > 0.8 for r in dm)
