"""End to end through the command line, on real workbook files: the month-end as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from helpers import TWO_SHEET_LINE_HEADER, TWO_SHEET_PROJECT_HEADER, simple_workbook, write_xlsx
from pypdf import PdfReader

from progbill.cli import cli
from progbill.ledger import (
    EXCEPTION_HEADERS,
    INVOICE_HEADERS,
    LINE_HEADERS,
    PROJECT_HEADERS,
    RUN_HEADERS,
)
from progbill.store import Store

SAMPLES = Path(__file__).resolve().parent.parent / "sample_workbooks"


def progbill(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def rows(ws) -> list[dict[str, object]]:
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, row, strict=True)) for row in values[1:]
            if row[0] not in (None, "Total") and not str(row[0]).startswith("Total")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("demo") / "demo"
    assert progbill("init", str(ws))[0] == 0
    for month in ("2026-10", "2026-11"):
        code, out = progbill("run", str(SAMPLES / month), "--period", month, "-w", str(ws),
                             "--config", str(SAMPLES / "settings" / "demo.toml"))
        assert code == 0, out
    return ws


def test_two_sample_months_issue_documents_and_a_ledger(demo):
    book = openpyxl.load_workbook(demo / "ledger.xlsx")
    assert book.sheetnames == ["Invoices", "Lines", "Projects", "Exceptions", "Runs",
                               "Payments", "AR Ageing", "Tax Summary"]
    for name, headers in (("Invoices", INVOICE_HEADERS), ("Lines", LINE_HEADERS),
                          ("Projects", PROJECT_HEADERS), ("Exceptions", EXCEPTION_HEADERS),
                          ("Runs", RUN_HEADERS)):
        assert tuple(c.value for c in book[name][1]) == headers
        assert book[name].freeze_panes == "A2"
        assert len(book[name].tables) == 1
    invoices = rows(book["Invoices"])
    assert [r["Document No"] for r in invoices] == [f"INV-2026-{n:05d}" for n in range(1, 13)]
    first = invoices[0]
    assert (first["Project ID"], first["Currency"], first["Amount Due"]) == ("HB-2041", "USD",
                                                                             341023.5)
    assert first["Completed This Period"] == 378915
    assert first["Retainage This Period"] == 37891.5
    northlight = next(r for r in invoices if r["Project ID"] == "NLS-031")
    assert (northlight["Completed This Period"], northlight["Tax"],
            northlight["Amount Due"]) == (14700, 2940, 17640)
    for r in invoices:
        pdf = demo / "invoices" / r["Period"] / f"{r['Document No']}.pdf"
        assert pdf.is_file()
        assert r["Document No"] in pdf_text(pdf)


def test_ledger_cells_have_real_types_and_formats(demo):
    book = openpyxl.load_workbook(demo / "ledger.xlsx")
    ws = book["Invoices"]
    assert ws["C2"].is_date and ws["C2"].number_format == "yyyy-mm-dd"
    assert ws["M2"].number_format == "#,##0.00;-#,##0.00"
    assert ws["O2"].hyperlink is not None
    assert ws["O2"].hyperlink.target.replace("\\", "/") == "invoices/2026-10/INV-2026-00001.pdf"
    lines = book["Lines"]
    assert lines["K2"].number_format == "0.00%"


def test_november_shows_amounts_from_previous(demo):
    lines = rows(openpyxl.load_workbook(demo / "ledger.xlsx")["Lines"])
    concrete = next(r for r in lines if r["Document No"] == "INV-2026-00007"
                    and r["Line ID"] == "03")
    # 164,800.00: 65% in October, 90% in November
    assert concrete["From Previous"] == 107120
    assert concrete["This Period"] == 41200
    assert concrete["Total To Date"] == 148320
    assert concrete["% Complete"] == pytest.approx(0.9)
    text = pdf_text(demo / "invoices" / "2026-11" / "INV-2026-00007.pdf")
    assert "107,120.00" in text and "From" in text and "previous" in text
    assert "179,910.00" in text  # amount due
    assert "CO-01" in text  # the approved change order


def test_running_november_again_issues_nothing(demo):
    before = len(Store(demo / "progbill.db").documents())
    code, out = progbill("run", str(SAMPLES / "2026-11"), "--period", "2026-11", "-w",
                         str(demo))
    assert code == 0
    assert "No documents issued" in out
    assert len(Store(demo / "progbill.db").documents()) == before


def test_lowered_progress_produces_a_credit_note(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = tmp_path / "progress.xlsx"
    simple_workbook(book, [["P-1", "1", "Foundations", 10000, 60, 0]])
    assert progbill("run", str(book), "--period", "2026-10", "-w", str(ws))[0] == 0
    simple_workbook(book, [["P-1", "1", "Foundations", 10000, 50, 0]])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 0 and "CN-2026-00001" in out
    invoices = rows(openpyxl.load_workbook(ws / "ledger.xlsx")["Invoices"])
    assert [(r["Type"], r["Amount Due"]) for r in invoices] == [("Invoice", 5400),
                                                                 ("Credit Note", -900)]
    # a credit note of 900.00 against an invoice of 5,400.00 credits part of it
    assert invoices[0]["Status"].startswith("Part credited")
    assert (invoices[0]["Balance"], invoices[1]["Status"], invoices[1]["Corrects"]) == (
        4500, "Credits INV-2026-00001", "INV-2026-00001")
    assert invoices[1]["Due Date"] is None  # a credit note falls due on nothing
    text = pdf_text(ws / "invoices" / "2026-11" / "CN-2026-00001.pdf")
    assert "CREDIT NOTE" in text.upper()
    assert "INV-2026-00001" in text
    assert "$900.00" in text and "-$900.00" not in text


def test_a_line_at_100_percent_is_billed_exactly_its_scheduled_value(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = tmp_path / "progress.xlsx"
    for month, pct in (("2026-07", "33.3333"), ("2026-08", "66.6667"), ("2026-09", "99.9999"),
                       ("2026-10", 100)):
        simple_workbook(book, [["P-1", "1", "Fee", "1000.01", pct, 0]],
                        project=["P-1", "Acme", "USD", 0, 0])
        assert progbill("run", str(book), "--period", month, "-w", str(ws))[0] == 0
    lines = rows(openpyxl.load_workbook(ws / "ledger.xlsx")["Lines"])
    # 33.3333% -> 333.34; 66.6667% -> 666.67; 99.9999% of 1,000.01 is already 1,000.01, so the
    # month at 100% has nothing left to bill and issues no document
    assert [r["Billed This Period"] for r in lines] == [333.34, 333.33, 333.34]
    assert round(sum(r["Billed This Period"] for r in lines), 2) == 1000.01


def test_a_bad_workbook_is_rejected_with_exit_1_and_the_rest_is_billed(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    (ws / "inbox" / "example-progress.xlsx").unlink()
    simple_workbook(ws / "inbox" / "good.xlsx", [["P-1", "1", "Work", 1000, 50, 0]])
    simple_workbook(ws / "inbox" / "bad.xlsx", [["P-2", "1", "Work", 1000, 150, 0]],
                    project=["P-2", "Beta", "USD", 0, 0])
    code, out = progbill("run", "--period", "2026-11", "-w", str(ws))
    assert code == 1
    assert "REJECTED  bad.xlsx" in out
    assert "bad.xlsx, Milestones!E2 (% Complete): percent 150 is above 100" in out
    assert [p.name[:5] for p in (ws / "archive" / "2026-11").iterdir()] == ["good."]
    failed = sorted(p.name for p in (ws / "failed").iterdir())
    assert failed[0].startswith("bad.") and failed[1].endswith(".errors.txt")
    assert "percent 150 is above 100" in (ws / "failed" / failed[1]).read_text()
    assert not list((ws / "inbox").iterdir())
    exceptions = rows(openpyxl.load_workbook(ws / "ledger.xlsx")["Exceptions"])
    assert exceptions[0]["File"] == "bad.xlsx"
    assert exceptions[0]["Column"] == "% Complete (E)"
    assert exceptions[0]["Row"] == 2


def test_draft_renders_but_stores_nothing_and_consumes_no_number(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 50, 0]])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws), "--draft")
    assert code == 0 and "DRAFT-1" in out
    assert "DRAFT" in pdf_text(ws / "drafts" / "2026-11" / "DRAFT-1.pdf")
    assert Store(ws / "progbill.db").documents().empty
    assert not (ws / "ledger.xlsx").exists()
    progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert list(Store(ws / "progbill.db").documents()["number"]) == ["INV-2026-00001"]


def test_no_pdf_issues_now_and_the_ledger_command_renders_later(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 50, 0]])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0 and "1 PDF pending" in out
    assert not (ws / "invoices" / "2026-11" / "INV-2026-00001.pdf").exists()
    invoices = rows(openpyxl.load_workbook(ws / "ledger.xlsx")["Invoices"])
    assert invoices[0]["Status"] == "PDF pending"
    code, out = progbill("ledger", "-w", str(ws))
    assert code == 0 and "INV-2026-00001" in out
    assert (ws / "invoices" / "2026-11" / "INV-2026-00001.pdf").is_file()


def test_json_report(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 50, 0]])
    _, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws), "--json")
    report = json.loads(out)
    assert report["exit_code"] == 0
    assert report["documents"][0]["amount_due"] == "450.00"
    assert report["totals"] == [{"type": "Invoice", "currency": "USD", "count": 1,
                                 "amount_due": "450.00", "amount_due_minor": 45000}]
    assert (ws / report["report"]).is_file()


@pytest.mark.parametrize("args, message", [
    (["run", "--period", "2026-11"], "not a progbill workspace"),
    (["run", "--period", "2026-13", "-w", "{ws}"], "is not a month"),
    (["run", "-w", "{ws}"], "Missing option '--period'"),
])
def test_usage_mistakes_exit_2_without_a_traceback(tmp_path, monkeypatch, args, message):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.chdir(empty)
    code, out = progbill(*[a.replace("{ws}", str(ws)) for a in args])
    assert code == 2
    assert message in out


def test_a_bad_setting_is_a_configuration_error_naming_the_key(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    config = ws / "progbill.toml"
    config.write_text(config.read_text().replace('tax_base = "gross"', 'tax_base = "net"'))
    code, out = progbill("run", "--period", "2026-11", "-w", str(ws))
    assert code == 2
    assert "billing.tax_base" in out
    config.write_text(config.read_text() + "\n[billing2]\nx = 1\n")
    assert "[billing2]" in progbill("run", "--period", "2026-11", "-w", str(ws))[1]


def test_every_command_has_help_with_an_example():
    for command in cli.commands:
        code, out = progbill(command, "--help")
        assert code == 0 and "Example:" in out


def test_version_and_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "progbill", "--version"], check=True,
                         capture_output=True, text=True).stdout
    assert out.startswith("progbill, version ")


def test_every_command_is_documented_in_the_readme():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in cli.commands:
        assert f"`progbill {name}" in readme, name


def test_the_runs_sheet_has_one_row_per_run(demo):
    runs = rows(openpyxl.load_workbook(demo / "ledger.xlsx")["Runs"])
    october = next(r for r in runs if r["Period"] == "2026-10")
    assert (october["Files OK"], october["Files Rejected"], october["Invoices"]) == (3, 0, 6)
    # three currencies: their totals side by side, never added up
    assert october["Amount Due"] == "GBP 24,120.00; INR 1,271,520.00; USD 373,531.00"
    assert len({r["Run"] for r in runs}) == len(runs)


def test_golden_ledger_cells(tmp_path):
    """The cells of the samples' ledger (the quick start's two months), as of a fixed date,
    against a reviewed dump (tests/golden-ledger/demo.txt). After an intended change:
    PROGBILL_UPDATE_GOLDEN=1 pytest tests/test_cli_e2e.py, then review the diff. Run ids and
    times are masked."""
    import os
    import re

    ws = tmp_path / "demo"
    assert progbill("init", str(ws))[0] == 0
    for month in ("2026-10", "2026-11"):
        code, out = progbill("run", str(SAMPLES / month), "--period", month, "-w", str(ws),
                             "--no-pdf", "--config", str(SAMPLES / "settings" / "demo.toml"))
        assert code == 0, out
    code, out = progbill("ledger", "-w", str(ws), "--as-of", "2026-12-31")
    assert code == 0, out
    book = openpyxl.load_workbook(ws / "ledger.xlsx")
    lines = []
    for sheet in book.worksheets:
        lines.append(f"== {sheet.title}")
        for row in sheet.iter_rows(values_only=True):
            if all(v is None for v in row):
                continue
            cells = [_golden_cell(v) for v in row]
            lines.append(" | ".join(cells))
    text = re.sub(r"\b\d{8}-\d{6}-[0-9a-f]{4}\b", "RUN", "\n".join(lines) + "\n")
    text = re.sub(r"2\d{3}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", "TIME", text)
    golden = Path(__file__).resolve().parent / "golden-ledger" / "demo.txt"
    if os.environ.get("PROGBILL_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def _golden_cell(value: object) -> str:
    from datetime import datetime

    if value is None:
        return ""
    if isinstance(value, float):
        return str(round(value, 6))
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date().isoformat()
    return str(value)


def test_pdfs_pending_counts_unrendered_and_lost_pdfs_but_not_voided_documents(tmp_path):
    """What a run reports as PDFs pending: documents never rendered, and recorded PDFs no
    longer on disk; a voided document is never rendered, so it is not pending."""
    from progbill.publish import missing_pdfs, pending_pdfs
    from progbill.store import Store
    from progbill.workspace import Workspace

    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = write_xlsx(tmp_path / "p.xlsx", {
        "Projects": [TWO_SHEET_PROJECT_HEADER,
                     *([f"P-{n}", "Acme Corp", "USD", 10, 0] for n in range(1, 6))],
        "Milestones": [TWO_SHEET_LINE_HEADER,
                       *([f"P-{n}", "1", "Work", 1000, 50, 0] for n in range(1, 6))]})
    code, _ = progbill("run", str(book), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0
    on_disk = ws / "invoices" / "2026-11" / "INV-2026-00001.pdf"
    on_disk.parent.mkdir(parents=True)
    on_disk.write_bytes(b"%PDF-1.7")
    with Store(ws / "progbill.db") as store:
        numbers = list(store.documents()["number"])
        assert len(numbers) == 5
        store.set_pdfs([(numbers[0], "invoices/2026-11/INV-2026-00001.pdf", "x"),
                        (numbers[1], "invoices/2026-11/INV-2026-00002.pdf", "y")])  # lost
        store.void(numbers[2], "damaged", "2026-11-30T00:00:00")
        pending, present = pending_pdfs(store, Workspace(ws))
        assert pending == len(missing_pdfs(store.pdf_index(), Workspace(ws)))
    assert pending == 3  # 00002 lost, 00004 and 00005 never rendered; 00003 voided
    assert present == {numbers[0]: "invoices/2026-11/INV-2026-00001.pdf"}
