"""The walk-forward engine: models x folds -> predictions table -> metrics, plots, report.

Generating forecasts and scoring them are separate: :func:`run_backtest` writes the
predictions table first (``predictions.parquet``, and ``predictions.csv`` for small runs or
with ``csv``), then computes ``metrics.json``, the plots and ``report.html`` from that table
alone, exactly as ``fincast report`` does later.
"""

from __future__ import annotations

import json
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .. import _backend
from .._memory import release_freed_memory
from ..config import RunConfig
from ..data import Dataset, check_min_rows, check_positive, load, screen_records
from ..data.calendar import calendar_for, calendar_notes
from ..data.covariates import load_covariates
from ..design import Design, build_design
from ..errors import ConfigError, FincastError
from ..features import FeatureSpec
from ..intervals import check_calibration, check_intervals, fold_intervals, mean_intervals
from ..models import MODELS, make_model
from ..models.base import check_cs_normalize
from ..models.custom import check_builders, register_from_config
from ..models.registry import is_baseline, model_params
from ..predictions import (
    SEED_COLUMN,
    assemble_table,
    build_predictions,
    check_predictions,
    read_predictions,
    with_intervals,
    write_predictions,
)
from ..report.build import publish
from ..rundir import RunDirectory, atomic_write_text, safe_name
from ..tasks import TaskSpec
from .executors import WorkUnit, check_executor, crash_hook, make_executor
from .splits import Fold, walk_forward_folds

__all__ = [
    "BacktestResult",
    "Prepared",
    "model_params",
    "prepare",
    "read_predictions",
    "run_backtest",
    "task_spec",
    "training_rows",
]

#: Called after each (model, fold) with (model, fold index, status) - status is
#: "done", "resumed" or "failed".
ProgressFn = Callable[[str, int, str], None]


@dataclass
class Prepared:
    """Everything a run needs, validated before anything is written."""

    config: RunConfig
    dataset: Dataset
    task: TaskSpec
    features: FeatureSpec
    design: Design
    folds: list[Fold]
    model_names: list[str]
    warnings: list[str] = field(default_factory=list)
    data_health: list[dict[str, Any]] = field(default_factory=list)

    def fold(self, index: int) -> Fold:
        """The fold numbered ``index``."""
        return next(f for f in self.folds if f.index == index)


@dataclass
class BacktestResult:
    """What a backtest produced."""

    run_dir: Path
    predictions: pd.DataFrame
    metrics: dict[str, Any]
    failures: list[dict[str, Any]]
    warnings: list[str]


def model_seed(seed: int, model: str, fold: int) -> int:
    """A stable per-(model, fold) seed derived from the run seed."""
    return zlib.crc32(f"{seed}:{model}:{fold}".encode()) & 0x7FFFFFFF


def task_spec(config: RunConfig) -> TaskSpec:
    """The :class:`TaskSpec` a configuration describes."""
    return TaskSpec.from_config(config)


def prepare(config: RunConfig, data: pd.DataFrame | None = None) -> Prepared:
    """Load and validate the data, build the design and folds, check every model.

    ``data`` is a DataFrame to read instead of ``config.data`` (the Python API's).

    Raises
    ------
    FincastError
        For anything wrong with the data or the configuration; nothing is written.
    """
    check_executor(config.executor, address=config.ray_address)
    register_from_config(config)  # builders by import path, plugins (fincast.models)
    calendar = calendar_for(config.calendar, config.data)  # an unknown code fails here
    task = task_spec(config)
    check_intervals(task, config.intervals)
    features = FeatureSpec(config.features, config.lookback)
    if config.gap is not None and config.gap < task.max_horizon:
        raise ConfigError(
            f"gap {config.gap} is shorter than the horizon {task.max_horizon}: training "
            "targets would overlap the test block; use --gap >= horizon or leave it out"
        )
    baselines = list(
        config.baselines if config.baselines is not None else task.task.default_baselines
    )
    if "naive" not in baselines:
        baselines.insert(0, "naive")
    names = list(dict.fromkeys([*baselines, *config.models]))
    made = {  # unknown names, parameters and bad values fail here, before any work
        name: make_model(name, task, model_params(config, name) if name in MODELS else None)
        for name in names
    }
    check_cs_normalize(made, config.cs_normalize)  # ranked returns are no returns

    ds = load(config.data if data is None else data, **config.reader_options())
    # data health: warn, --strict, --adjust-splits; the findings go to metrics.json too
    ds, warnings, data_health = screen_records(ds, config)
    if config.calendar is not None:  # dates that are not sessions of the calendar asked for
        warnings += calendar_notes(calendar, ds.frame["date"])
    if task.uses_log(ds.target, ds.roles):
        check_positive(ds, ds.target, *task.positive_reason())
    needed = config.lookback + task.max_horizon + 2 * config.folds + 1
    why = (
        f"lookback {config.lookback} + horizon {task.max_horizon} + 2 rows for each of "
        f"{config.folds} folds"
    )
    skipped = check_min_rows(ds, needed, why)
    if skipped:
        warnings.append(
            f"skipped {len(skipped)} series with fewer than {needed} rows ({why}): "
            + ", ".join(skipped[:10])
            + (" …" if len(skipped) > 10 else "")
        )
        frame = ds.frame[~ds.frame["id"].isin(skipped)].reset_index(drop=True)
        ds = Dataset(frame, ds.name, ds.source, ds.target, ds.roles, ds.sha256)
    windows = any(MODELS[n].sequence for n in names)
    design = build_design(
        ds,
        task,
        features,
        windows=windows,
        series_ids=ds.ids if config.series_embedding else None,
        covariates=load_covariates(config.covariates, ds.ids, config.fillna),
        cs_normalize=config.cs_normalize,
    )
    task.task.check_design(design.y, design.ids, ds.source, ds.target)
    # the user's Keras builders, before any fold trains
    in_process = config.executor == "local" and (config.workers or 1) == 1
    check_builders(names, task, design, in_process=in_process)
    folds = walk_forward_folds(
        len(design.calendar),
        folds=config.folds,
        gap=config.gap if config.gap is not None else task.max_horizon,
        window=config.window,
        train_size=config.train_size,
        test_size=config.test_size,
        min_train=max(2, config.lookback),
    )
    check_calibration(config.intervals, folds, config.val_fraction)
    release_freed_memory()  # the feature shards and the read's buffers
    return Prepared(config, ds, task, features, design, folds, names, warnings, data_health)


def training_rows(design: Design, fold: Fold) -> np.ndarray:
    """Boolean mask of the rows that may train ``fold``.

    The rows dated in the fold's training window, less any row whose target looks at a date
    inside or after the test block (possible in ragged panels, where a series' next ``h``
    rows can span more than ``h`` calendar dates).
    """
    mask = fold.train_mask(design.date_pos)
    if design.target_end_pos is not None:
        mask &= design.target_end_pos < fold.test_start
    return mask


def _fold_predictions(
    prep: Prepared, name: str, fold: Fold, seed: int
) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    setup = _fold_setup(prep, name, fold, seed)
    setup.model.fit(setup.train, setup.validation)
    frame, history = _fold_frame(prep, name, fold, setup)
    if is_rival(prep, name):  # history.json carries it to the verdict's rival choice
        history = {**history, "validation": validation_loss(prep, name, fold, setup)}  # type: ignore[dict-item]
    return frame, history


def is_rival(prep: Prepared, name: str) -> bool:
    """Whether baseline ``name`` is a candidate for the verdict's best classical rival.

    Every baseline but ``naive`` is, when the run has a model that is not a baseline (a
    network or the user's own) for the verdict to compare with it, and the task has a row
    loss. Otherwise nothing extra is fitted.
    """
    return (
        name != "naive"
        and is_baseline(name)
        and prep.task.task.significance
        and not all(is_baseline(m) for m in prep.model_names)
    )


def validation_loss(prep: Prepared, name: str, fold: Fold, setup: FoldSetup) -> dict[str, Any]:
    """The loss of baseline ``name`` on the validation tail of ``fold``, fitted before it.

    A baseline that takes a validation slice (``lightgbm``'s early stopping) already
    trained on the rows before the tail, so its fitted model scores the tail; any other is
    fitted again on those rows (the tail and the test block unseen). The loss is the
    task's row loss (:meth:`~fincast.tasks.base.Task.row_loss`) at the first horizon,
    averaged per date and then over dates, as the significance tests average it. Returns
    ``{"loss", "dates"}``, or ``{"error"}`` when the tail cannot be scored.
    """
    d = setup.design
    try:
        if setup.validation_mask is not None:
            model, mask = setup.model, setup.validation_mask
        else:
            mask, before = validation_split(d, fold, setup.fold_train, prep.config.val_fraction)
            if not before.any() or not mask.any():
                return {"error": "no training rows before the validation tail"}
            model = make_model(name, prep.task, setup.params, seed=setup.seed)
            model.fit(d.batch(before), None)
        out = np.asarray(model.predict(d.batch(mask)), dtype="float64")
        if not np.isfinite(out).all():
            return {"error": "non-finite forecasts on the validation tail"}
        frame = build_predictions(
            prep.task, d.ids[mask], d.dates[mask], d.y[mask], out, d.fwd_return[mask],
            fold=fold.index, model=name,
        )  # fmt: skip
    except Exception as exc:  # the rival is then not chosen from this model in this fold
        return {"error": f"{type(exc).__name__}: {exc}"}
    loss, _ = prep.task.task.row_loss(frame)
    first = (frame["horizon"] == min(prep.task.horizons)).to_numpy()
    per_date = loss[first].groupby(frame["date"].to_numpy()[first]).mean()
    if per_date.empty or not np.isfinite(per_date).all():
        return {"error": "no finite loss on the validation tail"}
    return {"loss": float(per_date.mean()), "dates": len(per_date)}


class FoldSetup(NamedTuple):
    """One (model, fold, seed) before ``fit``: the model, its training and validation rows,
    the fold's design and test rows, and what ``--intervals`` calibrates on."""

    model: Any
    train: Any
    validation: Any
    design: Design
    test_mask: np.ndarray
    fold_train: np.ndarray
    validation_mask: np.ndarray | None
    params: dict[str, Any]
    seed: int


def validation_split(
    d: Design, fold: Fold, train_mask: np.ndarray, val_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """The validation tail of a fold's training rows and the rows that train before it.

    The tail is the chronological end of the training window (``val_fraction`` of its
    dates, at least one); the training rows end a gap (the fold's purge) before it, and
    none of their targets reaches into it. Early stopping and shrinkage use this tail, and
    the verdict chooses each fold's best classical rival on it
    (:func:`fincast.metrics.rivals.rival_choice`).
    """
    n_train = fold.train_end - fold.train_start
    n_val = max(1, round(n_train * val_fraction))
    val_start = fold.train_end - n_val
    gap = fold.test_start - fold.train_end
    validation_mask = train_mask & (d.date_pos >= val_start)
    before = train_mask & (d.date_pos < val_start - gap)
    if d.target_end_pos is not None:
        before &= d.target_end_pos < val_start
    return validation_mask, before


def _fold_setup(prep: Prepared, name: str, fold: Fold, seed: int) -> FoldSetup:
    """The model of one (model, fold, seed), its training and validation rows, the fold's
    design and test rows: everything before ``fit``."""
    train_mask = training_rows(prep.design, fold)
    d = prep.design.for_fold(train_mask)  # trend3 / events thresholds: training rows only
    test_mask = fold.test_mask(d.date_pos)
    params = model_params(prep.config, name)
    model = make_model(name, prep.task, params, seed=seed)
    validation, validation_mask, fold_train = None, None, train_mask
    # models say whether they want a validation slice (early stopping, shrinkage)
    if getattr(model, "uses_validation", bool(params.get("patience"))):
        n_train = fold.train_end - fold.train_start
        validation_mask, train_mask = validation_split(
            d, fold, train_mask, float(params.get("val_fraction", 0.2))
        )
        validation = d.chronological(validation_mask)
        if not train_mask.any():
            raise ConfigError(
                f"fold {fold.index} has too few training dates ({n_train}) to hold out a "
                "validation slice for early stopping and shrinkage; lower --val-fraction or "
                "pass --patience 0 --no-shrink"
            )
    return FoldSetup(
        model, d.batch(train_mask), validation, d, test_mask, fold_train, validation_mask,
        params, seed,
    )  # fmt: skip


def _fold_frame(
    prep: Prepared, name: str, fold: Fold, setup: FoldSetup
) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    """A fitted model's forecasts of the fold's test rows, as predictions-table rows."""
    model, d, test_mask = setup.model, setup.design, setup.test_mask
    out = np.asarray(model.predict(d.batch(test_mask)), dtype="float64")
    if not np.isfinite(out).all():
        raise FloatingPointError(f"{name} produced non-finite forecasts in fold {fold.index}")
    history = getattr(model, "history_", {})
    frame = build_predictions(
        prep.task,
        d.ids[test_mask],
        d.dates[test_mask],
        d.y[test_mask],
        out,
        d.fwd_return[test_mask],
        fold=fold.index,
        model=name,
    )
    if prep.config.intervals:  # conformal, from the training period only (fincast.intervals)
        bounds = fold_intervals(
            prep.task, d, fold, setup.fold_train, frame, prep.config.intervals, model=model,
            validation_mask=setup.validation_mask, val_fraction=prep.config.val_fraction,
            method=prep.config.interval_method,
            refit=lambda: make_model(name, prep.task, setup.params, seed=setup.seed),
        )  # fmt: skip
        frame = with_intervals(frame, bounds)
    return frame, history


def _ensemble(
    frames: list[pd.DataFrame], name: str, classification: bool, labels: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The seed-averaged forecast of one model and fold, as ``NAME-ensemble`` rows.

    Regression tasks average ``y_pred`` and the task's label columns (quantiles, VaR and
    ES: averages of sorted quantiles stay sorted).
    """
    first = frames[0].drop(columns=SEED_COLUMN)
    out = first.assign(model=f"{name}-ensemble")
    trend3 = [c for c in ("prob_down", "prob_flat", "prob_up") if c in first.columns]
    if len(trend3) == 3:  # trend3: mean class probabilities, then the most likely class
        for c in trend3:
            out[c] = np.mean([f[c].to_numpy(dtype="float64") for f in frames], axis=0)
        out["y_pred"] = out[trend3].to_numpy().argmax(axis=1).astype("float64")
    elif "prob" in first.columns:
        out["prob"] = np.mean([f["prob"].to_numpy(dtype="float64") for f in frames], axis=0)
        out["y_pred"] = (out["prob"] > 0.5).astype("float64")
    elif classification:  # classes without probabilities: majority vote (ties to the lowest)
        votes = pd.DataFrame({i: f["y_pred"].to_numpy() for i, f in enumerate(frames)})
        out["y_pred"] = votes.mode(axis=1)[0].to_numpy(dtype="float64")
    else:
        for c in ["y_pred", *(c for c in labels if c in first.columns)]:
            out[c] = np.mean([f[c].to_numpy(dtype="float64") for f in frames], axis=0)
    return mean_intervals(frames, out)


def _fold_unit(
    prep: Prepared, name: str, fold: Fold
) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    """One (model, fold): a Keras model with ``seeds`` > 1 is trained once per seed.

    Seed 0 uses the same seed as a single-seed run, so ``--seeds 1`` changes nothing; the
    rows of every seed carry a ``seed`` column, followed by the ``NAME-ensemble`` rows. The
    history is that of seed 0.
    """
    results = [_fold_predictions(prep, name, fold, s) for s in unit_seeds(prep, name, fold)]
    return _combine_seeds(prep, name, results)


def unit_seeds(prep: Prepared, name: str, fold: Fold) -> list[int]:
    """The seed of each replicate of (model, fold): one unless ``--seeds`` asks for more."""
    n_seeds = 1 if is_baseline(name) else prep.config.seeds
    return [
        model_seed(prep.config.seed, name if s == 0 else f"{name}#seed{s}", fold.index)
        for s in range(n_seeds)
    ]


def _combine_seeds(
    prep: Prepared, name: str, results: list[tuple[pd.DataFrame, dict[str, list[float]]]]
) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    """One unit's rows: a single seed's, or every seed's and the ensemble's."""
    if len(results) == 1:
        return results[0]
    frames = [frame.assign(**{SEED_COLUMN: s}) for s, (frame, _) in enumerate(results)]
    history = next((hist for _, hist in results if hist), {})
    ensemble = _ensemble(frames, name, prep.task.is_classification, prep.task.labels)
    return pd.concat([*frames, ensemble], ignore_index=True), history


@dataclass
class UnitResult:
    """What one work unit produced: its predictions and history, or its failure."""

    unit: WorkUnit
    frame: pd.DataFrame | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    failure: dict[str, Any] | None = None


def _units(prep: Prepared) -> list[WorkUnit]:
    """The run's work units, in the order its outputs are assembled."""
    return [
        WorkUnit(i, name, fold.index)
        for i, name in enumerate(prep.model_names)
        for fold in prep.folds
    ]


def run_unit(prep: Prepared, unit: WorkUnit) -> UnitResult:
    """Compute one (model, fold) unit (all its seeds); any exception becomes a recorded failure.

    Module-level so that process and Ray executors can ship it to their workers.
    """
    fold = prep.fold(unit.fold)
    try:
        register_from_config(prep.config)  # a worker process imports the user's builders
        frame, history = _fold_unit(prep, unit.model, fold)
    except Exception as exc:  # one model's failure never loses the others
        info = {
            "model": unit.model,
            "fold": unit.fold,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
        return UnitResult(unit, failure=info)
    return UnitResult(unit, frame, history)


def _part_path(run: RunDirectory, unit: WorkUnit) -> Path:
    return run.parts / f"{replace(unit, model=safe_name(unit.model)).stem}.csv"


def run_backtest(
    config: RunConfig,
    *,
    prepared: Prepared | None = None,
    resume: bool = False,
    progress: ProgressFn | None = None,
    csv: bool = False,
) -> BacktestResult:
    """Walk-forward backtest of every model and baseline; write the run directory.

    Parameters
    ----------
    config
        The run configuration; ``config.out`` is the run directory (default
        ``runs/<timestamp>-<dataset>``).
    prepared
        The result of :func:`prepare` when the caller already has it.
    resume
        Finish an interrupted run in ``config.out``: only missing (model, fold) pieces are
        computed; settings other than those the run started with are refused.
    progress
        Called after each (model, fold).
    csv
        Write ``predictions.csv`` beside ``predictions.parquet`` whatever the table's size
        (by default only for tables of at most
        :data:`~fincast.predictions.CSV_MAX_ROWS` rows).

    Returns
    -------
    BacktestResult
    """
    prep = prepared or prepare(config)
    del prepared  # `prep` only: released after training (see _AfterTraining)
    dataset = _dataset_info(prep.dataset)
    # the units read the design, never the raw frame: the run keeps the dataset without its
    # rows, so a caller that handed `prepared` over frees them before training (issue 26)
    prep = replace(prep, dataset=replace(prep.dataset, frame=prep.dataset.frame.iloc[:0].copy()))
    started = datetime.now(UTC).isoformat(timespec="seconds")
    out = Path(config.out or f"runs/{datetime.now().strftime('%Y%m%d-%H%M%S')}-{prep.dataset.name}")
    resolved = config.model_copy(update={"out": str(out)})
    run = RunDirectory(out, resume=resume, config=resolved).open()
    complete = False
    try:
        atomic_write_text(out / "config.yaml", resolved.to_yaml())
        failed: dict[WorkUnit, dict[str, Any]] = {}
        histories: dict[str, dict[str, dict[str, list[float]]]] = {}
        if not all(is_baseline(name) for name in prep.model_names):
            _backend.keras()  # imported once here, not by the first unit's thread
        t0 = time.perf_counter()
        pending = []
        notes: list[str] = []  # what a resume found wrong in the parts it was left
        for unit in _units(prep):
            part = _part_path(run, unit)
            fail = part.with_suffix(".failed.json")
            if resume and (part.exists() or fail.exists()):
                problem = _part_problem(prep, unit, part, fail)
                if problem is None:
                    if fail.exists():
                        failed[unit] = json.loads(fail.read_text())
                    if progress:
                        progress(unit.model, unit.fold, "resumed")
                    continue
                notes.append(
                    f"resume: part {part.name} of {unit.model} fold {unit.fold} was not a "
                    f"finished piece ({problem}); computed it again"
                )
                for stale in (part, fail, part.with_suffix(".history.json")):
                    stale.unlink(missing_ok=True)
            pending.append(unit)

        finished: list[WorkUnit] = []

        def finish(result: UnitResult) -> None:
            unit, part = result.unit, _part_path(run, result.unit)
            if result.failure is not None:
                atomic_write_text(
                    part.with_suffix(".failed.json"), json.dumps(result.failure, indent=2)
                )
                failed[unit] = result.failure
            else:
                assert result.frame is not None
                if result.history:  # before the part: an existing part marks a finished unit
                    atomic_write_text(part.with_suffix(".history.json"), json.dumps(result.history))
                write_predictions(part, result.frame)
            release_freed_memory()  # the unit's rows and the part's text (see _memory)
            if progress:
                progress(unit.model, unit.fold, "failed" if result.failure else "done")
            finished.append(unit)
            crash_hook(len(finished))  # test-only (FINCAST_CRASH_AFTER_UNITS); no-op otherwise

        if config.executor == "local" and (config.workers or 1) == 1:
            from .together import UnitSteps, train_together  # each network's folds at once

            steps = UnitSteps(unit_seeds, _fold_setup, _fold_frame, _combine_seeds)
            pending = train_together(
                prep, pending, lambda u, f, h: finish(UnitResult(u, f, h)), steps
            )
        with make_executor(
            config.executor,
            workers=config.workers,
            address=config.ray_address,
            n_units=len(pending),
            threads=config.threads,
        ) as executor:
            if executor.name == "threads":  # the longest (largest) folds first
                dates = {f.index: _training_dates(prep, f.index) for f in prep.folds}
                pending = sorted(pending, key=lambda u: -dates[u.fold])
            executor.run(run_unit, prep, pending, finish)
        failures = [failed[u] for u in sorted(failed)]
        elapsed = time.perf_counter() - t0
        # Publishing reads the predictions table, not the design: keep what it needs and
        # drop this function's reference to the raw frame and the feature matrix, so that
        # a caller that handed `prepared` over (the CLI, the Python API) frees them before
        # the metrics run (issue 26)
        kept = _AfterTraining.of(prep, dataset)
        del prep
        release_freed_memory()

        parts = []
        histories = {}  # re-read from the parts, in order, so a resumed run writes the same
        for unit in kept.units:  # assembled in unit order, never completion order
            part = _part_path(run, unit)
            if part.exists():
                parts.append(part)
            hist = part.with_suffix(".history.json")
            if hist.exists():
                histories.setdefault(unit.model, {})[str(unit.fold)] = json.loads(hist.read_text())
        predictions = _assemble(kept.strings, parts, out, csv=csv)
        release_freed_memory()  # the parts read back, before the metrics
        run_fields: dict[str, Any] = {
            "failures": [{k: v for k, v in f.items() if k != "traceback"} for f in failures],
            "warnings": [*kept.warnings, *notes],
            "data_health": kept.data_health,
            "folds": kept.folds,
            "shrinkage": _shrinkage(histories),
        }
        if histories:
            atomic_write_text(out / "history.json", json.dumps(histories) + "\n")
        info = {
            "status": "complete",
            "dataset": kept.dataset,
            "seed": config.seed,
            "started": started,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "training_seconds": round(elapsed, 3),
        }
        published = publish(
            out,
            predictions,
            resolved,
            run_fields=run_fields,
            history=histories or None,
            manifest=run.manifest_payload(info),
        )
        metrics = published.metrics
        run.write_manifest(info)  # last: the run is complete once the manifest says so
        complete = True
    finally:
        run.close(complete=complete)
    return BacktestResult(out, predictions, metrics, metrics["failures"], [*kept.warnings, *notes])


class _AfterTraining(NamedTuple):
    """What a run needs of its :class:`Prepared` once every unit is trained: no raw frame,
    no feature matrix."""

    units: list[WorkUnit]
    strings: list[str]  # the table's ids, models and labels (_assemble)
    warnings: list[str]
    data_health: list[dict[str, Any]]
    folds: list[dict[str, Any]]
    dataset: dict[str, Any]

    @classmethod
    def of(cls, prep: Prepared, dataset: dict[str, Any]) -> _AfterTraining:
        return cls(
            _units(prep), _table_strings(prep), list(prep.warnings), prep.data_health,
            _fold_info(prep), dataset,
        )  # fmt: skip


def _dataset_info(ds: Dataset) -> dict[str, Any]:
    """The dataset's entry of the manifest."""
    return {
        "source": ds.source,
        "name": ds.name,
        "sha256": ds.sha256,
        "target": ds.target,
        "series": len(ds.ids),
        "rows": len(ds.frame),
    }


def _table_strings(prep: Prepared) -> list[str]:
    """The ids, model names and labels the predictions table holds."""
    models = [*prep.model_names, *(f"{n}-ensemble" for n in prep.model_names)]
    labels = [str(v) for v in prep.task.labels] if prep.task.task.row_per_label else []
    return [*pd.unique(prep.design.ids), *models, *labels]


def _assemble(strings: list[str], parts: list[Path], out: Path, *, csv: bool) -> pd.DataFrame:
    """Write the predictions table of the run from its parts, in order; return it.

    ``predictions.parquet``, and ``predictions.csv`` for small tables or with ``csv``
    (:func:`~fincast.predictions.assemble_table`): the CSV is the parts' text joined when
    that is the same bytes as reading and writing them again
    (:func:`~fincast.predictions.join_parts`), else they are read, concatenated and written.
    """
    return assemble_table(out, parts, strings, csv=csv)


def _training_dates(prep: Prepared, fold_index: int) -> int:
    fold = prep.fold(fold_index)
    return fold.train_end - fold.train_start


def _expected_rows(prep: Prepared, unit: WorkUnit) -> int:
    """How many predictions-table rows the (model, fold) ``unit`` writes."""
    fold = prep.fold(unit.fold)
    test = int(fold.test_mask(prep.design.date_pos).sum())
    per = prep.task.width if prep.task.task.row_per_label else 1
    seeds = 1 if is_baseline(unit.model) else prep.config.seeds
    copies = seeds + 1 if seeds > 1 else 1  # every seed, then the NAME-ensemble rows
    return test * len(prep.task.horizons) * per * copies


def _part_problem(prep: Prepared, unit: WorkUnit, part: Path, fail: Path) -> str | None:
    """Why the part a resumed run found for ``unit`` cannot be trusted, or None.

    Parts are written atomically, but a part cut short (a torn write on a crashed file
    system, a copy interrupted) must be computed again, never taken as finished.
    """
    if fail.exists():
        try:
            json.loads(fail.read_text())
        except (OSError, ValueError) as exc:
            return f"unreadable failure record: {exc}"
        return None
    try:
        frame = read_predictions(part)
        check_predictions(frame, what="resume")
    except (OSError, ValueError, FincastError) as exc:  # pandas parse errors are ValueErrors
        return f"unreadable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    expected = _expected_rows(prep, unit)
    if len(frame) != expected:
        return f"{len(frame)} rows instead of {expected}"
    if set(frame["model"].astype(str)) - {unit.model, f"{unit.model}-ensemble"} or set(
        frame["fold"]
    ) != {unit.fold}:
        return "rows of another model or fold"
    if not np.isfinite(frame["y_pred"].to_numpy(dtype="float64")).all():
        return "missing or non-finite forecasts"
    return None


def _fold_info(prep: Prepared) -> list[dict[str, Any]]:
    """The dates of each fold (and the trend3 / events thresholds it learnt)."""
    out = []
    for f in prep.folds:
        entry: dict[str, Any] = {
            "fold": f.index,
            "train_start": _iso(prep.design.calendar[f.train_start]),
            "train_end": _iso(prep.design.calendar[f.train_end - 1]),
            "test_start": _iso(prep.design.calendar[f.test_start]),
            "test_end": _iso(prep.design.calendar[f.test_end - 1]),
        }
        if prep.task.fitted_labels:
            fitted = prep.design.for_fold(training_rows(prep.design, f)).labeler
            entry["thresholds"] = fitted.thresholds() if fitted is not None else None
        out.append(entry)
    return out


def _shrinkage(histories: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The shrinkage weight of each network and fold, one per output column (0: the
    naive forecast or class frequencies, 1: the network's own forecast)."""
    out: dict[str, Any] = {}
    for model, folds in histories.items():
        weights = {fold: h["shrinkage"] for fold, h in folds.items() if "shrinkage" in h}
        if weights:
            out[model] = weights
    return out


def _iso(value: Any) -> str:
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()
