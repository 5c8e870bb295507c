"""The month-end run and the other commands, as library calls (the CLI only prints their reports).

read -> validate -> bill -> commit -> render -> publish (spec README). Each stage takes data and
returns data plus problems; only this module touches the workspace, and it does so in an order
that keeps the store the single source of truth:

1. the store is changed in one transaction (documents, numbers, line state, run record);
2. PDFs are rendered from the store, each written atomically; a document whose PDF is missing
   is rendered by the next ``run`` or ``ledger``;
3. ``ledger.xlsx`` is rebuilt from the store, atomically;
4. inbox files are moved to ``archive/`` or ``failed/`` last: if a crash comes first, the next
   run reads them again, bills nothing new (billing is to date) and moves them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from progbill import __version__
from progbill.billing.core import (
    Bill,
    LedgerState,
    contracts,
    draft_numbers,
    duplicate_projects,
    evaluate,
    issue,
    run_total_problems,
)
from progbill.billing.periods import Period
from progbill.columns import LINE_SCHEDULE, PROJECT_DETAILS, is_missing, row_dicts
from progbill.config import Config
from progbill.faults import checkpoint
from progbill.money import exponent
from progbill.problems import (
    Location,
    Problem,
    Severity,
    WorkspaceError,
)
from progbill.publish import (
    STORE_BACKUP_GLOB,
    Pending,
    backup_store,
    describe,
    missing_pdfs,
    move_inputs,
    pdf_relative_path,
    pending_pdfs,
    plan_moves,
    publish_ledger,
    render_missing_pdfs,
    write_report_json,
)
from progbill.readers import Workbook, read_workbook
from progbill.readers.files import discover, sha256_bytes
from progbill.readers.layout import empty_projects
from progbill.reports import (
    DocumentDetail,
    DocumentReport,
    FileReport,
    LedgerReport,
    RepairReport,
    RestoreReport,
    RunReport,
    StoreCopy,
    ValidationReport,
)
from progbill.store import (
    InputRecord,
    RunRecord,
    Store,
    document_records,
    open_store,
    tax_records,
)
from progbill.workspace import (
    Workspace,
    atomic_path,
    atomic_write_bytes,
    workspace_lock,
)


@dataclass(frozen=True)
class RunOptions:
    period: Period
    paths: tuple[Path, ...] = ()
    draft: bool = False
    no_pdf: bool = False
    workers: int | None = None
    config_path: Path | None = None
    wait_seconds: float = 60.0
    run_date: date | None = None  # the day of the run (tests fix it)
    progress: Callable[[str, int, int], None] | None = None  # (stage, done, total)


def _now() -> datetime:
    return datetime.now().astimezone()


# --------------------------------------------------------------------------------------------
# reading and checking


Progress = Callable[[str, int, int], None]


def read_inputs(files: list[Path], config: Config, progress: Progress | None = None,
                inbox: Path | None = None) -> list[Workbook]:
    """Read every file; with ``inbox``, files that are links or resolve outside it are refused."""
    from progbill.readers.raw import ReadLimits

    limits = ReadLimits(config.input.max_rows, config.input.max_columns)
    workbooks = []
    for i, path in enumerate(files, start=1):
        workbooks.append(read_workbook(
            path, default_currency=config.billing.currency, date_order=config.input.date_order,
            max_file_mb=config.input.max_file_mb, limits=limits, inbox=inbox,
            percent_scale=config.input.percent_scale))
        if progress:
            progress("read", i, len(files))
    seen: dict[str, Workbook] = {}
    for wb in workbooks:
        if wb.name in seen:
            wb.problems.append(Problem(
                "duplicate-file-name", Severity.ERROR,
                f"another input is also named {wb.name} ({seen[wb.name].path}); rename one "
                "so every document can be traced to its file", Location(wb.name)))
        else:
            seen[wb.name] = wb
    return workbooks


# Workbooks that bill nothing themselves: they give project details or schedules.
_NOT_BILLED = ("register", "schedule", "payments")


def check_required_settings(documents: pd.DataFrame, projects: pd.DataFrame,
                            config: Config) -> None:
    """A document type that needs a setting the configuration lacks stops the run before
    anything is issued, naming the key: a GST tax invoice must carry the seller's GSTIN."""
    from progbill.problems import ConfigError

    if documents.empty:
        return
    from progbill.config import einvoice_missing

    missing = einvoice_missing(config)
    if missing:
        raise ConfigError(
            f"einvoice.formats = {list(config.einvoice.formats)} needs {', '.join(missing)} in "
            "progbill.toml (README \"E-invoices\" lists what each format needs); set them, "
            "or turn e-invoicing off, and run again (nothing was issued)")
    labels = dict(zip(projects["project_id"], projects["tax_label"], strict=False))
    gst = documents[documents["project_id"].map(labels) == "GST"]
    if len(gst) and not (config.seller.tax_id or "").strip():
        raise ConfigError(
            f"{len(gst)} document{'s' if len(gst) > 1 else ''} of this run "
            f"({', '.join(map(str, gst['project_id'].head(3)))}) would be GST tax invoices, "
            "which must show the seller's GSTIN; set seller.tax_id in progbill.toml and run "
            "again (nothing was issued)")


def check_einvoice_projects(workbooks: list[Workbook], config: Config) -> None:
    """With e-invoicing on, each project must give what its e-invoices need: the client's
    country (all formats), Peppol's electronic address and a reference, XRechnung's city,
    post code and Leitweg-ID, and a tax category that fits its rate. A project that lacks one
    is an ``einvoice-details`` error at its row, naming every column to add."""
    from progbill.einvoice.model import EInvoiceError, derive_category

    settings = config.einvoice
    need = ["client_country"]
    if "ubl" in settings.formats:
        need.append("client_endpoint")
        if settings.ubl_cius == "xrechnung":
            need += ["client_city", "client_postal_code", "buyer_reference"]
    for wb in workbooks:
        problems = []
        for record in row_dicts(wb.projects):
            pid = str(record["project_id"])
            at = Location(wb.name, record["_sheet"] or None, int(record["_row"]))
            lacking = [name for name in need if not str(record.get(name) or "").strip()]
            if "ubl" in settings.formats and settings.ubl_cius == "peppol" and not (
                    str(record.get("buyer_reference") or "").strip()
                    or str(record.get("po_number") or "").strip()):
                lacking.append("buyer_reference or po_number")
            if lacking:
                problems.append(Problem(
                    "einvoice-details", Severity.ERROR,
                    f"project {pid} needs {', '.join(lacking)} for its e-invoices "
                    f"({', '.join(settings.formats)}); add the column"
                    f"{'s' if len(lacking) > 1 else ''} to the projects sheet or register",
                    at))
                continue
            country = str(record.get("client_country") or "").strip()
            if len(country) != 2 or not country.isalpha():
                problems.append(Problem(
                    "einvoice-details", Severity.ERROR,
                    f"project {pid}: client_country {country!r} is not a two-letter ISO "
                    "country code such as DE, FR or BE", replace(at, column="client_country")))
            endpoint = str(record.get("client_endpoint") or "").strip()
            if endpoint and not re.fullmatch(r"[0-9A-Z]{2,4}:\S+", endpoint):
                problems.append(Problem(
                    "einvoice-details", Severity.ERROR,
                    f"project {pid}: client_endpoint {endpoint!r} is not written SCHEME:ID, "
                    "e.g. 0208:0207451227 (the EAS scheme, a colon, the identifier)",
                    replace(at, column="client_endpoint")))
            rate = record.get("tax_rate")
            rate = config.billing.tax_rate if is_missing(rate) else Decimal(str(rate))
            try:
                derive_category(str(record.get("tax_category") or ""), rate,
                                bool(record.get("reverse_charge")))
            except EInvoiceError as exc:
                problems.append(Problem("einvoice-details", Severity.ERROR,
                                        f"project {pid}: {exc}",
                                        replace(at, column="tax_category")))
            if str(record.get("tax_label")) == "GST":
                problems.append(Problem(
                    "einvoice-details", Severity.ERROR,
                    f"project {pid} is billed with India's GST, which EN 16931 e-invoices "
                    "(factur-x, ubl) cannot carry; turn einvoice.formats off for it",
                    replace(at, column="tax_rate")))
        wb.add(problems)


def check_payment_workbooks(workbooks: list[Workbook], store: Store | None) -> None:
    """Check the receipts of payments workbooks against the issued documents and the payments
    recorded (and those of earlier workbooks of this run): a row that cannot be recorded is an
    error at its cell, so the workbook is rejected and nothing of it is recorded."""
    from progbill.receivables import check_payments

    receipts = [wb for wb in workbooks if wb.ok and wb.layout == "payments"]
    if not receipts:
        return
    documents = store.documents() if store is not None else pd.DataFrame(columns=[
        "number", "type", "amount_due", "corrects_number", "currency", "invoice_date"])
    recorded = store.payments() if store is not None else pd.DataFrame(columns=[
        "document", "amount", "status", "reference", "source"])
    for wb in receipts:
        assert wb.payments is not None
        checked, warnings = check_payments(wb.payments.to_dict("records"), documents, recorded)
        sheet = next(iter(wb.headers))[0] if wb.headers else None
        problems = [Problem(str(c["code"]), Severity.ERROR, str(c["problem"]), Location(
                            wb.name, sheet, int(str(c["source_row"])),
                            "amount" if c["code"] == "overpayment" else "document"))
                    for c in checked if c["status"] == "rejected"]
        problems += [Problem(code, Severity.WARNING, message,
                             Location(wb.name, sheet, int(str(checked[i]["source_row"]))))
                     for i, code, message in warnings]
        wb.add(problems)
        if wb.ok:
            wb.checked_payments = [{k: v for k, v in c.items() if k != "code"} for c in checked]
            recorded = pd.concat([recorded, pd.DataFrame(wb.checked_payments)],
                                 ignore_index=True)


def complete_projects(workbooks: list[Workbook], store: Store | None) -> None:
    """Give each progress workbook's projects the details the workbook does not: from a
    projects register in this run, else from the project's details kept in the store (earlier
    runs). A register and a workbook that both give a detail must agree; a project with no
    client anywhere, or read in another currency than it is billed in, is an error."""
    registers = [wb for wb in workbooks if wb.ok and wb.layout in _NOT_BILLED]
    _reject_shared_projects([wb for wb in registers if wb.layout == "register"])
    registered: dict[str, tuple[dict[str, Any], str]] = {}
    for wb in registers:
        if not wb.ok:
            continue
        for record in row_dicts(wb.projects):
            given = set(str(record["_given"]).split(","))
            pid = str(record["project_id"])
            details = {k: record[k] for k in PROJECT_DETAILS if k in given}
            if pid in registered:  # a register and a schedule workbook: they must agree
                earlier, earlier_file = registered[pid]
                clash = [k for k in details if k in earlier and k != "tax_label"
                         and not is_missing(details[k]) and not is_missing(earlier[k])
                         and details[k] != earlier[k]]
                if clash:
                    wb.add([Problem(
                        "project-conflict", Severity.ERROR,
                        f"project {pid} has {clash[0]} {details[clash[0]]!r} here but "
                        f"{earlier[clash[0]]!r} in {earlier_file}; correct one of them",
                        Location(wb.name, record["_sheet"] or None, int(record["_row"]),
                                 clash[0]))])
                    continue
                details = {**earlier, **{k: v for k, v in details.items()
                                         if not is_missing(v)}}
            registered[pid] = (details, wb.name)
    progress = [wb for wb in workbooks if wb.ok and wb.layout not in _NOT_BILLED]
    ids = [pid for wb in progress for pid in wb.projects["project_id"]]
    kept = store.project_details(ids) if store is not None else {}
    for wb in progress:
        problems: list[Problem] = []
        frame = wb.projects.copy()
        given_by_row = []  # each project's _given, set as a column at once
        for i, record in enumerate(row_dicts(frame)):
            pid = str(record["project_id"])
            given = set(str(record["_given"]).split(",")) - {""}
            at = Location(wb.name, record["_sheet"] or None, int(record["_row"]))
            from_register, register = registered.get(pid, ({}, ""))
            for name, value in from_register.items():
                if name in given and not is_missing(value) and record[name] != value and \
                        name != "tax_label":
                    problems.append(Problem(
                        "project-conflict", Severity.ERROR,
                        f"project {pid} has {name} {record[name]!r} here but {value!r} in the "
                        f"register {register}; correct one of them", replace(at, column=name)))
            stored = kept.get(pid, {})
            for name in PROJECT_DETAILS:
                if name in given:
                    continue
                source = from_register if name in from_register else stored
                if name not in source or is_missing(source[name]):
                    continue
                value = source[name]
                if name == "currency" and exponent(str(value)) != exponent(
                        str(record["currency"])):
                    # its amounts were read in another currency's minor units
                    problems.append(Problem(
                        "currency-changed", Severity.ERROR,
                        f"project {pid} is billed in {value}, but this workbook gives no "
                        f"currency and was read in {record['currency']}; add a Currency "
                        f"column (or a line 'Currency: {value}' above the table)", at))
                    continue
                frame.at[i, name] = record[name] = value
                given.add(name)
            if not str(record["client"] or "").strip():
                problems.append(Problem(
                    "no-client", Severity.ERROR,
                    f"project {pid} has no client: add a Client column, a line such as "
                    "'Client: Acme Ltd' above the table, or a projects register (a workbook "
                    "with Project and Client columns) to the same run; once billed, a project "
                    "keeps its client for later runs", replace(at, column="client")))
            given_by_row.append(",".join(sorted(given)))
        frame["_given"] = pd.Series(given_by_row, index=frame.index, dtype=object)
        wb.projects = frame
        if problems:
            wb.add(problems)


def complete_schedules(workbooks: list[Workbook], store: Store | None) -> None:
    """Give the lines of progress-only workbooks (line ids and progress) their schedule: from a
    schedule workbook of this run, else from the schedule kept in the store. A line that
    neither knows is an error; a full line that disagrees with this run's schedule workbook
    too, since progbill never picks one of two figures."""
    schedules = [wb for wb in workbooks if wb.ok and wb.layout == "schedule"]
    _reject_shared_projects(schedules)
    in_run: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    for wb in schedules:
        if wb.ok:
            for record in row_dicts(wb.lines):
                in_run[(str(record["project_id"]), str(record["line_id"]))] = (record, wb.name)
    progress = [wb for wb in workbooks if wb.ok and wb.layout not in ("register", "schedule")]
    wanted = {str(pid) for wb in progress
              for pid in wb.lines.loc[wb.lines["_progress_only"], "project_id"]}
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    if wanted and store is not None:
        for record in row_dicts(store.line_schedule(wanted)):
            kept[(str(record["project_id"]), str(record["line_id"]))] = record
    for wb in progress:
        if not in_run and not wb.lines["_progress_only"].any():
            continue  # full lines, and no schedule workbook to compare them with
        problems: list[Problem] = []
        frame = wb.lines.copy()
        for i, record in enumerate(row_dicts(frame)):
            key = (str(record["project_id"]), str(record["line_id"]))
            at = Location(wb.name, record["_sheet"] or None, int(record["_row"]), "milestone_id")
            given, source = in_run.get(key, (None, ""))
            if not record["_progress_only"]:
                if given is not None and (given["scheduled_value"], given["description"]) != (
                        record["scheduled_value"], record["description"]):
                    problems.append(Problem(
                        "figures-disagree", Severity.ERROR,
                        f"line {key[1]} of project {key[0]} is scheduled here as "
                        f"{record['description']!r} at {record['scheduled_value']} minor units "
                        f"but as {given['description']!r} at {given['scheduled_value']} in the "
                        f"schedule {source}; correct one of them", at))
                continue
            found = given if given is not None else kept.get(key)
            if found is None:
                problems.append(Problem(
                    "unknown-line", Severity.ERROR,
                    f"line {key[1]} of project {key[0]} is in no schedule: this progress-only "
                    "workbook gives no description or scheduled value, and neither an earlier "
                    "run nor a schedule workbook in this run lists the line; correct the line "
                    "id, or add the line to the project's schedule workbook and run both", at))
                continue
            for name in LINE_SCHEDULE:
                frame.at[i, name] = found[name] if found[name] is not None else ""
        frame["scheduled_value"] = frame["scheduled_value"].astype("int64")
        wb.lines = frame
        if problems:
            wb.add(problems)


def _reject_shared_projects(workbooks: list[Workbook]) -> None:
    ok = [wb for wb in workbooks if wb.ok]
    if len(ok) < 2:
        return
    sources = pd.concat([wb.projects[["project_id", "_source", "_sheet", "_row"]] for wb in ok])
    shared = duplicate_projects(sources)
    by_name = {wb.name: wb for wb in ok}
    for row in shared.itertuples(index=False):
        others = sorted(set(shared.loc[shared["project_id"] == row.project_id, "_source"])
                        - {row._1})
        by_name[row._1].add([Problem(
            "project-in-two-files", Severity.ERROR,
            f"project {row.project_id} is also in {', '.join(others)}; a project may be in only "
            "one workbook per run (both were rejected), so remove it from one of them",
            Location(row._1, row._2 or None, int(row._3), "project_id"))])


def _warn_unprintable(workbooks: list[Workbook], projects: pd.DataFrame, lines: pd.DataFrame,
                      config: Config) -> None:
    """Warn at every cell that would print a character the template's fonts cannot draw."""
    from progbill.render.coverage import (
        LINE_TEXT,
        PROJECT_TEXT,
        printed_characters,
        undrawable,
        unprintable_problems,
    )
    from progbill.render.pdf import bundled_templates

    folder = (config.resolve(config.output.template_dir) if config.output.template_dir
              else bundled_templates()) / "fonts"
    missing = undrawable(folder.resolve(), printed_characters(projects, PROJECT_TEXT)
                         | printed_characters(lines, LINE_TEXT))
    found = (unprintable_problems(projects, PROJECT_TEXT, missing)
             + unprintable_problems(lines, LINE_TEXT, missing))
    for wb in workbooks:
        wb.add([p for p in found if p.location.file == wb.name])


@dataclass
class Evaluation:
    """The outcome of reading and checking: workbooks with every problem, and the bill."""

    workbooks: list[Workbook]
    projects: pd.DataFrame
    computed: pd.DataFrame
    state: LedgerState


def evaluate_workbooks(workbooks: list[Workbook], store: Store | None, config: Config,
                       period: Period) -> Evaluation:
    """Check every readable workbook against the billing rules and the ledger; a workbook with
    any error is left out of the returned projects and lines. Registers are checked and
    complete the other workbooks' projects; they bill nothing themselves."""
    complete_projects(workbooks, store)
    complete_schedules(workbooks, store)
    check_payment_workbooks(workbooks, store)
    _reject_shared_projects([wb for wb in workbooks if wb.layout not in _NOT_BILLED])
    ok = [wb for wb in workbooks if wb.ok and wb.layout not in _NOT_BILLED]
    if not ok:
        return Evaluation(workbooks, empty_projects(), pd.DataFrame(), LedgerState())
    projects = pd.concat([wb.projects for wb in ok], ignore_index=True)
    lines = pd.concat([wb.lines for wb in ok], ignore_index=True)
    state = store.state_for(projects["project_id"]) if store is not None else LedgerState()
    computed, problems = evaluate(projects, lines, state, config.billing, period)
    for wb in ok:
        wb.add([p for p in problems if p.location.file == wb.name])
    still_ok = [wb.name for wb in ok if wb.ok]
    over = run_total_problems(computed[computed["_source"].isin(still_ok)], still_ok)
    for wb in ok:
        wb.add([p for p in over if p.location.file == wb.name])
    _warn_unprintable([wb for wb in ok if wb.ok], projects, lines, config)
    if config.einvoice.enabled:
        check_einvoice_projects([wb for wb in ok if wb.ok], config)
    accepted = {wb.name for wb in ok if wb.ok}
    projects = projects[projects["_source"].isin(accepted)].reset_index(drop=True)
    computed = computed[computed["_source"].isin(accepted)].reset_index(drop=True)
    return Evaluation(workbooks, projects, computed, state)


# --------------------------------------------------------------------------------------------
# the run


class _Stopwatch:
    """Seconds spent per stage of a run (read, validate, bill, commit, render, publish)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@dataclass
class _Month:
    """What a run has read and billed, before anything is stored."""

    workbooks: list[Workbook]
    evaluation: Evaluation
    bill: Any
    seller: dict[str, str]
    assets: dict[str, tuple[str, bytes]]
    render: dict[str, str]
    sources: dict[str, str]
    from_inbox: bool
    einvoices_checked: set[str] = field(default_factory=set)  # projects whose e-invoices passed


def _start(root: Path, options: RunOptions) -> tuple[Workspace, Config, RunReport]:
    ws = Workspace(root).require()
    config = ws.load_config(options.config_path)
    started = _now()
    run_id = f"{started:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    return ws, config, RunReport(run_id=run_id, period=str(options.period), started=started,
                                 draft=options.draft)


def _read_and_bill(ws: Workspace, config: Config, store: Store, options: RunOptions,
                   report: RunReport, clock: _Stopwatch) -> _Month:
    """Read the inputs, check them against the ledger, and compute the documents: the stages
    a run and a draft share. Nothing is stored."""
    from_inbox = not options.paths
    with clock.stage("read"):
        inputs = [ws.inbox] if from_inbox else list(options.paths)
        missing_inputs = [str(p) for p in inputs if not p.exists()]
        if missing_inputs:
            raise WorkspaceError(f"{', '.join(missing_inputs)} does not exist")
        files, report.skipped = discover(
            inputs, settle_seconds=_settle(inputs) if from_inbox else 0)
        workbooks = read_inputs(files, config, options.progress,
                                inbox=ws.inbox if from_inbox else None)
    with clock.stage("validate"):
        evaluation = evaluate_workbooks(workbooks, store, config, options.period)
    with clock.stage("bill"):
        bill = Bill.nothing()
        if len(evaluation.computed):
            bill = issue(evaluation.projects, evaluation.computed, evaluation.state,
                         config.billing, options.period, options.run_date or report.started.date())
        check_required_settings(bill.documents, evaluation.projects, config)
    seller, assets = _seller_snapshot(config, ws.root, report.notes)
    render: dict[str, Any] = {"locale": config.output.locale,
                              "page_size": config.output.page_size,
                              "amount_in_words": config.output.amount_in_words}
    if config.einvoice.enabled:
        render["einvoice"] = {"formats": list(config.einvoice.formats),
                              "cius": config.einvoice.ubl_cius,
                              "type_codes": config.einvoice.type_codes,
                              "tax_base": config.billing.tax_base}
    sources = {wb.name: wb.sha256 for wb in workbooks}
    checked: set[str] = set()
    if config.einvoice.enabled and not bill.empty:
        with clock.stage("bill"):
            bill, evaluation, checked = _check_einvoices(
                bill, evaluation, config, seller, render, sources, report, options)
    return _Month(workbooks, evaluation, bill, seller, assets, render, sources, from_inbox,
                  checked)


def _check_einvoices(bill: Bill, evaluation: Evaluation, config: Config,
                     seller: dict[str, Any], render: dict[str, Any], sources: dict[str, str],
                     report: RunReport, options: RunOptions,
                     ) -> tuple[Bill, Evaluation, set[str]]:
    """Build and check every document's e-invoices before anything is issued. A project whose
    e-invoice fails a rule rejects its workbook (``einvoice-invalid``, with each failed rule),
    and the run bills the others; returns the projects whose e-invoices passed."""
    from progbill.einvoice.documents import einvoice_files
    from progbill.einvoice.validate import shared_validator

    rules = config.resolve(config.einvoice.rules_dir) if config.einvoice.rules_dir else None
    validator = shared_validator(rules)
    numbered = draft_numbers(bill.documents)
    records = document_records(numbered, evaluation.projects, report.run_id, seller, render,
                               sources)
    taxes = tax_records(bill, numbered)
    failed: dict[str, list[str]] = {}
    passed: set[str] = set()
    not_run: dict[str, str] = {}
    for record, key in zip(records, numbered["doc_key"], strict=True):
        lines = bill.lines[bill.lines["doc_key"] == key]
        files = einvoice_files(record, lines, taxes[taxes["doc_key"] == key], validator)
        not_run.update(files.not_run)
        pid = str(record["project_id"])
        if files.failures:
            failed[pid] = [f.replace(str(record["number"]), f"the document of {pid}")
                           for f in files.failures]
        else:
            passed.add(pid)
    report.notes.extend(_rules_not_run(not_run))
    if not failed:
        return bill, evaluation, passed
    projects = evaluation.projects
    for pid, failures in failed.items():
        row = projects[projects["project_id"] == pid].iloc[0]
        wb = next(w for w in evaluation.workbooks if w.name == row["_source"])
        wb.add([Problem("einvoice-invalid", Severity.ERROR,
                        f"project {pid}: its e-invoice would fail the e-invoice rules, so "
                        f"nothing of this workbook was issued: {failure}",
                        Location(wb.name, row["_sheet"] or None, int(row["_row"])))
                for failure in failures[:10]])
    accepted = {wb.name for wb in evaluation.workbooks if wb.ok}
    projects = projects[projects["_source"].isin(accepted)].reset_index(drop=True)
    computed = evaluation.computed[evaluation.computed["_source"].isin(accepted)
                                   ].reset_index(drop=True)
    evaluation = Evaluation(evaluation.workbooks, projects, computed, evaluation.state)
    bill = Bill.nothing()
    if len(computed):
        bill = issue(projects, computed, evaluation.state, config.billing, options.period,
                     options.run_date or report.started.date())
    return bill, evaluation, passed & set(projects["project_id"])


def run(root: Path, options: RunOptions) -> RunReport:
    """The month-end run (spec README, "The flow of one run"): read and bill, commit in one
    transaction, then publish (PDFs, ledger, inputs moved, report). ``--draft`` runs
    :func:`draft` instead."""
    if options.draft:
        return draft(root, options)
    ws, config, report = _start(root, options)
    clock = _Stopwatch()
    with workspace_lock(ws, options.wait_seconds):
        ws.clean_temporary_files()
        check_store_is_current(ws, config)
        with open_store(ws.db_path) as store:
            month = _read_and_bill(ws, config, store, options, report, clock)
            moves = plan_moves(ws, month.workbooks, str(options.period), report.started) \
                if month.from_inbox else {}
            report.files = [_file_report(wb, moves, ws) for wb in month.workbooks]
            renderer = None
            if not options.no_pdf and (not month.bill.empty
                                       or missing_pdfs(store.pdf_index(), ws)):
                from progbill.render.pool import prewarm

                # enough documents for workers: their server imports WeasyPrint on another
                # core while this process builds its renderer and commits
                prewarm(options.workers, len(month.bill.documents))
                # Built before anything is stored: a broken custom template is a
                # configuration error that issues nothing.
                renderer = _renderer(config)
            with clock.stage("commit"):
                numbered = _commit(store, report, report.run_id, options, report.started,
                                   month.workbooks, month.evaluation, month.bill, config,
                                   month.seller, month.render, month.sources, month.assets)
            clients = dict(zip(month.evaluation.projects["project_id"],
                               month.evaluation.projects["client"], strict=False))
            report.documents = [
                DocumentReport(d.number, d.type, d.project_id, str(clients.get(d.project_id, "")),
                               d.currency, int(d.amount_due), None)
                for d in numbered.itertuples(index=False)
            ]
            # From here on the documents are issued: whatever fails is reported as pending,
            # never as "nothing was done", and the next run completes it.
            checked = set(numbered.loc[numbered["project_id"].isin(month.einvoices_checked),
                                       "number"]) if len(numbered) else set()
            _publish(ws, store, config, options, report, renderer, month.workbooks, moves,
                     clock, checked)
    return report


def draft(root: Path, options: RunOptions) -> RunReport:
    """``run --draft``: read and bill as a run would, render everything into drafts/P/ with a
    DRAFT watermark and numbers DRAFT-1, DRAFT-2 ...; store nothing, move nothing."""
    ws, config, report = _start(root, options)
    clock = _Stopwatch()
    with workspace_lock(ws, options.wait_seconds):
        ws.clean_temporary_files()
        with open_store(ws.db_path) as store:
            month = _read_and_bill(ws, config, store, options, report, clock)
            report.files = [_file_report(wb, {}, ws) for wb in month.workbooks]
            renderer = _renderer(config) if not options.no_pdf and not month.bill.empty \
                else None
            with clock.stage("render"):
                _render_drafts(ws, renderer, month.bill, month.evaluation.projects,
                               month.seller, month.render, month.sources, report, options,
                               month.assets)
    report.timings = clock.seconds
    report.finished = _now()
    return report


def _publish(ws: Workspace, store: Store, config: Config, options: RunOptions,
             report: RunReport, renderer: Any, workbooks: list[Workbook],
             moves: dict[str, Path], clock: _Stopwatch, checked: set[str] | None = None,
             ) -> None:
    """Every step after the commit; each one that fails becomes a pending item. ``checked``:
    documents whose e-invoices passed their rules before they were issued (this run)."""

    def attempt(step: str, what: str, action: Callable[[], Any]) -> Any:
        return _attempt(report.pending, ws, step, what, action)

    if renderer is not None:
        with clock.stage("render"):
            rendered = attempt("pdf", "PDFs", lambda: _render_missing(
                store, ws, renderer, config, options.workers, options.progress, checked))
            if rendered is not None:
                report.pdfs_rendered = len(rendered.done)
                report.pending.extend(rendered.pending)
                report.einvoice_failures.extend(rendered.einvoice_failures)
                report.notes.extend(_rules_not_run(rendered.rules_not_run))
    with clock.stage("publish"):
        pdfs = attempt("pdf", "PDFs", lambda: pending_pdfs(store, ws))
        if pdfs is not None:
            report.pdfs_pending, present = pdfs
            for d in report.documents:
                d.pdf = present.get(d.number)
        ledger = attempt("ledger", "ledger.xlsx", lambda: publish_ledger(
            store, ws, report.notes, config.output.ledger_backups,
            ageing_as_of=options.period.last_day))
        report.ledger = str(ledger.relative_to(ws.root)) if ledger is not None else None
        def backup() -> None:
            checkpoint("backup:before")
            backup_store(store, ws, config.output.store_backups)

        attempt("store backup", "backups/", backup)
        not_moved = attempt("input", "inbox files", lambda: move_inputs(ws, workbooks, moves))
        for f in report.files:
            if not_moved is None or f.name in not_moved:
                f.moved_to = None
        report.pending.extend((not_moved or {}).values())
        report.timings = clock.seconds
        report.finished = _now()
        path = attempt("report", f"runs/{report.run_id}.json", lambda: write_report_json(
            ws, report.run_id, report.as_dict(
                report_path=f"runs/{report.run_id}.json")))
        report.report_path = str(path.relative_to(ws.root)) if path is not None else None


def _attempt(pending: list[Pending], ws: Workspace, step: str, what: str,
             action: Callable[[], Any]) -> Any:
    """Run one publishing step; a failure becomes a pending item (and None), so that the steps
    after it still run and nothing hides what the store holds."""
    try:
        return action()
    except Exception as exc:
        pending.append(Pending(step, what, describe(exc, ws.root)))
        return None


def _file_report(wb: Workbook, moves: dict[str, Path], ws: Workspace) -> FileReport:
    return FileReport(
        name=wb.name, path=str(wb.path), sha256=wb.sha256,
        status="accepted" if wb.ok else "rejected",
        projects=len(wb.projects) if wb.ok else 0, lines=len(wb.lines) if wb.ok else 0,
        problems=list(wb.problems),
        moved_to=str(moves[wb.name].relative_to(ws.root)) if wb.name in moves else None,
        payments=len(wb.checked_payments) if wb.ok else 0,
    )


def _commit(store: Store, report: RunReport, run_id: str, options: RunOptions,
            started: datetime, workbooks: list[Workbook], evaluation: Evaluation, bill: Bill,
            config: Config, seller: dict[str, str], render: dict[str, str],
            sources: dict[str, str], assets: dict[str, tuple[str, bytes]]) -> pd.DataFrame:
    """The run's one transaction: its record, inputs, problems, documents and numbers."""
    projects, computed = evaluation.projects, evaluation.computed
    if len(computed):
        projects = projects.merge(contracts(computed), on="project_id", how="left")
    else:
        projects = projects.assign(original_contract=0, change_orders=0)
    record = RunRecord(run_id, str(options.period), started.isoformat(), _now().isoformat(),
                       __version__)
    inputs = [InputRecord(f.name, f.path, f.sha256, f.status, f.moved_to) for f in report.files]
    problems = [p for wb in workbooks for p in wb.problems if p.severity is not Severity.INFO]
    registers = [wb.projects for wb in workbooks if wb.ok and wb.layout in _NOT_BILLED]
    details = pd.concat(registers, ignore_index=True) if registers else None
    read = [wb.lines for wb in workbooks if wb.ok and wb.layout != "register" and len(wb.lines)]
    schedules = pd.concat(read, ignore_index=True) if read else None
    now = _now().isoformat()
    receipts = [{**p, "recorded": now} for wb in workbooks if wb.ok
                for p in wb.checked_payments]
    return store.commit_run(record, bill, projects, inputs, problems, config.billing, seller,
                            render, sources, assets, details, schedules, receipts)


def _settle(inputs: list[Path]) -> float:
    """Wait briefly only when a file in the inbox was modified in the last few seconds."""
    now = time.time()
    for folder in inputs:
        if folder.is_dir():
            for path in folder.iterdir():
                try:
                    if now - path.stat().st_mtime < 5:
                        return 1.0
                except OSError:
                    continue
    return 0.0


def _seller_snapshot(config: Config, root: Path, notes: list[str],
                     ) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """The seller as printed on this run's documents, and the logo's bytes by SHA-256 (stored
    with the documents, so a re-render never depends on the logo file still being there). A
    logo that cannot be printed is left off with a note saying why, never silently."""
    from progbill.render.context import LogoError, read_logo

    seller = {k: v for k, v in config.seller.__dict__.items() if k != "logo"}
    assets: dict[str, tuple[str, bytes]] = {}
    if config.seller.logo:
        try:
            logo = read_logo(config.resolve(config.seller.logo), root,
                             config.output.max_logo_pixels)
        except LogoError as exc:
            notes.append(f"seller.logo {config.seller.logo} was left off the documents: {exc}")
            return seller, assets
        sha = sha256_bytes(logo[1])
        seller["logo_sha256"] = sha
        assets[sha] = logo
    return seller, assets


def _render_missing(store: Store, ws: Workspace, renderer: Any, config: Config,
                    workers: int | None = None, progress: Progress | None = None,
                    checked: set[str] | None = None) -> Any:
    """Render missing PDFs (and e-invoices); the e-invoices of ``checked`` documents passed
    their rules before they were issued in this run and are not checked twice."""
    from progbill.einvoice.validate import shared_validator

    rules = config.resolve(config.einvoice.rules_dir) if config.einvoice.rules_dir else None
    validator = shared_validator(rules)
    trusted = checked or set()

    def context_of(store: Store, number: str) -> dict[str, Any]:
        return stored_context(store, number, validator, check=number not in trusted)

    return render_missing_pdfs(store, ws, renderer, context_of, workers, progress)


def _rules_not_run(not_run: dict[str, str]) -> list[str]:
    """One note per reason, naming the rule sets it kept from running."""
    reasons: dict[str, list[str]] = {}
    for name, why in sorted(not_run.items()):
        reasons.setdefault(why, []).append(name)
    return [f"e-invoice rules {', '.join(names)} were not checked: {why}"
            for why, names in reasons.items()]


def _renderer(config: Config) -> Any:
    from progbill.render.pdf import Renderer

    template_dir = config.resolve(config.output.template_dir) if config.output.template_dir \
        else None
    return Renderer(template_dir)


def stored_context(store: Store, number: str, validator: Any = None,
                   check: bool = True) -> dict[str, Any]:
    """A stored document's template context; with a validator, also its e-invoice files
    (``_factur_x``: the CII the PDF carries, ``_ubl``), each checked against its rules
    (``_einvoice_failures``: why it may not be published; ``_einvoice_not_run``)."""
    from progbill.render.context import build_context, data_url

    doc = store.document(number)
    assert doc is not None
    logo = json.loads(str(doc["seller_json"])).get("logo_sha256")
    asset = store.asset(logo) if logo else None
    lines, taxes = store.document_lines(number), store.document_taxes(number)
    context = build_context(doc, lines, taxes, logo_url=data_url(*asset) if asset else "")
    if validator is not None and doc.get("einvoice_json"):
        from progbill.einvoice.documents import einvoice_files

        files = einvoice_files(doc, lines, taxes, validator, check=check)
        context["_einvoice_not_run"] = files.not_run
        if files.failures:
            context["_einvoice_failures"] = [
                f"{number} (project {doc['project_id']}) was not published: {failure}"
                for failure in files.failures]
        if files.cii is not None:
            context["_factur_x"] = files.cii
        if files.ubl is not None:
            context["_ubl"] = files.ubl
    return context


def _render_drafts(ws: Workspace, renderer: Any, bill: Any, projects: pd.DataFrame,
                   seller: dict[str, str], render: dict[str, str], sources: dict[str, str],
                   report: RunReport, options: RunOptions,
                   assets: dict[str, tuple[str, bytes]]) -> None:
    """Compute and render everything into drafts/P/ as DRAFT-n; store nothing."""
    from progbill.render.context import build_context, data_url

    folder = ws.drafts(str(options.period))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("DRAFT-*.pdf"):
        old.unlink()
    if bill is None or bill.empty:
        return
    numbered = draft_numbers(bill.documents)
    records = document_records(numbered, projects, report.run_id, seller, render, sources)
    taxes = tax_records(bill, numbered)
    lines = bill.lines
    clients = dict(zip(projects["project_id"], projects["client"], strict=False))
    for doc, key in zip(records, numbered["doc_key"], strict=True):
        pdf = None
        if renderer is not None:
            logo = assets.get(seller.get("logo_sha256", ""))
            context = build_context(doc, lines[lines["doc_key"] == key],
                                    taxes[taxes["doc_key"] == key], draft=True,
                                    logo_url=data_url(*logo) if logo else "")
            path = folder / f"{doc['number']}.pdf"
            atomic_write_bytes(path, renderer.pdf(context))
            pdf = str(path.relative_to(ws.root))
            report.pdfs_rendered += 1
        report.documents.append(DocumentReport(
            str(doc["number"]), str(doc["type"]), str(doc["project_id"]),
            str(clients.get(doc["project_id"], "")), str(doc["currency"]),
            int(doc["amount_due"]),  # type: ignore[call-overload]
            pdf))


# --------------------------------------------------------------------------------------------
# the other commands


def validate(paths: list[Path], config: Config, period: Period | None = None,
             store_path: Path | None = None) -> ValidationReport:
    """Read and check workbooks; bill nothing, store nothing. With a workspace's store, the
    checks against the ledger (missing lines, currency changes) are made too."""
    files, skipped = discover(paths)
    workbooks = read_inputs(files, config)
    store = Store(store_path) if store_path is not None and store_path.exists() else None
    try:
        evaluate_workbooks(workbooks, store, config, period or _current_period())
    finally:
        if store is not None:
            store.close()
    return ValidationReport(
        [FileReport(wb.name, str(wb.path), wb.sha256, "accepted" if wb.ok else "rejected",
                    len(wb.projects) if wb.ok else 0, len(wb.lines) if wb.ok else 0,
                    list(wb.problems)) for wb in workbooks],
        skipped,
    )


def _current_period() -> Period:
    today = date.today()
    return Period(today.year, today.month)


def rebuild(root: Path, config_path: Path | None = None, workers: int | None = None,
            wait_seconds: float = 60.0, as_of: date | None = None) -> LedgerReport:
    """Rebuild ledger.xlsx and any missing PDFs from the store; document states and the ageing
    as of ``as_of`` (default: today)."""
    ws = Workspace(root).require()
    config = ws.load_config(config_path)
    report = LedgerReport(None, [], [])
    with workspace_lock(ws, wait_seconds):
        ws.clean_temporary_files()
        check_store_is_current(ws, config)
        renderer = _renderer(config)  # a broken template stops here, before anything is done
        with open_store(ws.db_path) as store:
            rendered = _attempt(report.pending, ws, "pdf", "PDFs", lambda: _render_missing(
                store, ws, renderer, config, workers))
            if rendered is not None:
                report.pdfs_rendered = rendered.done
                report.pending.extend(rendered.pending)
                report.einvoice_failures.extend(rendered.einvoice_failures)
                report.notes.extend(_rules_not_run(rendered.rules_not_run))
            ledger = _attempt(report.pending, ws, "ledger", "ledger.xlsx", lambda: publish_ledger(
                store, ws, report.notes, config.output.ledger_backups, as_of))
            report.ledger = str(ledger.relative_to(ws.root)) if ledger is not None else None
    return report


# --------------------------------------------------------------------------------------------
# the store against the workspace


def check_store_is_current(ws: Workspace, config: Config) -> None:
    """Refuse to go on when the workspace shows documents the store does not know.

    An empty or missing ``progbill.db`` beside earlier runs' PDFs, run reports or ledger, or
    PDFs named like this workspace's document numbers that the store never issued, mean the
    store was lost, replaced or restored from an older copy. Numbering would restart and issue
    the same numbers to other clients, over the PDFs already sent: so nothing is done until the
    store is restored (``progbill restore``)."""
    found = []
    pdfs = sorted(ws.root.glob("invoices/*/*.pdf"))
    known: set[str] = set()
    if not ws.db_path.exists() or ws.db_path.stat().st_size == 0:
        empty = True
    else:
        with open_store(ws.db_path) as store:
            empty = store.runs().empty
            if pdfs:  # the index is read only when there is a PDF to look up
                index = store.pdf_index()
                known = {p for p in index["pdf_path"] if isinstance(p, str)}
                known |= {pdf_relative_path(n, period) for n, period in
                          zip(index["number"], index["period"], strict=True)}
    numbers = number_file_pattern(config.billing.invoice_number,
                                  config.billing.credit_note_number)
    unknown = [p for p in pdfs if p.relative_to(ws.root).as_posix() not in known
               and (empty or numbers.fullmatch(p.stem))]
    if unknown:
        shown = ", ".join(p.relative_to(ws.root).as_posix() for p in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        found.append(f"{len(unknown)} PDF{'s' if len(unknown) != 1 else ''} of documents it "
                     f"does not know ({shown}{more})")
    if empty:
        reports = list(ws.runs.glob("*.json"))
        if reports:
            found.append(f"{len(reports)} run report{'s' if len(reports) != 1 else ''} in runs/")
        if ws.ledger_path.is_file():
            found.append("ledger.xlsx")
    if not found:
        return
    state = "is missing" if not ws.db_path.exists() else (
        "is empty" if empty else "does not know every document issued here")
    raise WorkspaceError(
        f"the ledger store progbill.db {state}, but this workspace shows earlier runs: "
        f"{'; '.join(found)}. Running now could issue numbers already used and replace "
        "documents already sent, so nothing was done. Restore the store: `progbill restore "
        f"-w {ws.root}` lists the copies in backups/ and puts one back (or copy your own "
        "backup of progbill.db into the workspace), then run again.")


def repair(root: Path, wait_seconds: float = 60.0) -> RepairReport:
    """Find documents whose totals overflowed in a version without total limits and void them.

    A voided document keeps its number (numbers stay gapless and are never reused), is shown
    void in the ledger and is never rendered; its lines go back to their state before it, so
    the next run bills them again, now against the limits, which refuse the amounts with an
    error at the cells. A damaged document that later documents build on is not voided: the
    report says to restore a copy of the store from before it."""
    from progbill.money import MAX_DOCUMENT_MINOR

    ws = Workspace(root).require()
    report = RepairReport({}, {})
    with workspace_lock(ws, wait_seconds), open_store(ws.db_path) as store:
        ok = store.db.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise WorkspaceError(
                f"progbill.db is damaged beyond repair ({ok}); nothing was changed. Put back a "
                f"copy: `progbill restore -w {ws.root}` lists the copies in backups/.")
        for number, why in store.damaged_documents(MAX_DOCUMENT_MINOR).items():
            later = store.later_documents(number)
            if later:
                report.blocked[number] = (
                    f"{why}, and {', '.join(later[:3])} build on it; restore a copy of the store "
                    "from before it (`progbill restore`) and run those periods again")
                continue
            store.void(number, why, _now().isoformat(timespec="seconds"))
            report.voided[number] = why
    return report


def restore(root: Path, name: str | None = None, wait_seconds: float = 60.0) -> RestoreReport:
    """List the copies of the store in backups/ (newest first) or, given one's file name, put
    it back as progbill.db. The store it replaces (and its WAL files) is moved to backups/, never
    deleted. The next run checks the restored store against the PDFs on disk."""
    ws = Workspace(root).require()
    with workspace_lock(ws, wait_seconds):
        copies = []
        for path in sorted(ws.backups.glob(STORE_BACKUP_GLOB), reverse=True):
            try:
                with Store(path) as copy:
                    docs = copy.pdf_index()
                    runs = copy.runs()
                copies.append(StoreCopy(path.name, len(docs),
                                        docs["number"].iloc[-1] if len(docs) else None,
                                        runs["run_id"].iloc[-1] if len(runs) else None))
            except sqlite3.DatabaseError:
                continue
        report = RestoreReport(copies)
        if name is None:
            return report
        chosen = ws.backups / Path(name).name
        if Path(name).name not in {c.name for c in copies}:
            known = ", ".join(c.name for c in copies[:5]) or "none"
            raise WorkspaceError(f"{name} is not a readable copy of the store in backups/ "
                                 f"(copies: {known})")
        stamp = f"{_now():%Y-%m-%d %H%M%S}"
        for suffix in ("", "-wal", "-shm"):
            current = ws.root / f"progbill.db{suffix}"
            if current.exists():
                aside = ws.backups / f"replaced {stamp} progbill.db{suffix}"
                os.replace(current, aside)
                report.set_aside.append(aside.name)
        with atomic_path(ws.db_path) as tmp:
            shutil.copyfile(chosen, tmp)
        report.restored = chosen.name
    return report


def number_file_pattern(*templates: str) -> re.Pattern[str]:
    """File stems (without ``.pdf``) that the number templates can produce."""
    import string

    from progbill.billing.numbering import file_stem

    alternatives = []
    for template in templates:
        parts = []
        for literal, field_name, _, _ in string.Formatter().parse(template):
            parts.append(re.escape(file_stem(literal)))
            if field_name == "fy":
                parts.append(r"\d{4}")
            elif field_name == "seq":
                parts.append(r"\d+")
        alternatives.append("".join(parts))
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


def document_html(root: Path, number: str, config_path: Path | None = None) -> str:
    """``progbill show DOC --html``: the document's exact HTML, stylesheet inlined."""
    ws = Workspace(root).require()
    config = ws.load_config(config_path)
    with Store(ws.db_path) as store:
        if store.document(number) is None:
            raise WorkspaceError(f"there is no document {number} in this workspace")
        context = stored_context(store, number)
    return _renderer(config).standalone_html(context)  # type: ignore[no-any-return]


def show(root: Path, number: str) -> DocumentDetail:
    from progbill.readers.files import sha256_of

    ws = Workspace(root).require()
    with Store(ws.db_path) as store:
        doc = store.document(number)
        if doc is None:
            known = store.documents()["number"].tolist()
            hint = f" (latest: {', '.join(known[-3:])})" if known else " (none issued yet)"
            raise WorkspaceError(f"there is no document {number} in this workspace{hint}")
        inputs = store.input_files(str(doc["run_id"]))
        inputs = inputs[inputs["sha256"] == doc["source_sha256"]]
        pdf = ws.root / str(doc["pdf_path"]) if doc["pdf_path"] else None
        on_disk = sha256_of(pdf) if pdf is not None and pdf.is_file() else None
        return DocumentDetail(doc, store.document_lines(number), store.document_taxes(number),
                              inputs, on_disk)
