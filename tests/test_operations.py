"""Month-end operations a finance team can trust: re-runs, corrections, crashes, two runs at
once, a ledger open in Excel, rebuilds, drafts, the drop-folder service and the audit trail."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from helpers import simple_workbook
from pypdf import PdfReader

from progbill.cli import cli
from progbill.store import Store
from progbill.workspace import TEMP_PREFIX


def progbill(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def run_process(ws: Path, *args: str, fault: str | None = None,
                **popen: object) -> subprocess.CompletedProcess | subprocess.Popen:
    env = {**os.environ, "PROGBILL_FAULT": fault or ""}
    command = [sys.executable, "-m", "progbill", *args, "-w", str(ws)]
    if popen.pop("background", False):
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def workspace_with_inbox(tmp_path: Path, projects: int = 2) -> Path:
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    (ws / "inbox" / "example-progress.xlsx").unlink()
    for k in range(1, projects + 1):
        simple_workbook(ws / "inbox" / f"project-{k}.xlsx",
                        [[f"P-{k}", "1", "Foundations", 10000 * k, 40, 500],
                         [f"P-{k}", "2", "Framing", 5000, 10, 0]],
                        project=[f"P-{k}", f"Client {k}", "USD", 10, 0])
    return ws


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_consistent(ws: Path, documents: int, inputs: int) -> None:
    """Every document exactly once, numbers 1..n, a valid PDF each, no temporary file, no input
    lost, a readable ledger."""
    with Store(ws / "progbill.db") as store:
        docs = store.documents()
    assert sorted(docs["number"]) == [f"INV-2026-{n:05d}" for n in range(1, documents + 1)]
    assert docs["project_id"].is_unique
    for doc in docs.itertuples(index=False):
        pdf = ws / doc.pdf_path
        assert sha256(pdf) == doc.pdf_sha256
        assert doc.number in PdfReader(pdf).pages[0].extract_text()
    assert not [p for p in ws.rglob(f"{TEMP_PREFIX}*")]
    assert [p.name for p in (ws / "inbox").iterdir()] == []
    assert len(list((ws / "archive" / "2026-11").iterdir())) == inputs
    invoices = openpyxl.load_workbook(ws / "ledger.xlsx")["Invoices"]
    assert sorted(r[0] for r in invoices.iter_rows(min_row=2, values_only=True)
                  if r[0] and r[0] != "Total") == sorted(docs["number"])


# ---------------------------------------------------------------------------------------------
# idempotence and immutability


def test_changed_inputs_for_an_issued_period_issue_a_supplementary_document(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 40, 0]])
    progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    first = Store(ws / "progbill.db").document("INV-2026-00001")
    pdf_before = sha256(ws / "invoices" / "2026-11" / "INV-2026-00001.pdf")
    simple_workbook(book, [["P-1", "1", "Work", 1000, 55, 0]])  # a correction, same month
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 0 and "INV-2026-00002" in out
    with Store(ws / "progbill.db") as store:
        assert store.document("INV-2026-00001") == first
        assert store.document("INV-2026-00002")["completed_this_period"] == 15000
    assert sha256(ws / "invoices" / "2026-11" / "INV-2026-00001.pdf") == pdf_before
    simple_workbook(book, [["P-1", "1", "Work", 1000, 50, 0]])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert "CN-2026-00001" in out
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert "No documents issued" in out


def test_the_store_refuses_to_edit_or_delete_an_issued_document(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 40, 0]])
    progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    db = sqlite3.connect(ws / "progbill.db")
    for sql in ("UPDATE documents SET amount_due = 1",
                "UPDATE documents SET number = 'INV-2026-00009'",
                "DELETE FROM documents",
                "UPDATE document_lines SET billed = 0",
                "DELETE FROM document_lines"):
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(sql)
    db.execute("UPDATE documents SET pdf_path = pdf_path")  # recording a PDF is allowed


# ---------------------------------------------------------------------------------------------
# crash safety: SIGKILL a real run at every point, then run again

KILL_POINTS = ["commit:before", "commit:after", "atomic:before-rename#1", "pdf:written#1",
               "pdf:written#2", "ledger:before", "atomic:before-rename#3", "move:after#1",
               "report:before"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_at_any_point_recovers_on_the_next_run(tmp_path, point):
    ws = workspace_with_inbox(tmp_path)
    killed = run_process(ws, "run", "--period", "2026-11", fault=f"kill@{point}")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    if point == "commit:before":
        assert Store(ws / "progbill.db").documents().empty  # the transaction rolled back
    again = run_process(ws, "run", "--period", "2026-11")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Traceback" not in again.stdout + again.stderr
    assert_consistent(ws, documents=2, inputs=2)


@pytest.mark.parametrize("delay", [0.4, 1.2, 2.5])
def test_a_run_killed_at_a_random_moment_recovers(tmp_path, delay):
    ws = workspace_with_inbox(tmp_path, projects=3)
    process = run_process(ws, "run", "--period", "2026-11", background=True)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    again = run_process(ws, "run", "--period", "2026-11")
    assert again.returncode == 0, again.stdout + again.stderr
    assert_consistent(ws, documents=3, inputs=3)


# ---------------------------------------------------------------------------------------------
# one run at a time


def test_a_second_run_waits_or_stops_with_a_clear_message(tmp_path):
    ws = workspace_with_inbox(tmp_path)
    first = run_process(ws, "run", "--period", "2026-11", fault="sleep=6@commit:after",
                        background=True)
    # the first run has committed and now sleeps holding the lock
    assert _wait_for(lambda: not Store(ws / "progbill.db").documents().empty)
    impatient = run_process(ws, "run", "--period", "2026-11", "--wait", "0")
    assert impatient.returncode == 2
    assert "another progbill run is working" in impatient.stderr
    patient = run_process(ws, "run", "--period", "2026-11", "--wait", "60", background=True)
    assert first.wait(timeout=60) == 0
    out, _ = patient.communicate(timeout=60)
    assert patient.returncode == 0, out
    assert_consistent(ws, documents=2, inputs=2)


# ---------------------------------------------------------------------------------------------
# the ledger open in Excel, backups, rebuilds


def test_a_ledger_open_in_excel_is_left_alone(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 40, 0]])
    progbill("run", str(book), "--period", "2026-10", "-w", str(ws))
    before = sha256(ws / "ledger.xlsx")
    (ws / "~$ledger.xlsx").write_bytes(b"owner")
    simple_workbook(book, [["P-1", "1", "Work", 1000, 60, 0]])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 0
    assert "ledger.xlsx is open in Excel" in out
    assert sha256(ws / "ledger.xlsx") == before
    updated = list(ws.glob("ledger (updated *).xlsx"))
    assert len(updated) == 1 and updated[0].name in out
    rows = list(openpyxl.load_workbook(updated[0])["Invoices"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:3]] == ["INV-2026-00001", "INV-2026-00002"]


def test_earlier_ledgers_are_kept_as_backups(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    (ws / "progbill.toml").write_text((ws / "progbill.toml").read_text().replace(
        "ledger_backups = 5", "ledger_backups = 2").replace(
        "store_backups = 5", "store_backups = 3"))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 10, 0]])
    for n in range(4):
        simple_workbook(book, [["P-1", "1", "Work", 1000, 10 + 10 * n, 0]])
        progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
        time.sleep(1.05)  # backups are named by the second
    backups = sorted((ws / "backups").glob("ledger *.xlsx"))
    assert len(backups) == 2
    last = openpyxl.load_workbook(backups[-1])["Invoices"]
    assert last["A4"].value == "INV-2026-00003"  # the ledger as it was before the 4th run
    stores = sorted((ws / "backups").glob("progbill *.db"))
    assert len(stores) == 3  # a copy of the store after each run, the newest kept
    with Store(stores[-1]) as copy:
        assert list(copy.documents()["number"]) == [f"INV-2026-0000{n}" for n in (1, 2, 3, 4)]
        assert copy.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_rebuild_renders_missing_pdfs_byte_identical_and_the_ledger(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 40, 0]])
    progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    pdf = ws / "invoices" / "2026-11" / "INV-2026-00001.pdf"
    original = pdf.read_bytes()
    pdf.unlink()
    (ws / "ledger.xlsx").unlink()
    code, out = progbill("ledger", "-w", str(ws))
    assert code == 0 and "INV-2026-00001" in out
    assert pdf.read_bytes() == original
    assert (ws / "ledger.xlsx").is_file()


# ---------------------------------------------------------------------------------------------
# drafts


def test_each_draft_run_replaces_the_previous_drafts(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    a = simple_workbook(tmp_path / "a.xlsx", [["P-1", "1", "Work", 1000, 40, 0]])
    b = simple_workbook(tmp_path / "b.xlsx", [["P-2", "1", "Work", 1000, 40, 0]],
                        project=["P-2", "Beta", "USD", 0, 0])
    progbill("run", str(a), str(b), "--period", "2026-11", "-w", str(ws), "--draft")
    assert sorted(p.name for p in (ws / "drafts" / "2026-11").iterdir()) == [
        "DRAFT-1.pdf", "DRAFT-2.pdf"]
    progbill("run", str(b), "--period", "2026-11", "-w", str(ws), "--draft")
    drafts = sorted((ws / "drafts" / "2026-11").iterdir())
    assert [p.name for p in drafts] == ["DRAFT-1.pdf"]
    assert "P-2" in PdfReader(drafts[0]).pages[0].extract_text()
    assert Store(ws / "progbill.db").documents().empty


# ---------------------------------------------------------------------------------------------
# the drop-folder service


def _wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_watch_bills_dropped_files_and_survives_bad_ones(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    (ws / "inbox" / "example-progress.xlsx").unlink()
    service = run_process(ws, "watch", "--period", "2026-11", "--settle", "0.3",
                          background=True)
    try:
        good = simple_workbook(tmp_path / "good.xlsx", [["P-1", "1", "Work", 1000, 40, 0]])
        shutil.copy(good, ws / "inbox" / "good.xlsx")
        assert _wait_for(lambda: (ws / "invoices" / "2026-11" / "INV-2026-00001.pdf").exists()
                         and not (ws / "inbox" / "good.xlsx").exists())
        (ws / "inbox" / "broken.xlsx").write_text("not a workbook")
        assert _wait_for(lambda: any(p.name.endswith(".errors.txt")
                                     for p in (ws / "failed").iterdir()))
        shutil.copy(simple_workbook(tmp_path / "next.xlsx", [["P-2", "1", "Work", 500, 100, 0]],
                                    project=["P-2", "Beta", "USD", 0, 0]),
                    ws / "inbox" / "next.xlsx")
        assert _wait_for(lambda: (ws / "invoices" / "2026-11" / "INV-2026-00002.pdf").exists())
    finally:
        service.send_signal(signal.SIGTERM)
        output, _ = service.communicate(timeout=30)
    assert service.returncode == 0, output
    log = (ws / "runs" / "watch.log").read_text()
    assert "watching" in log and "rejected broken.xlsx" in log and "stopped" in log
    assert "Traceback" not in output


def test_watch_period_rules():
    from datetime import date

    from progbill.billing.periods import Period
    from progbill.watch import period_for

    assert period_for("previous-month", date(2026, 1, 3)) == Period(2025, 12)
    assert period_for("current-month", date(2026, 1, 3)) == Period(2026, 1)
    assert period_for("2026-11", date(2027, 5, 1)) == Period(2026, 11)


# ---------------------------------------------------------------------------------------------
# audit


def test_show_traces_a_document_to_its_workbook_and_pdf(tmp_path):
    ws = workspace_with_inbox(tmp_path, projects=1)
    inbox_file = ws / "inbox" / "project-1.xlsx"
    source_hash = sha256(inbox_file)
    progbill("run", "--period", "2026-11", "-w", str(ws))
    code, out = progbill("show", "INV-2026-00001", "-w", str(ws))
    assert code == 0
    pdf_hash = sha256(ws / "invoices" / "2026-11" / "INV-2026-00001.pdf")
    assert f"sha256 {source_hash}" in out
    assert f"sha256 {pdf_hash} (matches the file on disk)" in out
    assert "archived as archive/2026-11/project-1." in out
    assert "Foundations" in out
    code, out = progbill("show", "INV-2026-00099", "-w", str(ws))
    assert code == 2 and "no document INV-2026-00099" in out


# ---------------------------------------------------------------------------------------------
# issue 9 §1: issued documents are never lost or overwritten


def _one_run(tmp_path: Path) -> tuple[Path, Path]:
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 40, 0]])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 0, out
    return ws, book


def _lose_store(ws: Path, how: str) -> None:
    for suffix in ("-wal", "-shm"):
        (ws / f"progbill.db{suffix}").unlink(missing_ok=True)
    if how == "truncated":
        (ws / "progbill.db").write_bytes(b"")
    else:
        (ws / "progbill.db").unlink()


@pytest.mark.parametrize("how", ["truncated", "missing"])
def test_a_lost_store_never_restarts_numbering_over_issued_documents(tmp_path, how):
    ws, _ = _one_run(tmp_path)
    pdf = ws / "invoices" / "2026-11" / "INV-2026-00001.pdf"
    issued = sha256(pdf)
    _lose_store(ws, how)
    other = simple_workbook(tmp_path / "q.xlsx", [["P-9", "1", "Other", 5000, 50, 0]],
                            project=["P-9", "Another Client", "USD", 0, 0])
    code, out = progbill("run", str(other), "--period", "2026-11", "-w", str(ws))
    assert code == 2
    assert f"progbill.db is {'empty' if how == 'truncated' else 'missing'}" in out
    assert "invoices/2026-11/INV-2026-00001.pdf" in out and "progbill restore" in out
    assert sha256(pdf) == issued
    # the copy made after the first run puts everything back; numbering goes on
    code, out = progbill("restore", "-w", str(ws))
    assert code == 0 and "1 document, last INV-2026-00001" in out
    name = next((ws / "backups").glob("progbill *.db")).name
    code, out = progbill("restore", name, "-w", str(ws))
    assert code == 0 and f"Restored progbill.db from backups/{name}" in out
    code, out = progbill("run", str(other), "--period", "2026-11", "-w", str(ws))
    assert code == 0 and "INV-2026-00002" in out
    assert sha256(pdf) == issued


def test_a_store_restored_from_an_older_copy_is_refused_until_it_knows_every_pdf(tmp_path):
    ws, book = _one_run(tmp_path)
    time.sleep(1.05)
    older = next((ws / "backups").glob("progbill *.db")).name
    simple_workbook(book, [["P-1", "1", "Work", 1000, 60, 0]])
    assert progbill("run", str(book), "--period", "2026-11", "-w", str(ws))[0] == 0
    progbill("restore", older, "-w", str(ws))  # knows INV-2026-00001 only
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 2 and "does not know every document" in out
    assert "INV-2026-00002.pdf" in out


def test_an_issued_pdf_is_never_replaced_by_different_bytes(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 40, 0]])
    progbill("run", str(book), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    squatter = ws / "invoices" / "2026-11" / "INV-2026-00001.pdf"
    squatter.parent.mkdir(parents=True, exist_ok=True)
    squatter.write_bytes(b"%PDF-1.4 someone else's document")
    code, out = progbill("ledger", "-w", str(ws))
    assert code == 3
    assert "invoices/2026-11/INV-2026-00001.pdf: a different file is already there" in out
    assert squatter.read_bytes() == b"%PDF-1.4 someone else's document"
    squatter.unlink()
    code, out = progbill("ledger", "-w", str(ws))
    assert code == 0 and "INV-2026-00001" in out


def test_number_templates_that_can_collide_are_refused_at_load(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    config = ws / "progbill.toml"
    config.write_text(config.read_text().replace(
        'invoice_number = "INV-{fy}-{seq:05d}"', 'invoice_number = "{fy}/{seq:04d}"').replace(
        'credit_note_number = "CN-{fy}-{seq:05d}"', 'credit_note_number = "{fy}-{seq:04d}"'))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 40, 0]])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 2
    assert "billing.credit_note_number" in out and "can produce the same number" in out
    assert not (ws / "invoices" / "2026-11").exists() or not any(
        (ws / "invoices" / "2026-11").iterdir())


# ---------------------------------------------------------------------------------------------
# issue 9 §2: a failure after the commit tells the truth, and the next run completes it


@pytest.mark.parametrize("point, pending", [
    ("atomic:before-rename#1", "2 PDFs"),  # the first PDF: a full disk
    ("ledger:before", "ledger.xlsx"),
    ("backup:before", "backups/"),
    ("move:before", "inbox/project-1.xlsx"),
    ("report:before", "runs/"),
])
def test_a_failure_after_the_commit_reports_what_was_issued_and_the_next_run_finishes(
        tmp_path, point, pending):
    ws = workspace_with_inbox(tmp_path)
    failed = run_process(ws, "run", "--period", "2026-11", fault=f"full@{point}")
    out = failed.stdout + failed.stderr
    assert failed.returncode == 3, out
    assert "Traceback" not in out and "Nothing was lost" not in out
    assert "ISSUED, NOT COMPLETE" in out and "INV-2026-00001, INV-2026-00002" in out
    assert f"PENDING  {pending}" in out and "the disk is full" in out
    if point not in ("report:before", "atomic:before-rename#1"):  # a full disk writes nothing
        [saved] = [json.loads(p.read_text()) for p in (ws / "runs").glob("*.json")]
        assert [d["number"] for d in saved["documents"]] == ["INV-2026-00001", "INV-2026-00002"]
        assert saved["pending"] and saved["exit_code"] == 3
    again = run_process(ws, "run", "--period", "2026-11")
    assert again.returncode == 0, again.stdout + again.stderr
    assert_consistent(ws, documents=2, inputs=2)


def test_a_ledger_that_is_a_folder_leaves_the_ledger_pending(tmp_path):
    ws = workspace_with_inbox(tmp_path, projects=1)
    (ws / "ledger.xlsx").mkdir()
    code, out = progbill("run", "--period", "2026-11", "-w", str(ws))
    assert code == 3
    assert "PENDING  ledger.xlsx: ledger.xlsx is a folder" in out and "INV-2026-00001" in out
    (ws / "ledger.xlsx").rmdir()
    code, out = progbill("ledger", "-w", str(ws))
    assert code == 0 and (ws / "ledger.xlsx").is_file()


def test_an_inbox_file_that_cannot_be_moved_stays_and_is_never_copied(tmp_path, monkeypatch):
    import errno

    import progbill.publish as publish

    ws = workspace_with_inbox(tmp_path, projects=1)
    real_rename = os.rename

    def read_only_inbox(src, dst):
        if Path(src).parent.name == "inbox":
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        return real_rename(src, dst)

    monkeypatch.setattr(publish.os, "rename", read_only_inbox)
    code, out = progbill("run", "--period", "2026-11", "-w", str(ws))
    assert code == 3 and "PENDING  inbox/project-1.xlsx: not moved to archive/2026-11/" in out
    assert (ws / "inbox" / "project-1.xlsx").is_file()
    assert not list((ws / "archive").rglob("*.xlsx"))
    monkeypatch.setattr(publish.os, "rename", real_rename)
    code, out = progbill("run", "--period", "2026-11", "-w", str(ws))
    assert code == 0 and "No documents issued" in out
    assert not list((ws / "inbox").iterdir())


def test_long_inbox_names_are_shortened_safely_for_archive_and_errors(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    (ws / "inbox" / "example-progress.xlsx").unlink()
    stem = "é" * 118  # 236 bytes in UTF-8: no room left for a timestamp and .errors.txt
    good = simple_workbook(ws / "inbox" / f"{stem}-good.xlsx",
                           [["P-1", "1", "Work", 1000, 40, 0]])
    billed = sha256(good)
    bad = ws / "inbox" / f"{stem}-bad.xlsx"
    bad.write_text("not a workbook")
    code, out = progbill("run", "--period", "2026-11", "-w", str(ws))
    assert code == 1, out
    assert not list((ws / "inbox").iterdir())
    [archived] = (ws / "archive" / "2026-11").iterdir()
    assert sha256(archived) == billed and len(archived.name.encode()) <= 255
    failed = sorted(p.name for p in (ws / "failed").iterdir())
    assert len(failed) == 2 and failed[1] == failed[0] + ".errors.txt"
    assert all(len(name.encode()) <= 255 for name in failed)
