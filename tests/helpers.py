"""Builders shared by the tests: schedules as DataFrames, workbooks as real files, and a
month-by-month billing loop over the real store."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from progbill.billing.core import Bill, contracts, evaluate, issue
from progbill.billing.periods import Period
from progbill.billing.settings import BillingSettings
from progbill.readers.frames import typed_lines, typed_projects
from progbill.store import InputRecord, RunRecord, Store

PROJECT_DEFAULTS: dict[str, Any] = {
    "project_name": "", "client": "Client Ltd", "client_address": "", "client_email": "",
    "client_tax_id": "", "currency": "USD", "retainage_pct": None,
    "stored_retainage_pct": None, "tax_rate": None, "tax_label": "Tax",
    "payment_terms_days": None, "po_number": "", "contract_value": None,
    "release_retainage": False, "place_of_supply": "", "reverse_charge": False, "tax_code": "",
    "_source": "test.xlsx", "_sheet": "Projects", "_row": 2, "_lines_sheet": "Milestones",
}
LINE_DEFAULTS: dict[str, Any] = {
    "description": "Work", "status": "", "completed_on": None, "stored_materials": 0,
    "change_order": "", "retainage_pct": None, "previously_billed": None,
    "previously_retained": None, "tax_code": "", "work_given": None, "period_given": None,
    "retainage_given": None, "_source": "test.xlsx",
    "_sheet": "Milestones",
}


def d(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def projects_frame(*projects: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for p in projects:
        row = {**PROJECT_DEFAULTS, **p}
        for key in ("retainage_pct", "stored_retainage_pct", "tax_rate"):
            row[key] = d(row[key])
        rows.append(row)
    return typed_projects(pd.DataFrame(rows, columns=[*PROJECT_DEFAULTS, "project_id"]))


def lines_frame(*lines: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for i, ln in enumerate(lines):
        row = {**LINE_DEFAULTS, "_row": i + 2, **ln}
        row["percent_complete"] = d(row["percent_complete"])
        row["retainage_pct"] = d(row["retainage_pct"])
        rows.append(row)
    return typed_lines(pd.DataFrame(rows))


@dataclass
class Month:
    documents: pd.DataFrame
    bill: Bill | None
    problems: list


def bill_month(store: Store, projects: pd.DataFrame, lines: pd.DataFrame, period: Period,
               settings: BillingSettings, run_id: str | None = None) -> Month:
    """One run without files: evaluate, issue and commit against the real store."""
    state = store.state_for(projects["project_id"])
    computed, problems = evaluate(projects, lines, state, settings, period)
    if any(p.is_error for p in problems):
        return Month(pd.DataFrame(), None, problems)
    bill = issue(projects, computed, state, settings, period, period.last_day)
    accepted = projects.merge(contracts(computed), on="project_id", how="left")
    run_id = run_id or f"run-{period}-{len(store.runs())}"
    record = RunRecord(run_id, str(period), f"{period.last_day}T00:00:00",
                       f"{period.last_day}T00:00:01", "test")
    numbered = store.commit_run(record, bill, accepted,
                                [InputRecord("test.xlsx", "test.xlsx", "0" * 64, "accepted")],
                                problems, settings, {"name": "Seller"}, {"locale": "en_US"},
                                {"test.xlsx": "0" * 64})
    return Month(numbered, bill, problems)


# ----------------------------------------------------------------------------------------------
# real files


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]],
               formats: dict[tuple[str, str], str] | None = None) -> Path:
    """A workbook with the given sheets (rows of values); ``formats`` maps (sheet, cell) to a
    number format such as ``0%``."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    for (sheet, cell), fmt in (formats or {}).items():
        book[sheet][cell].number_format = fmt
    book.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]], delimiter: str = ",",
              encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


TWO_SHEET_PROJECT_HEADER = ["Project ID", "Client", "Currency", "Retainage %", "Tax %"]
TWO_SHEET_LINE_HEADER = ["Project ID", "Line", "Description", "Scheduled Value", "% Complete",
                         "Materials Stored"]


def simple_workbook(path: Path, lines: list[list[Any]], project: list[Any] | None = None,
                    project_header: list[str] | None = None,
                    line_header: list[str] | None = None) -> Path:
    """A two-sheet workbook with one project (P-1, USD, 10% retainage, no tax by default)."""
    return write_xlsx(path, {
        "Projects": [project_header or TWO_SHEET_PROJECT_HEADER,
                     project or ["P-1", "Acme Corp", "USD", 10, 0]],
        "Milestones": [line_header or TWO_SHEET_LINE_HEADER, *lines],
    })


def today() -> date:
    return date(2026, 11, 28)


# ----------------------------------------------------------------------------------------------
# OpenDocument spreadsheets, written by hand so a test controls every attribute

_ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    "<office:body><office:spreadsheet>"
)


def _ods_cell(value: Any) -> str:
    from xml.sax.saxutils import escape, quoteattr

    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, Pct):
        return (f'<table:table-cell office:value-type="percentage" office:value="{value.fraction}">'
                f"<text:p>{float(value.fraction) * 100:g}%</text:p></table:table-cell>")
    if isinstance(value, date):
        return (f'<table:table-cell office:value-type="date" office:date-value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>")
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (f'<table:table-cell office:value-type="float" office:value={quoteattr(str(value))}>'
                f"<text:p>{value}</text:p></table:table-cell>")
    return (f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p>'
            "</table:table-cell>")


@dataclass(frozen=True)
class Pct:
    """A cell the spreadsheet formats as a percentage (it holds the fraction)."""

    fraction: str


def write_ods(path: Path, sheets: dict[str, list[list[Any]]],
              hidden_rows: dict[str, set[int]] | None = None) -> Path:
    import zipfile
    from xml.sax.saxutils import quoteattr

    body = [_ODS_HEAD]
    for name, rows in sheets.items():
        body.append(f"<table:table table:name={quoteattr(name)}>")
        for r, row in enumerate(rows):
            hidden = r in (hidden_rows or {}).get(name, set())
            body.append('<table:table-row table:visibility="collapse">' if hidden
                        else "<table:table-row>")
            body.extend(_ods_cell(v) for v in row)
            body.append("</table:table-row>")
        body.append("</table:table>")
    body.append("</office:spreadsheet></office:body></office:document-content>")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"),
                         "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", "".join(body), zipfile.ZIP_DEFLATED)
    return path


def write_xls(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    import xlwt

    book = xlwt.Workbook()
    pct = xlwt.easyxf(num_format_str="0%")
    day = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for name, rows in sheets.items():
        ws = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, Pct):
                    ws.write(r, c, float(value.fraction), pct)
                elif isinstance(value, date):
                    ws.write(r, c, value, day)
                else:
                    ws.write(r, c, value)
    book.save(str(path))
    return path


# Real public workbooks, read by path from ../shared/realworld (never copied here); a test that
# reads them skips, with the reason, where the folder is absent.
REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld"


def needs_realworld(test: Any) -> Any:
    import pytest

    return pytest.mark.skipif(not REALWORLD.is_dir(),
                              reason="../shared/realworld (real public workbooks) absent")(test)


def run_cli(*args: str) -> tuple[int, str]:
    """A progbill command as a user runs it: its exit code and output (never a traceback)."""
    from click.testing import CliRunner

    from progbill.cli import cli

    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output
