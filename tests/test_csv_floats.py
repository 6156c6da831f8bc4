"""fincast._csv.format_g10 writes exactly the strings ``"%.10g" % v`` gives, in numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincast._csv import _floats, _g10_digits, format_g10

FORMAT = "%.10g"  # as pandas applies float_format: printf-style, not format()


def _python(values: np.ndarray) -> list[str]:
    return [FORMAT % v for v in values.tolist()]


def _same(values: np.ndarray) -> None:
    got, expected = format_g10(values), _python(values)
    wrong = [(v, g, e) for v, g, e in zip(values.tolist(), got, expected, strict=True) if g != e]
    assert not wrong, (
        f"{len(wrong)} of {len(values)} differ, e.g. (value, got, expected) {wrong[:5]}"
    )


def _neighbours(values: list[float], steps: int = 3) -> np.ndarray:
    """Each value and the ``steps`` doubles either side of it, with both signs."""
    x = np.array(values, dtype=np.float64)
    out = [x]
    up = down = x
    for _ in range(steps):
        with np.errstate(over="ignore"):
            up, down = np.nextafter(up, np.inf), np.nextafter(down, -np.inf)
        out += [up, down]
    both = np.concatenate(out)
    return np.concatenate([both, -both])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=50))
def test_property_any_double(values) -> None:
    _same(np.array(values, dtype=np.float64))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=50))
def test_property_any_float32(values) -> None:
    x = np.array(values, dtype=np.float32)  # formatted as the double of the same value
    assert format_g10(x) == _python(x)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.floats(min_value=1e-15, max_value=1e33) | st.floats(min_value=-1e33, max_value=-1e-15),
        min_size=1,
        max_size=50,
    )
)
def test_property_the_range_written_in_numpy(values) -> None:
    _same(np.array(values))


@settings(max_examples=300, deadline=None)
@given(st.integers(10**10, 10**11 - 1), st.integers(-25, 35))
def test_property_decimal_values_of_eleven_digits(digits, exponent) -> None:
    """The 11th digit decides the rounding; a 5 there is a tie or very near one."""
    _same(_neighbours([float(f"{digits}e{exponent}"), float(f"{digits // 10}5e{exponent}")]))


def test_ties_at_the_tenth_digit() -> None:
    # decimal strings ending in 5: the double is just above or below the tie
    rng = np.random.default_rng(3)
    digits = rng.integers(10**9, 10**10, 2000)
    exponents = rng.integers(-20, 33, 2000)
    values = [float(f"{d}5e{e}") for d, e in zip(digits.tolist(), exponents.tolist(), strict=True)]
    _same(_neighbours(values))
    # exact ties: half to even on the binary value
    exact = [1234567890.5, 1234567891.5, 9999999999.5, 12345678905.0, 12345678915.0, 0.5, 2.5]
    exact += [float(2**k * (2 * j + 1)) for k in range(34, 40) for j in range(10**3, 10**3 + 20)]
    exact += [(2 * j + 1) / 2**k for k in range(1, 12) for j in range(10**9, 10**9 + 50, 7)]
    _same(_neighbours(exact))
    assert format_g10(np.array([1234567890.5, 1234567891.5])) == ["1234567890", "1234567892"]


def test_powers_of_ten_and_the_form_boundaries() -> None:
    powers = [10.0**k for k in range(-330, 309)] + [float(f"1e{k}") for k in range(-330, 309)]
    _same(_neighbours(powers, steps=4))
    # the largest values that round up to the next power of ten, and their neighbours
    edges = [float(f"9.9999999995e{k}") for k in range(-330, 308)]
    edges += [float(f"9.99999999{d}e{k}") for d in ("94999", "97", "999") for k in range(-30, 40)]
    _same(_neighbours(edges, steps=4))
    strings = format_g10(np.array([9.9999999995e-5, 9.999999999e-5, 1e-4, 1e-5, 9999999999.5]))
    assert strings == ["0.0001", "9.999999999e-05", "0.0001", "1e-05", "1e+10"]
    assert format_g10(np.array([9999999999.0, 1e10, 123456789012.0])) == [
        "9999999999",
        "1e+10",
        "1.23456789e+11",
    ]


def test_special_tiny_and_huge_values() -> None:
    special = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 5e-324, 1e-323, 2.2250738585072014e-308]
    special += [2.225073858507201e-308, 1.7976931348623157e308, 1e-300, 1.5e300, 1e22, 1e23]
    _same(_neighbours(special))
    assert format_g10(np.array([0.0, -0.0, np.inf, -np.inf, np.nan])) == [
        "0",
        "-0",
        "inf",
        "-inf",
        "nan",
    ]
    assert format_g10(np.array([], dtype=np.float64)) == []


@pytest.mark.parametrize("kind", ["normal", "lognormal", "exponents", "bits"])
def test_a_million_random_values(kind) -> None:
    rng = np.random.default_rng(7)
    n = 250_000  # per kind: 10**6 in all
    if kind == "normal":
        x = rng.normal(0, 0.01, n)
    elif kind == "lognormal":
        x = rng.lognormal(0, 3, n)
    elif kind == "exponents":  # every decimal exponent the numpy path writes, and beyond
        x = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-20, 40, n)
    else:  # any double at all, nan and inf included
        x = rng.integers(0, 2**64, n, dtype=np.uint64).view(np.float64)
    _same(x)


def test_numpy_writes_nearly_all_of_them() -> None:
    """Python formats only the values numpy cannot write exactly: near-ties and the rest."""
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.normal(0, 0.01, 10**5), rng.lognormal(0, 3, 10**5)])
    ok = _g10_digits(np.abs(x))[2]
    assert ok.mean() > 0.999
    special = np.array([0.0, -0.0, np.nan, np.inf, 1e-14, 1e32, 9.99999999997e31, 1234567890.5])
    assert not _g10_digits(np.abs(special))[2].any()
    # log10 rounds the doubles just below most powers of ten up to the power: one off
    below = np.nextafter(np.array([10.0**k for k in range(-12, 32)]), 0)
    assert _g10_digits(below)[2].all()


def test_rounded_prices_and_returns() -> None:
    """What predictions tables hold: prices rounded to 4 places, returns of them."""
    rng = np.random.default_rng(11)
    prices = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.01, 100_000))), 4)
    _same(np.concatenate([prices, prices[1:] / prices[:-1] - 1, np.log(prices[1:] / prices[:-1])]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_floats_column_as_the_generic_path(dtype) -> None:
    """_floats writes a column as the generic ``float_format % v`` path does ('' for nan)."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, 5000).astype(dtype)
    x[::9] = np.nan
    x[1::9] = 0.0
    x[2::9] = -0.0
    generic = _floats(x, "%.10G")  # the list comprehension, with upper-case letters
    assert _floats(x, "%.10g") == [s.lower() for s in generic]
    assert _floats(x, "%.10g").count("") == len(x[::9])
