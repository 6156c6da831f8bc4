"""report.html: self-contained, verdict first, every section and plot present."""

from __future__ import annotations

import base64
import re

import pytest

from fincast.metrics import evaluate
from fincast.report import write_plots
from fincast.report.html import render_report, write_report

from ..metrics.test_evaluation import seeded_table, table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    pred = table(n=120)
    metrics = evaluate(pred, "return", bootstrap_reps=20)
    metrics["folds"] = [
        {
            "fold": 0,
            "train_start": "2010-01-01",
            "train_end": "2018-12-01",
            "test_start": "2019-01-01",
            "test_end": "2019-02-15",
        },
    ]
    metrics["failures"] = [{"model": "lstm", "fold": 1, "error": "ValueError: <boom>"}]
    metrics["warnings"] = []
    history = {"good": {"0": {"loss": [1.0, 0.5]}}}
    plots = write_plots(pred, "return", out / "plots", history=history)
    manifest = {"status": "complete", "seed": 0, "dataset": {"source": "x.csv", "series": 1}}
    path = write_report(
        out / "report.html", metrics, plots, config_yaml="task: return\n", manifest=manifest
    )
    return path.read_text(encoding="utf-8"), plots


def test_report_is_self_contained(built) -> None:
    text, plots = built
    sources = re.findall(r"src='([^']*)'", text)
    assert len(sources) == len(plots) >= 5
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC
    # nothing is fetched from anywhere: no links to stylesheets, scripts or remote images
    assert not re.search(r"(href|src)=['\"]?(https?:|//|file:)", text)
    assert "<link" not in text


def test_report_sections_in_order(built) -> None:
    text, _ = built
    markers = [
        "id='verdict'",
        "<h2>Metrics</h2>",
        "<h2>Per fold</h2>",
        "<h2>Plots</h2>",
        "<h2>Resolved configuration</h2>",
        "<h2>Manifest</h2>",
    ]
    positions = [text.index(m) for m in markers]
    assert positions == sorted(positions)
    assert "good beats naive at 5%" in text
    for plot in (
        "actual_vs_predicted",
        "cumulative_returns",
        "drawdown",
        "residuals",
        "ic",
        "loss",
    ):
        assert f"id='plot-{plot}'" in text
    assert "buy-and-hold" in text and "Information coefficient" in text
    assert "2019-01-01 → 2019-02-15" in text  # the per-fold dates
    assert "task: return" in text and "&quot;status&quot;: &quot;complete&quot;" in text


def test_report_escapes_and_shows_undefined_as_dash(built) -> None:
    text, _ = built
    assert "&lt;boom&gt;" in text and "<boom>" not in text
    naive_row = re.search(r"<tr><td>naive</td>(.*?)</tr>", text).group(1)
    assert "<td>–</td>" in naive_row  # naive's direction accuracy is undefined
    visible = re.sub(r"src='data:[^']*'", "", text)
    assert not re.search(r"\bnan\b", visible, flags=re.IGNORECASE)


def test_report_shows_seed_spread() -> None:
    metrics = evaluate(seeded_table(), "return", bootstrap_reps=10)
    text = render_report(metrics, [], config_yaml="", manifest=None, title="t")
    assert "(2 seeds)" in text and "<small>± " in text and "m-ensemble" in text
