"""One tiny workbook per problem code, built here, asserting the code and the exact location a
finance user is pointed to (file, sheet, cell, header as typed)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers import write_csv, write_xlsx

from progbill.config import Config, InputSettings
from progbill.pipeline import validate
from progbill.problems import Problem

PROJECT_HEADER = ["Project ID", "Client", "Currency", "Retainage %", "Release Retainage",
                  "Contract Value"]
PROJECT = ["P-1", "Acme Corp", "USD", 10, "no", None]
LINE_HEADER = ["Project ID", "Line", "Description", "Scheduled Value", "% Complete",
               "Materials Stored", "Status", "Completed On"]


def line(**changes: Any) -> list[Any]:
    row = {"Project ID": "P-1", "Line": "1", "Description": "Foundations",
           "Scheduled Value": 1000, "% Complete": 50, "Materials Stored": 0, "Status": None,
           "Completed On": None}
    row.update({k.replace("_", " "): v for k, v in changes.items()})
    return [row[h] for h in LINE_HEADER]


def book(tmp: Path, lines: list[list[Any]] | None = None, project: list[Any] | None = None,
         line_header: list[str] | None = None, extra_projects: list[list[Any]] = ()) -> Path:
    return write_xlsx(tmp / "m.xlsx", {
        "Projects": [PROJECT_HEADER, project or PROJECT, *extra_projects],
        "Milestones": [line_header or LINE_HEADER, *(lines or [line()])],
    })


def problems_of(path: Path | list[Path], config: Config | None = None) -> list[Problem]:
    paths = path if isinstance(path, list) else [path]
    report = validate(paths, config or Config())
    return [p for f in report.files for p in f.problems if p.severity != "info"]


def formula_without_value(tmp: Path) -> Path:
    path = book(tmp)
    wb = openpyxl.load_workbook(path)
    wb["Milestones"]["F2"] = "=D2*0.1"  # openpyxl saves formulas without a cached result
    wb.save(path)
    return path


def duplicate_column(tmp: Path) -> Path:
    return book(tmp, [[*line(), 50]], line_header=[*LINE_HEADER, "Progress"])


CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("missing-column",
     lambda t: book(t, [line()[:2] + line()[3:]],
                    line_header=LINE_HEADER[:2] + LINE_HEADER[3:]),
     "m.xlsx, Milestones, row 1"),
    ("duplicate-column", duplicate_column, "m.xlsx, Milestones!I1 (Progress)"),
    ("missing-value", lambda t: book(t, [line(Description=None)]),
     "m.xlsx, Milestones!C2 (Description)"),
    ("bad-amount", lambda t: book(t, [line(Scheduled_Value="about 1000")]),
     "m.xlsx, Milestones!D2 (Scheduled Value)"),
    ("too-many-decimals", lambda t: book(t, [line(Scheduled_Value=10.005)]),
     "m.xlsx, Milestones!D2 (Scheduled Value)"),
    ("bad-percent", lambda t: book(t, [line(**{"% Complete": "half"})]),
     "m.xlsx, Milestones!E2 (% Complete)"),
    ("percent-out-of-range", lambda t: book(t, [line(**{"% Complete": 120})]),
     "m.xlsx, Milestones!E2 (% Complete)"),
    ("percent-as-fraction", lambda t: book(t, [line(**{"% Complete": 0.5}),
                                                line(Line="2", **{"% Complete": 0.25})]),
     "m.xlsx, Milestones, column E (% Complete)"),
    ("bad-status", lambda t: book(t, [line(**{"% Complete": None, "Status": "finished?"})]),
     "m.xlsx, Milestones!G2 (Status)"),
    ("status-conflict", lambda t: book(t, [line(Status="complete")]),
     "m.xlsx, Milestones!E2 (% Complete)"),
    ("bad-date", lambda t: book(t, [line(Completed_On="31/02/2026")]),
     "m.xlsx, Milestones!H2 (Completed On)"),
    ("bad-value", lambda t: book(t, project=["P-1", "Acme", "USD", 10, "maybe", None]),
     "m.xlsx, Projects!E2 (Release Retainage)"),
    ("unknown-currency", lambda t: book(t, project=["P-1", "Acme", "XYZ", 10, "no", None]),
     "m.xlsx, Projects!C2 (Currency)"),
    ("formula-without-value", formula_without_value,
     "m.xlsx, Milestones!F2 (Materials Stored)"),
    ("duplicate-project", lambda t: book(t, extra_projects=[PROJECT]),
     "m.xlsx, Projects!A3 (Project ID)"),
    ("unknown-project", lambda t: book(t, [line(), line(Project_ID="P-9")]),
     "m.xlsx, Milestones!A3 (Project ID)"),
    ("duplicate-line", lambda t: book(t, [line(), line()]),
     "m.xlsx, Milestones!B2 (Line)"),
    ("overbilled", lambda t: book(t, [line(Materials_Stored=600)]),
     "m.xlsx, Milestones!F2 (Materials Stored)"),
    ("contract-mismatch", lambda t: book(t, project=["P-1", "Acme", "USD", 10, "no", 999]),
     "m.xlsx, Projects!F2 (Contract Value)"),
    ("project-conflict",
     lambda t: write_csv(t / "flat.csv", [
         ["project_id", "client", "currency", "milestone_id", "description", "scheduled_value",
          "percent_complete"],
         ["P-1", "Acme", "USD", "1", "One", "100.00", "10"],
         ["P-1", "Acme", "EUR", "2", "Two", "100.00", "10"]]),
     "flat.csv, C3 (currency)"),
    ("mixed-decimal-marks",
     lambda t: write_csv(t / "marks.csv", [
         ["project_id", "client", "milestone_id", "description", "scheduled_value",
          "percent_complete"],
         ["P-1", "Acme", "1", "One", "1,234.50", "10"],
         ["P-1", "Acme", "2", "Two", "99,5", "10"]]),
     "marks.csv, E3 (scheduled_value)"),
    ("missing-sheet",
     lambda t: write_xlsx(t / "m.xlsx", {"Projects": [[*PROJECT_HEADER[:1], "Notes"],
                                                      [*PROJECT[:1], "x"]]}),
     "m.xlsx, Projects"),
    ("unreadable-file", lambda t: _write(t / "m.xlsx", b"PK\x03\x04 this is not a zip"),
     "m.xlsx"),
    ("password-protected", lambda t: _encrypted(book(t)), "m.xlsx"),
    ("zip-bomb", lambda t: _bomb(t / "m.xlsx"), "m.xlsx"),
    ("xml-bomb", lambda t: _entity_bomb(book(t)), "m.xlsx"),
]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _encrypted(path: Path) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    with path.open("rb") as handle:
        OOXMLFile(handle).encrypt("secret", out)
    path.write_bytes(out.getvalue())
    return path


def _bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))
    return path


def _entity_bomb(path: Path) -> Path:
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'
                        for i in range(1, 10)).replace("&lol0;", "&lol;")
              + ']><sst><si><t>&lol9;</t></si></sst>')
    rebuilt = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            out.writestr(item, src.read(item.filename))
        out.writestr("xl/sharedStrings.xml", laughs)
    rebuilt.replace(path)
    return path


@pytest.mark.parametrize("code, build, where", CASES, ids=[c[0] for c in CASES])
def test_each_problem_code_is_reported_at_its_cell(tmp_path, code, build, where):
    problems = problems_of(build(tmp_path))
    assert code in [p.code for p in problems], [str(p) for p in problems]
    problem = next(p for p in problems if p.code == code)
    assert problem.severity == "error"
    assert str(problem.location) == where
    assert str(problem) == f"{where}: {problem.message}"


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = book(tmp_path)
    config = Config(input=InputSettings(max_file_mb=0.001))
    problems = problems_of(path, config)
    assert [p.code for p in problems] == ["file-too-large"]
    assert "over the 0.001 MB limit (input.max_file_mb)" in problems[0].message


def test_a_project_in_two_files_rejects_both(tmp_path):
    a = book(tmp_path)
    b = write_xlsx(tmp_path / "other.xlsx", {"Projects": [PROJECT_HEADER, PROJECT],
                                             "Milestones": [LINE_HEADER, line()]})
    problems = problems_of([a, b])
    assert [(p.code, str(p.location)) for p in problems] == [
        ("project-in-two-files", "m.xlsx, Projects!A2 (Project ID)"),
        ("project-in-two-files", "other.xlsx, Projects!A2 (Project ID)"),
    ]


@pytest.mark.parametrize("code, build, where", [
    ("hidden-rows", lambda t: _hide_row(book(t, [line(), line(Line="2")]), 3),
     "m.xlsx, Milestones"),
    ("hidden-column", lambda t: _hide_column(book(t), "D"),
     "m.xlsx, Milestones, column D (Scheduled Value)"),
    ("no-lines", lambda t: book(t, extra_projects=[["P-2", "Beta", "USD", 0, "no", None]]),
     "m.xlsx, Projects!A3 (Project ID)"),
], ids=["hidden-rows", "hidden-column", "no-lines"])
def test_warnings_do_not_block(tmp_path, code, build, where):
    report = validate([build(tmp_path)], Config())
    assert report.exit_code == 0
    problem = next(p for p in report.files[0].problems if p.code == code)
    assert problem.severity == "warning"
    assert str(problem.location) == where


def _hide_row(path: Path, row: int) -> Path:
    wb = openpyxl.load_workbook(path)
    wb["Milestones"].row_dimensions[row].hidden = True
    wb.save(path)
    return path


def _hide_column(path: Path, letter: str) -> Path:
    wb = openpyxl.load_workbook(path)
    wb["Milestones"].column_dimensions[letter].hidden = True
    wb.save(path)
    return path


def test_unknown_columns_are_listed_once_as_information(tmp_path):
    path = book(tmp_path, [[*line(), "call client", "Ann"]],
                line_header=[*LINE_HEADER, "Notes", "Approved by"])
    report = validate([path], Config())
    infos = [(p.code, str(p)) for p in report.files[0].problems if p.severity == "info"]
    assert infos == [("unknown-column", "m.xlsx, Milestones, row 1: columns ignored (not "
                                        "progbill columns): I (Notes), J (Approved by)")]
    assert report.exit_code == 0


def test_every_problem_of_a_workbook_is_collected(tmp_path):
    path = book(tmp_path, [line(**{"% Complete": 120}), line(Line="2", Scheduled_Value="x"),
                           line(Line="3", Description=None)])
    assert [p.code for p in problems_of(path)] == ["percent-out-of-range", "bad-amount",
                                                   "missing-value"]
