"""End-to-end no-look-ahead property: data after T never moves a forecast made before T.

Two datasets are identical up to a date T and differ after it: the later price paths are
redrawn, a rate goes negative (where the task allows it: ``level`` on a plain column), runs
of values go missing (filled with ``--fillna ffill``) and a new series starts after T. Every
fold whose test block ends before T (and so whose training rows do too) must then give
byte-identical predictions for every model and baseline, every task, expanding and
rolling windows, horizons 1 and 5, a single series and a ragged panel (issue 18).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fincast.backtest import run_backtest
from fincast.config import build_config
from fincast.models import MODELS
from fincast.tasks import TASKS, get_task

from .conftest import make_ohlcv

#: One-epoch, few-unit versions of every network.
TINY = {
    "seed-mlp": {"epochs": 1},
    "mlp": {"units": 4, "layers": 1, "epochs": 2},
    "lstm": {"units": 3, "epochs": 1},
    "gru": {"units": 3, "epochs": 1},
    "cnn": {"filters": 3, "layers": 1, "epochs": 1},
    "transformer": {"d_model": 4, "heads": 1, "ff_units": 4, "epochs": 1},
}
N = 150  # dates
T_POS = 132  # index of the date T
FOLDS, TEST_SIZE = 3, 12


def baselines(task: str) -> list[str]:
    return [
        n
        for n, i in MODELS.items()
        if i.kind == "baseline"
        and (
            (i.tasks is None and (i.any_task or get_task(task).generic_baselines))
            or (i.tasks is not None and task in i.tasks)
        )
    ]


def _prices(panel: bool, seed: int) -> pd.DataFrame:
    """OHLCV (with ``Adj Close``); the panel is ragged: B starts later and misses dates."""
    ids = ("AAA", "BBB") if panel else ("AAA",)
    f = make_ohlcv(N, seed=seed, ids=ids)
    f["Adj Close"] = f["Close"] * 0.9
    if panel:
        rng = np.random.default_rng(seed)
        b = np.flatnonzero(f["ticker"] == "BBB")
        holes = rng.choice(b[30:], 6, replace=False)  # missing dates, before and after T
        f = f.drop(index=[*b[:15], *holes])  # and B starts 15 dates later
    return f.reset_index(drop=True)


def _rate(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "date": pd.bdate_range("2015-01-01", periods=N),
            "ticker": "RATE",
            "rate": 1.5 + np.cumsum(rng.normal(0, 0.05, N)),
        }
    )


def perturb_after(f: pd.DataFrame, t: pd.Timestamp, seed: int, sign: bool) -> pd.DataFrame:
    """Redraw every later path, flip signs (``sign``), add NaN runs and a new series."""
    rng = np.random.default_rng(seed + 99)
    g = f.copy()
    later = (g["date"] > t).to_numpy()
    cols = [c for c in g.columns if c not in ("date", "ticker")]
    for _sid, rows in g[later].groupby("ticker").groups.items():
        shock = np.exp(np.cumsum(rng.normal(0, 0.03, len(rows))))
        for c in cols:
            if c == "rate":
                base = g.loc[rows, c].to_numpy()
                g.loc[rows, c] = (
                    base + np.cumsum(rng.normal(0, 0.2, len(rows))) - (4.0 if sign else 0.0)
                )
            else:
                g.loc[rows, c] = g.loc[rows, c].to_numpy() * shock
        run = rows[3:9]  # a run of missing values in every column (filled by ffill)
        g.loc[run, cols] = np.nan
    if sign:
        assert (g["rate"] < 0).any() and (f["rate"] > 0).all()
    new = g[g["ticker"] == g["ticker"].iloc[0]].copy()
    new = new[new["date"] > t].copy()
    new["ticker"] = "A0NEW"  # sorts first: every other series' row moves in the frame
    return pd.concat([g, new], ignore_index=True)


def _run(tmp_path, name: str, frame: pd.DataFrame, options: dict) -> pd.DataFrame:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    cfg = build_config(
        {
            "data": str(path),
            "fillna": "ffill",
            "lookback": 4,
            "folds": FOLDS,
            "test_size": TEST_SIZE,
            "out": str(tmp_path / f"run-{name}"),
            **options,
        }
    )
    return run_backtest(cfg).predictions


def check_leakage(tmp_path, data: str, options: dict, seed: int = 0) -> int:
    """Run both datasets; return the number of early folds compared (asserts equality)."""
    f = _rate(seed) if data == "rate" else _prices(data == "panel", seed)
    t = pd.Timestamp(np.sort(f["date"].unique())[T_POS])
    g = perturb_after(f, t, seed, sign=data == "rate")
    a = _run(tmp_path, "a", f, options)
    b = _run(tmp_path, "b", g, options)
    assert set(b["id"]) - set(a["id"]) == {"A0NEW"}  # the new series is modelled too
    early = [k for k, part in a.groupby("fold") if part["date"].max() <= t]
    late = [k for k in a["fold"].unique() if k not in early]
    assert len(early) >= 2 and late, "the grid must hold folds before and after T"
    models = set(a["model"])
    calendar = np.sort(f["date"].unique())
    settled = calendar[T_POS - 10]  # targets dated up to here end (5 rows later) before T
    for k in early:
        pa = a[a["fold"] == k].sort_values(["model", "id", "date", "horizon"], kind="stable")
        pb = b[b["fold"] == k].sort_values(["model", "id", "date", "horizon"], kind="stable")
        pa, pb = pa.reset_index(drop=True), pb.reset_index(drop=True)
        assert set(pa["model"]) == models
        # the forecasts: every column but the realised truth, which looks h rows ahead
        truth = ["y_true", "fwd_return"]
        pd.testing.assert_frame_equal(
            pa.drop(columns=truth), pb.drop(columns=truth), check_exact=True
        )
        known = (pa["date"] <= settled).to_numpy()
        assert known.any()
        pd.testing.assert_frame_equal(pa[known], pb[known], check_exact=True)
    # the perturbation reaches the later folds (the test is not vacuous)
    la, lb = a[a["fold"].isin(late)], b[b["fold"].isin(late)]
    assert len(la) != len(lb) or not np.array_equal(la["y_true"], lb["y_true"])
    return len(early)


#: (task, data, window, extra options): each task once; windows, data shapes and the
#: series embedding alternate so that every dimension is covered at least twice.
GRID = [
    ("return", "panel", "expanding", {"series_embedding": True}),
    ("level", "rate", "rolling", {}),  # the sign change: a rate going below zero
    ("level", "panel", "expanding", {"target": "Adj Close"}),
    ("direction", "single", "rolling", {}),
    ("trend3", "panel", "rolling", {"series_embedding": True}),
    ("events", "single", "expanding", {}),
    ("volatility", "panel", "expanding", {"vol_estimator": "parkinson"}),
    # the range estimator that also reads the previous row's close (issue 25)
    ("volatility", "single", "rolling", {"vol_estimator": "yang-zhang"}),
    ("quantile", "single", "expanding", {"quantiles": [0.05, 0.5, 0.95]}),
    ("var", "panel", "expanding", {"alpha": [0.05], "position": "short"}),
]


def _options(task: str, window: str, extra: dict, nets: dict) -> dict:
    out = {
        "task": task,
        "horizon": [1, 5],
        "window": window,
        "baselines": baselines(task),
        "models": nets,
        **extra,
    }
    if window == "rolling":
        out["train_size"] = 50
    return out


def test_grid_covers_every_task_window_and_shape():
    assert {g[0] for g in GRID} == set(TASKS)
    assert {g[1] for g in GRID} == {"single", "panel", "rate"}
    assert {g[2] for g in GRID} == {"expanding", "rolling"}


@pytest.mark.parametrize(("task", "data", "window", "extra"), GRID)
def test_forecasts_before_t_ignore_everything_after_t(tmp_path, task, data, window, extra):
    """Every baseline the task has and a tiny MLP (quick tier)."""
    check_leakage(tmp_path, data, _options(task, window, extra, {"mlp": TINY["mlp"]}))


#: The networks other than the quick tier's MLP, one per grid point (all of them, and
#: every sequence model on a ragged panel or the sign-changing rate): the full
#: network x grid product would take many minutes.
NETS = [
    "lstm",
    "seed-mlp",
    "transformer",
    "gru",
    "cnn",
    "lstm",
    "gru",
    "seed-mlp",
    "cnn",
    "transformer",
]


def test_every_network_is_in_the_slow_grid():
    assert set(NETS) | {"mlp"} == {n for n, i in MODELS.items() if i.kind == "network"}
    assert len(NETS) == len(GRID)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "data", "window", "extra", "net"), [(*g, n) for g, n in zip(GRID, NETS, strict=True)]
)
def test_every_network_forecast_before_t_ignores_everything_after_t(
    tmp_path, task, data, window, extra, net
):
    """Every other network, sequence windows included (slow tier)."""
    opts = _options(task, window, extra, {net: TINY[net]})
    opts["baselines"] = ["naive"]
    check_leakage(tmp_path, data, opts)
