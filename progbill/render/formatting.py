"""Amounts, percentages and dates as the configured locale writes them (babel).

Formatting is display only: it receives exact minor units and never rounds (the currency's
exponent is exactly the number of decimals shown).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, format_currency, parse_pattern

from progbill.columns import is_missing
from progbill.money import exponent, from_minor


@lru_cache(maxsize=64)
def _number_pattern(locale: str, decimals: int) -> str:
    """The locale's grouping (``#,##,##0`` in India) with exactly ``decimals`` decimals."""
    pattern = Locale.parse(locale).decimal_formats[None].pattern
    integer = pattern.split(";")[0].split(".")[0]
    return integer + ("." + "0" * decimals if decimals else "")


@lru_cache(maxsize=256)
def _parsed(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)


@lru_cache(maxsize=64)
def _locale(locale: str) -> Locale:
    return Locale.parse(locale)


def _format_decimal(value: Decimal, pattern: str, locale: str) -> str:
    """``babel.numbers.format_decimal(value, format=pattern, locale=locale)`` with the pattern
    and the locale parsed once (a document formats a hundred numbers: 50 -> 11 us each)."""
    return _parsed(pattern).apply(value, _locale(locale))


class Formatter:
    def __init__(self, locale: str, currency: str) -> None:
        self.locale = locale
        self.currency = currency
        self.exp = exponent(currency)

    def number(self, minor: int) -> str:
        """``1,234.50`` / ``1.234,50`` / ``12,34,567.00``: an amount without its symbol."""
        return _format_decimal(from_minor(minor, self.currency),
                               _number_pattern(self.locale, self.exp), self.locale)

    def money(self, minor: int) -> str:
        """``$1,234.50``, ``1.234,50 €``, ``₹12,34,567.00``, ``KWD 1,234.567``."""
        text = format_currency(from_minor(minor, self.currency), self.currency,
                               locale=self.locale, currency_digits=True)
        # A currency without a symbol in the locale prints its code; keep it off the digits.
        return re.sub(rf"(?<![A-Z]){self.currency}(?=[\d-])", f"{self.currency}\u00a0", text)

    def words(self, minor: int) -> str:
        """The amount in words, as Indian invoices print it: lakh and crore for en_IN,
        million elsewhere; minor units only when there are any."""
        from num2words import num2words

        value = from_minor(abs(minor), self.currency)
        lang = "en_IN" if self.locale == "en_IN" or self.currency == "INR" else "en"
        try:
            text = num2words(value, lang=lang, to="currency", currency=self.currency)
        except NotImplementedError:
            text = f"{num2words(int(value), lang=lang)} {self.currency}"
        text = re.sub(r",? zero \w+$", "", text)
        return text[:1].upper() + text[1:] + " only"

    def percent(self, value: Decimal, decimals: int = 2) -> str:
        pattern = _number_pattern(self.locale, decimals) + "%"
        return _format_decimal(value / 100, pattern, self.locale)

    def quantity(self, value: Decimal | str | None) -> str:
        """A quantity or a unit rate exactly as kept (up to 4 decimals), grouped as the locale
        groups: ``1,200``, ``245.5``, ``1,875.25``; empty for none."""
        if is_missing(value):
            return ""
        number = Decimal(str(value))
        decimals = max(0, -number.normalize().as_tuple().exponent)  # type: ignore[operator]
        return _format_decimal(number, _number_pattern(self.locale, 0) + (
            "." + "#" * decimals if decimals else ""), self.locale)

    def rate(self, value: Decimal) -> str:
        """A tax or retainage rate as typed: 20%, 9%, 2.5%."""
        normal = value.normalize()
        decimals = max(0, -normal.as_tuple().exponent)  # type: ignore[operator]
        return self.percent(value, decimals)

    def date(self, value: date | str | None) -> str:
        if value is None or value == "":
            return ""
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(day, "medium", locale=self.locale)

    def month(self, period: str) -> str:
        """``2026-11`` -> ``November 2026`` in the locale."""
        year, month = (int(x) for x in period.split("-"))
        return format_date(date(year, month, 1), "MMMM y", locale=self.locale)
