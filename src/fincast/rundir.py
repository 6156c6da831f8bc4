"""Run directories: atomic writes, a lock, and a manifest written last.

A run directory is complete when its ``manifest.json`` says ``"status": "complete"``.
While a run is going it holds a ``.lock`` (an OS-level lock, released even on ``kill -9``)
and the finished pieces under ``parts/``; every file is written to a temporary name in the
same directory and renamed into place, so no file is ever half-written.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import RunError

__all__ = [
    "RunDirectory",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_chunks",
    "atomic_write_text",
    "check_resume",
    "package_versions",
    "read_manifest",
    "resumable",
    "safe_name",
]

PACKAGES = (
    "fincast",
    "numpy",
    "pandas",
    "keras",
    "jax",
    "jaxlib",
    "scikit-learn",
    "scipy",
    "statsmodels",
    "arch",
    "matplotlib",
    "pydantic",
    "lightgbm",  # optional (fincast[gbdt]): None when not installed
)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; renamed onto ``path`` when the block ends.

    The file is synced to disk before the rename. When the block raises (an error, Ctrl-C),
    the temporary file is removed and ``path`` is left as it was: never half-written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_chunks(path: Path, chunks: Iterable[bytes]) -> Path:
    """Write the concatenation of ``chunks`` to ``path`` atomically, one chunk at a time."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        for chunk in chunks:
            fh.write(chunk)
    return Path(path)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    return atomic_write_chunks(path, (data,))


def atomic_write_text(path: Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """Write a frame as CSV atomically, with a stable float format.

    The text is built and written a chunk of rows at a time
    (:func:`~fincast._csv.to_csv_bytes`): the same bytes as pandas' ``to_csv``.
    """
    from ._csv import NotChunked, to_csv_bytes, to_csv_text

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        try:
            for chunk in to_csv_bytes(frame, "%.10g"):
                fh.write(chunk)
        except NotChunked:  # formats pandas decides from whole columns: the whole frame
            fh.seek(0)
            fh.truncate()
            fh.write(to_csv_text(frame, "%.10g").encode("utf-8"))
    return Path(path)


def package_versions() -> dict[str, str | None]:
    """Versions of Python and the packages a run depends on."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of a run directory, or None when it has none."""
    p = Path(path) / "manifest.json"
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{p} is not a readable fincast manifest ({exc})") from None
    return data if isinstance(data, dict) else None


def _locked_error(path: Path) -> RunError:
    try:
        pid = (path / ".lock").read_text().strip()
    except OSError:
        pid = ""
    who = f" (pid {pid})" if pid.isdigit() else ""
    return RunError(
        f"{path} is in use by another fincast run{who}: its .lock is held; wait for that run "
        "to finish or use another --out"
    )


def _refuse_if_locked(path: Path) -> None:
    """Raise :class:`RunError` when a live fincast process holds ``path/.lock``."""
    lock = path / ".lock"
    if not lock.is_file():
        return
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _locked_error(path) from None
    finally:
        os.close(fd)  # closing releases the probe's shared lock


#: Keys that may change when a run is finished: where units run never changes the results.
RESUME_FREE = frozenset({"out", "executor", "workers", "ray_address"})


def resumable(path: str | Path) -> Path:
    """The ``config.yaml`` of the interrupted run in ``path``.

    Raises
    ------
    RunError
        When ``path`` is not a directory or holds no ``config.yaml``.
    """
    p = Path(path)
    if not p.is_dir():
        raise RunError(f"cannot resume {p}: no such run directory; check the path")
    if not (p / "config.yaml").is_file():
        raise RunError(
            f"cannot resume {p}: it has no config.yaml, so it is not a fincast run "
            "directory (or the run stopped before it started); start a new run instead"
        )
    return p / "config.yaml"


def check_resume(path: str | Path, config: Any, *, require_config: bool = True) -> None:
    """Refuse to finish the run in ``path`` with settings other than those it started with.

    Parameters
    ----------
    path
        The run directory to finish.
    config
        The :class:`~fincast.config.RunConfig` the run would be finished with.
    require_config
        Refuse a directory without ``config.yaml`` (not a fincast run, or one that stopped
        before it started) instead of accepting it.

    Raises
    ------
    RunError
        For a missing directory, a run still going, or changed settings.
    """
    from .config import load_config

    p = Path(path)
    if not require_config and p.is_dir() and not (p / "config.yaml").is_file():
        return  # stopped before it wrote its settings: nothing to compare
    stored_file = resumable(p)
    _refuse_if_locked(p)  # a run still going is the first thing to say
    stored = load_config(stored_file).model_dump(mode="json")
    now = config.model_dump(mode="json")  # as written (a DataFrame covariate: its hash)
    changed = [k for k in now if k not in RESUME_FREE and now[k] != stored.get(k)]
    if changed:
        shown = ", ".join(f"{k} {stored.get(k)!r} -> {now[k]!r}" for k in changed[:3])
        raise RunError(
            f"cannot resume {p} with different settings ({shown}); drop those flags to "
            "finish the run as it was started, or start a new run with another --out"
        )


def safe_name(name: str) -> str:
    """``name`` as a single file-name component: no separators, no ``..``, no hidden file.

    Names come from the configuration (model names) and must never lead a write outside
    the run directory.
    """
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name))
    cleaned = cleaned.strip(".") or "_"
    return cleaned


class RunDirectory:
    """A run directory being written.

    Parameters
    ----------
    path
        The directory.
    resume
        Continue an unfinished run in ``path`` instead of refusing a non-empty directory.
    config
        With ``resume``: the run's configuration, refused (:func:`check_resume`) when it
        differs from the ``config.yaml`` the run was started with.
    """

    def __init__(self, path: str | Path, *, resume: bool = False, config: Any = None) -> None:
        self.path = Path(path)
        self.resume = resume
        self.config = config
        self._lock_fd: int | None = None

    @property
    def parts(self) -> Path:
        return self.path / "parts"

    def open(self) -> RunDirectory:
        """Create (or re-open, with ``resume``) the directory and take its lock."""
        p = self.path
        if p.exists() and not p.is_dir():
            raise RunError(f"--out {p} exists and is not a directory; choose another --out")
        if p.is_dir():
            _refuse_if_locked(p)
            if self.resume and self.config is not None:
                check_resume(p, self.config, require_config=False)
        manifest = read_manifest(p) if p.is_dir() else None
        if manifest and manifest.get("status") == "complete":
            raise RunError(f"{p} already holds a complete run; choose another --out or delete it")
        if p.is_dir() and any(p.iterdir()) and not self.resume:
            raise RunError(
                f"{p} is not empty; choose another --out, or pass --resume {p} to finish an "
                "interrupted run"
            )
        if self.resume and not p.is_dir():
            raise RunError(f"cannot resume {p}: no such run directory")
        self.parts.mkdir(parents=True, exist_ok=True)
        fd = os.open(p / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _locked_error(p) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        return self

    def close(self, *, complete: bool) -> None:
        """Release the lock; on completion remove the lock file, the parts and what a crashed
        write of an earlier try left (``.NAME.*.tmp``)."""
        if complete:
            for part in self.parts.glob("*"):
                part.unlink()
            self.parts.rmdir()
            for tmp in self.path.glob(".*.tmp"):  # an atomic write a crash cut short
                tmp.unlink(missing_ok=True)
            (self.path / ".lock").unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def manifest_payload(self, info: dict[str, Any]) -> dict[str, Any]:
        """What :meth:`write_manifest` writes: versions, platform, command line, then ``info``."""
        return {
            "versions": package_versions(),
            "platform": platform.platform(),
            "command": sys.argv,
            **info,
        }

    def write_manifest(self, info: dict[str, Any]) -> Path:
        """Write ``manifest.json`` (with versions and the command line)."""
        data = self.manifest_payload(info)
        return atomic_write_text(self.path / "manifest.json", json.dumps(data, indent=2) + "\n")
