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
    """Stop after ``patience`` epochs without a lower validation loss; restore an epoch.

    Training stops by the rules of ``keras.callbacks.EarlyStopping(monitor="val_loss",
    patience=patience)`` (``min_delta`` 0; never stops after the first epoch). Which
    weights it ends with:

    - ``se`` 0 (or no ``rows``): the epoch of the lowest validation loss, as Keras'
      ``restore_best_weights=True``;
    - ``se`` > 0: the *earliest* epoch whose validation loss is within ``se`` standard
      errors of the lowest (the one-standard-error rule of Breiman et al. 1984 and
      glmnet's ``lambda.1se``, with ``se`` 1). The standard error is that of the mean
      validation loss at the lowest epoch: the standard deviation of its per-row losses
      (``rows(weights)``) over the square root of their number. A short validation
      slice ranks epochs mostly by noise; its lowest loss is then a late, overfitted epoch
      by chance, and the rule prefers the less trained network the slice cannot tell
      apart from it.

    Only epochs that lowered the loss are kept (the earliest epoch within any limit above
    the lowest is one of them: every epoch before it is above the limit, so above it).

    Parameters
    ----------
    patience
        Epochs without a lower validation loss before training stops.
    rows
        ``rows(run)``: the per-row validation losses of the network as it is now (needed
        for ``se`` > 0).
    se
        Standard errors of tolerance (0: the lowest epoch).
    """

    def __init__(self, patience: int, rows: Any = None, se: float = 0.0) -> None:
        self.patience = int(patience)
        self.best: float | None = None
        self.best_weights: Any = None
        self.wait = 0
        self.rows = rows
        self.se = float(se) if rows is not None else 0.0
        self.lows: list[tuple[int, float, Any]] = []  # (epoch, loss, weights) of new lows
        self.stderr = 0.0  # of the lowest epoch's mean loss
        self.restored: int | None = None  # the epoch (0-based) whose weights it ended with

    def on_epoch_end(
        self, epoch: int, train_loss: float, val_loss: float | None, run: TrainingRun
    ) -> bool:
        if val_loss is None:
            return False
        self.wait += 1
        if self.best is None or val_loss < self.best:
            self.best, self.wait = val_loss, 0
            self.best_weights = run.weights()
            if self.se > 0:
                self.lows.append((epoch, val_loss, self.best_weights))
                losses = np.asarray(self.rows(run), dtype="float64")
                n = len(losses)
                self.stderr = float(np.std(losses, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
            return False
        return self.wait >= self.patience and epoch > 0

    def on_train_end(self) -> Any | None:
        if self.se > 0 and self.lows:
            limit = self.lows[-1][1] + self.se * self.stderr
            epoch, _, weights = next(low for low in self.lows if low[1] <= limit)
            self.restored = epoch
            return weights
        return self.best_weights
