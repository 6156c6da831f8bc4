"""Open report.html in headless Chromium: it renders, every image loads, the verdict is there.

Needs the Debian packages ``chromium`` (and ``chromium-driver``); skipped with the reason
when no Chromium is installed (``make test`` lists skips with ``-ra``).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from fincast.metrics import evaluate
from fincast.report import write_plots
from fincast.report.html import write_report

from ..metrics.test_evaluation import table

pytestmark = pytest.mark.e2e

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def test_report_renders_in_headless_chromium(tmp_path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("e2e: Chromium is not installed (apt-get install chromium chromium-driver)")
    pred = table(n=120)
    metrics = evaluate(pred, "return", bootstrap_reps=20)
    plots = write_plots(pred, "return", tmp_path / "plots")
    report = write_report(
        tmp_path / "report.html", metrics, plots, config_yaml="task: return\n", manifest={}
    )
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",  # let the page load and its check script run
            "--dump-dom",
            report.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    dom = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    # the page's own script records, after load, how many images decoded (naturalWidth > 0)
    total = re.search(r'data-images-total="(\d+)"', dom)
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    assert total and loaded, "the page's load script did not run"
    assert int(total.group(1)) == len(plots) >= 5
    assert int(loaded.group(1)) == len(plots)
    assert 'id="verdict"' in dom and "good beats naive at 5%" in dom
    assert "<h2>Metrics</h2>" in dom and "<h2>Plots</h2>" in dom
