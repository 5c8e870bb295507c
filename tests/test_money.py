"""The money module: cells to exact minor units, the one rounding rule."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from progbill.money import (
    MoneyError,
    apply_percent,
    decimal_from_float,
    decimal_mark_evidence,
    exponent,
    half_up_div,
    parse_decimal_text,
    parse_percent_text,
    percent_from_fraction,
    to_minor,
)


@pytest.mark.parametrize("n, d, q", [(5, 10, 1), (4, 10, 0), (15, 10, 2), (-5, 10, -1),
                                     (-15, 10, -2), (25, 10, 3), (1, 3, 0), (2, 3, 1)])
def test_half_up_away_from_zero(n, d, q):
    assert half_up_div(n, d) == q


def test_percent_products_never_drift_where_float_rounding_does():
    # float np.round(x, 2) rounds 0.125 and 0.375 to even; half up does not
    assert list(apply_percent(np.array([100, 100, 1000]), [Decimal("12.5"), Decimal("37.5"),
                                                           Decimal("0.05")])) == [13, 38, 1]


@pytest.mark.parametrize("currency, exp", [("USD", 2), ("JPY", 0), ("KWD", 3), ("INR", 2),
                                           ("CLF", 4)])
def test_minor_unit_exponents(currency, exp):
    assert exponent(currency) == exp


@pytest.mark.parametrize("text, mark, value", [
    ("1,234.50", ".", "1234.50"), ("1.234,50", ",", "1234.50"), ("$1,234.50", ".", "1234.50"),
    ("(1,234.50)", ".", "-1234.50"), ("-12", ".", "-12"), ("USD 1 234.50", ".", "1234.50"),
    ("£6,500.00", ".", "6500.00"), ("₹12,34,567.00", ".", "1234567.00"),
    ("1,23,45,678.90", ".", "12345678.90"), ("1234.50-", ".", "-1234.50"),
    ("1.2E3", ".", "1200"), ("12,5", ",", "12.5"), ("1'234.50", ".", "1234.50"),
])
def test_amount_text(text, mark, value):
    if value is None:
        with pytest.raises(MoneyError):
            parse_decimal_text(text, mark)
    else:
        assert parse_decimal_text(text, mark) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "1,23,4.5", "12..5", "--5", "1 2 x", "1,2345.00",
                                  "12,345,67.00"])
def test_not_amounts(text):
    with pytest.raises(MoneyError) as err:
        parse_decimal_text(text)
    assert err.value.code == "bad-amount"


def test_too_many_decimals_is_refused_not_rounded():
    assert to_minor(Decimal("10.05"), "USD") == 1005
    with pytest.raises(MoneyError) as err:
        to_minor(Decimal("10.005"), "USD")
    assert err.value.code == "too-many-decimals"
    assert to_minor(Decimal("10.005"), "KWD") == 10005
    with pytest.raises(MoneyError):
        to_minor(Decimal("100.5"), "JPY")


def test_excel_floats_become_the_decimal_excel_shows():
    assert decimal_from_float(0.1 + 0.2) == Decimal("0.3")
    assert decimal_from_float(1234.56) == Decimal("1234.56")
    assert decimal_from_float(40000.0) == Decimal("40000.0")
    assert to_minor(decimal_from_float(1234.5600000000002), "USD") == 123456


def test_percent_text_and_fractions():
    assert parse_percent_text("45") == Decimal(45)
    assert parse_percent_text("45.5 %") == Decimal("45.5")
    assert parse_percent_text("12,5%", ",") == Decimal("12.5")
    assert percent_from_fraction(Decimal("0.45")) == Decimal(45)
    assert percent_from_fraction(Decimal("1")) == Decimal(100)


def test_decimal_mark_evidence():
    assert decimal_mark_evidence("1,234.50") == "."
    assert decimal_mark_evidence("1.234,50") == ","
    assert decimal_mark_evidence("1,234") is None
    assert decimal_mark_evidence("12,5") == ","
