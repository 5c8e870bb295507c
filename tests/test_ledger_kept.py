"""The accountant's work in ledger.xlsx is kept (issue 11 section 1): a test that plays the
accountant with openpyxl, runs the next month, and finds each addition kept, each edit of an
issued document reverted and reported, and everything again after ledger.xlsx is deleted."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import openpyxl
from helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.comments import Comment

SAMPLES = Path(__file__).resolve().parents[1] / "sample_workbooks"



def _month(ws: Path, month: str) -> str:
    code, out = run_cli("run", str(SAMPLES / month / "northlight-studio-milestones.csv"),
                     "--period", month, "-w", str(ws), "--no-pdf")
    assert code == 0, out
    return out


def _column(sheet, header: str) -> int:
    return [c.value for c in sheet[1]].index(header) + 1


def _edit_like_an_accountant(path: Path) -> dict[str, object]:
    book = openpyxl.load_workbook(path)
    invoices = book["Invoices"]
    free = invoices.max_column + 1
    invoices.cell(1, free, "Reviewed")
    invoices.cell(2, free, "yes, JK")
    amount = _column(invoices, "Amount Due")
    letter = openpyxl.utils.get_column_letter(amount)
    invoices.cell(3, free, f"={letter}3*2")
    invoices.cell(3, free + 1, datetime(2026, 12, 3))
    invoices.cell(1, free + 1, "Paid On")
    invoices.cell(3, free + 1).number_format = "dd mmm yyyy"
    numbers = {invoices.cell(r, 1).value: r for r in range(2, invoices.max_row + 1)}
    issued = invoices.cell(2, amount).value
    invoices.cell(2, amount, 1.0)  # an edit of an issued document
    invoices.cell(2, 2).comment = Comment("Client asked for a copy", "JK")
    notes = book.create_sheet("AR notes")
    notes["A1"] = "Client"
    notes["B1"] = "Promised"
    notes["A2"] = "Fjord Media"
    notes["B2"] = 1234.5
    notes["B2"].number_format = "#,##0.00"
    notes["C2"] = "=B2*2"
    notes.column_dimensions["A"].width = 31
    book.save(path)
    return {"first": invoices.cell(2, 1).value, "second": invoices.cell(3, 1).value,
            "issued": issued, "numbers": numbers}


def test_the_accountants_columns_sheets_and_comments_survive_the_next_month(tmp_path):
    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    _month(ws, "2026-10")
    edited = _edit_like_an_accountant(ws / "ledger.xlsx")
    out = _month(ws, "2026-11")
    assert "your additions to the ledger were carried into the new one (2 columns, 1 sheet, " \
        "1 comment)" in out
    assert f"Invoices!M2 (Amount Due) of {edited['first']}: 1.00 in the ledger, " in out
    assert "Issued documents are immutable" in out
    [copy] = (ws / "backups" / "kept").glob("ledger *.xlsx")
    assert openpyxl.load_workbook(copy)["AR notes"]["A2"].value == "Fjord Media"

    def check(book: openpyxl.Workbook) -> None:
        invoices = book["Invoices"]
        headers = [c.value for c in invoices[1]]
        assert headers[-2:] == ["Reviewed", "Paid On"]
        rows = {invoices.cell(r, 1).value: r for r in range(2, invoices.max_row + 1)}
        reviewed, paid = _column(invoices, "Reviewed"), _column(invoices, "Paid On")
        assert invoices.cell(rows[edited["first"]], reviewed).value == "yes, JK"
        assert invoices.cell(rows[edited["second"]], reviewed).value.startswith("=")
        assert invoices.cell(rows[edited["second"]], paid).value == datetime(2026, 12, 3)
        assert invoices.cell(rows[edited["second"]], paid).number_format == "dd mmm yyyy"
        new = [n for n in rows if n and n.startswith("INV") and n not in edited["numbers"]]
        assert new and all(invoices.cell(rows[n], reviewed).value is None for n in new)
        amount = _column(invoices, "Amount Due")
        assert invoices.cell(rows[edited["first"]], amount).value == edited["issued"]
        assert invoices.cell(rows[edited["first"]], 2).comment.text == "Client asked for a copy"
        notes = book["AR notes"]
        assert (notes["A2"].value, notes["B2"].value, notes["C2"].value) == (
            "Fjord Media", 1234.5, "=B2*2")
        assert notes["B2"].number_format == "#,##0.00"
        assert round(notes.column_dimensions["A"].width) == 31

    check(openpyxl.load_workbook(ws / "ledger.xlsx"))
    (ws / "ledger.xlsx").unlink()
    code, out = run_cli("ledger", "-w", str(ws))
    assert code == 0, out
    check(openpyxl.load_workbook(ws / "ledger.xlsx"))


def test_what_cannot_be_carried_is_named(tmp_path):
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.worksheet.datavalidation import DataValidation

    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    _month(ws, "2026-10")
    book = openpyxl.load_workbook(ws / "ledger.xlsx")
    sheet = book.create_sheet("Checks")
    sheet["A1"] = 5
    sheet.conditional_formatting.add("A1", CellIsRule(operator="greaterThan", formula=["1"]))
    validation = DataValidation(type="list", formula1='"yes,no"')
    sheet.add_data_validation(validation)
    validation.add("B1")
    book.save(ws / "ledger.xlsx")
    code, out = run_cli("ledger", "-w", str(ws))
    assert code == 0, out
    assert "not carried: Checks: conditional formats, data validation" in out
    assert openpyxl.load_workbook(ws / "ledger.xlsx")["Checks"]["A1"].value == 5


def test_backups_only_when_the_ledger_changed_and_kept_copies_are_never_rotated(tmp_path):
    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    _month(ws, "2026-10")
    _edit_like_an_accountant(ws / "ledger.xlsx")
    for _ in range(7):
        code, out = run_cli("ledger", "-w", str(ws))
        assert code == 0, out
    assert len(list((ws / "backups" / "kept").glob("*.xlsx"))) == 1
    # the edited file once, then the rebuilt ledger once: identical rebuilds add no copy
    assert len(list((ws / "backups").glob("ledger *.xlsx"))) == 2
    shutil.rmtree(ws / "backups")


def test_pdf_links_use_forward_slashes_and_still_open_from_backups(tmp_path):
    import zipfile

    def targets(path: Path) -> set[str]:
        import re

        with zipfile.ZipFile(path) as book:
            rels = book.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        return set(re.findall(r'Target="([^"]+)" TargetMode="External"', rels))

    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    code, out = run_cli("run", str(SAMPLES / "2026-10" / "northlight-studio-milestones.csv"),
                     "--period", "2026-10", "-w", str(ws))
    assert code == 0, out
    assert targets(ws / "ledger.xlsx") == {"invoices/2026-10/INV-2026-00001.pdf",
                                           "invoices/2026-10/INV-2026-00002.pdf"}
    _edit_like_an_accountant(ws / "ledger.xlsx")
    code, out = run_cli("ledger", "-w", str(ws))
    assert code == 0, out
    [backup] = (ws / "backups").glob("ledger *.xlsx")
    assert targets(backup) == {"../invoices/2026-10/INV-2026-00001.pdf",
                               "../invoices/2026-10/INV-2026-00002.pdf"}
    for link in targets(backup):
        assert (backup.parent / link).resolve().is_file()
    [kept] = (ws / "backups" / "kept").glob("ledger *.xlsx")
    assert all((kept.parent / link).resolve().is_file() for link in targets(kept))


def test_a_new_fiscal_year_closes_the_last_into_its_own_ledger_with_the_accountants_work(
        tmp_path):
    from helpers import simple_workbook

    ws = tmp_path / "ws"
    assert run_cli("init", str(ws))[0] == 0
    months = {"2026-12": 40, "2027-01": 70}
    for month, done in months.items():
        book = simple_workbook(tmp_path / f"{month}.xlsx", [["P-1", "1", "Build", 1000, done]])
        if month == "2027-01":  # the accountant's column on December's invoice
            ledger = openpyxl.load_workbook(ws / "ledger.xlsx")
            invoices = ledger["Invoices"]
            free = invoices.max_column + 1
            invoices.cell(1, free, "GL batch")
            invoices.cell(2, free, "GL-2026-12")
            ledger.save(ws / "ledger.xlsx")
        code, out = run_cli("run", str(book), "--period", month, "-w", str(ws), "--no-pdf")
        assert code == 0, out
    assert "fiscal year 2026 is closed into ledger-FY2026.xlsx (1 documents" in out

    def rows(path: Path, sheet: str) -> list[dict[str, object]]:
        found = openpyxl.load_workbook(path, data_only=True)[sheet]
        header = [c.value for c in found[1]]
        return [dict(zip(header, (c.value for c in r), strict=False))
                for r in found.iter_rows(min_row=2) if r[0].value]

    closed = ws / "ledger-FY2026.xlsx"
    assert [(r["Document No"], r["GL batch"]) for r in rows(closed, "Invoices")
            if str(r["Document No"]).startswith("INV")] == [("INV-2026-00001", "GL-2026-12")]
    current = [r["Document No"] for r in rows(ws / "ledger.xlsx", "Invoices")
               if str(r["Document No"]).startswith("INV")]
    assert current == ["INV-2027-00001"]
    # totals to date carried forward: the Projects sheet bills both years
    project = next(r for r in rows(ws / "ledger.xlsx", "Projects") if r["Project ID"] == "P-1")
    assert project["Billed To Date"] == 700.0
    # every open item is aged, whatever its year: 360.00 (Dec, after 10% retainage) + 270.00
    ageing = [r for r in rows(ws / "ledger.xlsx", "AR Ageing") if r["Client"] == "Acme Corp"]
    assert ageing[0]["Total Open"] == 630.0
    # written once: a rebuild leaves the closed year as it is, and writes it again if missing
    before = closed.read_bytes()
    assert run_cli("ledger", "-w", str(ws))[0] == 0
    assert closed.read_bytes() == before
    closed.unlink()
    assert run_cli("ledger", "-w", str(ws))[0] == 0
    assert [r["Document No"] for r in rows(closed, "Invoices")
            if str(r["Document No"]).startswith("INV")] == ["INV-2026-00001"]
    # another project's late December run after the close: the closed year is written again,
    # the file as it was kept in backups/kept/
    book = simple_workbook(tmp_path / "late.xlsx", [["P-2", "1", "Design", 500, 50]],
                           project=["P-2", "Acme Corp", "USD", 10, 0])
    code, out = run_cli("run", str(book), "--period", "2026-12", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    assert "ledger-FY2026.xlsx is written again: fiscal year 2026 now has 2 documents" in out
    assert [r["Document No"] for r in rows(closed, "Invoices")
            if str(r["Document No"]).startswith("INV")] == ["INV-2026-00001", "INV-2026-00002"]
    assert list((ws / "backups" / "kept").glob("ledger *.xlsx"))


@given(rows=st.lists(st.tuples(
    st.one_of(st.none(), st.just(""), st.text(max_size=4), st.integers(-5, 5)),
    st.one_of(st.none(), st.just(""), st.text(max_size=4), st.integers(-5, 5)),
    st.one_of(st.none(), st.just(""), st.text(max_size=4), st.floats(allow_nan=False))),
    max_size=30),
    at=st.sampled_from([[0], [1], [2], [0, 1], [1, 0], [0, 2], [0, 1, 2]]))
@settings(max_examples=200, deadline=None)
def test_the_keys_of_a_sheet_are_each_rows_key(rows, at):
    """The ledger keys a sheet's rows all at once (``kept.keys_of``): the same key, or None,
    as each row alone (``kept.key_of``)."""
    from progbill.kept import key_of, keys_of

    assert keys_of(rows, at) == [key_of([row[c] for c in at]) for row in rows]
