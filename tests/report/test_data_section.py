"""report.html's Data section: the run's data-health findings, first, escaped (issue 17)."""

from __future__ import annotations

import json

from fincast.cli import main
from fincast.report.html import render_report

from ..conftest import make_ohlcv

NASTY = "<script>alert(1)</script>&x"


def _run(tmp_path, frame, name, *extra):
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / name
    argv = ["backtest", str(path), "--models", "naive", "--folds", "2", "--quiet"]
    assert main([*argv, *extra, "--out", str(out)]) == 0
    return out


def _data_section(text: str) -> str:
    start = text.index("<section id='data'>")
    return text[start : text.index("</section>", start)]


def test_unadjusted_split_is_listed_before_the_verdict_and_rebuilt_identically(tmp_path, capsys):
    frame = make_ohlcv(200, ids=(NASTY,))
    split = frame["date"][120]
    frame.loc[120:, ["Open", "High", "Low", "Close"]] /= 2  # an unadjusted 2:1 split
    run = _run(tmp_path, frame, "split")
    capsys.readouterr()
    metrics = json.loads((run / "metrics.json").read_text())
    (finding,) = metrics["data_health"]
    assert finding["check"] == "split" and finding["series"] == NASTY
    assert finding["dates"] == [str(split.date())] and finding["ratio"] == 0.5
    assert metrics["warnings"] and metrics["warnings"][0].startswith("split: ")  # unchanged

    text = (run / "report.html").read_text(encoding="utf-8")
    data = _data_section(text)
    assert text.index("<h2>Data</h2>") < text.index("id='verdict'")
    assert "<td>split</td>" in data and f"<td>{split.date()}</td>" in data
    assert "× 0.5" in data and "--adjust-splits" in data  # the value and the suggested action
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;x" in data
    assert NASTY not in text  # escaped everywhere, never raw
    assert "No data findings" not in data
    verdict = text[text.index("<section id='verdict-section'>") :]
    assert "Warning: split" not in verdict  # listed once, in the Data section

    before = text
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").read_text(encoding="utf-8") == before
    assert json.loads((run / "metrics.json").read_text())["data_health"] == [finding]


def test_adjust_splits_records_the_split_as_applied(tmp_path, capsys):
    frame = make_ohlcv(200)
    frame.loc[120:, ["Open", "High", "Low", "Close"]] /= 2
    run = _run(tmp_path, frame, "adjusted", "--adjust-splits")
    capsys.readouterr()
    (finding,) = json.loads((run / "metrics.json").read_text())["data_health"]
    assert finding["check"] == "split" and finding["action"].startswith("applied: --adjust-splits")
    assert "applied: --adjust-splits" in _data_section((run / "report.html").read_text())


def test_clean_run_says_no_findings(tmp_path, capsys):
    run = _run(tmp_path, make_ohlcv(200), "clean")
    capsys.readouterr()
    assert json.loads((run / "metrics.json").read_text())["data_health"] == []
    data = _data_section((run / "report.html").read_text(encoding="utf-8"))
    assert "No data findings" in data and "<table>" not in data


def test_run_without_data_health_is_not_called_clean() -> None:
    metrics = {"task": "return", "horizon": 1, "warnings": ["split: …"]}
    text = render_report(metrics, [], config_yaml="", manifest=None, title="t")
    data = _data_section(text)
    assert "did not record data-health findings" in data and "No data findings" not in data
    assert "Warning: split: …" in text  # its warnings stay under the verdict


def test_long_finding_lists_are_cut_and_counted() -> None:
    record = {"check": "spike", "series": "A", "column": "Close", "dates": ["2020-01-01"]}
    metrics = {"task": "return", "horizon": 1, "data_health": [record] * 130}
    data = _data_section(render_report(metrics, [], config_yaml="", manifest=None, title="t"))
    assert data.count("<td>spike</td>") == 100 and "and 30 more data findings" in data
