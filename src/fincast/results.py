"""What the Python API returns: results held in memory, shown in notebooks.

:class:`Result` carries a backtest's predictions table, metrics, verdict, figures and
report; :class:`Figures` and :class:`Report` display themselves in Jupyter
(``_repr_html_``) and can be saved. :class:`TrainedModel` is a model fitted by
:func:`fincast.train`, saved to a directory or held in memory.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Figures", "Report", "Result", "TrainedModel", "verdict_frame"]

#: The verdict table's columns, in the order they are shown.
VERDICT_COLUMNS = (
    "model",
    "status",
    "skill_vs_naive",
    "ci_low",
    "ci_high",
    "dm_p_value",
    "beats_naive",
    "sharpe",
    "ic",
)


def verdict_frame(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """The verdict of ``metrics`` (``metrics.json``) as a small table, one row per model."""
    rows = (metrics.get("verdict") or {}).get("models", [])
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else list(VERDICT_COLUMNS))
    cols = [c for c in VERDICT_COLUMNS if c in frame.columns]
    return frame[cols + [c for c in frame.columns if c not in cols]]


class Figures(Mapping[str, bytes]):
    """A run's figures as PNG bytes by name (``"drawdown"``…); shown inline in notebooks."""

    def __init__(self, images: Mapping[str, bytes]) -> None:
        self._images = dict(images)

    def __getitem__(self, name: str) -> bytes:
        try:
            return self._images[name]
        except KeyError:
            raise KeyError(f"no figure {name!r}; this run has {', '.join(self._images)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._images)

    def __len__(self) -> int:
        return len(self._images)

    def __repr__(self) -> str:
        return f"Figures({', '.join(self._images)})"

    def _repr_html_(self) -> str:
        parts = []
        for name, png in self._images.items():
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(name)}'>"
                f"<figcaption>{html.escape(name)}</figcaption></figure>"
            )
        return "\n".join(parts)

    def save(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write every figure as ``NAME.png`` into ``directory`` (created if missing)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, png in self._images.items():
            (out / f"{name}.png").write_bytes(png)
            paths.append(out / f"{name}.png")
        return paths


@dataclass(frozen=True)
class Report:
    """A run's self-contained HTML report; shown inline in notebooks."""

    html: str

    def _repr_html_(self) -> str:
        doc = html.escape(self.html, quote=True)
        return f"<iframe srcdoc=\"{doc}\" style='width:100%;height:800px;border:0'></iframe>"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report to ``path`` (e.g. ``report.html``)."""
        out = Path(path)
        out.write_text(self.html, encoding="utf-8")
        return out


@dataclass
class Result:
    """What :func:`fincast.backtest` produced, in memory.

    Attributes
    ----------
    predictions
        The predictions table (``predictions.parquet``, and ``predictions.csv`` of small
        runs): one row per (model, fold, series, date, horizon).
    metrics
        Every score (``metrics.json``).
    run_dir
        The run directory, or None when nothing was written (``out=None``).
    failures, warnings
        (model, fold) pieces that failed, and the run's warnings.
    """

    predictions: pd.DataFrame
    metrics: dict[str, Any]
    run_dir: Path | None
    failures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: Figures = field(default_factory=lambda: Figures({}), repr=False)
    report_html: str = field(default="", repr=False)

    @property
    def verdict(self) -> pd.DataFrame:
        """Does each model beat naive, how surely: one row per model (see ``metrics.json``)."""
        return verdict_frame(self.metrics)

    @property
    def summary(self) -> str:
        """The verdict in one sentence."""
        return str((self.metrics.get("verdict") or {}).get("summary", ""))

    def plot(self, name: str | None = None) -> Figures:
        """The run's figures (the PNGs of ``plots/``), or only figure ``name``.

        In a notebook the returned object shows the images; ``result.plot()["drawdown"]``
        is the PNG bytes of one figure.
        """
        if name is None:
            return self.figures
        return Figures({name: self.figures[name]})

    def report(self) -> Report:
        """The run's HTML report (``report.html``); shown inline in a notebook."""
        return Report(self.report_html)

    def _repr_html_(self) -> str:
        where = html.escape(str(self.run_dir)) if self.run_dir is not None else "not written"
        table = self.verdict.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="–")
        return (
            f"<div><p><b>fincast backtest</b> · {html.escape(self.summary)}</p>{table}"
            f"<p><small>{len(self.predictions)} predictions · run directory: {where}</small></p>"
            "</div>"
        )

    def __repr__(self) -> str:
        return (
            f"Result({len(self.predictions)} predictions, run_dir={self.run_dir}, "
            f"summary={self.summary!r})"
        )


@dataclass
class TrainedModel:
    """A model fitted by :func:`fincast.train`.

    ``model_dir`` is the saved model directory, or None when it is held in memory only
    (``out=None``); ``forecaster`` is the network in memory (None for a saved model, which
    is loaded from its directory when used). The object is path-like when saved, so ``fincast.predict(model, data)``
    and ``fincast.predict(model.model_dir, data)`` are the same.
    """

    model_dir: Path | None
    info: dict[str, Any] = field(repr=False)
    forecaster: Any = field(repr=False)

    def __fspath__(self) -> str:
        if self.model_dir is None:
            raise TypeError("this model was trained with out=None and has no directory")
        return str(self.model_dir)

    def __str__(self) -> str:  # the directory, as str(path) would give
        return str(self.model_dir) if self.model_dir is not None else repr(self)

    def __truediv__(self, other: str) -> Path:
        return Path(self) / other

    def predict(
        self,
        data: str | os.PathLike[str] | pd.DataFrame,
        out: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> pd.DataFrame:
        """Forecast the next steps of every series of ``data`` (see :func:`fincast.predict`)."""
        from .persist import predict, predict_with

        if self.forecaster is None:
            return predict(Path(self), data, out, **options)
        return predict_with(self.forecaster, self.info, data, out, **options)
