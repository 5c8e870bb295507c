"""``ledger.xlsx``: the accountants' workbook, a view of the store rebuilt after every run.

Sheets and header cells exactly as OUTPUTS.md lists them. Real Excel types (money as numbers
with the currency's decimals, percentages as fractions formatted ``0.00%``, dates as dates);
a frozen header, autofilter and a totals row where sums make sense, with per-currency totals
below the table when currencies mix. Text is always written as text, so a cell that starts with
``=`` can never become a formula.

Each sheet is an Excel table. A ledger of more than ``CONSTANT_MEMORY_ROWS`` rows is written in
xlsxwriter's constant-memory mode, which streams rows to disk and cannot make table objects:
its sheets have the same headers, formats, autofilter, frozen header and totals row, as plain
ranges. Money becomes an Excel number (a double) only here, at the edge: minor units divided
by 10^exponent, which IEEE division rounds to the double nearest the exact decimal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from progbill import kept as kept_content
from progbill import receivables
from progbill.money import exponent, from_minor
from progbill.store import Store
from progbill.workspace import atomic_path
from progbill.zipparts import Deflated

INVOICE_HEADERS = (
    "Document No", "Type", "Invoice Date", "Due Date", "Period", "Project ID", "Project",
    "Client", "Currency", "Completed This Period", "Retainage This Period", "Tax", "Amount Due",
    "Status", "PDF", "Source",
    # receivables and the tax return (appended after the columns of earlier versions)
    "Paid", "Balance", "Tax Rate", "Tax Type", "Taxable Amount", "Client Tax ID",
    "Place of Supply", "PO Number", "Corrects",
)
LINE_HEADERS = (
    "Document No", "Project ID", "Line ID", "Description", "Change Order", "Scheduled Value",
    "From Previous", "This Period", "Materials Stored", "Total To Date", "% Complete",
    "Balance To Finish", "Billed This Period", "Retainage To Date", "Retainage This Period",
    # quantity x rate lines, and where a line stands (appended after earlier versions' columns)
    "Qty", "Unit", "Rate", "Qty To Date", "Currency", "Period", "Invoice Date",
)
PROJECT_HEADERS = (
    "Project ID", "Project", "Client", "Currency", "Original Contract", "Change Orders",
    "Contract To Date", "Billed To Date", "% Billed", "Retainage Held", "Balance To Finish",
    "Invoiced Total", "Last Document", "Last Period",
    # onboarding balances: Billed To Date = Billed Before progbill + Billed On Documents
    "Billed Before progbill", "Retained Before progbill", "Billed On Documents",
)
PAYMENT_HEADERS = (
    "Document No", "Date Received", "Amount", "Currency", "Reference", "Method", "Note",
    "Client ID", "Source", "Problem",
)
AGEING_HEADERS = ("As Of", "Client", "Currency", *receivables.AGEING_BUCKETS, "Total Open",
                  "Retainage Held")
TAX_HEADERS = ("Period", "Currency", "Tax Type", "Tax Rate", "Taxable Amount", "Tax",
               "Documents")
EXCEPTION_HEADERS = ("Run", "File", "Sheet", "Row", "Column", "Severity", "Message")
RUN_HEADERS = (
    "Run", "Started", "Finished", "Period", "Files OK", "Files Rejected", "Invoices",
    "Credit Notes", "Amount Due",
)

TEXT, MONEY, DATE, DATETIME, PERCENT, INT, LINK = (
    "text", "money", "date", "datetime", "percent", "int", "link",
)
CONSTANT_MEMORY_ROWS = 50_000


@dataclass(frozen=True)
class Col:
    header: str
    kind: str
    total: bool = False  # summed in the totals row (money only)
    width: int | None = None


@dataclass
class Earlier:
    """A sheet's first data rows as an earlier run wrote them, kept deflated
    (:mod:`progbill.linecache`): ``rows`` rows, what their columns are as a whole (widths of
    the sheet's first rows, exact sums per total column and currency, their currencies) and
    the column styles they were written with. The sheet's own rows follow them."""

    rows: int
    currencies: frozenset[str]
    widths: list[float]
    sums: dict[tuple[int, str], int]  # (column, currency) -> exact sum, see exact_sum
    styles: dict[int, str]
    data: list[Deflated]


@dataclass
class Sheet:
    name: str
    columns: Sequence[Col]
    rows: Sequence[Sequence[Any]]  # Python values ready for Excel: str, float, int, date, None
    currencies: list[str | None]  # per row, for money formats and per-currency totals
    # the accountant's columns and comments, carried by row key (progbill.kept)
    keys: list[str | None] | None = None
    kept: list[kept_content.Column] = field(default_factory=list)
    comments: list[kept_content.Comment] = field(default_factory=list)
    earlier: Earlier | None = None  # rows written before ``rows``, reused as written

    @property
    def total_rows(self) -> int:
        return len(self.rows) + (self.earlier.rows if self.earlier else 0)

    def with_keys(self) -> Sheet:
        """The sheet with each row's key (Document No, Project ID, Document No + Line ID)."""
        if self.name not in kept_content.KEYS:
            return self
        headers = [c.header for c in self.columns]
        at = [headers.index(h) for h in kept_content.KEYS[self.name]]
        self.keys = kept_content.keys_of(self.rows, at)
        return self

    def issued(self) -> dict[str, dict[str, Any]]:
        """Rows by key, header -> value: what progbill writes (edits are compared with it)."""
        headers = [c.header for c in self.columns]
        return {k: dict(zip(headers, row, strict=True))
                for k, row in zip(self.keys or [], self.rows, strict=True) if k is not None}


# --------------------------------------------------------------------------------------------
# building the sheets from the store (column-wise)


def _amounts(minor: pd.Series, exps: np.ndarray) -> list[float]:
    return (minor.to_numpy(dtype=np.float64) / np.power(10.0, exps)).tolist()


def _exponents(currencies: pd.Series) -> np.ndarray:
    table = {c: exponent(c) for c in currencies.dropna().unique()}
    return currencies.map(table).fillna(2).to_numpy(dtype=np.int64)


def _ratios(numerator: pd.Series, denominator: pd.Series) -> list[float | None]:
    num = numerator.to_numpy(dtype=np.float64)
    den = denominator.to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    return [None if d == 0 else float(r) for r, d in zip(ratio.tolist(), den.tolist(),
                                                          strict=True)]


def _unless(voided: dict[str, str], numbers: pd.Series, values: list[float]) -> list[float | None]:
    """Amounts, blank on voided documents (their stored totals are what made them void)."""
    if not voided:
        return values  # type: ignore[return-value]
    return [None if n in voided else v for n, v in zip(numbers.tolist(), values, strict=True)]


def _dates(values: pd.Series) -> list[date | None]:
    return [date.fromisoformat(v) if isinstance(v, str) and v else None
            for v in values.tolist()]


def _text(values: pd.Series) -> list[str | None]:
    return [v if isinstance(v, str) and v else None for v in values.tolist()]


def _quantities(values: pd.Series) -> list[float | None]:
    """Quantities and rates (kept as exact text, at most 4 decimals) as Excel numbers."""
    return [float(Decimal(v)) if isinstance(v, str) and v else None for v in values.tolist()]


def _rows(*columns: Sequence[Any]) -> list[Sequence[Any]]:
    return list(zip(*columns, strict=True))  # rows are never changed once built


# what a document owes is made of (receivables.balances), with its payments
_OWED_COLUMNS = ("number", "type", "amount_due", "corrects_number")
# what the Invoices and Tax Summary sheets and the documents' states are made of
_SHEET_COLUMNS = ("number", "type", "invoice_date", "due_date", "period", "project_id",
                  "project_name", "client", "currency", "completed_this_period",
                  "retainage_this_period", "tax", "amount_due", "pdf_path", "source_file",
                  "tax_rate", "tax_label", "tax_base", "client_tax_id", "place_of_supply",
                  "po_number", "corrects_number")


def build_sheets(store: Store, ledger_dir: Path, workspace: Path,
                 as_of: date | None = None, ageing_as_of: date | None = None,
                 fy: int | None = None, lines_after: tuple[Earlier, Sequence[object]] | None
                 = None) -> list[Sheet]:
    """Every sheet of the ledger, from the store. Document states are as of ``as_of`` (the day
    the ledger is built, by default); the ageing as of ``ageing_as_of`` (default ``as_of``).

    With ``fy``, the Invoices, Lines and Tax Summary sheets hold that fiscal year's documents;
    Projects (totals to date), Payments, AR Ageing (every open item), Exceptions and Runs are
    the workspace's whole. With ``lines_after`` (rows kept from an earlier run and the key of
    their last document, :mod:`progbill.linecache`), the Lines sheet holds the lines after
    that document, to follow those rows."""
    as_of = as_of or date.today()
    docs = store.documents(_SHEET_COLUMNS, fy)
    exps = _exponents(docs["currency"])
    voided = store.voided()
    payments = store.payments()
    # what the year's documents owe: their payments, and the credit notes citing them (some
    # may be another year's); a voided document owes and credits nothing. The ageing's open
    # items of every year are summed by the store.
    owing = docs.loc[~docs["number"].isin(list(voided)), list(_OWED_COLUMNS)]
    citing = store.credits_from_other_years(fy) if fy is not None else owing.iloc[:0]
    if len(citing):
        owing = pd.concat([owing, citing], ignore_index=True)
    owed = receivables.balances(owing, payments).set_index("number").reindex(
        docs["number"], fill_value=0).reset_index()
    links = []
    missing = []
    for pdf in docs["pdf_path"]:
        missing.append(not (isinstance(pdf, str) and (workspace / pdf).exists()))
        links.append(Path(os.path.relpath(workspace / pdf, ledger_dir)).as_posix()
                     if isinstance(pdf, str) else None)
    status = receivables.states(docs, owed, as_of, pd.Series(missing), voided)
    taxes = store.document_taxes()
    kinds = taxes.groupby("number")["label"].agg(
        lambda labels: " + ".join(dict.fromkeys(labels))).to_dict()
    is_cn = (docs["type"] == "Credit Note").tolist()
    due = [None if cn else d for cn, d in zip(is_cn, _dates(docs["due_date"]), strict=True)]
    invoices = Sheet("Invoices", _cols(INVOICE_HEADERS, {
        "Invoice Date": DATE, "Due Date": DATE, "Completed This Period": MONEY,
        "Retainage This Period": MONEY, "Tax": MONEY, "Amount Due": MONEY, "PDF": LINK,
        "Paid": MONEY, "Balance": MONEY, "Tax Rate": PERCENT, "Taxable Amount": MONEY,
    }, totals=("Completed This Period", "Retainage This Period", "Tax", "Amount Due", "Paid",
               "Balance", "Taxable Amount")), _rows(
        docs["number"].tolist(), docs["type"].tolist(), _dates(docs["invoice_date"]),
        due, docs["period"].tolist(), docs["project_id"].tolist(),
        _text(docs["project_name"]), docs["client"].tolist(), docs["currency"].tolist(),
        *(_unless(voided, docs["number"], _amounts(docs[c], exps)) for c in (
            "completed_this_period", "retainage_this_period", "tax", "amount_due")),
        status, links, docs["source_file"].tolist(),
        _amounts(owed["paid"], exps), _unless(voided, docs["number"],
                                              _amounts(owed["balance"], exps)),
        [float(Decimal(str(r)) / 100) for r in docs["tax_rate"]],
        [kinds.get(n) or (label if label != "Tax" or float(r) else None)
         for n, label, r in zip(docs["number"].tolist(), docs["tax_label"].tolist(),
                                docs["tax_rate"].tolist(), strict=True)],
        _unless(voided, docs["number"], _amounts(docs["tax_base"], exps)),
        _text(docs["client_tax_id"]), _text(docs["place_of_supply"]),
        _text(docs["po_number"]), _text(docs["corrects_number"]),
    ), docs["currency"].tolist())

    lines = store.ledger_lines(fy, lines_after[1] if lines_after else None)
    exps = _exponents(lines["currency"])
    money = [_amounts(lines[c], exps) for c in (
        "scheduled_value", "from_previous", "this_period", "stored_materials", "total_to_date")]
    tail = [_amounts(lines[c], exps) for c in (
        "balance_to_finish", "billed", "retainage_to_date", "retainage_this_period")]
    line_sheet = Sheet("Lines", _cols(LINE_HEADERS, {
        **{h: MONEY for h in LINE_HEADERS[5:10]}, "% Complete": PERCENT,
        **{h: MONEY for h in LINE_HEADERS[11:15]}, "Invoice Date": DATE,
    }, totals=("This Period", "Billed This Period", "Retainage This Period")), _rows(
        lines["number"].tolist(), lines["project_id"].tolist(), lines["line_id"].tolist(),
        lines["description"].tolist(), _text(lines["change_order"]), *money,
        _ratios(lines["total_to_date"], lines["scheduled_value"]), *tail,
        _quantities(lines["quantity"]), _text(lines["unit"]), _quantities(lines["rate"]),
        _quantities(lines["quantity_to_date"]), lines["currency"].tolist(),
        lines["period"].tolist(), _dates(lines["invoice_date"]),
    ), lines["currency"].tolist(), earlier=lines_after[0] if lines_after else None)

    projects = store.projects_summary()
    exps = _exponents(projects["currency"])
    contract = projects["original_contract"] + projects["change_orders"]
    project_sheet = Sheet("Projects", _cols(PROJECT_HEADERS, {
        **{h: MONEY for h in PROJECT_HEADERS[4:8]}, "% Billed": PERCENT,
        **{h: MONEY for h in PROJECT_HEADERS[9:12]},
        **{h: MONEY for h in PROJECT_HEADERS[14:17]},
    }, totals=PROJECT_HEADERS[4:8] + PROJECT_HEADERS[9:12] + PROJECT_HEADERS[14:17]), _rows(
        projects["project_id"].tolist(), _text(projects["project_name"]),
        projects["client"].tolist(), projects["currency"].tolist(),
        _amounts(projects["original_contract"], exps), _amounts(projects["change_orders"], exps),
        _amounts(contract, exps), _amounts(projects["billed_to_date"], exps),
        _ratios(projects["billed_to_date"], contract),
        _amounts(projects["retainage_held"], exps),
        _amounts(contract - projects["billed_to_date"], exps),
        _amounts(projects["invoiced_total"], exps), _text(projects["last_document"]),
        _text(projects["last_period"]), _amounts(projects["opening_billed"], exps),
        _amounts(projects["opening_retained"], exps),
        _amounts(projects["billed_on_documents"], exps),
    ), projects["currency"].tolist())

    exception_rows = []
    for e in store.exceptions().itertuples(index=False):
        column = e.column if isinstance(e.column, str) and e.column else None
        if isinstance(e.cell, str) and e.cell and column:
            letter = "".join(ch for ch in e.cell if ch.isalpha())
            column = f"{column} ({letter})" if letter else column
        exception_rows.append([
            e.run_id, e.file, e.sheet if isinstance(e.sheet, str) and e.sheet else None,
            int(e.row) if pd.notna(e.row) else None, column, str(e.severity).capitalize(),
            e.message,
        ])

    for pay in payments[payments["status"] == "rejected"].itertuples(index=False):
        exception_rows.append([
            "payments", pay.source, "Payments" if pay.source == "ledger.xlsx" else None,
            int(pay.source_row) if pd.notna(pay.source_row) else None, "Document No",
            "Error", f"payment {pay.reference or ''} for {pay.document}: {pay.problem}".replace(
                "payment  for", "payment for"),
        ])

    totals = store.run_totals()
    run_rows: list[list[Any]] = []
    run_ccy: list[str | None] = []
    for r in store.runs().itertuples(index=False):
        per_currency = totals[totals["run_id"] == r.run_id]
        # One row per run; amounts in different currencies never add, so the amount due is
        # always text with each currency's total: "USD 1,000.00" or "GBP 5.00; USD 7.00".
        currency = None
        amount = "; ".join(f"{t.currency} {from_minor(int(t.amount_due), t.currency):,}"
                           for t in per_currency.itertuples(index=False)) or None
        run_rows.append([r.run_id, _naive(r.started), _naive(r.finished), r.period,
                         int(r.files_ok), int(r.files_rejected), int(r.invoices),
                         int(r.credit_notes), amount])
        run_ccy.append(currency)

    return [
        invoices.with_keys(),
        line_sheet.with_keys(),
        project_sheet.with_keys(),
        Sheet("Exceptions", _cols(EXCEPTION_HEADERS, {"Row": INT}, widths={"Message": 90}),
              exception_rows, [None] * len(exception_rows)),
        Sheet("Runs", _cols(RUN_HEADERS, {
            "Started": DATETIME, "Finished": DATETIME, "Files OK": INT, "Files Rejected": INT,
            "Invoices": INT, "Credit Notes": INT,
        }), run_rows, run_ccy),
        _payment_sheet(payments),
        _ageing_sheet(store.open_items(), projects, ageing_as_of or as_of),
        _tax_sheet(docs, taxes, voided),
    ]


def _payment_sheet(payments: pd.DataFrame) -> Sheet:
    """The payments recorded; accountants type receipts here (Source empty or ledger.xlsx)."""
    exps = _exponents(payments["currency"])
    return Sheet("Payments", _cols(PAYMENT_HEADERS, {
        "Date Received": DATE, "Amount": MONEY}, totals=("Amount",)), _rows(
        payments["document"].tolist(), _dates(payments["received"]),
        _amounts(payments["amount"], exps), payments["currency"].tolist(),
        _text(payments["reference"]), _text(payments["method"]), _text(payments["note"]),
        _text(payments["client_id"]), payments["source"].tolist(), _text(payments["problem"]),
    ), payments["currency"].tolist())


def _ageing_sheet(items: pd.DataFrame, projects: pd.DataFrame, as_of: date) -> Sheet:
    aged = receivables.ageing(items, projects[["client", "currency", "retainage_held"]],
                              as_of)
    exps = _exponents(aged["currency"])
    money = [*receivables.AGEING_BUCKETS, "Total Open", "Retainage Held"]
    sheet = Sheet("AR Ageing", _cols(
        AGEING_HEADERS, {"As Of": DATE, **dict.fromkeys(money, MONEY)}, totals=money), _rows(
        [as_of] * len(aged), aged["client"].tolist(), aged["currency"].tolist(),
        *(_amounts(aged[b], exps) for b in receivables.AGEING_BUCKETS),
        _amounts(aged["total"], exps), _amounts(aged["retainage_held"], exps),
    ), aged["currency"].tolist())
    return sheet


def _tax_sheet(docs: pd.DataFrame, taxes: pd.DataFrame, voided: dict[str, str]) -> Sheet:
    summary = receivables.tax_summary(docs, taxes, voided)
    exps = _exponents(summary["currency"])
    return Sheet("Tax Summary", _cols(TAX_HEADERS, {
        "Tax Rate": PERCENT, "Taxable Amount": MONEY, "Tax": MONEY, "Documents": INT},
        totals=("Taxable Amount", "Tax")), _rows(
        summary["period"].tolist(), summary["currency"].tolist(), summary["label"].tolist(),
        [float(Decimal(str(r)) / 100) for r in summary["rate"]],
        _amounts(summary["base"], exps), _amounts(summary["amount"], exps),
        [int(n) for n in summary["documents"]],
    ), summary["currency"].tolist())


def _naive(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=None)


def _cols(headers: Sequence[str], kinds: dict[str, str], totals: Sequence[str] = (),
          widths: dict[str, int] | None = None) -> list[Col]:
    widths = widths or {}
    return [Col(h, kinds.get(h, TEXT), h in totals, widths.get(h)) for h in headers]


# --------------------------------------------------------------------------------------------
# writing


def write_ledger(store: Store, workspace: Path, target: Path,
                 notes: list[str] | None = None, sheets: list[Sheet] | None = None,
                 kept: kept_content.Kept | None = None) -> dict[str, Earlier]:
    """Write the ledger (``sheets`` as built, or built now) with the accountant's content;
    returns what :func:`write_sheets` returns."""
    sheets = sheets if sheets is not None else build_sheets(store, target.parent, workspace)
    if kept is not None:
        for sheet in sheets:
            sheet.kept = kept.columns_of(sheet.name)
            sheet.comments = kept.comments_of(sheet.name)
    sheets = split_long_sheets(sheets, notes)
    with atomic_path(target) as tmp:
        return write_sheets(sheets, tmp, kept.sheets if kept is not None else [])


def _file_link(path: str) -> Any:
    """A link to a PDF relative to the workbook, with forward slashes: xlsxwriter writes file
    links with backslashes, which only Windows follows, so its target is set as written."""
    from xlsxwriter.url import Url

    url = Url(f"external:{path}")
    url._text = Path(path).name
    if hasattr(url, "_relationship_link"):
        url._relationship_link = url._relationship_link.replace("\\", "/")
    return url


_EXTERNAL_TARGET = re.compile(
    rb'(<Relationship\b[^>]*\bTarget=")([^"]+)("[^>]*\bTargetMode="External")')


def relink(workbook: bytes, change: Any) -> bytes:
    """The workbook with each external link's target passed through ``change`` (a function of
    the target text); the same bytes in give the same bytes out. Parts without such links are
    copied as they are stored (not inflated and deflated again)."""
    import io
    import zipfile

    from progbill import zipparts

    try:
        with zipfile.ZipFile(io.BytesIO(workbook)) as old:
            parts = []
            for info in old.infolist():
                linked = info.filename.endswith(".rels") and (
                    b'TargetMode="External"' in old.read(info))
                piece = None if linked else zipparts.copied(workbook, info)
                if piece is None:
                    part = old.read(info)
                    if linked:
                        part = _EXTERNAL_TARGET.sub(
                            lambda m: m.group(1) + change(m.group(2).decode()).encode()
                            + m.group(3), part)
                    piece = zipparts.deflate(part)
                parts.append((info.filename, info.date_time, piece))
    except zipfile.BadZipFile:
        return workbook  # not a workbook we can read: its bytes as they are
    out = io.BytesIO()
    try:
        zipparts.write_zip(out, parts)
    except zipparts.TooLarge:
        return workbook  # a copy of 4 GiB or more keeps its links as they are
    return out.getvalue()


OWN_HEADERS = {"Invoices": INVOICE_HEADERS, "Lines": LINE_HEADERS, "Projects": PROJECT_HEADERS,
               "Exceptions": EXCEPTION_HEADERS, "Runs": RUN_HEADERS,
               "Payments": PAYMENT_HEADERS, "AR Ageing": AGEING_HEADERS,
               "Tax Summary": TAX_HEADERS}


# Excel shows at most 1,048,576 rows a sheet. A sheet is split well before that, leaving room
# for the header, the totals row and the totals per currency, so no row is ever cut off.
MAX_SHEET_ROWS = 1_000_000


def split_long_sheets(sheets: list[Sheet], notes: list[str] | None = None) -> list[Sheet]:
    """Sheets of more than :data:`MAX_SHEET_ROWS` rows become ``Lines``, ``Lines (2)`` ...,
    each with the same columns, and the run says so."""
    out = []
    for sheet in sheets:
        n = len(sheet.rows)
        if sheet.total_rows <= MAX_SHEET_ROWS:
            out.append(sheet)
            continue
        if sheet.earlier is not None:
            raise ValueError("a sheet split over several is written whole, not after kept rows")
        parts = range(0, n, MAX_SHEET_ROWS)
        names = [sheet.name if k == 0 else f"{sheet.name} ({k + 1})" for k in range(len(parts))]
        for name, start in zip(names, parts, strict=True):
            end = start + MAX_SHEET_ROWS
            out.append(Sheet(name, sheet.columns, sheet.rows[start:end],
                             sheet.currencies[start:end],
                             sheet.keys[start:end] if sheet.keys is not None else None,
                             sheet.kept, sheet.comments))
        if notes is not None:
            notes.append(f"the ledger's {sheet.name} sheet has {n:,} rows, more than one Excel "
                         f"sheet shows; it continues on {', '.join(names[1:])}")
    return out


def write_sheets(sheets: list[Sheet], path: Path,
                 kept_sheets: list[kept_content.Sheet] | None = None, fast: bool = True
                 ) -> dict[str, Earlier]:
    """Write the workbook. With ``fast`` (the default) xlsxwriter writes each sheet's structure
    and progbill the plain data cells (:mod:`progbill.sheetdata`); without it xlsxwriter
    writes every cell. Both give the same cells, values and formats.

    Returns, with ``fast``, each reusable sheet whose data rows are all progbill's as
    :class:`Earlier`: its rows as written, for a later run to write more rows after them."""
    import xlsxwriter

    from progbill import sheetdata

    if not fast and any(s.earlier for s in sheets):
        raise ValueError("rows kept from an earlier run are written only by the fast path")
    constant_memory = sum(s.total_rows for s in sheets) > CONSTANT_MEMORY_ROWS  # kept rows too
    book_path = path.with_name(path.name[:240] + ".cells") if fast else path  # name <= 255
    book = xlsxwriter.Workbook(
        str(book_path),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_date_format": "yyyy-mm-dd",
            "constant_memory": constant_memory,
        },
    )
    # Reproducible files: no clock in the document properties.
    book.set_properties({"title": "progbill ledger", "author": "progbill",
                         "created": datetime(2000, 1, 1)})
    written: dict[str, Earlier] = {}
    try:
        formats = _Formats(book)
        ours = []
        for sheet in sheets:
            cells = _write_sheet(book, formats, sheet, table=not constant_memory, fast=fast)
            if cells is not None:
                ours.append(cells)
        taken = {s.name.casefold() for s in sheets}
        for extra in kept_sheets or []:
            _write_kept_sheet(book, formats, extra, taken)
        book.close()
        if fast:
            data = sheetdata.merge_into(book_path, path, ours)
            for cells in ours:
                if cells.sheet in data and cells.summary is not None:
                    cells.summary.styles, cells.summary.data = data[cells.sheet]
                    written[cells.sheet] = cells.summary
    finally:
        if fast:
            book_path.unlink(missing_ok=True)
    return written


def _write_kept_sheet(book: Any, formats: _Formats, sheet: kept_content.Sheet,
                      taken: set[str]) -> None:
    """A sheet the accountant added: its cells, formats, merged ranges and widths."""
    name = sheet.name
    while name.casefold() in taken:  # progbill has since taken the name
        name = f"{name[:26]} (2)" if not name.endswith(")") else f"{name[:-1]}2)"
    taken.add(name.casefold())
    ws = book.add_worksheet(name)
    for c, width in sorted(sheet.widths.items()):
        ws.set_column_pixels(c, c, round(width * 7))  # the width as stored, without padding
    for r, c, cell in sorted(sheet.cells, key=lambda rc: (rc[0], rc[1])):
        _write_kept_cell(ws, r, c, cell, formats)
    for cells in sheet.merged:
        ws.merge_range(cells, None)


def _write_kept_cell(ws: Any, r: int, c: int, cell: kept_content.Cell,
                     formats: _Formats) -> None:
    fmt = formats.number_format(cell.number_format)
    value = cell.excel_value()
    if cell.is_formula:
        ws.write_formula(r, c, value, fmt)
    elif isinstance(value, datetime):
        ws.write_datetime(r, c, value, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value, fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(r, c, value, fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


class _Formats:
    def __init__(self, book: Any) -> None:
        self.book = book
        self.cache: dict[tuple[str, int], Any] = {}
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})

    def number_format(self, code: str) -> Any:
        """The format of an accountant's cell: its number format as they set it."""
        key = ("kept:" + code, 0)
        if key not in self.cache:
            self.cache[key] = self.book.add_format(
                {"num_format": code} if code and code != "General" else {})
        return self.cache[key]

    def get(self, kind: str, exp: int = 2) -> Any:
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


def _write_sheet(book: Any, formats: _Formats, sheet: Sheet, table: bool,
                 fast: bool = False) -> Any:
    """Write one sheet; with ``fast``, return the data cells left for progbill to write.

    With rows kept from an earlier run (``sheet.earlier``), this sheet's rows follow them:
    its widths, currencies and totals count them too."""
    from progbill import sheetdata

    ws = book.add_worksheet(sheet.name)
    columns = sheet.columns
    earlier = sheet.earlier
    offset = earlier.rows if earlier else 0
    n = offset + len(sheet.rows)
    if earlier and (sheet.kept or sheet.comments):
        raise ValueError("the accountant's columns and comments need every row written anew")
    currencies = sorted({c for c in sheet.currencies if c} | (earlier.currencies if earlier
                                                               else set()))
    single = len(currencies) <= 1
    common = exponent(currencies[0]) if len(currencies) == 1 else 2
    if earlier and common != (exponent(next(iter(earlier.currencies)))
                              if len(earlier.currencies) == 1 else 2):
        raise sheetdata.Stale(sheet.name)  # the earlier rows' money format is not this one
    column_formats = []
    widths = []
    for c, col in enumerate(columns):  # column formats apply to every cell written without one
        width = col.width or (earlier.widths[c] if earlier else _width(
            col, [row[c] for row in sheet.rows[:WIDTH_ROWS]]))
        widths.append(width)
        fmt = formats.get(col.kind, common) if col.kind in (MONEY, PERCENT, DATE, DATETIME,
                                                            INT) else None
        column_formats.append(fmt)
        ws.set_column(c, c, width, fmt)
    for c, col in enumerate(columns):
        ws.write_string(0, c, col.header, formats.header)
    base = len(columns)  # the accountant's columns follow progbill's
    for j, extra in enumerate(sheet.kept):
        if extra.width:
            ws.set_column_pixels(base + j, base + j, round(extra.width * 7))
        else:
            ws.set_column(base + j, base + j, max(len(extra.header) + 2, 10))
        ws.write_string(0, base + j, extra.header, formats.header)
    keys = sheet.keys or [None] * len(sheet.rows)
    comments = _comments_by_row(sheet, keys)
    money_columns = [c for c, col in enumerate(columns) if col.kind == MONEY]
    link_columns = [c for c, col in enumerate(columns) if col.kind == LINK]
    date_columns = [c for c, col in enumerate(columns) if col.kind == DATETIME]
    row_exps = [exponent(currency) if currency else 2 for currency in sheet.currencies]
    sums = _sums(sheet, earlier)
    cells = None
    xlsx_cells: dict[int, list[tuple[int, Any, Any]]] = {}
    if fast:
        on_columns = list(column_formats)
        if any(e != common for e in row_exps):
            for c in money_columns:
                column_formats[c] = [column_formats[c] if e == common
                                     else formats.get(MONEY, e) for e in row_exps]
        xlsx_cells, cells = sheetdata.plan(sheet.name, sheet.rows, column_formats,
                                           set(link_columns) | set(date_columns),
                                           first_row=offset + 1, on_columns=on_columns)
        if earlier:
            cells.earlier, cells.earlier_rows = earlier.data, earlier.rows
            cells.earlier_styles = earlier.styles
        if not sheet.kept and not sheet.comments and n >= WIDTH_ROWS and (
                sheet.name in REUSABLE):
            cells.summary = Earlier(n, frozenset(currencies), widths, sums, {}, [])
    link_format = formats.get(LINK)
    write, write_row, write_number = ws.write, ws.write_row, ws.write_number
    write_url, write_datetime = ws.write_url, ws.write_datetime
    for r, (row, exp) in enumerate(zip(sheet.rows, row_exps, strict=True), start=offset + 1):
        if fast:
            for c, value, fmt in xlsx_cells.get(r - 1 - offset, ()):
                write(r, c, value, fmt)
        else:
            write_row(r, 0, row)
            if exp != common:
                fmt = formats.get(MONEY, exp)
                for c in money_columns:
                    if row[c] is not None:
                        write_number(r, c, row[c], fmt)
        for c in date_columns:  # dates use the default date format; date-times need their own
            if row[c] is not None:
                write_datetime(r, c, row[c], formats.get(columns[c].kind))
        for c in link_columns:
            if row[c] is not None:
                write_url(r, c, _file_link(row[c]), link_format)
        key = keys[r - 1 - offset]
        if key is not None:
            for j, extra in enumerate(sheet.kept):
                cell = extra.cells.get(key)
                if cell is not None:
                    _write_kept_cell(ws, r, base + j, cell, formats)
        for c, comment in comments.get(r, ()):
            ws.write_comment(r, c, comment.text,
                             {"author": comment.author} if comment.author else {})
    has_totals = n > 0 and single and any(col.total for col in columns)
    last = max(n, 1) + (1 if has_totals else 0)
    width = len(columns) + len(sheet.kept)
    if table:
        ws.add_table(0, 0, last, width - 1, {
            "name": "".join(ch if ch.isalnum() else "_" for ch in sheet.name).strip("_"),
            "style": "Table Style Light 9", "autofilter": True,
            "total_row": has_totals,
            "columns": [_table_column(c, col, sums, formats, common, has_totals)
                        for c, col in enumerate(columns)]
            + [{"header": extra.header, "header_format": formats.header}
               for extra in sheet.kept],
        })
    else:
        ws.autofilter(0, 0, max(n, 1), width - 1)
        if has_totals:
            _plain_totals_row(ws, formats, sheet, sums, common, n)
    if n and not single and any(col.total for col in columns):
        _per_currency_totals(ws, formats, sheet, sums, currencies, n)
    ws.freeze_panes(1, 0)
    return cells


# The sheets whose data rows a later run may reuse (see progbill.linecache), and how many
# first rows set the columns' widths.
REUSABLE = frozenset({"Lines"})
WIDTH_ROWS = 2000

# Exact sums of Excel numbers (doubles): every double is a whole multiple of 2**-1074, so a sum
# is exact as a Python int of those units, and one division rounds it to the nearest double.
_UNITS = 1074


def exact_sum(values: Any) -> int:
    """The exact sum of some doubles, in units of 2**-1074 (None counts nothing): each is
    split into a 53-bit integer mantissa and a power of two, and the mantissas of each power
    are added as Python integers."""
    numbers = np.fromiter((v for v in values if v is not None), dtype=np.float64)
    if not len(numbers):
        return 0
    if not np.isfinite(numbers).all():
        raise ValueError("only finite numbers have an exact sum")
    fractions, powers = np.frexp(numbers)  # number = fraction * 2**power, 0.5 <= |f| < 1
    mantissas = (fractions * 2.0**53).astype(np.int64)  # exact: 53 bits
    total = 0
    for power in np.unique(powers).tolist():
        part = sum(mantissas[powers == power].tolist())
        shift = power - 53 + _UNITS
        total += part << shift if shift >= 0 else _exact_small(numbers[powers == power])
    return total


def _exact_small(numbers: Any) -> int:
    """Subnormal doubles, one by one."""
    total = 0
    for value in numbers.tolist():
        numerator, denominator = float(value).as_integer_ratio()
        total += numerator << (_UNITS + 1 - denominator.bit_length())
    return total


def nearest_double(total: int) -> float:
    """An exact sum (see :func:`exact_sum`) rounded once to the nearest double."""
    return total / (1 << _UNITS)


def _sums(sheet: Sheet, earlier: Earlier | None) -> dict[tuple[int, str], int]:
    """Exact sums of each total column per currency ("" for rows without one), the earlier
    rows' included."""
    out = dict(earlier.sums) if earlier else {}
    totals = [c for c, col in enumerate(sheet.columns) if col.total]
    if not totals:
        return out
    by_currency: dict[str, list[int]] = {}
    for i, currency in enumerate(sheet.currencies):
        by_currency.setdefault(currency or "", []).append(i)
    for currency, at in by_currency.items():
        for c in totals:
            out[(c, currency)] = out.get((c, currency), 0) + exact_sum(
                sheet.rows[i][c] for i in at)
    return out


def _column_total(sums: dict[tuple[int, str], int], c: int, currency: str | None = None
                  ) -> float:
    """A total column's sum (of one currency's rows, or all), rounded once."""
    return nearest_double(sum(v for (column, cur), v in sums.items()
                              if column == c and (currency is None or cur == currency)))


def _table_column(c: int, col: Col, sums: dict[tuple[int, str], int], formats: _Formats,
                  exp: int, has_totals: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"header": col.header, "header_format": formats.header}
    if has_totals and c == 0:
        spec["total_string"] = "Total"
    elif has_totals and col.total:
        spec.update({"total_function": "sum", "total_value": _column_total(sums, c),
                     "format": formats.get(col.kind, exp)})
    return spec


def _plain_totals_row(ws: Any, formats: _Formats, sheet: Sheet,
                      sums: dict[tuple[int, str], int], exp: int, n: int) -> None:
    from xlsxwriter.utility import xl_col_to_name

    r = n + 1
    ws.write_string(r, 0, "Total", formats.header)
    for c, col in enumerate(sheet.columns):
        if col.total:
            letter = xl_col_to_name(c)
            ws.write_formula(r, c, f"=SUBTOTAL(109,{letter}2:{letter}{n + 1})",
                             formats.get(MONEY, exp), _column_total(sums, c))


def _per_currency_totals(ws: Any, formats: _Formats, sheet: Sheet,
                         sums: dict[tuple[int, str], int], currencies: list[str],
                         n: int) -> None:
    """Below a mixed-currency table: one row per currency whose formula sums the rows of that
    currency that a filter shows (values cached, so a reader that does not calculate still
    sees the totals)."""
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
            total = _column_total(sums, c, currency)
            fmt = formats.get(MONEY, exponent(currency))
            if cur_col is None:  # no currency column to filter on (Lines): the value itself
                ws.write_number(r, c, total, fmt)
                continue
            cur_letter, letter = xl_col_to_name(cur_col), xl_col_to_name(c)
            # SUBTOTAL over each row counts only the rows a filter shows
            ws.write_formula(
                r, c, f"=SUMPRODUCT(SUBTOTAL(109,OFFSET(${letter}$2,"
                f"ROW(${letter}$2:${letter}${n + 1})-ROW(${letter}$2),0)),"
                f'--(${cur_letter}$2:${cur_letter}${n + 1}="{currency}"))', fmt, total)


def _comments_by_row(sheet: Sheet, keys: list[str | None]
                     ) -> dict[int, list[tuple[int, kept_content.Comment]]]:
    """The accountant's comments on progbill's cells, by row (found by key) and column.
    They are written with their row: in constant-memory mode xlsxwriter drops a comment on a
    row it has already written out."""
    out: dict[int, list[tuple[int, kept_content.Comment]]] = {}
    if not sheet.comments:
        return out
    row_of = {k: r for r, k in enumerate(keys, start=1) if k is not None}
    column_of = {col.header: c for c, col in enumerate(sheet.columns)}
    for comment in sheet.comments:
        r, c = row_of.get(comment.key), column_of.get(comment.header)
        if r is not None and c is not None:
            out.setdefault(r, []).append((c, comment))
    return out


def _width(col: Col, values: list[Any]) -> float:
    longest = len(col.header)
    for value in values:
        if value is None:
            continue
        if col.kind == MONEY and isinstance(value, float):
            text = f"{value:,.2f}"
        elif col.kind in (DATE, DATETIME):
            text = "yyyy-mm-dd hh:mm" if col.kind == DATETIME else "yyyy-mm-dd"
        elif col.kind == LINK:
            text = Path(str(value)).name
        else:
            text = str(value)
        longest = max(longest, len(text))
    return min(max(longest + 2, 8), 60)
