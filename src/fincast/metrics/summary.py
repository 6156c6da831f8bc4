"""Score a predictions table: every model, pooled and per fold (and per horizon), vs naive.

Works from the predictions table alone (one row per model, id, date and horizon; see
:func:`compute_metrics`), so ``metrics.json`` can be rebuilt from the run's predictions table
(``predictions.parquet`` or ``predictions.csv``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..predictions import check_predictions
from ..tasks import Task, get_task, task_names
from ..tasks.base import MetricKit
from ..tasks.spec import DEFAULT_TASK
from .classification import classification_metrics
from .multiclass import multiclass_metrics
from .multilabel import multilabel_metrics
from .quantile import quantile_metrics, risk_metrics
from .regression import regression_metrics
from .volatility import volatility_metrics

__all__ = [
    "compute_metrics",
    "headline_columns",
    "metrics_table",
    "order_models",
]

#: The metric functions the tasks choose from.
KIT = MetricKit(
    regression=regression_metrics,
    classification=classification_metrics,
    multiclass=multiclass_metrics,
    multilabel=multilabel_metrics,
    volatility=volatility_metrics,
    quantile=quantile_metrics,
    risk=risk_metrics,
)
_KEYS = ["id", "date", "horizon"]
_NAIVE = "naive"


def headline_columns(task: str) -> tuple[str, ...]:
    """The headline metrics of ``task`` (those of the default task when it is unknown)."""
    return get_task(task if task in task_names() else DEFAULT_TASK).headline_columns


def order_models(names: Iterable[str]) -> list[str]:
    """Order model names for display: ``naive``, the other baselines, then the rest sorted.

    Parameters
    ----------
    names
        Model names (duplicates are dropped).

    Returns
    -------
    list of str

    Examples
    --------
    >>> order_models(["seed-mlp", "mean", "lstm", "naive"])
    ['naive', 'mean', 'lstm', 'seed-mlp']
    """
    from ..models.registry import baseline_names  # the registry's metadata is light

    unique = {str(n) for n in names}
    baselines = baseline_names()
    return [b for b in baselines if b in unique] + sorted(unique - set(baselines))


_DENSE_KEYS = 1 << 20
"""Codes up to ``_DENSE_KEYS`` (or 4 per row) index a table; beyond, they are renumbered."""


def _key_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, int]:
    """One integer per row, equal for rows whose ``keys`` are equal (NaN equal to NaN, as
    ``merge`` matches them), and a bound above every code.

    Each column is factorized (a hash) and the codes combined in mixed radix; only when
    their range outgrows ``max(_DENSE_KEYS, 4 * rows)`` are they renumbered (one more
    factorize), so the codes of a table's keys stay small enough to index an array.
    """
    limit = max(_DENSE_KEYS, 4 * len(frame))
    codes = np.zeros(len(frame), dtype="int64")
    size = 1
    for key in keys:
        column, uniques = pd.factorize(frame[key], use_na_sentinel=False)
        codes = codes * len(uniques) + column  # < size * len(uniques) <= limit * rows
        size *= len(uniques)
        if size > limit:
            codes, distinct = pd.factorize(codes)
            codes, size = codes.astype("int64"), len(distinct)
    return codes, size


def _with_naive(predictions: pd.DataFrame, task: Task | None = None) -> pd.DataFrame:
    """Add ``y_naive``: the naive model's forecast of the same (id, date, horizon).

    The task's :meth:`~fincast.tasks.Task.naive_columns` come along as ``naive_<column>``.
    The last naive row of a key counts. What a left ``merge`` on the key columns gives,
    found by integer codes (no join of the whole table on string keys): an array indexed
    by key holds each key's last naive row.
    """
    frame = predictions.reset_index(drop=True)
    keys = [*_KEYS, "label"] if "label" in frame.columns else _KEYS
    extra = task.naive_columns(frame.columns) if task is not None else []
    codes, size = _key_codes(frame, keys)
    naive_rows = np.flatnonzero((frame["model"] == _NAIVE).to_numpy(dtype=bool))
    last = np.full(size, -1, dtype="int64")  # each key's last naive row, -1: none
    np.maximum.at(last, codes[naive_rows], naive_rows)
    take = last[codes]
    columns = {"y_naive": "y_pred", **{f"naive_{c}": c for c in extra}}
    whole = bool((take >= 0).all())

    def naive_of(column: str) -> np.ndarray:
        # by row number; with -1 (no row) reindexing makes it missing, as in the merge
        # (ints become floats); without, taking the rows gives the same values and dtype
        values = frame[column]
        return (values.take(take) if whole else values.reindex(take)).to_numpy()

    out = frame.assign(
        **{name: pd.Series(naive_of(c), index=frame.index) for name, c in columns.items()}
    )
    out["y_naive"] = out["y_naive"].astype("float64")
    return out


def _skill(rows: pd.DataFrame, task: Task) -> float | None:
    """Skill against naive on the rows shared with it (NaN-free)."""
    return task.skill_of(rows)


def _score(rows: pd.DataFrame, task: Task) -> dict[str, Any]:
    out = task.metrics(rows, KIT)
    out["skill_vs_naive"] = _skill(rows, task)
    return out


def compute_metrics(predictions: pd.DataFrame, task: str) -> dict[str, Any]:
    """Score every model of a predictions table, pooled, per fold and per horizon.

    Parameters
    ----------
    predictions
        The predictions table: one row per (model, id, date, horizon) with the columns
        ``id``, ``date``, ``fold``, ``model``, ``horizon``, ``y_true``, ``y_pred`` and, for
        ``direction`` / ``events``, ``prob`` (``prob_down``, ``prob_flat``, ``prob_up`` for
        ``trend3``; a ``label`` column for ``events``). The naive baseline is the model
        named ``naive``.
    task
        ``"return"``, ``"level"``, ``"direction"``, ``"trend3"``, ``"events"`` or
        ``"volatility"``.

    Returns
    -------
    dict
        JSON-ready (plain Python values, ``None`` for undefined metrics, no NaN)::

            {"task": task,
             "horizon": h,               # or [h1, h2, ...] when several
             "models": {name: {<metrics pooled over folds, ids and horizons>,
                               "skill_vs_naive": ...,
                               "folds": {"0": {...}, "1": {...}},
                               "horizons": {"1": {...}, "5": {...}},  # if several
                               "series": {"AAA": {...}, ...}}}}       # panels

        The metrics are those of :func:`~fincast.metrics.regression_metrics` (``return``,
        ``level``), :func:`~fincast.metrics.classification_metrics` (``direction``),
        ``multiclass_metrics`` (``trend3``), ``multilabel_metrics`` (``events``) or
        ``volatility_metrics`` (``volatility``).
        ``skill_vs_naive`` is computed on the rows a model shares with ``naive`` (same id,
        date and horizon): ``1 - mse / mse_naive`` for regression (``None`` if the naive MSE
        is 0; also ``volatility``), ``accuracy - accuracy_naive`` for direction and trend3,
        ``hamming_loss_naive - hamming_loss`` for events; ``None`` without naive rows. For
        ``level``, the direction accuracy measures moves relative to the naive forecast.
        Models are listed ``naive`` first, then the other registered baselines, then the
        rest sorted by name.

    Raises
    ------
    ConfigError
        If ``task`` is unknown.
    DataError
        If the table is empty or lacks a column, or a direction label is not 0 or 1.

    Examples
    --------
    >>> p = pd.DataFrame({"id": "a", "date": pd.to_datetime(["2020-01-01"] * 2 + ["2020-01-02"] * 2),
    ...                   "fold": 0, "horizon": 1, "model": ["naive", "m"] * 2,
    ...                   "y_true": [1.0, 1.0, -1.0, -1.0], "y_pred": [0.0, 0.5, 0.0, -0.5]})
    >>> compute_metrics(p, "return")["models"]["m"]["skill_vs_naive"]
    0.75
    """
    from sklearn import config_context

    # sklearn checks the types of its metrics' parameters on every call (about half of the
    # time of a panel's per-series scores); the arrays here are fincast's own, so skip it
    with config_context(skip_parameter_validation=True):
        return _compute_metrics(predictions, task)


def _compute_metrics(predictions: pd.DataFrame, task: str) -> dict[str, Any]:
    kind = get_task(task)
    check_predictions(predictions)
    frame = _with_naive(predictions, kind)
    horizons = sorted({int(h) for h in frame["horizon"].unique()})
    model_col = frame["model"].astype(str)
    models: dict[str, Any] = {}
    for name in order_models(model_col.unique()):
        rows = frame[model_col == name]
        entry = _score(rows, kind)
        entry["folds"] = {
            str(int(fold)): _score(group, kind) for fold, group in rows.groupby("fold", sort=True)
        }
        if len(horizons) > 1:
            entry["horizons"] = {
                str(int(h)): _score(group, kind) for h, group in rows.groupby("horizon", sort=True)
            }
        if rows["id"].nunique() > 1:  # a panel: every series on its own, next to the pool
            entry["series"] = {
                str(sid): _score(group, kind) for sid, group in rows.groupby("id", sort=True)
            }
        models[name] = entry
        del rows  # before the next model's rows are copied
    return {
        "task": task,
        "horizon": horizons[0] if len(horizons) == 1 else horizons,
        "models": models,
    }


def metrics_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """One row per model with the task's headline metrics and whether it beats naive.

    Parameters
    ----------
    metrics
        The result of :func:`compute_metrics` (or ``metrics.json`` read back).

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, then :data:`REGRESSION_COLUMNS` or :data:`DIRECTION_COLUMNS`
        (floats, NaN where undefined; ``n_predictions`` int), then ``beats_naive``
        (``skill_vs_naive > 0``; always False for ``naive`` itself), in the model order of
        ``metrics``.

    Raises
    ------
    DataError
        If ``metrics`` has no ``task`` or ``models``.
    """
    if "task" not in metrics or "models" not in metrics:
        raise DataError("metrics_table needs the output of compute_metrics (task and models)")
    columns = headline_columns(metrics["task"])
    rows = []
    for name, m in metrics["models"].items():
        skill = m.get("skill_vs_naive")
        row: dict[str, Any] = {"model": name, **{c: m.get(c) for c in columns}}
        row["beats_naive"] = bool(name != _NAIVE and skill is not None and skill > 0)
        rows.append(row)
    table = pd.DataFrame(rows, columns=["model", *columns, "beats_naive"])
    for col in columns:
        table[col] = table[col].astype("int64" if col == "n_predictions" else "float64")
    table["beats_naive"] = table["beats_naive"].astype(bool)
    return table
