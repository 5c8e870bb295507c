"""Loading a file into raw sheets: the cell values as stored, plus what only the file knows
(percent formats, hidden rows and columns, formulas without a cached value).

Readers per format:

* ``.xlsx``/``.xlsm``: openpyxl with styles (cached formula values, number formats, hidden rows
  and columns, merged cells) after the archive checks of :mod:`progbill.readers.files`;
  openpyxl parses XML through defusedxml when it is installed (it is a dependency).
  Formula cells without a cached value are found by a scan of the sheet XML.
* ``.xls``/``.ods``: python-calamine (values, dates, merged cells; no number formats, so a
  percent-formatted fraction reads as a fraction and triggers the fraction warning).
* ``.csv``/``.tsv``/``.txt``: text, decoded and split by :func:`load_csv`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path, PurePosixPath

from progbill.readers.files import CSV_LIKE, EXCEL_ZIP, UnreadableFile


@dataclass
class RawSheet:
    """One sheet's cells. Row and column indexes are 0-based (Excel row = index + 1)."""

    name: str | None  # None for a CSV file
    rows: list[list[object]]
    percent_cells: set[tuple[int, int]] = field(default_factory=set)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)
    all_text: bool = False  # CSV: every cell is text as typed


def load(path: Path) -> list[RawSheet]:
    suffix = path.suffix.lower()
    if suffix in EXCEL_ZIP:
        return load_xlsx(path)
    if suffix in CSV_LIKE:
        return [load_csv(path)]
    return load_calamine(path)


# --------------------------------------------------------------------------------------------
# xlsx / xlsm


def load_xlsx(path: Path) -> list[RawSheet]:
    import openpyxl
    from openpyxl.utils import column_index_from_string

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "data validation not supported" and the like
            book = openpyxl.load_workbook(path, data_only=True, read_only=False, keep_vba=False)
    except UnreadableFile:
        raise
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise UnreadableFile(
            "the workbook is damaged or not a real Excel file "
            f"({type(exc).__name__}); open it in Excel and save it again"
        ) from exc
    missing_values = _formulas_without_cached_value(path)
    sheets = []
    try:
        for ws in book.worksheets:
            rows: list[list[object]] = []
            percent: set[tuple[int, int]] = set()
            for r, row in enumerate(ws.iter_rows()):
                values = []
                for c, cell in enumerate(row):
                    value = cell.value
                    values.append(value)
                    if value is not None and "%" in (cell.number_format or ""):
                        percent.add((r, c))
                rows.append(values)
            for merged in ws.merged_cells.ranges:
                top = rows[merged.min_row - 1][merged.min_col - 1] if merged.min_row - 1 < len(
                    rows) and merged.min_col - 1 < len(rows[merged.min_row - 1]) else None
                for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
                    for c in range(merged.min_col - 1, min(merged.max_col, len(rows[r]))):
                        rows[r][c] = top
                        if (merged.min_row - 1, merged.min_col - 1) in percent:
                            percent.add((r, c))
            hidden_rows = {i - 1 for i, dim in ws.row_dimensions.items() if dim.hidden}
            hidden_cols: set[int] = set()
            for letter, dim in ws.column_dimensions.items():
                if dim.hidden:
                    start = dim.min or column_index_from_string(letter)
                    end = dim.max or start
                    hidden_cols.update(range(start - 1, end))
            sheets.append(
                RawSheet(
                    name=ws.title,
                    rows=rows,
                    percent_cells=percent,
                    hidden_rows=hidden_rows,
                    hidden_cols=hidden_cols,
                    formulas_without_value=missing_values.get(ws.title, set()),
                )
            )
    finally:
        book.close()
    return sheets


_CELL = re.compile(rb"<c\s[^>]*?r=\"([A-Z]+)(\d+)\"[^>]*?(?:/>|>(.*?)</c>)", re.S)


def _formulas_without_cached_value(path: Path) -> dict[str, set[tuple[int, int]]]:
    """Sheet title -> cells holding a formula but no cached value.

    openpyxl's ``data_only`` mode cannot tell such a cell from an empty one, so the sheet XML is
    scanned directly (only for sheets that contain formulas at all).
    """
    from defusedxml import ElementTree
    from openpyxl.utils import column_index_from_string

    found: dict[str, set[tuple[int, int]]] = {}
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
            return found
        ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
        ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {rel.get("Id"): rel.get("Target") for rel in rels}
        for sheet in workbook.iter(f"{ns_main}sheet"):
            target = targets.get(sheet.get(f"{ns_rel}id"))
            if not target:
                continue
            part = target.lstrip("/") if target.startswith("/") else str(
                PurePosixPath("xl") / target)
            if part not in names:
                continue
            data = archive.read(part)
            if b"<f" not in data:
                continue
            cells = set()
            for match in _CELL.finditer(data):
                body = match.group(3) or b""
                if b"<f" in body and b"<v" not in body:
                    cells.add((int(match.group(2)) - 1, column_index_from_string(
                        match.group(1).decode()) - 1))
            if cells:
                found[sheet.get("name") or ""] = cells
    return found


# --------------------------------------------------------------------------------------------
# xls / ods


def load_calamine(path: Path) -> list[RawSheet]:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError as exc:
        raise UnreadableFile(
            "the workbook is password-protected; remove the password and save it again",
            code="password-protected",
        ) from exc
    except Exception as exc:
        raise UnreadableFile(
            f"the workbook is damaged or not a real spreadsheet ({type(exc).__name__}); "
            "open it and save it again"
        ) from exc
    sheets = []
    try:
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            rows = [
                [None if value == "" else _calamine_value(value) for value in row]
                for row in sheet.to_python(skip_empty_area=False)
            ]
            for region in sheet.merged_cell_ranges or []:
                (r0, c0), (r1, c1) = region
                if r0 < len(rows) and c0 < len(rows[r0]):
                    top = rows[r0][c0]
                    for r in range(r0, min(r1 + 1, len(rows))):
                        for c in range(c0, min(c1 + 1, len(rows[r]))):
                            rows[r][c] = top
            sheets.append(RawSheet(name=name, rows=rows))
    except Exception as exc:
        raise UnreadableFile(
            f"the workbook is damaged ({type(exc).__name__}); open it and save it again"
        ) from exc
    finally:
        book.close()
    return sheets


def _calamine_value(value: object) -> object:
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date()
    return value


# --------------------------------------------------------------------------------------------
# csv


def decode_text(data: bytes) -> str:
    """UTF-8 with or without BOM, UTF-16 with BOM, else cp1252 (Excel's Windows export)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict")
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnreadableFile("the file claims UTF-16 but is not; save it as UTF-8 CSV") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def detect_delimiter(text: str) -> str:
    """The most consistent of , ; tab | over the first lines (a title block may precede)."""
    lines = [line for line in text.splitlines()[:40] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for delimiter in (",", ";", "\t", "|"):
        counts = [len(next(csv.reader([line], delimiter=delimiter))) for line in lines]
        widest = max(counts)
        if widest < 2:
            continue
        # Rows as wide as the widest: the header and data. A title line counts against nothing.
        score = sum(1 for n in counts if n == widest) + widest / 100
        if score > best_score:
            best, best_score = delimiter, score
    return best


def load_csv(path: Path) -> RawSheet:
    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("the file is not text (it holds binary data); export it as CSV again")
    text = decode_text(data)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else detect_delimiter(text)
    try:
        rows: list[list[object]] = [
            [cell if cell.strip() else None for cell in row]
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as exc:
        raise UnreadableFile(f"the file is not valid CSV ({exc}); export it again") from exc
    return RawSheet(name=None, rows=rows, all_text=True)


def to_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None
