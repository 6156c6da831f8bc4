"""Purging: no training row's target may reach into its fold's test block, even in ragged panels."""

import pandas as pd

from fincast.backtest.engine import prepare, training_rows
from fincast.config import RunConfig

from ..conftest import make_ohlcv


def test_ragged_panel_training_targets_never_reach_the_test_block(tmp_path):
    horizon = 5
    full = make_ohlcv(260, ids=("AAA",), seed=1)
    holey = make_ohlcv(260, ids=("BBB",), seed=2)
    dates = full["date"].sort_values().unique()
    # BBB has no rows for 12 dates around every fold boundary candidate region
    holes = set()
    for k in range(1, 6):
        start = k * 260 // 6 - 8
        holes.update(dates[start : start + 12])
    holey = holey[~holey["date"].isin(holes)]
    path = tmp_path / "panel.csv"
    pd.concat([full, holey]).to_csv(path, index=False)
    prep = prepare(
        RunConfig(data=str(path), horizon=[horizon], lookback=5, folds=5, out=str(tmp_path / "r"))
    )
    frame = prep.dataset.frame
    end_date = frame.groupby("id")["date"].shift(-horizon)
    lookup = dict(zip(zip(frame["id"], frame["date"], strict=True), end_date, strict=True))
    d = prep.design
    row_end = pd.DatetimeIndex([lookup[(i, t)] for i, t in zip(d.ids, d.dates, strict=True)])
    row_end = row_end.to_numpy(dtype="datetime64[ns]")
    naive_violations = 0
    for fold in prep.folds:
        first_test = d.calendar[fold.test_start]
        mask = training_rows(d, fold)
        assert mask.any()
        assert (row_end[mask] < first_test).all(), f"fold {fold.index} trains on the test block"
        naive_violations += int((row_end[fold.train_mask(d.date_pos)] >= first_test).sum())
    # the scenario is real: a gap of `horizon` dates alone would have leaked
    assert naive_violations > 0
