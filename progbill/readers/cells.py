"""Reading one cell as the kind of value its column holds.

Each reader takes the raw value (as openpyxl, calamine or the CSV reader gave it) and returns the
clean value, or raises :class:`CellError` with a stable code and a sentence that says what to
type instead. Money stays a Decimal here; :mod:`progbill.readers.layout` converts it to minor
units once the row's currency is known.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from progbill.money import (
    MoneyError,
    bounded,
    decimal_from_float,
    is_known_currency,
    parse_decimal_text,
    parse_percent_text,
    percent_from_fraction,
)
from progbill.readers.schema import STATUS_PROGRESS, normalise_status


class CellError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CellContext:
    decimal_mark: str = "."  # decided per file
    date_order: str = "DMY"  # for numeric text dates
    percent_formatted: bool = False  # Excel shows the cell as a percentage
    fraction_text: bool = False  # input.percent_scale = "fraction": "0.9" without % is 90%


def is_blank(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip())


def read_text(value: object, ctx: CellContext) -> str:
    if isinstance(value, float):
        # spreadsheets store every number as a float: an id typed 1001 reads as "1001"
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return clean_printed(str(value)).strip()


def read_id(value: object, ctx: CellContext) -> str:
    """Identifiers stay as typed: ``007`` stays ``007``, ``NA`` stays ``NA``; the number 1001
    Excel stores as 1001.0 reads as ``1001``. Invisible characters are not part of an id:
    :func:`clean_id` removes them, so two ids that look alike are the same id."""
    if isinstance(value, bool):
        raise CellError("bad-value", f"{value!r} is not an identifier")
    return clean_id(read_text(value, ctx))


# Bidirectional formatting characters: they reorder what is printed around them, so that
# "Client \u202e0001$ :DUE" would print as "Client EUD: $1000". Printed text never keeps them.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")


def clean_id(text: str) -> str:
    """An identifier in Unicode NFC without format or control characters (category Cf, Cc:
    zero-width spaces, NUL, bidi overrides ...), trimmed."""
    if text.isprintable() and text.isascii():
        return text
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc")).strip()


def clean_printed(text: str) -> str:
    """Text to print: without bidi controls and control characters (line breaks and tabs
    stay); other format characters (the joiners Indic scripts need) stay too."""
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch in "\n\t" or not (
        ch in BIDI_CONTROLS or unicodedata.category(ch) == "Cc"))


def removed_characters(raw: str, cleaned: str) -> list[str]:
    """The characters cleaning took out, named: ``U+200B ZERO WIDTH SPACE``."""
    kept = set(cleaned)
    gone: list[str] = []
    for ch in unicodedata.normalize("NFC", raw):
        if ch not in kept and ch not in "\n\t " and f"U+{ord(ch):04X}" not in " ".join(gone):
            gone.append(f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}")
    return gone


_EXACT_INTEGER = 10**15  # below it an integer is always bounded(): <= 16 digits, exponent <= 15


@functools.lru_cache(maxsize=1 << 16)
def _float_decimal(value: float) -> Decimal:
    """A float cell's decimal (see :func:`progbill.money.decimal_from_float`), computed once per
    distinct value: a sheet repeats the same amounts and percents, and every cell is read more
    than once (header and total detection, the percent scale, the row itself)."""
    if value.is_integer() and abs(value) < _EXACT_INTEGER:
        return Decimal(int(value))  # what bounded(Decimal(int(value))) gives, without checks
    if value.is_integer() and abs(value) < 2**53:
        return bounded(Decimal(int(value)))
    return decimal_from_float(value)


def plain_number(value: object) -> object:
    """What :func:`read_decimal` gives for a float or int cell (None for an empty one), or
    ``PER_CELL`` for any other cell, which is then read per cell."""
    kind = type(value)
    if kind is float:
        if value != value or value in (_INF, -_INF):  # type: ignore[operator]
            return PER_CELL
        try:
            return _float_decimal(value)  # type: ignore[arg-type]
        except MoneyError:
            return PER_CELL
    if kind is int and -_EXACT_INTEGER < value < _EXACT_INTEGER:  # type: ignore[operator]
        return Decimal(value)  # type: ignore[arg-type]
    if value is None:
        return None
    return PER_CELL


_INF = float("inf")
PER_CELL = object()  # a cell plain_number leaves to the readers


def read_decimal(value: object, ctx: CellContext) -> Decimal:
    number = plain_number(value)  # a float or int cell, by the rule column reading uses too
    if isinstance(number, Decimal):
        return number
    if isinstance(value, bool):
        raise CellError("bad-amount", f"{value} is not an amount; enter a number")
    try:
        if isinstance(value, int):
            return bounded(Decimal(value))
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise CellError("bad-amount", "the cell holds an error value; enter a number")
            return _float_decimal(value)
        if isinstance(value, Decimal):
            return bounded(value)
    except MoneyError as exc:
        raise CellError(exc.code, exc.message) from exc
    if isinstance(value, (date, datetime)):
        raise CellError("bad-amount", f"{read_text(value, ctx)} is a date, not an amount")
    text = str(value).strip()
    if text.startswith("#"):
        raise CellError(
            "bad-amount", f"the cell shows the Excel error {text}; fix the formula behind it"
        )
    try:
        return parse_decimal_text(text, ctx.decimal_mark)
    except MoneyError as exc:
        advice = "" if exc.complete else "; enter an amount such as 1234.50"
        raise CellError(exc.code, exc.message + advice) from exc


QUANTITY_DECIMALS = 4


def read_quantity(value: object, ctx: CellContext) -> Decimal:
    """A quantity or a unit rate: a number kept exactly, to at most 4 decimals (the 15 digits
    Excel shows: a rate stored as 1182.6000000000001 is 1182.6)."""
    number = read_decimal(value, ctx)
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -QUANTITY_DECIMALS:
        raise CellError("too-many-decimals",
                        f"{number} has more than {QUANTITY_DECIMALS} decimals; quantities and "
                        f"rates are kept to {QUANTITY_DECIMALS}, so round it in the workbook")
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def read_percent(value: object, ctx: CellContext) -> Decimal:
    """Percent points. An Excel percent-formatted cell holds a fraction (0.45 shown as 45%)."""
    if isinstance(value, bool):
        raise CellError("bad-percent", f"{value} is not a percentage; enter a number such as 45")
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = read_decimal(value, ctx)
        return percent_from_fraction(number) if ctx.percent_formatted else number
    if isinstance(value, (date, datetime)):
        raise CellError("bad-percent", f"{read_text(value, ctx)} is a date, not a percentage")
    text = str(value).strip()
    if text.startswith("#"):
        raise CellError("bad-percent", f"the cell shows the Excel error {text}; fix the formula")
    try:
        if ctx.fraction_text and "%" not in text:
            return percent_from_fraction(parse_percent_text(text, ctx.decimal_mark))
        return parse_percent_text(text, ctx.decimal_mark)
    except MoneyError as exc:
        if exc.complete:
            raise CellError("bad-percent", exc.message) from exc
        raise CellError(
            "bad-percent", f"{text!r} is not a percentage; enter a number such as 45 or 45%"
        ) from exc


_DAYS = re.compile(r"^(?:net\s*)?(\d{1,4})(?:\s*(?:days?|d))?$", re.I)


def read_days(value: object, ctx: CellContext) -> int:
    """Payment terms: ``30``, ``Net 30``, ``30 days``."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = read_decimal(value, ctx)
        if number != number.to_integral_value() or number < 0:
            raise CellError("bad-value", f"{number} is not a whole number of days")
        return int(number)
    text = read_text(value, ctx)
    match = _DAYS.match(text)
    if not match:
        raise CellError(
            "bad-value", f"{text!r} is not a payment term; enter days such as 30 or Net 30"
        )
    return int(match.group(1))


_TRUE = {"yes", "y", "true", "1", "x", "release", "released"}
_FALSE = {"no", "n", "false", "0", "", "-"}


def read_flag(value: object, ctx: CellContext) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = read_text(value, ctx).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("bad-value", f"{read_text(value, ctx)!r} is not yes or no; enter yes or no")


def read_status(value: object, ctx: CellContext) -> str:
    """A status word; TRUE/FALSE (a checkbox column) means complete / not started."""
    if isinstance(value, bool):
        return "complete" if value else "not started"
    text = read_text(value, ctx)
    if text.casefold() in ("true", "false"):
        return "complete" if text.casefold() == "true" else "not started"
    key = normalise_status(text)
    if key not in STATUS_PROGRESS:
        raise CellError(
            "bad-status",
            f"status {text!r} is not known; use not started, in progress, complete, done "
            "or approved",
        )
    return key


def read_currency(value: object, ctx: CellContext) -> str:
    code = read_text(value, ctx).upper()
    if not is_known_currency(code):
        raise CellError(
            "unknown-currency",
            f"{read_text(value, ctx)!r} is not an ISO 4217 currency code; "
            "enter a code such as USD, GBP, EUR or INR",
        )
    return code


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{2,4})$")
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")]
    )
    for m in names
}
_DAY_MONTH_NAME = re.compile(r"^(\d{1,2})[\s-]+([A-Za-z]+)\.?,?[\s-]+(\d{4})$")
_MONTH_NAME_DAY = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$")


def read_date(value: object, ctx: CellContext) -> date:
    """Excel date cells (both date systems: the file's epoch is applied by the reader), ISO
    text, named months, and numeric text in the configured day/month order."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, time):
        # A date-formatted cell holding 0 (Excel shows 00/01/1900) or only a time of day.
        if value == time(0, 0):
            raise CellError(
                "bad-date", "the cell holds 0, which Excel shows as the non-date 00/01/1900; "
                "enter the real date, e.g. 2026-11-30, or clear the cell")
        raise CellError("bad-date", f"the cell holds only a time of day ({value:%H:%M}), not a "
                        "date; enter the date, e.g. 2026-11-30")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError(
            "bad-date", f"{read_text(value, ctx)} is a number, not a date; format the cell as a "
            "date or type it as 2026-11-30")
    text = read_text(value, ctx)
    try:
        if m := _ISO.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DAY_MONTH_NAME.match(text):
            return date(int(m[3]), _month(m[2]), int(m[1]))
        if m := _MONTH_NAME_DAY.match(text):
            return date(int(m[3]), _month(m[1]), int(m[2]))
        if m := _NUMERIC.match(text):
            if len(m[3]) != 4:
                raise CellError(
                    "bad-date", f"{text!r} has a two-digit year, which is ambiguous; "
                    "type the year in full (2026) or use 2026-11-30")
            first, second = int(m[1]), int(m[2])
            day, month = (first, second) if ctx.date_order == "DMY" else (second, first)
            return date(int(m[3]), month, day)
    except (ValueError, KeyError) as exc:
        order = "day/month/year" if ctx.date_order == "DMY" else "month/day/year"
        raise CellError(
            "bad-date", f"{text!r} is not a valid date in {order} order (input.date_order); "
            "type it as 2026-11-30") from exc
    raise CellError("bad-date", f"{text!r} is not a date; type it as 2026-11-30")


def _month(name: str) -> int:
    return _MONTHS[name.casefold()]
