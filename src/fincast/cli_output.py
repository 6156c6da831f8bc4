"""What the command line prints: rich tables of metrics, the verdict and forecasts."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = [
    "err_console",
    "fmt",
    "out_console",
    "print_path",
    "print_portfolio",
    "print_summary",
    "print_verdict",
    "wide",
]

out_console = Console()


def print_path(label: str, path: object) -> None:
    """``label: path`` on one line (never wrapped: it is copied into other commands), the
    path in bold and free of markup (a ``[`` in a directory name is printed as it is)."""
    out_console.print(f"{label}: [bold]{escape(str(path))}[/]", highlight=False, soft_wrap=True)


err_console = Console(stderr=True)


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else "–"
    return str(value)


def print_summary(metrics: dict[str, Any], table_df: Any) -> None:
    table = Table(
        title=f"walk-forward results · task {metrics['task']} · horizon {metrics['horizon']}"
    )
    for col in table_df.columns:
        header = "skill > 0" if col == "beats_naive" else str(col)
        table.add_column(header, justify="left" if col == "model" else "right", no_wrap=True)
    for _, row in table_df.iterrows():
        std = (metrics["models"].get(row["model"], {}).get("seeds") or {}).get("std", {})
        cells = []
        for col, value in row.items():
            text = fmt(value)
            spread = std.get(col)
            if isinstance(spread, float) and spread > 0 and text != "–" and col != "n_predictions":
                text += f" ± {spread:.2g}"
            cells.append(text)
        table.add_row(*cells)
    wide().print(table)


def print_verdict(metrics: dict[str, Any]) -> None:
    """The verdict of ``metrics.json`` as a rich table: which models beat naive, how surely."""
    verdict = metrics.get("verdict") or {}
    rows = verdict.get("models", [])
    alpha = float(verdict.get("alpha", 0.05))
    table = Table(title=f"verdict · {verdict.get('summary', '')}", title_justify="left")
    for col in (
        "model",
        f"beats naive at {alpha:.0%}",
        "reading",
        "skill vs naive",
        f"{1 - alpha:.0%} interval",
        "DM p",
        "Sharpe (net)",
        "buy&hold Sharpe",
        "IC",
    ):
        table.add_column(col, justify="left" if col in ("model", "reading") else "right")
    for r in rows:
        yes = r.get("beats_naive") == "yes"
        interval = "–"
        if r.get("ci_low") is not None and r.get("ci_high") is not None:
            interval = f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
        p = r.get("dm_p_value")
        seeds = r.get("seeds", 1)
        table.add_row(
            str(r["model"]) + (f" ({seeds} seeds)" if seeds > 1 else ""),
            "[green]yes[/]" if yes else "[yellow]no[/]",
            str(r.get("status", "")),
            fmt(r.get("skill_vs_naive")),
            interval,
            "<0.001" if p is not None and p < 0.001 else fmt(p),
            fmt(r.get("sharpe")),
            fmt(r.get("buy_and_hold_sharpe")),
            fmt(r.get("ic")),
        )
    wide().print(table)
    if verdict.get("rival"):  # every network against the best classical model
        wide().print(verdict["rival"], highlight=False, markup=False)
    for note in verdict.get("notes", []):  # a task's plain sentences (VaR backtests)
        wide().print(note, highlight=False, markup=False)
    if verdict.get("intervals"):
        wide().print(f"intervals · {verdict['intervals']}", markup=False)


def print_portfolio(metrics: dict[str, Any]) -> None:
    """Panels: each model's cross-sectional long-short portfolio against equal weight."""
    port = metrics.get("portfolio") or {}
    if not port or "skipped" in port:
        return
    table = Table(
        title=f"cross-sectional portfolio · {port.get('spec')} · {port.get('n_series')} series"
        f" · {fmt(port.get('cost_bps'))} bp · long-short, net",
        title_justify="left",
    )
    head = ["model", "annual return", "volatility", "Sharpe", "Sharpe 95% interval"]
    head += ["IR vs equal weight", "max drawdown", "turnover", "rank IC", "rank IC t", "DM p"]
    for col in head:
        table.add_column(col, justify="left" if col == "model" else "right")
    pct = "{:.1%}".format
    skipped = []
    for name, entry in (port.get("models") or {}).items():
        if "skipped" in entry:
            skipped.append(f"{name}: {entry['skipped']}")
            continue
        ls, ic = entry.get("long_short", {}), entry.get("ic", {})
        ci = ls.get("sharpe_ci") or {}
        p = (ls.get("dm_vs_equal_weight") or {}).get("p_value")
        table.add_row(
            name,
            pct(ls["annual_return"]) if ls.get("annual_return") is not None else "–",
            pct(ls["annual_volatility"]) if ls.get("annual_volatility") is not None else "–",
            fmt(ls.get("sharpe")),
            f"[{fmt(ci.get('low'))}, {fmt(ci.get('high'))}]" if ci else "–",
            fmt(ls.get("information_ratio")),
            pct(ls["max_drawdown"]) if ls.get("max_drawdown") is not None else "–",
            fmt(entry.get("turnover")),
            fmt(ic.get("rank_ic")),
            fmt(ic.get("rank_t_stat")),
            "<0.001" if p is not None and p < 0.001 else fmt(p),
        )
    ew = port.get("equal_weight") or {}
    table.add_row(
        "equal-weight (long)",
        pct(ew["annual_return"]) if ew.get("annual_return") is not None else "–",
        pct(ew["annual_volatility"]) if ew.get("annual_volatility") is not None else "–",
        fmt(ew.get("sharpe")),
        "",
        "",
        pct(ew["max_drawdown"]) if ew.get("max_drawdown") is not None else "–",
        fmt(ew.get("turnover")),
        "",
        "",
        "",
    )
    wide().print(table)
    if skipped:
        wide().print("not ranked · " + "; ".join(skipped), highlight=False, markup=False)


def wide() -> Console:
    """The output console; piped output is not squeezed to 80 columns."""
    return out_console if out_console.is_terminal else Console(width=200)


def print_validation(
    summary: dict[str, Any], source: str, target: str, findings: list[Any]
) -> None:
    """``fincast validate``'s summary table, the target and the data-health findings."""
    from .data.health import lines

    warned = [f for f in findings if f.severity == "warning"]
    status = f"valid, {len(warned)} data warnings" if warned else "valid"
    table = Table(title=f"{summary.get('source', source)} · {status}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in summary.items():
        if key == "findings":
            continue
        if key == "columns":
            value = ", ".join(
                f"{c['name']} ({c['dtype']}, {c['n_missing']} missing)" for c in value
            )
        elif isinstance(value, dict | list):
            value = json.dumps(value, default=str)
        table.add_row(key, str(value))
    out_console.print(table)
    out_console.print(f"target: {target}", highlight=False, markup=False)
    notes = [f for f in findings if f.severity == "info"]
    for label, group in (("warning", warned), ("note", notes)):
        for line in lines(group):
            err_console.print(f"{label}: {line}", highlight=False, markup=False, soft_wrap=True)


def print_forecast(table: Any, title: str) -> None:
    """``fincast predict``'s forecast table."""
    view = Table(title=title)
    for col in table.columns:
        view.add_column(str(col), justify="left" if col in ("id", "note") else "right")
    for _, row in table.iterrows():
        view.add_row(*(fmt(v) for v in row.tolist()))
    wide().print(view)


def progress(quiet: bool) -> Any:
    """The progress bar of long commands (on stderr; hidden with ``--quiet``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
    )


def print_datasets() -> None:
    """The built-in datasets, as ``fincast datasets`` lists them."""
    from .data import BUILTINS

    table = Table(title="built-in datasets (use as builtin:NAME)")
    table.add_column("name", style="bold")
    table.add_column("description")
    for name, text in BUILTINS.items():
        table.add_row(name, text)
    out_console.print(table)


def print_models() -> None:
    """The models, baselines and installed plugins, as ``fincast models`` lists them."""
    from .models import MODELS
    from .models.custom import plugin_names

    table = Table(title="models (use with --models / --baselines)")
    table.add_column("name", style="bold")
    table.add_column("kind")
    table.add_column("tasks")
    table.add_column("description")
    for name, info in MODELS.items():
        tasks = ", ".join(info.tasks) if info.tasks is not None else "all"
        kind = "baseline" if info.kind == "baseline" else "keras"
        table.add_row(name, kind, tasks, info.description)
    for name in plugin_names():  # installed packages' models (fincast.models entry points)
        table.add_row(name, "plugin", "–", "registered by an installed package")
    out_console.print(table)
