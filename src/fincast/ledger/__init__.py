"""The live forecast ledger: record every forecast, score it when the outcome arrives.

- :func:`record_forecast` (``fincast predict … --ledger FILE``, ``predict(..., ledger=)``)
  appends each forecast to an append-only SQLite file (:mod:`fincast.ledger.store`);
- :func:`score_ledger` (``fincast score LEDGER DATA``) joins the forecasts to the realised
  targets and writes a run directory for the live period, with the live figures beside the
  backtest's and a CUSUM monitor of the edge over naive (:mod:`fincast.ledger.monitor`);
- :func:`read_ledger` returns the recorded forecasts as a DataFrame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from .monitor import CusumResult, cusum, threshold
from .record import model_hash, predict_to_ledger
from .score import LiveScore, score_ledger
from .store import SCHEMA_VERSION, LedgerError, read_forecasts

__all__ = [
    "SCHEMA_VERSION",
    "CusumResult",
    "LedgerError",
    "LiveScore",
    "cusum",
    "model_hash",
    "read_ledger",
    "record_forecast",
    "score_ledger",
    "threshold",
]


def read_ledger(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Every forecast the ledger at ``path`` holds, in the order they were recorded."""
    return read_forecasts(path)


def record_forecast(
    model: Any,
    data: str | os.PathLike[str] | pd.DataFrame,
    ledger: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Forecast with ``model`` (a saved :class:`~fincast.TrainedModel` or model directory)
    and append the forecast to ``ledger``; see :func:`fincast.ledger.record.predict_to_ledger`."""
    from ..errors import ConfigError

    model_dir = getattr(model, "model_dir", model)
    if model_dir is None:
        raise ConfigError(
            "ledger=: the model was trained with out=None and has no directory, so the "
            "ledger cannot identify it by content hash; train it with out=DIR"
        )
    forecaster = getattr(model, "forecaster", None)
    info = getattr(model, "info", None) if forecaster is not None else None
    return predict_to_ledger(
        Path(model_dir), data, ledger, out, forecaster=forecaster, info=info, **options
    )
