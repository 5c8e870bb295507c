"""progbill writes the ledger's plain data cells itself (progbill.sheetdata); xlsxwriter writes
the rest. These tests write the same sheets both ways and compare the workbooks cell by cell:
value, type, number format, font, link and comment, and each sheet's columns, filter, frozen
panes and tables."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progbill import kept as kept_content
from progbill import ledger
from progbill.ledger import DATE, DATETIME, LINK, MONEY, PERCENT, TEXT, Col, Sheet

COLUMNS = [Col("Document No", TEXT), Col("Note", TEXT), Col("Amount", MONEY, total=True),
           Col("Share", PERCENT), Col("On", DATE), Col("At", DATETIME), Col("PDF", LINK),
           Col("Qty", TEXT), Col("Currency", TEXT)]


def describe(path: Path) -> dict[str, object]:
    """Everything a reader of the workbook sees, sheet by sheet and cell by cell."""
    book = openpyxl.load_workbook(path)
    out: dict[str, object] = {}
    for ws in book.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None and not cell.has_style:
                    continue
                font = cell.font
                cells[cell.coordinate] = (
                    cell.value, cell.data_type, cell.number_format, font.b, font.u,
                    font.color.rgb if font.color is not None else None,
                    cell.hyperlink.target if cell.hyperlink else None,
                    cell.comment.text if cell.comment else None,
                    cell.alignment.wrap_text, cell.alignment.vertical)
        out[ws.title] = {
            "cells": cells, "dimensions": ws.dimensions, "freeze": ws.freeze_panes,
            "filter": ws.auto_filter.ref,
            "widths": {k: (d.width, d.min, d.max) for k, d in ws.column_dimensions.items()},
            "tables": dict(ws.tables.items()),
        }
    return out


def both_ways(tmp_path: Path, sheets: list[Sheet], kept_sheets=None) -> tuple[dict, dict]:
    plain, fast = tmp_path / "plain.xlsx", tmp_path / "fast.xlsx"
    ledger.write_sheets(sheets, plain, kept_sheets, fast=False)
    ledger.write_sheets(sheets, fast, kept_sheets, fast=True)
    assert not list(tmp_path.glob("*.cells")), "the intermediate workbook is removed"
    return describe(plain), describe(fast)


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12) | \
    st.sampled_from(["", " lead", "trail ", "a & b <c>", "_x0041_", "x\x01y", "=SUM(A1)",
                     "tab\there", "line\nbreak", "\ufffe", "💶 €", "x" * 20_000])
amount = st.none() | st.integers(-10**12, 10**12).map(lambda m: m / 100) | st.sampled_from(
    [0.0, -0.0, 1e-7, 123456789012.34, 5])
day = st.none() | st.dates(date(1899, 12, 31), date(2100, 1, 1))
row = st.tuples(text | st.none(), text | st.none(), amount, st.none() | st.floats(0, 2),
                day, st.none() | st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
                st.none() | st.sampled_from(["invoices/2026-11/INV-1.pdf", "a b/ü.pdf"]),
                st.none() | st.floats(-1e6, 1e6) | st.integers(-10**6, 10**6),
                st.none() | st.sampled_from(["USD", "JPY", "KWD", "EUR"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, max_size=30), streamed=st.booleans())
def test_any_sheet_has_the_same_cells_written_either_way(tmp_path_factory, rows, streamed,
                                                         monkeypatch):
    tmp_path = tmp_path_factory.mktemp("book")
    monkeypatch.setattr(ledger, "CONSTANT_MEMORY_ROWS", 0 if streamed else 10**9)
    sheet = Sheet("Lines", COLUMNS, [list(r) for r in rows], [r[-1] for r in rows])
    plain, fast = both_ways(tmp_path, [sheet])
    assert plain == fast


def sample_rows(n: int) -> list[list[object]]:
    currencies = ["USD", "JPY", "KWD", None]
    return [[f"INV-{k:05d}", f"line {k} & more" if k % 7 else None, k * 1.25 - 300,
             (k % 100) / 100, date(2026, 11, 1 + k % 28), datetime(2026, 11, 29, 9, k % 60),
             f"invoices/2026-11/INV-{k:05d}.pdf", 2.5 if k % 3 else None, currencies[k % 4]]
            for k in range(n)]


@pytest.mark.parametrize("streamed", [False, True])
def test_kept_columns_comments_links_and_totals_are_where_xlsxwriter_puts_them(
        tmp_path, monkeypatch, streamed):
    monkeypatch.setattr(ledger, "CONSTANT_MEMORY_ROWS", 0 if streamed else 10**9)
    rows = sample_rows(60)
    keys = [r[0] for r in rows]
    kept = [kept_content.Column("Invoices", "GL batch", 14, {
        keys[3]: kept_content.Cell("B-7"), keys[40]: kept_content.Cell(12.5, "0.0")})]
    comments = [kept_content.Comment("Invoices", keys[5], "Amount", "checked", "Ana")]
    single = Sheet("Invoices", COLUMNS, [[*r[:-1], "USD"] for r in rows], ["USD"] * 60,
                   keys, kept, comments)
    mixed = Sheet("Lines", COLUMNS, rows, [r[-1] for r in rows])
    extra = kept_content.Sheet("Notes", [(0, 0, kept_content.Cell("Reviewed"))], {0: 20.0})
    plain, fast = both_ways(tmp_path, [single, mixed, Sheet("Runs", COLUMNS, [], [])], [extra])
    assert plain == fast
    cells = fast["Invoices"]["cells"]
    assert cells["J5"][0] == "B-7" and cells["C7"][7] == "checked"
    assert fast["Lines"]["dimensions"] == plain["Lines"]["dimensions"]


def test_a_month_end_ledger_is_the_same_either_way(tmp_path):
    """The ledger of a real run (every sheet), written both ways from the same store."""
    import sys

    from click.testing import CliRunner

    from progbill.cli import cli
    from progbill.store import Store

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import generate

    ws = tmp_path / "ws"
    CliRunner().invoke(cli, ["init", str(ws)])
    month = generate.write(tmp_path / "month.xlsx", projects=8, lines=6)
    result = CliRunner().invoke(cli, ["run", str(month), "--period", "2026-11", "-w", str(ws),
                                      "--no-pdf"])
    assert result.exit_code == 0, result.output
    with Store(ws / "progbill.db") as store:
        sheets = ledger.build_sheets(store, ws, ws)
    plain, fast = both_ways(tmp_path, sheets)
    assert plain == fast
    assert describe(ws / "ledger.xlsx")["Lines"] == fast["Lines"]
    # a second reader (calamine, through pandas) sees the same values too
    import pandas as pd

    for name in ("Invoices", "Lines", "Projects"):
        a, b = (pd.read_excel(tmp_path / f, sheet_name=name, engine="calamine")
                for f in ("plain.xlsx", "fast.xlsx"))
        pd.testing.assert_frame_equal(a, b)
        rows = next(s for s in sheets if s.name == name).rows
        assert b.iloc[:len(rows), 0].tolist() == [row[0] for row in rows]


def test_an_accountants_comment_survives_a_ledger_written_in_constant_memory(tmp_path,
                                                                              monkeypatch):
    """Found by the comparison above: xlsxwriter's constant-memory mode dropped a comment
    written after its row, so on a ledger of more than 50,000 rows comments were lost."""
    monkeypatch.setattr(ledger, "CONSTANT_MEMORY_ROWS", 0)
    rows = sample_rows(5)
    keys = [r[0] for r in rows]
    comment = kept_content.Comment("Lines", keys[1], "Amount", "query with site", "Ana")
    ledger.write_sheets([Sheet("Lines", COLUMNS, rows, [r[-1] for r in rows], keys, [],
                               [comment])], tmp_path / "ledger.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "ledger.xlsx")["Lines"]["C3"]
    assert cell.comment is not None and cell.comment.text == "query with site"
