"""Built-in datasets, loaded offline from packages that ship them (no download)."""

from __future__ import annotations

import importlib

import pandas as pd

from ..errors import DataError

__all__ = ["BUILTINS", "load_builtin"]

#: name -> (module of the ``arch`` package, one-line description)
_SOURCES: dict[str, tuple[str, str]] = {
    "sp500": ("arch.data.sp500", "S&P 500 index, daily OHLCV + Adj Close, 1999-2018 (arch)"),
    "nasdaq": ("arch.data.nasdaq", "NASDAQ Composite, daily OHLCV + Adj Close, 1999-2018 (arch)"),
    "wti": ("arch.data.wti", "WTI crude oil spot price, daily, 1986-2020 (arch)"),
    "vix": ("arch.data.vix", "CBOE VIX volatility index, daily close, 2014-2019 (arch)"),
    "cpi": ("arch.data.core_cpi", "US core CPI index, monthly, 1957-2018 (arch)"),
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
    module = importlib.import_module(_SOURCES[name][0])
    frame = module.load()
    frame.index.name = "Date"
    return frame.reset_index()
