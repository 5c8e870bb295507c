"""Billing periods, invoice and due dates, fiscal years."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
# Invoice dates, due dates (up to 3650 days of terms) and fiscal years all stay valid dates.
FIRST_YEAR, LAST_YEAR = 1900, 9000


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-11`` -> Period(2026, 11). Raises ValueError with a plain message."""
        match = _PERIOD.match(text.strip())
        if not match or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"period {text!r} is not a month; write it as YYYY-MM, e.g. 2026-11")
        year = int(match[1])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(
                f"period {text!r} is not a month progbill can bill: the year must be from "
                f"{FIRST_YEAR} to {LAST_YEAR} (due dates and fiscal years must stay real dates);"
                " check the year, e.g. 2026-11")
        return cls(year, int(match[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)


def invoice_date(period: Period, rule: str, run_date: date) -> date:
    """The document date: the last day of the period, or the day of the run."""
    return period.last_day if rule == "period_end" else run_date


def due_date(issued: date, payment_terms_days: int) -> date:
    return issued + timedelta(days=payment_terms_days)


def fiscal_year(day: date, start_month: int) -> int:
    """The calendar year in which the fiscal year containing ``day`` starts.

    With April starts (India), 2027-03-31 is in fiscal year 2026 and 2027-04-01 in 2027.
    """
    return day.year if day.month >= start_month else day.year - 1
