"""HTML helpers shared by the report's sections (private): escaping, numbers, tables."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, kind: str = "num") -> str:
    """A number for a table: ``–`` when undefined, percentages for returns and rates."""
    if value is None or isinstance(value, str | bool):
        return "–" if value is None else _e(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _e(value)
    if not math.isfinite(v):
        return "–"
    if kind == "pct":
        return f"{v:.2%}"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "p":
        return "<0.001" if v < 0.001 else f"{v:.3f}"
    return f"{v:.4g}"


def _table(
    head: Sequence[str], rows: Iterable[Sequence[str]], row_class: Sequence[str] = ()
) -> str:
    classes = list(row_class)
    out = ["<div class='scroll'><table><thead><tr>"]
    out += [f"<th>{_e(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        cls = f" class='{classes[i]}'" if i < len(classes) and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)
