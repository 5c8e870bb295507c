"""Hostile input: injections stay inert text, resources are never fetched, and no mutation of a
real file makes the reader or the run crash."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from helpers import run_cli, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from progbill.cli import cli
from progbill.config import Config
from progbill.pipeline import validate
from progbill.readers import read_workbook
from progbill.store import Store

FORMULA_TEXT = '=HYPERLINK("http://attacker.example/x","Pay here")'
CSV_INJECTION = "+cmd|' /C calc'!A0"
MARKUP = "<img src='file:///etc/passwd'> {{ 7*7 }} {% raw %} <style>*{display:none}</style>"


def test_injections_stay_literal_text_in_the_ledger_and_the_pdf(tmp_path):
    ws = tmp_path / "ws"
    runner = CliRunner()
    runner.invoke(cli, ["init", str(ws)])
    book = write_csv(tmp_path / "evil.csv", [
        ["project_id", "client", "milestone_id", "description", "scheduled_value",
         "percent_complete"],
        ["P-1", CSV_INJECTION, "@SUM(1+1)", FORMULA_TEXT, "1000", "50"],
        ["P-1", CSV_INJECTION, "2", MARKUP, "1000", "50"],
    ])
    result = runner.invoke(cli, ["run", str(book), "--period", "2026-11", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    ledger = openpyxl.load_workbook(ws / "ledger.xlsx")
    cells = [c for row in ledger["Lines"].iter_rows(min_row=2, max_row=3) for c in row]
    texts = {c.value for c in cells if c.data_type == "s"}
    assert {FORMULA_TEXT, MARKUP, "@SUM(1+1)"} <= texts
    assert all(c.data_type != "f" for c in cells)
    client = ledger["Invoices"]["H2"]
    assert (client.value, client.data_type) == (CSV_INJECTION, "s")
    text = "".join(p.extract_text() for p in PdfReader(ws / "invoices" / "2026-11" /
                                                       "INV-2026-00001.pdf").pages)
    flat = " ".join(text.split())
    assert "{{ 7*7 }}" in flat and "49" not in flat.replace("2026", "")
    assert "<img src='file:///etc/passwd'>" in flat
    assert "root:" not in flat


def test_the_url_fetcher_serves_only_the_template_folder_and_data_urls(tmp_path):
    from progbill.render.pdf import Renderer

    (tmp_path / "invoice.html").write_text("<p>x</p>")
    (tmp_path / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    secret = tmp_path.parent / "secret.txt"
    secret.write_text("top secret")
    fetcher = Renderer(tmp_path).fetcher
    assert fetcher.fetch((tmp_path / "logo.svg").as_uri()).read().startswith(b"<svg")
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for url in (secret.as_uri(), (tmp_path / ".." / secret.name).as_uri(),
                "file:///etc/passwd", "http://example.com/logo.png", "ftp://example.com/x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_a_symlink_out_of_the_template_folder_is_refused(tmp_path):
    from progbill.render.pdf import Renderer

    templates = tmp_path / "t"
    templates.mkdir()
    (templates / "invoice.html").write_text("<p>x</p>")
    outside = tmp_path / "outside.css"
    outside.write_text("body{}")
    (templates / "link.css").symlink_to(outside)
    with pytest.raises(ValueError):
        Renderer(templates).fetcher.fetch((templates / "link.css").as_uri())


# ---------------------------------------------------------------------------------------------
# fuzzing: the reader returns problems, never raises; the run never crashes


def _valid_xlsx() -> bytes:
    buffer = io.BytesIO()
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Projects"
    ws.append(["Project ID", "Client", "Currency", "Retainage %"])
    ws.append(["P-1", "Acme", "USD", 10])
    lines = book.create_sheet("Milestones")
    lines.append(["Project ID", "Line", "Description", "Scheduled Value", "% Complete"])
    for i in range(1, 6):
        lines.append(["P-1", str(i), f"Work {i}", 1000 * i, 10 * i])
    book.save(buffer)
    return buffer.getvalue()


VALID_XLSX = _valid_xlsx()
VALID_CSV = (
    b"title line\nproject_id,client,currency,milestone_id,description,scheduled_value,"
    b"percent_complete,status\nP-1,Acme,USD,1,Work,1000.00,10,in progress\n"
    b"P-1,Acme,USD,2,More,\"2,000.00\",,complete\n"
)
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[:cut] if cut else out)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
       st.one_of(st.none(), st.integers(1, len(VALID_XLSX))))
def test_mutated_xlsx_bytes_never_crash_the_reader(tmp_path, edits, cut):
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(_mutate(VALID_XLSX, edits, cut))
    read_workbook(path)  # must not raise


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
       st.one_of(st.none(), st.integers(1, len(VALID_CSV))))
def test_mutated_csv_bytes_never_crash_the_reader(tmp_path, edits, cut):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(_mutate(VALID_CSV, edits, cut))
    read_workbook(path)


def _mutated_parts(data: bytes, part: str, edits: list[tuple[int, int]]) -> bytes:
    """Mutate one XML part inside the archive, keeping the zip itself valid."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buffer, "w") as out:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == part:
                content = _mutate(content, edits, None)
            out.writestr(item, content)
    return buffer.getvalue()


@FUZZ
@given(st.sampled_from(["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
                        "xl/workbook.xml", "xl/styles.xml", "xl/_rels/workbook.xml.rels"]),
       st.lists(st.tuples(st.integers(0, 10**5), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_xml_inside_a_valid_zip_never_crashes_the_reader(tmp_path, part, edits):
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(_mutated_parts(VALID_XLSX, part, edits))
    read_workbook(path)


cell_values = st.one_of(
    st.none(), st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12),
    st.integers(-10**16, 10**16),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.sampled_from(["=1/0", "#REF!", "12,5", "1.234,56", "(5)", "100%", "complete", "NA",
                     "2026-02-30", "-", "1e308", "0.001"]),
)


@FUZZ
@given(st.lists(st.lists(cell_values, min_size=5, max_size=7), min_size=1, max_size=6))
def test_random_cells_never_crash_reading_or_billing(tmp_path, rows):
    header = ["project_id", "client", "milestone_id", "description", "scheduled_value",
              "percent_complete", "stored_materials"]
    csv_path = write_csv(tmp_path / "cells.csv", [header, *rows])
    book = openpyxl.Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append([v if not isinstance(v, float) or v == v else None for v in row])
    xlsx_path = tmp_path / "cells.xlsx"
    book.save(xlsx_path)
    report = validate([csv_path, xlsx_path], Config())  # reads and bills, must not raise
    assert len(report.files) == 2


def test_a_text_file_named_xlsx_and_an_empty_csv_are_clear_errors(tmp_path):
    (tmp_path / "a.xlsx").write_text("hello")
    (tmp_path / "b.csv").write_bytes(b"")
    (tmp_path / "c.xls").write_bytes(VALID_XLSX)
    messages = {f.name: f.problems[0].message for f in validate([tmp_path], Config()).files}
    assert "not a .xlsx workbook" in messages["a.xlsx"]
    assert "empty" in messages["b.csv"]
    assert "rename it to .xlsx" in messages["c.xls"]


def test_a_zip_with_too_many_parts_is_refused_without_inflating(tmp_path):
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(5_001):
            archive.writestr(f"x/{i}.xml", "")
    problems = read_workbook(path).problems
    assert [p.code for p in problems] == ["zip-bomb"]
    assert Path(path).stat().st_size < 2_000_000


# ---------------------------------------------------------------------------------------------
# issue 9 §3: no single file stops the run (sheet extent, absurd numbers)


def _rewrite_sheet(source: Path, target: Path, change) -> Path:
    """Copy an xlsx, changing the XML of its first sheet with ``change(bytes) -> bytes``."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            out.writestr(item, content)
    return target


def _flat_book(path: Path, far_cell: str | None = None) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Progress"
    ws.append(["Project ID", "Client", "Line", "Description", "Scheduled Value", "% Complete"])
    ws.append(["P-1", "Acme", "1", "Work", 1000, 50])
    if far_cell:
        ws[far_cell] = "stray"
    book.save(path)
    return path


def _validate_in_a_process(*paths: Path) -> subprocess.CompletedProcess:
    """In a child process: a reader that allocates without bound kills the child, not pytest."""
    return subprocess.run([sys.executable, "-m", "progbill", "validate", *map(str, paths),
                           "--json"], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("cell, where", [
    ("XFD1048576", "XFD1048576"),  # the far corner: calamine alone would ask for 512 GB
    ("C200001", "F200001"),  # one row past input.max_rows
    ("GS2", "GS2"),  # column 201, past input.max_columns
])
def test_a_cell_far_from_the_table_rejects_only_its_file(tmp_path, cell, where):
    far = _flat_book(tmp_path / "far.xlsx", cell)
    good = _flat_book(tmp_path / "good.xlsx")
    done = _validate_in_a_process(far, good)
    assert done.returncode == 1, done.stderr
    files = {f["name"]: f for f in json.loads(done.stdout)["files"]}
    assert files["good.xlsx"]["status"] == "accepted"
    [problem] = files["far.xlsx"]["problems"]
    assert problem["code"] == "sheet-too-large"
    assert problem["text"].startswith(f"far.xlsx, Progress!{where}: the sheet reaches")
    assert "Ctrl+End" in problem["message"]


def test_cells_without_references_are_counted_where_a_reader_places_them(tmp_path):
    """Cells may omit their reference: 250 unreferenced cells in one row reach column 250."""
    def strip_references(xml: bytes) -> bytes:
        cells = b"<c><v>1</v></c>" * 250
        return xml.replace(b"</sheetData>", b'<row r="3">' + cells + b"</row></sheetData>")

    path = _rewrite_sheet(_flat_book(tmp_path / "a.xlsx"), tmp_path / "wide.xlsx",
                          strip_references)
    [problem] = read_workbook(path).problems
    assert problem.code == "sheet-too-large" and "column 250" in problem.message


def test_a_declared_dimension_alone_does_not_reject_a_small_sheet(tmp_path):
    def declare_everything(xml: bytes) -> bytes:
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)

    path = _rewrite_sheet(_flat_book(tmp_path / "a.xlsx"), tmp_path / "declared.xlsx",
                          declare_everything)
    assert read_workbook(path).ok


def test_an_ods_with_a_million_repeated_rows_is_refused_quickly(tmp_path):
    from helpers import write_ods

    path = write_ods(tmp_path / "rep.ods", {"Progress": [
        ["Project ID", "Client", "Line", "Description", "Scheduled Value", "% Complete"],
        ["P-1", "Acme", "1", "Work", 1000, 50]]})
    with zipfile.ZipFile(path) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    parts["content.xml"] = parts["content.xml"].replace(
        b"</table:table>",
        b'<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
        b'office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'
        b"</table:table-row></table:table>")
    with zipfile.ZipFile(path, "w") as out:
        for name, content in parts.items():
            out.writestr(name, content)
    started = time.perf_counter()
    [problem] = read_workbook(path).problems
    assert problem.code == "sheet-too-large"
    assert time.perf_counter() - started < 5


def test_a_csv_with_too_many_rows_is_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("project_id,client,milestone_id,description,scheduled_value,"
                    "percent_complete\n" + "P-1,A,1,W,1,1\n" * 200_001)
    [problem] = read_workbook(path).problems
    assert problem.code == "sheet-too-large" and "row 200,001" in problem.message



def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    (ws / "inbox" / "example-progress.xlsx").unlink()
    return ws


HEADER = ["project_id", "client", "milestone_id", "description", "scheduled_value",
          "percent_complete"]


@pytest.mark.parametrize("cell, says", [
    ("1E-999999999", "too small to be an amount or a percent"),
    ("1E-99999", "too small to be an amount or a percent"),
    ("1234567890.123456789012345678901", "31 significant digits"),
    ("1E+308", "far too large"),
])
def test_absurd_numbers_are_errors_at_their_cell(tmp_path, cell, says):
    path = write_csv(tmp_path / "n.csv", [HEADER, ["P-1", "A", "1", "W", cell, "10"],
                                          ["P-1", "A", "2", "W", "100", cell]])
    started = time.perf_counter()
    problems = read_workbook(path).problems
    assert time.perf_counter() - started < 5
    assert [str(p.location) for p in problems] == ["n.csv, E2 (scheduled_value)",
                                                   "n.csv, F3 (percent_complete)"]
    assert all(says in p.message for p in problems)


def test_a_float_of_1e308_in_a_workbook_is_located(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["P-1", "A", "1", "W", 1e308, 10])
    book.save(tmp_path / "big.xlsx")
    [problem] = read_workbook(tmp_path / "big.xlsx").problems
    assert str(problem).startswith("big.xlsx, Sheet!E2 (scheduled_value): 1E+308 is far too large")


def test_negative_onboarding_balances_need_a_change_order(tmp_path):
    path = write_csv(tmp_path / "o.csv", [
        [*HEADER, "previously_billed", "previously_retained", "change_order"],
        ["P-1", "A", "1", "W", "1000", "50", "-100", "", ""],
        ["P-1", "A", "2", "W", "1000", "50", "100", "-10", ""],
        ["P-1", "A", "3", "W", "-500", "50", "-100", "", "CO-1"],
    ])
    problems = [p for p in validate([path], Config()).files[0].problems if p.is_error]
    assert [(p.code, str(p.location)) for p in problems] == [
        ("bad-amount", "o.csv, G2 (previously_billed)"),
        ("bad-amount", "o.csv, H3 (previously_retained)")]


def test_stored_materials_cannot_turn_a_deductive_change_order_into_a_charge(tmp_path):
    path = write_csv(tmp_path / "co.csv", [
        [*HEADER, "stored_materials", "change_order"],
        ["P-1", "A", "1", "W", "10000", "50", "0", ""],
        ["P-1", "A", "2", "Deduct", "-1000", "50", "800", "CO-1"],  # G = -500 + 800 = +300
    ])
    [problem] = [p for p in validate([path], Config()).files[0].problems if p.is_error]
    assert problem.code == "overbilled" and str(problem.location) == "co.csv, G3 (stored_materials)"
    assert "deductive change order" in problem.message


def test_totals_that_would_overflow_are_refused_at_the_line_that_passes_the_limit(tmp_path):
    rows = [HEADER] + [["P-1", "A", str(i), "W", "9999999999999.99", "100"] for i in range(12)]
    ws = _workspace(tmp_path)
    code, out = run_cli("run", str(write_csv(tmp_path / "huge.csv", rows)), "--period", "2026-11",
                     "-w", str(ws), "--no-pdf")
    assert code == 1
    assert ("huge.csv, E12 (scheduled_value): with line 10, project P-1's lines add up to more "
            "than 100,000,000,000,000.00 USD") in out
    [saved] = [json.loads(p.read_text()) for p in (ws / "runs").glob("*.json")]
    assert [p["code"] for p in saved["files"][0]["problems"]] == ["total-too-large"]
    assert "No documents issued" in out
    code, out = run_cli("ledger", "-w", str(ws))
    assert code == 0


def test_a_run_total_past_the_limit_refuses_the_workbook_that_passes_it(tmp_path):
    paths = []
    for k in range(11):  # each project just under a document's limit; the 11th passes the run's
        rows = [HEADER] + [[f"P-{k}", "A", str(i), "W", "9900000000000.00", "10"]
                           for i in range(10)]
        paths.append(write_csv(tmp_path / f"p{k:02d}.csv", rows))
    report = validate(paths, Config())
    rejected = [f.name for f in report.files if f.status == "rejected"]
    assert rejected == ["p10.csv"]
    assert "this run's USD total past" in report.files[-1].problems[0].message


def test_repair_voids_a_document_whose_totals_overflowed_and_bills_its_lines_again(
        tmp_path, monkeypatch):
    """A workspace as a version without limits left it: 9,300 lines at 100% overflowed the
    document's int64 sums into a negative credit note, and the ledger could not be built."""
    import progbill.billing.core as core

    ws = _workspace(tmp_path)
    rows = [HEADER] + [["P-1", "A", str(i), "W", "9999999999999.99", "100"] for i in range(9300)]
    huge = write_csv(tmp_path / "huge.csv", rows)
    monkeypatch.setattr(core, "MAX_DOCUMENT_MINOR", 10**40)
    monkeypatch.setattr(core, "MAX_RUN_MINOR", 10**40)
    run_cli("run", str(huge), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    monkeypatch.undo()
    with Store(ws / "progbill.db") as store:
        [doc] = store.documents().to_dict("records")
    assert doc["type"] == "Credit Note" and doc["amount_due"] < 0  # the overflow
    small = write_csv(tmp_path / "small.csv", [HEADER, ["P-2", "B", "1", "W", "100", "10"]])
    code, out = run_cli("run", str(small), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 3 and "PENDING  ledger.xlsx" in out  # SQLite's sums overflow too
    code, out = run_cli("repair", "-w", str(ws))
    assert code == 0 and "VOIDED   CN-2026-00001" in out
    code, out = run_cli("ledger", "-w", str(ws))
    assert code == 0, out
    invoices = openpyxl.load_workbook(ws / "ledger.xlsx")["Invoices"]
    assert invoices["A2"].value == "CN-2026-00001" and invoices["N2"].value.startswith("Void")
    assert invoices["M2"].value is None
    code, out = run_cli("run", str(huge), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 1 and "huge.csv, E12 (scheduled_value)" in out
    smaller = write_csv(tmp_path / "fixed.csv", [HEADER] + [
        ["P-1", "A", str(i), "W", "99.99", "100"] for i in range(9300)])
    code, out = run_cli("run", str(smaller), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0 and "INV-2026-00002" in out and "929,907.00" in out


def test_invisible_characters_in_ids_are_removed_and_alike_ids_are_one(tmp_path):
    path = write_csv(tmp_path / "ids.csv", [
        HEADER, ["P-1", "Acme", "1", "Work", "1000", "10"],
        ["P\u200b-1", "Acme", "1\u2060", "Work", "1000", "10"]])
    problems = validate([path], Config()).files[0].problems
    codes = [(p.code, str(p.location)) for p in problems]
    assert ("invisible-characters", "ids.csv, A3 (project_id)") in codes
    assert ("duplicate-line", "ids.csv, C3 (milestone_id)") in codes


def test_bidi_controls_never_reorder_printed_text(tmp_path):
    ws = _workspace(tmp_path)
    path = write_csv(tmp_path / "bidi.csv", [
        HEADER, ["P-1", "Client \u202e0001$ :DUE", "1", "Work \u202dX", "1000", "10"]])
    code, out = run_cli("run", str(path), "--period", "2026-11", "-w", str(ws))
    assert code == 0 and "invisible characters (U+202E RIGHT-TO-LEFT OVERRIDE)" in out
    text = "".join(p.extract_text() for p in PdfReader(
        ws / "invoices" / "2026-11" / "INV-2026-00001.pdf").pages)
    assert "Client 0001$ :DUE" in text and "\u202e" not in text


def test_unbroken_strings_wrap_inside_the_page(tmp_path):
    import pypdfium2

    ws = _workspace(tmp_path)
    path = write_csv(tmp_path / "long.csv", [
        [*HEADER, "po_number"],
        ["P-1", "C" * 120, "L" * 40, "D" * 300, "999999999999.99", "10", "P" * 60]])
    assert run_cli("run", str(path), "--period", "2026-11", "-w", str(ws))[0] == 0
    pdf = pypdfium2.PdfDocument(ws / "invoices" / "2026-11" / "INV-2026-00001.pdf")
    for page in pdf:
        width = page.get_width()
        text = page.get_textpage()
        for i in range(text.count_chars()):
            left, _, right, _ = text.get_charbox(i)
            assert left >= 0 and right <= width, (i, left, right, width)


def _book_with_hidden(path: Path, state: str, visible_too: bool) -> Path:
    book = openpyxl.Workbook()
    old = book.active
    old.title = "Old"
    old.append(["Project ID", "Client", "Line", "Description", "Scheduled Value", "% Complete"])
    old.append(["P-1", "A", "1", "W", 1000, 90])
    old.sheet_state = state
    other = book.create_sheet("Current" if visible_too else "Notes")
    if visible_too:
        other.append(next(old.iter_rows(values_only=True)))
        other.append(["P-1", "A", "1", "W", 1000, 10])
    book.active = 1
    book.save(path)
    return path


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_sheet_is_never_billed_instead_of_a_visible_one(tmp_path, state):
    both = read_workbook(_book_with_hidden(tmp_path / "both.xlsx", state, True))
    assert not both.ok
    assert [p.code for p in both.problems if p.is_error] == ["hidden-sheet"]
    alone = read_workbook(_book_with_hidden(tmp_path / "alone.xlsx", state, False))
    assert alone.ok and "hidden-sheet" in [p.code for p in alone.problems]


def test_inbox_links_and_files_outside_the_inbox_are_refused(tmp_path):
    ws = _workspace(tmp_path)
    outside = write_csv(tmp_path / "outside.csv", [HEADER, ["P-1", "A", "1", "W", "100", "10"]])
    (ws / "inbox" / "linked.csv").symlink_to(outside)
    code, out = run_cli("run", "--period", "2026-11", "-w", str(ws))
    assert code == 1 and "linked.csv: the file is a symbolic link" in out
    [saved] = [json.loads(p.read_text()) for p in (ws / "runs").glob("*.json")]
    assert saved["files"][0]["problems"][0]["code"] == "input-outside-inbox"
    assert outside.is_file() and "No documents issued" in out


def test_the_archive_holds_the_bytes_that_were_billed_even_if_the_file_changes(tmp_path):
    ws = _workspace(tmp_path)
    inbox = ws / "inbox" / "p.csv"
    write_csv(inbox, [HEADER, ["P-1", "A", "1", "W", "1000", "10"]])
    billed = inbox.read_bytes()
    env = {**os.environ, "PROGBILL_FAULT": "sleep=4@commit:after"}
    run = subprocess.Popen([sys.executable, "-m", "progbill", "run", "--period", "2026-11",
                            "-w", str(ws)], env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((ws / "runs").glob("*.json")) and not (
            ws / "progbill.db").exists():
        time.sleep(0.1)
    time.sleep(1.5)  # committed, sleeping: the file is replaced by a newer version
    write_csv(inbox, [HEADER, ["P-1", "A", "1", "W", "1000", "60"]])
    out, _ = run.communicate(timeout=120)
    assert run.returncode == 0, out
    [archived] = (ws / "archive" / "2026-11").iterdir()
    assert archived.read_bytes() == billed
    assert "60" in inbox.read_text()  # the new version waits for the next run
    code, out = run_cli("run", "--period", "2026-11", "-w", str(ws))
    assert code == 0 and "INV-2026-00002" in out


def test_a_logo_outside_the_workspace_or_too_many_pixels_is_left_off_with_a_warning(tmp_path):
    import struct
    import zlib

    ws = _workspace(tmp_path)
    config = ws / "progbill.toml"
    outside = tmp_path / "logo.png"
    outside.write_bytes(VALID_PNG)
    config.write_text(config.read_text().replace('logo = ""', f'logo = "{outside}"'))
    book = write_csv(tmp_path / "p.csv", [HEADER, ["P-1", "A", "1", "W", "1000", "10"]])
    code, out = run_cli("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 0 and "was left off the documents: it is outside the workspace" in out
    # a PNG whose header claims 6,000 x 5,000 pixels is refused from its header, undecoded
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 6_000, 5_000, 8, 2, 0, 0, 0)
    (ws / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                 + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    config.write_text(config.read_text().replace(f'logo = "{outside}"', 'logo = "big.png"'))
    write_csv(book, [HEADER, ["P-1", "A", "1", "W", "1000", "20"]])
    code, out = run_cli("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 0 and ("big.png was left off the documents: it is 6,000 x 5,000 pixels, "
                          "more than output.max_logo_pixels (20,000,000)") in out


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "navy").save(buffer, "PNG")
    return buffer.getvalue()


VALID_PNG = _png()


def test_control_sequences_in_names_and_cells_never_reach_the_terminal(tmp_path):
    ws = _workspace(tmp_path)
    name = "\x1b[2J\x1b[H\x1b]0;owned\x07OK   forged\x9b31m.csv"
    write_csv(ws / "inbox" / name, [HEADER, ["P-1", "\x1b[31mAcme", "1", "W", "oops", "10"]])
    for args in (("run", "--period", "2026-11", "-w", str(ws)),
                 ("validate", str(ws / "failed"), "--json")):
        _, out = run_cli(*args)
        assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out, out
    [errors] = (ws / "failed").glob("*.errors.txt")
    assert "\x1b" not in errors.read_text()
    [report] = (ws / "runs").glob("*.json")
    assert "\\u001b" not in report.read_text() and "\x1b" not in report.read_text()


def test_quiet_output_is_bounded(tmp_path):
    ws = _workspace(tmp_path)
    rows = [HEADER] + [["P-1", "A", str(i), "W", "x", "10"] for i in range(5_000)]
    write_csv(ws / "inbox" / "bad.csv", rows)
    result = CliRunner().invoke(cli, ["run", "--period", "2026-11", "-w", str(ws), "--quiet"])
    assert result.exit_code == 1
    assert len(result.output.splitlines()) <= 10
    assert "and 996 more" in result.output
    [errors] = (ws / "failed").glob("*.errors.txt")
    text = errors.read_text()
    assert len(text.splitlines()) < 1_010 and "4,000 more problems not listed" in text
    problems = read_workbook(write_csv(tmp_path / "again.csv", rows)).problems
    assert len(problems) == 1_001 and problems[-1].code == "more-problems"


def test_a_sheet_never_loses_rows_at_excels_limit(tmp_path, monkeypatch):
    import progbill.ledger as ledger

    monkeypatch.setattr(ledger, "MAX_SHEET_ROWS", 3)
    ws = _workspace(tmp_path)
    rows = [HEADER] + [["P-1", "A", str(i), "W", "100", "10"] for i in range(7)]
    code, out = run_cli("run", str(write_csv(tmp_path / "p.csv", rows)), "--period", "2026-11",
                     "-w", str(ws), "--no-pdf")
    assert code == 0 and "it continues on Lines (2), Lines (3)" in out
    book = openpyxl.load_workbook(ws / "ledger.xlsx")
    line_ids = [r[2] for name in ("Lines", "Lines (2)", "Lines (3)")
                for r in book[name].iter_rows(min_row=2, values_only=True) if r[0] != "Total"]
    assert line_ids == [str(i) for i in range(7)]


SCRIPTS = {
    "Devanagari": "सह्याद्री कन्सल्टेंट्स",
    "CJK": "北京市朝阳区建设路 東京都 カタカナ 서울특별시",
    "Arabic": "شركة البناء الحديثة",
    "Hebrew": "חברת בנייה בע״מ",
}


def test_every_script_a_client_may_use_prints_with_the_bundled_fonts(tmp_path):
    """Rendered where fontconfig knows no font at all: only the template's fonts can draw. The
    text layer (read with PDFium) gives back every script's text."""
    import pypdfium2

    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?><fontconfig><cachedir>{tmp_path}/fc</cachedir>'
                    "</fontconfig>")
    ws = tmp_path / "ws"
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    rows = [[f"P-{k}", text, str(k), text, "1000", "10", text]
            for k, text in enumerate(SCRIPTS.values())]
    book = write_csv(tmp_path / "s.csv", [[*HEADER, "client_address"], *rows])
    for args in (("init", str(ws)), ("run", str(book), "--period", "2026-11", "-w", str(ws))):
        done = subprocess.run([sys.executable, "-m", "progbill", *args], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "unprintable" not in done.stdout
    for k, (script, text) in enumerate(SCRIPTS.items()):
        path = ws / "invoices" / "2026-11" / f"INV-2026-0000{k + 1}.pdf"
        layer = pypdfium2.PdfDocument(path)[0].get_textpage().get_text_range()
        assert layer.count(text.split()[0]) >= 2, script  # the client block and the line
        fonts = PdfReader(path).pages[0]["/Resources"]["/Font"]
        assert any(f"progbill-{script}" in str(f.get_object()["/BaseFont"])
                   for f in fonts.values()), script


def test_characters_no_font_draws_are_a_warning_at_the_cell(tmp_path):
    path = write_csv(tmp_path / "u.csv", [HEADER, ["P-1", "ሰላም Ethiopia", "1", "Work 😀",
                                                   "1000", "10"]])
    problems = [(p.code, str(p.location)) for p in validate([path], Config()).files[0].problems]
    assert ("unprintable-characters", "u.csv, B2 (client)") in problems
    assert ("unprintable-characters", "u.csv, D2 (description)") in problems


def test_messages_for_a_damaged_store_and_impossible_periods(tmp_path):
    ws = _workspace(tmp_path)
    for period in ("0000-01", "9999-12"):
        code, out = run_cli("run", "--period", period, "-w", str(ws))
        assert code == 2 and "the year must be from 1900 to 9000" in out
        assert "unexpected" not in out
    (ws / "progbill.db").write_bytes(b"this is not a database, it was damaged" * 200)
    code, out = run_cli("run", "--period", "2026-11", "-w", str(ws))
    assert code == 2 and "progbill.db is damaged" in out and "progbill restore" in out
    assert "unexpected" not in out


def test_a_date_cell_holding_serial_zero_says_so(tmp_path):
    book = openpyxl.Workbook()
    book.active.append([*HEADER, "completed_on"])
    book.active.append(["P-1", "A", "1", "W", 1000, 100, 0])
    book.active["G2"].number_format = "dd/mm/yyyy"
    book.save(tmp_path / "d.xlsx")
    [problem] = read_workbook(tmp_path / "d.xlsx").problems
    assert "holds 0, which Excel shows as the non-date 00/01/1900" in problem.message


def test_watch_survives_a_far_corner_workbook(tmp_path):
    ws = _workspace(tmp_path)
    service = subprocess.Popen([sys.executable, "-m", "progbill", "watch", "--period", "2026-11",
                                "--settle", "0.3", "-w", str(ws)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        _flat_book(ws / "inbox" / "far.xlsx", "XFD1048576")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((ws / "failed").glob("*.errors.txt")):
            time.sleep(0.2)
        assert list((ws / "failed").glob("far.*.errors.txt"))
        _flat_book(ws / "inbox" / "good.xlsx")
        while time.monotonic() < deadline and not (
                ws / "invoices" / "2026-11" / "INV-2026-00001.pdf").exists():
            time.sleep(0.2)
        assert service.poll() is None  # still serving
        assert (ws / "invoices" / "2026-11" / "INV-2026-00001.pdf").exists()
    finally:
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=30)
    assert service.returncode == 0, output
    [errors] = (ws / "failed").glob("far.*.errors.txt")
    assert "far.xlsx, Progress!XFD1048576: the sheet reaches" in errors.read_text()


def test_a_read_only_workspace_gets_its_own_message(tmp_path, monkeypatch):
    import errno

    import filelock

    ws = _workspace(tmp_path)

    def refused(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(ws / ".progbill.lock"))

    monkeypatch.setattr(filelock.FileLock, "acquire", refused)
    code, out = run_cli("run", "--period", "2026-11", "-w", str(ws))
    assert code == 2 and "is read-only for progbill" in out and "unexpected" not in out


def test_fonts_are_read_only_until_every_printed_character_is_found(tmp_path, monkeypatch):
    """Checking the printed text against the fonts reads the smallest fonts first and stops
    once every character is drawn: Latin text never decodes the 5 MB CJK font (a third of a
    second on every run), text in a script only the CJK font draws still finds it, and a
    character no font draws is reported."""
    from progbill.render import coverage
    from progbill.render.pdf import bundled_templates

    fonts = bundled_templates() / "fonts"
    read: list[str] = []
    points = coverage.font_points
    monkeypatch.setattr(coverage, "font_points", lambda path: read.append(path.name)
                        or points(path))
    assert coverage.undrawable(fonts, set("Acme Ltd, 1 Main Street - phase 2")) == set()
    assert read and not any("CJK" in name for name in read), read
    assert coverage.undrawable(fonts, set("北京建设 Ltd")) == set()
    assert any("CJK" in name for name in read)
    assert coverage.undrawable(fonts, set("ሰላም 😀 x")) == {"ሰ", "ላ", "ም", "😀"}
    assert coverage.undrawable(tmp_path, set("x")) == set()  # no fonts folder: nothing to check
