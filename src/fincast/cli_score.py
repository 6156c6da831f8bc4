"""The ledger's commands: ``fincast predict … --ledger FILE`` and ``fincast score``.

Kept apart from :mod:`fincast.cli` so that file stays thin; it imports nothing heavy.
``fincast score`` exits 0, 2 on a user error (one line ``error: …``), and 3 with
``--fail-on-alarm`` when a monitor raised an alarm, so a scheduler can act on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .cli_options import INVOCATION
from .cli_output import err_console, out_console, print_forecast, print_path
from .errors import FincastError

__all__ = ["ALARM_EXIT", "AlarmRaised", "predict_ledger", "register_score"]

#: The exit code of ``fincast score --fail-on-alarm`` when an alarm fired.
ALARM_EXIT = 3


class AlarmRaised(FincastError):
    """``fincast score --fail-on-alarm``: a monitor raised an alarm (exit code 3)."""

    exit_code = ALARM_EXIT


def predict_ledger(
    model: Path,
    data: str,
    out: Path | None,
    ledger: Path,
    quiet: bool,
    checked: Any,
    flags: dict[str, Any],
) -> None:
    """``fincast predict … --ledger FILE``: forecast, append to the ledger, say what was added."""
    from .ledger import record_forecast

    table = record_forecast(model, data, ledger, out, **{k: getattr(checked, k) for k in flags})
    if not quiet:
        print_forecast(table, f"forecast · {model}")
    if out is not None:
        print_path("forecast written", out)
    counts = table.attrs.get("ledger", {})
    err_console.print(
        f"ledger {ledger}: {counts.get('added', 0)} forecasts added, "
        f"{counts.get('already_recorded', 0)} already recorded",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _opt(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help, rich_help_panel="Score")


def score(
    ledger: Annotated[Path, typer.Argument(help="A ledger written by `fincast predict --ledger`.")],
    data: Annotated[
        str, typer.Argument(help="The data, extended with the new dates (CSV/Parquet/builtin).")
    ],
    out: Annotated[
        Path | None,
        _opt("--out", help="Output directory (default runs/<time>-live-<ledger>)."),
    ] = None,
    backtest: Annotated[
        Path | None,
        _opt(
            "--backtest",
            help="Backtest run directory to compare with (default: the one `fincast train "
            "--backtest` recorded in the model's fincast.json).",
        ),
    ] = None,
    arl0: Annotated[
        float,
        _opt(
            "--arl0",
            help="Monitor: in-control average run length in dates (mean dates to a false alarm).",
        ),
    ] = 2500.0,  # fincast.ledger.monitor.DEFAULT_ARL0 (not imported: the CLI starts light)
    fail_on_alarm: Annotated[
        bool, _opt("--fail-on-alarm", help="Exit 3 when a model's edge-loss alarm fires.")
    ] = False,
    quiet: Annotated[bool, INVOCATION["quiet"][1]] = False,
    debug: Annotated[bool, INVOCATION["debug"][1]] = False,
) -> None:
    """Score a ledger's forecasts against the outcomes in DATA: the live period's
    predictions, metrics, verdict and report, beside the backtest, with an alarm when a
    model's edge over naive is lost."""
    from .errors import ConfigError
    from .ledger import score_ledger

    if not arl0 > 1:
        raise ConfigError(f"--arl0 must be > 1 (dates), got {arl0}; pass e.g. --arl0 500")
    result = score_ledger(ledger, data, out, backtest=backtest, arl0=arl0)
    live = result.live
    for note in live["notes"]:
        err_console.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    if not quiet:
        out_console.print(
            f"scored {live['scored']} forecasts ({live['pending']} waiting for their outcome)",
            highlight=False,
        )
        for row in live["comparison"]:
            bt = row["backtest_skill"]
            out_console.print(
                f"{row['model']} h={row['horizon']}: live skill "
                f"{_num(row['live_skill'])} (DM p {_num(row['live_dm_p'])}), backtest "
                f"{'–' if bt is None else _num(bt)}; {row['monitor']}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            for level, sides in (row.get("intervals") or {}).items():
                out_console.print(
                    _interval_line(row, level, sides),
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
        if live.get("intervals"):
            out_console.print(live["intervals"], highlight=False, markup=False, soft_wrap=True)
    for alarm in result.alarms:
        err_console.print(
            f"alarm: {alarm['model']} h={alarm['horizon']} lost its edge over naive on "
            f"{alarm['alarm_date']} (CUSUM {alarm['statistic']:.3g} > {alarm['h']:.3g})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    print_path("run directory", result.run_dir)
    print_path("report", result.run_dir / "report.html")
    if fail_on_alarm and result.alarms:
        first = result.alarms[0]
        raise AlarmRaised(
            f"--fail-on-alarm: {len(result.alarms)} monitor alarm(s); {first['model']} "
            f"h={first['horizon']} lost its edge over naive on {first['alarm_date']} "
            f"(report: {result.run_dir / 'report.html'})"
        )


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.4g}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _interval_line(row: dict[str, Any], level: str, sides: dict[str, Any]) -> str:
    """E.g. ``seed-mlp h=1 90 % interval: live coverage 85.0 % (n 20, Kupiec p 0.4, …)``."""
    live, bt = sides["live"], sides.get("backtest") or {}
    line = (
        f"{row['model']} h={row['horizon']} {100 * float(level):g} % interval: live coverage "
        f"{_pct(live['coverage'])} (n {live['n']}, Kupiec p {_num(live['kupiec_p'])}, "
        f"Christoffersen p {_num(live['christoffersen_p'])}), backtest "
        f"{_pct(bt.get('coverage'))}"
    )
    if live["var_rate"] is None:  # the lower bound is no value at risk (not a return)
        return line
    return (
        f"{line}; VaR {_pct(live['var_rate'])} hit rate live {_pct(live['var_hit_rate'])} "
        f"(Kupiec p {_num(live['var_kupiec_p'])}), backtest {_pct(bt.get('var_hit_rate'))}"
    )


def register_score(app: typer.Typer) -> None:
    """Add ``score`` to the ``fincast`` app."""
    app.command("score")(score)
