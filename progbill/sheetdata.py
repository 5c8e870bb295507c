"""The data rows of the ledger's sheets, written into the workbook xlsxwriter made.

xlsxwriter spends about 10 us of Python on every cell, and a fiscal year's Lines sheet has
millions of them. So xlsxwriter writes each sheet's structure (columns with their widths and
formats, header, table or filter, totals, comments, links, the accountant's cells) and the first
cell of each format not set on a whole column (another currency's money format); progbill then
writes every other data cell itself, with the style index xlsxwriter gave its format (read from
the column's ``<col>`` or from that cell), as the same SpreadsheetML xlsxwriter writes in its
constant-memory mode: numbers as ``%.16G``, text as inline strings with the same escapes, dates
as serial numbers. ``tests/test_sheetdata.py`` compares ledgers written both ways cell by cell.

The package is assembled from deflated pieces (:mod:`progbill.zipparts`), so the Lines rows an
earlier run wrote can be put back as they were (:mod:`progbill.linecache`); a sheet whose data
rows are all progbill's is returned in pieces for that.

A cell progbill does not write the same way is left to xlsxwriter, so the fast path never
decides how a value looks: a date before March 1900, NaN, text longer than Excel keeps or that
needs Excel's ``_xHHHH_`` escapes, an empty string, booleans, anything but text, numbers and
dates.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from progbill.problems import column_index, column_letter
from progbill.zipparts import (
    BackgroundDeflater,
    Deflated,
    Deflater,
    TooLarge,
    inflate,
    join,
    write_zip,
)

# Excel's serial day 60 is the 29th of February 1900 that never was: from March 1900 on,
# a date's serial number is its distance from 1899-12-30.
_EPOCH = date(1899, 12, 30)
_FIRST_PLAIN_DATE = date(1900, 3, 1)
_LONGEST = 16_383  # longer text may exceed Excel's 32,767 UTF-16 units: xlsxwriter cuts it
CHUNK_ROWS = 10_000


@dataclass
class Cells:
    """The data cells of one sheet that progbill writes itself (rows from ``first_row``,
    0-based, in sheet order). A cell's style index is read back from the workbook: from the
    column's ``<col style>`` for the format set on its column, else from a cell xlsxwriter
    wrote in that format (``probes`` locates one for each)."""

    sheet: str
    first_row: int
    columns: list[list[Any]]
    formats: list[Any]  # per column: one format (or None) for every row, or a list per row
    probes: dict[int, tuple[int, int]] = field(default_factory=dict)
    # formats set on a column (its <col style>, which a cell of that format has too), by id
    on_columns: dict[int, int] = field(default_factory=dict)
    # rows an earlier run wrote (rows 2 .. first_row), kept deflated, and the column styles
    # they were written with (the new workbook must give the same)
    earlier: list[Deflated] = field(default_factory=list)
    earlier_rows: int = 0
    earlier_styles: dict[int, str] | None = None
    summary: Any = None  # what a later run needs to reuse these rows (ledger.Earlier)


class Stale(Exception):
    """Rows kept from an earlier run cannot be reused in this workbook: write them anew."""


def plan(sheet: str, rows: Sequence[Sequence[Any]], formats: Sequence[Any],
         skip: set[int], first_row: int = 1, on_columns: Sequence[Any] = ()
         ) -> tuple[dict[int, list[tuple[int, Any, Any]]], Cells]:
    """Split a sheet's data cells between xlsxwriter and progbill.

    ``formats[c]`` is the format of column ``c``'s cells (one, or a list per row); columns in
    ``skip`` are written by the caller; ``on_columns[c]`` is the format set on column ``c``
    (its style is read from the column, so it needs no cell of xlsxwriter's). Returns the
    cells xlsxwriter must write, by row index (``(column, value, format)``), and the
    :class:`Cells` progbill writes afterwards."""
    n = len(rows)
    by_row: dict[int, list[tuple[int, Any, Any]]] = {}
    columns: list[list[Any]] = []
    known = {id(f): c for c, f in enumerate(on_columns) if f is not None}
    probes: dict[int, tuple[int, int]] = dict.fromkeys(known, (-1, -1))  # none needed
    for c, column in enumerate(zip(*rows, strict=True) if n else [()] * len(formats)):
        if c in skip:
            columns.append([None] * n)
            continue
        values = list(column)
        fmt = formats[c]
        per_row = isinstance(fmt, list)
        if not per_row and _all_plain(values, fmt):
            # one format, every value plain: xlsxwriter writes one cell if the format is new
            first = next((i for i, v in enumerate(values) if v is not None), None)
            if first is not None and fmt is not None and id(fmt) not in probes:
                probes[id(fmt)] = (first_row + first, c)
                by_row.setdefault(first, []).append((c, values[first], fmt))
                values[first] = None
            columns.append(values)
            continue
        for i, value in enumerate(values):
            if value is None:
                continue
            cell_format = fmt[i] if per_row else fmt
            if _plain(value, cell_format) and (cell_format is None or id(cell_format) in probes):
                continue
            if cell_format is not None:
                probes.setdefault(id(cell_format), (first_row + i, c))
            by_row.setdefault(i, []).append((c, value, cell_format))
            values[i] = None
        columns.append(values)
    for cells in by_row.values():
        cells.sort(key=lambda cell: cell[0])
    return by_row, Cells(sheet, first_row, columns, list(formats),
                         {k: at for k, at in probes.items() if k not in known}, known)


def _all_plain(values: list[Any], cell_format: Any) -> bool:
    """Whether every value of a column is plain (see :func:`_plain`), checked column-wise."""
    present = [v for v in values if v is not None]
    kinds = set(map(type, present))
    if not present:
        return True
    if kinds <= {float, int}:
        return all(map(math.isfinite, present))
    if kinds == {str}:
        return (min(map(len, present)) > 0 and max(map(len, present)) <= _LONGEST
                and not _escaped("\n".join(present)))
    if kinds == {date}:
        return cell_format is not None and min(present) >= _FIRST_PLAIN_DATE
    return False


def _plain(value: Any, cell_format: Any) -> bool:
    """Whether progbill writes this value exactly as xlsxwriter would."""
    kind = type(value)
    if kind is str:
        return 0 < len(value) <= _LONGEST and not _escaped(value)
    if kind is float:
        return math.isfinite(value)
    if kind is int:
        return True
    if kind is date:
        return cell_format is not None and value >= _FIRST_PLAIN_DATE
    return False


# --------------------------------------------------------------------------------------------
# SpreadsheetML of one cell, as xlsxwriter writes it in constant-memory mode

# text Excel reads through its _xHHHH_ escapes (control characters, or text that looks like
# such an escape): xlsxwriter writes it, as a shared string where openpyxl reads it back too
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_X_ESCAPE = re.compile("_x[0-9a-fA-F]{4}_")
_MARKUP = re.compile("[&<>]")
_EDGE_SPACE = re.compile(r"^\s|\s$")
# the same over values joined by newlines (an empty value matches too: the slow path then)
_EDGE_SPACES = re.compile(r"^\s|\s$", re.M)


def _escaped(text: str) -> bool:
    """Whether Excel would read ``text`` through a _xHHHH_ escape."""
    return bool(_CONTROL.search(text)) or ("_x" in text and bool(_X_ESCAPE.search(text)))


def _text(value: str) -> str:
    if _MARKUP.search(value):
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if _EDGE_SPACE.search(value) else ""
    return f"<is><t{space}>{value}</t></is>"


def _column_xml(letter: str, values: list[Any], styles: list[str] | str,
                start: int) -> list[str]:
    """The cells of one column ("" where a row has none); ``styles`` is one ``s`` attribute
    for every row, or one per row."""
    rows = range(start, start + len(values))
    if isinstance(styles, str):
        s = styles
        present = [v for v in values if v is not None]
        kinds = set(map(type, present))
        if kinds <= {float, int}:
            return [f'<c r="{letter}{r}"{s}><v>{v:.16G}</v></c>' if v is not None else ""
                    for r, v in zip(rows, values, strict=True)]
        joined = "\n".join(present) if kinds == {str} else ""
        if kinds == {str} and not _MARKUP.search(joined) and not _EDGE_SPACES.search(
                joined):  # nothing to escape, no value starting or ending with a space
            return [f'<c r="{letter}{r}"{s} t="inlineStr"><is><t>{v}</t></is></c>'
                    if v is not None else "" for r, v in zip(rows, values, strict=True)]
        styles = [s] * len(values)
    out = []
    for r, value, style in zip(rows, values, styles, strict=True):
        if value is None:
            out.append("")
        elif type(value) is str:
            out.append(f'<c r="{letter}{r}"{style} t="inlineStr">{_text(value)}</c>')
        elif type(value) is date:
            out.append(f'<c r="{letter}{r}"{style}><v>{(value - _EPOCH).days}</v></c>')
        else:
            out.append(f'<c r="{letter}{r}"{style}><v>{value:.16G}</v></c>')
    return out


# --------------------------------------------------------------------------------------------
# the workbook: each sheet part with progbill's cells merged in, row by row and cell by cell

_ROW = re.compile(r'<row r="(\d+)"([^>]*?)(?:/>|>(.*?)</row>)', re.S)
_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>.*?</c>)', re.S)
_STYLE = re.compile(r'\bs="(\d+)"')
_DIMENSION = re.compile(r'<dimension ref="([A-Z]+)1(?::([A-Z]+)(\d+))?"/>')
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}


def sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the package (from the workbook and its relationships)."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.findall("p:Relationship",
                                                                            _NS)}
    out = {}
    for sheet in workbook.iterfind("m:sheets/m:sheet", _NS):
        target = targets[sheet.get(f"{{{_NS['r']}}}id")]
        out[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") \
            else f"xl/{target}"
    return out


def merge_into(source: Path, target: Path, sheets: list[Cells]
               ) -> dict[str, tuple[dict[int, str], list[Deflated]]]:
    """Copy the workbook ``source`` to ``target`` with each sheet's :class:`Cells` written in.

    Returns, for each of those sheets whose data rows are all progbill's (no cell of
    xlsxwriter's among them), its column styles and its data rows deflated (the rows kept from
    earlier runs and this run's), which a later run can reuse."""
    with zipfile.ZipFile(source) as old:
        parts = sheet_parts(old)
        ours = {parts[cells.sheet]: cells for cells in sheets}
        pieces: list[tuple[zipfile.ZipInfo, list[Deflated]]] = []
        data: dict[str, tuple[dict[int, str], list[Deflated]]] = {}
        for info in old.infolist():
            cells = ours.get(info.filename)
            if cells is None:
                whole = Deflater()
                whole.add(old.read(info))
                pieces.append((info, [whole.done()]))
                continue
            made = _deflated_sheet(old.read(info).decode("utf-8"), cells)
            pieces.append((info, made.pieces))
            if made.rows is not None:
                data[cells.sheet] = (made.styles, made.rows)
    with open(target, "wb") as out:
        try:
            write_zip(out, [(info.filename, info.date_time, join(p)) for info, p in pieces])
        except TooLarge:  # over 4 GiB: zipfile writes it as zip64
            out.seek(0)
            out.truncate()
            _write_zip64(out, pieces)
    return data


def _write_zip64(out: Any, pieces: list[tuple[zipfile.ZipInfo, list[Deflated]]]) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for info, part in pieces:
            out_info = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out_info.compress_type = zipfile.ZIP_DEFLATED
            setattr(out_info, "_compresslevel", 1)  # noqa: B010
            with new.open(out_info, "w", force_zip64=True) as stream:
                for piece in part:
                    stream.write(inflate(piece))


@dataclass
class _Made:
    pieces: list[Deflated]  # the whole part
    rows: list[Deflated] | None  # its data rows, when all progbill's
    styles: dict[int, str]  # of its columns


def _deflated_sheet(xml: str, cells: Cells) -> _Made:
    on_column = styles_of_columns(xml[:xml.index("<sheetData>")])
    if cells.earlier and cells.earlier_styles is not None and on_column != cells.earlier_styles:
        cells.earlier = restyled(cells.earlier, cells.earlier_styles, on_column, cells.sheet)
        cells.earlier_styles = on_column
    head, earlier, tail = Deflater(), list(cells.earlier), Deflater()
    rows = BackgroundDeflater()  # this run's rows deflate while the next ones are made
    pure = True
    try:
        for kind, text in _sheet_xml(xml, cells, on_column):
            if kind == "head":
                head.add(text.encode("utf-8"))
            elif kind == "rows":
                rows.add(text.encode("utf-8"))
            elif kind == "tail":
                tail.add(text.encode("utf-8"))
            else:
                pure = False  # a cell of xlsxwriter's among the data rows
    except BaseException:
        rows.cancel()
        raise
    new_rows = rows.done()
    return _Made([head.done(), *earlier, new_rows, tail.done()],
                 [*earlier, new_rows] if pure else None, on_column)


def restyled(pieces: list[Deflated], old: dict[int, str], new: dict[int, str],
             sheet: str) -> list[Deflated]:
    """Rows kept from an earlier workbook, given this workbook's column styles.

    The same formats get other style numbers in another workbook (xlsxwriter numbers them in
    the order it meets them, which differs in constant-memory mode), so each cell's ``s``
    attribute is changed from its column's old style to its new one. Only where that is
    certain: every column has a style in both workbooks or in neither (a cell written without
    one cannot be told from another), one old style never becomes two new ones, and every
    styled cell of the rows carries one of the old column styles. Otherwise :class:`Stale`."""
    if set(old) != set(new) or any(bool(old[c]) != bool(new[c]) for c in old):
        raise Stale(sheet)
    renamed: dict[str, str] = {}
    for c, before in old.items():
        if before and renamed.setdefault(before, new[c]) != new[c]:
            raise Stale(sheet)
    # progbill writes a styled cell as <c r="F12" s="3"><v>... or <c r="F12" s="3"
    # t="inlineStr"><is>...: each mark runs from the reference's closing quote to the tag's
    # end, which cell text cannot hold (its ">" is escaped), nor NUL (such text is
    # xlsxwriter's, never kept)
    ends = ("><v>", ' t="inlineStr"><is>')
    out = []
    for piece in pieces:
        text = inflate(piece).decode("utf-8")
        for k, before in enumerate(renamed):  # through marks: two styles may swap numbers
            for end in ends:
                text = text.replace(f'"{before}{end}', f'"\x00{k}\x00{end}')
        if '" s="' in text:  # a cell with a style of its own (another currency's format), or
            raise Stale(sheet)  # text that looks like one: written anew, to be sure
        for k, before in enumerate(renamed):
            text = text.replace(f"\x00{k}\x00", renamed[before])
        part = Deflater()
        part.add(text.encode("utf-8"))
        out.append(part.done())
    return out


def _sheet_xml(xml: str, cells: Cells, on_column: dict[int, str]
               ) -> Iterator[tuple[str, str]]:
    """The sheet part in pieces: ``head`` (up to the first data row), ``rows`` (this run's
    data rows), ``tail`` (the rest); ``theirs`` (empty) when a data row holds one of
    xlsxwriter's cells. ``on_column``: the styles set on its columns (:func:`styles_of_columns`)."""
    start = xml.index("<sheetData>") + len("<sheetData>")
    end = xml.index("</sheetData>", start)
    theirs: dict[int, tuple[str, str, str]] = {}
    styles: dict[tuple[int, int], str] = {}
    for m in _ROW.finditer(xml, start, end):
        r = int(m.group(1))
        theirs[r] = (m.group(2), m.group(3) or "", m.group(0))
    for r, c in cells.probes.values():
        body = theirs[r + 1][1]
        for cell in _CELL.finditer(body):
            if column_index(cell.group(1)) == c:
                s = _STYLE.search(cell.group(3))
                styles[(r, c)] = f' s="{s.group(1)}"' if s else ""
    style_of = {key: styles[at] for key, at in cells.probes.items()}
    style_of.update({key: on_column.get(c, "") for key, c in cells.on_columns.items()})

    n = len(cells.columns[0]) if cells.columns else 0
    first = cells.first_row + 1  # 1-based row of this run's first data row
    data_first = first - cells.earlier_rows
    if cells.earlier and (on_column != cells.earlier_styles or any(
            data_first <= r < first for r in theirs)):
        raise Stale(cells.sheet)
    if any(data_first <= r < first + n for r in theirs):
        yield "theirs", ""
    yield "head", _dimension(xml[:start], first + n - 1)
    done = set()
    for r in sorted(k for k in theirs if k < data_first):
        done.add(r)
        yield "head", _row(r, *theirs[r], [])
    letters = [column_letter(c) for c in range(len(cells.columns))]
    for lo in range(0, n, CHUNK_ROWS):
        hi = min(lo + CHUNK_ROWS, n)
        columns = []
        for c, values in enumerate(cells.columns):
            fmt = cells.formats[c]
            column_styles: list[str] | str
            if isinstance(fmt, list):
                column_styles = [style_of.get(id(f), "") if f is not None else ""
                                 for f in fmt[lo:hi]]
            else:
                column_styles = style_of.get(id(fmt), "") if fmt is not None else ""
            columns.append(_column_xml(letters[c], values[lo:hi], column_styles, first + lo))
        parts = []
        for r, row in zip(range(first + lo, first + hi), zip(*columns, strict=True),
                          strict=True):
            if r in theirs:
                done.add(r)
                parts.append(_row(r, *theirs[r], list(enumerate(row))))
            elif any(row):
                parts.append(f'<row r="{r}">{"".join(row)}</row>')
        yield "rows", "".join(parts)
    yield "tail", "".join(_row(r, *theirs[r], []) for r in sorted(theirs) if r not in done)
    yield "tail", xml[end:]


def _row(r: int, attrs: str, body: str, whole: str, ours: list[tuple[int, str]]) -> str:
    if not any(xml for _, xml in ours):
        return whole
    cells = [(column_index(m.group(1)), m.group(0)) for m in _CELL.finditer(body)]
    cells += [(c, xml) for c, xml in ours if xml]
    if not cells:
        return f'<row r="{r}"{attrs}/>'
    cells.sort(key=lambda cell: cell[0])
    return f'<row r="{r}"{attrs}>{"".join(xml for _, xml in cells)}</row>'


_COL = re.compile(r'<col min="(\d+)" max="(\d+)"([^>]*)/>')


def styles_of_columns(head: str) -> dict[int, str]:
    """Column (0-based) -> the ``s`` attribute of the style set on it, from ``<cols>``."""
    out = {}
    for m in _COL.finditer(head):
        style = re.search(r'\bstyle="(\d+)"', m.group(3))
        for c in range(int(m.group(1)) - 1, int(m.group(2))):
            out[c] = f' s="{style.group(1)}"' if style else ""
    return out


def _dimension(head: str, last_data_row: int) -> str:
    """The sheet's head with its used range reaching the last data row."""
    m = _DIMENSION.search(head)
    if m is None:
        return head
    first_col, last_col, last_row = m.group(1), m.group(2) or m.group(1), int(m.group(3) or 1)
    ref = f"{first_col}1:{last_col}{max(last_row, last_data_row)}"
    return head[:m.start()] + f'<dimension ref="{ref}"/>' + head[m.end():]
