"""Score a ledger's forecasts against the outcomes in new data (``fincast score``).

The realised targets come from the task's own target code
(:func:`~fincast.tasks.build_targets`) on the data given, so a live forecast is scored
exactly as the same forecast in a backtest would be. The result is a run directory like a
backtest's (``predictions.parquet`` and ``predictions.csv``, ``config.yaml``,
``metrics.json``, ``plots/``, ``report.html``) for the live period, plus ``live.json``:
forecasts still waiting for
their outcome, each model's live figures beside its backtest's, the sequential monitor
of its edge over naive (:mod:`fincast.ledger.monitor`), and the forecasts whose history
was revised in the data since they were made (``revised_inputs``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..tasks import TaskSpec, build_targets
from .live import check_backtest, live_html, live_section
from .monitor import DEFAULT_ARL0, DEFAULT_REFERENCE
from .record import hashed_columns, named_by_file, rows_hashes
from .store import (
    LedgerError,
    append_observations,
    ledger_task,
    read_forecasts,
    read_models,
    read_observations,
)

__all__ = ["LiveScore", "input_hashes", "score_ledger"]

#: The file that marks a directory as a ``fincast score`` output (it may be replaced).
MARKER = "live.json"


@dataclass
class LiveScore:
    """What :func:`score_ledger` produced."""

    run_dir: Path
    predictions: pd.DataFrame
    metrics: dict[str, Any]
    live: dict[str, Any]

    @property
    def alarms(self) -> list[dict[str, Any]]:
        """The monitors that raised an alarm (model, horizon, date)."""
        return [m for m in self.live["monitor"] if m["alarm"]]

    @property
    def revised_inputs(self) -> dict[str, Any] | None:
        """The forecasts whose history (rows up to the origin) differs in the data scored:
        ``forecasts`` (count), ``origins`` (distinct series and origin) and the ``first``
        few; None when every recorded ``rows_hash`` matched."""
        return self.live.get("revised_inputs")


def _load(data: Any, info: dict[str, Any], reader: dict[str, Any]) -> Any:
    from ..persist import load_as_trained

    ds = load_as_trained(data, info, **reader)  # as predict read it
    missing = [c for c in info["columns"] if c not in ds.frame.columns]
    if missing:
        raise LedgerError(
            f"{ds.source}: column(s) {', '.join(missing)} the ledger's model read are missing; "
            "pass the same data the forecasts were made from, extended with the new dates"
        )
    return ds


def _live_frame(ds: Any, forecasts: pd.DataFrame) -> pd.DataFrame:
    """The data's frame with the ledger's series ids (a file-named single series renamed)."""
    frame = ds.frame.reset_index(drop=True)
    recorded = sorted(set(forecasts["series"].astype(str)))
    if named_by_file(frame, ds.name) and len(recorded) == 1 and recorded[0] != str(ds.name):
        frame["id"] = recorded[0]  # one series, named after its file: the ledger's series
    return frame


def _input_hashes(
    forecasts: pd.DataFrame, frame: pd.DataFrame, models: dict[str, dict[str, Any]]
) -> list[str | None]:
    """Each forecast's ``rows_hash`` recomputed on ``frame`` as predict computed it.

    ``None`` where the data cannot say: the series or its origin row is not in ``frame``,
    or the frame lacks a column the forecast's model read.
    """
    keys = [
        (tuple(hashed_columns(models[str(mh)]["info"])), str(sid), str(origin))
        for mh, sid, origin in forecasts[["model_hash", "series", "origin"]].itertuples(index=False)
    ]
    parts = {str(sid): part for sid, part in frame.groupby("id", sort=False)}
    wanted: dict[tuple[tuple[str, ...], str], list[str]] = {}
    for columns, sid, origin in dict.fromkeys(keys):
        part = parts.get(sid)
        if (
            part is not None
            and all(c in part.columns for c in columns)
            and bool((part["date"] == pd.Timestamp(origin)).any())
        ):
            wanted.setdefault((columns, sid), []).append(origin)
    done: dict[tuple[tuple[str, ...], str, str], str] = {}
    for (columns, sid), origins in wanted.items():
        stamps = [pd.Timestamp(o) for o in origins]
        hashes = rows_hashes(parts[sid], sid, stamps, list(columns))
        done.update({(columns, sid, o): h for o, h in zip(origins, hashes, strict=True)})
    return [done.get(key) for key in keys]


def input_hashes(
    ledger: str | os.PathLike[str], data: str | os.PathLike[str] | pd.DataFrame, **reader: Any
) -> pd.Series:
    """Each forecast's ``rows_hash`` recomputed on ``data``, as :func:`score_ledger` does.

    Parameters
    ----------
    ledger
        A ledger written by ``predict(..., ledger=...)``.
    data
        The data (path, ``builtin:NAME`` or frame).
    **reader
        Options of :func:`fincast.load`.

    Returns
    -------
    pandas.Series
        One hash per forecast, in the ledger's order (``None`` where the data do not
        hold the forecast's series up to its origin); equal to the ledger's ``rows_hash``
        where the history the forecast was made from is unchanged in ``data``.
    """
    forecasts = read_forecasts(ledger)
    if forecasts.empty:
        return pd.Series([], dtype=object, name="rows_hash")
    models = read_models(ledger)
    ds = _load(data, models[str(forecasts["model_hash"].iloc[0])]["info"], reader)
    hashes = _input_hashes(forecasts, _live_frame(ds, forecasts), models)
    return pd.Series(hashes, index=forecasts.index, dtype=object, name="rows_hash")


#: How many (series, origin) ``live.json``'s ``revised_inputs`` lists.
REVISED_SHOWN = 5


def _revised_inputs(
    forecasts: pd.DataFrame, hashes: list[str | None], source: str
) -> tuple[dict[str, Any] | None, str | None]:
    """The forecasts whose history differs in the data: ``live.json``'s entry and a note."""
    differ = np.array(
        [h is not None and h != rec for h, rec in zip(hashes, forecasts["rows_hash"], strict=True)]
    )
    if not differ.any():
        return None, None
    rows = forecasts.loc[differ, ["series", "origin"]].astype(str)
    pairs = rows.drop_duplicates().sort_values(["origin", "series"], kind="stable")
    first = [
        {"series": s, "origin": o} for s, o in pairs.head(REVISED_SHOWN).itertuples(index=False)
    ]
    entry = {"forecasts": int(differ.sum()), "origins": len(pairs), "first": first}
    note = (
        f"the history {entry['forecasts']} forecasts were made from differs in {source} "
        f"(first: series {first[0]['series']}, origin {first[0]['origin']}): the data were "
        "revised since (e.g. back-adjusted prices); these forecasts are scored as made, on "
        f"the outcomes in {source}"
    )
    return entry, note


def _labels(forecasts: pd.DataFrame, models: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The predictions table's model name of each model hash (``name@hash`` if shared)."""
    names = {h: models[h]["model"] for h in forecasts["model_hash"].unique()}
    counts = pd.Series(list(names.values())).value_counts()
    return {h: (n if counts[n] == 1 else f"{n}@{h[:8]}") for h, n in names.items()}


def _check_revisions(
    used: dict[tuple[str, str], dict[str, float | None]],
    seen: dict[tuple[str, str], dict[str, float | None]],
    source: str,
) -> None:
    for key, old in seen.items():
        new = used.get(key)
        if new is None:
            continue
        for col, before in old.items():
            after = new.get(col)
            same = (before is None and after is None) or (
                before is not None and after is not None and np.isclose(before, after, 1e-9, 0)
            )
            if not same:
                raise LedgerError(
                    f"{source} revises history the ledger already scored: series {key[0]}, "
                    f"{key[1]}, column `{col}` was {before} and is now {after}; the ledger "
                    "never re-scores silently: score the original data, or start a new "
                    "ledger for the revised series"
                )


def _observed(
    frame: pd.DataFrame, columns: list[str], pos: np.ndarray, h: np.ndarray
) -> dict[tuple[str, str], dict[str, float | None]]:
    """The data values on every row from each scored origin to its target row."""
    rows = np.unique(np.concatenate([np.arange(p, p + k + 1) for p, k in zip(pos, h, strict=True)]))
    part = frame.iloc[rows]
    out: dict[tuple[str, str], dict[str, float | None]] = {}
    for sid, date, *vals in part[["id", "date", *columns]].itertuples(index=False):
        out[(str(sid), pd.Timestamp(date).date().isoformat())] = {
            c: (None if v != v else float(v)) for c, v in zip(columns, vals, strict=True)
        }
    return out


def _config(task: TaskSpec, data: str, names: list[str]) -> Any:
    from ..config import build_config

    spec = task.to_dict()
    values: dict[str, Any] = {
        "data": data,
        "task": spec["kind"],
        "horizon": spec["horizons"],
        "flat_band": spec["flat_band"],
        "vol_estimator": spec["vol_estimator"],
        "transform": spec["transform"],
        "quantiles": list(task.quantiles),
        "alpha": list(task.alpha),
        "position": task.position,
        "events": spec["events"],
        "baselines": ["naive"],
        "folds": 1,
    }
    try:
        return build_config({**values, "models": {n: {} for n in names}}, where="fincast score")
    except ConfigError:  # a user's own model name: the config still describes the task
        return build_config(values, where="fincast score")


def _matrix(values: pd.Series) -> np.ndarray:
    """Stored JSON lists (null for NaN) as a float matrix, one row each."""
    return np.array([[np.nan if v is None else v for v in row] for row in values], dtype="float64")


def _recorded_bounds(records: pd.Series) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """The ``lo_<level>`` / ``hi_<level>`` bounds ``predict`` recorded with each forecast
    (one record a row; the levels every row has), ``{}`` for point forecasts."""
    from ..predictions import interval_columns

    first = [recs[0] if recs else {} for recs in records]
    names = [{k for k in rec if k.startswith("lo_")} for rec in first]
    common = set.intersection(*names) if names else set()
    bounds = {}
    for name in common:
        level = float(name[3:])
        lo_name, hi_name = interval_columns(level)
        if all(hi_name in rec for rec in first):
            lo = np.array([np.nan if rec[lo_name] is None else rec[lo_name] for rec in first])
            hi = np.array([np.nan if rec[hi_name] is None else rec[hi_name] for rec in first])
            bounds[level] = (lo.astype("float64"), hi.astype("float64"))
    return bounds


def _default_out(ledger: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{stamp}-live-{ledger.stem}"


def _place(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` to ``out`` (replacing an earlier score output there)."""
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file()):
            shutil.rmtree(tmp, ignore_errors=True)
            raise LedgerError(
                f"--out {out} exists and is not a `fincast score` output; choose another directory"
            )
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


def score_ledger(
    ledger: str | os.PathLike[str],
    data: str | os.PathLike[str] | pd.DataFrame,
    out: str | os.PathLike[str] | None = None,
    *,
    backtest: str | os.PathLike[str] | None = None,
    arl0: float = DEFAULT_ARL0,
    reference: int = DEFAULT_REFERENCE,
    **reader: Any,
) -> LiveScore:
    """Score every forecast of ``ledger`` whose outcome ``data`` holds.

    Parameters
    ----------
    ledger
        A ledger written by ``predict(..., ledger=...)``.
    data
        The data, extended past the forecasts' origins (path, ``builtin:NAME`` or frame).
    out
        The output directory (default ``runs/<time>-live-<ledger>``); an earlier score
        output there is replaced.
    backtest
        The backtest run directory to compare with (default: the one ``fincast train``
        recorded in each model's ``fincast.json``, if any; a recorded run that no longer
        exists gives a note).
    arl0, reference
        The monitor's in-control average run length and live reference length.
    **reader
        Options of :func:`fincast.load`.

    Returns
    -------
    LiveScore
        The predictions table of the live period, its metrics and the live section. A
        forecast whose history (its series' rows up to the origin, over the model's
        columns) differs in ``data`` from the one it was made from (its recorded
        ``rows_hash``) is still scored, as made; such forecasts give one note and
        :attr:`LiveScore.revised_inputs` (``live.json`` ``revised_inputs``).

    Raises
    ------
    LedgerError
        An empty ledger, data that revise values already scored, nothing to score yet,
        a ``backtest`` that is not a backtest run directory.
    """
    from ..predictions import build_predictions, with_intervals, write_table
    from ..report.build import publish
    from ..rundir import atomic_write_text

    ledger = Path(ledger)
    if backtest is not None:
        check_backtest(backtest)
    spec = ledger_task(ledger)
    forecasts = read_forecasts(ledger)
    if spec is None or forecasts.empty:
        raise LedgerError(f"ledger {ledger} holds no forecasts yet; nothing to score")
    task = TaskSpec.from_dict(spec)
    models = read_models(ledger)
    info = models[str(forecasts["model_hash"].iloc[0])]["info"]
    ds = _load(data, info, reader)
    frame = _live_frame(ds, forecasts)
    targets = build_targets(frame, ds.target, task, ds.roles)
    where = pd.Series(
        np.arange(len(frame)),
        index=pd.MultiIndex.from_arrays(
            [frame["id"].astype(str).to_numpy(), frame["date"].to_numpy()]
        ),
    )
    index = pd.MultiIndex.from_arrays(
        [forecasts["series"].astype(str).to_numpy(), pd.to_datetime(forecasts["origin"]).to_numpy()]
    )
    pos = where.reindex(index).to_numpy()
    notes: list[str] = []
    absent = np.isnan(pos)
    last = frame.groupby("id")["date"].max()
    series_last = last.reindex(forecasts["series"].astype(str)).to_numpy()
    later = absent & ~(pd.to_datetime(forecasts["origin"]).to_numpy() <= series_last)
    missing_origin = absent & ~later  # inside the data's dates but not in it
    if missing_origin.any():
        first = forecasts[missing_origin].iloc[0]
        notes.append(
            f"{int(missing_origin.sum())} forecasts' origin dates are not in the data "
            f"(first: series {first['series']}, {first['origin']}); they were not scored"
        )
    pos_i = np.where(absent, 0, pos).astype("int64")
    hs = forecasts["horizon"].to_numpy(dtype="int64")
    y = np.full(len(forecasts), np.nan)
    fwd = np.full(len(forecasts), np.nan)
    for h in np.unique(hs):
        sel = (hs == h) & ~absent
        y[sel] = targets["y"][int(h)].to_numpy()[pos_i[sel]]
        fwd[sel] = targets["fwd_return"][int(h)].to_numpy()[pos_i[sel]]
    known = np.isfinite(y)
    revised, revised_note = _revised_inputs(
        forecasts, _input_hashes(forecasts, frame, models), ds.source
    )
    pending = int((~known & ~missing_origin).sum())
    if pending:
        notes.append(f"{pending} forecasts wait for their outcome (target not in the data yet)")
    if revised_note:
        notes.append(revised_note)
    if not known.any():
        raise LedgerError(
            f"none of the {len(forecasts)} forecasts of ledger {ledger} has its outcome in "
            f"{ds.source} yet ({pending} pending); score again when the data reach their "
            "target dates"
        )
    columns = list(info["columns"])
    used = _observed(frame, columns, pos_i[known], hs[known])
    _check_revisions(used, read_observations(ledger), ds.source)
    labels = _labels(forecasts, models)
    scored = forecasts[known].assign(y=y[known], fwd=fwd[known])
    parts = []
    for h in sorted(set(scored["horizon"])):
        one = dataclasses.replace(task, horizons=(int(h),))
        rows_h = scored[scored["horizon"] == h]
        naive = rows_h.drop_duplicates(["series", "origin"])
        for model, rows, col in [("naive", naive, "naive")] + [
            (labels[mh], g, "output") for mh, g in rows_h.groupby("model_hash", sort=False)
        ]:
            built = build_predictions(
                one,
                rows["series"].astype(str).to_numpy(dtype=object),
                pd.to_datetime(rows["origin"]).to_numpy(),
                rows["y"].to_numpy()[:, None],
                _matrix(rows[col]),
                rows["fwd"].to_numpy()[:, None],
                fold=0,
                model=model,
            )
            bounds = _recorded_bounds(rows["forecast"]) if model != "naive" else {}
            parts.append(with_intervals(built, bounds) if bounds else built)
    widest = max(parts, key=lambda part: len(part.columns)).columns  # interval columns' place
    predictions = pd.concat(parts, ignore_index=True)[list(widest)]
    order = {m: i for i, m in enumerate(["naive", *sorted(set(labels.values()))])}
    predictions = (
        predictions.assign(_o=predictions["model"].map(order))
        .sort_values(["_o", "id", "date", "horizon"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
    data_text = data if not isinstance(data, pd.DataFrame) else "<DataFrame>"
    config = _config(task, str(data_text), sorted({models[h]["model"] for h in labels}))
    out_dir = Path(out) if out is not None else _default_out(ledger)
    tmp = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        predictions = write_table(tmp, predictions)  # as the backtest: what the files hold
        atomic_write_text(tmp / "config.yaml", config.to_yaml())
        dates = predictions["date"]
        folds = [
            {
                "fold": 0,
                "train_start": None,
                "train_end": None,
                "test_start": str(dates.min().date()),
                "test_end": str(dates.max().date()),
            }
        ]
        result = publish(
            tmp,
            predictions,
            config,
            run_fields={"folds": folds, "warnings": notes, "failures": []},
            history=None,
            manifest=None,
        )
        metrics = result.metrics
        live = live_section(
            predictions, metrics, task, forecasts, labels, models, backtest, arl0, reference
        )
        live.update(
            {
                "ledger": str(ledger),
                "data": str(data_text),
                "scored": int(known.sum()),
                "pending": pending,
                "notes": [*notes, *live["notes"]],
                **({"revised_inputs": revised} if revised else {}),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        metrics["live"] = live
        atomic_write_text(tmp / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        atomic_write_text(tmp / MARKER, json.dumps(live, indent=2) + "\n")
        page = (tmp / "report.html").read_text(encoding="utf-8")
        cut = page.rfind("</body>")
        section = live_html(live)
        page = page[:cut] + section + page[cut:] if cut >= 0 else page + section
        atomic_write_text(tmp / "report.html", page)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _place(tmp, out_dir)
    append_observations(ledger, used, datetime.now(UTC).isoformat(timespec="seconds"))
    return LiveScore(out_dir, predictions, metrics, live)
