"""Hostile input: injections stay inert text, resources are never fetched, and no mutation of a
real file makes the reader or the run crash."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from helpers import write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from progbill.cli import cli
from progbill.config import Config
from progbill.pipeline import validate
from progbill.readers import read_workbook

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
