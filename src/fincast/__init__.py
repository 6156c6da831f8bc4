"""fincast: forecast financial time series with Keras, and find out honestly whether the
forecast beats naive baselines out of sample (walk-forward, leakage-free).

The public names below are imported on first use (PEP 562), so ``import fincast`` and
``fincast --help`` start without loading Keras, JAX, statsmodels, arch or matplotlib.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from . import _backend  # noqa: F401  (selects the Keras backend before anything imports Keras)
from .errors import ConfigError, DataError, FincastError, ModelError, RunError

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .api import backtest, load_model, predict, rebuild_report, train, tune
    from .backtest import BacktestResult, prepare, run_backtest
    from .config import RunConfig, load_config
    from .data import Dataset, load
    from .features import FeatureSpec
    from .models.custom import KerasModel
    from .results import Result, TrainedModel
    from .tasks import TaskSpec

__version__ = "0.1.0"

__all__ = [
    "BacktestResult",
    "ConfigError",
    "DataError",
    "Dataset",
    "FeatureSpec",
    "FincastError",
    "KerasModel",
    "ModelError",
    "Result",
    "RunConfig",
    "RunError",
    "TaskSpec",
    "TrainedModel",
    "__version__",
    "backtest",
    "load",
    "load_config",
    "load_model",
    "predict",
    "prepare",
    "rebuild_report",
    "run_backtest",
    "train",
    "tune",
]

#: Where each lazily imported public name lives.
_LAZY = {
    "BacktestResult": "backtest",
    "Dataset": "data",
    "FeatureSpec": "features",
    "KerasModel": "models.custom",
    "Result": "results",
    "TrainedModel": "results",
    "RunConfig": "config",
    "TaskSpec": "tasks",
    "backtest": "api",
    "load": "data",
    "load_config": "config",
    "load_model": "api",
    "predict": "api",
    "prepare": "backtest",
    "rebuild_report": "api",
    "run_backtest": "backtest",
    "train": "api",
    "tune": "api",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fincast' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The ``fincast`` module: ``fincast.backtest`` stays the function of that name.

    Importing the subpackage ``fincast.backtest`` would otherwise rebind the package
    attribute to the subpackage (``from fincast.backtest import …`` is unaffected).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
