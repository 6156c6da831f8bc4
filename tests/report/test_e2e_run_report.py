"""A real run directory's report.html in headless Chromium (issue 18).

The run is a real ``fincast backtest``; the page must show the numbers of its own
``metrics.json`` (skill, DM p-value, Sharpe of every model, as formatted on the page), and
the browser console must stay free of errors. A positive control checks that the console
check does fire on a page with a broken script.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from fincast.cli import main

from ..conftest import make_ohlcv

pytestmark = pytest.mark.e2e

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str:
    path = next((p for name in BROWSERS if (p := shutil.which(name))), None)
    if path is None:
        pytest.skip("e2e: Chromium is not installed (apt-get install chromium chromium-driver)")
    return path


def _open(page, profile) -> tuple[str, list[str]]:
    """The page's DOM after load, and the console messages that are errors."""
    done = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    errors = [line for line in console if re.search(r"error|uncaught|failed", line, re.I)]
    return done.stdout, errors


def _fmt4(value: float) -> str:
    """The page's number format (4 significant digits)."""
    return f"{value:.4g}"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e-run")
    csv = root / "prices.csv"
    make_ohlcv(300, seed=2).drop(columns="ticker").to_csv(csv, index=False)
    out = root / "run"
    code = main(
        [
            "backtest",
            str(csv),
            "--models",
            "",
            "--baselines",
            "naive,mean,ridge",
            "--folds",
            "2",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_a_real_runs_report_shows_its_metrics_and_has_no_console_errors(run_dir, tmp_path):
    dom, errors = _open(run_dir / "report.html", tmp_path / "profile")
    assert errors == [], errors
    metrics = json.loads((run_dir / "metrics.json").read_text())
    rows = {r["model"]: r for r in metrics["verdict"]["models"]}
    assert set(rows) == {"mean", "ridge"}
    for name, row in rows.items():
        # the verdict table row of this model: its skill, DM p-value and Sharpe
        found = re.search(rf"<tr><td>{name}</td>(.*?)</tr>", dom)
        assert found, name
        cells = re.findall(r"<td>(.*?)</td>", found.group(1))
        assert _fmt4(row["skill_vs_naive"]) in cells, (name, cells)
        assert f"{row['dm_p_value']:.3f}" in cells, (name, cells)
        assert f"{row['sharpe']:.4g}" in cells, (name, cells)
        assert row["status"] in cells
    for name, entry in metrics["models"].items():  # the accuracy table: mse of every model
        assert f"<td>{name}</td><td>{_fmt4(entry['mse'])}</td>" in dom, name
    total = re.search(r'data-images-total="(\d+)"', dom)
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    assert total and loaded and int(total.group(1)) == int(loaded.group(1)) >= 5


def test_the_console_check_fires_on_a_broken_script(run_dir, tmp_path):
    broken = tmp_path / "broken.html"
    html = (run_dir / "report.html").read_text()
    broken.write_text(html.replace("</body>", "<script>undefinedFunction();</script></body>"))
    shutil.copytree(run_dir / "plots", tmp_path / "plots")
    _, errors = _open(broken, tmp_path / "profile")
    assert errors, "a page with a failing script was reported clean"
