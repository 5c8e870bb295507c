"""The ledger store: SQLite (WAL) in the workspace, the single source of truth.

Invariants:

* one run changes the store in one transaction (:meth:`Store.commit_run`); document numbers are
  read and assigned inside it, so a crash leaves no gap and no duplicate;
* issued documents and their lines are immutable: triggers refuse any UPDATE other than
  recording the PDF, and any DELETE;
* amounts are INTEGER minor units; percentages and rates are TEXT decimals.

Schema (see README "The ledger store"):

``runs``            one row per run that committed (drafts and validations store nothing)
``input_files``     every file a run read, with SHA-256, status and where it was archived
``documents``       issued invoices and credit notes with their G702 summary and a snapshot of
                    the seller and the project as printed
``document_lines``  the G703 lines of each document (every schedule line; ``on_document`` marks
                    the lines whose B or Rt is not zero)
``document_taxes``  tax per rate of each document
``line_state``      per line, the amounts as last invoiced (or the opening balance)
``openings``        onboarding balances (``previously_billed``/``previously_retained``)
``projects``        per project, the contract as last read and the currency it is billed in
``assets``          images printed on documents (the seller's logo), by SHA-256, so that a
                    document re-renders identically after the logo file changes
``exceptions``      every problem reported by a run
``voided``          documents ``progbill repair`` found damaged (totals that overflowed in a
                    version without limits): their numbers stay used, their lines are billed
                    again, the ledger shows them void
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from progbill.billing.core import Bill, LedgerState, number_documents
from progbill.billing.settings import BillingSettings
from progbill.columns import (
    AMOUNT_COLUMNS,
    EINVOICE_FIELDS,
    LINE_QUANTITIES,
    PROJECT_DETAILS,
    is_missing,
    row_dicts,
)
from progbill.faults import checkpoint
from progbill.problems import Problem, WorkspaceError

SCHEMA_VERSION = 8  # 2: voided documents (progbill repair); 3: project details, schedules;
# 4: payments; 5: e-invoice details of each document (einvoice_json); 6: indexes for the
# fiscal-year ledger and the ledger's payments; 7: documents indexed in issue order (every
# sheet and check that lists documents reads them in that order, without sorting them);
# 8: a project's documents indexed with the figures its totals sum (the Projects sheet reads
# the index, not every document)

_DOCUMENT_MONEY = (
    "completed_this_period", "retainage_this_period", "tax_base", "tax", "amount_due",
    "original_contract", "change_orders", "contract_to_date", "completed_stored_to_date",
    "work_to_date", "stored_to_date", "retainage_work", "retainage_stored", "retainage_to_date",
    "earned_less_retainage", "previous_certificates", "balance_to_finish_incl_retainage",
)
DOCUMENT_COLUMNS = (
    "number", "series", "fy", "seq", "type", "run_id", "period", "invoice_date", "due_date",
    "payment_terms_days", "project_id", "project_name", "client", "client_address",
    "client_email", "client_tax_id", "po_number", "place_of_supply", "tax_code", "currency",
    *_DOCUMENT_MONEY, "tax_rate", "tax_label", "reverse_charge", "corrects_number",
    "corrects_date",
    "source_file", "source_sha256", "seller_json", "render_json", "pdf_path", "pdf_sha256",
    "einvoice_json",
)
# A quantity x rate line's figures (LINE_QUANTITIES) are kept as exact decimal text ('' on
# other lines); schema 3 added them after the money columns.
LINE_COLUMNS = (
    "number", "position", "project_id", "line_id", "description", "change_order", "tax_code",
    "on_document", "percent_complete", "retainage_pct", "stored_retainage_pct", *AMOUNT_COLUMNS,
    *LINE_QUANTITIES,
)

# the order documents are issued in: every list of documents is read in it, through the
# index documents_order that holds it
ISSUE_ORDER = "invoice_date, run_id, series, fy, seq"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, period TEXT NOT NULL, started TEXT NOT NULL,
    finished TEXT NOT NULL, files_ok INTEGER NOT NULL, files_rejected INTEGER NOT NULL,
    invoices INTEGER NOT NULL, credit_notes INTEGER NOT NULL, version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS input_files (
    run_id TEXT NOT NULL REFERENCES runs(run_id), name TEXT NOT NULL, path TEXT NOT NULL,
    sha256 TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    archived_as TEXT
);
CREATE TABLE IF NOT EXISTS documents (
    number TEXT PRIMARY KEY, series TEXT NOT NULL, fy INTEGER NOT NULL, seq INTEGER NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('Invoice', 'Credit Note')),
    run_id TEXT NOT NULL REFERENCES runs(run_id), period TEXT NOT NULL,
    invoice_date TEXT NOT NULL, due_date TEXT NOT NULL, payment_terms_days INTEGER NOT NULL,
    project_id TEXT NOT NULL, project_name TEXT NOT NULL, client TEXT NOT NULL,
    client_address TEXT NOT NULL, client_email TEXT NOT NULL, client_tax_id TEXT NOT NULL,
    po_number TEXT NOT NULL, place_of_supply TEXT NOT NULL, tax_code TEXT NOT NULL,
    currency TEXT NOT NULL,
    {", ".join(f"{c} INTEGER NOT NULL" for c in _DOCUMENT_MONEY)},
    tax_rate TEXT NOT NULL, tax_label TEXT NOT NULL, reverse_charge INTEGER NOT NULL,
    corrects_number TEXT, corrects_date TEXT,
    source_file TEXT NOT NULL, source_sha256 TEXT NOT NULL,
    seller_json TEXT NOT NULL, render_json TEXT NOT NULL,
    pdf_path TEXT, pdf_sha256 TEXT,
    einvoice_json TEXT NOT NULL DEFAULT '',
    UNIQUE (series, fy, seq)
);
DROP INDEX IF EXISTS documents_project;
CREATE INDEX IF NOT EXISTS documents_project_totals ON documents(project_id, invoice_date, run_id,
    seq, number, period, completed_this_period, amount_due);
DROP INDEX IF EXISTS documents_fy;
CREATE INDEX IF NOT EXISTS documents_fy_order ON documents(fy, invoice_date, run_id, series, seq);
CREATE INDEX IF NOT EXISTS documents_order ON documents({ISSUE_ORDER});
CREATE TABLE IF NOT EXISTS document_lines (
    number TEXT NOT NULL REFERENCES documents(number), position INTEGER NOT NULL,
    project_id TEXT NOT NULL, line_id TEXT NOT NULL, description TEXT NOT NULL,
    change_order TEXT NOT NULL, tax_code TEXT NOT NULL, on_document INTEGER NOT NULL,
    percent_complete TEXT NOT NULL, retainage_pct TEXT NOT NULL,
    stored_retainage_pct TEXT NOT NULL,
    {", ".join(f"{c} INTEGER NOT NULL" for c in AMOUNT_COLUMNS)},
    {", ".join(f"{c} TEXT NOT NULL DEFAULT ''" for c in LINE_QUANTITIES)},
    PRIMARY KEY (number, position)
);
CREATE TABLE IF NOT EXISTS document_taxes (
    number TEXT NOT NULL REFERENCES documents(number), position INTEGER NOT NULL,
    label TEXT NOT NULL, rate TEXT NOT NULL, base INTEGER NOT NULL, amount INTEGER NOT NULL,
    PRIMARY KEY (number, position)
);
CREATE TABLE IF NOT EXISTS line_state (
    project_id TEXT NOT NULL, line_id TEXT NOT NULL,
    work_to_date INTEGER NOT NULL, stored_materials INTEGER NOT NULL,
    total_to_date INTEGER NOT NULL, retainage_to_date INTEGER NOT NULL,
    last_document TEXT,
    PRIMARY KEY (project_id, line_id)
);
CREATE TABLE IF NOT EXISTS openings (
    project_id TEXT NOT NULL, line_id TEXT NOT NULL, previously_billed INTEGER,
    previously_retained INTEGER, run_id TEXT NOT NULL, source_file TEXT NOT NULL,
    PRIMARY KEY (project_id, line_id)
);
CREATE TABLE IF NOT EXISTS projects (
    project_id TEXT PRIMARY KEY, project_name TEXT NOT NULL, client TEXT NOT NULL,
    currency TEXT NOT NULL, original_contract INTEGER NOT NULL,
    change_orders INTEGER NOT NULL, last_run TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS project_details (
    project_id TEXT PRIMARY KEY, details TEXT NOT NULL, source_file TEXT NOT NULL,
    run_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS line_schedule (
    project_id TEXT NOT NULL, line_id TEXT NOT NULL, position INTEGER NOT NULL,
    description TEXT NOT NULL, scheduled_value INTEGER NOT NULL, change_order TEXT NOT NULL,
    tax_code TEXT NOT NULL, source_file TEXT NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (project_id, line_id)
);
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY, document TEXT NOT NULL, received TEXT, amount INTEGER NOT NULL,
    currency TEXT NOT NULL, reference TEXT NOT NULL, method TEXT NOT NULL, note TEXT NOT NULL,
    client_id TEXT NOT NULL, source TEXT NOT NULL, source_row INTEGER,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')), problem TEXT NOT NULL,
    recorded TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_source ON payments(source);
CREATE TABLE IF NOT EXISTS assets (
    sha256 TEXT PRIMARY KEY, media_type TEXT NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS exceptions (
    run_id TEXT NOT NULL, file TEXT NOT NULL, sheet TEXT, row INTEGER, column TEXT,
    cell TEXT, severity TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS voided (
    number TEXT PRIMARY KEY REFERENCES documents(number), reason TEXT NOT NULL,
    voided_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS documents_are_immutable BEFORE UPDATE ON documents
WHEN {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in DOCUMENT_COLUMNS
                  if c not in ("pdf_path", "pdf_sha256"))}
BEGIN SELECT RAISE(ABORT, 'issued documents are immutable'); END;
CREATE TRIGGER IF NOT EXISTS documents_are_kept BEFORE DELETE ON documents
BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS document_lines_are_immutable BEFORE UPDATE ON document_lines
BEGIN SELECT RAISE(ABORT, 'issued documents are immutable'); END;
CREATE TRIGGER IF NOT EXISTS document_lines_are_kept BEFORE DELETE ON document_lines
BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted'); END;
"""


# The queries a run makes whose tables grow with history: each must find its rows through an
# index (tests/test_store.py checks their plans; benchmarks/history.py prints them).
HOT_QUERIES = {
    "a document": "SELECT * FROM documents WHERE number = 'X'",
    "a document's lines": "SELECT * FROM document_lines WHERE number = 'X' ORDER BY position",
    "a document's taxes": "SELECT * FROM document_taxes WHERE number = 'X' ORDER BY position",
    "the last state of a run's lines": (
        "SELECT s.* FROM wanted w CROSS JOIN line_state s ON s.project_id = w.project_id "
        "LEFT JOIN openings o ON o.project_id = s.project_id AND o.line_id = s.line_id"),
    "a project's latest invoice": (
        "SELECT number FROM documents d WHERE d.project_id = 'P' AND d.type = 'Invoice' "
        "ORDER BY d.invoice_date DESC, d.fy DESC, d.seq DESC LIMIT 1"),
    "the last number of a series": (
        "SELECT MAX(seq) FROM documents WHERE series = 'INV' AND fy = 2026"),
    "a fiscal year's lines (the ledger)": (
        "SELECT l.* FROM document_lines l JOIN documents d USING (number) WHERE d.fy = 2026"),
    "a fiscal year's documents in issue order (the ledger)": (
        f"SELECT * FROM documents WHERE fy = 2026 ORDER BY {ISSUE_ORDER}"),
    "the payments a ledger's Payments sheet replaces": (
        "SELECT * FROM payments WHERE source = 'ledger.xlsx'"),
}


# each project's contract and totals to date; every figure of its documents is in the index
# documents_project_totals, so the documents themselves are never read
PROJECTS_SUMMARY = """
SELECT p.project_id, p.project_name, p.client, p.currency, p.original_contract, p.change_orders,
       coalesce((SELECT sum(previously_billed) FROM openings o
                 WHERE o.project_id = p.project_id), 0) AS opening_billed,
       coalesce((SELECT sum(previously_retained) FROM openings o
                 WHERE o.project_id = p.project_id), 0) AS opening_retained,
       coalesce((SELECT sum(completed_this_period) FROM documents d
                 WHERE d.project_id = p.project_id
                   AND d.number NOT IN (SELECT number FROM voided)), 0)
          AS billed_on_documents,
       coalesce((SELECT sum(total_to_date) FROM line_state s
                 WHERE s.project_id = p.project_id), 0) AS billed_to_date,
       coalesce((SELECT sum(retainage_to_date) FROM line_state s
                 WHERE s.project_id = p.project_id), 0) AS retainage_held,
       coalesce((SELECT sum(amount_due) FROM documents d
                 WHERE d.project_id = p.project_id
                   AND d.number NOT IN (SELECT number FROM voided)), 0)
          AS invoiced_total,
       (SELECT number FROM documents d WHERE d.project_id = p.project_id
          AND d.number NOT IN (SELECT number FROM voided)
          ORDER BY d.invoice_date DESC, d.run_id DESC, d.seq DESC LIMIT 1)
          AS last_document,
       (SELECT max(period) FROM documents d WHERE d.project_id = p.project_id)
          AS last_period
FROM projects p ORDER BY p.project_id"""


def query_plans(db: sqlite3.Connection) -> dict[str, str]:
    """EXPLAIN QUERY PLAN of each of :data:`HOT_QUERIES` (with the temporary table a run
    fills with the projects it bills)."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (project_id TEXT PRIMARY KEY)")
    return {name: "; ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for name, sql in HOT_QUERIES.items()}


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    period: str
    started: str
    finished: str
    version: str


@dataclass(frozen=True)
class InputRecord:
    name: str
    path: str
    sha256: str
    status: str  # accepted | rejected
    archived_as: str | None = None


class Store:
    """The workspace's ``progbill.db``. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        found = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        if found:
            version = self.db.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version and int(version[0]) == SCHEMA_VERSION:
                return
            if version and int(version[0]) < 3:
                self._add_quantity_columns()
            if version and int(version[0]) < 5:
                self._add_einvoice_column()
        # executescript commits any open transaction itself, so the script carries its own.
        self.db.executescript(
            f"BEGIN IMMEDIATE;\n{_SCHEMA}\nINSERT OR REPLACE INTO meta(key, value) "
            f"VALUES ('schema_version', '{SCHEMA_VERSION}');\nCOMMIT;"
        )

    def _add_quantity_columns(self) -> None:
        """Schema 3: quantity x rate figures on document lines (empty on earlier lines)."""
        have = {row[1] for row in self.db.execute("PRAGMA table_info(document_lines)")}
        script = "".join(f"ALTER TABLE document_lines ADD COLUMN {c} TEXT NOT NULL DEFAULT '';\n"
                         for c in LINE_QUANTITIES if c not in have)
        if script:
            self.db.executescript(f"BEGIN IMMEDIATE;\n{script}COMMIT;")

    def _add_einvoice_column(self) -> None:
        """Schema 5: each document's e-invoice details ('' for documents issued before, and
        whenever e-invoicing is off). The immutability trigger is made again to cover it."""
        have = {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}
        script = "" if "einvoice_json" in have else \
            "ALTER TABLE documents ADD COLUMN einvoice_json TEXT NOT NULL DEFAULT '';\n"
        script += "DROP TRIGGER IF EXISTS documents_are_immutable;\n"
        self.db.executescript(f"BEGIN IMMEDIATE;\n{script}COMMIT;")

    def payments(self) -> pd.DataFrame:
        """Every payment recorded (accepted or rejected, with its problem), in order."""
        return pd.read_sql_query("SELECT * FROM payments ORDER BY id", self.db)

    def record_payments(self, rows: list[dict[str, Any]], replace_source: str | None = None
                        ) -> None:
        """Store payments; with ``replace_source``, those of that source are replaced (the
        ledger's Payments sheet is the accountant's list: what it no longer holds is gone)."""
        with self.transaction() as db:
            self._insert_payments(db, rows, replace_source)

    def _insert_payments(self, db: sqlite3.Connection, rows: list[dict[str, Any]],
                         replace_source: str | None = None) -> None:
        if replace_source is not None:
            db.execute("DELETE FROM payments WHERE source = ?", (replace_source,))
        db.executemany(
            """INSERT INTO payments (document, received, amount, currency, reference, method,
               note, client_id, source, source_row, status, problem, recorded)
               VALUES (:document, :received, :amount, :currency, :reference, :method, :note,
                       :client_id, :source, :source_row, :status, :problem, :recorded)""",
            rows)

    def meta_value(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def copy_to(self, target: Path) -> str:
        """Write a consistent copy of the store to ``target`` (a new file); returns how:
        ``"file"`` or ``"pages"``.

        The write-ahead log is checkpointed into the database file and emptied, then a read
        transaction is opened on it: while that read is open no checkpoint may write into the
        file (SQLite's WAL read lock 0), so the file is the store as committed, and is copied
        whole by the kernel (about a third of the time of a page-by-page copy). When the log
        cannot be emptied (another connection is reading) or is not empty once the read has
        begun, SQLite's online backup copies the pages instead."""
        patience = self.db.execute("PRAGMA busy_timeout").fetchone()[0]
        self.db.execute("PRAGMA busy_timeout = 0")  # never wait for another's read here
        try:
            busy = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {int(patience)}")
        log = self.path.with_name(self.path.name + "-wal")
        if not busy:
            self.db.execute("BEGIN")
            try:
                self.db.execute("SELECT count(*) FROM meta").fetchone()  # the read begins
                if not log.exists() or log.stat().st_size == 0:
                    shutil.copyfile(self.path, target)
                    return "file"
            finally:
                self.db.execute("COMMIT")
        copy = sqlite3.connect(target)
        try:
            copy.execute("PRAGMA journal_mode=OFF")  # the caller makes the file durable
            copy.execute("PRAGMA synchronous=OFF")
            self.db.backup(copy)
        finally:
            copy.close()
        return "pages"

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ----------------------------------------------------------------------------------------
    # reading state for billing

    def state_for(self, project_ids: Iterable[str]) -> LedgerState:
        ids = sorted(set(project_ids))
        if not ids:
            return LedgerState()
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (project_id TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM wanted")
        self.db.executemany("INSERT INTO wanted VALUES (?)", [(i,) for i in ids])
        lines = pd.read_sql_query(
            """SELECT s.project_id, s.line_id, s.work_to_date, s.stored_materials,
                      s.total_to_date, s.retainage_to_date, o.previously_billed AS opening_billed,
                      s.last_document
               FROM wanted w CROSS JOIN line_state s ON s.project_id = w.project_id
               LEFT JOIN openings o ON o.project_id = s.project_id AND o.line_id = s.line_id
               """,  # CROSS JOIN: SQLite walks the run's projects, then their lines by index
            self.db,
        )
        for column in ("work_to_date", "stored_materials", "total_to_date", "retainage_to_date"):
            lines[column] = lines[column].astype(np.int64)
        lines["opening_billed"] = lines["opening_billed"].astype("Int64")
        lines = lines.astype({"project_id": object, "line_id": object, "last_document": object})
        projects = pd.read_sql_query(
            """SELECT p.project_id, p.currency,
                      (SELECT number FROM documents d WHERE d.project_id = p.project_id
                         AND d.type = 'Invoice' AND d.number NOT IN (SELECT number FROM voided)
                         ORDER BY d.invoice_date DESC, d.fy DESC,
                         d.seq DESC LIMIT 1) AS last_invoice_number,
                      (SELECT invoice_date FROM documents d WHERE d.project_id = p.project_id
                         AND d.type = 'Invoice' AND d.number NOT IN (SELECT number FROM voided)
                         ORDER BY d.invoice_date DESC, d.fy DESC,
                         d.seq DESC LIMIT 1) AS last_invoice_date,
                      (SELECT max(period) FROM documents d
                         WHERE d.project_id = p.project_id) AS last_period
               FROM projects p JOIN wanted w USING (project_id)""",
            self.db,
        ).astype(object)
        projects["last_invoice_date"] = projects["last_invoice_date"].map(
            lambda v: date.fromisoformat(v) if isinstance(v, str) else None
        )
        return LedgerState(lines=lines, projects=projects)

    def last_sequences(self) -> dict[tuple[str, int], int]:
        rows = self.db.execute("SELECT series, fy, max(seq) FROM documents GROUP BY series, fy")
        return {(series, fy): seq for series, fy, seq in rows}

    # ----------------------------------------------------------------------------------------
    # the run's one transaction

    def project_details(self, project_ids: Iterable[str] | None = None
                        ) -> dict[str, dict[str, object]]:
        """The details last given for each project (client, address, tax and retainage rates
        ...): by a projects register or a workbook that was billed. Projects billed before
        details were kept give what the projects table has."""
        found: dict[str, dict[str, object]] = {}
        for pid, name, client, currency in self.db.execute(
                "SELECT project_id, project_name, client, currency FROM projects"):
            found[pid] = {"project_name": name, "client": client, "currency": currency}
        for pid, text in self.db.execute("SELECT project_id, details FROM project_details"):
            found.setdefault(pid, {}).update(_details_from_json(text))
        if project_ids is not None:
            wanted = set(project_ids)
            found = {k: v for k, v in found.items() if k in wanted}
        return found

    def _save_details(self, db: sqlite3.Connection, frame: pd.DataFrame, run_id: str) -> None:
        """Record the details each project row gives (its ``_given`` names), over those kept."""
        if frame.empty:
            return
        kept = {pid: text for pid, text in db.execute(
            "SELECT project_id, details FROM project_details")}
        rows = []
        read = [c for c in ("project_id", "_given", "_source", *PROJECT_DETAILS)
                if c in frame.columns]  # only the columns kept become dicts
        for record in row_dicts(frame[read].drop_duplicates("project_id")):
            pid = str(record["project_id"])
            details = _details_from_json(kept[pid]) if pid in kept else {}
            for name in str(record.get("_given") or "").split(","):
                value = record.get(name)
                if name in PROJECT_DETAILS and not is_missing(value):
                    details[name] = value
            rows.append((pid, _details_to_json(details), str(record.get("_source") or ""),
                         run_id))
        db.executemany(
            """INSERT INTO project_details VALUES (?, ?, ?, ?)
               ON CONFLICT (project_id) DO UPDATE SET details = excluded.details,
               source_file = excluded.source_file, run_id = excluded.run_id""", rows)

    def line_schedule(self, project_ids: Iterable[str]) -> pd.DataFrame:
        """The schedule last read for each line of these projects, in schedule order: what a
        progress-only workbook bills against. A billed project's schedule is its latest
        document's lines (a continuation sheet lists every line); a schedule workbook's lines,
        read since, take precedence (line_schedule holds them until the project is billed
        from a full workbook again)."""
        wanted = sorted(set(project_ids))
        columns = ["project_id", "line_id", "position", "description", "scheduled_value",
                   "change_order", "tax_code", "source_file"]
        rows = []
        for chunk in range(0, len(wanted), 500):
            ids = wanted[chunk:chunk + 500]
            marks = ", ".join("?" * len(ids))
            rows += self.db.execute(
                f"""SELECT l.project_id, l.line_id, l.position, l.description,
                          l.scheduled_value, l.change_order, l.tax_code, d.source_file
                   FROM document_lines l JOIN documents d USING (number)
                   WHERE l.project_id IN ({marks}) AND d.number = (
                       SELECT d2.number FROM documents d2
                       WHERE d2.project_id = l.project_id
                         AND d2.number NOT IN (SELECT number FROM voided)
                       ORDER BY d2.invoice_date DESC, d2.run_id DESC, d2.seq DESC LIMIT 1)""",
                ids).fetchall()
            rows += self.db.execute(
                f"SELECT {', '.join(columns)} FROM line_schedule WHERE project_id IN ({marks})",
                ids).fetchall()
        frame = pd.DataFrame(rows, columns=columns)
        # a schedule workbook's line (read after the document) wins over the document's
        return frame.drop_duplicates(["project_id", "line_id"], keep="last").sort_values(
            ["project_id", "position"], kind="stable").reset_index(drop=True)

    def _save_schedule(self, db: sqlite3.Connection, lines: pd.DataFrame, run_id: str) -> None:
        """Keep the lines of schedule workbooks (they bill nothing, so no document holds
        them); a project billed from a workbook with its own schedule needs none kept."""
        if lines.empty:
            return
        schedule = lines[lines["_schedule_only"].astype(bool)] if "_schedule_only" in lines \
            else lines.iloc[0:0]
        full = lines[~lines["_progress_only"].astype(bool)] if "_progress_only" in lines \
            else lines
        billed = sorted(set(full["project_id"]) - set(schedule["project_id"]))
        for chunk in range(0, len(billed), 500):
            ids = billed[chunk:chunk + 500]
            db.execute(f"DELETE FROM line_schedule WHERE project_id IN "
                       f"({', '.join('?' * len(ids))})", ids)
        rows = [(str(r["project_id"]), str(r["line_id"]), i, str(r["description"]),
                 int(r["scheduled_value"]), str(r.get("change_order") or ""),
                 str(r.get("tax_code") or ""), str(r.get("_source") or ""), run_id)
                for i, r in enumerate(row_dicts(schedule))]
        db.executemany(
            """INSERT INTO line_schedule VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (project_id, line_id) DO UPDATE SET position = excluded.position,
               description = excluded.description, scheduled_value = excluded.scheduled_value,
               change_order = excluded.change_order, tax_code = excluded.tax_code,
               source_file = excluded.source_file, run_id = excluded.run_id""", rows)

    def commit_run(
        self,
        run: RunRecord,
        bill: Bill,
        projects: pd.DataFrame,
        files: list[InputRecord],
        problems: list[Problem],
        settings: BillingSettings,
        seller: dict[str, str],
        render: dict[str, str],
        sources: dict[str, str],
        assets: dict[str, tuple[str, bytes]] | None = None,
        details: pd.DataFrame | None = None,
        schedules: pd.DataFrame | None = None,
        payments: list[dict[str, Any]] | None = None,
    ) -> pd.DataFrame:
        """Store the run, number and store its documents, and move the line state on.

        ``projects`` are the accepted projects (their contract is recorded); ``sources`` maps a
        source file name to its SHA-256. Returns the documents with their numbers.
        """
        with self.transaction() as db:
            numbered = number_documents(bill.documents, self.last_sequences(), settings)
            number_of = dict(zip(numbered["doc_key"], numbered["number"], strict=True))
            counts = numbered["type"].value_counts()
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.run_id, run.period, run.started, run.finished,
                 sum(f.status == "accepted" for f in files),
                 sum(f.status == "rejected" for f in files),
                 int(counts.get("Invoice", 0)), int(counts.get("Credit Note", 0)), run.version),
            )
            db.executemany(
                "INSERT INTO input_files VALUES (?, ?, ?, ?, ?, ?)",
                [(run.run_id, f.name, f.path, f.sha256, f.status, f.archived_as) for f in files],
            )
            db.executemany(
                "INSERT INTO exceptions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_exception_row(run.run_id, p) for p in problems],
            )
            self._record_projects(db, projects, run.run_id)
            self._save_details(db, projects, run.run_id)
            if details is not None:
                self._save_details(db, details, run.run_id)
            if schedules is not None:
                self._save_schedule(db, schedules, run.run_id)
            if payments:
                self._insert_payments(db, payments)
            db.executemany("INSERT OR IGNORE INTO assets VALUES (?, ?, ?)",
                           [(sha, kind, data) for sha, (kind, data) in (assets or {}).items()])
            self._insert_documents(db, numbered, bill, projects, run, seller, render, sources)
            self._insert_lines(db, bill, number_of)
            self._record_openings(db, bill, run.run_id, projects)
            checkpoint("commit:before")
        checkpoint("commit:after")
        return numbered

    def _insert_documents(self, db: sqlite3.Connection, numbered: pd.DataFrame, bill: Bill,
                          projects: pd.DataFrame, run: RunRecord, seller: dict[str, str],
                          render: dict[str, str], sources: dict[str, str]) -> None:
        if numbered.empty:
            return
        records = document_records(numbered, projects, run.run_id, seller, render, sources)
        db.executemany(
            f"INSERT INTO documents VALUES ({', '.join('?' * len(DOCUMENT_COLUMNS))})",
            [tuple(r[c] for c in DOCUMENT_COLUMNS) for r in records],
        )
        taxes = tax_records(bill, numbered)
        db.executemany(
            "INSERT INTO document_taxes VALUES (?, ?, ?, ?, ?, ?)",
            [(t.number, int(t.position), t.label, str(t.rate), int(t.base), int(t.amount))
             for t in taxes.itertuples(index=False)],
        )

    def _insert_lines(self, db: sqlite3.Connection, bill: Bill, number_of: dict[int, str]) -> None:
        lines = bill.lines
        if lines.empty:
            return
        # plain lists: iterating pandas' string arrays element by element is slow
        numbers = lines["doc_key"].map(number_of).tolist()
        columns = [lines[c] for c in AMOUNT_COLUMNS]
        rows = zip(
            numbers, lines["position"].astype(np.int64).tolist(), lines["project_id"].tolist(),
            lines["line_id"].tolist(), lines["description"].tolist(),
            lines["change_order"].tolist(), lines["tax_code"].tolist(),
            lines["on_document"].astype(np.int64).tolist(),
            lines["percent_complete"].map(str).tolist(), lines["retainage_pct"].map(str).tolist(),
            lines["stored_retainage_pct"].map(str).tolist(),
            *(c.astype(np.int64).tolist() for c in columns),
            *(_texts(lines, c) for c in LINE_QUANTITIES), strict=True,
        )
        db.executemany(
            f"INSERT INTO document_lines VALUES ({', '.join('?' * len(LINE_COLUMNS))})", rows)
        db.executemany(
            """INSERT INTO line_state VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (project_id, line_id) DO UPDATE SET
               work_to_date = excluded.work_to_date, stored_materials = excluded.stored_materials,
               total_to_date = excluded.total_to_date,
               retainage_to_date = excluded.retainage_to_date,
               last_document = excluded.last_document""",
            zip(lines["project_id"].tolist(), lines["line_id"].tolist(),
                lines["work_to_date"].astype(np.int64).tolist(),
                lines["stored_materials"].astype(np.int64).tolist(),
                lines["total_to_date"].astype(np.int64).tolist(),
                lines["retainage_to_date"].astype(np.int64).tolist(), numbers, strict=True),
        )

    def _record_openings(self, db: sqlite3.Connection, bill: Bill, run_id: str,
                         projects: pd.DataFrame) -> None:
        if bill.openings.empty:
            return
        source = dict(zip(projects["project_id"], projects["_source"], strict=False))
        rows = []
        state = []
        for o in bill.openings.itertuples(index=False):
            billed = None if pd.isna(o.previously_billed) else int(o.previously_billed)
            retained = None if pd.isna(o.previously_retained) else int(o.previously_retained)
            rows.append((o.project_id, o.line_id, billed, retained, run_id,
                         source.get(o.project_id, "")))
            state.append((o.project_id, o.line_id, billed or 0, 0, billed or 0, retained or 0))
        db.executemany("INSERT INTO openings VALUES (?, ?, ?, ?, ?, ?)", rows)
        # A line first seen with an opening balance and no document this run still becomes
        # known; a line that also got a document keeps the document's state.
        db.executemany(
            """INSERT INTO line_state VALUES (?, ?, ?, ?, ?, ?, NULL)
               ON CONFLICT (project_id, line_id) DO NOTHING""",
            state,
        )

    def _record_projects(self, db: sqlite3.Connection, projects: pd.DataFrame,
                         run_id: str) -> None:
        """Accepted projects: the contract as last read. The currency may change only until the
        project's first document or opening balance; after that it is the billing currency."""
        if projects.empty:
            return
        rows = []
        for p in projects.drop_duplicates("project_id").itertuples(index=False):
            rows.append((p.project_id, p.project_name, p.client, p.currency,
                         int(p.original_contract), int(p.change_orders), run_id))
        db.executemany(
            """INSERT INTO projects VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (project_id) DO UPDATE SET project_name = excluded.project_name,
               client = excluded.client,
               currency = CASE WHEN EXISTS (SELECT 1 FROM documents d
                                            WHERE d.project_id = excluded.project_id)
                                 OR EXISTS (SELECT 1 FROM openings o
                                            WHERE o.project_id = excluded.project_id)
                               THEN projects.currency ELSE excluded.currency END,
               original_contract = excluded.original_contract,
               change_orders = excluded.change_orders, last_run = excluded.last_run""",
            rows,
        )

    # ----------------------------------------------------------------------------------------
    # reading documents back (ledger workbook, PDFs, show)

    def document_columns(self) -> list[str]:
        return [row[1] for row in self.db.execute("PRAGMA table_info(documents)")]

    def documents(self, columns: Sequence[str] | None = None,
                  fy: int | None = None) -> pd.DataFrame:
        """The documents (of fiscal year ``fy``, or all) in issue order: every column, or
        ``columns``."""
        wanted = [c for c in self.document_columns() if c in columns] if columns is not None \
            else ["*"]
        return pd.read_sql_query(
            f"""SELECT {", ".join(wanted)} FROM documents {"WHERE fy = ?" if fy is not None
                else ""} ORDER BY {ISSUE_ORDER}""",
            self.db, params=[fy] if fy is not None else None)

    def credits_from_other_years(self, fy: int) -> pd.DataFrame:
        """number, type, amount_due and corrects_number of the credit notes of other fiscal
        years that cite a document of ``fy`` (voided ones left out): with that year's
        documents, all that makes what they owe."""
        return pd.read_sql_query(
            "SELECT number, type, amount_due, corrects_number FROM documents "
            "WHERE type = 'Credit Note' AND fy != ? AND corrects_number IN "
            "(SELECT number FROM documents WHERE fy = ?) "
            f"AND number NOT IN (SELECT number FROM voided) ORDER BY {ISSUE_ORDER}", self.db,
            params=[fy, fy])

    def open_items(self) -> pd.DataFrame:
        """What the documents still owe, summed per client, currency, due date and kind: the
        AR ageing's input (:func:`progbill.receivables.ageing`), made where the documents are
        instead of reading every document of every year. Balances as
        :func:`progbill.receivables.balances` makes them (a credit note citing a document is
        spent there; accepted payments count), over the documents with a balance; a voided
        document owes and credits nothing. tests/test_receivables.py compares the two."""
        return pd.read_sql_query(
            """WITH credited AS (
                   SELECT corrects_number AS number, -SUM(amount_due) AS amount FROM documents
                   WHERE type = 'Credit Note' AND corrects_number IS NOT NULL
                   AND number NOT IN (SELECT number FROM voided) GROUP BY corrects_number),
               paid AS (
                   SELECT document AS number, SUM(amount) AS amount FROM payments
                   WHERE status = 'accepted' GROUP BY document),
               owed AS (
                   SELECT d.client, d.currency, d.due_date, d.type = 'Invoice' AS invoice,
                          d.amount_due - COALESCE(c.amount, 0) - COALESCE(p.amount, 0)
                          AS balance
                   FROM documents d LEFT JOIN credited c ON c.number = d.number
                   LEFT JOIN paid p ON p.number = d.number
                   WHERE NOT (d.type = 'Credit Note' AND d.corrects_number IS NOT NULL)
                   AND d.number NOT IN (SELECT number FROM voided))
               SELECT client, currency, due_date, invoice, SUM(balance) AS balance
               FROM owed GROUP BY client, currency, due_date, invoice
               HAVING SUM(balance != 0) > 0""", self.db)

    def pdf_index(self) -> pd.DataFrame:
        """number, period, pdf_path and voided (0/1) of every document (a narrow read for the
        PDF stage; a voided document is never rendered)."""
        return pd.read_sql_query(
            "SELECT number, period, pdf_path, number IN (SELECT number FROM voided) AS voided "
            f"FROM documents ORDER BY {ISSUE_ORDER}", self.db)

    def recorded_pdfs(self) -> tuple[int, dict[str, str]]:
        """How many documents (not voided) have no PDF recorded, and the recorded PDF paths by
        document number: what is pending is found without reading every document."""
        unrecorded = self.db.execute(
            "SELECT count(*) FROM documents WHERE pdf_path IS NULL "
            "AND number NOT IN (SELECT number FROM voided)").fetchone()[0]
        recorded = dict(self.db.execute(
            "SELECT number, pdf_path FROM documents WHERE pdf_path IS NOT NULL "
            "AND number NOT IN (SELECT number FROM voided)").fetchall())
        return int(unrecorded), recorded

    def ubl_documents(self) -> pd.DataFrame:
        """number, period and project of every document issued with a UBL e-invoice (not
        voided): their XML files sit beside their PDFs."""
        return pd.read_sql_query(
            "SELECT number, period, project_id FROM documents WHERE einvoice_json LIKE "
            "'%\"ubl\"%' AND number NOT IN (SELECT number FROM voided) "
            f"ORDER BY {ISSUE_ORDER}", self.db)

    def voided(self) -> dict[str, str]:
        """Voided documents and why."""
        return dict(self.db.execute("SELECT number, reason FROM voided"))

    def document(self, number: str) -> dict[str, object] | None:
        cur = self.db.execute("SELECT * FROM documents WHERE number = ?", (number,))
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def document_lines(self, number: str | None = None) -> pd.DataFrame:
        """Every line (the full G703) of one document, or of all documents."""
        if number is None:
            return pd.read_sql_query(
                "SELECT * FROM document_lines ORDER BY number, position", self.db)
        return pd.read_sql_query(
            "SELECT * FROM document_lines WHERE number = ? ORDER BY position", self.db,
            params=[number])

    # the order of the ledger's Lines sheet: by document, then line
    _LINES_ORDER = ", ".join(f"d.{c}" for c in ISSUE_ORDER.split(", "))

    def ledger_lines(self, fy: int | None = None,
                     after: Sequence[object] | None = None) -> pd.DataFrame:
        """The documents' own lines (B or Rt not zero) with their currency, in document order,
        for the ledger's Lines sheet (of one fiscal year, or all); with ``after``, only the
        lines of documents after that one (its key from :meth:`ledger_documents`)."""
        params: list[object] = [fy] if fy is not None else []
        if after is not None:
            params.extend(after)
        return pd.read_sql_query(
            f"""SELECT l.number, l.project_id, l.line_id, l.description, l.change_order,
                      l.scheduled_value, l.from_previous, l.this_period, l.stored_materials,
                      l.total_to_date, l.balance_to_finish, l.billed, l.retainage_to_date,
                      l.retainage_this_period, l.quantity, l.unit, l.rate,
                      l.quantity_to_date, d.currency, d.period, d.invoice_date
               FROM document_lines l JOIN documents d USING (number)
               WHERE l.on_document = 1 AND l.number NOT IN (SELECT number FROM voided)
               {"AND d.fy = ?" if fy is not None else ""}
               {f"AND ({self._LINES_ORDER}) > (?, ?, ?, ?, ?)" if after is not None else ""}
               ORDER BY {self._LINES_ORDER}, l.position""",
            self.db, params=params or None)

    def ledger_documents(self, fy: int) -> list[tuple[str, str, tuple[object, ...]]]:
        """The documents of a fiscal year's Lines sheet in its order (voided ones are left
        out, as their lines are): number, run, and its key in that order."""
        rows = self.db.execute(
            f"""SELECT d.number, d.run_id, {self._LINES_ORDER} FROM documents d
                WHERE d.fy = ? AND d.number NOT IN (SELECT number FROM voided)
                ORDER BY {self._LINES_ORDER}""", (fy,)).fetchall()
        return [(str(r[0]), str(r[1]), tuple(r[2:])) for r in rows]

    def fiscal_years(self) -> dict[int, int]:
        """Each fiscal year of the issued documents, with how many documents it has."""
        return {int(fy): int(n) for fy, n in self.db.execute(
            "SELECT fy, COUNT(*) FROM documents GROUP BY fy ORDER BY fy")}

    def document_taxes(self, number: str | None = None) -> pd.DataFrame:
        if number is None:
            return pd.read_sql_query("SELECT * FROM document_taxes ORDER BY number, position",
                                     self.db)
        return pd.read_sql_query(
            "SELECT * FROM document_taxes WHERE number = ? ORDER BY position", self.db,
            params=[number])

    def asset(self, sha256: str) -> tuple[str, bytes] | None:
        row = self.db.execute("SELECT media_type, data FROM assets WHERE sha256 = ?",
                              (sha256,)).fetchone()
        return (row[0], bytes(row[1])) if row else None

    def set_pdfs(self, pdfs: list[tuple[str, str, str]]) -> None:
        """Record rendered PDFs: (number, relative path, SHA-256), in one transaction."""
        with self.transaction() as db:
            db.executemany("UPDATE documents SET pdf_path = ?, pdf_sha256 = ? WHERE number = ?",
                           [(path, sha, number) for number, path, sha in pdfs])

    # ----------------------------------------------------------------------------------------
    # repair

    def damaged_documents(self, limit: int) -> dict[str, str]:
        """Documents whose stored totals are not the sums of their lines, or whose lines add up
        to ``limit`` or more: what a version without total limits could store when int64 sums
        overflowed. Sums here are Python integers, which never overflow."""
        voided = self.voided()
        docs = pd.read_sql_query(
            "SELECT number, completed_this_period, retainage_this_period, tax, amount_due, "
            "contract_to_date FROM documents", self.db).astype(object).set_index("number")
        lines = pd.read_sql_query(
            "SELECT number, on_document, billed, retainage_this_period, scheduled_value, "
            "stored_materials FROM document_lines", self.db).astype(object)
        damaged: dict[str, str] = {}
        for number, group in lines.groupby("number", sort=False):
            if number in voided or number not in docs.index:
                continue
            on = group[group["on_document"] == 1]
            doc = docs.loc[number]
            size = sum(abs(int(v)) for v in group["scheduled_value"]) + sum(
                abs(int(v)) for v in group["stored_materials"])
            completed = sum(int(v) for v in on["billed"])
            retainage = sum(int(v) for v in on["retainage_this_period"])
            contract = sum(int(v) for v in group["scheduled_value"])
            if size >= limit:
                damaged[str(number)] = "its lines add up past the limit one document can hold"
            elif (completed, retainage, contract) != (
                    int(doc["completed_this_period"]), int(doc["retainage_this_period"]),
                    int(doc["contract_to_date"])) or int(doc["amount_due"]) != (
                    completed - retainage + int(doc["tax"])):
                damaged[str(number)] = "its totals are not the sums of its lines"
        return damaged

    def later_documents(self, number: str) -> list[str]:
        """Documents of the same project issued after ``number`` and not voided."""
        order = pd.read_sql_query(
            "SELECT number FROM documents WHERE project_id = (SELECT project_id FROM documents "
            "WHERE number = ?) AND number NOT IN (SELECT number FROM voided) "
            f"ORDER BY {ISSUE_ORDER}", self.db, params=[number])
        numbers = order["number"].tolist()
        return numbers[numbers.index(number) + 1:] if number in numbers else []

    def void(self, number: str, reason: str, when: str) -> None:
        """Mark a damaged document void and put its lines back to their state before it (the
        previous document's, or the opening balance, or unknown), so the next run bills them
        again. Its number stays used: numbering stays gapless and no number is reused."""
        with self.transaction() as db:
            db.execute("INSERT INTO voided VALUES (?, ?, ?)", (number, reason, when))
            for project_id, line_id in db.execute(
                    "SELECT project_id, line_id FROM document_lines WHERE number = ?",
                    (number,)).fetchall():
                before = db.execute(
                    """SELECT l.work_to_date, l.stored_materials, l.total_to_date,
                              l.retainage_to_date, l.number
                       FROM document_lines l JOIN documents d USING (number)
                       WHERE l.project_id = ? AND l.line_id = ?
                         AND l.number NOT IN (SELECT number FROM voided)
                       ORDER BY d.invoice_date DESC, d.run_id DESC, d.series DESC, d.fy DESC,
                                d.seq DESC LIMIT 1""", (project_id, line_id)).fetchone()
                opening = db.execute(
                    "SELECT previously_billed, previously_retained FROM openings "
                    "WHERE project_id = ? AND line_id = ?", (project_id, line_id)).fetchone()
                if before is not None:
                    state = before
                elif opening is not None:
                    billed, retained = (opening[0] or 0), (opening[1] or 0)
                    state = (billed, 0, billed, retained, None)
                else:
                    db.execute("DELETE FROM line_state WHERE project_id = ? AND line_id = ?",
                               (project_id, line_id))
                    continue
                db.execute(
                    """UPDATE line_state SET work_to_date = ?, stored_materials = ?,
                       total_to_date = ?, retainage_to_date = ?, last_document = ?
                       WHERE project_id = ? AND line_id = ?""", (*state, project_id, line_id))

    def projects_summary(self) -> pd.DataFrame:
        """Each project's contract and totals to date (the Projects sheet), its documents'
        figures read from an index (``documents_project_totals``), never from the documents."""
        return pd.read_sql_query(PROJECTS_SUMMARY, self.db)

    def exceptions(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT rowid, * FROM exceptions ORDER BY rowid", self.db)

    def runs(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM runs ORDER BY started, run_id", self.db)

    def run_totals(self) -> pd.DataFrame:
        return pd.read_sql_query(
            """SELECT run_id, currency, count(*) AS documents,
                      sum(type = 'Invoice') AS invoices, sum(type = 'Credit Note') AS credit_notes,
                      sum(amount_due) AS amount_due
               FROM documents WHERE number NOT IN (SELECT number FROM voided)
               GROUP BY run_id, currency ORDER BY run_id, currency""",
            self.db,
        )

    def input_files(self, run_id: str | None = None) -> pd.DataFrame:
        if run_id is None:
            return pd.read_sql_query("SELECT * FROM input_files", self.db)
        return pd.read_sql_query("SELECT * FROM input_files WHERE run_id = ?", self.db,
                                 params=[run_id])


def open_store(path: Path) -> Store:
    """The workspace's store, or a :class:`WorkspaceError` that says why it cannot be used."""
    try:
        return Store(path)
    except sqlite3.DatabaseError as exc:
        raise store_error(exc, path) from exc


def store_error(exc: sqlite3.DatabaseError, path: Path) -> WorkspaceError:
    """What a SQLite failure means for the person running progbill."""
    text = str(exc).casefold()
    if "readonly" in text or "unable to open" in text or "read-only" in text:
        return WorkspaceError(
            f"the workspace {path.parent} is read-only for progbill (it cannot write "
            f"{path.name}); give your user write permission on the folder, or run progbill "
            "as the user who owns it. Nothing was done.")
    if "disk is full" in text or "disk i/o" in text:
        return WorkspaceError(
            f"the disk holding {path.parent} is full (or failing); free some space and run "
            "again. The store changes only in complete runs, so nothing half-done was kept.")
    if "locked" in text or "busy" in text:
        return WorkspaceError(
            f"{path.name} is in use by another program; close it and run again")
    return WorkspaceError(
        f"the ledger store {path.name} is damaged ({exc}); nothing was done. Put back a copy: "
        f"`progbill restore -w {path.parent}` lists the copies in backups/, or copy your own "
        "backup of progbill.db into the workspace.")


def einvoice_details(doc: Any, project: dict[str, Any], render: dict[str, Any]) -> str:
    """What a document's e-invoice needs beyond its PDF's fields, fixed when it is issued (so a
    re-render gives the same bytes): the formats and rules chosen, the buyer's e-invoice
    details and the preceding invoice (BG-3). '' when e-invoicing is off."""
    settings = render.get("einvoice")
    if not settings:
        return ""
    details = {**settings, **{k: str(project.get(k) or "") for k in EINVOICE_FIELDS}}
    number, issued = getattr(doc, "preceding_number", None), getattr(doc, "preceding_date", None)
    details["preceding"] = [[str(number), issued.isoformat()]] \
        if isinstance(number, str) and issued is not None and not is_missing(issued) else []
    return json.dumps(details, sort_keys=True)


# the project's details a document keeps as text
_DOCUMENT_PROJECT_TEXT = ("project_name", "client", "client_address", "client_email",
                          "client_tax_id", "po_number", "place_of_supply", "tax_code")


def document_records(
    numbered: pd.DataFrame, projects: pd.DataFrame, run_id: str, seller: dict[str, str],
    render: dict[str, str], sources: dict[str, str],
) -> list[dict[str, object]]:
    """Numbered documents as rows of the ``documents`` table (also the shape drafts render)."""
    read = ["project_id", *_DOCUMENT_PROJECT_TEXT, "tax_label", "_source",
            *(c for c in EINVOICE_FIELDS if c in projects.columns)]  # only these become dicts
    info = projects[read].drop_duplicates("project_id").set_index("project_id").reindex(
        numbered["project_id"])
    seller_json = json.dumps(seller, sort_keys=True)  # the same for every document of a run
    render_json = json.dumps({k: v for k, v in render.items() if k != "einvoice"},
                             sort_keys=True)
    records = []
    for doc, project in zip(numbered.itertuples(index=False),
                            row_dicts(info.reset_index()), strict=True):
        record: dict[str, object] = {
            "number": doc.number, "series": doc.series, "fy": int(doc.fy), "seq": int(doc.seq),
            "type": doc.type, "run_id": run_id, "period": doc.period,
            "invoice_date": doc.invoice_date.isoformat(), "due_date": doc.due_date.isoformat(),
            "payment_terms_days": int(doc.payment_terms_days), "project_id": doc.project_id,
        }
        for column in _DOCUMENT_PROJECT_TEXT:
            record[column] = str(project[column] or "")
        record["currency"] = doc.currency
        record.update({c: int(getattr(doc, c)) for c in _DOCUMENT_MONEY})
        record.update({
            "tax_rate": str(doc.tax_rate),
            "tax_label": str(project["tax_label"] or "Tax"),
            "reverse_charge": int(bool(doc.reverse_charge)),
            "corrects_number": doc.corrects_number,
            "corrects_date": doc.corrects_date.isoformat() if doc.corrects_date else None,
            "source_file": project["_source"],
            "source_sha256": sources.get(project["_source"], ""),
            "seller_json": seller_json,
            "render_json": render_json,
            "pdf_path": None,
            "pdf_sha256": None,
            "einvoice_json": einvoice_details(doc, project, render),
        })
        records.append(record)
    return records


def tax_records(bill: Bill, numbered: pd.DataFrame) -> pd.DataFrame:
    taxes = bill.taxes.copy()
    taxes["number"] = taxes["doc_key"].map(
        dict(zip(numbered["doc_key"], numbered["number"], strict=True)))
    taxes["position"] = taxes.groupby("doc_key").cumcount() + 1
    return taxes


def _exception_row(run_id: str, p: Problem) -> tuple[object, ...]:
    loc = p.location
    return (run_id, loc.file, loc.sheet, loc.row, loc.column,
            f"{loc.letter}{loc.row}" if loc.letter and loc.row else loc.letter,
            str(p.severity), p.code, p.message)


_DECIMAL_DETAILS = {"retainage_pct", "stored_retainage_pct", "tax_rate"}


def _details_to_json(details: dict[str, object]) -> str:
    def plain(value: object) -> object:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        return str(value)

    return json.dumps({k: plain(v) for k, v in sorted(details.items())}, sort_keys=True)


def _details_from_json(text: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for name, value in json.loads(text).items():
        if name not in PROJECT_DETAILS:
            continue
        found[name] = Decimal(value) if name in _DECIMAL_DETAILS else value
    return found


def _texts(frame: pd.DataFrame, column: str) -> list[str]:
    """A column as exact text, '' where it is empty or absent."""
    if column not in frame:
        return [""] * len(frame)
    return ["" if is_missing(v) else str(v) for v in frame[column].tolist()]
