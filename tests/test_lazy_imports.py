"""`import fincast` and the light commands load no heavy library (each in its own process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fincast

HEAVY = (
    "keras", "jax", "statsmodels", "arch", "matplotlib", "optuna", "ray", "exchange_calendars",
    "lightgbm",
)  # fmt: skip

PROBE = """
import contextlib, io, json, sys
args = json.loads(sys.argv[1])
if args is None:
    import fincast
    fincast.RunConfig, fincast.FincastError  # public names resolve
else:
    from fincast.cli import main
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    assert code == 0, code
heavy = json.loads(sys.argv[2])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


@pytest.mark.parametrize(
    "args",
    [None, ["--help"], ["backtest", "--help"], ["datasets"], ["models"],
     ["validate", "builtin:sp500"]],
    ids=["import", "help", "backtest-help", "datasets", "models", "validate"],
)  # fmt: skip
def test_light_paths_import_nothing_heavy(args):
    env = dict(os.environ, PYTHONPATH=str(Path(fincast.__file__).resolve().parents[1]))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_models_listing_still_names_every_model(capsys):
    from fincast.cli import main
    from fincast.models import MODELS

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in MODELS)


def test_fincast_backtest_stays_the_function_after_the_subpackage_loads():
    import fincast.backtest.engine

    assert callable(fincast.backtest) and fincast.backtest.__module__ == "fincast.api"
