"""What the commands report: runs, validations, ledger rebuilds, repairs, restores and a
document's detail, as data (``as_dict`` for ``--json``). :mod:`progbill.report` writes them as
text for a finance user."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from progbill.problems import Problem, Severity, has_errors, printable
from progbill.publish import Pending
from progbill.readers.files import Skipped


@dataclass
class FileReport:
    name: str
    path: str
    sha256: str
    status: str  # accepted | rejected
    projects: int = 0
    lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    moved_to: str | None = None
    payments: int = 0  # receipts recorded from a payments workbook

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]


@dataclass
class DocumentReport:
    number: str
    type: str
    project_id: str
    client: str
    currency: str
    amount_due: int
    pdf: str | None


@dataclass
class RunReport:
    run_id: str
    period: str
    started: datetime
    finished: datetime | None = None
    draft: bool = False
    files: list[FileReport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    documents: list[DocumentReport] = field(default_factory=list)
    pdfs_rendered: int = 0
    pdfs_pending: int = 0
    ledger: str | None = None
    notes: list[str] = field(default_factory=list)
    report_path: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    pending: list[Pending] = field(default_factory=list)  # steps after the commit not done yet
    # documents whose e-invoice failed its rules: issued in the store, nothing published
    einvoice_failures: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "rejected"]

    @property
    def exit_code(self) -> int:
        """0 all processed; 1 a file rejected or an e-invoice that failed its rules; 3
        documents were issued but a later step (PDFs, the ledger, moving inputs, the report)
        is pending: the next run completes it."""
        if self.einvoice_failures:
            return 1
        if self.pending:
            return EXIT_PENDING
        return 1 if self.rejected else 0

    def totals(self) -> list[dict[str, Any]]:
        """Documents issued by type and currency, with their total amount due."""
        groups: dict[tuple[str, str], list[int]] = {}
        for d in self.documents:
            groups.setdefault((d.type, d.currency), []).append(d.amount_due)
        return [
            {"type": t, "currency": c, "count": len(v), "amount_due": sum(v)}
            for (t, c), v in sorted(groups.items())
        ]

    def as_dict(self, report_path: str | None = None) -> dict[str, Any]:
        return clean_strings(self._as_dict(report_path))

    def _as_dict(self, report_path: str | None = None) -> dict[str, Any]:
        from progbill.money import from_minor

        return {
            "run_id": self.run_id,
            "period": self.period,
            "draft": self.draft,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": self.finished.isoformat(timespec="seconds") if self.finished else None,
            "exit_code": self.exit_code,
            "files": [
                {
                    "name": f.name, "path": f.path, "sha256": f.sha256, "status": f.status,
                    "projects": f.projects, "lines": f.lines, "payments": f.payments,
                    "moved_to": f.moved_to,
                    "problems": [p.as_dict() for p in f.problems],
                }
                for f in self.files
            ],
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
            "documents": [
                {"number": d.number, "type": d.type, "project_id": d.project_id,
                 "client": d.client, "currency": d.currency,
                 "amount_due": str(from_minor(d.amount_due, d.currency)),
                 "amount_due_minor": d.amount_due, "pdf": d.pdf}
                for d in self.documents
            ],
            "totals": [
                {**t, "amount_due": str(from_minor(t["amount_due"], t["currency"])),
                 "amount_due_minor": t["amount_due"]}
                for t in self.totals()
            ],
            "pdfs_rendered": self.pdfs_rendered,
            "pdfs_pending": self.pdfs_pending,
            "ledger": self.ledger,
            "notes": self.notes,
            "einvoice_failures": self.einvoice_failures,
            "pending": [{"step": p.step, "what": p.what, "reason": p.reason}
                        for p in self.pending],
            "report": report_path or self.report_path,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


EXIT_PENDING = 3


def clean_strings(value: Any) -> Any:
    """Every string in a report (file names, cell text) without control sequences, so that no
    JSON consumer that prints a value can be made to clear a screen or forge a line."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {k: clean_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_strings(v) for v in value]
    return value


@dataclass
class ValidationReport:
    files: list[FileReport]
    skipped: list[Skipped]

    @property
    def exit_code(self) -> int:
        return 1 if any(has_errors(f.problems) for f in self.files) else 0

    def as_dict(self) -> dict[str, Any]:
        return clean_strings({
            "exit_code": self.exit_code,
            "files": [
                {"name": f.name, "path": f.path, "status": f.status, "projects": f.projects,
                 "lines": f.lines, "problems": [p.as_dict() for p in f.problems]}
                for f in self.files
            ],
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
        })


@dataclass
class LedgerReport:
    ledger: str | None
    pdfs_rendered: list[str]
    notes: list[str]
    pending: list[Pending] = field(default_factory=list)
    einvoice_failures: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.einvoice_failures:
            return 1
        return EXIT_PENDING if self.pending else 0

    def as_dict(self) -> dict[str, Any]:
        return {"ledger": self.ledger, "pdfs_rendered": self.pdfs_rendered, "notes": self.notes,
                "einvoice_failures": self.einvoice_failures,
                "pending": [{"step": p.step, "what": p.what, "reason": p.reason}
                            for p in self.pending], "exit_code": self.exit_code}


@dataclass
class RepairReport:
    voided: dict[str, str]  # number -> why
    blocked: dict[str, str]  # damaged, but later documents build on it -> what to do


@dataclass
class StoreCopy:
    name: str
    documents: int
    last_document: str | None
    last_run: str | None


@dataclass
class RestoreReport:
    copies: list[StoreCopy]
    restored: str | None = None
    set_aside: list[str] = field(default_factory=list)  # the replaced store's files, in backups/


@dataclass
class DocumentDetail:
    """Everything that traces one document: its lines, taxes, source workbook and PDF."""

    document: dict[str, Any]
    lines: pd.DataFrame
    taxes: pd.DataFrame
    inputs: pd.DataFrame  # the input_files rows of its run with the same SHA-256
    pdf_on_disk_sha256: str | None

    @property
    def pdf_matches(self) -> bool | None:
        recorded = self.document.get("pdf_sha256")
        if not recorded or self.pdf_on_disk_sha256 is None:
            return None
        return recorded == self.pdf_on_disk_sha256
