"""Money and percentages: where values become exact numbers, and where rounding happens.

Invariants:

* every amount in progbill is an ``int`` count of the currency's minor unit
  (cents for USD, paise for INR, yen for JPY, fils for KWD);
* every percentage is an exact :class:`~decimal.Decimal` in percent points (``45.5`` means 45.5%);
* the only rounding is :func:`half_up_div` (half up, away from zero, to a whole minor unit),
  applied where BILLING.md says; nothing else in progbill rounds money.

A float never becomes money by arithmetic. An Excel number arrives as a float; it is turned into a
decimal through text (:func:`decimal_from_float`) and only then scaled to minor units, so a value
that does not fit the currency's minor unit is refused instead of silently rounded.

This module is pure: no I/O, no third-party imports beyond numpy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import numpy as np

# ISO 4217 minor-unit exponents that differ from 2. Every other code has 2 decimals.
_EXPONENTS: dict[str, int] = {
    # no minor unit
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four decimals
    "CLF": 4, "UYW": 4,
}

# Active ISO 4217 codes (2025). Kept here rather than asked of a locale library so that the
# billing core needs no data files.
ISO_CURRENCIES: frozenset[str] = frozenset(
    (
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
        "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP",
        "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU",
        "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
        "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL",
        "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES",
        "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD",
        "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
        "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR",
        "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF",
        "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
        "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS",
        "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV",
        "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
    )
)

# Scheduled values beyond this (in minor units) are refused: no real schedule line is worth
# 10^15 cents, and the bound keeps every product in billing far from any integer limit.
MAX_ABS_MINOR = 10**15
# Totals: the amounts of one document, and of one run per currency, stay below these, checked
# before anything is stored. With tax at most 100% of its base, every stored amount and every
# sum the ledger forms over years of runs stays far below SQLite's and numpy's 2^63.
MAX_DOCUMENT_MINOR = 10**16
MAX_RUN_MINOR = 10**17

_ONE_HUNDRED = Decimal(100)


class MoneyError(ValueError):
    """A cell that cannot be read as money or as a percentage.

    ``code`` is a stable problem code (``bad-amount``, ``too-many-decimals``, ``bad-percent``)
    and the message is written for a finance user.
    """

    def __init__(self, code: str, message: str, complete: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.complete = complete  # the message already says what to enter


def is_known_currency(code: str) -> bool:
    return code in ISO_CURRENCIES


def exponent(currency: str) -> int:
    """The number of decimals of ``currency``'s minor unit (ISO 4217)."""
    return _EXPONENTS.get(currency, 2)


# --------------------------------------------------------------------------------------------
# rounding: the only one in progbill


def half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, away from zero, to an integer.

    ``denominator`` must be positive.
    """
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def half_up_div_array(numerators: np.ndarray, denominator: int) -> np.ndarray:
    """Element-wise :func:`half_up_div`; ``numerators`` is int64 or an object array of ints."""
    magnitude = np.abs(numerators)
    quotient = (2 * magnitude + denominator) // (2 * denominator)
    return np.where(numerators < 0, -quotient, quotient)


def _scaled_numerators(percents: Sequence[Decimal]) -> tuple[list[int], int]:
    """Integers n_i and one scale k so that percents[i] == n_i / 10**k exactly.

    Each distinct value is looked at once (a run's 100,000 lines hold a few thousand distinct
    percentages). Equal values written with different exponents (12.5, 12.50) are one value:
    the exponent of whichever is kept makes it a whole number of 10**-k, so k suffices."""
    distinct = set(percents)
    scale = 0
    for p in distinct:
        exp = p.as_tuple().exponent
        if isinstance(exp, int) and -exp > scale:
            scale = -exp
    factor = Decimal(10) ** scale
    numerator = {p: int(p * factor) for p in distinct}
    return [numerator[p] for p in percents], scale


def apply_percent(amounts: np.ndarray, percents: Sequence[Decimal]) -> np.ndarray:
    """round(amount x percent / 100) for each pair, exactly, half up.

    Runs as int64 vector arithmetic when the products fit comfortably, else on Python integers
    (object arrays), which are exact at any size. Either way no float is involved.
    """
    amounts = np.asarray(amounts)
    if len(amounts) == 0:
        return np.zeros(0, dtype=np.int64)
    numerators, scale = _scaled_numerators(percents)
    denominator = 100 * 10**scale
    biggest_amount = int(np.max(np.abs(amounts.astype(object))))
    biggest_pct = max(abs(n) for n in numerators)
    if 2 * biggest_amount * max(biggest_pct, 1) + denominator < 2**62:
        product = amounts.astype(np.int64) * np.asarray(numerators, dtype=np.int64)
        return half_up_div_array(product, denominator).astype(np.int64)
    product = amounts.astype(object) * np.asarray(numerators, dtype=object)
    result = half_up_div_array(product, denominator)
    return np.asarray([int(x) for x in result], dtype=np.int64)


def percent_of(amount: int, percent: Decimal) -> int:
    """round(amount x percent / 100), half up; the scalar form of :func:`apply_percent`."""
    numerator, denominator = percent.as_integer_ratio()
    return half_up_div(amount * numerator, 100 * denominator)


# --------------------------------------------------------------------------------------------
# reading numbers


def decimal_from_float(value: float) -> Decimal:
    """The decimal a person sees for an Excel number.

    Excel keeps 15 significant digits; a formula such as ``=0.1+0.2`` or ``=B2*1.15`` leaves
    binary noise beyond them (``0.30000000000000004``). We read the float's shortest text and,
    when it carries more than 15 significant digits, the 15-digit text Excel itself displays.
    No float arithmetic is involved.
    """
    text = repr(float(value))
    dec = Decimal(text)
    if len(dec.as_tuple().digits) > 15:
        dec = Decimal(format(float(value), ".15g"))
    return _strip_exponent(bounded(dec))


def _strip_exponent(dec: Decimal) -> Decimal:
    """1E+3 -> 1000 and 2.50 stays 2.50; drop a purely positional exponent."""
    if not dec.is_finite():
        return dec
    exp = dec.as_tuple().exponent
    if isinstance(exp, int) and exp > 0:
        return dec.quantize(Decimal(1))
    return dec


_CURRENCY_MARKS = re.compile(r"[$£€₹¥₩₽₪₫฿₱₦₴₺₡₲₵]|\b[A-Z]{3}\b|\bRs\.?|\bkr\b|\bzł")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_PLAIN_NUMBER = re.compile(r"^(\d+(\.\d*)?|\.\d+)$")

# Evidence about the decimal mark of a file, from one text cell.
_DECIMAL_POINT_EVIDENCE = re.compile(r"^\d{1,3}(,\d{3})+\.\d+$|^\d+\.\d{1,2}$|^\d+\.\d{4,}$")
_DECIMAL_COMMA_EVIDENCE = re.compile(r"^\d{1,3}(\.\d{3})+,\d+$|^\d+,\d{1,2}$|^\d+,\d{4,}$")


def _core_of(text: str) -> str:
    """The digits and marks of a number cell without signs, symbols, spaces or parentheses."""
    core = _CURRENCY_MARKS.sub("", text)
    core = _SPACES.sub("", core)
    return core.strip("()+-%")


def decimal_mark_evidence(text: str) -> str | None:
    """``"."`` or ``","`` when this text unambiguously uses that decimal mark, else None.

    ``1,234.50`` and ``12.5`` show a decimal point, ``1.234,50`` and ``12,5`` a decimal comma;
    ``1,234`` and ``1.234`` could be either and show nothing.
    """
    core = _core_of(text)
    if _DECIMAL_POINT_EVIDENCE.match(core):
        return "."
    if _DECIMAL_COMMA_EVIDENCE.match(core):
        return ","
    return None


def parse_decimal_text(text: str, decimal_mark: str = ".") -> Decimal:
    """Read a number typed as text: ``1,234.50``, ``1.234,50`` (with ``decimal_mark=","``),
    ``$1,234.50``, ``USD 1 234.50``, ``(1,234.50)`` (negative), ``-12``, ``1.2E3``.

    Raises :class:`MoneyError` (``bad-amount``) when the text is not a number.
    """
    raw = text.strip()
    if not raw:
        raise MoneyError("bad-amount", "the cell is empty")
    negative = False
    body = raw
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1]
    body = _CURRENCY_MARKS.sub("", body)
    body = _SPACES.sub("", body)
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1]
    if body.endswith("-") and not body.startswith("-"):  # "1234.50-" as some ledgers print it
        negative, body = True, body[:-1]
    if body.startswith("-"):
        negative, body = not negative, body[1:]
    elif body.startswith("+"):
        body = body[1:]
    thousands = "," if decimal_mark == "." else "."
    if re.fullmatch(r"\d+(\.\d*)?[eE][+-]?\d+", body) and decimal_mark == ".":
        try:
            value = Decimal(body)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid text
            raise MoneyError("bad-amount", f"{raw!r} is not a number") from exc
        return _strip_exponent(bounded(-value if negative else value, raw))
    if thousands in body:
        groups = body.split(decimal_mark)[0].split(thousands)
        if not _grouped(groups):
            raise MoneyError(
                "bad-amount",
                f"{raw!r} is not a number (the {'comma' if thousands == ',' else 'dot'} "
                "separators are not in groups of three digits)",
            )
        body = body.replace(thousands, "")
    if decimal_mark == ",":
        body = body.replace(",", ".")
    if not _PLAIN_NUMBER.match(body):
        raise MoneyError("bad-amount", f"{raw!r} is not a number")
    value = bounded(Decimal(body), raw)
    return -value if negative else value


# A number a person types or Excel shows has at most 15 significant digits and a magnitude far
# inside these bounds. Beyond them a cell is an error at that cell: 1E-999999999 would overflow
# the decimal context, 1E-99999 would make every percent computation carry 100,000 digits, and
# more than 28 digits would be rounded by decimal arithmetic.
MAX_SIGNIFICANT_DIGITS = 20
MAX_ADJUSTED_EXPONENT = 15  # 10^16: beyond any amount (MAX_ABS_MINOR is 10^15 minor units)
MIN_ADJUSTED_EXPONENT = -12


def bounded(value: Decimal, raw: str | None = None) -> Decimal:
    """``value`` when it is a number a person could mean, else :class:`MoneyError`."""
    shown = repr(raw.strip()) if isinstance(raw, str) else str(value)
    if not value.is_finite():
        raise MoneyError("bad-amount", f"{shown} is not a number")
    if value.is_zero():
        return Decimal(0)
    digits = len(value.as_tuple().digits)
    if value.adjusted() > MAX_ADJUSTED_EXPONENT:
        raise MoneyError("bad-amount", f"{shown} is far too large to be an amount or a percent; "
                         "check the cell", complete=True)
    if value.adjusted() < MIN_ADJUSTED_EXPONENT:
        raise MoneyError("bad-amount", f"{shown} is too small to be an amount or a percent "
                         "(its exponent is out of range); enter 0 or the number written out",
                         complete=True)
    if digits > MAX_SIGNIFICANT_DIGITS:
        raise MoneyError("bad-amount", f"{shown} has {digits} significant digits, more than any "
                         "amount or percent (at most 20); enter it as Excel shows it",
                         complete=True)
    return value


def _grouped(groups: list[str]) -> bool:
    """Digit groups of thousands (1,234,567) or of the Indian lakh system (12,34,567)."""
    if not groups[0].isdigit() or not all(g.isdigit() for g in groups[1:]):
        return False
    if len(groups[-1]) != 3 or not 1 <= len(groups[0]) <= 3:
        return False
    middle = {len(g) for g in groups[1:-1]}
    return middle <= {3} or (middle <= {2} and len(groups[0]) <= 2)


def to_minor(value: Decimal, currency: str) -> int:
    """An exact decimal amount as minor units of ``currency``.

    Raises :class:`MoneyError` ``too-many-decimals`` when the amount has more decimals than the
    currency's minor unit allows (10.005 USD), and ``bad-amount`` when it is absurdly large.
    """
    exp = exponent(currency)
    scaled = value.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            "too-many-decimals",
            f"{value} has more decimals than {currency} allows ({exp}); "
            f"enter the amount to {_decimals_phrase(exp)}",
        )
    minor = int(scaled)
    if abs(minor) >= MAX_ABS_MINOR:
        raise MoneyError("bad-amount", f"{value} is too large to be an amount")
    return minor


# Below this many minor units a double holds at most one amount of the currency's decimals
# (its spacing is finer than one minor unit), so that amount is the double's shortest text.
_FAST_MINOR_LIMIT = min(MAX_ABS_MINOR, 2**52)


def exact_minor_units(values: Sequence[object], exp: int) -> list[int | None]:
    """Per cell value, computed at once: what ``to_minor`` gives for the decimal of a float or
    int cell with ``exp`` decimals when that is a whole number of minor units (a float ``x``
    whose ``rint(x * 10**exp)`` divided back is ``x`` itself is exactly that many minor units:
    its shortest text has no more decimals); None for any other value, which is then converted
    the exact way (Decimal, with its problems)."""
    scale = 10**exp
    floats = np.array([v if type(v) is float else np.nan for v in values], dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        units = np.rint(floats * scale)
        whole = (units / scale == floats) & (np.abs(units) < _FAST_MINOR_LIMIT)
    out: list[int | None] = [int(u) if ok else None
                             for u, ok in zip(units.tolist(), whole.tolist(), strict=True)]
    for i, v in enumerate(values):
        if type(v) is int and abs(v) * scale < MAX_ABS_MINOR:
            out[i] = v * scale
    return out


def round_to_minor(value: Decimal, currency: str) -> int:
    """An exact product (quantity x rate) rounded half up to ``currency``'s minor unit: the
    scheduled value and the amount to date of a quantity line (round-half-up per line)."""
    numerator, denominator = value.scaleb(exponent(currency)).as_integer_ratio()
    return half_up_div(numerator, denominator)


def _decimals_phrase(exp: int) -> str:
    if exp == 0:
        return "whole units (no decimals)"
    return f"at most {exp} decimal{'s' if exp > 1 else ''}"


def from_minor(minor: int, currency: str) -> Decimal:
    """The exact decimal value of ``minor`` units of ``currency`` (for display and Excel)."""
    exp = exponent(currency)
    return Decimal(minor).scaleb(-exp) if exp else Decimal(minor)


def parse_percent_text(text: str, decimal_mark: str = ".") -> Decimal:
    """``45``, ``45%``, ``45.5 %`` -> percent points. Raises :class:`MoneyError` ``bad-percent``."""
    body = text.strip()
    if body.endswith("%"):
        body = body[:-1].strip()
    try:
        return parse_decimal_text(body, decimal_mark)
    except MoneyError as exc:
        if exc.complete:
            raise MoneyError("bad-percent", exc.message, complete=True) from exc
        raise MoneyError("bad-percent", f"{text.strip()!r} is not a percentage") from exc


def percent_from_fraction(fraction: Decimal) -> Decimal:
    """An Excel percent-formatted cell holds a fraction (0.45 shown as 45%)."""
    return _strip_exponent((fraction * _ONE_HUNDRED).normalize())
