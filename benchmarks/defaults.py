"""Default-settings quality table: every network and classical baseline, no flags.

Each case is one ``fincast.backtest`` with fincast's defaults (only ``models``,
``baselines``, the task and the horizon set; ``folds`` can be lowered to save time), and
the score the issue-12 targets are about:

- ``ar2-garch``: out-of-sample MSE / best achievable MSE (the mean conditional variance,
  known from the simulation); target <= 1.05 for ``mlp`` and ``lstm``;
- ``random-walk``: skill against naive; target within [-0.01, 0.01] for every network;
- ``sp500-return``, ``nasdaq-return``, ``panel``: skill against naive; target >= -0.01;
- ``sp500-volatility``, ``nasdaq-volatility``, ``wti-volatility`` and the pooled panel
  ``stocks20-volatility`` (h 1 and 5), against every classical rival (:data:`VOL_RIVALS`:
  ewma, garch, ridge, har, loghar, latent-har, lightgbm): skill per horizon, whether the model beats
  naive, and the verdict's test against the best rival chosen on the validation tails
  (:mod:`fincast.metrics.rivals`; its skill gap and DM at 5 %). Issue-25 target for
  ``mlp`` and ``lstm``: skill >= the best classical skill - 0.005, and on two real cases a
  DM win over the rival;
- ``loghar-leverage``: a simulated log-HAR volatility with a leverage threshold (a real
  nonlinearity, :func:`benchmarks.simulate.loghar_leverage`), out-of-sample MSE / best
  achievable MSE; target <= 1.05 for the networks, ridge and HAR measurably further;
- ``nasdaq-direction``: log loss; target <= the majority baseline's + 0.005.

Run one case: ``python -m benchmarks.defaults CASE [--folds N] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "src", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.simulate import ar_garch, loghar_leverage, random_walk  # noqa: E402

__all__ = ["CASES", "NETWORKS", "markdown", "merge", "run_case"]

NETWORKS = ["seed-mlp", "mlp", "lstm", "gru", "cnn", "transformer"]

#: The classical models a volatility forecast is compared with (issue 25's rivals).
VOL_RIVALS = ["naive", "ewma", "garch", "ridge", "har", "loghar", "latent-har", "lightgbm"]

#: name -> (data, task settings, baselines)
CASES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "ar2-garch": ("sim:ar_garch", {}, ["naive", "mean", "ar", "ridge"]),
    "random-walk": ("sim:random_walk", {}, ["naive", "mean", "ar", "ridge"]),
    "sp500-return": ("builtin:sp500", {}, ["naive", "mean", "ar", "ridge"]),
    "nasdaq-return": ("builtin:nasdaq", {}, ["naive", "mean", "ar", "ridge"]),
    "sp500-volatility": ("builtin:sp500", {"task": "volatility", "horizon": [1, 5]}, VOL_RIVALS),
    "nasdaq-volatility": ("builtin:nasdaq", {"task": "volatility", "horizon": [1, 5]}, VOL_RIVALS),
    "wti-volatility": ("builtin:wti", {"task": "volatility", "horizon": [1, 5]}, VOL_RIVALS),
    "stocks20-volatility": (
        "builtin:stocks20",
        {"task": "volatility", "horizon": [1, 5]},
        VOL_RIVALS,
    ),
    "loghar-leverage": ("sim:loghar_leverage", {"task": "volatility"}, VOL_RIVALS),
    "nasdaq-direction": (
        "builtin:nasdaq",
        {"task": "direction"},
        ["naive", "majority", "ridge"],
    ),
    "panel": ("sim:panel", {}, ["naive", "mean", "ridge"]),
}


def _ar_garch_panel(tickers: int = 4, n: int = 1500) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames, limits = [], []
    for k in range(tickers):
        frame, limit = ar_garch(n, seed=100 + k)
        frames.append(frame.assign(ticker=f"S{k}"))
        limits.append(limit.assign(ticker=f"S{k}"))
    return pd.concat(frames, ignore_index=True), pd.concat(limits)


def _data(source: str, workdir: Path) -> tuple[str, Any]:
    """A backtest data argument and what the simulation knows (or None)."""
    if not source.startswith("sim:"):
        return source, None
    kind = source.removeprefix("sim:")
    if kind == "ar_garch":
        frame, limits = ar_garch(6000, seed=0)
    elif kind == "loghar_leverage":
        frame, limits = loghar_leverage(6000, seed=2)
    elif kind == "random_walk":
        frame, limits = random_walk(6000, seed=1), None
    else:
        frame, limits = _ar_garch_panel()
    path = workdir / f"{kind}.csv"
    frame.to_csv(path, index=False)
    return str(path), limits


def run_case(name: str, folds: int = 5, models: list[str] | None = None) -> dict[str, Any]:
    """Backtest case ``name`` with default settings; return its scores per model."""
    import fincast

    source, settings, baselines = CASES[name]
    models = models or NETWORKS
    with tempfile.TemporaryDirectory() as tmp:
        data, limits = _data(source, Path(tmp))
        t0 = time.perf_counter()
        result = fincast.backtest(
            data,
            models=models,
            baselines=baselines,
            folds=folds,
            out=str(Path(tmp) / "run"),
            **settings,
        )
        seconds = time.perf_counter() - t0
    metrics = result.metrics
    verdict = {row["model"]: row for row in metrics["verdict"]["models"]}
    out: dict[str, Any] = {"case": name, "folds": folds, "seconds": seconds, "models": {}}
    for model, m in metrics["models"].items():
        row: dict[str, Any] = {"skill": m.get("skill_vs_naive")}
        if "horizons" in m:
            row["skill_h"] = {h: v["skill_vs_naive"] for h, v in m["horizons"].items()}
        if "log_loss" in m:
            row["log_loss"] = m["log_loss"]
        if model in verdict:
            row["beats_naive"] = verdict[model]["beats_naive"]
            row["dm_p"] = verdict[model]["dm_p_value"]
            for key in ("rival", "skill_vs_rival", "rival_dm_p_value", "beats_rival"):
                if key in verdict[model]:
                    row[key] = verdict[model][key]
        out["models"][model] = row
    if limits is not None and name != "random-walk":
        pred = result.predictions
        for model, rows in pred.groupby("model"):
            if "ticker" in limits:
                known = limits.set_index("ticker", append=True)
                keys = list(zip(rows["date"], rows["id"].astype(str), strict=True))
                optimum = float(known.reindex(keys)["variance"].mean())
            else:
                optimum = float(limits.reindex(rows["date"].to_numpy())["variance"].mean())
            mse = float(np.mean((rows["y_pred"] - rows["y_true"]) ** 2))
            out["models"][str(model)]["mse_ratio"] = mse / optimum
    out["shrinkage"] = metrics.get("shrinkage", {})
    out["rival"] = (metrics.get("significance") or {}).get("rival", {}).get("choice")
    return out


def merge(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per case: the models of runs of the same case (and folds) side by side."""
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    for case in cases:
        key = (case["case"], case["folds"])
        if key not in merged:
            merged[key] = {**case, "models": dict(case["models"])}
        else:
            merged[key]["models"].update(case["models"])
    return list(merged.values())


def _f(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(cases: list[dict[str, Any]]) -> str:
    """One table: a row per model, a column per case."""
    columns = []
    for case in cases:
        name = case["case"]
        if name in ("ar2-garch", "panel"):
            columns.append((f"{name} MSE/best", case, "mse_ratio", None))
        if name in ("random-walk", "sp500-return", "nasdaq-return", "panel"):
            columns.append((f"{name} skill", case, "skill", None))
        if name.endswith("-volatility") or name == "loghar-leverage":
            short = name.removesuffix("-volatility")
            if name == "loghar-leverage":
                columns.append((f"{short} MSE/best", case, "mse_ratio", None))
            else:
                for h in ("1", "5"):
                    columns.append((f"{short} vol h{h} skill", case, "skill_h", h))
            columns.append((f"{short} vol beats naive (DM 5 %)", case, "beats_naive", None))
            columns.append((f"{short} vol skill − rival's", case, "skill_vs_rival", None))
            columns.append((f"{short} vol beats rival (DM 5 %)", case, "beats_rival", None))
        if name == "nasdaq-direction":
            columns.append(("nasdaq direction log loss", case, "log_loss", None))
    models: list[str] = []
    for case in cases:
        models += [m for m in case["models"] if m not in models]
    lines = [
        "| model | " + " | ".join(c[0] for c in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for model in models:
        cells = []
        for _, case, key, sub in columns:
            row = case["models"].get(model)
            value = None if row is None else row.get(key)
            if sub is not None and value is not None:
                value = value.get(sub)
            cells.append(value if isinstance(value, str) else _f(value, 4))
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    folds = sorted({c["folds"] for c in cases})
    lines.append("")
    lines.append(f"Walk-forward folds: {', '.join(map(str, folds))}; default settings otherwise.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(CASES))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--models", default=",".join(NETWORKS))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--table", nargs="*", type=Path, help="print the table of JSON files")
    args = parser.parse_args()
    if args.table:
        loaded = [json.loads(p.read_text()) for p in args.table]
        print(markdown(merge([c for i in loaded for c in (i if isinstance(i, list) else [i])])))
        return
    results = [run_case(c, args.folds, args.models.split(",")) for c in args.cases]
    text = json.dumps(results if len(results) > 1 else results[0], indent=2, default=str)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
