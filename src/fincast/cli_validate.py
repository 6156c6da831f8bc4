"""``fincast validate DATA``: the data summary and its health findings.

Kept apart from :mod:`fincast.cli` so that file stays thin; it imports nothing heavy.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from .cli_options import run_command
from .cli_output import err_console, out_console
from .errors import ConfigError

__all__ = ["register_validate"]


def validate(flags: dict[str, Any], as_json: bool, quiet: bool, debug: bool) -> None:
    """Check a data file: a summary (series, rows, dates, frequency, gaps, columns) and the
    data-health findings (splits, spikes, stale runs, OHLC, calendar gaps…)."""
    from .cli_output import print_validation
    from .config import build_config
    from .data import check_health, load, summarize
    from .errors import DataError

    if "data" not in flags:
        raise ConfigError("validate needs a DATA argument: a CSV/Parquet path or builtin:NAME")
    cfg = build_config(flags, where="command line")
    ds = load(cfg.data, **cfg.reader_options())
    summary = summarize(ds)
    findings = check_health(ds, max_move=cfg.max_move, stale_run=cfg.stale_run)
    warned = [f for f in findings if f.severity == "warning"]
    summary["findings"] = [f.to_dict() for f in findings]
    if cfg.strict and warned:
        more = f" ({len(warned)} data findings in all)" if len(warned) > 1 else ""
        raise DataError(f"{ds.source}: {warned[0].text()}{more} [--strict]")
    if cfg.calendar is not None:
        from .data.calendar import calendar_for, calendar_notes

        summary["calendar"] = calendar_for(cfg.calendar, cfg.data)
        for note in calendar_notes(summary["calendar"], ds.frame["date"]):
            err_console.print(f"warning: {note}", highlight=False, markup=False, soft_wrap=True)
    if quiet:  # the exit code says whether the data are usable
        return
    if as_json:
        out_console.print_json(json.dumps(summary, default=str))
        return
    print_validation(summary, cfg.data, ds.target, findings)


def register_validate(app: typer.Typer) -> None:
    """Add ``validate`` to the ``fincast`` app."""
    run_command(app, invocation=("as_json", "quiet", "debug"), sections=("data",))(validate)
