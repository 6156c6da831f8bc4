"""The live section of a score: each model's live figures beside its backtest's (skill,
DM, interval coverage and VaR hit rate, :mod:`fincast.ledger.coverage`), and the monitor
of its edge (:mod:`fincast.ledger.monitor`)."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..tasks import TaskSpec
from .coverage import interval_figures, intervals_note
from .monitor import cusum
from .store import LedgerError

__all__ = ["check_backtest", "live_html", "live_section"]


def _backtest_run(info: dict[str, Any], given: str | os.PathLike[str] | None) -> Path | None:
    """``given`` (``--backtest``), else the run ``fincast train`` recorded in ``fincast.json``."""
    if given is not None:
        return Path(given)
    recorded = info.get("backtest_run")
    return Path(str(recorded)) if recorded else None


def check_backtest(run: str | os.PathLike[str]) -> None:
    """Refuse a ``--backtest`` that is not a finished backtest run directory (LedgerError)."""
    from ..predictions import CSV, PARQUET, table_path

    path = Path(run)
    absent = [n for n in ("metrics.json",) if not (path / n).is_file()]
    if table_path(path) is None:
        absent.append(f"{PARQUET} or {CSV}")
    if absent:
        raise LedgerError(
            f"--backtest {path} is not a finished backtest run directory (missing "
            f"{', '.join(absent)}); pass the --out directory of the model's `fincast backtest`"
        )


def _loss_diff(
    predictions: pd.DataFrame, task: TaskSpec, model: str, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Dates and ``L_model - L_naive`` per date (mean over series; every h-th origin)."""
    keys = ["id", "date", "horizon"]
    rows = predictions[predictions["horizon"] == horizon]
    mine = rows[rows["model"] == model].reset_index(drop=True)
    naive = rows[rows["model"] == "naive"].reset_index(drop=True)
    loss_m, _ = task.task.row_loss(mine)
    loss_n, _ = task.task.row_loss(naive)
    a = mine[keys].assign(lm=loss_m.to_numpy())
    b = naive[keys].assign(ln=loss_n.to_numpy())
    both = a.merge(b, on=keys).dropna(subset=["lm", "ln"])
    by_date = (both["lm"] - both["ln"]).groupby(both["date"]).mean().sort_index()
    dates = by_date.index.to_numpy(dtype="datetime64[ns]")
    values = by_date.to_numpy(dtype="float64")
    keep = np.arange(len(values)) % horizon == 0  # non-overlapping h-step outcomes
    return dates[keep], values[keep]


def _verdict_row(metrics: dict[str, Any], model: str) -> dict[str, Any] | None:
    for row in (metrics.get("verdict") or {}).get("models", []):
        if row.get("model") == model:
            return dict(row)
    return None


def _backtest_reference(
    run: Path | None, recorded: bool, task: TaskSpec, model: str, horizon: int
) -> tuple[dict[str, Any] | None, np.ndarray | None, dict[str, Any], str | None]:
    """The backtest's verdict row of ``model``, its loss differences and interval
    figures, if readable, or a note saying why not."""
    if run is None:
        return None, None, {}, None
    from ..predictions import read_table, table_path

    if not (run / "metrics.json").is_file() or table_path(run) is None:
        where = "recorded in the model's fincast.json " if recorded else ""
        return (
            None,
            None,
            {},
            f"the backtest run {run} {where}no longer exists (or is incomplete): {model} is "
            "shown without its backtest; pass --backtest RUN to compare with another run",
        )
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    predictions = read_table(run)
    row = _verdict_row(metrics, model)
    if row is None or model not in set(predictions["model"]):
        return None, None, {}, f"backtest run {run} has no model {model}: no comparison"
    _, diff = _loss_diff(predictions, task, model, horizon)
    return row, diff, interval_figures(metrics, predictions, task, model, horizon), None


def live_html(live: dict[str, Any]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return html.escape("–" if v is None else str(v))

    cols = [
        "model",
        "horizon",
        "n_live",
        "live_skill",
        "live_dm_p",
        "backtest_skill",
        "backtest_dm_p",
        "monitor",
    ]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in cols) + "</tr>"
        for r in live["comparison"]
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in live["notes"])
    said = live.get("intervals")
    return (
        '<section id="live"><h2>Live against backtest</h2>'
        f"<p>{live['scored']} forecasts scored, {live['pending']} waiting for their outcome; "
        f"monitor: one-sided CUSUM, in-control ARL {live['arl0']:g} dates.</p>"
        f"<table><tr>{head}</tr>{body}</table>{_intervals_html(live['comparison'], cell)}"
        + (f"<p>{html.escape(said[:1].upper() + said[1:])}.</p>" if said else "")
        + f"<ul>{notes}</ul></section>"
    )


#: The interval table's columns: (heading, side, figure).
_INTERVAL_COLUMNS = [
    ("live coverage", "live", "coverage"),
    ("n", "live", "n"),
    ("Kupiec p", "live", "kupiec_p"),
    ("Christoffersen p", "live", "christoffersen_p"),
    ("backtest coverage", "backtest", "coverage"),
    ("backtest Kupiec p", "backtest", "kupiec_p"),
    ("VaR level", "live", "var_rate"),
    ("live VaR hit rate", "live", "var_hit_rate"),
    ("VaR Kupiec p", "live", "var_kupiec_p"),
    ("VaR Christoffersen p", "live", "var_christoffersen_p"),
    ("backtest VaR hit rate", "backtest", "var_hit_rate"),
]


def _intervals_html(comparison: list[dict[str, Any]], cell: Any) -> str:
    rows = []
    for r in comparison:
        for level, sides in (r.get("intervals") or {}).items():
            values = [(sides.get(side) or {}).get(figure) for _, side, figure in _INTERVAL_COLUMNS]
            cells = [r["model"], r["horizon"], level, *values]
            rows.append("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in cells) + "</tr>")
    if not rows:
        return ""
    head = "".join(
        f"<th>{c}</th>" for c in ["model", "horizon", "level", *(c[0] for c in _INTERVAL_COLUMNS)]
    )
    return (
        "<h3>Intervals and VaR, live against backtest</h3><p>The lower bound of a central "
        "level interval is the forecast (1 − level)/2 quantile, for returns the value at risk "
        f"of that tail.</p><table><tr>{head}</tr>{''.join(rows)}</table>"
    )


def live_section(
    predictions: pd.DataFrame,
    metrics: dict[str, Any],
    task: TaskSpec,
    forecasts: pd.DataFrame,
    labels: dict[str, str],
    models: dict[str, dict[str, Any]],
    backtest: str | os.PathLike[str] | None,
    arl0: float,
    reference: int,
) -> dict[str, Any]:
    comparison: list[dict[str, Any]] = []
    monitors: list[dict[str, Any]] = []
    notes: list[str] = []
    for mh, label in labels.items():
        info = models[mh]["info"]
        run = _backtest_run(info, backtest)
        live_row = _verdict_row(metrics, label) or {}
        for h in sorted(set(forecasts.loc[forecasts["model_hash"] == mh, "horizon"])):
            h = int(h)
            if not (predictions["model"].eq(label) & predictions["horizon"].eq(h)).any():
                continue
            bt_row, bt_diff, bt_intervals, note = _backtest_reference(
                run, backtest is None, task, str(info["model"]), h
            )
            live_intervals = interval_figures(metrics, predictions, task, label, h)
            if note and note not in notes:
                notes.append(note)
            dates, diff = _loss_diff(predictions, task, label, h)
            result = cusum(
                dates, diff, reference_diff=bt_diff, reference=reference, target_arl0=arl0
            )
            monitors.append({"model": label, "model_hash": mh, "horizon": h, **result.to_dict()})
            comparison.append(
                {
                    "model": label,
                    "horizon": h,
                    "n_live": len(diff),
                    "live_skill": live_row.get("skill_vs_naive"),
                    "live_dm_p": live_row.get("dm_p_value"),
                    "live_status": live_row.get("status"),
                    "backtest_run": None if run is None else str(run),
                    "backtest_skill": None if bt_row is None else bt_row.get("skill_vs_naive"),
                    "backtest_dm_p": None if bt_row is None else bt_row.get("dm_p_value"),
                    "backtest_status": None if bt_row is None else bt_row.get("status"),
                    "monitor": result.note,
                    "intervals": {
                        level: {"live": figures, "backtest": bt_intervals.get(level)}
                        for level, figures in live_intervals.items()
                    },
                }
            )
    scored = {r["model"] for r in comparison}
    with_intervals = {r["model"] for r in comparison if r["intervals"]}
    return {
        "arl0": arl0,
        "comparison": comparison,
        "monitor": monitors,
        "notes": notes,
        "intervals": intervals_note(sorted(scored - with_intervals), bool(with_intervals)),
    }
