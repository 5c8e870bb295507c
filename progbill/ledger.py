"""``ledger.xlsx``: the accountants' workbook, a view of the store rebuilt after every run.

Sheets and header cells exactly as OUTPUTS.md lists them. Real Excel types (money as numbers
with the currency's decimals, percentages as fractions formatted ``0.00%``, dates as dates);
every sheet an Excel table with autofilter and a frozen header; a totals row where sums make
sense, and per-currency totals below the table when currencies mix. Text is always written as
text, so a cell that starts with ``=`` can never become a formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from progbill.money import exponent, from_minor
from progbill.store import Store
from progbill.workspace import atomic_path

INVOICE_HEADERS = (
    "Document No", "Type", "Invoice Date", "Due Date", "Period", "Project ID", "Project",
    "Client", "Currency", "Completed This Period", "Retainage This Period", "Tax", "Amount Due",
    "Status", "PDF", "Source",
)
LINE_HEADERS = (
    "Document No", "Project ID", "Line ID", "Description", "Change Order", "Scheduled Value",
    "From Previous", "This Period", "Materials Stored", "Total To Date", "% Complete",
    "Balance To Finish", "Billed This Period", "Retainage To Date", "Retainage This Period",
)
PROJECT_HEADERS = (
    "Project ID", "Project", "Client", "Currency", "Original Contract", "Change Orders",
    "Contract To Date", "Billed To Date", "% Billed", "Retainage Held", "Balance To Finish",
    "Invoiced Total", "Last Document", "Last Period",
)
EXCEPTION_HEADERS = ("Run", "File", "Sheet", "Row", "Column", "Severity", "Message")
RUN_HEADERS = (
    "Run", "Started", "Finished", "Period", "Files OK", "Files Rejected", "Invoices",
    "Credit Notes", "Amount Due",
)

TEXT, MONEY, DATE, DATETIME, PERCENT, INT, LINK = (
    "text", "money", "date", "datetime", "percent", "int", "link",
)


@dataclass(frozen=True)
class Col:
    header: str
    kind: str
    total: bool = False  # summed in the totals row (money only)
    width: int | None = None


@dataclass
class Sheet:
    name: str
    columns: Sequence[Col]
    rows: list[list[Any]]
    currencies: list[str | None]  # per row, for money formats and per-currency totals


def _money(value: Any, currency: str) -> Decimal:
    return from_minor(int(value), currency)


def _date(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return date.fromisoformat(str(value)) if not isinstance(value, date) else value


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return Decimal(int(numerator)) / Decimal(int(denominator))


def build_sheets(store: Store, ledger_dir: Path, workspace: Path) -> list[Sheet]:
    docs = store.documents()
    credited: dict[str, str] = {}
    for d in docs.itertuples(index=False):
        if d.type == "Credit Note" and isinstance(d.corrects_number, str):
            credited.setdefault(d.corrects_number, d.number)
    invoice_rows, invoice_ccy = [], []
    for d in docs.itertuples(index=False):
        cur = d.currency
        if d.number in credited:
            status = f"Credited by {credited[d.number]}"
        elif not (isinstance(d.pdf_path, str) and (workspace / d.pdf_path).exists()):
            status = "PDF pending"
        else:
            status = "Issued"
        link = None
        if isinstance(d.pdf_path, str):
            link = _relative(workspace / d.pdf_path, ledger_dir)
        invoice_rows.append([
            d.number, d.type, _date(d.invoice_date), _date(d.due_date), d.period, d.project_id,
            d.project_name, d.client, cur, _money(d.completed_this_period, cur),
            _money(d.retainage_this_period, cur), _money(d.tax, cur), _money(d.amount_due, cur),
            status, link, d.source_file,
        ])
        invoice_ccy.append(cur)

    currency_of = dict(zip(docs["number"], docs["currency"], strict=True))
    lines = store.document_lines(on_document_only=True)
    order = {n: i for i, n in enumerate(docs["number"])}
    lines = lines.assign(_order=lines["number"].map(order)).sort_values(["_order", "position"])
    line_rows, line_ccy = [], []
    for ln in lines.itertuples(index=False):
        cur = currency_of[ln.number]
        line_rows.append([
            ln.number, ln.project_id, ln.line_id, ln.description, ln.change_order or None,
            _money(ln.scheduled_value, cur), _money(ln.from_previous, cur),
            _money(ln.this_period, cur), _money(ln.stored_materials, cur),
            _money(ln.total_to_date, cur), _ratio(ln.total_to_date, ln.scheduled_value),
            _money(ln.balance_to_finish, cur), _money(ln.billed, cur),
            _money(ln.retainage_to_date, cur), _money(ln.retainage_this_period, cur),
        ])
        line_ccy.append(cur)

    project_rows, project_ccy = [], []
    for p in store.projects_summary().itertuples(index=False):
        cur = p.currency
        contract = int(p.original_contract) + int(p.change_orders)
        project_rows.append([
            p.project_id, p.project_name, p.client, cur, _money(p.original_contract, cur),
            _money(p.change_orders, cur), _money(contract, cur), _money(p.billed_to_date, cur),
            _ratio(p.billed_to_date, contract), _money(p.retainage_held, cur),
            _money(contract - int(p.billed_to_date), cur), _money(p.invoiced_total, cur),
            p.last_document, p.last_period,
        ])
        project_ccy.append(cur)

    exception_rows = []
    for e in store.exceptions().itertuples(index=False):
        column = e.column
        if isinstance(e.cell, str) and e.cell and isinstance(column, str):
            letter = "".join(ch for ch in e.cell if ch.isalpha())
            column = f"{column} ({letter})" if letter else column
        exception_rows.append([
            e.run_id, e.file, e.sheet, int(e.row) if pd.notna(e.row) else None, column,
            str(e.severity).capitalize(), e.message,
        ])

    totals = store.run_totals()
    run_rows, run_ccy = [], []
    for r in store.runs().itertuples(index=False):
        per_currency = totals[totals["run_id"] == r.run_id]
        started, finished = datetime.fromisoformat(r.started), datetime.fromisoformat(r.finished)
        base = [r.run_id, started.replace(tzinfo=None), finished.replace(tzinfo=None), r.period,
                int(r.files_ok), int(r.files_rejected)]
        if per_currency.empty:
            run_rows.append([*base, 0, 0, None])
            run_ccy.append(None)
        for t in per_currency.itertuples(index=False):
            # One row per currency a run billed in: amounts in different currencies never add.
            run_rows.append([*base, int(t.invoices), int(t.credit_notes),
                             _money(t.amount_due, t.currency)])
            run_ccy.append(t.currency)

    return [
        Sheet("Invoices", _cols(INVOICE_HEADERS, {
            "Invoice Date": DATE, "Due Date": DATE, "Completed This Period": MONEY,
            "Retainage This Period": MONEY, "Tax": MONEY, "Amount Due": MONEY, "PDF": LINK,
        }, totals=("Completed This Period", "Retainage This Period", "Tax", "Amount Due")),
            invoice_rows, invoice_ccy),
        Sheet("Lines", _cols(LINE_HEADERS, {
            **{h: MONEY for h in LINE_HEADERS[5:10]}, "% Complete": PERCENT,
            **{h: MONEY for h in LINE_HEADERS[11:]},
        }, totals=("This Period", "Billed This Period", "Retainage This Period")),
            line_rows, line_ccy),
        Sheet("Projects", _cols(PROJECT_HEADERS, {
            **{h: MONEY for h in PROJECT_HEADERS[4:8]}, "% Billed": PERCENT,
            **{h: MONEY for h in PROJECT_HEADERS[9:12]},
        }, totals=PROJECT_HEADERS[4:8] + PROJECT_HEADERS[9:12]), project_rows, project_ccy),
        Sheet("Exceptions", _cols(EXCEPTION_HEADERS, {"Row": INT}, widths={"Message": 90}),
              exception_rows, [None] * len(exception_rows)),
        Sheet("Runs", _cols(RUN_HEADERS, {
            "Started": DATETIME, "Finished": DATETIME, "Files OK": INT, "Files Rejected": INT,
            "Invoices": INT, "Credit Notes": INT, "Amount Due": MONEY,
        }), run_rows, run_ccy),
    ]


def _cols(headers: Sequence[str], kinds: dict[str, str], totals: Sequence[str] = (),
          widths: dict[str, int] | None = None) -> list[Col]:
    widths = widths or {}
    return [Col(h, kinds.get(h, TEXT), h in totals, widths.get(h)) for h in headers]


def _relative(target: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(target, start)).as_posix()


# --------------------------------------------------------------------------------------------
# writing


def write_ledger(store: Store, workspace: Path, target: Path) -> Path:
    sheets = build_sheets(store, target.parent, workspace)
    with atomic_path(target) as tmp:
        _write(sheets, tmp)
    return target


def _write(sheets: list[Sheet], path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_date_format": "yyyy-mm-dd",
        },
    )
    # Reproducible files: no clock in the document properties.
    book.set_properties({"title": "progbill ledger", "author": "progbill",
                         "created": datetime(2000, 1, 1)})
    formats = _Formats(book)
    for sheet in sheets:
        _write_sheet(book, formats, sheet)
    book.close()


class _Formats:
    def __init__(self, book: Any) -> None:
        self.book = book
        self.cache: dict[tuple[str, int], Any] = {}
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})

    def get(self, kind: str, currency: str | None = None) -> Any:
        exp = exponent(currency) if currency else 2
        key = (kind, exp if kind == MONEY else 0)
        if key not in self.cache:
            spec: dict[str, Any] = {}
            if kind == MONEY:
                decimals = "." + "0" * exp if exp else ""
                spec["num_format"] = f"#,##0{decimals};-#,##0{decimals}"
            elif kind == PERCENT:
                spec["num_format"] = "0.00%"
            elif kind == DATE:
                spec["num_format"] = "yyyy-mm-dd"
            elif kind == DATETIME:
                spec["num_format"] = "yyyy-mm-dd hh:mm:ss"
            elif kind == INT:
                spec["num_format"] = "0"
            elif kind == LINK:
                spec.update({"font_color": "blue", "underline": 1})
            self.cache[key] = self.book.add_format(spec)
        return self.cache[key]


def _write_cell(ws: Any, r: int, c: int, kind: str, value: Any, fmt: Any) -> None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        ws.write_blank(r, c, None, fmt)
    elif kind in (MONEY, PERCENT):
        # Excel stores doubles; the exact decimal becomes the nearest one only here, at the edge.
        ws.write_number(r, c, float(value), fmt)
    elif kind == INT:
        ws.write_number(r, c, int(value), fmt)
    elif kind in (DATE, DATETIME):
        ws.write_datetime(r, c, value, fmt)
    elif kind == LINK:
        ws.write_url(r, c, f"external:{value}", fmt, string=Path(str(value)).name)
    else:
        ws.write_string(r, c, str(value))


def _write_sheet(book: Any, formats: _Formats, sheet: Sheet) -> None:
    ws = book.add_worksheet(sheet.name)
    columns = sheet.columns
    n = len(sheet.rows)
    for c, col in enumerate(columns):
        ws.write_string(0, c, col.header, formats.header)
    for r, (row, cur) in enumerate(zip(sheet.rows, sheet.currencies, strict=True), start=1):
        for c, (col, value) in enumerate(zip(columns, row, strict=True)):
            _write_cell(ws, r, c, col.kind, value, formats.get(col.kind, cur))
    currencies = sorted({c for c in sheet.currencies if c})
    single = len(currencies) <= 1
    has_totals = n > 0 and single and any(col.total for col in columns)
    table_columns = []
    for c, col in enumerate(columns):
        spec: dict[str, Any] = {"header": col.header, "header_format": formats.header}
        if has_totals:
            if c == 0:
                spec["total_string"] = "Total"
            elif col.total:
                total = sum((row[c] for row in sheet.rows if row[c] is not None), Decimal(0))
                spec["total_function"] = "sum"
                spec["total_value"] = float(total)
                spec["format"] = formats.get(col.kind, currencies[0] if currencies else None)
        table_columns.append(spec)
    last_row = max(n, 1) + (1 if has_totals else 0)
    ws.add_table(0, 0, last_row, len(columns) - 1, {
        "name": sheet.name,
        "columns": table_columns,
        "total_row": has_totals,
        "style": "Table Style Light 9",
        "autofilter": True,
    })
    if n and not single and any(col.total for col in columns):
        _per_currency_totals(ws, formats, sheet, currencies, n)
    ws.freeze_panes(1, 0)
    for c, col in enumerate(columns):
        width = col.width or _width(col, [row[c] for row in sheet.rows])
        ws.set_column(c, c, width)


def _per_currency_totals(ws: Any, formats: _Formats, sheet: Sheet, currencies: list[str],
                         n: int) -> None:
    """Below a mixed-currency table: one row per currency with SUMIF formulas (and their
    values cached, so a reader that does not calculate still sees the totals)."""
    from xlsxwriter.utility import xl_col_to_name

    cur_col = next((i for i, col in enumerate(sheet.columns) if col.header == "Currency"), None)
    label_row = n + 2
    ws.write_string(label_row, 0, "Totals by currency", formats.header)
    for k, currency in enumerate(currencies):
        r = label_row + 1 + k
        ws.write_string(r, 0, f"Total {currency}")
        if cur_col is not None:
            ws.write_string(r, cur_col, currency)
        for c, col in enumerate(sheet.columns):
            if not col.total:
                continue
            total = sum((row[c] for row, cur in zip(sheet.rows, sheet.currencies, strict=True)
                         if cur == currency and row[c] is not None), Decimal(0))
            fmt = formats.get(MONEY, currency)
            if cur_col is None:  # no currency column to filter on (Lines): the value itself
                ws.write_number(r, c, float(total), fmt)
                continue
            cur_letter, letter = xl_col_to_name(cur_col), xl_col_to_name(c)
            ws.write_formula(
                r, c, f'=SUMIF(${cur_letter}$2:${cur_letter}${n + 1},"{currency}",'
                f"{letter}$2:{letter}${n + 1})", fmt, float(total))


def _width(col: Col, values: list[Any]) -> float:
    longest = len(col.header)
    for value in values[:2000]:
        if value is None:
            continue
        if col.kind == MONEY:
            text = f"{value:,}"
        elif col.kind in (DATE, DATETIME):
            text = "yyyy-mm-dd hh:mm" if col.kind == DATETIME else "yyyy-mm-dd"
        elif col.kind == LINK:
            text = Path(str(value)).name
        else:
            text = str(value)
        longest = max(longest, len(text))
    return min(max(longest + 2, 8), 60)
