"""The bad-input corpus (tests/data/bad/): every file gives exactly its listed outcome.

Driven through the command line (``fincast.cli.main``, the console script's entry point):
exit code 2 with exactly one line ``error: …`` on stderr, no traceback and no run directory
left behind — or, for inputs handled by a documented policy, success with the listed warning
or output. ``manifest.yaml`` is the table of files and outcomes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fincast.cli import main

CORPUS = Path(__file__).parent / "data" / "bad"
MANIFEST: list[dict[str, Any]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text("utf-8"))
NOT_INPUTS = {"manifest.yaml", "make_corpus.py", "__pycache__"}


def _cases() -> list[Any]:
    cases = []
    for i, entry in enumerate(MANIFEST):
        for command in entry.get("run", ["validate", "backtest"]):
            extra = " ".join(str(a) for a in entry.get("args", []))
            cases.append(
                pytest.param(entry, command, id=f"{i:02d}-{command}-{entry['file']}-{extra}")
            )
    return cases


def test_corpus_is_large_and_every_file_has_an_outcome():
    files = {p.name for p in CORPUS.iterdir() if p.name not in NOT_INPUTS}
    listed = {e["file"] for e in MANIFEST}
    assert files <= listed, f"files without an expected outcome: {sorted(files - listed)}"
    assert len(listed) >= 25
    for entry in MANIFEST:
        assert entry["exit"] in (0, 2)
        assert ("error" in entry) == (entry["exit"] == 2), entry


@pytest.mark.parametrize(("entry", "command"), _cases())
def test_bad_input_gives_its_exact_outcome(entry, command, tmp_path, capsys):
    path = CORPUS / entry["file"]
    data = CORPUS / entry["data"] if "data" in entry else path
    args = [str(a).replace("{file}", str(path)) for a in entry.get("args", [])]
    argv = [command, str(data), *args]
    out_dir = tmp_path / "run"
    if command == "backtest":
        argv += ["--out", str(out_dir), "--quiet"]
        if "--models" not in args and "--config" not in args:
            argv += ["--models", "naive"]
    before = sorted(p.name for p in CORPUS.iterdir())

    code = main(argv)
    out, err = capsys.readouterr()

    assert code == entry["exit"], f"{argv}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in out + err
    assert sorted(p.name for p in CORPUS.iterdir()) == before, "wrote next to the input"
    lines = [line for line in err.splitlines() if line.strip()]
    if code == 2:
        assert len(lines) == 1, f"expected one error line, got:\n{err}"
        assert lines[0].startswith("error: ")
        assert entry["error"] in lines[0], lines[0]
        assert not out_dir.exists(), "a failed run left a run directory behind"
        return
    assert not any(line.startswith("error") for line in lines), err
    if "warning" in entry:
        warnings = [line for line in lines if line.startswith("warning:")]
        assert any(entry["warning"] in w for w in warnings), err
    if "stdout" in entry:
        assert entry["stdout"] in out, out
    if command == "backtest":
        assert '"status": "complete"' in (out_dir / "manifest.json").read_text()


def test_a_real_process_prints_only_the_error_line(tmp_path):
    """Through the console entry point in its own process: nothing else on stderr."""
    import os
    import subprocess
    import sys

    import fincast

    env = dict(os.environ, PYTHONPATH=str(Path(fincast.__file__).resolve().parents[1]))
    out_dir = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "fincast", "backtest", str(CORPUS / "negative_prices.csv"),
         "--out", str(out_dir)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {CORPUS / 'negative_prices.csv'}: column `Close` has 1 non-positive values "
        "(first -116.257 at 2020-04-22, series negative_prices); --task return uses log "
        "returns, which need positive prices: use --task level or clean the data"
    ]
    assert proc.stdout == "" and not out_dir.exists()
