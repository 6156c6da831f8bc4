"""Built-in datasets, loaded offline from packages that ship them (no download).

Single series come from the ``arch`` package (a dependency). The multi-stock panel
``stocks20`` comes from ``skfolio`` (an optional extra, ``pip install "fincast[panel]"``: its
20-stock price table ships inside its wheel); it is read as a file, without importing
``skfolio`` (which imports plotly and cvxpy).
"""

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
#: name -> (package, file under the package, install hint, one-line description): wide tables
#: of prices (a date column, one column per series), loaded as a long panel.
_PANELS: dict[str, tuple[str, str, str, str]] = {
    "stocks20": (
        "skfolio",
        "datasets/data/sp500_dataset.csv.gz",
        'pip install "fincast[panel]" (or pip install skfolio)',
        "20 S&P 500 stocks (AAPL, JPM, XOM…), daily adjusted close, 1990-2022, a panel "
        "(skfolio, optional)",
    ),
}
BUILTINS: dict[str, str] = {name: text for name, (_, text) in _SOURCES.items()}
BUILTINS.update({name: panel[3] for name, panel in _PANELS.items()})


def load_builtin(name: str) -> pd.DataFrame:
    """The raw frame of built-in dataset ``name``, with a ``Date`` column.

    A panel comes in long form: ``Date``, ``ticker`` and ``close``. Rows without any
    value (exchange holidays in ``vix`` and ``wti``) are left out.

    Raises
    ------
    DataError
        For an unknown name, or a panel whose package is not installed.
    """
    if name in _PANELS:
        return _load_panel(name)
    if name not in _SOURCES:
        raise DataError(
            f"builtin:{name} is not a built-in dataset; available: "
            f"{', '.join(f'builtin:{n}' for n in BUILTINS)} (`fincast datasets` describes them)"
        )
    data_dir, load_file = _arch_data()
    path = data_dir / _SOURCES[name][0]
    frame = load_file(str(path), path.name)  # what ``arch.data.<name>.load()`` does
    frame.index.name = "Date"
    # arch's VIX and WTI files have a row for each exchange holiday with no value: that is
    # no observation, not a missing one (it would need --fillna, and ffill would invent a
    # price for a day without trading)
    frame = frame.dropna(how="all")
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


def _load_panel(name: str) -> pd.DataFrame:
    package, file, hint, _ = _PANELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"builtin:{name} needs the optional `{package}` package; {hint}")
    path = Path(next(iter(spec.submodule_search_locations))) / file
    if not path.is_file():
        raise DataError(
            f"builtin:{name}: {path} is missing from the installed {package}; reinstall it ({hint})"
        )
    wide = pd.read_csv(path, parse_dates=["Date"])
    long = wide.melt(id_vars="Date", var_name="ticker", value_name="close")
    long = long.dropna(subset=["close"]).sort_values(["ticker", "Date"], kind="stable")
    return long.reset_index(drop=True)
