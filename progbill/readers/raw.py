"""Loading a file into raw sheets: the cell values as stored, plus what only the file knows
(percent formats, hidden rows and columns, formulas without a cached value).

The reader, chosen by measurement (README "Reading workbooks"): python-calamine reads the values
of ``.xlsx``/``.xlsm``/``.xls``/``.ods`` (cached formula results, typed dates in both Excel date
systems, merged regions) about 10-17x faster than openpyxl, which additionally slows by half when
it parses through defusedxml. calamine exposes no number formats and no hidden rows, so for
``.xlsx``/``.xlsm`` those come from targeted scans of the sheet XML: the row and column tags, and
only the cells of the percent columns (their style decides whether a cell is percent-formatted).
For ``.ods`` the same facts come from one streaming pass over ``content.xml`` through defusedxml.
For ``.xls`` (binary, no XML) xlrd reads the cell formats and hidden rows.

No XML entity is ever expanded: calamine's XML parser does not expand DTD entities, the scans
work on raw bytes, and the small XML parts (workbook, relationships, styles, ODS content) go
through defusedxml, which refuses DTDs. Archives were checked before anything is opened
(:mod:`progbill.readers.files`).

Every sheet's extent (its declared dimension and the cells it really has) is measured from the
file before calamine loads it, because calamine allocates the whole rectangle from A1 to the
last cell: one cell at XFD1048576 in a 5 KB file would ask for hundreds of gigabytes. A sheet
beyond ``input.max_rows`` or ``input.max_columns`` is refused as :class:`SheetTooLarge`, naming
the sheet and its farthest cell; the run goes on with the other files.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import cast

from progbill.problems import column_index, column_letter
from progbill.readers.files import CSV_LIKE, EXCEL_ZIP, ODS, UnreadableFile


@dataclass(frozen=True)
class ReadLimits:
    """How far from A1 a sheet may reach (``input.max_rows``, ``input.max_columns``)."""

    max_rows: int = 200_000
    max_columns: int = 200


class SheetTooLarge(UnreadableFile):
    """A sheet reaching beyond the row or column budget; ``sheet`` and ``cell`` locate it."""

    def __init__(self, sheet: str | None, rows: int, columns: int, limits: ReadLimits) -> None:
        self.sheet = sheet
        self.cell = f"{column_letter(max(columns, 1) - 1)}{max(rows, 1)}"
        over = []
        if rows > limits.max_rows:
            over.append(f"row {rows:,} (input.max_rows is {limits.max_rows:,})")
        if columns > limits.max_columns:
            over.append(f"column {columns:,} (input.max_columns is {limits.max_columns:,})")
        super().__init__(
            f"the sheet reaches {' and '.join(over)}, far beyond any progress table; delete "
            "the cells far from the table (in Excel, Ctrl+End goes to the last cell) and save "
            "the file again, or raise the limit if the table really is that large",
            code="sheet-too-large")


def _check_extent(sheet: str | None, rows: int, columns: int, limits: ReadLimits) -> None:
    if rows > limits.max_rows or columns > limits.max_columns:
        raise SheetTooLarge(sheet, rows, columns, limits)


@dataclass
class RawSheet:
    """One sheet's cells. Row and column indexes are 0-based (Excel row = index + 1)."""

    name: str | None  # None for a CSV file
    rows: list[list[object]]
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)
    # column index -> row indexes whose cell Excel formats as a percentage; asked lazily for
    # the percent columns only, because finding it means scanning the sheet's XML
    percent_rows_of: Callable[[int], set[int]] = field(default=lambda _c: set(), repr=False)
    hidden: bool = False  # a hidden or very hidden sheet
    # row index -> {column index: formula text}, asked lazily for the few rows that may be
    # totals (only .xlsx files say; other formats give an empty answer)
    formulas_of: Callable[[int], dict[int, str]] = field(default=lambda _r: {}, repr=False)
    # column index -> {row index: decimals its number format shows}, for cells formatted with
    # a fixed number of decimals (General shows what the number holds and is absent)
    decimals_of: Callable[[int], dict[int, int]] = field(default=lambda _c: {}, repr=False)
    _percent_cache: dict[int, set[int]] = field(default_factory=dict, repr=False)

    def percent_rows(self, column: int) -> set[int]:
        if column not in self._percent_cache:
            self._percent_cache[column] = self.percent_rows_of(column)
        return self._percent_cache[column]


def load(data: bytes, suffix: str, limits: ReadLimits | None = None) -> list[RawSheet]:
    """The sheets of a file's bytes (``suffix`` says the format). Facts that only the file
    knows are read first, so that a sheet beyond the budget never reaches calamine."""
    limits = limits or ReadLimits()
    suffix = suffix.lower()
    if suffix in CSV_LIKE:
        return [load_csv(data, suffix, limits)]
    if suffix in EXCEL_ZIP:
        facts = _xlsx_facts(data, limits)
    elif suffix in ODS:
        facts = _ods_facts(data, limits)
    else:
        facts = _xls_facts(data, limits)
    sheets = load_calamine(data)
    for sheet in sheets:
        found = facts.get(sheet.name or "")
        if found is not None:
            found.apply(sheet)
    return sheets


@dataclass
class _Facts:
    """What a sheet's file says beyond its values; copied onto the RawSheet calamine loads."""

    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)
    percent_rows_of: Callable[[int], set[int]] | None = None
    formulas_of: Callable[[int], dict[int, str]] | None = None
    decimals_of: Callable[[int], dict[int, int]] | None = None
    hidden_sheet: bool = False

    def apply(self, sheet: RawSheet) -> None:
        sheet.hidden_rows |= self.hidden_rows
        sheet.hidden_cols |= self.hidden_cols
        sheet.formulas_without_value |= self.formulas_without_value
        if self.percent_rows_of is not None:
            sheet.percent_rows_of = self.percent_rows_of
        if self.formulas_of is not None:
            sheet.formulas_of = self.formulas_of
        if self.decimals_of is not None:
            sheet.decimals_of = self.decimals_of
        sheet.hidden = sheet.hidden or self.hidden_sheet


# --------------------------------------------------------------------------------------------
# xlsx / xlsm: facts from the XML that calamine does not expose

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_ROW_HIDDEN = re.compile(rb'<row\b([^>]*\bhidden="(?:1|true)"[^>]*)>')
_ATTR_R = re.compile(rb'\br="(\d+)"')
_COL = re.compile(rb"<col\b([^>]*)/?>")
_MIN = re.compile(rb'\bmin="(\d+)"')
_MAX = re.compile(rb'\bmax="(\d+)"')
_FORMULA_NO_VALUE = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*>\s*(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)'
    rb"\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>")
_BUILTIN_PERCENT = {9, 10}


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, tuple[str, bool]]:
    """Sheet name -> the zip part holding its XML, and whether the sheet is hidden."""
    from defusedxml import ElementTree

    names = set(archive.namelist())
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        return {}
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") or "" for rel in rels}
    parts = {}
    for sheet in workbook.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_NS_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        if part in names:
            parts[sheet.get("name") or ""] = (part, sheet.get("state") in ("hidden", "veryHidden"))
    return parts


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="[A-Z]*\d*:?([A-Z]*)(\d*)"')
_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_WIDE_REF = re.compile(rb' r="([A-Z]{2,3})(\d+)"')
_TAG = re.compile(rb"<(?:\w+:)?(row|c)\b([^>]*)>")


def _xlsx_extent(data: bytes, limits: ReadLimits) -> tuple[int, int]:
    """(rows, columns) from A1 to the farthest row or cell the sheet XML declares or holds.

    Sheets whose cells are written with their reference first (Excel, LibreOffice, openpyxl,
    xlsxwriter) are measured with byte scans: the row numbers, and only the references of
    two- and three-letter columns. Anything else, and any sheet over the budget (to name its
    last cell exactly), is walked tag by tag, placing cells and rows without a reference the
    way a reader does. The declared dimension only decides which: calamine sizes a sheet by its
    cells, and some programs declare more than they write."""
    rows = columns = 0
    declared_columns = declared_rows = 0
    dimension = _DIMENSION.search(data)
    if dimension and dimension.group(1):
        declared_columns = column_index(dimension.group(1).decode()) + 1
        declared_rows = int(dimension.group(2) or 0)
    declared_within = declared_rows <= limits.max_rows and declared_columns <= limits.max_columns
    cells = data.count(b"<c ") + data.count(b"<c>")
    prefixed = b":c " in data or b":c>" in data or b":row" in data  # or merely text like it
    if declared_within and cells == data.count(b'<c r="') and not prefixed:
        rows = max(rows, data.count(b"<row"), *map(int, _ROW_NUMBER.findall(data)))
        for match in _WIDE_REF.finditer(data):
            columns = max(columns, column_index(match.group(1).decode()) + 1)
            rows = max(rows, int(match.group(2)))
        if rows <= limits.max_rows and columns <= limits.max_columns:
            return rows, columns
    row = col = 0
    for match in _TAG.finditer(data):
        ref = _ATTR_REF.search(match.group(2))
        if match.group(1) == b"row":
            number = _ATTR_R.search(match.group(2))
            row = int(number.group(1)) if number else row + 1
            col = 0
        else:
            col = column_index(ref.group(1).decode()) + 1 if ref else col + 1
            if ref:
                row = max(row, int(ref.group(2)))
        rows, columns = max(rows, row), max(columns, col)
    return rows, columns


_ATTR_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')


def _percent_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles (cellXfs) whose number format shows a percentage."""
    from defusedxml import ElementTree

    if "xl/styles.xml" not in archive.namelist():
        return set()
    styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    custom = {}
    for fmt in styles.iter(f"{_NS_MAIN}numFmt"):
        code = re.sub(r'"[^"]*"|\\.', "", fmt.get("formatCode") or "")
        custom[int(fmt.get("numFmtId") or -1)] = "%" in code
    percent = set()
    xfs = styles.find(f"{_NS_MAIN}cellXfs")
    for index, xf in enumerate(xfs if xfs is not None else []):
        fmt_id = int(xf.get("numFmtId") or 0)
        if fmt_id in _BUILTIN_PERCENT or custom.get(fmt_id, False):
            percent.add(index)
    return percent


# Built-in number formats that show a fixed number of decimals (ECMA-376 18.8.30).
_BUILTIN_DECIMALS = {1: 0, 2: 2, 3: 0, 4: 2, 5: 0, 6: 0, 7: 2, 8: 2, 37: 0, 38: 0, 39: 2, 40: 2,
                     41: 0, 42: 0, 43: 2, 44: 2}


def format_decimals(code: str) -> int | None:
    """The decimals a number format shows for positive numbers (``#,##0.00`` -> 2, ``0`` -> 0);
    None for General, text, dates, percentages and scientific formats."""
    section = re.sub(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]', "", code.split(";")[0])
    if not section or section.strip().lower() in ("general", "@") or "%" in section \
            or re.search(r"[eEyYmMdDhHsS]", section):
        return None
    if "0" not in section and "#" not in section:
        return None
    decimals = re.search(r"\.([0#?]+)", section)
    return len(decimals.group(1)) if decimals else 0


def _decimal_styles(archive: zipfile.ZipFile) -> dict[int, int]:
    """Cell style index (cellXfs) -> decimals its number format shows, for fixed formats."""
    from defusedxml import ElementTree

    if "xl/styles.xml" not in archive.namelist():
        return {}
    styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    custom = {int(f.get("numFmtId") or -1): format_decimals(f.get("formatCode") or "")
              for f in styles.iter(f"{_NS_MAIN}numFmt")}
    found = {}
    xfs = styles.find(f"{_NS_MAIN}cellXfs")
    for index, xf in enumerate(xfs if xfs is not None else []):
        fmt_id = int(xf.get("numFmtId") or 0)
        decimals = custom[fmt_id] if fmt_id in custom else _BUILTIN_DECIMALS.get(fmt_id)
        if decimals is not None:
            found[index] = decimals
    return found


def _xlsx_decimals_scanner(data: bytes, styles: dict[int, int]
                           ) -> Callable[[int], dict[int, int]]:
    def of(column: int) -> dict[int, int]:
        letters = column_letter(column).encode()
        pattern = re.compile(rb'<c\b[^>]*?\br="' + letters + rb'(\d+)"([^>]*)>')
        rows = {}
        for match in pattern.finditer(data):
            style = re.search(rb'\bs="(\d+)"', match.group(0))
            if style and int(style.group(1)) in styles:
                rows[int(match.group(1)) - 1] = styles[int(style.group(1))]
        return rows

    cache: dict[int, dict[int, int]] = {}

    def cached(column: int) -> dict[int, int]:
        if column not in cache:
            cache[column] = of(column)
        return cache[column]

    return cached


def _xlsx_facts(data: bytes, limits: ReadLimits) -> dict[str, _Facts]:
    facts: dict[str, _Facts] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = _sheet_parts(archive)
            percent_styles = _percent_styles(archive)
            decimal_styles = _decimal_styles(archive)
            for name, (part, hidden) in parts.items():
                xml = archive.read(part)
                _check_extent(name, *_xlsx_extent(xml, limits), limits)
                sheet = facts[name] = _Facts(hidden_sheet=hidden)
                for match in _ROW_HIDDEN.finditer(xml):
                    number = _ATTR_R.search(match.group(1))
                    if number:
                        sheet.hidden_rows.add(int(number.group(1)) - 1)
                for match in _COL.finditer(xml):
                    attrs = match.group(1)
                    if b'hidden="1"' in attrs or b'hidden="true"' in attrs:
                        low, high = _MIN.search(attrs), _MAX.search(attrs)
                        if low and high:
                            sheet.hidden_cols.update(range(
                                int(low.group(1)) - 1,
                                min(int(high.group(1)), limits.max_columns)))
                if b"<f" in xml:
                    sheet.formulas_of = _xlsx_row_formulas(xml)
                    for match in _FORMULA_NO_VALUE.finditer(xml):
                        sheet.formulas_without_value.add(
                            (int(match.group(2)) - 1, column_index(match.group(1).decode())))
                if percent_styles:
                    sheet.percent_rows_of = _xlsx_percent_scanner(xml, percent_styles)
                if decimal_styles:
                    sheet.decimals_of = _xlsx_decimals_scanner(xml, decimal_styles)
        return facts
    except SheetTooLarge:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as exc:
        raise UnreadableFile(
            "the workbook is damaged (its sheet or style parts cannot be read); open it in "
            "Excel and save it again"
        ) from exc


_CELL_FORMULA = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]+)\d+"[^>]*(?<!/)>(?:(?!</c>|<c\b).)*?<f\b[^>]*>([^<]*)</f>', re.S)


def _xlsx_row_formulas(data: bytes) -> Callable[[int], dict[int, str]]:
    """The formulas written in one row's cells (a shared formula's copies have none)."""
    def of(r: int) -> dict[int, str]:
        row = re.search(rb'<row\b[^>]*\br="' + str(r + 1).encode() + rb'"[^>]*>(.*?)</row>',
                        data, re.S)
        if row is None:
            return {}
        return {column_index(m.group(1).decode()): m.group(2).decode("utf-8", "replace")
                for m in _CELL_FORMULA.finditer(row.group(1))}

    return of


def _xlsx_percent_scanner(data: bytes, percent_styles: set[int]) -> Callable[[int], set[int]]:
    def rows_of(column: int) -> set[int]:
        letters = column_letter(column).encode()
        pattern = re.compile(rb'<c\b[^>]*?\br="' + letters + rb'(\d+)"([^>]*)>')
        rows = set()
        for match in pattern.finditer(data):
            tag = match.group(0)
            style = re.search(rb'\bs="(\d+)"', tag)
            if style and int(style.group(1)) in percent_styles:
                rows.add(int(match.group(1)) - 1)
        return rows

    return rows_of


# --------------------------------------------------------------------------------------------
# ods: facts from content.xml

_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_MAX_REPEAT = 10_000  # a repeated empty run at the sheet's end can claim a million rows


def _ods_facts(data: bytes, limits: ReadLimits) -> dict[str, _Facts]:
    """One streaming pass over content.xml. Repeated rows and cells count in full towards the
    sheet's extent when they hold something (a million repeats of a value is refused); empty
    repeats, which LibreOffice writes to the end of every sheet, do not."""
    from defusedxml import ElementTree

    facts: dict[str, _Facts] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, \
                archive.open("content.xml") as content:
            sheet = _Facts()
            name = ""
            row = col = column_def = rows = columns = 0
            row_width = 0
            percent: dict[int, set[int]] = {}
            for event, element in ElementTree.iterparse(content, events=("start", "end")):
                tag = element.tag
                if event == "start" and tag == f"{_ODS_TABLE}table":
                    name = element.get(f"{_ODS_TABLE}name") or ""
                    percent = {}
                    sheet = facts[name] = _Facts(percent_rows_of=_lookup(percent))
                    row = column_def = rows = columns = 0
                elif event == "start" and tag == f"{_ODS_TABLE}table-row":
                    col = row_width = 0
                elif event == "end" and tag == f"{_ODS_TABLE}table-row":
                    repeat = int(element.get(f"{_ODS_TABLE}number-rows-repeated") or 1)
                    if row_width:
                        rows, columns = row + repeat, max(columns, row_width)
                        _check_extent(name, rows, columns, limits)
                    if element.get(f"{_ODS_TABLE}visibility") in ("collapse", "filter"):
                        sheet.hidden_rows.update(range(row, row + min(repeat, _MAX_REPEAT)))
                    row += repeat
                    element.clear()
                elif event == "end" and tag in (f"{_ODS_TABLE}table-cell",
                                                f"{_ODS_TABLE}covered-table-cell"):
                    repeat = int(element.get(f"{_ODS_TABLE}number-columns-repeated") or 1)
                    if element.get(f"{_ODS_OFFICE}value-type") or len(element):
                        row_width = col + repeat
                        _check_extent(name, row + 1, row_width, limits)
                    if element.get(f"{_ODS_OFFICE}value-type") == "percentage":
                        for c in range(col, col + min(repeat, _MAX_REPEAT)):
                            percent.setdefault(c, set()).add(row)
                    col += repeat
                elif event == "end" and tag == f"{_ODS_TABLE}table-column":
                    repeat = min(int(element.get(f"{_ODS_TABLE}number-columns-repeated") or 1),
                                 _MAX_REPEAT)
                    if element.get(f"{_ODS_TABLE}visibility") == "collapse":
                        sheet.hidden_cols.update(range(column_def, column_def + repeat))
                    column_def += repeat
        return facts
    except SheetTooLarge:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as exc:
        raise UnreadableFile(
            "the spreadsheet is damaged (its content cannot be read); open it and save it again"
        ) from exc


def _xls_facts(data: bytes, limits: ReadLimits) -> dict[str, _Facts]:
    """xlrd reads what a .xls says beyond values. A .xls reaches at most IV65536, but that is
    still far beyond any progress table, so the same budget applies."""
    import xlrd

    facts: dict[str, _Facts] = {}
    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True,
                                  ragged_rows=True)
    except Exception:  # calamine reads the values (or says why not); formats are a refinement
        return facts
    try:
        percent_xf = {
            i for i, xf in enumerate(book.xf_list)
            if "%" in re.sub(r'"[^"]*"|\\.', "", book.format_map.get(xf.format_key,
                                                                      _NO_FORMAT).format_str)
        }
        for index, name in enumerate(book.sheet_names()):
            xs = book.sheet_by_index(index)
            _check_extent(name, xs.nrows, max((xs.row_len(r) for r in range(xs.nrows)),
                                              default=0), limits)
            sheet = facts[name] = _Facts(hidden_sheet=bool(xs.visibility))
            sheet.hidden_rows.update(r for r, info in xs.rowinfo_map.items() if info.hidden)
            sheet.hidden_cols.update(c for c, info in xs.colinfo_map.items() if info.hidden)
            percent: dict[int, set[int]] = {}
            for r in range(xs.nrows):
                for c in range(xs.row_len(r)):
                    if xs.cell_xf_index(r, c) in percent_xf:
                        percent.setdefault(c, set()).add(r)
            sheet.percent_rows_of = _lookup(percent)
    finally:
        book.release_resources()
    return facts


class _NoFormat:
    format_str = ""


_NO_FORMAT = _NoFormat()


def _lookup(percent: dict[int, set[int]]) -> Callable[[int], set[int]]:
    return lambda column: percent.get(column, set())


# --------------------------------------------------------------------------------------------
# xls / ods


def load_calamine(data: bytes) -> list[RawSheet]:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
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
        hidden = {m.name for m in book.sheets_metadata
                  if m.visible != python_calamine.SheetVisibleEnum.Visible}
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            # Values stay as calamine gives them (floats, datetimes, "" for empty); the cell
            # readers interpret only the cells of the columns progbill uses.
            rows = cast("list[list[object]]", sheet.to_python(skip_empty_area=False))
            for region in sheet.merged_cell_ranges or []:
                (r0, c0), (r1, c1) = region
                if r0 < len(rows) and c0 < len(rows[r0]):
                    top = rows[r0][c0]
                    for r in range(r0, min(r1 + 1, len(rows))):
                        for c in range(c0, min(c1 + 1, len(rows[r]))):
                            rows[r][c] = top
            sheets.append(RawSheet(name=name, rows=rows, hidden=name in hidden))
    except Exception as exc:
        raise UnreadableFile(
            f"the workbook is damaged ({type(exc).__name__}); open it and save it again"
        ) from exc
    finally:
        book.close()
    return sheets


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


def load_csv(data: bytes, suffix: str = ".csv", limits: ReadLimits | None = None) -> RawSheet:
    limits = limits or ReadLimits()
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("the file is not text (it holds binary data); export it as CSV again")
    text = decode_text(data)
    delimiter = "\t" if suffix.lower() == ".tsv" else detect_delimiter(text)
    rows: list[list[object]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append([cell if cell.strip() else None for cell in row])
            if len(rows) > limits.max_rows or len(row) > limits.max_columns:
                _check_extent(None, len(rows), len(row), limits)
    except csv.Error as exc:
        raise UnreadableFile(f"the file is not valid CSV ({exc}); export it again") from exc
    return RawSheet(name=None, rows=rows)
