"""The self-contained ``report.html`` of a run: data, verdict, tables, plots, config, manifest.

One HTML file with every image embedded as a base64 ``data:`` URI and the styles inline: it
opens offline, can be mailed or archived alone, and needs nothing but a browser. It is
built from ``metrics.json`` (itself computed from the predictions table), the plots, the
resolved config and the manifest, so ``fincast report RUN_DIR`` rebuilds it without
retraining.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data.health import is_screen_line
from ..metrics.summary import headline_columns
from ..rundir import atomic_write_text
from ..tasks import get_task, task_names
from ._html import _e, _fmt, _table

__all__ = ["PLOT_CAPTIONS", "render_report", "write_report"]

#: Caption of each plot file, in report order.
PLOT_CAPTIONS: dict[str, str] = {
    "actual_vs_predicted": "Actual vs predicted (first series, smallest horizon); dotted lines "
    "mark the first test date of each fold.",
    "cumulative_returns": "Cumulative return of the long/flat rule on each model's forecast, "
    "net of costs, against buy-and-hold.",
    "drawdown": "Drawdown: how far each strategy is below its running peak.",
    "residuals": "Distribution of the residuals y_true − y_pred.",
    "confusion_matrix": "Confusion matrices (rows: actual, columns: predicted).",
    "reliability": "Reliability: observed frequency of up against the forecast probability; "
    "a calibrated model follows the diagonal.",
    "ic": "Information coefficient (correlation of forecast and realised return) over time.",
    "loss": "Training (solid) and validation (dashed) loss per epoch, per fold.",
    "portfolio": "Cross-sectional portfolio: cumulative net return of each model's "
    "long-short portfolio against the equal-weight portfolio of all series.",
    "ic_decay": "IC decay: mean rank IC across series of the forecast made at t against the "
    "return starting L steps later (lag 0 is its own target).",
    "fan": "Fan chart: the best model's forecast (first series, smallest horizon, last test "
    "dates) with its prediction intervals, against the actual values.",
}

_TRADING = (
    ("annual_return", "annual return", "pct"),
    ("annual_volatility", "annual vol", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("max_drawdown", "max drawdown", "pct"),
    ("calmar", "Calmar", "num"),
    ("hit_rate", "hit rate", "pct"),
    ("turnover", "turnover", "num"),
)
_IC = (
    ("ic", "IC"),
    ("rank_ic", "rank IC"),
    ("ic_mean", "IC mean"),
    ("ic_std", "IC sd"),
    ("icir", "ICIR"),
    ("rank_icir", "rank ICIR"),
    ("t_stat", "t-stat"),
)

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:34px 0 10px;border-bottom:1px solid #dde1e7;padding-bottom:4px}
.sub{color:#5b6474;margin:0 0 18px}
.verdict{border-left:6px solid #8a93a3;background:#f1f3f6;padding:12px 16px;font-size:17px;margin:12px 0}
.verdict.yes{border-color:#1a7f37;background:#e9f6ec}.verdict.no{border-color:#b35900;background:#fdf3e7}
table{border-collapse:collapse;margin:8px 0 6px;font-variant-numeric:tabular-nums;font-size:13px}
th,td{padding:4px 9px;border-bottom:1px solid #e5e8ee;text-align:right;white-space:nowrap}
th{background:#f1f3f6;font-weight:600}td:first-child,th:first-child{text-align:left}
tr.bh td{font-style:italic;color:#444}.yes{color:#1a7f37;font-weight:600}.no{color:#9a4a00}
.scroll{overflow-x:auto}.note{color:#5b6474;font-size:12.5px;margin:4px 0 12px}
figure{margin:18px 0}figure img{max-width:100%;height:auto;border:1px solid #e5e8ee}
figcaption{color:#5b6474;font-size:12.5px}
pre{background:#f6f7f9;border:1px solid #e5e8ee;padding:10px;overflow-x:auto;font-size:12px}
"""

# Records, once the page has loaded, how many images decoded (used by the e2e test; harmless).
_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.documentElement.setAttribute('data-images-total', String(imgs.length));
  document.documentElement.setAttribute('data-images-loaded', String(ok));
});
"""


def _with_std(value: Any, std: Any, kind: str) -> str:
    text = _fmt(value, kind)
    if std is None or text == "–" or not isinstance(std, int | float) or std == 0:
        return text
    spread = f"{std:.2%}" if kind == "pct" else f"{std:.2g}"
    return f"{text} <small>± {spread}</small>"


def _verdict(metrics: dict[str, Any]) -> str:
    verdict = metrics.get("verdict") or {}
    rows = verdict.get("models", [])
    any_yes = any(r.get("beats_naive") == "yes" for r in rows)
    parts = [
        f"<div class='verdict {'yes' if any_yes else 'no'}' id='verdict'>"
        f"<strong>Verdict:</strong> {_e(verdict.get('summary', 'not available'))}</div>"
    ]
    alpha = float(verdict.get("alpha", 0.05))
    body = []
    for r in rows:
        ci = "–"
        if r.get("ci_low") is not None and r.get("ci_high") is not None:
            ci = f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
        yes = r.get("beats_naive") == "yes"
        body.append(
            [
                _e(r["model"])
                + (f" <small>({r['seeds']} seeds)</small>" if r.get("seeds", 1) > 1 else ""),
                f"<span class='{'yes' if yes else 'no'}'>{'yes' if yes else 'no'}</span>",
                _e(r.get("status", "")),
                _fmt(r.get("skill_vs_naive")),
                ci,
                _fmt(r.get("dm_p_value"), "p"),
                _fmt(r.get("sharpe")),
                _fmt(r.get("buy_and_hold_sharpe")),
                _fmt(r.get("ic")),
            ]
        )
    if body:
        parts.append(
            _table(
                [
                    "model",
                    f"beats naive at {alpha:.0%}",
                    "reading",
                    "skill vs naive",
                    f"{1 - alpha:.0%} interval",
                    "DM p",
                    "Sharpe, net",
                    "buy-and-hold Sharpe",
                    "IC",
                ],
                body,
            )
        )
    if verdict.get("rival"):  # every network against the best classical model
        parts.append(f"<p id='rival'>{_e(verdict['rival'])}</p>")
    sig = metrics.get("significance") or {}
    notes = [_e(n) for n in verdict.get("notes", [])]  # a task's sentences (VaR backtests)
    if "skipped" in sig:
        notes.append(f"Significance tests skipped: {_e(sig['skipped'])}.")
    else:
        spa = sig.get("spa")
        if spa:
            notes.append(
                f"Hansen's SPA test of “no model beats naive”: p = {_fmt(spa.get('consistent'), 'p')}"
                f" ({spa.get('reps')} stationary-bootstrap draws, mean block {spa.get('block_size')})."
            )
        mcs = sig.get("mcs")
        if mcs:
            notes.append(
                f"Model Confidence Set ({1 - float(mcs.get('size', 0.1)):.0%}): "
                f"{_e(', '.join(mcs.get('included', [])) or 'empty')}."
            )
        for test, reason in (sig.get("not_computed") or {}).items():
            notes.append(f"{_e(test.upper())} not computed: {_e(reason)}.")
        if sig.get("loss"):
            notes.append(
                f"Loss compared: {_e(sig['loss'])} at horizon {_e(sig.get('horizon'))}, over "
                f"{_e(sig.get('n_periods'))} dates; the DM test is one-sided (H1: the model is "
                "more accurate than naive), with the HLN small-sample correction."
            )
    assumed = verdict.get("assumptions") or []
    if assumed:
        notes.append(
            "<span id='assumptions'>What the tests assume: "
            + "; ".join(_e(a) for a in assumed)
            + ".</span>"
        )
    for f in metrics.get("failures", []):
        notes.append(
            f"<span class='no'>Failed:</span> {_e(f.get('model'))} fold {_e(f.get('fold'))}: {_e(f.get('error'))}"
        )
    health = metrics.get("data_health")
    for w in metrics.get("warnings", []):
        if isinstance(health, list) and is_screen_line(str(w), health):
            continue  # a data-health finding: listed in the Data section
        notes.append(f"Warning: {_e(w)}")
    metric = next((r.get("ci_metric") for r in rows if r.get("ci_metric")), None)
    if metric:
        notes.insert(
            0,
            f"The interval is a stationary-bootstrap interval of {_e(metric)}; Sharpe is "
            "that of the long/flat rule on the model's forecast, after costs; IC is the "
            "correlation of forecast and realised return.",
        )
    parts += [f"<p class='note'>{n}</p>" for n in notes]
    return "".join(parts)


#: Data findings shown in the report; the rest are counted (all are in metrics.json).
DATA_SHOWN = 100


def _data_section(metrics: dict[str, Any]) -> str:
    """The data-health findings the run recorded (``metrics["data_health"]``), as a table."""
    if "data_health" not in metrics:
        return (
            "<p class='note' id='data-none'>This run did not record data-health findings "
            "(it predates them); any warnings are listed under the verdict.</p>"
        )
    findings = [f for f in metrics["data_health"] if isinstance(f, dict)]
    if not findings:
        return "<p class='note' id='data-none'>No data findings: the data-health checks found nothing to report.</p>"
    rows = [
        [
            _e(f.get("check", "")),
            _e(f.get("series", "")),
            _e(f.get("column", "")),
            " … ".join(_e(d) for d in f.get("dates") or []),
            _e(f.get("value", "")),
            f"<span style='white-space:normal'>{_e(f.get('action', ''))}</span>",
        ]
        for f in findings[:DATA_SHOWN]
    ]
    parts = [
        f"<p class='note'>{len(findings)} data finding{'s' if len(findings) != 1 else ''} "
        "(run <code>fincast validate</code> on the data for details; <code>--strict</code> "
        "makes them errors, <code>--adjust-splits</code> applies detected splits).</p>",
        _table(["check", "series", "column", "date(s)", "value", "suggested action"], rows),
    ]
    if len(findings) > DATA_SHOWN:
        parts.append(
            f"<p class='note'>… and {len(findings) - DATA_SHOWN} more data findings "
            "(all are in metrics.json under data_health).</p>"
        )
    return "".join(parts)


def _metrics_tables(metrics: dict[str, Any]) -> str:
    columns = headline_columns(str(metrics.get("task")))
    models = metrics.get("models", {})
    pct = {"accuracy", "precision", "recall", "f1", "direction_accuracy", "subset_accuracy"}
    rows = []
    for name, m in models.items():
        std = (m.get("seeds") or {}).get("std", {})
        row = [_e(name)]
        for c in columns:
            kind = "int" if c == "n_predictions" else "pct" if c in pct else "num"
            row.append(_with_std(m.get(c), std.get(c), kind))
        rows.append(row)
    parts = ["<h3>Forecast accuracy</h3>", _table(["model", *columns], rows)]
    fin = metrics.get("finance") or {}
    if "skipped" in fin:
        parts.append(f"<p class='note'>Finance metrics skipped: {_e(fin['skipped'])}.</p>")
        return "".join(parts)
    for mode, title in (("long_flat", "long/flat"), ("long_short", "long/short")):
        rows, classes = [], []
        entries = [
            (n, m.get("finance", {}), (m.get("seeds") or {}).get("std", {}).get("finance", {}))
            for n, m in models.items()
        ]
        entries.append(("buy-and-hold", {"trading": fin.get("buy_and_hold", {})}, {}))
        for name, f, fstd in entries:
            t = f.get("trading", {}).get(mode, {})
            tstd = fstd.get("trading", {}).get(mode, {}) if isinstance(fstd, dict) else {}
            rows.append(
                [_e(name), *(_with_std(t.get(k), tstd.get(k), kind) for k, _, kind in _TRADING)]
            )
            classes.append("bh" if name == "buy-and-hold" else "")
        parts.append(
            f"<h3>Trading rule: {title}, net of {fin.get('cost_bps', 0):g} bp per side</h3>"
        )
        parts.append(_table(["strategy", *(label for _, label, _ in _TRADING)], rows, classes))
    parts.append(
        f"<p class='note'>Horizon {_e(fin.get('horizon'))}, non-overlapping holding periods, "
        f"annualised with {_fmt(fin.get('periods_per_year'))} periods a year. {_e(fin.get('rule', ''))}.</p>"
    )
    rows = []
    for name, m in models.items():
        ic = m.get("finance", {}).get("ic", {})
        rows.append([_e(name), *(_fmt(ic.get(k)) for k, _ in _IC), _e(ic.get("method", "–"))])
    parts.append("<h3>Information coefficient</h3>")
    parts.append(_table(["model", *(label for _, label in _IC), "method"], rows))
    return "".join(parts)


def _fold_table(metrics: dict[str, Any]) -> str:
    task = str(metrics.get("task"))
    headline = get_task(task).fold_headline if task in task_names() else ("mse", "num")
    models = metrics.get("models", {})
    keys = sorted({k for m in models.values() for k in m.get("folds", {})}, key=int)
    info = {str(f.get("fold")): f for f in metrics.get("folds", [])}
    rows = []
    for k in keys:
        f = info.get(k, {})
        for j, (name, m) in enumerate(models.items()):
            fm = m.get("folds", {}).get(k, {})
            first = j == 0
            rows.append(
                [
                    _e(k) if first else "",
                    f"{_e(f.get('train_start', '–'))} → {_e(f.get('train_end', '–'))}"
                    if first
                    else "",
                    f"{_e(f.get('test_start', '–'))} → {_e(f.get('test_end', '–'))}"
                    if first
                    else "",
                    _e(name),
                    _fmt(fm.get(headline[0]), headline[1]),
                    _fmt(fm.get("skill_vs_naive")),
                    _fmt(fm.get("n_predictions"), "int"),
                ]
            )
    head = ["fold", "train dates", "test dates", "model", headline[0], "skill vs naive", "n"]
    return _table(head, rows)


def _figures(plots: Sequence[Path]) -> str:
    parts = []
    for p in plots:
        data = base64.b64encode(Path(p).read_bytes()).decode("ascii")
        caption = PLOT_CAPTIONS.get(Path(p).stem, Path(p).stem)
        parts.append(
            f"<figure id='plot-{_e(Path(p).stem)}'><img alt='{_e(Path(p).stem)}' "
            f"src='data:image/png;base64,{data}'><figcaption>{_e(caption)}</figcaption></figure>"
        )
    return "".join(parts)


def _portfolio_section(metrics: dict[str, Any]) -> str:
    from .portfolio import portfolio_section

    return portfolio_section(metrics)


def _interval_section(metrics: dict[str, Any]) -> str:
    from .intervals import interval_section

    return interval_section(metrics)


def render_report(
    metrics: dict[str, Any],
    plots: Sequence[Path],
    *,
    config_yaml: str,
    manifest: dict[str, Any] | None,
    title: str,
) -> str:
    """The report as one self-contained HTML string.

    Parameters
    ----------
    metrics
        ``metrics.json`` (the result of :func:`~fincast.metrics.evaluate` plus the run's
        ``folds``, ``failures``, ``warnings`` and ``data_health``).
    plots
        PNG files to embed, in order.
    config_yaml
        The resolved configuration.
    manifest
        The run manifest (versions, data hash, times).
    title
        The page title.

    Returns
    -------
    str
    """
    sub = f"task {metrics.get('task')} · horizon {metrics.get('horizon')}"
    if manifest:
        ds = manifest.get("dataset", {})
        sub += f" · data {ds.get('source', '?')} ({ds.get('series', '?')} series, {ds.get('rows', '?')} rows) · seed {manifest.get('seed', '?')}"
    body = [
        f"<h1>{_e(title)}</h1><p class='sub'>{_e(sub)}</p>",
        "<section id='data'><h2>Data</h2>",
        _data_section(metrics),
        "</section><section id='verdict-section'><h2>Verdict</h2>",
        _verdict(metrics),
        "</section><section id='metrics'><h2>Metrics</h2>",
        _metrics_tables(metrics),
        _portfolio_section(metrics),
        "</section>",
        _interval_section(metrics),
        "<section id='folds'><h2>Per fold</h2>",
        _fold_table(metrics),
        "<p class='note'>skill = 1 − MSE / MSE of naive (regression) or accuracy − accuracy of naive (classes), on the fold's rows.</p>",
        "</section><section id='plots'><h2>Plots</h2>",
        _figures(plots),
        "</section><section id='config'><h2>Resolved configuration</h2>",
        f"<pre>{_e(config_yaml)}</pre>",
        "</section><section id='manifest'><h2>Manifest</h2>",
        f"<pre>{_e(json.dumps(manifest or {}, indent=2))}</pre></section>",
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style><script>{_SCRIPT}</script></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def write_report(
    path: Path,
    metrics: dict[str, Any],
    plots: Sequence[Path],
    *,
    config_yaml: str,
    manifest: dict[str, Any] | None,
    title: str = "fincast report",
) -> Path:
    """Write :func:`render_report` atomically to ``path`` and return it."""
    return atomic_write_text(
        Path(path),
        render_report(metrics, plots, config_yaml=config_yaml, manifest=manifest, title=title),
    )
