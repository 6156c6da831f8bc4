"""The command line: exit codes, one-line errors, outputs."""

import json
import subprocess
import sys

import pytest

from fincast.cli import main


def run_cli(*args, capsys):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_datasets_lists_builtins(capsys):
    code, out, _ = run_cli("datasets", capsys=capsys)
    assert code == 0 and "sp500" in out and "nasdaq" in out


def test_models_lists_models(capsys):
    code, out, _ = run_cli("models", capsys=capsys)
    assert code == 0 and "seed-mlp" in out and "naive" in out


def test_validate_prints_summary(capsys, ohlcv_csv):
    code, out, _ = run_cli("validate", str(ohlcv_csv), "--json", capsys=capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["n_rows"] == 300


def test_validate_missing_file_is_a_one_line_error(capsys, tmp_path):
    code, _out, err = run_cli("validate", str(tmp_path / "nope.csv"), capsys=capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "nope.csv" in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--horizon", "0"], "horizon must be"),
        (["--folds", "0"], "folds must be"),
        (["--models", "transformerz"], "not known"),
        (["--task", "price"], "task 'price' is not known"),
        (["--lookback", "100000"], "needs at least"),
        (["--horizon", "x"], "horizon"),
    ],
)
def test_backtest_bad_flags_exit_2_with_one_line(capsys, tmp_path, ohlcv_csv, args, words):
    out_dir = tmp_path / "run"
    code, _, err = run_cli("backtest", str(ohlcv_csv), "--out", str(out_dir), *args, capsys=capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert not out_dir.exists()


def test_backtest_prints_table_and_run_dir(capsys, tmp_path, ohlcv_csv):
    out_dir = tmp_path / "run"
    code, out, err = run_cli(
        "backtest",
        str(ohlcv_csv),
        "--epochs",
        "1",
        "--folds",
        "2",
        "--out",
        str(out_dir),
        "--quiet",
        capsys=capsys,
    )
    assert code == 0, err
    assert "│ mlp " in out and "naive" in out and "skill_vs_naive" in out
    assert str(out_dir) in out.replace("\n", "")
    assert (out_dir / "manifest.json").exists()


def test_config_file_with_unknown_key_suggests_the_right_one(capsys, tmp_path, ohlcv_csv):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: {ohlcv_csv}\nepoch: 3\n")
    code, _, err = run_cli("backtest", "--config", str(cfg), capsys=capsys)
    assert code == 2 and "unknown key `epoch`" in err and "did you mean `epochs`" in err


def test_console_script_entry_point_exit_code(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "fincast", "validate", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")


_EXIT_PROBE = """
import atexit, sys
from pathlib import Path
marker = Path(sys.argv[1])
atexit.register(lambda: marker.write_text("ran"))
atexit.register(lambda: print("handler output"))
class TornDown:
    def __del__(self):
        print("torn down")
keep = TornDown()  # finalised only if the interpreter is torn down
sys.argv = ["fincast", *sys.argv[2:]]
from fincast.cli import run
run()
print("never printed")
"""


@pytest.mark.parametrize(("args", "code"), [(["datasets"], 0), (["validate", "missing.csv"], 2)])
def test_console_script_skips_teardown_but_flushes_and_runs_atexit(tmp_path, args, code):
    """``run`` ends with os._exit (no slow interpreter teardown) yet loses nothing: the
    exit code, everything printed (into a pipe: block-buffered) and the atexit handlers."""
    marker = tmp_path / "atexit.txt"
    proc = subprocess.run(
        [sys.executable, "-c", _EXIT_PROBE, str(marker), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == code, proc.stderr
    assert marker.read_text() == "ran"
    assert proc.stdout.rstrip().endswith("handler output")
    assert "never printed" not in proc.stdout and "torn down" not in proc.stdout
    if code == 0:
        assert "sp500" in proc.stdout  # the command's own output, flushed before exiting
    else:
        assert proc.stderr.startswith("error: ") and "missing.csv" in proc.stderr


def test_printed_paths_are_never_wrapped_or_read_as_markup(tmp_path, capsys, ohlcv_csv):
    """The run directory is copied from the output into other commands: one line, as it is,
    however long, and a ``[`` in a directory name is not rich markup."""
    out = tmp_path / ("x" * 120) / "run [1]"
    code = main(["backtest", str(ohlcv_csv), "--models", "", "--folds", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert f"run directory: {out}\n" in printed
    assert f"report: {out / 'report.html'}\n" in printed
