"""fincast: forecast financial time series with Keras, and find out honestly whether the
forecast beats naive baselines out of sample (walk-forward, leakage-free)."""

from . import _backend  # noqa: F401  (selects the Keras backend before anything imports Keras)
from .api import backtest, load_model, predict, rebuild_report, train
from .backtest import BacktestResult, prepare, run_backtest
from .config import RunConfig, load_config
from .data import Dataset, load
from .errors import ConfigError, DataError, FincastError, ModelError, RunError
from .features import FeatureSpec
from .tasks import TaskSpec

__version__ = "0.1.0"

__all__ = [
    "BacktestResult",
    "ConfigError",
    "DataError",
    "Dataset",
    "FeatureSpec",
    "FincastError",
    "ModelError",
    "RunConfig",
    "RunError",
    "TaskSpec",
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
]
