"""Built-in datasets, loaded offline from packages that ship them (no download)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError

__all__ = ["BUILTINS", "load_builtin"]

#: name -> (file under the ``arch`` package's ``data/`` folder, one-line description)
_SOURCES: dict[str, tuple[str, str]] = {
    "sp500": ("sp500/sp500.csv.gz", "S&P 500 index, daily OHLCV + Adj Close, 1999-2018 (arch)"),
    "nasdaq": (
        "nasdaq/nasdaq.csv.gz",
        "NASDAQ Composite, daily OHLCV + Adj Close, 1999-2018 (arch)",
    ),
    "wti": ("wti/wti.csv.gz", "WTI crude oil spot price, daily, 1986-2020 (arch)"),
    "vix": ("vix/vix.csv.gz", "CBOE VIX volatility index, daily close, 2014-2019 (arch)"),
    "cpi": ("core_cpi/core-cpi.csv.gz", "US core CPI index, monthly, 1957-2018 (arch)"),
}
BUILTINS: dict[str, str] = {name: text for name, (_, text) in _SOURCES.items()}


def load_builtin(name: str) -> pd.DataFrame:
    """The raw frame of built-in dataset ``name``, with a ``Date`` column.

    Raises
    ------
    DataError
        For an unknown name.
    """
    if name not in _SOURCES:
        raise DataError(
            f"builtin:{name} is not a built-in dataset; available: "
            f"{', '.join(f'builtin:{n}' for n in BUILTINS)} (`fincast datasets` describes them)"
        )
    data_dir, load_file = _arch_data()
    path = data_dir / _SOURCES[name][0]
    frame = load_file(str(path), path.name)  # what ``arch.data.<name>.load()`` does
    frame.index.name = "Date"
    return frame.reset_index()


def _arch_data() -> tuple[Path, Any]:
    """The ``arch`` package's data folder and its ``load_file``, without importing ``arch``.

    ``import arch.data.sp500`` imports all of ``arch`` (scipy, statsmodels: over a second);
    its ``data/utility.py`` needs only pandas, so it is loaded on its own.
    """
    spec = importlib.util.find_spec("arch")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("built-in datasets need the `arch` package; pip install arch")
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    util = importlib.util.spec_from_file_location("_fincast_arch_data", data_dir / "utility.py")
    if util is None or util.loader is None:  # pragma: no cover - a broken arch install
        raise DataError(f"cannot read the arch datasets in {data_dir}; reinstall arch")
    module = importlib.util.module_from_spec(util)
    util.loader.exec_module(module)
    return data_dir, module.load_file
