"""Reading what people have (issue 17): separators, decimal commas, thousands, percent, BOM."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast.cli import main
from fincast.data import load
from fincast.errors import DataError
from tests.conftest import make_ohlcv

FORMATS = [  # (sep, decimal, thousands) a file may use; `,` thousands needs the flag
    (",", ".", None),
    (";", ",", None),
    (";", ",", "."),
    ("\t", ",", " "),
    ("|", ".", None),
    (";", ".", ","),
]


def _european(tmp_path, n=60):
    frame = make_ohlcv(n).drop(columns="ticker")
    frame["Adj Close"] = frame["Close"]
    frame[["Open", "High", "Low", "Close", "Adj Close"]] *= 20  # thousands: 2.000,12
    frame["date"] = frame["date"].dt.strftime("%d.%m.%Y")
    path = tmp_path / "export.csv"
    text = frame.to_csv(index=False, sep=";", decimal=",", float_format="%.4f")
    text = "\n".join(
        ";".join(
            f"{float(v.replace(',', '.')):,.4f}".replace(",", "X")
            .replace(".", ",")
            .replace("X", ".")
            if k in (1, 2, 3, 4, 5) and i
            else v
            for k, v in enumerate(line.split(";"))
        )
        for i, line in enumerate(text.splitlines())
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    return path, frame


def test_european_export_reads_prices_not_volume(tmp_path):
    path, frame = _european(tmp_path)
    ds = load(path)
    assert ds.target == "Adj Close"
    assert ds.frame["date"].iloc[12] == pd.Timestamp(
        frame["date"].iloc[12][::-1][:4][::-1]
        + "-"
        + frame["date"].iloc[12][3:5]
        + "-"
        + frame["date"].iloc[12][:2]
    )
    assert ds.frame["Close"].to_numpy() == pytest.approx(frame["Close"].to_numpy(), abs=1e-4)
    assert ds.frame["Close"].min() > 1000  # 2.000,1234 is two thousand


def test_text_price_column_is_an_error_naming_it_and_the_fix(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("Date;Close;Volume\n2020-01-02;12,5;100\n2020-01-03;12,75;110\n")
    with pytest.raises(DataError, match=r"price column `Close` holds text.*--decimal ,"):
        load(path, decimal=".")
    path.write_text('Date,Close,Volume\n2020-01-02,"1,234.5",1\n2020-01-03,"1,240.0",2\n')
    with pytest.raises(DataError, match=r"`Close` holds text.*pass --thousands ,"):
        load(path)
    assert load(path, thousands=",").frame["Close"].tolist() == [1234.5, 1240.0]


def test_percent_strings_are_fractions(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("Date;Return\n2020-01-02;1,5%\n2020-01-03;-0,25%\n")
    assert load(path).frame["Return"].tolist() == pytest.approx([0.015, -0.0025])


def test_explicit_sep_is_used(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Date:Close\n2020-01-02:1.5\n2020-01-03:1.6\n")
    assert load(path, sep=":").frame["Close"].tolist() == [1.5, 1.6]


@settings(max_examples=30, deadline=None)
@given(
    fmt=st.sampled_from(FORMATS),
    values=st.lists(
        st.floats(0.01, 5e6, allow_nan=False).map(lambda v: round(v, 4)), min_size=3, max_size=30
    ),
)
def test_property_written_with_any_format_reads_back_equal(tmp_path_factory, fmt, values):
    sep, decimal, thousands = fmt
    dates = pd.bdate_range("2020-01-01", periods=len(values))
    frame = pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Close": values})
    text = [sep.join(frame.columns)]
    for d, v in zip(frame["Date"], values, strict=True):
        number = f"{v:,.4f}" if thousands else f"{v:.4f}"
        number = number.replace(",", "\0").replace(".", decimal).replace("\0", thousands or "")
        text.append(f"{d}{sep}{number}")
    path = tmp_path_factory.mktemp("fmt") / "f.csv"
    path.write_text("\n".join(text) + "\n")
    given_thousands = thousands if thousands == "," else None  # the one never guessed
    ds = load(path, thousands=given_thousands)
    assert ds.frame["Close"].to_numpy() == pytest.approx(np.array(values), rel=1e-12)
    assert ds.frame["date"].tolist() == list(dates)


def test_cli_validate_json_carries_findings_and_strict_exits_2(tmp_path, capsys):
    frame = make_ohlcv(300).drop(columns="ticker")
    frame.loc[150:, ["Open", "High", "Low", "Close"]] /= 2
    path = tmp_path / "split.csv"
    frame.to_csv(path, index=False)
    assert main(["validate", str(path), "--json"]) == 0
    out, _ = capsys.readouterr()
    (finding,) = json.loads(out)["findings"]
    assert finding["check"] == "split" and finding["ratio"] == 0.5
    assert finding["dates"] == [str(frame["date"][150].date())]
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "target: Close" in out and err.startswith("warning: split: series split")
    assert main(["validate", str(path), "--strict"]) == 2
    _, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert "2:1 split" in err and "--adjust-splits" in err


def test_cli_backtest_warns_and_continues(tmp_path, capsys):
    frame = make_ohlcv(120).drop(columns="ticker")
    frame.loc[60, "Close"] = 1e300
    path = tmp_path / "spike.csv"
    frame.to_csv(path, index=False)
    argv = ["backtest", str(path), "--models", "naive", "--folds", "2", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    out, err = capsys.readouterr()
    assert "target: Close" in out and "run directory:" in out
    assert "warning: spike: series spike, `Close`" in err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert any(w.startswith("spike:") for w in metrics["warnings"])
    assert main([*argv, "--strict", "--out", str(tmp_path / "run2")]) == 2
    _, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "spike" in err
    assert not (tmp_path / "run2").exists()
