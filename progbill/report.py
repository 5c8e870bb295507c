"""The reports of :mod:`progbill.reports` as text for a finance user (the CLI prints these)."""

from __future__ import annotations

from progbill.money import from_minor
from progbill.problems import Severity
from progbill.reports import (
    DocumentDetail,
    FileReport,
    LedgerReport,
    RepairReport,
    RestoreReport,
    RunReport,
    ValidationReport,
)

MAX_PROBLEMS_SHOWN = 10


def _amount(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency):,}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _accepted(f: FileReport) -> str:
    """``2 projects, 15 lines, 1 warning``"""
    warn = f", {_plural(len(f.warnings), 'warning')}" if f.warnings else ""
    if f.payments:
        return f"{_plural(f.payments, 'payment')} recorded{warn}"
    return f"{_plural(f.projects, 'project')}, {_plural(f.lines, 'line')}{warn}"


def _file_lines(f: FileReport) -> list[str]:
    out = []
    if f.status == "accepted":
        out.append(f"  OK        {f.name}: {_accepted(f)}")
    else:
        out.append(f"  REJECTED  {f.name}: {_plural(len(f.errors), 'error')}, nothing billed "
                   "from this file")
    shown = [p for p in f.problems if p.severity is not Severity.INFO]
    for p in shown[:MAX_PROBLEMS_SHOWN]:
        out.append(f"      {p.severity.upper()}: {p}")
    if len(shown) > MAX_PROBLEMS_SHOWN:
        out.append(f"      ... and {len(shown) - MAX_PROBLEMS_SHOWN} more (see the Exceptions "
                   "sheet or failed/*.errors.txt)")
    if f.moved_to:
        out.append(f"      moved to {f.moved_to}")
    return out


def format_run(report: RunReport) -> str:
    kind = "Draft run" if report.draft else "Run"
    lines = [f"{kind} for {report.period} ({report.run_id})", ""]
    if not report.files and not report.skipped:
        lines.append("No workbooks to read.")
    if report.files:
        lines.append("Files")
        for f in report.files:
            lines.extend(_file_lines(f))
    if report.skipped:
        lines.append("Skipped")
        lines.extend(f"  {s.path.name}: {s.reason}" for s in report.skipped)
    lines.append("")
    if report.documents:
        heading = "Drafts rendered (nothing stored)" if report.draft else "Documents issued"
        lines.append(heading)
        width = max(len(d.number) for d in report.documents)
        for d in report.documents:
            lines.append(f"  {d.number:<{width}}  {d.type:<11}  {d.project_id:<12} "
                         f"{d.client[:28]:<28}  {d.currency} "
                         f"{_amount(d.amount_due, d.currency):>16}")
        lines.append("")
        lines.append("Totals")
        for t in report.totals():
            lines.append(f"  {t['type']:<11}  {t['currency']}  {t['count']:>4} "
                         f"document{'s' if t['count'] != 1 else ' '}  "
                         f"{_amount(t['amount_due'], t['currency']):>16}")
    else:
        lines.append("No documents issued: nothing was completed since the last invoice."
                     if report.files and not report.rejected else "No documents issued.")
    lines.append("")
    outputs = []
    if report.draft:
        outputs.append(f"drafts/{report.period}/ ({report.pdfs_rendered} PDF"
                       f"{'s' if report.pdfs_rendered != 1 else ''})")
    else:
        if report.pdfs_rendered:
            outputs.append(f"{report.pdfs_rendered} PDF{'s' if report.pdfs_rendered != 1 else ''}"
                           f" in invoices/")
        if report.pdfs_pending:
            outputs.append(f"{report.pdfs_pending} PDF{'s' if report.pdfs_pending != 1 else ''} "
                           "pending (rendered by the next run or `progbill ledger`)")
        if report.ledger:
            outputs.append(report.ledger)
        if report.report_path:
            outputs.append(report.report_path)
    if outputs:
        lines.append("Outputs: " + "; ".join(outputs))
    lines.extend(f"Note: {n}" for n in report.notes)
    lines.extend(_einvoice_lines(report.einvoice_failures))
    lines.extend(_pending_lines(report))
    if report.rejected:
        n = len(report.rejected)
        lines.append(f"{n} file{'s were' if n > 1 else ' was'} rejected; fix the problems above "
                     "and run again.")
    return "\n".join(lines)


def _einvoice_lines(failures: list[str]) -> list[str]:
    """Documents whose e-invoice failed its rules: issued, but nothing of them published."""
    if not failures:
        return []
    return ["", "E-INVOICE ERRORS: these documents are issued in progbill.db, but their PDF "
            "and e-invoice were not published because the e-invoice fails its rules (a run "
            "checks e-invoices before it issues anything, so the rules changed since, or "
            "progbill has a defect; please report it with these lines):",
            *(f"  ERROR  {f}" for f in failures),
            "`progbill ledger` tries again with the rules in einvoice.rules_dir."]


def _pending_lines(report: RunReport) -> list[str]:
    """What was issued and what is not done yet, when a step after the commit failed."""
    if not report.pending:
        return []
    numbers = [d.number for d in report.documents]
    issued = (f"{len(numbers)} document{'s' if len(numbers) != 1 else ''} "
              f"({_numbers(numbers)})" if numbers else "no new documents")
    lines = ["", f"ISSUED, NOT COMPLETE: this run issued {issued}, stored in progbill.db; "
             "these steps are pending:"]
    lines.extend(f"  PENDING  {p}" for p in report.pending)
    lines.append("Fix the cause and run again (or `progbill ledger`): the pending steps are "
                 "completed and nothing is billed twice.")
    return lines


def _numbers(numbers: list[str]) -> str:
    if len(numbers) <= 12:
        return ", ".join(numbers)
    return f"{', '.join(numbers[:10])} ... {numbers[-1]}"


MAX_QUIET_PER_FILE = 5


def format_quiet(report: RunReport) -> str:
    """``--quiet``: only what needs a person, and bounded: a few errors per rejected file and
    a count of the rest, then anything pending."""
    lines = []
    for f in report.rejected:
        errors = f.errors
        lines.append(f"REJECTED {f.name}: {_plural(len(errors), 'error')}")
        lines.extend(f"  ERROR: {p}" for p in errors[:MAX_QUIET_PER_FILE])
        if len(errors) > MAX_QUIET_PER_FILE:
            lines.append(f"  ... and {len(errors) - MAX_QUIET_PER_FILE} more (see "
                         f"{report.report_path or 'the run report'})")
    lines.extend(line for line in _einvoice_lines(report.einvoice_failures) if line)
    lines.extend(line for line in _pending_lines(report) if line)
    return "\n".join(lines)


def format_validation(report: ValidationReport) -> str:
    """Every problem of every file, information included."""
    lines = []
    for f in report.files:
        if f.status == "accepted":
            lines.append(f"OK        {f.name}: {_accepted(f)}")
        else:
            lines.append(f"ERRORS    {f.name}: {_plural(len(f.errors), 'error')}; this file "
                         "would not be billed")
        lines.extend(f"  {p.severity.upper()}: {p}" for p in f.problems)
    for s in report.skipped:
        lines.append(f"SKIPPED   {s.path.name}: {s.reason}")
    if not report.files and not report.skipped:
        lines.append("No workbooks found.")
    return "\n".join(lines)


def format_ledger(report: LedgerReport) -> str:
    lines = [f"Rebuilt {report.ledger}"] if report.ledger else []
    if report.pdfs_rendered:
        lines.append(f"Rendered {len(report.pdfs_rendered)} missing PDF"
                     f"{'s' if len(report.pdfs_rendered) != 1 else ''}: "
                     + _numbers(report.pdfs_rendered))
    lines.extend(f"Note: {n}" for n in report.notes)
    lines.extend(_einvoice_lines(report.einvoice_failures))
    if report.pending:
        lines.append("Not done yet:")
        lines.extend(f"  PENDING  {p}" for p in report.pending)
        lines.append("Fix the cause and run `progbill ledger` again.")
    return "\n".join(lines)


def format_restore(report: RestoreReport) -> str:
    if report.restored:
        lines = [f"Restored progbill.db from backups/{report.restored}."]
        if report.set_aside:
            lines.append("The store it replaced was kept: " + ", ".join(
                f"backups/{name}" for name in report.set_aside))
        lines.append("The next run checks it against the PDFs in invoices/ before billing.")
        return "\n".join(lines)
    if not report.copies:
        return ("No copies of the store in backups/ (one is made after every run). If you "
                "keep your own backup of progbill.db, copy it into the workspace.")
    lines = ["Copies of the store in backups/, newest first:"]
    for c in report.copies:
        last = f", last {c.last_document}" if c.last_document else ""
        lines.append(f"  {c.name}  {_plural(c.documents, 'document')}{last}")
    lines.append('Put one back with: progbill restore "NAME" -w WORKSPACE')
    return "\n".join(lines)


def format_document(detail: DocumentDetail) -> str:
    d = detail.document
    cur = str(d["currency"])

    def m(value: object) -> str:
        return _amount(int(value), cur)  # type: ignore[call-overload]

    lines = [
        f"{d['type']} {d['number']}  ({d['series']} series, fiscal year {d['fy']}, "
        f"no. {d['seq']})",
        f"  project      {d['project_id']} {d['project_name']}",
        f"  client       {d['client']}",
        f"  period       {d['period']}   date {d['invoice_date']}   due {d['due_date']}",
        f"  amounts      {cur}: completed {m(d['completed_this_period'])}, retainage "
        f"{m(d['retainage_this_period'])}, tax {m(d['tax'])}, amount due {m(d['amount_due'])}",
    ]
    if d.get("corrects_number"):
        lines.append(f"  corrects     {d['corrects_number']} of {d['corrects_date']}")
    lines += [
        f"  issued by    run {d['run_id']}",
        f"  source       {d['source_file']}",
        f"               sha256 {d['source_sha256']}",
    ]
    for row in detail.inputs.itertuples(index=False):
        where = row.archived_as or row.path
        lines.append(f"               read from {row.path}" + (
            f", archived as {where}" if row.archived_as else ""))
    if d.get("pdf_path"):
        state = {True: "matches the file on disk", False: "DIFFERS from the file on disk",
                 None: "file missing; `progbill ledger` renders it again"}[detail.pdf_matches]
        lines += [f"  pdf          {d['pdf_path']}",
                  f"               sha256 {d['pdf_sha256']} ({state})"]
    else:
        lines.append("  pdf          not rendered yet (`progbill ledger` renders it)")
    lines.append("")
    lines.append(f"  {'line':<8} {'description':<34} {'scheduled':>14} {'to date':>14} "
                 f"{'billed now':>14} {'retainage now':>14}")
    for ln in detail.lines.itertuples(index=False):
        if not ln.on_document:
            continue
        lines.append(f"  {str(ln.line_id)[:8]:<8} {str(ln.description)[:34]:<34} "
                     f"{m(ln.scheduled_value):>14} {m(ln.total_to_date):>14} "
                     f"{m(ln.billed):>14} {m(ln.retainage_this_period):>14}")
    for t in detail.taxes.itertuples(index=False):
        lines.append(f"  {t.label} {t.rate}% on {m(t.base)}: {m(t.amount)}")
    return "\n".join(lines)


def format_repair(report: RepairReport) -> str:
    if not report.voided and not report.blocked:
        return "Every document's totals are the sums of its lines; nothing to repair."
    lines = []
    for number, why in report.voided.items():
        lines.append(f"VOIDED   {number}: {why}. Its number stays used; its lines will be "
                     "billed again by the next run.")
    for number, why in report.blocked.items():
        lines.append(f"DAMAGED  {number}: {why}.")
    if report.voided:
        lines.append("Run `progbill ledger` (or the next month-end) to see them marked void; "
                     "the workbook that caused them is refused with an error at its cells "
                     "until its amounts are corrected.")
    return "\n".join(lines)
