"""Regenerate the bad-input corpus in this directory (run it from anywhere).

The files are committed; this script documents how each one was made and rebuilds them
byte for byte (except ``fuzz_*`` files, kept verbatim as a fuzz test found them). What each
file must give is listed in ``manifest.yaml`` next to it.
"""

from __future__ import annotations

import gzip
import io
import math
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _dates(n: int, start_ordinal: int = 737425) -> list[str]:
    """``n`` business days from 2020-01-01 as ISO strings."""
    from datetime import date, timedelta

    out: list[str] = []
    day = date.fromordinal(start_ordinal)
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def _prices(n: int, seed: int = 1) -> list[float]:
    """A deterministic wiggly positive price path (no RNG dependency)."""
    return [
        round(100 * math.exp(0.01 * math.sin(seed * 7.3 + i * 1.7) + 0.002 * i), 4)
        for i in range(n)
    ]


def _series(n: int = 200, seed: int = 1) -> list[tuple[str, float]]:
    return list(zip(_dates(n), _prices(n, seed), strict=True))


def _csv(rows: list[tuple[object, ...]], header: str) -> str:
    return header + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows)


def _write(name: str, data: str | bytes) -> None:
    path = HERE / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)


def main() -> None:
    good = _series()
    # -- a valid base file, used by the bad-flag entries ----------------------------------
    _write("base_ok.csv", _csv(good, "Date,Close"))

    # -- not a CSV at all -----------------------------------------------------------------
    _write("empty.csv", b"")
    _write("whitespace_only.csv", b"  \n\n \t\n")
    _write("header_only.csv", "Date,Open,High,Low,Close,Volume\n")
    _write("binary_junk.csv", bytes((i * 37 + 11) % 256 for i in range(2048)))
    _write("json_named.csv", '[{"Date": "2020-01-01", "Close": 1.0}]\n')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in (
            ("[Content_Types].xml", '<?xml version="1.0"?><Types/>'),
            ("xl/workbook.xml", '<?xml version="1.0"?><workbook/>'),
        ):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), body)
    _write("excel_named.csv", buf.getvalue())
    _write("old_excel_named.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    _write("parquet_named.csv", b"PAR1" + bytes(range(64)) + b"PAR1")
    _write("corrupt.parquet", b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00" + b"junk" * 20)
    _write("not_gzip.csv.gz", b"this is not gzip data\n")
    _write("utf16.csv", _csv(good, "Date,Close").encode("utf-16"))

    # -- delimiters and encodings ---------------------------------------------------------
    _write("space_delimited.csv", _csv(good, "Date Close").replace(",", " "))
    _write("semicolon.csv", _csv(good, "Date;Close").replace(",", ";"))
    _write("utf8_bom.csv", b"\xef\xbb\xbf" + _csv(good, "Date,Close").encode("utf-8"))
    latin = _csv([(d, "Société Générale", p) for d, p in good], "Date,Ticker,Close")
    _write("latin1.csv", latin.encode("latin-1"))

    # -- dates ----------------------------------------------------------------------------
    mixed = [(d if i % 2 else f"{d[5:7]}/{d[8:10]}/{d[:4]}", p) for i, (d, p) in enumerate(good)]
    _write("mixed_date_formats.csv", _csv(mixed, "Date,Close"))
    tz = [(f"{d}T16:00:00{'-05:00' if i % 2 else '+01:00'}", p) for i, (d, p) in enumerate(good)]
    _write("mixed_timezones.csv", _csv(tz, "Date,Close"))
    dup = [*good[:60], good[59], *good[60:]]
    _write("duplicate_dates.csv", _csv(dup, "Date,Close"))
    _write("all_one_date.csv", _csv([("2020-01-02", p) for _, p in good], "Date,Close"))
    _write("no_date_column.csv", _csv([(i, p) for i, (_, p) in enumerate(good)], "Day,Close"))
    holes = [("" if i == 40 else d, p) for i, (d, p) in enumerate(good)]
    _write("missing_date.csv", _csv(holes, "Date,Close"))
    _write(
        "impossible_date.csv",
        _csv([("2020-02-31" if i == 30 else d, p) for i, (d, p) in enumerate(good)], "Date,Close"),
    )

    _write(
        "two_date_columns.csv",
        _csv([(i, d, p) for i, (d, p) in enumerate(good)], "date,Date,Close"),
    )
    far = [("2263-01-01" if i == 199 else d, p) for i, (d, p) in enumerate(good)]
    _write("date_out_of_range.csv", _csv(far, "Date,Close"))

    # -- values ---------------------------------------------------------------------------
    _write("all_nan_target.csv", _csv([(d, "") for d, _ in good], "Date,Close"))
    _write(
        "inf_values.csv",
        _csv([(d, "inf" if i == 50 else p) for i, (d, p) in enumerate(good)], "Date,Close"),
    )
    _write(
        "text_in_numeric.csv",
        _csv([(d, "n/a?" if i == 70 else p) for i, (d, p) in enumerate(good)], "Date,Close"),
    )
    _write(
        "missing_values.csv",
        _csv([(d, "" if i in (10, 11) else p) for i, (d, p) in enumerate(good)], "Date,Close"),
    )
    _write(
        "negative_prices.csv",
        _csv([(d, -p if i == 80 else p) for i, (d, p) in enumerate(good)], "Date,Close"),
    )
    _write(
        "zero_prices.csv",
        _csv([(d, 0 if i == 20 else p) for i, (d, p) in enumerate(good)], "Date,Close"),
    )
    spike = [(d, 1e308 if i == 100 else p) for i, (d, p) in enumerate(good)]
    _write("extreme_value.csv", _csv(spike, "Date,Close"))
    _write("constant_series.csv", _csv([(d, 42.0) for d, _ in good], "Date,Close"))
    _write("two_numeric_no_close.csv", _csv([(d, p, p * 2) for d, p in good], "Date,foo,bar"))
    _write(
        "empty_ticker.csv",
        _csv(
            [(d, "" if i == 5 else "AAA", p) for i, (d, p) in enumerate(good)], "Date,Ticker,Close"
        ),
    )

    # -- lengths --------------------------------------------------------------------------
    _write("too_short.csv", _csv(good[:12], "Date,Close"))
    panel = []
    for sid, n in (("AAA", 200), ("BBB", 200), ("TINY", 10)):
        panel += [(d, sid, p) for d, p in _series(n, seed=len(sid) + n)]
    _write("panel_one_short.csv", _csv(panel, "Date,Ticker,Close"))
    panel = []
    for sid, n in (("AAA", 12), ("BBB", 15), ("CCC", 9)):
        panel += [(d, sid, p) for d, p in _series(n, seed=n)]
    _write("panel_all_short.csv", _csv(panel, "Date,Ticker,Close"))

    # -- a directory (git keeps it through the .keep file) --------------------------------
    (HERE / "a_directory.csv").mkdir(exist_ok=True)
    _write("a_directory.csv/.keep", b"")

    # -- configuration files --------------------------------------------------------------
    _write("config_unknown_key.yaml", "data: builtin:sp500\nepoch: 3\n")
    _write("config_wrong_type.yaml", "data: builtin:sp500\nepochs: lots\n")
    _write("config_not_mapping.yaml", "- epochs\n- 3\n")
    _write("config_invalid.yaml", "epochs: [1, 2\nfolds: 3\n")
    _write("config_python_tag.yaml", 'epochs: !!python/object/apply:os.system ["echo pwned"]\n')
    _write("config_model_path.yaml", 'models:\n  "../../escape": {}\n')
    _write("gzip_ok.csv.gz", gzip.compress(_csv(good, "Date,Close").encode(), mtime=0))
    _health()


def _ohlcv(n: int = 200) -> list[list[float]]:
    """Open, High, Low, Close, Adj Close, Volume rows around :func:`_prices`."""
    rows = []
    for i, p in enumerate(_prices(n)):
        o = round(p * (1 - 0.002 * math.cos(i)), 4)
        rows.append([o, round(max(o, p) * 1.004, 4), round(min(o, p) * 0.996, 4), p, p])
        rows[-1].append(1_000_000 + 1000 * (i % 7))
    return rows


def _health() -> None:
    """Issue 17: files that parse but are wrong, and files in other number formats."""
    dates = _dates(200)
    head = "Date,Open,High,Low,Close,Adj Close,Volume"
    base = _ohlcv()

    def table(rows: list[list[float]]) -> str:
        return _csv([(d, *r) for d, r in zip(dates, rows, strict=True)], head)

    # a European spreadsheet export: BOM, `;`, decimal commas, thousands dots, 31.01.2020
    def euro(x: float) -> str:
        whole, _, frac = f"{x:,.4f}".partition(".")
        return whole.replace(",", ".") + "," + frac

    lines = [head.replace(",", ";")]
    for d, r in zip(dates, base, strict=True):
        day = f"{d[8:10]}.{d[5:7]}.{d[:4]}"
        lines.append(";".join([day, *(euro(10 * v) for v in r[:5]), str(int(r[5]))]))
    _write("european_export.csv", b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    # `1,234.5` in a `;` file: needs --thousands ,
    lines = ["Date;Close"] + [
        f"{d};{20 * p:,.2f}" for d, p in zip(dates, _prices(200), strict=True)
    ]
    _write("thousands_comma.csv", "\n".join(lines) + "\n")
    # a returns table in percent
    pct = [(d, f"{(p / 100 - 1) * 10:.3f}%") for d, p in zip(dates, _prices(200), strict=True)]
    _write("percent_returns.csv", _csv(pct, "Date,Return"))
    # prices with a currency sign: text, an error naming the column and the fix
    _write("currency_close.csv", _csv([(d, f"${p}") for d, p in good_series()], "Date,Close"))
    # an unadjusted 2:1 split from row 120 on
    split = [[*(v / 2 for v in r[:5]), r[5] * 2] if i >= 120 else r for i, r in enumerate(base)]
    _write("unadjusted_split.csv", table(split))
    # one corrupt price in the middle
    corrupt = [[*r[:3], 1e300, 1e300, r[5]] if i == 100 else r for i, r in enumerate(base)]
    _write("corrupt_1e300.csv", table(corrupt))
    # a feed that stopped: the last row repeated for 100 days
    stale = [r if i < 90 else base[89] for i, r in enumerate(base)]
    _write("stale_feed.csv", table(stale))
    # High and Low swapped on a few rows
    swapped = [[r[0], r[2], r[1], *r[3:]] if i in (30, 31, 77) else r for i, r in enumerate(base)]
    _write("ohlc_swapped.csv", table(swapped))
    # no volume for 15 days
    quiet = [[*r[:5], 0] if 50 <= i < 65 else r for i, r in enumerate(base)]
    _write("zero_volume.csv", table(quiet))
    # three weeks of rows missing
    gap = [
        (d, p) for i, (d, p) in enumerate(zip(dates, _prices(200), strict=True)) if not 60 <= i < 75
    ]
    _write("calendar_gap.csv", _csv(gap, "Date,Close"))


def good_series() -> list[tuple[str, float]]:
    return _series()


if __name__ == "__main__":
    main()
