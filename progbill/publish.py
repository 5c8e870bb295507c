"""Publishing what the store holds: the PDFs, the ledger workbook, copies of the store, and the
inbox files moved to ``archive/`` or ``failed/``.

Everything here runs after a run's transaction has committed. So nothing here may hide what was
issued: a step that cannot be done (a full disk, a read-only folder, ``ledger.xlsx`` being a
folder, a file name too long) becomes a :class:`Pending` item saying what and why, the other
steps go on, and the next run or ``progbill ledger`` does it again: PDFs not on disk are rendered,
the ledger is rebuilt, inbox files still there are read again (billing nothing twice) and moved.

Two promises about files already there:

* an issued document's PDF is never replaced by different bytes (:func:`render_missing_pdfs`);
* an inbox file is moved by renaming it, never copied: if it cannot be moved it stays where it
  is, and ``archive/`` receives exactly the bytes that were billed (:func:`move_inputs`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from progbill import ledger, linecache  # linecache imports ledger already
from progbill.billing.numbering import file_stem
from progbill.faults import checkpoint
from progbill.problems import Severity, printable
from progbill.readers.files import sha256_bytes, sha256_of
from progbill.sheetdata import Stale
from progbill.store import Store
from progbill.workspace import Workspace, atomic_path, atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from progbill.ledger import Earlier
    from progbill.readers import Workbook

Progress = Callable[[str, int, int], None]
MAX_NAME_BYTES = 255  # a file name on every common file system


@dataclass(frozen=True)
class Pending:
    """A step after the commit that is not done yet, and why."""

    step: str  # "pdf", "ledger", "store backup", "input", "report"
    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


def describe(exc: BaseException, root: Path | None = None) -> str:
    """An operating-system or SQLite failure in words a finance user can act on."""
    where = ""
    # a rename names its target second; the temporary file it came from says nothing to a user
    name = getattr(exc, "filename2", None) or getattr(exc, "filename", None)
    if name:
        path = Path(name)
        try:
            where = str(path.relative_to(root)) if root else str(path)
        except ValueError:
            where = str(path)
    code = getattr(exc, "errno", None)
    text = str(exc).casefold()
    if code in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in text:
        return "the disk is full; free some space"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS) or "readonly" in text:
        return (f"progbill may not write to {where or 'the workspace'} (read-only, or it "
                "belongs to another user); give it write permission")
    if code == errno.EISDIR:
        return f"{where or 'the target'} is a folder, where a file belongs; move the folder away"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long for the disk; rename the file"
    if code == errno.ENOTDIR:
        return f"a file stands where {where or 'a folder'} should be a folder; move it away"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}{f' ({where})' if where else ''}"
    return f"{type(exc).__name__}: {exc}"


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a file, or None when it cannot be read."""
    try:
        return sha256_of(path)
    except OSError:
        return None


# --------------------------------------------------------------------------------------------
# PDFs


def pdf_relative_path(number: str, period: str) -> str:
    """``invoices/2026-11/INV-2026-00001.pdf``; ``SSC/2026/0001`` becomes ``SSC_2026_0001.pdf``
    (:func:`~progbill.billing.numbering.file_stem`, injective)."""
    return f"invoices/{period}/{file_stem(number)}.pdf"


def missing_pdfs(index: pd.DataFrame, ws: Workspace) -> list[tuple[str, str]]:
    """(number, period) of the documents in ``index`` (``Store.pdf_index``) whose PDF is not
    recorded, or recorded but no longer on disk. A recorded path stays the document's file,
    even when today's naming would choose another (older versions wrote ``/`` as ``-``)."""
    voided = index["voided"].tolist() if "voided" in index else [0] * len(index)
    missing = []
    for number, period, path, void in zip(index["number"].tolist(), index["period"].tolist(),
                                          index["pdf_path"].tolist(), voided, strict=True):
        if not void and (not isinstance(path, str) or not (ws.root / path).is_file()):
            missing.append((number, period))
    return missing


def pending_pdfs(store: Store, ws: Workspace) -> tuple[int, dict[str, str]]:
    """How many PDFs are pending (as :func:`missing_pdfs` counts them: not recorded, or
    recorded and no longer on disk; never a voided document's), and the PDFs on disk by
    document number."""
    unrecorded, recorded = store.recorded_pdfs()
    present = {n: path for n, path in recorded.items() if (ws.root / path).is_file()}
    return unrecorded + len(recorded) - len(present), present


def xml_relative_path(number: str, period: str) -> str:
    """A document's UBL e-invoice, beside its PDF: ``invoices/2026-11/INV-2026-00001.xml``."""
    return pdf_relative_path(number, period)[:-4] + ".xml"


@dataclass
class Rendered:
    """What :func:`render_missing_pdfs` did: PDFs (and XML) written, steps pending, and
    documents whose e-invoice failed its rules (nothing of them was published)."""

    done: list[str] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    einvoice_failures: list[str] = field(default_factory=list)
    rules_not_run: dict[str, str] = field(default_factory=dict)
    xml_written: int = 0


def _write_once(ws: Workspace, relative: str, data: bytes, number: str) -> Pending | None:
    """Write an issued document's file unless it is there already; a different file at its
    path is left alone and reported."""
    target = ws.root / relative
    if target.exists():
        if file_sha256(target) == sha256_bytes(data):
            return None
        return Pending("pdf", relative, (
            f"a different file is already there, and {number}'s files never replace other "
            "bytes; move that file out of invoices/ (it is not this document), then run "
            "`progbill ledger`"))
    atomic_write_bytes(target, data)
    return None


def render_missing_pdfs(store: Store, ws: Workspace, renderer: Any,
                        context_of: Callable[[Store, str], dict[str, Any]],
                        workers: int | None = None, progress: Progress | None = None,
                        ) -> Rendered:
    """Render every document whose PDF is missing (and write its UBL e-invoice beside it, or
    only that where the PDF is there but the XML is not).

    Each PDF is written atomically as it arrives; the store records them in batches (a PDF
    written but not yet recorded is rendered again next time, to the same bytes). A file already
    at a document's path with other bytes is left as it is and reported: an issued document's
    PDF is never replaced by different bytes. The first write that fails stops rendering (a full
    disk or a read-only folder fails every write alike); what is left is pending. A document
    whose e-invoice fails its rules is not rendered at all: it is reported, never published."""
    from progbill.render.pool import render_all

    out = Rendered()
    missing = missing_pdfs(store.pdf_index(), ws)
    periods = dict(missing)
    ubl: dict[str, bytes] = {}

    def jobs() -> Iterator[tuple[str, dict[str, Any]]]:
        for number, _ in missing:
            context = context_of(store, number)
            out.rules_not_run.update(context.pop("_einvoice_not_run", {}))
            failures = context.pop("_einvoice_failures", [])
            if failures:
                out.einvoice_failures.extend(failures)
                continue
            if context.get("_ubl"):
                ubl[number] = context.pop("_ubl")
            yield number, context

    batch: list[tuple[str, str, str]] = []
    stopped: Pending | None = None
    rendering = render_all(jobs(), renderer, workers, count=len(missing))
    with closing(rendering) as rendered:  # type: ignore[type-var]
        for number, data in rendered:
            relative = pdf_relative_path(number, periods[number])
            target = ws.root / relative
            digest = sha256_bytes(data)
            on_disk = file_sha256(target) if target.exists() else None
            if target.exists() and on_disk != digest:
                out.pending.append(Pending("pdf", relative, (
                    f"a different file is already there (SHA-256 {str(on_disk)[:12]}...), and "
                    f"{number}'s PDF never replaces other bytes; move that file out of "
                    "invoices/ (it is not this document), then run `progbill ledger`")))
                continue
            try:
                xml = ubl.pop(number, None)
                if xml is not None:
                    clash = _write_once(ws, xml_relative_path(number, periods[number]), xml,
                                        number)
                    if clash is not None:
                        out.pending.append(clash)
                        continue
                    out.xml_written += 1
                if on_disk is None:
                    atomic_write_bytes(target, data)
                    checkpoint("pdf:written")
            except OSError as exc:
                stopped = Pending("pdf", relative, describe(exc, ws.root))
                break
            batch.append((number, relative, digest))
            out.done.append(number)
            if len(batch) >= 100:
                store.set_pdfs(batch)
                batch = []
            if progress:
                progress("render", len(out.done), len(missing))
    if batch:
        store.set_pdfs(batch)
    if stopped is not None:
        left = len(missing) - len(out.done) - len(out.pending)
        out.pending.append(Pending("pdf", f"{left} PDF{'s' if left != 1 else ''}",
                                   f"not written: {stopped.reason} (first: {stopped.what})"))
        return out
    _write_missing_xml(store, ws, context_of, out, set(periods))
    return out


def _write_missing_xml(store: Store, ws: Workspace,
                       context_of: Callable[[Store, str], dict[str, Any]], out: Rendered,
                       rendered_now: set[str]) -> None:
    """UBL files of documents whose PDF is there but whose XML is not (deleted, or lost)."""
    for d in store.ubl_documents().itertuples(index=False):
        if d.number in rendered_now:
            continue
        relative = xml_relative_path(d.number, d.period)
        if (ws.root / relative).exists():
            continue
        context = context_of(store, d.number)
        out.rules_not_run.update(context.get("_einvoice_not_run", {}))
        if context.get("_einvoice_failures"):
            out.einvoice_failures.extend(context["_einvoice_failures"])
            continue
        try:
            clash = _write_once(ws, relative, context["_ubl"], d.number)
        except OSError as exc:
            out.pending.append(Pending("pdf", relative, describe(exc, ws.root)))
            return
        if clash is not None:
            out.pending.append(clash)
        else:
            out.xml_written += 1


# --------------------------------------------------------------------------------------------
# the ledger workbook and copies


def publish_ledger(store: Store, ws: Workspace, notes: list[str], keep: int = 5,
                   as_of: date | None = None, ageing_as_of: date | None = None) -> Path:
    """Rebuild ledger.xlsx, carrying the accountant's content (progbill.kept); if Excel has it
    open, write an updated copy beside it instead."""
    checkpoint("ledger:before")
    target = ws.ledger_path
    lock_file = ws.root / f"~${target.name}"
    if lock_file.exists():
        target = ws.root / f"ledger (updated {_now():%Y-%m-%d %H%M}).xlsx"
        notes.append(
            f"ledger.xlsx is open in Excel, so it was left as it is; the updated ledger is "
            f"{target.name}")
    # the copy of the ledger being replaced is made on another thread (its deflating runs
    # beside the building of the new sheets) and finished before the file is replaced
    backup = start_backup(ws, keep, store) if target == ws.ledger_path else None
    years = store.fiscal_years()
    current = max(years) if years else None
    documents = store.ledger_documents(current) if current is not None else []
    edited = edited_ledger(store, ws)
    stored = stored_kept(store)
    reuse = _reusable_lines(ws, current, documents, edited, stored)
    after = (reuse.earlier, reuse.after) if reuse else None
    sheets = ledger.build_sheets(store, target.parent, ws.root, as_of, ageing_as_of, current,
                                 after)
    kept, typed_payments = accountant_content(store, ws, sheets, notes, edited, stored)
    if typed_payments:
        # receipts typed in the ledger change balances and states: build again with them
        sheets = ledger.build_sheets(store, target.parent, ws.root, as_of, ageing_as_of,
                                     current, after)
    close_fiscal_years(store, ws, years, kept, notes, as_of, ageing_as_of)
    if backup is not None:
        backup.finish(store)
    try:
        if reuse and not _continues(sheets):
            raise Stale(linecache.SHEET)
        written = ledger.write_ledger(store, ws.root, target, notes, sheets, kept)
    except Stale:  # the kept rows do not fit this workbook: every row written anew
        sheets = ledger.build_sheets(store, target.parent, ws.root, as_of, ageing_as_of, current)
        written = ledger.write_ledger(store, ws.root, target, notes, sheets, kept)
    store.set_meta("ledger_sha256", sha256_of(target))
    _keep_lines(ws, current, documents, written.get(linecache.SHEET))
    return target


def _continues(sheets: list[Any]) -> bool:
    """Whether the Lines rows of these ``sheets`` can be written after the ones kept: not when
    the sheet is continued on a second sheet (written whole), known before anything is
    written. (A workbook written in the other mode than theirs, the month the ledger passes
    ``CONSTANT_MEMORY_ROWS``, gives them its styles: ``sheetdata.restyled``.)"""
    return sum(s.total_rows for s in sheets
               if s.name == linecache.SHEET) <= ledger.MAX_SHEET_ROWS


def _reusable_lines(ws: Workspace, fy: int | None, documents: linecache.Documents,
                    edited: Path | None, kept: Any) -> linecache.Reuse | None:
    """The Lines rows kept from the last ledger, when this one can reuse them
    (:mod:`progbill.linecache`); not when the ledger was ``edited`` since progbill wrote it
    (its rows are read and written anew), nor when the accountant's content ``kept`` in the
    store has columns or comments on Lines."""
    if fy is None or edited is not None:
        return None
    if kept.columns_of(linecache.SHEET) or kept.comments_of(linecache.SHEET):
        return None
    return linecache.load(ws, fy, documents)


def _keep_lines(ws: Workspace, fy: int | None, documents: linecache.Documents,
                written: Earlier | None) -> None:
    """Keep the Lines rows just written for the next ledger; a cache that cannot be written
    is dropped (the next ledger writes every row), never an error."""
    try:
        if fy is not None and written is not None:
            linecache.save(ws, fy, documents, written)
        else:
            linecache.drop(ws)
    except OSError:
        with suppress(OSError):
            linecache.drop(ws)


def closed_ledger_path(ws: Workspace, fy: int) -> Path:
    return ws.root / f"ledger-FY{fy}.xlsx"


def close_fiscal_years(store: Store, ws: Workspace, years: dict[int, int], kept: Any,
                       notes: list[str], as_of: date | None = None,
                       ageing_as_of: date | None = None) -> list[Path]:
    """``ledger.xlsx`` holds the fiscal year of the latest documents; each earlier year is
    closed into ``ledger-FY<year>.xlsx`` once, with the accountant's content it had in
    ledger.xlsx, and written again only when it is missing or the store gives that year other
    documents than it holds (a late period billed after the year was closed)."""
    if len(years) < 2:
        return []
    closed = json.loads(store.meta_value("closed_fiscal_years") or "{}")
    written = []
    for fy, count in sorted(years.items())[:-1]:
        path = closed_ledger_path(ws, fy)
        if path.is_file() and closed.get(str(fy)) == count:
            continue
        if path.is_file():  # the year changed after its close: keep the file as it was
            copy = keep_edited(ws, path)
            notes.append(f"{path.name} is written again: fiscal year {fy} now has {count} "
                         f"documents; the file as it was is kept in backups/kept/{copy.name}")
        sheets = ledger.build_sheets(store, ws.root, ws.root, as_of, ageing_as_of, fy)
        ledger.write_ledger(store, ws.root, path, notes, sheets, kept)
        closed[str(fy)] = count
        written.append(path)
        notes.append(f"fiscal year {fy} is closed into {path.name} ({count} documents, with "
                     "your columns and comments); ledger.xlsx now holds the documents of "
                     f"fiscal year {max(years)}, and its Projects sheet the totals to date")
    if written:
        store.set_meta("closed_fiscal_years", json.dumps(closed, sort_keys=True))
    return written


def saved_ledger(ws: Workspace) -> Path | None:
    """The ledger the accountant saved last: ledger.xlsx, or the newest updated copy written
    while it was open in Excel, whichever was saved later."""
    found = [p for p in [ws.ledger_path, *ws.root.glob("ledger (updated *).xlsx")]
             if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None


def edited_ledger(store: Store, ws: Workspace) -> Path | None:
    """The ledger the accountant saved last (:func:`saved_ledger`), when it is not the file
    progbill last wrote."""
    source = saved_ledger(ws)
    if source is None or sha256_of(source) == store.meta_value("ledger_sha256"):
        return None
    return source


def stored_kept(store: Store) -> Any:
    """The accountant's content as kept in the store (progbill.kept)."""
    from progbill import kept as kept_content

    stored = store.meta_value("kept_content")
    return kept_content.Kept.from_json(stored) if stored else kept_content.Kept()


def accountant_content(store: Store, ws: Workspace, sheets: list[Any], notes: list[str],
                       source: Path | None, stored: Any) -> tuple[Any, bool]:
    """The accountant's columns, sheets and comments: read from ``source`` (the saved ledger,
    when it is not the file progbill last wrote: :func:`edited_ledger`; and then kept in the
    store, and the file in backups/kept/), else ``stored`` (as kept in the store,
    :func:`stored_kept`); and whether receipts
    typed in its Payments sheet were recorded. Edits to issued documents' cells and what cannot
    be carried are named in ``notes``."""
    from progbill import kept as kept_content
    from progbill.ledger import OWN_HEADERS

    if source is None:
        return stored, False
    issued = {s.name: s.issued() for s in sheets if s.name in kept_content.IMMUTABLE}
    try:
        reading = kept_content.read(source, OWN_HEADERS, issued)
    except Exception as exc:  # a damaged or foreign file: say so, keep what the store has
        notes.append(f"{source.name} could not be read for your additions "
                     f"({type(exc).__name__}); what was kept before is carried instead")
        return stored, False
    if source != ws.ledger_path:
        notes.append(f"your additions were read from {source.name}, saved after ledger.xlsx")
    if reading.edits:
        shown = "; ".join(reading.edits[:kept_content.MAX_EDITS_LISTED])
        more = len(reading.edits) - kept_content.MAX_EDITS_LISTED
        notes.append(
            f"WARNING: {len(reading.edits)} cell{'s' if len(reading.edits) > 1 else ''} of "
            f"issued documents were edited in {source.name} and not kept: {shown}"
            f"{f' (and {more} more)' if more > 0 else ''}. Issued documents are immutable; "
            "to change one, correct the progress workbook and run the period again, which "
            "issues a credit note or a supplementary invoice")
    if reading.not_carried:
        notes.append("WARNING: the ledger is rebuilt from cells, so these were not carried: "
                     f"{'; '.join(reading.not_carried)}")
    if reading.payments is not None:
        record_typed_payments(store, reading.payments, notes)
    new = reading.kept
    if not new.empty or reading.edits or reading.not_carried:
        copy = keep_edited(ws, source)
        parts = [f"{len(new.columns)} column{'s' if len(new.columns) != 1 else ''}",
                 f"{len(new.sheets)} sheet{'s' if len(new.sheets) != 1 else ''}",
                 f"{len(new.comments)} comment{'s' if len(new.comments) != 1 else ''}"]
        notes.append(f"your additions to the ledger were carried into the new one "
                     f"({', '.join(parts)}); the file as you saved it is kept in "
                     f"backups/kept/{copy.name}")
    store.set_meta("kept_content", new.to_json())
    return new, reading.payments is not None


def record_typed_payments(store: Store, typed: list[dict[str, Any]], notes: list[str]) -> None:
    """The Payments sheet is the accountant's list of receipts: it replaces the payments kept
    from it before. A rejected row stays in the sheet with its problem (and in Exceptions)."""
    from progbill.receivables import check_payments

    recorded = store.payments()
    others = recorded[recorded["source"] != "ledger.xlsx"]
    checked, warnings = check_payments(typed, store.documents(), others)
    now = _now().isoformat()
    for row in checked:
        row["recorded"] = now
        row.pop("code", None)
    store.record_payments(checked, replace_source="ledger.xlsx")
    rejected = [r for r in checked if r["status"] == "rejected"]
    if checked:
        notes.append(f"payments typed in the ledger: {len(checked) - len(rejected)} recorded"
                     + (f", {len(rejected)} rejected (see their Problem column)"
                        if rejected else ""))
    for r in rejected:
        notes.append(f"ERROR: ledger.xlsx, Payments row {r['source_row']} ({r['document']}): "
                     f"{r['problem']}")
    notes.extend(f"WARNING: ledger.xlsx, Payments row {checked[i]['source_row']}: {message}"
                 for i, _code, message in warnings)


def keep_edited(ws: Workspace, source: Path) -> Path:
    """A copy of a ledger the accountant edited, in backups/kept/: never rotated away."""
    (ws.backups / "kept").mkdir(parents=True, exist_ok=True)
    target = _unused(ws.backups / "kept" / f"ledger {_now():%Y-%m-%d %H%M%S}.xlsx")
    atomic_write_bytes(target, ledger_copy(source, depth=2))
    return target


def ledger_copy(source: Path, depth: int) -> bytes:
    """The bytes of a copy of a ledger kept ``depth`` folders below the workspace, its PDF links
    made relative to where the copy is (``invoices/...`` becomes ``../invoices/...``), so that
    they still open; the same ledger always gives the same bytes."""
    return relinked(source.read_bytes(), depth)


def relinked(data: bytes, depth: int) -> bytes:
    """:func:`ledger_copy` of a ledger's bytes."""
    from progbill.ledger import relink

    up = "../" * depth
    return relink(data, lambda target: target if ":" in target else up + target)


def _unused(path: Path) -> Path:
    """``path``, or ``NAME (2).xlsx`` ... when a copy made the same second has the name."""
    k = 2
    found = path
    while found.exists():
        found = path.with_name(f"{path.stem} ({k}){path.suffix}")
        k += 1
    return found


def _now() -> datetime:
    return datetime.now().astimezone()


def keep_backup(ws: Workspace, keep: int, store: Store) -> Path | None:
    """Copy the current ledger.xlsx to backups/ before it is replaced, only when its content
    changed since the last copy (the store remembers that ledger's SHA-256, so an unchanged
    ledger is not even read again); keep the newest ``keep``."""
    backup = start_backup(ws, keep, store)
    return backup.finish(store) if backup is not None else None


@dataclass
class _Backup:
    """A copy of ledger.xlsx being written to backups/ on its own thread."""

    target: Path
    sha256: str
    keep: int
    folder: Path
    done: Future[None]

    def finish(self, store: Store) -> Path:
        self.done.result()  # the copy's error, if any, is raised here
        store.set_meta("backed_up_ledger_sha256", self.sha256)
        _rotate(self.folder.glob("ledger *.xlsx"), self.keep)
        return self.target


def start_backup(ws: Workspace, keep: int, store: Store) -> _Backup | None:
    """Start :func:`keep_backup`'s copy (the ledger's bytes are read here, before anything can
    replace the file); ``finish`` it before ledger.xlsx is replaced."""
    if keep <= 0 or not ws.ledger_path.is_file():
        return None
    data = ws.ledger_path.read_bytes()
    current = sha256_bytes(data)
    if current == store.meta_value("backed_up_ledger_sha256") and any(
            ws.backups.glob("ledger *.xlsx")):
        return None
    folder = ws.backups
    target = _unused(folder / f"ledger {_now():%Y-%m-%d %H%M%S}.xlsx")

    def copy() -> None:
        atomic_write_bytes(target, relinked(data, depth=1))

    pool = ThreadPoolExecutor(max_workers=1)
    done = pool.submit(copy)
    pool.shutdown(wait=False)  # the thread ends when the copy is written
    return _Backup(target, current, keep, folder, done)


STORE_BACKUP_GLOB = "progbill *.db"


def backup_store(store: Store, ws: Workspace, keep: int) -> Path | None:
    """A consistent copy of the store (SQLite's online backup) in backups/, after each run that
    committed; the newest ``keep`` are kept. ``progbill restore`` puts one back."""
    if keep <= 0:
        return None
    target = _unused(ws.backups / f"progbill {_now():%Y-%m-%d %H%M%S}.db")
    with atomic_path(target) as tmp:  # fsynced, then renamed into place
        store.copy_to(tmp)
    _rotate(ws.backups.glob(STORE_BACKUP_GLOB), keep)
    return target


def _rotate(paths: Any, keep: int) -> None:
    """Delete all but the newest ``keep`` (by the time in their names, then their number)."""
    def age(path: Path) -> tuple[str, int]:
        stem = path.stem
        number = 1
        if stem.endswith(")") and " (" in stem:
            stem, _, tail = stem.rpartition(" (")
            number = int(tail[:-1]) if tail[:-1].isdigit() else 1
        return stem, number

    for old in sorted(paths, key=age)[:-keep]:
        old.unlink()


# --------------------------------------------------------------------------------------------
# inbox files


def safe_name(stem: str, tail: str, reserve: int = 0) -> str:
    """``stem + tail``, with the stem shortened (on a character boundary, with a short hash of
    the whole stem so that two long names stay apart) to fit a file name of at most 255 bytes
    while leaving ``reserve`` bytes for a suffix added later (``.errors.txt``)."""
    room = MAX_NAME_BYTES - reserve - len(tail.encode())
    if len(stem.encode()) <= room:
        return stem + tail
    marker = "~" + hashlib.sha256(stem.encode()).hexdigest()[:8]
    budget = room - len(marker)
    cut = stem.encode()[:max(budget, 0)].decode("utf-8", errors="ignore")
    return cut + marker + tail


ERRORS_SUFFIX = ".errors.txt"


def plan_moves(ws: Workspace, workbooks: list[Workbook], period: str,
               started: datetime) -> dict[str, Path]:
    """Where each inbox file goes: ``archive/P/NAME.STAMP.ext`` or ``failed/NAME.STAMP.ext``,
    shortened safely when the name is long, never onto an existing file."""
    stamp = f"{started:%Y%m%d-%H%M%S}"
    moves: dict[str, Path] = {}
    for wb in workbooks:
        folder = ws.archive(period) if wb.ok else ws.failed
        suffix = wb.path.suffix
        target = folder / safe_name(wb.path.stem, f".{stamp}{suffix}", len(ERRORS_SUFFIX))
        n = 1
        while target.exists() or target in moves.values():
            n += 1
            target = folder / safe_name(wb.path.stem, f".{stamp}-{n}{suffix}",
                                        len(ERRORS_SUFFIX))
        moves[wb.name] = target
    return moves


def move_inputs(ws: Workspace, workbooks: list[Workbook],
                moves: dict[str, Path]) -> dict[str, Pending]:
    """Archive accepted inbox files; move rejected ones to failed/ with NAME.errors.txt beside.

    A move is a rename: the file is never copied while it also stays in the inbox. Across file
    systems the billed bytes are written to the target and the inbox file removed; if it cannot
    be removed, the copy is taken back. What cannot be moved stays in the inbox and is pending:
    the next run reads it again, bills nothing twice, and moves it. If the file on disk is no
    longer the one that was billed (it was replaced during the run), the billed bytes are
    archived and the new file stays in the inbox for the next run. Returns the files not moved,
    by name."""
    pending: dict[str, Pending] = {}
    for wb in workbooks:
        target = moves.get(wb.name)
        if target is None or not os.path.lexists(wb.path):
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not wb.ok:
                atomic_write_text(target.with_name(target.name + ERRORS_SUFFIX),
                                  errors_text(wb))
            checkpoint("move:before")
            _move_one(wb, target)
            checkpoint("move:after")
        except OSError as exc:
            pending[wb.name] = Pending("input", f"inbox/{printable(wb.name)}", (
                f"not moved to {target.parent.relative_to(ws.root)}/: {describe(exc, ws.root)};"
                " it stays in the inbox and the next run moves it (billing nothing twice)"))
    return pending


def _move_one(wb: Workbook, target: Path) -> None:
    try:
        os.rename(wb.path, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV or wb.data is None:
            raise
        atomic_write_bytes(target, wb.data)
        try:
            os.unlink(wb.path)
        except OSError:
            target.unlink()
            raise
        return
    if wb.data is not None and not target.is_symlink() and file_sha256(target) != wb.sha256:
        # Replaced while the run read it: the new file goes back to the inbox for the next run,
        # and the archive keeps the bytes that were billed.
        if not os.path.lexists(wb.path):
            os.rename(target, wb.path)
        atomic_write_bytes(target, wb.data)


def errors_text(wb: Workbook) -> str:
    lines = [f"{printable(wb.name)} was not billed. Fix these problems and drop the file in "
             "the inbox again.", ""]
    for p in wb.problems:
        if p.severity is not Severity.INFO:
            lines.append(f"{p.severity.upper()}: {p}")
    return "\n".join(lines) + "\n"


def write_report_json(ws: Workspace, run_id: str, payload: dict[str, Any]) -> Path:
    checkpoint("report:before")
    path = ws.runs / f"{run_id}.json"
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path
