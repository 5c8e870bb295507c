"""Every file format INPUT.md accepts, read to the same exact values."""

from __future__ import annotations

import codecs
import os
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from helpers import Pct, write_csv, write_ods, write_xls, write_xlsx

from progbill.readers import read_workbook
from progbill.readers.files import discover

TWO_SHEETS = {
    "Projects": [["Acme progress report"], [], ["Project ID", "Client", "Currency"],
                 ["007", "NA", "EUR"]],
    "Milestones": [["Project ID", "Line", "Description", "Scheduled Value", "% Complete",
                    "Completed On"],
                   ["007", "1", "Design", 1234.5, Pct("0.45"), date(2026, 11, 30)],
                   ["007", "2", "Build", 1000, Pct("1"), None]],
}
EXPECTED_VALUES = [123_450, 100_000]
EXPECTED_PERCENTS = [Decimal(45), Decimal(100)]


def _plain(sheets):
    """The same sheets with percent cells as numbers (for writers that format separately)."""
    return {n: [[float(v.fraction) if isinstance(v, Pct) else v for v in row] for row in rows]
            for n, rows in sheets.items()}


def _xlsx(path: Path, suffix: str) -> Path:
    target = path.with_suffix(suffix)
    write_xlsx(target, _plain(TWO_SHEETS), formats={("Milestones", "E2"): "0%",
                                                    ("Milestones", "E3"): "0.0%"})
    return target


@pytest.mark.parametrize("build", [
    lambda p: _xlsx(p, ".xlsx"),
    lambda p: _xlsx(p, ".xlsm"),
    lambda p: write_xls(p.with_suffix(".xls"), TWO_SHEETS),
    lambda p: write_ods(p.with_suffix(".ods"), TWO_SHEETS),
], ids=["xlsx", "xlsm", "xls", "ods"])
def test_every_workbook_format_reads_the_same_values(tmp_path, build):
    wb = read_workbook(build(tmp_path / "progress"))
    assert [p for p in wb.problems if p.severity != "info"] == []
    assert wb.layout == "two-sheet"
    assert wb.projects.iloc[0]["project_id"] == "007"
    assert wb.projects.iloc[0]["client"] == "NA"
    assert list(wb.lines["scheduled_value"]) == EXPECTED_VALUES
    assert list(wb.lines["percent_complete"]) == EXPECTED_PERCENTS
    assert wb.lines.iloc[0]["completed_on"] == date(2026, 11, 30)


FLAT = [
    ["Exported from Smartsheet"],
    ["Project", "Client", "Currency", "Milestone", "Description", "Amount", "Progress"],
    ["007", "Café Olé", "EUR", "1", "Design", "1234.50", "45%"],
    ["007", "Café Olé", "EUR", "2", "Build", "1000", "100"],
]


@pytest.mark.parametrize("name, delimiter, encoding", [
    ("utf8.csv", ",", "utf-8"),
    ("bom.csv", ",", "utf-8-sig"),
    ("utf16.csv", "\t", "utf-16"),
    ("windows.csv", ";", "cp1252"),
    ("tabs.tsv", "\t", "utf-8"),
    ("pipes.txt", "|", "utf-8"),
])
def test_csv_encodings_and_delimiters_are_detected(tmp_path, name, delimiter, encoding):
    wb = read_workbook(write_csv(tmp_path / name, FLAT, delimiter=delimiter, encoding=encoding))
    assert [p for p in wb.problems if p.severity != "info"] == []
    assert wb.projects.iloc[0]["client"] == "Café Olé"
    assert list(wb.lines["scheduled_value"]) == EXPECTED_VALUES
    assert list(wb.lines["percent_complete"]) == EXPECTED_PERCENTS


def test_utf16_without_text_bom_is_not_mistaken_for_binary(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "project_id,client\n".encode("utf-16-le"))
    wb = read_workbook(path)
    assert [p.code for p in wb.problems] == ["missing-column"]


def test_excel_1904_dates(tmp_path):
    path = _xlsx(tmp_path / "mac", ".xlsx")
    wb = openpyxl.load_workbook(path)
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    wb.save(path)
    assert read_workbook(path).lines.iloc[0]["completed_on"] == date(2026, 11, 30)


def test_merged_cells_take_the_top_left_value(tmp_path):
    path = write_xlsx(tmp_path / "merged.xlsx", {"Progress": [
        ["Project ID", "Client", "Line", "Description", "Amount", "% Complete"],
        ["P-1", "Acme", "1", "Design", 100, 10],
        [None, None, "2", "Build", 200, 20],
    ]})
    wb = openpyxl.load_workbook(path)
    wb["Progress"].merge_cells("A2:A3")
    wb["Progress"].merge_cells("B2:B3")
    wb.save(path)
    result = read_workbook(path)
    assert [p for p in result.problems if p.severity != "info"] == []
    assert list(result.lines["project_id"]) == ["P-1", "P-1"]


@pytest.mark.parametrize("text, order, expected", [
    ("2026-11-30", "DMY", date(2026, 11, 30)),
    ("30/11/2026", "DMY", date(2026, 11, 30)),
    ("11/30/2026", "MDY", date(2026, 11, 30)),
    ("03.04.2026", "DMY", date(2026, 4, 3)),
    ("30 Nov 2026", "MDY", date(2026, 11, 30)),
    ("Nov 30, 2026", "DMY", date(2026, 11, 30)),
    ("11/30/2026", "DMY", None),  # no 30th month: an error, never a guess
    ("03/04/26", "DMY", None),  # two-digit year: ambiguous
])
def test_text_dates(tmp_path, text, order, expected):
    rows = [["project_id", "client", "milestone_id", "description", "scheduled_value",
             "percent_complete", "completed_on"], ["P", "C", "1", "D", "1", "0", text]]
    wb = read_workbook(write_csv(tmp_path / "d.csv", rows), date_order=order)
    if expected is None:
        assert [p.code for p in wb.problems] == ["bad-date"]
    else:
        assert wb.lines.iloc[0]["completed_on"] == expected


def test_lock_hidden_and_other_files_in_a_folder_are_skipped(tmp_path):
    for name in ("~$progress.xlsx", ".hidden.xlsx", "notes.pdf", "progress.xlsx"):
        (tmp_path / name).write_bytes(b"x")
    found, skipped = discover([tmp_path])
    assert [p.name for p in found] == ["progress.xlsx"]
    assert {s.path.name for s in skipped} == {"~$progress.xlsx", ".hidden.xlsx", "notes.pdf"}


def test_a_file_still_being_written_is_skipped(tmp_path):
    import threading

    path = tmp_path / "growing.csv"
    path.write_text("a,b\n")
    stop = threading.Event()

    def grow():
        while not stop.is_set():
            with path.open("a") as handle:
                handle.write("1,2\n")
            time.sleep(0.05)

    writer = threading.Thread(target=grow)
    writer.start()
    try:
        found, skipped = discover([tmp_path], settle_seconds=0.5)
    finally:
        stop.set()
        writer.join()
    assert found == []
    assert "still being written" in skipped[0].reason
    os.utime(path, (time.time() - 60, time.time() - 60))
    assert discover([tmp_path], settle_seconds=0.2)[0] == [path]
