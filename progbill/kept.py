"""What accountants add to ledger.xlsx, kept across rebuilds.

progbill rebuilds the ledger from its store after every run; the accountant's work in it is
carried over:

- **columns added** to a progbill table (Invoices, Projects, Lines): header, values, number
  formats and formulas as written, per row, keyed by Document No, Project ID, or Document No +
  Line ID (a row that no longer exists loses its cells; a new row starts empty);
- **sheets added**: cell values, formulas, number formats, merged ranges and column widths;
- **comments** on progbill's cells, by row key and column.

What cannot be carried (charts, pivot tables, images, conditional formats, data validation) is
named. Edits to progbill's own cells of an issued document are not kept: issued documents are
immutable, and each such cell is listed with the value it was given and the one issued.

The content is read from the saved file only when it differs from the file progbill last
wrote, and kept in the store, so it survives a deleted ledger.xlsx.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

# progbill's tables whose rows have keys, and the columns that make them.
KEYS: dict[str, tuple[str, ...]] = {
    "Invoices": ("Document No",),
    "Projects": ("Project ID",),
    "Lines": ("Document No", "Line ID"),
}
# Columns of an issued document that never change: an edit there is reported, never kept.
IMMUTABLE: dict[str, tuple[str, ...]] = {
    "Invoices": ("Document No", "Type", "Invoice Date", "Due Date", "Period", "Project ID",
                 "Client", "Currency", "Completed This Period", "Retainage This Period", "Tax",
                 "Amount Due"),
    "Lines": ("Document No", "Project ID", "Line ID", "Description", "Scheduled Value",
              "From Previous", "This Period", "Materials Stored", "Total To Date",
              "Balance To Finish", "Billed This Period", "Retainage To Date",
              "Retainage This Period"),
}
MAX_EDITS_LISTED = 20


@dataclass
class Cell:
    """A cell as the accountant left it: a value or a formula (text starting with ``=``), its
    number format, and whether the value is a date (kept as ISO text)."""

    value: Any
    number_format: str = "General"
    is_date: bool = False

    @property
    def is_formula(self) -> bool:
        return isinstance(self.value, str) and self.value.startswith("=")

    def excel_value(self) -> Any:
        if self.is_date and isinstance(self.value, str):
            return datetime.fromisoformat(self.value)
        return self.value


@dataclass
class Column:
    sheet: str
    header: str
    width: float | None = None
    cells: dict[str, Cell] = field(default_factory=dict)  # row key -> cell


@dataclass
class Sheet:
    name: str
    cells: list[tuple[int, int, Cell]] = field(default_factory=list)  # 0-based row, column
    widths: dict[int, float] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)


@dataclass
class Comment:
    sheet: str
    key: str
    header: str
    text: str
    author: str = ""


@dataclass
class Kept:
    columns: list[Column] = field(default_factory=list)
    sheets: list[Sheet] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.columns or self.sheets or self.comments)

    def columns_of(self, sheet: str) -> list[Column]:
        base = sheet.split(" (")[0]  # "Lines (2)" carries the Lines columns
        return [c for c in self.columns if c.sheet == base]

    def comments_of(self, sheet: str) -> list[Comment]:
        base = sheet.split(" (")[0]
        return [c for c in self.comments if c.sheet == base]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Kept:
        data = json.loads(text)
        return cls(
            [Column(c["sheet"], c["header"], c["width"],
                    {k: Cell(**v) for k, v in c["cells"].items()}) for c in data["columns"]],
            [Sheet(s["name"], [(r, c, Cell(**v)) for r, c, v in s["cells"]],
                   {int(k): v for k, v in s["widths"].items()}, s["merged"])
             for s in data["sheets"]],
            [Comment(**c) for c in data["comments"]],
        )


@dataclass
class Reading:
    """What a saved ledger holds beyond progbill's own content, and what the run says of it."""

    kept: Kept
    edits: list[str]  # progbill cells changed in the file (not kept)
    not_carried: list[str]  # charts, pivot tables ... (not kept)
    # receipts typed in the Payments sheet (None: the file has no Payments sheet)
    payments: list[dict[str, Any]] | None = None


def row_key(values: dict[str, Any], sheet: str) -> str | None:
    return key_of([values.get(h) for h in KEYS[sheet]])


_KEY_SEPARATOR = "\u241f"


def key_of(parts: list[Any]) -> str | None:
    """A row's key from the values of its sheet's key columns (None if one is blank)."""
    if any(p is None or p == "" for p in parts):
        return None
    return _KEY_SEPARATOR.join(str(p) for p in parts)


def keys_of(rows: Sequence[Sequence[Any]], at: list[int]) -> list[str | None]:
    """``key_of`` of every row's cells at ``at``, without a list per row for the one and two
    key columns progbill's sheets have (120,000 rows: 0.33 -> 0.05 s)."""
    if len(at) == 1:
        (a,) = at
        return [None if (x := row[a]) is None or x == "" else str(x) for row in rows]
    if len(at) == 2:
        a, b = at
        return [None if (x := row[a]) is None or x == "" or (y := row[b]) is None or y == ""
                else str(x) + _KEY_SEPARATOR + str(y) for row in rows]
    return [key_of([row[c] for c in at]) for row in rows]


def read(path: Path, own: dict[str, tuple[str, ...]],
         issued: dict[str, dict[str, dict[str, Any]]]) -> Reading:
    """The accountant's content of the saved ledger at ``path``.

    ``own`` maps each of progbill's sheets to its headers; ``issued`` maps Invoices and Lines
    to their rows by key (header -> the value progbill writes), for finding edits."""
    import openpyxl

    book = openpyxl.load_workbook(path, data_only=False)
    kept = Kept()
    edits: list[str] = []
    not_carried: list[str] = []
    own_names = set(own)
    payments = None
    for ws in book.worksheets:
        _uncarried(ws, not_carried)
        base = ws.title.split(" (")[0]
        if base in own_names:
            if base in KEYS:
                _read_table(ws, base, own[base], issued.get(base, {}), kept, edits)
            elif base == "Payments":
                payments = _typed_payments(ws, path.name)
            continue
        kept.sheets.append(_read_sheet(ws))
    return Reading(kept, edits, not_carried, payments)


PAYMENT_FIELDS = {"Document No": "document", "Date Received": "received", "Amount": "amount",
                  "Currency": "currency", "Reference": "reference", "Method": "method",
                  "Note": "note", "Client ID": "client_id"}


def _typed_payments(ws: Any, source: str) -> list[dict[str, Any]]:
    """The receipts in the ledger's Payments sheet that the accountant keeps there (Source
    empty or this ledger); those recorded from payment workbooks come back from the store."""
    from decimal import Decimal, InvalidOperation

    from progbill.money import decimal_from_float

    header = [str(c.value) if c.value is not None else "" for c in ws[1]]
    found = []
    for r, row in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        values = dict(zip(header, row, strict=False))
        origin = values.get("Source")
        if origin not in (None, "", "ledger.xlsx", source):
            continue
        if values.get("Document No") in (None, "") and values.get("Amount") in (None, ""):
            continue  # an empty row, or the totals row
        if str(values.get("Document No") or "").strip().casefold() == "total":
            continue
        payment: dict[str, Any] = {"source": "ledger.xlsx", "source_row": r}
        for title, name in PAYMENT_FIELDS.items():
            value = values.get(title)
            if name == "amount":
                try:
                    value = (decimal_from_float(value) if isinstance(value, float)
                             else Decimal(str(value).replace(",", "").strip())
                             if value not in (None, "") else None)
                except (InvalidOperation, ValueError):
                    value = None
            elif name == "received":
                value = value.date() if isinstance(value, datetime) else value \
                    if isinstance(value, date) else None
            elif value is not None:
                value = str(value).strip()
            payment[name] = value
        found.append(payment)
    return found


def _uncarried(ws: Any, found: list[str]) -> None:
    what = []
    if getattr(ws, "_charts", None):
        what.append(f"{len(ws._charts)} chart{'s' if len(ws._charts) > 1 else ''}")
    if getattr(ws, "_pivots", None):
        what.append("a pivot table")
    if getattr(ws, "_images", None):
        what.append(f"{len(ws._images)} image{'s' if len(ws._images) > 1 else ''}")
    if ws.conditional_formatting and len(list(ws.conditional_formatting)):
        what.append("conditional formats")
    if ws.data_validations and ws.data_validations.dataValidation:
        what.append("data validation")
    if what:
        found.append(f"{ws.title}: {', '.join(what)}")


def _read_table(ws: Any, sheet: str, headers: tuple[str, ...],
                issued: dict[str, dict[str, Any]], kept: Kept, edits: list[str]) -> None:
    header_row = [c.value for c in ws[1]] if ws.max_row >= 1 else []
    position = {str(h): i for i, h in enumerate(header_row) if h is not None}
    extra = [(i, str(h)) for i, h in enumerate(header_row)
             if h is not None and str(h) not in headers]
    columns = {i: Column(sheet, h, _width(ws, i)) for i, h in extra}
    immutable = [h for h in IMMUTABLE.get(sheet, ()) if h in position]
    for row in ws.iter_rows(min_row=2):
        values = {h: row[i].value for h, i in position.items() if i < len(row)}
        key = row_key(values, sheet)
        if key is None:
            continue  # a totals row, or an empty one
        for i, column in columns.items():
            if i < len(row) and row[i].value is not None:
                column.cells[key] = _cell(row[i])
        for h, i in position.items():
            if i < len(row) and row[i].comment is not None and h in headers:
                kept.comments.append(Comment(sheet, key, h, row[i].comment.text,
                                             row[i].comment.author or ""))
        written = issued.get(key)
        if written is None:
            continue
        for h in immutable:
            if position[h] >= len(row):
                continue
            cell = row[position[h]]
            if _differs(cell.value, written.get(h)):
                edits.append(f"{ws.title}!{cell.coordinate} ({h}) of {_readable(key)}: "
                             f"{_show(cell.value)} in the ledger, {_show(written.get(h))} issued")
    kept.columns.extend(columns.values())


def _read_sheet(ws: Any) -> Sheet:
    sheet = Sheet(ws.title)
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is not None:
                sheet.cells.append((cell.row - 1, cell.column - 1, _cell(cell)))
    for letter, dim in ws.column_dimensions.items():
        if dim.width:
            from openpyxl.utils import column_index_from_string

            sheet.widths[column_index_from_string(letter) - 1] = float(dim.width)
    sheet.merged = [str(r) for r in ws.merged_cells.ranges]
    return sheet


def _width(ws: Any, index: int) -> float | None:
    from openpyxl.utils import get_column_letter

    dim = ws.column_dimensions.get(get_column_letter(index + 1))
    return float(dim.width) if dim is not None and dim.width else None


def _cell(cell: Any) -> Cell:
    value = cell.value
    if hasattr(value, "text") and not isinstance(value, str):  # an array formula
        value = value.text
    if isinstance(value, (datetime, date)):
        stamp = value if isinstance(value, datetime) else datetime(value.year, value.month,
                                                                   value.day)
        return Cell(stamp.isoformat(), cell.number_format or "yyyy-mm-dd", True)
    if not isinstance(value, (str, int, float, bool)):
        value = str(value)
    return Cell(value, cell.number_format or "General")


def _differs(found: Any, written: Any) -> bool:
    if isinstance(found, datetime):
        found = found.date()
    if isinstance(written, datetime):
        written = written.date()
    if found in (None, "") and written in (None, ""):
        return False
    if isinstance(found, (int, float)) and isinstance(written, (int, float)):
        return not math.isclose(float(found), float(written), rel_tol=0, abs_tol=1e-9)
    return str(found) != str(written)


def _readable(key: str) -> str:
    return key.replace("\u241f", " line ")


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.date().isoformat()
    return repr(value) if isinstance(value, str) else str(value)
