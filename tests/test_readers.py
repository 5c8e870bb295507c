"""Reading workbooks of both layouts into exact values, with located problems."""

from __future__ import annotations

from decimal import Decimal

from helpers import simple_workbook, write_csv, write_xlsx

from progbill.readers import read_workbook
from progbill.readers.schema import FLAT_COLUMNS, LINE_COLUMNS, PROJECT_COLUMNS, normalise


def codes(wb):
    return [p.code for p in wb.problems if p.severity != "info"]


def test_no_alias_belongs_to_two_columns():
    for columns in (PROJECT_COLUMNS, LINE_COLUMNS, FLAT_COLUMNS):
        seen: dict[str, str] = {}
        for column in columns:
            for name in (column.name, *column.aliases):
                key = normalise(name)
                assert seen.setdefault(key, column.name) == column.name, name


def test_two_sheets_with_title_block_and_aliases(tmp_path):
    path = write_xlsx(tmp_path / "progress.xlsx", {
        "Projects": [["Acme Builders - contracts"], [], ["Job No", "Customer", "CCY",
                                                        "Retention %", "Contract Sum"],
                     ["007", "NA", "usd", 10, 1500]],
        "sov": [["Project", "Item No", "Scope", "Amount", "Pct Complete", "Materials Stored"],
                ["007", 1, "Foundations", 1000, 0.25, 100],
                [],
                ["007", "1.1", "Framing", "500.50", "12.5%", None]],
    }, formats={("sov", "E2"): "0%"})
    wb = read_workbook(path)
    assert codes(wb) == []
    assert wb.layout == "two-sheet"
    project = wb.projects.iloc[0]
    assert (project["project_id"], project["client"], project["currency"]) == ("007", "NA",
                                                                                "USD")
    assert project["retainage_pct"] == Decimal(10)
    assert project["contract_value"] == 150_000
    assert list(wb.lines["line_id"]) == ["1", "1.1"]
    assert list(wb.lines["scheduled_value"]) == [100_000, 50_050]
    assert list(wb.lines["percent_complete"]) == [Decimal(25), Decimal("12.5")]
    assert list(wb.lines["_row"]) == [2, 4]


def test_flat_csv_by_status_with_semicolons_and_decimal_commas(tmp_path):
    path = write_csv(tmp_path / "export.csv", [
        ["Projektliste"],
        ["project_id", "client", "currency", "milestone", "description", "amount", "status"],
        ["P-9", "Müller GmbH", "EUR", "A", "Konzept", "1.234,50", "complete"],
        ["P-9", "Müller GmbH", "EUR", "B", "Umsetzung", "2.000,00", "In Progress"],
        ["P-9", "Müller GmbH", "EUR", "C", "Abnahme", "500,00", "approved"],
    ], delimiter=";", encoding="cp1252")
    wb = read_workbook(path)
    assert codes(wb) == []
    assert wb.layout == "flat"
    assert list(wb.lines["scheduled_value"]) == [123_450, 200_000, 50_000]
    assert list(wb.lines["percent_complete"]) == [100, 0, 100]
    assert wb.projects.iloc[0]["client"] == "Müller GmbH"


def test_errors_are_located_by_excel_row_and_header(tmp_path):
    path = simple_workbook(tmp_path / "bad.xlsx", [
        ["P-1", "1", "Foundations", 1000, 120, 0],
        ["P-1", "2", "Framing", "10.005", 50, 0],
    ])
    wb = read_workbook(path)
    assert codes(wb) == ["percent-out-of-range", "too-many-decimals"]
    first, second = (p for p in wb.problems if p.severity != "info")
    assert str(first) == ("bad.xlsx, Milestones!E2 (% Complete): percent 120 is above 100; "
                          "enter a value from 0 to 100")
    assert str(second).startswith("bad.xlsx, Milestones!D3 (Scheduled Value): 10.005 has more "
                                  "decimals than USD allows (2)")


def test_status_that_contradicts_the_percent_is_an_error(tmp_path):
    path = simple_workbook(
        tmp_path / "s.xlsx", [["P-1", "1", "Foundations", 1000, 60, "complete"]],
        line_header=["Project ID", "Line", "Description", "Scheduled Value", "% Complete",
                     "Status"])
    assert codes(read_workbook(path)) == ["status-conflict"]


def test_flat_rows_of_one_project_must_agree(tmp_path):
    path = write_csv(tmp_path / "flat.csv", [
        ["project_id", "client", "milestone_id", "description", "scheduled_value",
         "percent_complete"],
        ["P-1", "Acme", "1", "One", "100", "10"],
        ["P-1", "", "2", "Two", "100", "10"],
        ["P-1", "Acme Ltd", "3", "Three", "100", "10"],
    ])
    wb = read_workbook(path)
    assert codes(wb) == ["project-conflict"]
    assert "row 2" in wb.problems[0].message and "row 4" in wb.problems[0].message


def test_a_missing_required_column_is_named(tmp_path):
    path = write_csv(tmp_path / "x.csv", [["project_id", "client", "milestone_id", "task",
                                           "percent_complete"], ["P", "C", "1", "W", "5"]])
    wb = read_workbook(path)
    assert codes(wb) == ["missing-column"]
    assert "lacks scheduled_value; add it" in wb.problems[0].message
    # without description and amount it is a progress-only table: the schedule is the
    # workspace's (tests/test_layouts.py)
    path = write_csv(tmp_path / "y.csv", [["project_id", "client", "milestone_id",
                                           "percent_complete"], ["P", "C", "1", "5"]])
    wb = read_workbook(path)
    assert wb.ok and bool(wb.lines.iloc[0]["_progress_only"])


def test_a_file_that_is_not_a_workbook_is_one_clear_error(tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_text("just some text")
    wb = read_workbook(path)
    assert codes(wb) == ["unreadable-file"]
    assert wb.projects.empty
