"""Faster paths that must change nothing: the same amounts, the same document."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from helpers import run_cli, simple_workbook
from hypothesis import given
from hypothesis import strategies as st

from progbill.money import MoneyError, bounded, decimal_from_float
from progbill.readers.cells import CellContext, CellError, read_decimal
from progbill.readers.table import _PER_CELL, read_column


def _reference(value: float) -> Decimal:
    """read_decimal's float rule before its cache and integer shortcut."""
    if value.is_integer() and abs(value) < 2**53:
        return bounded(Decimal(int(value)))
    return decimal_from_float(value)


@given(st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e18, max_value=1e18),
    st.integers(min_value=-10**15, max_value=10**15).map(lambda n: n / 100),
    st.integers(min_value=-10**17, max_value=10**17).map(float)))
def test_a_float_cell_reads_to_the_same_decimal_as_before(value):
    ctx = CellContext()
    try:
        expected: Decimal | str = _reference(value)
    except MoneyError as exc:
        expected = exc.code
    try:
        found: Decimal | str = read_decimal(value, ctx)
    except CellError as exc:
        found = exc.code
    assert found == expected
    if isinstance(found, Decimal):
        assert str(found) == str(expected)  # the same digits and exponent, not only the value


@given(st.integers(min_value=-10**18, max_value=10**18))
def test_an_integer_cell_reads_to_the_same_decimal_as_before(value):
    try:
        expected: Decimal | str = bounded(Decimal(value))
    except MoneyError as exc:
        expected = exc.code
    try:
        found: Decimal | str = read_decimal(value, CellContext())
    except CellError as exc:
        found = exc.code
    assert found == expected and str(found) == str(expected)


cells_of_any_kind = st.one_of(
    st.none(), st.booleans(), st.floats(), st.integers(-10**17, 10**17),
    st.integers(-10**9, 10**9).map(lambda n: n / 100), st.text(max_size=8),
    st.sampled_from(["", "  ", " P-001 ", "1,234.50", "45%", "#REF!", "x\u200by", "\u00e9t\u00e9"]),
    st.dates())


@given(cells_of_any_kind)
def test_a_cell_read_with_its_column_reads_as_its_reader_reads_it(value):
    """readers.table.read_column reads plain cells at once; every cell it reads must be what
    the cell's reader gives, and every other cell is left to the reader."""
    from progbill.readers import cells

    ctx = CellContext()

    def by_reader(reader):
        if cells.is_blank(value):
            return None
        try:
            found = reader(value, ctx)
        except CellError as exc:
            return exc.code
        return found

    number = cells.plain_number(value)
    if number is not cells.PER_CELL:
        for reader in (cells.read_decimal, cells.read_percent):
            expected = by_reader(reader)
            assert number == expected and str(number) == str(expected)
    if type(value) is str and value.isascii() and value.isprintable() and value.strip():
        assert value.strip() == by_reader(cells.read_id) == by_reader(cells.read_text)
    for reader in (cells.read_text, cells.read_id, cells.read_currency, cells.read_days):
        read = read_column(_OneColumn([value]), "x", 0, reader, set())[0]
        if read is not _PER_CELL:
            assert read == by_reader(reader) and type(read) is type(by_reader(reader)), reader
    # a column is read once for every reading context of its file
    for ctx in (CellContext(decimal_mark=",", date_order="MDY"),
                CellContext(percent_formatted=True), CellContext(fraction_text=True)):
        for reader in (cells.read_text, cells.read_id, cells.read_currency, cells.read_days):
            read = read_column(_OneColumn([value]), "x", 0, reader, set())[0]
            if read is not _PER_CELL:
                assert read == by_reader(reader), (reader, ctx)


class _OneColumn:
    """What read_column needs of a table: one column's cells."""

    fractions: frozenset[str] = frozenset()

    def __init__(self, values: list[object]) -> None:
        self.values = values

    def cells_of(self, index: int) -> list[object]:
        return list(self.values)


def test_currencies_payment_terms_and_blank_text_are_read_with_their_column():
    """A row is read at once only when every cell of it was read with its column: currency
    codes, payment terms and empty text cells are, once per distinct value; a code or term the
    reader refuses, or text with invisible characters, is left to the cell's own reader."""
    from progbill.readers import cells

    assert read_column(_OneColumn(["USD", " eur ", "XYZ", "", "  ", None, 12.0, "U\u200bSD"]),
                       "currency", 0, cells.read_currency, set()) == [
        "USD", "EUR", _PER_CELL, None, None, None, _PER_CELL, _PER_CELL]
    assert read_column(_OneColumn([30.0, 30, "Net 45", "30 days", 30.5, -1.0, "soon", True,
                                   ""]), "payment_terms_days", 0, cells.read_days, set()) == [
        30, 30, 45, 30, _PER_CELL, _PER_CELL, _PER_CELL, _PER_CELL, None]
    assert read_column(_OneColumn(["", " ", "CO-1", None]), "change_order", 0,
                       cells.read_text, set()) == [None, None, "CO-1", None]


def test_numbers_in_id_and_text_columns_are_read_with_their_column():
    """Line ids and text typed as numbers (1, 2, 1001.0: the common numbered line) are read
    with their column, once per distinct value, so that such rows are read at once; a
    true/false cell stays with its reader (not an id; text only as a warning's subject)."""
    from progbill.readers import cells

    assert read_column(_OneColumn([1.0, 2, 1001.0, True, 1.5, 1.0, None, " 7 "]), "line", 0,
                       cells.read_id, set()) == [
        "1", "2", "1001", _PER_CELL, "1.5", "1", None, "7"]
    assert read_column(_OneColumn([3.0, 2.25, 10**16 + 0.0, False]), "description", 0,
                       cells.read_text, set()) == ["3", "2.25", "1e+16", _PER_CELL]


def test_a_workbook_reads_the_same_with_and_without_reading_columns_at_once(tmp_path,
                                                                             monkeypatch):
    """Lines, projects and every problem, with mixed cells: text in money columns, blanks,
    percent-formatted cells, padded ids, an error value; and every sample, layout and real-world
    workbook and one of edge rows (empty text cells among them)."""
    import openpyxl

    from progbill.readers import read_workbook
    from progbill.readers.table import Table

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Project ID", "Project Name", "Client", "Currency", "Line", "Description",
               "Scheduled Value", "% Complete", "Retainage %", "Payment Terms", "Change Order"])
    ws.append([" P-1 ", "Depot", "Acme", "USD", 1, "Piling", 10000.5, 45, 5, 30, ""])
    ws.append(["P-1", "Depot", "Acme", "usd", 2, "Frame", "12,000.00", "40%", 5, "Net 30",
               "CO-1"])
    ws.append(["P-1", "Depot", "Acme", "USD", "3", "Roof\u200b", 8000, 0.25, 5, 30.0, " "])
    ws["H4"].number_format = "0%"
    ws.append(["P-1", "Depot", "Acme", "USD", 4, "Walls", "#REF!", 10, 5, 30, None])
    ws.append(["P-2", "Annex", "Acme", "USD", 1, "Slab", 5000.1, 120, "  ", "thirty", ""])
    ws.append(["P-2", "Annex", "Acme", "USD", 2, "  ", 3000, 50, 5, 45, ""])
    ws.append(["P-3", "Shed", "Acme", "XYZ", 1, "Slab", 500, 50, 5, 30, ""])
    ws.append(["P-4", "Barn", "Acme", "EUR", 1, "Slab", 500, 50, 5, -3, ""])
    path = tmp_path / "mixed.xlsx"
    book.save(path)
    at_once = read_workbook(path)
    others = _workbooks_to_compare(tmp_path)
    others_at_once = [read_workbook(p) for p in others]
    monkeypatch.setattr(Table, "read_columns", lambda self, ctx: {})
    per_cell = read_workbook(path)
    assert at_once.lines.equals(per_cell.lines) and at_once.projects.equals(per_cell.projects)
    assert [(p.code, p.message, p.location) for p in at_once.problems] == [
        (p.code, p.message, p.location) for p in per_cell.problems]
    for other, a in zip(others, others_at_once, strict=True):  # samples, real files, edge rows
        b = read_workbook(other)
        assert a.lines.equals(b.lines) and a.projects.equals(b.projects), other
        assert [(p.code, p.message, p.location) for p in a.problems] == [
            (p.code, p.message, p.location) for p in b.problems], other
    assert len(at_once.lines) == 3 and sorted((p.code, p.location.row)
                                              for p in at_once.problems) == [
        ("bad-value", 6), ("bad-value", 9), ("missing-value", 5), ("missing-value", 7),
        ("percent-out-of-range", 6), ("unknown-currency", 8)]


def test_show_html_is_the_document_plain_weasyprint_renders_the_same(tmp_path):
    import pypdf
    from weasyprint import HTML

    ws = tmp_path / "ws"
    assert run_cli("init", str(ws))[0] == 0
    book = simple_workbook(tmp_path / "m.xlsx", [["P-1", "1", "Design", 1000, 40],
                                                 ["P-1", "2", "Build", 5000, 10]])
    assert run_cli("run", str(book), "--period", "2026-11", "-w", str(ws))[0] == 0
    out = tmp_path / "doc.html"
    code, text = run_cli("show", "INV-2026-00001", "--html", "-o", str(out), "-w", str(ws))
    assert code == 0, text
    html = out.read_text()
    assert 'url("fonts/' not in html and "data:font/ttf;base64," in html
    assert "@page { size: A4; }" in html
    naive = HTML(string=html).write_pdf()

    def words(data: bytes) -> list[str]:
        return " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages
                        ).split()

    ours = (ws / "invoices" / "2026-11" / "INV-2026-00001.pdf").read_bytes()
    assert words(naive) == words(ours)
    code, text = run_cli("show", "INV-2026-00001", "--html", "-w", str(ws))
    assert code == 0 and "<html" in text[:300]
    code, text = run_cli("show", "INV-2099-00001", "--html", "-w", str(ws))
    assert code == 2 and "no document INV-2099-00001" in text


@pytest.mark.parametrize("value", [0.1 + 0.2, 1182.6000000000001, 10.005, 1e15, -0.0])
def test_known_floats(value):
    assert read_decimal(value, CellContext()) == _reference(value)


@given(st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10**16, max_value=10**16),
    st.decimals(min_value=-10**13, max_value=10**13, places=2, allow_nan=False).map(float),
    st.decimals(min_value=-10**9, max_value=10**9, places=3, allow_nan=False).map(float),
    st.integers(min_value=-10**12, max_value=10**12).map(lambda k: k / 100),
    st.booleans(), st.text(max_size=5), st.none()),
    st.sampled_from(["JPY", "USD", "KWD"]))
def test_minor_units_at_once_are_what_the_exact_conversion_gives(value, currency):
    """A money cell converted with its column (vectorised) is the exact conversion of its
    decimal, or left to it (None): never another amount."""
    from progbill.money import exact_minor_units, exponent, to_minor

    fast = exact_minor_units([value, 1.5, value], exponent(currency))
    assert fast[0] == fast[2]
    if fast[0] is None:
        return
    assert type(value) in (float, int)
    assert fast[0] == to_minor(read_decimal(value, CellContext()), currency)


def test_minor_units_at_once_cover_ordinary_amounts():
    from progbill.money import exact_minor_units

    amounts = [0.1, 0.2, 0.30000000000000004, 12345.67, -0.01, 1e-05, 100, 2.5, 123.456]
    assert exact_minor_units(amounts, 2) == [10, 20, None, 1234567, -1, None, 10000, 250, None]
    assert exact_minor_units(amounts, 3)[-1] == 123456


def _edge_lines_workbook(path):
    """Plain lines (a schedule of values with percent complete) next to every way a line
    leaves the plain path: a problem, a status, an empty or out-of-range value, more decimals
    than the currency, negative stored materials, a project in another currency."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Project ID", "Currency", "Retainage %", "Line", "Description", "Scheduled Value",
               "% Complete", "Materials Stored", "Status", "Change Order", "Tax Code",
               "Completed On"])
    rows = [
        ["P-1", "USD", 10, 1, "Piling", 10000.5, 45, 0, None, "no", "S", None],
        ["P-1", "USD", 10, 2, "Frame", "12,000.00", "40%", 250.25, None, "CO-2", None, None],
        ["P-1", "USD", 10, 3, "Roof", 8000, 100, None, "complete", None, None, "2026-10-02"],
        ["P-1", "USD", 10, 4, "Walls", 100.005, 10, None, None, None, None, None],
        ["P-1", "USD", 10, 5, "Doors", 5000, 120, None, None, None, None, None],
        ["P-1", "USD", 10, 6, "Glass", 5000, None, None, None, None, None, None],
        ["P-1", "USD", 10, 7, "Paint", 5000, None, None, "not started", None, None, None],
        ["P-1", "USD", 10, 8, "Floors", 5000, 50, -10, None, None, None, None],
        ["P-1", "USD", 10, 9, None, 5000, 50, None, None, None, None, None],
        ["P-1", "USD", 10, None, "No id", 5000, 50, None, None, None, None, None],
        ["P-1", "USD", 10, 11, "Stairs", None, 50, None, None, None, None, None],
        ["P-1", "USD", 10, 12, "Lift", 5000, 0, None, "complete", None, None, None],
        ["P-1", "USD", 10, 13, "Gutters", 0.1 + 0.2, 0.5, 0, None, "0", None, None],
        ["P-2", "JPY", 15, 1, "Survey", 300000, 20, 1000, None, None, None, None],
        ["P-2", "JPY", 15, 2, "Design", 1000.5, 20, None, None, None, None, None],
        ["P-3", "EUR", 5, 1, "Works", "#REF!", 20, None, None, None, None, None],
        ["P-3", "EUR", 5, 2, "Works", 2000, 20, "abc", None, None, None, None],
        ["P-3", "EUR", 5, 3, "Works", 1e16, 20, None, None, None, None, None],
    ]
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def _workbooks_to_compare(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "sample_workbooks"
    found = [p for p in sorted(root.rglob("*")) if p.suffix in (".xlsx", ".csv", ".ods", ".xls")]
    shared = Path(__file__).resolve().parents[2] / "shared" / "realworld"
    if shared.is_dir():
        found += [p for p in sorted(shared.rglob("*"))
                  if p.suffix in (".xlsx", ".csv", ".ods", ".xls") and p.stat().st_size < 5e6]
    return [*found, _edge_lines_workbook(tmp_path / "edge.xlsx")]


def test_plain_lines_read_the_same_as_through_every_check(tmp_path, monkeypatch):
    """The plain-line paths (a schedule of values with percent complete, nothing stated twice;
    a row at a time, and a flat sheet's later rows from its columns) give each line the record
    the full checks give, and every problem is still found: every sample, layout and real-world
    workbook, and one of edge rows, read both ways."""
    from progbill.readers import read_workbook, records

    plain, by_column = [], []
    real_plain, real_record = records._plain_line, records.PlainLines.record

    def counting(*args):
        found = real_plain(*args)
        plain.append(found is not None)
        return found

    def counting_columns(self, r, currency):
        found = real_record(self, r, currency)
        by_column.append(found is not None)
        return found

    paths = _workbooks_to_compare(tmp_path)
    monkeypatch.setattr(records, "_plain_line", counting)
    monkeypatch.setattr(records.PlainLines, "record", counting_columns)
    fast = [read_workbook(p) for p in paths]
    monkeypatch.setattr(records, "_plain_line", lambda *args: None)
    monkeypatch.setattr(records.PlainLines, "record", lambda self, r, currency: None)
    full = [read_workbook(p) for p in paths]
    for path, a, b in zip(paths, fast, full, strict=True):
        assert a.lines.equals(b.lines), path
        assert a.projects.equals(b.projects), path
        assert [(p.code, p.message, p.location) for p in a.problems] == [
            (p.code, p.message, p.location) for p in b.problems], path
    edge = fast[-1]
    assert list(zip(edge.lines["project_id"], edge.lines["line_id"], strict=True)) == [
        ("P-1", "1"), ("P-1", "2"), ("P-1", "3"), ("P-1", "7"), ("P-1", "13"), ("P-2", "1")]
    assert edge.lines["stored_materials"].tolist() == [0, 25025, 0, 0, 0, 1000]
    assert sorted({p.location.row for p in edge.problems}) == [
        5, 6, 7, 9, 10, 11, 12, 13, 16, 17, 18, 19]
    assert sum(plain) >= 5 and not all(plain)  # both paths were taken
    assert sum(by_column) >= 5 and not all(by_column)  # and the column-wise one too


_CELL_VALUES = st.one_of(st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                         st.text(max_size=5), st.booleans(),
                         st.decimals(allow_nan=False, places=2, min_value=-10**6,
                                     max_value=10**6))


@given(st.lists(st.tuples(_CELL_VALUES, st.integers(-10**9, 10**9), st.floats(allow_nan=True),
                          st.text(max_size=5) | st.none(), st.booleans(),
                          st.sampled_from([None, 1, 2])), max_size=20))
def test_row_dicts_are_what_to_dict_gives(rows):
    """columns.row_dicts reads a frame column by column; every value, and its type, is what
    pandas' to_dict("records") gives, whatever the columns' dtypes (int64, float64 with NaN,
    text with missing values, bool, objects, a nullable integer, dates, a category)."""
    import math

    import numpy as np
    import pandas as pd

    from progbill.columns import row_dicts

    frame = pd.DataFrame(rows, columns=["mixed", "int", "float", "text", "flag", "small"])
    if len(frame):
        frame["nullable"] = frame["small"].astype("Int64")
        frame["category"] = frame["text"].astype("category")
        frame["day"] = pd.Timestamp("2026-11-30")
        frame[7] = frame["int"]  # a label that is not text
        frame["numpy"] = pd.Series([np.int64(3), "x", np.float64(0.5), None] * len(frame),
                                   dtype=object)[:len(frame)].tolist()
    expected, found = frame.to_dict("records"), row_dicts(frame)
    assert len(found) == len(expected)
    for want, got in zip(expected, found, strict=True):
        assert list(got) == list(want)
        for key, value in want.items():
            other = got[key]
            assert type(other) is type(value), key
            assert other == value or (other is value) or (
                isinstance(value, float) and math.isnan(value) and math.isnan(other)), key
