"""From a row's cells to a project or a line record: required values, amounts in minor units,
progress as a percent, as money or as quantities, and the figures that must agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from progbill.columns import EINVOICE_FIELDS
from progbill.money import (
    MoneyError,
    exponent,
    from_minor,
    percent_of,
    round_to_minor,
    to_minor,
)
from progbill.problems import (
    Severity,
    column_letter,
)
from progbill.readers.cells import CellContext
from progbill.readers.schema import (
    PROJECT_COLUMNS,
    STATUS_PROGRESS,
    normalise,
)
from progbill.readers.table import (
    INVALID,
    Collector,
    Row,
    Table,
    all_read,
    is_read,
)


def _percent_in_range(row: Row, name: str, out: Collector, label: str) -> Decimal | None:
    value = row.values.get(name)
    if value is None or not is_read(value):
        return None
    assert isinstance(value, Decimal)
    if value < 0 or value > 100:
        where = "above 100" if value > 100 else "below 0"
        hint = ("; if the column holds retainage amounts (G703 column I), head it "
                "Retainage to Date" if name == "retainage_pct" and value > 100 else "")
        out.add("percent-out-of-range", Severity.ERROR,
                f"{label} {value} is {where}; enter a value from 0 to 100{hint}",
                out.at(row.table, row.r, name))
        row.values[name] = INVALID
        return None
    return value


def _minor(row: Row, name: str, currency: str | None, out: Collector,
           products: dict[str, Decimal] | None = None) -> int | None:
    """An amount in minor units. More decimals than the currency has are an error, except an
    amount that is exactly its line's quantity x rate (``products``: a bill of quantities
    multiplies without rounding; section 2 rounds it half up, per line) and an amount whose
    cell shows it to the currency's decimals (billed as shown, with one warning per file)."""
    value = row.values.get(name)
    if value is None or not is_read(value) or currency is None:
        return None
    assert isinstance(value, Decimal)
    at_once = row.table.minor_units(name, exponent(currency))
    if at_once is not None and (units := at_once[row.r]) is not None:
        return units  # what to_minor gives for this cell's decimal
    try:
        return to_minor(value, currency)
    except MoneyError as exc:
        product = (products or {}).get(name)
        if exc.code == "too-many-decimals" and product is not None and _excel_digits(
                product) == value:
            return round_to_minor(product, currency)
        index = row.table.columns.get(name)
        if exc.code == "too-many-decimals" and index is not None and (
                row.table.sheet.decimals_of(index).get(row.r) == exponent(currency)):
            # Excel shows this amount to the currency's decimals: bill what the user sees
            rounded = round_to_minor(value, currency)
            out.rounded.append((out.at(row.table, row.r, name), value,
                                from_minor(rounded, currency)))
            return rounded
        out.add(exc.code, Severity.ERROR, exc.message, out.at(row.table, row.r, name))
        row.values[name] = INVALID
        return None


def _of_g(table: Table) -> bool:
    """The percent column's header says it is G/C (the AIA G703 ``% (G ÷ C)``)."""
    header = normalise(table.headers.get("percent_complete", ""))
    return header.endswith("gc") and "pct" in header


def _excel_digits(value: Decimal) -> Decimal:
    """A product as Excel shows it: 15 significant digits."""
    return Decimal(format(value, ".15g")) if len(value.as_tuple().digits) > 15 else value


def _products(v: dict[str, object]) -> dict[str, Decimal]:
    """The amounts a quantity x rate line's quantities make, unrounded, by the column that may
    state them."""
    rate = v.get("rate")
    if not isinstance(rate, Decimal):
        return {}
    found = {}
    for amount, quantity in (("scheduled_value", "quantity"),
                             ("work_to_date", "quantity_to_date"),
                             ("work_this_period", "quantity_this_bill"),
                             ("previously_billed", "previous_quantity")):
        q = v.get(quantity)
        if isinstance(q, Decimal):
            found[amount] = q * rate
    previous, this_bill = v.get("previous_quantity"), v.get("quantity_this_bill")
    if "work_to_date" not in found and isinstance(previous, Decimal) and isinstance(
            this_bill, Decimal):
        found["work_to_date"] = (previous + this_bill) * rate
    return found


def _require(row: Row, name: str, out: Collector, what: str) -> bool:
    value = row.values.get(name)
    if value is None:
        message = f"the {what} is empty; fill it in"
        if name == "milestone_id":
            message = ("this row has amounts but no line id; give it an item number of its own "
                       "(a sub-item of item 3, for example, as 3.1), or, if it is a total, label "
                       "it Total or Sub-Total")
        out.add("missing-value", Severity.ERROR, message, out.at(row.table, row.r, name))
        return False
    return is_read(value)


# --------------------------------------------------------------------------------------------
# projects and lines


_PROJECT_NAMES = tuple(c.name for c in PROJECT_COLUMNS)


def project_record(row: Row, default_currency: str, out: Collector,
                    lines_sheet: str | None) -> dict[str, object] | None:
    v = row.values
    ok = _require(row, "project_id", out, "project id")
    if "client" in row.table.columns or "client" in v:
        ok = _require(row, "client", out, "client") and ok
    currency = v.get("currency")
    if currency is None:
        currency = default_currency
    elif not is_read(currency):
        ok = False
        currency = None
    for name, label in (("retainage_pct", "retainage"), ("stored_retainage_pct",
                        "retainage on stored materials"), ("tax_rate", "tax rate")):
        if v.get(name) is not None and _percent_in_range(row, name, out, label) is None:
            ok = False
    contract_value = _minor(row, "contract_value", currency if isinstance(currency, str)
                            else None, out)
    if not all_read(v.values()):
        ok = False
    if not ok:
        return None
    tax_header = row.table.headers.get("tax_rate", "")
    key = normalise(tax_header)
    tax_label = "VAT" if key.startswith("vat") else "GST" if key.startswith("gst") else "Tax"
    return {
        "project_id": v["project_id"],
        "project_name": v.get("project_name") or "",
        "client": v.get("client") or "",
        "client_address": v.get("client_address") or "",
        "client_email": v.get("client_email") or "",
        "client_tax_id": v.get("client_tax_id") or "",
        "currency": currency,
        "retainage_pct": v.get("retainage_pct"),
        "stored_retainage_pct": v.get("stored_retainage_pct"),
        "tax_rate": v.get("tax_rate"),
        "tax_label": tax_label,
        "payment_terms_days": v.get("payment_terms_days"),
        "po_number": v.get("po_number") or "",
        "contract_value": contract_value,
        "release_retainage": bool(v.get("release_retainage") or False),
        "place_of_supply": v.get("place_of_supply") or "",
        "reverse_charge": bool(v.get("reverse_charge") or False),
        "tax_code": v.get("tax_code") or "",
        "client_id": v.get("client_id") or "",
        **{name: str(v.get(name) or "").strip() for name in EINVOICE_FIELDS},
        "revenue_account": str(v.get("revenue_account") or "").strip(),
        "_source": out.file,
        "_sheet": row.table.sheet_name,
        "_row": row.r + 1,
        "_lines_sheet": lines_sheet,
        # the details the workbook gives (in its table or around it); the others may come
        # from the workspace: the project's stored details or a projects register
        "_given": ",".join(sorted(n for n in _PROJECT_NAMES if n in row.table.columns
                                  or n in v)),
    }


# Columns that state progress other than as a percent (money, quantities) or figures a line
# must agree with; a table without them has plain lines (:func:`_has_plain_lines`).
_NOT_PLAIN = frozenset({
    "quantity", "rate", "quantity_to_date", "quantity_this_bill", "previous_quantity",
    "work_to_date", "work_this_period", "total_completed_stored", "balance_to_finish",
    "retainage_to_date", "previously_billed", "previously_retained"})


def _has_plain_lines(table: Table) -> bool:
    """The table's lines are plain: a schedule of values with percent complete (and status,
    stored materials, retainage), nothing stated twice. Decided once per table."""
    found = table.__dict__.get("_plain")
    if found is None:
        found = table.__dict__["_plain"] = (
            not table.progress_only and table.role != "schedule"
            and not _NOT_PLAIN & set(table.columns) and not _of_g(table))
    return bool(found)


def _plain_line(row: Row, currency: str | None, source: str) -> dict[str, object] | None:
    """A plain line that reads without a problem, as :func:`_any_line` makes it, in a few
    steps; None for anything else (a problem, an empty or out-of-range value, a status, an
    amount with more decimals than the currency), which :func:`_any_line` then reads.
    tests/test_speedups.py reads workbooks both ways and compares every record and problem."""
    v = row.values
    if currency is None or not _has_plain_lines(row.table) or INVALID in v.values():
        return None
    get = v.get
    if not _plain_values(get("project_id"), get("milestone_id"), get("description"),
                         get("status"), get("percent_complete"), get("retainage_pct"),
                         get("scheduled_value")):
        return None
    amounts = _plain_amounts(row.table, row.r, exponent(currency),
                             get("stored_materials") is not None)
    if amounts is None:
        return None
    return _line(get, row.table, row.r, amounts[0], cast(Decimal, get("percent_complete")),
                 amounts[1], source=source)


def _plain_values(project_id: object, line_id: object, description: object, status: object,
                  percent: object, retainage: object, scheduled: object) -> bool:
    """A plain line's values: ids, a description, no status, a percent complete and any
    retainage from 0 to 100, a scheduled value."""
    return (project_id is not None and line_id is not None and bool(description)
            and status is None and isinstance(percent, Decimal) and 0 <= percent <= 100
            and (retainage is None or 0 <= retainage <= 100)  # type: ignore[operator]
            and scheduled is not None)


def _plain_amounts(table: Table, r: int, exp: int, stored_given: bool
                   ) -> tuple[int, int] | None:
    """A plain line's scheduled value and materials stored (0 when not given), each amount a
    whole number of minor units (``exp`` decimals) read with its column
    (:meth:`Table.minor_units`); None when one is not (a negative stored amount included)."""
    scheduled_units = table.minor_units("scheduled_value", exp)
    if scheduled_units is None or (scheduled := scheduled_units[r]) is None:
        return None
    stored = 0
    if stored_given:
        stored_units = table.minor_units("stored_materials", exp)
        if stored_units is None or (found := stored_units[r]) is None or found < 0:
            return None
        stored = found
    return scheduled, stored


class PlainLines:
    """A flat sheet's plain lines (:func:`_has_plain_lines`) made from its columns read at
    once (:meth:`Table.read_columns`), without reading each row: for a row whose every cell
    was read with its column, :meth:`record` is the record :func:`_plain_line` makes of the
    row as :func:`read_row` reads it, or None where that is None (the row is then read as
    before). tests/test_speedups.py reads workbooks with and without it."""

    def __init__(self, table: Table, columns: dict[str, list[object]], source: str) -> None:
        self.table, self.source = table, source
        none = [None] * len(table.sheet.rows)
        self.project_ids = columns.get("project_id", none)
        self._stored = columns.get("stored_materials", none)
        not_plain = table.not_plain_rows()
        self._plain = [
            r not in not_plain and _plain_values(*values) for r, values in enumerate(zip(*(
                columns.get(name, none) for name in (
                    "project_id", "milestone_id", "description", "status", "percent_complete",
                    "retainage_pct", "scheduled_value")), strict=True))]
        self._exponents: dict[str, int] = {}
        # the columns a line's record takes its values from (:func:`_line`)
        self._values = [(name, column) for name, column in columns.items()
                        if name in _LINE_VALUES]

    @classmethod
    def of(cls, table: Table, ctx: CellContext, source: str) -> PlainLines | None:
        """For a table of plain lines whose columns are read at once; None otherwise."""
        if not _has_plain_lines(table) or table.sheet.formulas_without_value:
            return None
        columns = table.read_columns(ctx)
        return cls(table, columns, source) if columns else None

    def is_plain(self, r: int) -> bool:
        """Row ``r`` holds a plain line, every cell read with its column."""
        return self._plain[r]

    def record(self, r: int, currency: str | None) -> dict[str, object] | None:
        if currency is None or not self._plain[r]:
            return None
        exp = self._exponents.get(currency)
        if exp is None:
            exp = self._exponents[currency] = exponent(currency)
        amounts = _plain_amounts(self.table, r, exp, self._stored[r] is not None)
        if amounts is None:
            return None
        values = {name: column[r] for name, column in self._values}
        return _line(values.get, self.table, r, amounts[0],
                     cast(Decimal, values["percent_complete"]), amounts[1], source=self.source)


def line_record(row: Row, currency: str | None, out: Collector) -> dict[str, object] | None:
    """A line's record, or None when it has a problem (each one reported, located)."""
    plain = _plain_line(row, currency, out.file)
    return plain if plain is not None else _any_line(row, currency, out)


def _any_line(row: Row, currency: str | None, out: Collector) -> dict[str, object] | None:
    v = row.values
    progress_only = row.table.progress_only
    schedule_only = row.table.role == "schedule"
    ok = _require(row, "project_id", out, "project id")
    ok = _require(row, "milestone_id", out, "line id") and ok
    if not progress_only:
        ok = _require(row, "description", out, "description") and ok
    priced = v.get("quantity") is not None and v.get("rate") is not None
    if not priced and not progress_only:
        ok = _require(row, "scheduled_value", out, "scheduled value") and ok
    pct = _percent_in_range(row, "percent_complete", out, "percent") if "percent_complete" in v \
        else None
    if v.get("retainage_pct") is not None and _percent_in_range(
            row, "retainage_pct", out, "retainage") is None:
        ok = False
    status = v.get("status")
    progress: Decimal | None = pct
    products = _products(v) if priced else {}
    money = _money_progress(row, currency, out, products)
    if money is None:
        ok = False
        money = _MoneyProgress()
    measured = v.get("quantity_to_date") is not None or v.get("quantity_this_bill") is not None
    if schedule_only or (pct is None and is_read(v.get("percent_complete", None)) and (
            money.any or measured)):
        pass  # a schedule without progress, or progress given as money or as quantities
    elif pct is None and is_read(v.get("percent_complete", None)):
        if status is None:
            out.add("missing-value", Severity.ERROR,
                    "the line has neither a percent complete nor a status; enter one",
                    out.at(row.table, row.r,
                           "percent_complete" if "percent_complete" in row.table.columns
                           else "status"))
            ok = False
        elif is_read(status):
            progress = Decimal(100) if STATUS_PROGRESS[str(status)] else Decimal(0)
    elif pct is not None and isinstance(status, str):
        done = STATUS_PROGRESS[status]
        if (done and pct != 100) or (status == "not started" and pct != 0):
            out.add("status-conflict", Severity.ERROR,
                    f"the status is {status} but the percent complete is {pct}; correct one "
                    "of them", out.at(row.table, row.r, "percent_complete"))
            ok = False
    scheduled = _minor(row, "scheduled_value", currency, out, products)
    if progress_only:
        scheduled = 0  # the workspace's schedule gives it (pipeline.complete_schedules)
        if measured:
            out.add("missing-column", Severity.ERROR,
                    "a progress-only workbook may give percent complete, status or amounts to "
                    "date; quantities need their rate, so add the quantity and rate columns",
                    out.at(row.table, row.r, "quantity_to_date"
                           if "quantity_to_date" in row.table.columns else "quantity_this_bill"))
            ok = False
    quantities = _quantity_progress(row, currency, scheduled, out) if priced and is_read(
        v.get("quantity")) and is_read(v.get("rate")) else None
    if quantities is not None:
        scheduled = quantities.scheduled if scheduled is None else scheduled
        if quantities.work is not None and money.work_to_date is not None and (
                money.work_to_date != quantities.work):
            out.add("figures-disagree", Severity.ERROR,
                    f"work to date {from_minor(money.work_to_date, str(currency)):,} is not the "
                    f"quantity to date {quantities.to_date} x rate {v.get('rate')} = "
                    f"{from_minor(quantities.work, str(currency)):,}; correct the amount, the "
                    "quantity or the rate", out.at(row.table, row.r, "work_to_date"))
            ok = False
        elif quantities.work is not None:
            money = _MoneyProgress.measured(quantities.work, money)
    elif priced:
        ok = False
    stored = _minor(row, "stored_materials", currency, out)
    if stored is not None and stored < 0:
        out.add("bad-amount", Severity.ERROR,
                "materials stored cannot be negative; enter the value of materials on hand "
                "(0 if none)", out.at(row.table, row.r, "stored_materials"))
        ok = False
    prev_billed = _minor(row, "previously_billed", currency, out, products)
    prev_retained = _minor(row, "previously_retained", currency, out)
    if not all_read(v.values()) or not ok or scheduled is None or (
            progress is None and not money.any and not schedule_only):
        return None
    if not _money_agrees(row, money, scheduled, stored or 0, prev_billed, pct, currency, out):
        return None
    if pct is not None and not money.any and stored and _of_g(row.table):
        # A "% (G/C)" percent is completed and stored over the scheduled value: work is
        # G - F, never the percent's amount with the stored materials added again.
        total = percent_of(scheduled, pct)
        if total < stored:
            out.add("figures-disagree", Severity.ERROR,
                    f"the percent complete {pct}% is headed as G/C, completed and stored "
                    f"({from_minor(total, str(currency)):,}), but that is less than the "
                    f"materials stored {from_minor(stored, str(currency)):,}; correct one of "
                    "them", out.at(row.table, row.r, "percent_complete"))
            return None
        money = _MoneyProgress.measured(total - stored, money)
        progress = None
    return _line(row.values.get, row.table, row.r, scheduled, progress, stored or 0,
                 prev_billed, prev_retained, quantities.to_date if quantities else None, money,
                 out.file)


_LINE_VALUES = frozenset({
    "project_id", "milestone_id", "description", "percent_complete", "status", "completed_on",
    "change_order", "retainage_pct", "tax_code", "quantity", "unit", "rate"})


def _line(get: Callable[[str], object], table: Table, r: int, scheduled: int,
          progress: Decimal | None, stored: int, prev_billed: int | None = None,
          prev_retained: int | None = None, quantity_to_date: Decimal | None = None,
          money: _MoneyProgress | None = None, source: str = "") -> dict[str, object]:
    """The record of a line that read without a problem (``get``: its values by name)."""
    change_order = str(get("change_order") or "")
    if change_order.strip().casefold() in {"no", "n", "false", "-", "0"}:
        change_order = ""
    money = money or _NO_MONEY
    return {
        "project_id": get("project_id"),
        "line_id": get("milestone_id"),
        "description": get("description") or "",
        "scheduled_value": scheduled,
        "percent_complete": progress,
        "status": get("status") or "",
        "completed_on": get("completed_on"),
        "stored_materials": stored,
        "change_order": change_order.strip(),
        "retainage_pct": get("retainage_pct"),
        "previously_billed": prev_billed,
        "previously_retained": prev_retained,
        "tax_code": get("tax_code") or "",
        "quantity": get("quantity"),
        "unit": get("unit") or "",
        "rate": get("rate"),
        "quantity_to_date": quantity_to_date,
        "work_given": money.work(stored),
        "period_given": money.period,
        "retainage_given": money.retainage,
        "_progress_only": table.progress_only,
        "_schedule_only": table.role == "schedule",
        "_source": source,
        "_sheet": table.sheet_name,
        "_row": r + 1,
    }


@dataclass
class _QuantityProgress:
    scheduled: int  # round-half-up(contract quantity x rate)
    to_date: Decimal | None  # quantity to date
    work: int | None  # round-half-up(quantity to date x rate)


def _quantity_progress(row: Row, currency: str | None, scheduled: int | None,
                       out: Collector) -> _QuantityProgress | None:
    """A quantity x rate line: its scheduled value and its work to date in money, each rounded
    half up once per line. A stated amount must equal quantity x rate rounded; the quantity to
    date is given, or the previous quantity plus this bill's. None when it cannot be priced
    (reported)."""

    if currency is None:
        return None
    v = row.values
    quantity, rate = v["quantity"], v["rate"]
    assert isinstance(quantity, Decimal) and isinstance(rate, Decimal)
    priced = round_to_minor(quantity * rate, currency)
    if scheduled is not None and scheduled != priced:
        out.add("figures-disagree", Severity.ERROR,
                f"the scheduled value {from_minor(scheduled, currency):,} is not quantity "
                f"{quantity} x rate {rate} = {from_minor(priced, currency):,}; correct the "
                "amount, the quantity or the rate", out.at(row.table, row.r, "scheduled_value"))
        return None
    to_date, this_bill, previous = (v.get("quantity_to_date"), v.get("quantity_this_bill"),
                                    v.get("previous_quantity"))
    if previous is None and this_bill is not None and v.get("previously_billed") == 0:
        previous = Decimal(0)  # nothing billed before: nothing was measured before
    if to_date is None and this_bill is not None:
        if previous is None:
            out.add("missing-value", Severity.ERROR,
                    "this bill's quantity needs the quantity before it; add a previous "
                    "quantity column, or give the quantity to date",
                    out.at(row.table, row.r, "quantity_this_bill"))
            return None
        to_date = previous + this_bill  # type: ignore[operator]
    elif to_date is not None and this_bill is not None and previous is not None and (
            previous + this_bill != to_date):  # type: ignore[operator]
        out.add("figures-disagree", Severity.ERROR,
                f"the quantity to date {to_date} is not the previous quantity {previous} plus "
                f"this bill's {this_bill}; correct one of them",
                out.at(row.table, row.r, "quantity_to_date"))
        return None
    work = round_to_minor(to_date * rate, currency) if isinstance(to_date, Decimal) else None
    return _QuantityProgress(scheduled if scheduled is not None else priced,
                             to_date if isinstance(to_date, Decimal) else None, work)


@dataclass
class _MoneyProgress:
    """Progress a line states as money (G703 columns), each figure as read, or None."""

    work: Callable[[int], int | None] = field(default=lambda _f: None)
    work_to_date: int | None = None  # W
    period: int | None = None  # E
    total: int | None = None  # G
    balance: int | None = None  # H
    retainage: int | None = None  # I, only checked

    @property
    def any(self) -> bool:
        return self.work_to_date is not None or self.period is not None or self.total is not None

    @classmethod
    def measured(cls, work: int, money: _MoneyProgress) -> _MoneyProgress:
        """Work to date from quantity x rate; the other money columns are still checked."""
        def fixed(_stored: int) -> int:
            return work

        return cls(fixed, work, money.period, money.total, money.balance, money.retainage)


_NO_MONEY = _MoneyProgress()  # a line that states no progress as money


def _money_progress(row: Row, currency: str | None, out: Collector,
                    products: dict[str, Decimal]) -> _MoneyProgress | None:
    """The money columns of a line; None when one of them is unreadable (already reported)."""
    figures = {}
    for name in ("work_to_date", "work_this_period", "total_completed_stored",
                 "balance_to_finish", "retainage_to_date"):
        figures[name] = _minor(row, name, currency, out, products)
        if not is_read(row.values.get(name)):
            return None
    w, g = figures["work_to_date"], figures["total_completed_stored"]

    def work(stored: int) -> int | None:
        """Work completed to date (W) exactly: given, or G - F."""
        if w is not None:
            return w
        return g - stored if g is not None else None

    return _MoneyProgress(work, w, figures["work_this_period"], g, figures["balance_to_finish"],
                          figures["retainage_to_date"])


def _shown(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding="ROUND_HALF_UP")


def _money_agrees(row: Row, money: _MoneyProgress, scheduled: int, stored: int,
                  previous: int | None, pct: Decimal | None, currency: str | None,
                  out: Collector) -> bool:
    """Figures that say the same thing twice must agree; the line is refused, naming both
    cells and both values, when they do not. progbill never picks one of them."""


    cur = currency or ""

    def shown(minor: int) -> str:
        return f"{from_minor(minor, cur):,}"

    def cell(name: str) -> str:
        table = row.table
        header = table.headers.get(name, name)
        return f"{header} ({column_letter(table.columns[name])}{row.r + 1})"

    def refuse(name: str, message: str) -> bool:
        out.add("figures-disagree", Severity.ERROR, message, out.at(row.table, row.r, name))
        return False

    ok = True
    if money.work_to_date is not None and money.total is not None and (
            money.work_to_date + stored != money.total):
        ok = refuse("total_completed_stored",
                    f"completed and stored to date {shown(money.total)} is not work completed "
                    f"to date {shown(money.work_to_date)} ({cell('work_to_date')}) plus "
                    f"materials stored {shown(stored)}; correct one of them")
    if (money.total is not None and money.period is not None and previous is not None
            and previous + money.period + stored != money.total):
        ok = refuse("total_completed_stored",
                    f"completed and stored to date {shown(money.total)} is not from previous "
                    f"{shown(previous)} + this period {shown(money.period)} "
                    f"({cell('work_this_period')}) + materials stored {shown(stored)} = "
                    f"{shown(previous + money.period + stored)}; correct one of them")
    if (money.work_to_date is not None and money.period is not None and previous is not None
            and previous + money.period != money.work_to_date):
        ok = refuse("work_to_date",
                    f"work to date {shown(money.work_to_date)} is not from previous "
                    f"{shown(previous)} + this period {shown(money.period)} "
                    f"({cell('work_this_period')}) = {shown(previous + money.period)}; "
                    "correct one of them")
    if money.total is not None and money.balance is not None and (
            scheduled - money.total != money.balance):
        ok = refuse("balance_to_finish",
                    f"balance to finish {shown(money.balance)} is not the scheduled value "
                    f"{shown(scheduled)} less completed and stored to date {shown(money.total)} "
                    f"({cell('total_completed_stored')}) = {shown(scheduled - money.total)}; "
                    "correct one of them")
    work = money.work(stored)
    if pct is not None and work is not None and scheduled:
        exponent = pct.as_tuple().exponent
        decimals = min(-exponent if isinstance(exponent, int) and exponent < 0 else 0, 2)
        said = _shown(pct, decimals)
        as_work = _shown(Decimal(work) * 100 / Decimal(scheduled), decimals)
        as_total = (_shown(Decimal(money.total) * 100 / Decimal(scheduled), decimals)
                    if money.total is not None else None)
        if said not in (as_work, as_total):
            where = (f"completed and stored to date {shown(money.total)} "
                     f"({cell('total_completed_stored')}) makes {as_total}% of the scheduled "
                     f"value with stored materials and {as_work}% without"
                     if money.total is not None else
                     f"work completed to date {shown(work)} ({cell('work_to_date')}) makes "
                     f"{as_work}%")
            ok = refuse("percent_complete",
                        f"the percent complete {said}% does not agree with the amounts: {where};"
                        " correct the percent or the amount")
    return ok
