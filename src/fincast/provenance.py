"""The backtest run a saved model was trained from (``fincast.json`` ``backtest_run``).

``fincast train --backtest RUN`` records ``RUN``; ``fincast train --config RUN/config.yaml``
records ``RUN`` when that run backtested the model. Either way the run is checked first
(:func:`backtest_run`), and ``fincast score`` compares the live figures with it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import ConfigError
from .tasks import TaskSpec

__all__ = ["backtest_run", "run_of_config"]


def backtest_run(run: str | os.PathLike[str], config: RunConfig, model: str) -> Path:
    """``run`` as the backtest of ``model`` under ``config``'s task, absolute (ConfigError).

    A backtest run directory holds ``config.yaml``, ``metrics.json`` and its predictions
    table (``predictions.parquet``, or ``predictions.csv`` from before it existed;
    ``fincast backtest --out RUN``); it must have backtested ``model``
    on the same task (kind, horizons and their settings) as ``config``.
    """
    from .config import load_config

    path = Path(run)
    from .predictions import CSV, PARQUET, table_path

    needed = ("config.yaml", "metrics.json")
    absent = [name for name in needed if not (path / name).is_file()]
    if table_path(path) is None:
        absent.append(f"{PARQUET} or {CSV}")
    if absent:
        raise ConfigError(
            f"--backtest {path} is not a finished backtest run directory (missing "
            f"{', '.join(absent)}); pass the --out directory of a `fincast backtest` run"
        )
    try:
        run_task = TaskSpec.from_config(load_config(path / "config.yaml")).to_dict()
        verdict = json.loads((path / "metrics.json").read_text(encoding="utf-8"))["verdict"]
        models = sorted({str(row["model"]) for row in verdict["models"]})
    except (ConfigError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"--backtest {path} cannot be read as a backtest run ({exc}); rerun the backtest"
        ) from None
    if model not in models:
        raise ConfigError(
            f"--backtest {path} did not backtest {model} (it holds "
            f"{', '.join(models) or 'no model'}); pass the run of `fincast backtest "
            f"--models {model}` with the same settings"
        )
    task = TaskSpec.from_config(config).to_dict()
    if run_task != task:
        differ = sorted(k for k in {*task, *run_task} if task.get(k) != run_task.get(k))
        raise ConfigError(
            f"--backtest {path} forecast another task ({', '.join(differ)}: "
            f"{', '.join(f'{run_task.get(k)!r}' for k in differ)}; this model: "
            f"{', '.join(f'{task.get(k)!r}' for k in differ)}); pass the backtest of the "
            "same task and horizons"
        )
    return path.resolve()


def run_of_config(config: Path, cfg: Any) -> tuple[Path | None, str | None]:
    """The backtest run whose ``config.yaml`` is ``config``, if it backtested the model.

    Returns
    -------
    tuple
        The run (or None) and a note saying why a run's config gave none (or None): a
        config file of another kind gives neither.
    """
    run = config.parent
    if config.name != "config.yaml" or not (run / "metrics.json").is_file():
        return None, None
    if len(cfg.models) != 1:
        return None, None  # train refuses it next
    try:
        backtest_run(run, cfg, next(iter(cfg.models)))
    except ConfigError as exc:
        return None, f"no backtest recorded for the model ({exc})"
    return run, None
