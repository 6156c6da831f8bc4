"""How the command line ends: exit codes and one-line ``error: …`` messages.

User errors (:class:`~fincast.errors.FincastError`, bad flags, files that cannot be written)
exit 2 with one line on stderr; an interruption exits 130; anything else is a bug in
fincast and exits 1. ``--debug`` anywhere on the command line shows the traceback.
"""

from __future__ import annotations

import traceback
from typing import Any

import typer

from .cli_output import err_console
from .errors import FincastError

__all__ = ["run_app"]


def _click_classes(name: str) -> tuple[type[BaseException], ...]:
    """``click.exceptions.NAME`` from the copy of click typer vendors (typer >= 0.2x) and
    from click itself, whichever are installed."""
    import importlib

    found: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "typer.exceptions", "click.exceptions"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    if not found:  # pragma: no cover - typer always brings one of them
        raise RuntimeError("neither typer's vendored click nor click is importable")
    return tuple(found)


def _one_line(text: str) -> str:
    """``text`` on one line (messages from libraries may span several)."""
    return " ".join(str(text).split())


def run_app(app: Any, args: list[str]) -> int:
    """Run the typer ``app`` on ``args``; map every outcome to an exit code (see ``cli``)."""
    debug = "--debug" in args
    aborts: tuple[type[BaseException], ...] = (
        typer.Abort,
        KeyboardInterrupt,
        *_click_classes("Abort"),
    )
    try:
        app(args=args, standalone_mode=False)
    except FincastError as exc:
        if debug:
            traceback.print_exc()
        err_console.print(
            f"error: {_one_line(str(exc))}", highlight=False, markup=False, soft_wrap=True
        )
        return exc.exit_code
    except aborts:
        err_console.print("error: interrupted", highlight=False, markup=False)
        return 130
    except (
        OSError
    ) as exc:  # the environment, not fincast: disk full, no permission, a file in the way
        if debug:
            traceback.print_exc()
        what = f" {exc.filename}" if exc.filename else ""
        err_console.print(
            f"error: cannot write or read{what}: {_one_line(exc.strerror or str(exc))}; check "
            "the path, its permissions and the free disk space",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return 2
    except _click_classes("Exit") as exc:
        return int(getattr(exc, "exit_code", 0))
    except _click_classes("ClickException") as exc:
        # bad flags: unknown option, a value of the wrong type, a missing argument
        message = exc.format_message()  # type: ignore[attr-defined]
        if not message.strip():  # no arguments: click has printed the help
            return int(getattr(exc, "exit_code", 2))
        ctx = getattr(exc, "ctx", None)
        where = f"`{ctx.command_path} --help`" if ctx is not None else "`fincast --help`"
        err_console.print(
            f"error: {_one_line(message)} (see {where})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return int(getattr(exc, "exit_code", 2)) or 2
    except Exception as exc:
        traceback.print_exc() if debug else None
        err_console.print(
            f"internal error: {type(exc).__name__}: {_one_line(str(exc))} (a bug in fincast; "
            "rerun with --debug for the traceback and report it)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return 1
    return 0
