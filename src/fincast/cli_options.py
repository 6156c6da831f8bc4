"""The flags of the command line, generated from the option declarations.

Every run setting is a :class:`~fincast.config.RunConfig` key declared once in
``config.py``; :func:`run_command` turns those declarations into the typer options of a
command (grouped by section in ``--help``). Flags that concern the invocation only (the
config file, resuming, the progress display, tune's budget…) are declared once in
:data:`INVOCATION`.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import sys
import types
import typing
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from .config import SECTIONS, RunConfig, option_info, yaml_mapping
from .errors import ConfigError

__all__ = [
    "INVOCATION",
    "config_flags",
    "flag",
    "join_help",
    "options_table",
    "paragraphs",
    "run_command",
    "shown_default",
]


def paragraphs(text: str | None) -> str | None:
    """``text`` (a docstring) with each paragraph on one line, paragraphs apart by a blank line.

    A docstring's hard line breaks are for the source file; left in, rich prints them and a
    sentence breaks in the middle in ``--help`` whatever the terminal's width.
    """
    if text is None:
        return None
    blocks = re.split(r"\n\s*\n", inspect.cleandoc(text))
    return "\n\n".join(" ".join(b.split()) for b in blocks if b.strip())


def join_help(app: typer.Typer) -> typer.Typer:
    """Give ``app`` and each of its commands their help as :func:`paragraphs` (idempotent)."""
    info = app.info
    if isinstance(info.help, str):
        info.help = paragraphs(info.help)
    for command in app.registered_commands:
        text = command.help or (command.callback.__doc__ if command.callback else None)
        command.help = paragraphs(text)
    return app


def _opt(*names: str, help: str, panel: str = "Invocation") -> Any:
    return typer.Option(*names, help=help, rich_help_panel=panel)


#: Options about the invocation, not the run: name -> (type, typer option, default).
INVOCATION: dict[str, tuple[Any, Any, Any]] = {
    "config": (
        Path | None,
        _opt(
            "--config", help="YAML config file (a run's config.yaml reruns it); flags override it."
        ),
        None,
    ),
    "resume": (
        Path | None,
        _opt(
            "--resume",
            help="Finish an interrupted run in this directory (computes only what is missing).",
        ),
        None,
    ),
    "csv": (
        bool,
        _opt(
            "--csv",
            help="Write predictions.csv beside predictions.parquet whatever the run's size "
            "(without it: only for tables of at most 1,000,000 rows).",
        ),
        False,
    ),
    "quiet": (bool, _opt("--quiet", "-q", help="No progress display."), False),
    "debug": (bool, _opt("--debug", help="Show tracebacks on errors."), False),
    "as_json": (bool, _opt("--json", help="Print the summary as JSON."), False),
    "model": (
        Path,
        _opt("--model", help="Model directory written by `fincast train`."),
        ...,
    ),
    "data_option": (
        str | None,
        _opt("--data", help="New data (as the DATA argument): CSV/Parquet path or builtin:NAME."),
        None,
    ),
    "forecast_out": (
        Path | None,
        _opt("--out", help="Write the forecast to this CSV file too."),
        None,
    ),
    "ledger": (
        Path | None,
        _opt("--ledger", help="Append the forecast to this ledger file (SQLite; `fincast score`)."),
        None,
    ),
    "backtest_run": (
        Path | None,
        _opt(
            "--backtest",
            help="The backtest run of this model, recorded in fincast.json for `fincast score` "
            "(default: the run whose config.yaml --config reads, if it backtested the model).",
        ),
        None,
    ),
    "trials": (
        int,
        _opt(
            "--trials",
            help="Finished trials the study should reach (a rerun resumes).",
            panel="Tuning",
        ),
        20,
    ),
    "timeout": (
        float | None,
        _opt("--timeout", help="Stop starting trials after this many seconds.", panel="Tuning"),
        None,
    ),
    "storage": (
        str | None,
        _opt(
            "--storage",
            help="Optuna storage URL (default sqlite:///<run dir>/study.db).",
            panel="Tuning",
        ),
        None,
    ),
    "inner_folds": (
        int,
        _opt(
            "--inner-folds",
            help="Validation folds carved from the training period.",
            panel="Tuning",
        ),
        3,
    ),
    "no_backtest": (
        bool,
        _opt(
            "--no-backtest",
            help="Skip the final backtest of the default and tuned model.",
            panel="Tuning",
        ),
        False,
    ),
}


def shown_default(name: str) -> str:
    """How help and the options reference show the default of key ``name``."""
    info = option_info(name)
    if info.get("shown") is not None:
        return str(info["shown"])
    value = RunConfig.model_fields[name].get_default(call_default_factory=True)
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def flag(name: str) -> str:
    """The command-line flag of key ``name``."""
    return "--" + name.replace("_", "-")


def _cli_type(name: str) -> Any:
    """The type the flag of key ``name`` is parsed as (text for lists and mappings)."""
    if option_info(name).get("repeatable"):
        return list[str]
    annotation = RunConfig.model_fields[name].annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if annotation in (bool, int, float):
        return annotation
    return str


def _config_param(name: str, *, default_shown: bool = True) -> inspect.Parameter:
    info = option_info(name)
    help = f"{info['help']} (default: {shown_default(name)})" if default_shown else info["help"]
    kind = _cli_type(name)
    if name == "data":
        marker: Any = typer.Argument(help=help, show_default=False)
    else:
        names = (f"{flag(name)}/--no-{name.replace('_', '-')}",) if kind is bool else (flag(name),)
        marker = typer.Option(
            *names,
            help=help,
            show_default=False,
            metavar=info.get("metavar"),
            rich_help_panel=str(info["section"]).capitalize(),
        )
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[kind | None, marker],
    )


def _invocation_param(name: str) -> inspect.Parameter:
    kind, marker, default = INVOCATION[name]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, marker]
    )


def _yaml_mapping(flag: str, text: str) -> dict[str, Any]:
    """A flag's YAML (or JSON) mapping, e.g. ``--search-space '{units: [16, 32]}'``."""
    try:
        return yaml_mapping(text)
    except ValueError as exc:
        raise ConfigError(f"{flag} {exc}") from None


def config_flags(sections: tuple[str, ...] = SECTIONS) -> list[str]:
    """The config keys of ``sections``, in declaration order."""
    return [k for k in RunConfig.model_fields if option_info(k)["section"] in sections]


@contextlib.contextmanager
def _notes_on_stderr() -> Iterator[None]:
    """Show the loader's notes (:class:`~fincast.data.wide.DataNote`) as ``note: …`` lines."""
    shown = warnings.showwarning

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if category.__name__ == "DataNote":
            print(f"note: {message}", file=sys.stderr)
        else:
            shown(message, category, *args, **kwargs)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def run_command(
    app: typer.Typer,
    *,
    invocation: tuple[str, ...],
    sections: tuple[str, ...] = SECTIONS,
    name: str | None = None,
    keys: tuple[str, ...] | None = None,
    data_required: bool = False,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``func(flags, **invocation)`` as a command taking every key of ``sections``
    (or only ``keys``); with ``data_required`` the DATA argument's help shows no default.

    ``flags`` holds the keys given on the command line (the others are left to the config
    file and the defaults); the invocation options arrive as keyword arguments.
    """

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        chosen_keys = [k for k in config_flags(sections) if keys is None or k in keys]
        params = [
            _config_param(k, default_shown=not data_required) for k in chosen_keys if k == "data"
        ]
        params += [_invocation_param(k) for k in invocation]
        params += [_config_param(k) for k in chosen_keys if k != "data"]

        def command(**values: Any) -> None:
            chosen = {k: values.pop(k) for k in invocation}
            flags = {k: v for k, v in values.items() if v is not None}
            if "search_space" in flags:
                flags["search_space"] = _yaml_mapping("--search-space", flags["search_space"])
            with _notes_on_stderr():
                func(flags, **chosen)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {}
        command.__name__ = func.__name__
        command.__doc__ = func.__doc__
        app.command(name)(command)
        return func

    return decorate


def options_table() -> str:
    """The options table of the docs (Markdown), generated from the declarations.

    A test checks that docs/reference/options.md holds exactly this table (the docs build
    also renders it there); after changing a declaration, paste ``python -c "from fincast.cli_options import options_table as t; print(t())"``.
    """
    rows = ["| flag | section | default | meaning |", "| --- | --- | --- | --- |"]

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    for name in config_flags():
        info = option_info(name)
        shown = "`DATA`" if name == "data" else f"`{flag(name)}`"
        rows.append(
            f"| {shown} | {info['section']} | `{cell(shown_default(name))}` | {cell(info['help'])} |"
        )
    for _, marker, default in INVOCATION.values():
        decls = [marker.default, *marker.param_decls]  # in Annotated, the first name is `default`
        names = ", ".join(f"`{n}`" for n in decls if isinstance(n, str) and n.startswith("-"))
        value = "off" if default is False else "–" if default is None else str(default)
        rows.append(
            f"| {names} | {marker.rich_help_panel.lower()} | `{value}` | {cell(marker.help)} |"
        )
    return "\n".join(rows)
