"""Walk-forward splits and the backtest engine."""

from .engine import BacktestResult, Prepared, prepare, read_predictions, run_backtest
from .splits import Fold, walk_forward_folds

__all__ = [
    "BacktestResult",
    "Fold",
    "Prepared",
    "prepare",
    "read_predictions",
    "run_backtest",
    "walk_forward_folds",
]
