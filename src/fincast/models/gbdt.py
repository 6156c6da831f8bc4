"""LightGBM baseline: gradient-boosted trees on the same flat features as ``ridge``.

One model is fitted per fold over the rows of every series of a panel (pooled, like
``ridge``), one booster per horizon (and per quantile level or event). It reads the same
feature row as the other flat models and stops early on the validation tail the networks
use: the backtest engine holds out the last ``val_fraction`` of each training fold's dates
after a gap of the horizon (never the test block) and hands them to ``fit`` as
``validation``; the boosters train on the rows before the gap. Training is single-threaded
with ``deterministic=True`` and seeded bagging, so the same seed gives the same bytes.

``lightgbm`` is an optional dependency (``pip install 'fincast[gbdt]'``); it is imported
when the model is built, never when fincast is imported.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np

from ..errors import ConfigError
from ..tasks import TaskSpec
from .base import Batch, Constraint, Interval, Model

__all__ = ["LIGHTGBM_INSTALL_HINT", "LightGBMBaseline"]

LIGHTGBM_INSTALL_HINT = "pip install 'fincast[gbdt]' (or pip install lightgbm)"
#: Threads per booster: fixed, so forecasts do not depend on the machine.
NUM_THREADS = 1


def import_lightgbm() -> Any:
    """The ``lightgbm`` module, or a one-line ConfigError saying how to install it."""
    try:
        import lightgbm
    except ImportError:
        raise ConfigError(
            "model 'lightgbm' needs LightGBM, which is not installed; install it with "
            f"{LIGHTGBM_INSTALL_HINT} or drop lightgbm from --models"
        ) from None
    return lightgbm


class LightGBMBaseline(Model):
    """Gradient-boosted trees (LightGBM), pooled over a panel's series, early-stopped on
    the validation tail.

    Regression tasks fit one L2 booster per horizon (``level``: on the change from the last
    value). Quantile tasks (``quantile``, ``var``) fit one booster per horizon and quantile
    level with LightGBM's quantile objective, at the levels the networks forecast
    (:meth:`~fincast.tasks.base.Task.network_levels`). Class tasks fit one binary booster
    per horizon and event (``direction``, ``events``) or one multiclass booster per horizon
    (``trend3``) and return probabilities; a label with one class in training forecasts
    that class's frequency.

    Parameters
    ----------
    task
        The task.
    n_estimators
        Boosting rounds at most (default 500).
    learning_rate
        Shrinkage of each tree (default 0.05).
    num_leaves
        Leaves per tree (default 15).
    min_child_samples
        Fewest training rows in a leaf (default 50).
    subsample
        Share of the rows each tree is grown on (bagging every round, seeded).
    colsample_bytree
        Share of the features each tree may split on (seeded).
    reg_lambda
        L2 penalty on the leaf values.
    early_stopping
        Stop after this many rounds without a lower loss on the validation tail and keep
        the best round; 0 trains every round and uses no validation tail.
    val_fraction
        Share of each training fold's dates held out as the validation tail (the run's
        ``--val-fraction`` unless set for this model).
    seed
        Seed of bagging and feature sampling.
    """

    name = "lightgbm"
    description = (
        "LightGBM trees on the features, pooled, early-stopped on the validation tail "
        "(needs fincast[gbdt])"
    )
    tasks = ("return", "level", "direction", "trend3", "events", "volatility", "quantile", "var")
    #: ``fincast tune`` trains a trial's boosters for ``n_estimators`` rounds without early
    #: stopping (the inner validation block is the only holdout, as for the networks).
    search_space: ClassVar[dict[str, Any]] = {
        "n_estimators": {"low": 50, "high": 500, "step": 50},
        "learning_rate": {"low": 0.01, "high": 0.2, "log": True},
        "num_leaves": [7, 15, 31, 63],
        "min_child_samples": [20, 50, 100, 200],
        "subsample": {"low": 0.5, "high": 1.0},
        "colsample_bytree": {"low": 0.5, "high": 1.0},
        "reg_lambda": {"low": 1e-3, "high": 10.0, "log": True},
    }
    parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "n_estimators": Interval(1, None, integer=True),
        "learning_rate": Interval(0, 1, closed="right"),
        "num_leaves": Interval(2, None, integer=True),
        "min_child_samples": Interval(1, None, integer=True),
        "subsample": Interval(0, 1, closed="right"),
        "colsample_bytree": Interval(0, 1, closed="right"),
        "reg_lambda": Interval(0, None),
        "early_stopping": Interval(0, None, integer=True),
        "val_fraction": Interval(0, 0.5, closed="neither"),
    }

    def __init__(
        self,
        task: TaskSpec,
        *,
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 0.0,
        early_stopping: int = 50,
        val_fraction: float = 0.2,
        seed: int = 0,
    ) -> None:
        self.task = task
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping = early_stopping
        self.val_fraction = val_fraction
        self.seed = seed

    def _validate_more(self) -> None:
        import_lightgbm()  # the install hint before any work

    @property
    def uses_validation(self) -> bool:
        """True when the backtest should hold out a validation tail (early stopping on)."""
        return int(self.early_stopping) > 0

    # -- fitting ----------------------------------------------------------------------
    def _params(self, objective: dict[str, Any]) -> dict[str, Any]:
        seed = int(self.seed)
        return {
            **objective,
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_child_samples": int(self.min_child_samples),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if float(self.subsample) < 1.0 else 0,
            "feature_fraction": float(self.colsample_bytree),
            "lambda_l2": float(self.reg_lambda),
            "seed": seed,
            "bagging_seed": seed,
            "feature_fraction_seed": seed,
            "data_random_seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": NUM_THREADS,
            "verbosity": -1,
        }

    def _boost(
        self,
        objective: dict[str, Any],
        X: np.ndarray,
        y: np.ndarray,
        val: tuple[np.ndarray, np.ndarray] | None,
    ) -> Any:
        """One booster on rows ``X``, targets ``y`` (finite rows only), early-stopped on
        ``val`` when given."""
        lgb = import_lightgbm()
        ok = np.isfinite(y)
        params = self._params(objective)
        if not ok.all():  # a copy of the rows only where some target is missing
            X, y = X[ok], y[ok]
        data = lgb.Dataset(X, y, params={"verbosity": -1}, free_raw_data=True)
        valid_sets, callbacks = [], []
        if val is not None and int(self.early_stopping) > 0:
            vx, vy = val
            vok = np.isfinite(vy)
            if vok.any():
                if not vok.all():
                    vx, vy = vx[vok], vy[vok]
                valid_sets = [lgb.Dataset(vx, vy, reference=data)]
                callbacks = [lgb.early_stopping(int(self.early_stopping), verbose=False)]
        booster = lgb.train(
            params,
            data,
            num_boost_round=int(self.n_estimators),
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        best = booster.best_iteration if valid_sets else 0
        self.best_iteration_.append(int(best) if best and best > 0 else booster.current_iteration())
        return booster

    def fit(self, train: Batch, validation: Batch | None = None) -> Self:
        """Fit the boosters on ``train``; ``validation`` (later rows) only stops them early."""
        assert train.y is not None
        X = train.features("float64")  # gathered straight into float64, a chunk at a time
        y = np.asarray(train.y, dtype="float64")
        vX = vy = None
        if validation is not None and len(validation) and validation.y is not None:
            vX = validation.features("float64")
            vy = np.asarray(validation.y, dtype="float64")
            if self.task.forecasts_level:
                vy = vy - validation.naive
        if self.task.forecasts_level:
            y = y - train.naive
        self.best_iteration_: list[int] = []
        self.models_: list[Any] = []
        levels = self.task.task.network_levels(self.task)
        for j in range(y.shape[1]):
            val = None if vX is None or vy is None else (vX, vy[:, j])
            if self.task.is_classification:
                self.models_.append(self._fit_classes(X, y[:, j], val))
            elif levels is not None:
                for level in levels:
                    objective = {"objective": "quantile", "alpha": float(level)}
                    self.models_.append(self._boost(objective, X, y[:, j], val))
            else:
                self.models_.append(self._boost({"objective": "regression"}, X, y[:, j], val))
        return self

    def _n_classes(self) -> int:
        return self.task.width if self.task.output == "multiclass" else 2

    def _fit_classes(
        self, X: np.ndarray, labels: np.ndarray, val: tuple[np.ndarray, np.ndarray] | None
    ) -> Any:
        present = np.unique(labels[np.isfinite(labels)]).astype("int64")
        n_classes = self._n_classes()
        if len(present) < 2:  # one class only in training: predict its frequency
            prior = np.zeros(n_classes)
            if len(present):
                prior[present[0]] = 1.0
            else:
                prior[:] = 1.0 / n_classes
            self.best_iteration_.append(0)
            return prior
        if n_classes == 2:
            objective: dict[str, Any] = {"objective": "binary"}
        else:
            objective = {"objective": "multiclass", "num_class": n_classes}
        return self._boost(objective, X, labels, val)

    # -- forecasting ------------------------------------------------------------------
    def predict(self, data: Batch) -> np.ndarray:
        """Forecasts of ``data``: values (regression, quantile outputs) or probabilities."""
        X = data.features("float64")
        cols = []
        for model, best in zip(self.models_, self.best_iteration_, strict=True):
            if isinstance(model, np.ndarray):
                cols.append(np.broadcast_to(model, (len(X), len(model))))
                continue
            out = np.asarray(model.predict(X, num_iteration=best), dtype="float64")
            cols.append(out.reshape(len(X), -1))
        out = self._assemble(cols, len(X))
        if self.task.is_classification:
            return out
        levels = self.task.task.network_levels(self.task)
        if levels is not None:
            return np.asarray(self.task.task.from_network(self.task, out), dtype="float64")
        return out + data.naive if self.task.forecasts_level else out

    def _assemble(self, cols: list[np.ndarray], n: int) -> np.ndarray:
        if not self.task.is_classification:
            return np.concatenate(cols, axis=1) if cols else np.zeros((n, 0))
        if self.task.output == "multiclass":
            return np.concatenate(cols, axis=1)
        # binary: a booster gives P(1); a one-class prior gives (P(0), P(1))
        return np.concatenate([c[:, -1:] for c in cols], axis=1)
