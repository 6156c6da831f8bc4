"""Epoch hooks: what the training loop asks after every epoch.

Both training loops call the same hooks: the compiled loop
(:meth:`fincast.models.fastfit.Trainer.fit`) directly, Keras' ``model.fit`` (other
backends, or user-supplied Keras callbacks) through an adapter callback. Early stopping
(:class:`EarlyStopping`) and ``fincast tune``'s pruning are hooks, so hyperparameters are
chosen under the loop that backtests judge them with. Stopping on a non-finite training
loss is the loop's own batch-level check (as ``keras.callbacks.TerminateOnNaN``).

Nothing here imports Keras or JAX.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["EarlyStopping", "EpochHook", "TrainingRun"]


class TrainingRun(Protocol):
    """The network being trained, as a hook sees it at the end of an epoch."""

    def weights(self) -> Any:
        """A copy of the current weights (to hand back from :meth:`EpochHook.on_train_end`)."""
        ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The network's raw outputs for scaled inputs ``x`` with the current weights."""
        ...


class EpochHook:
    """Base class of epoch hooks (every method is optional)."""

    def on_epoch_end(
        self, epoch: int, train_loss: float, val_loss: float | None, run: TrainingRun
    ) -> bool:
        """Called after epoch ``epoch`` (0-based); return True to stop training.

        ``val_loss`` is the loss on the validation rows (``None`` without them). Raising
        an exception (e.g. ``optuna.TrialPruned``) abandons the training.
        """
        return False

    def on_train_end(self) -> Any | None:
        """Weights (from :meth:`TrainingRun.weights`) to end with, or ``None`` for the last."""
        return None


class EarlyStopping(EpochHook):
    """Stop after ``patience`` epochs without a lower validation loss; restore the best.

    The rules of ``keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
    restore_best_weights=True)`` (``min_delta`` 0; never stops after the first epoch).
    """

    def __init__(self, patience: int) -> None:
        self.patience = int(patience)
        self.best: float | None = None
        self.best_weights: Any = None
        self.wait = 0

    def on_epoch_end(
        self, epoch: int, train_loss: float, val_loss: float | None, run: TrainingRun
    ) -> bool:
        if val_loss is None:
            return False
        self.wait += 1
        if self.best is None or val_loss < self.best:
            self.best, self.wait = val_loss, 0
            self.best_weights = run.weights()
            return False
        return self.wait >= self.patience and epoch > 0

    def on_train_end(self) -> Any | None:
        return self.best_weights
