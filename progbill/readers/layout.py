"""From raw sheets to the normalised tables billing reads: one row per project, one per line.

This module decides what a workbook is (two sheets, flat tables of lines, a schedule without
progress, a projects register) and where each table's project comes from, then puts the parts
together. The jobs live beside it: finding a header (:mod:`~progbill.readers.header`), the
title block and cover sheet (:mod:`~progbill.readers.title`), reading a table's cells
(:mod:`~progbill.readers.table`), choosing the rows that are lines
(:mod:`~progbill.readers.rows`), building records (:mod:`~progbill.readers.records`) and typing
the frames (:mod:`~progbill.readers.frames`). Nothing here raises for a user's mistake.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from progbill.columns import PAYMENT_FRAME
from progbill.problems import (
    Location,
    Problem,
    Severity,
    column_index,
    column_letter,
)
from progbill.readers import cells, title
from progbill.readers.cells import CellContext, CellError, is_blank
from progbill.readers.frames import (
    LINE_FRAME,
    PROJECT_FRAME,
    empty_lines,
    empty_projects,
    typed_lines,
    typed_projects,
)
from progbill.readers.header import (
    PROGRESS_ONLY,
    HeaderRow,
    Match,
    accepted_names,
    best_header,
    explain,
    header_rows,
    match_header,
    missing,
    without_notes,
)
from progbill.readers.raw import RawSheet
from progbill.readers.records import (
    PlainLines,
    line_record,
    project_record,
)
from progbill.readers.rows import (
    data_rows,
    decide_percent_scale,
    decimal_mark,
    warn_sheet_flags,
)
from progbill.readers.schema import (
    FLAT_COLUMNS,
    LINE_COLUMNS,
    LINE_SHEET_NAMES,
    PAYMENT_COLUMNS,
    PERCENT,
    PROGRESS_COLUMNS,
    PROJECT_COLUMNS,
    PROJECT_ONLY_NAMES,
    PROJECT_SHEET_NAMES,
    Column,
    lookup,
    normalise,
)
from progbill.readers.table import (
    INVALID,
    PERCENT_CTX,
    READERS,
    Collector,
    Row,
    Table,
    is_read,
    quoted,
    read_row,
)

# A workbook of one project may give these outside its table (title block, cover sheet, sheet
# or file name, the workspace's stored details or a projects register).
_OUTSIDE_TABLE = frozenset({"project_id", "client", PROGRESS_ONLY})


@dataclass
class Layout:
    """What a file's sheets amount to, before cells are read."""

    kind: str  # "two-sheet", "flat", or "register" (project columns only, no lines)
    projects: Table | None
    lines: Table | None
    more: list[Table] = field(default_factory=list)  # further flat sheets with a schedule
    payments: Table | None = None  # a payments workbook or bank export


@dataclass
class ParsedTables:
    projects: pd.DataFrame
    lines: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    headers: dict[tuple[str | None, str], tuple[str, str]] = field(default_factory=dict)
    layout: str = ""
    sheet_names: list[str | None] = field(default_factory=list)
    payments: pd.DataFrame | None = None  # a payments workbook's receipts (PAYMENT_FRAME)


# --------------------------------------------------------------------------------------------
# finding the layout


def find_table(
    sheet: RawSheet, columns: tuple[Column, ...], need_progress: bool, out: Collector,
    report: bool = True, optional: frozenset[str] = frozenset(),
) -> Table | None:
    """The first header within the first 20 rows (one row, or a group row over sub-headers)
    that holds every required column."""
    table = lookup(columns)
    complete = []
    for candidate in header_rows(sheet):
        match = match_header(candidate, table)
        if match.found and not missing(match.found, columns, need_progress, optional):
            complete.append((candidate, match))
    if complete:
        # the header naming the most columns once each (a title row over the real header
        # must not pass for a group row)
        # (a two-row header that explains the row under a one-row header wins a tie)
        candidate, match = max(complete, key=lambda cm: (cm[1].score(), cm[0].r))
        _retainage_beside_g(candidate, match, table)
        return _build_table(sheet, candidate, match, out)
    if report:
        explain_missing_header(sheet, best_header(sheet, table), columns, need_progress, out,
                               optional)
    return None


def _retainage_beside_g(header: HeaderRow, match: Match, table: dict[str, Column]) -> None:
    """Beside a G703's column G, a column headed plain Retainage or Retention is column I, the
    retainage to date in money (checked against progbill's), never a rate: read as a rate, its
    amounts would set each line's retainage."""
    names = {c.name for c in match.found.values()}
    if "total_completed_stored" not in names or "retainage_to_date" in names:
        return
    for i, column in match.found.items():
        if column.name == "retainage_pct" and normalise(without_notes(header.texts[i])) in (
                "retainage", "retention"):
            match.found[i] = table[normalise("retainage to date")]
            return


def explain_missing_header(sheet: RawSheet, best: tuple[HeaderRow, Match] | None,
                           columns: tuple[Column, ...], need_progress: bool,
                           out: Collector, optional: frozenset[str] = frozenset()) -> None:
    r, message = explain(sheet, best, columns, need_progress, optional)
    out.add("missing-column", Severity.ERROR, message, out.at(None, row=r, sheet=sheet))


def _build_table(sheet: RawSheet, header: HeaderRow, match: Match, out: Collector) -> Table:
    table_columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    kinds: dict[str, Column] = {}
    r = header.r
    for index, column in sorted(match.found.items()):
        text = header.texts[index]
        if column.name in table_columns:
            first = table_columns[column.name]
            out.add("duplicate-column", Severity.ERROR,
                    f"columns {column_letter(first)} ({headers[column.name]!s}) and "
                    f"{column_letter(index)} ({text}) both mean "
                    f"{column.name}; delete or rename one of them",
                    Location(out.file, sheet.name, r + 1, text, column_letter(index)))
            continue
        table_columns[column.name] = index
        headers[column.name] = text
        kinds[column.name] = column
    unknown = [
        f"{column_letter(i)} ({t}{'; ' + match.ignored[i] if i in match.ignored else ''})"
        for i, t in sorted(header.texts.items()) if i not in match.found
    ]
    if unknown:
        out.add("unknown-column", Severity.INFO,
                f"columns ignored (not progbill columns): {', '.join(unknown)}",
                Location(out.file, sheet.name, r + 1))
    return Table(sheet, r, table_columns, headers, kinds,
                 top=header.top if header.top >= 0 else r)


def _by_role(sheets: list[RawSheet], names: tuple[str, ...], role: str,
             out: Collector) -> RawSheet | None:
    """The sheet named for a role (``Milestones``, ``SOV`` ...). A visible sheet is always
    chosen over a hidden one; a hidden sheet that is read is a warning; a hidden and a visible
    sheet both named for the role is an error (which one holds the truth is not progbill's to
    guess)."""
    keys = [normalise(n) for n in names]
    named = [s for s in sheets if s.name is not None and normalise(s.name) in keys]
    named.sort(key=lambda s: keys.index(normalise(s.name or "")))
    visible = [s for s in named if not s.hidden]
    hidden = [s for s in named if s.hidden]
    if visible and hidden:
        out.add("hidden-sheet", Severity.ERROR,
                f"the hidden sheet {hidden[0].name!r} and the visible sheet {visible[0].name!r} "
                f"are both {role} sheets; delete the one that is not current, or rename it",
                Location(out.file, hidden[0].name))
        return None
    if hidden:
        out.add("hidden-sheet", Severity.WARNING,
                f"this sheet is hidden and was read as the {role} sheet; unhide it to check it",
                Location(out.file, hidden[0].name))
    chosen = visible or hidden
    return chosen[0] if chosen else None


def find_layout(sheets: list[RawSheet], out: Collector) -> Layout | None:
    problems_before = len(out.problems)
    project_sheet = _by_role(sheets, PROJECT_SHEET_NAMES, "Projects", out)
    line_sheet = _by_role(sheets, LINE_SHEET_NAMES, "Milestones", out)
    if any(p.is_error for p in out.problems[problems_before:]):
        return None
    if project_sheet is not None and line_sheet is not None:
        projects = find_table(project_sheet, PROJECT_COLUMNS, False, out)
        lines = find_table(line_sheet, LINE_COLUMNS, True, out)
        if projects is None or lines is None:
            return None
        return Layout("two-sheet", projects, lines)
    candidates = [line_sheet] if line_sheet is not None else []
    candidates += [s for s in sheets if s is not line_sheet and s is not project_sheet]
    # Sheets of lines with progress; failing those, a schedule without progress (a BOQ kept
    # apart from its monthly progress files), which bills nothing and gives the schedule.
    for kind, need_progress, optional in (("flat", True, _OUTSIDE_TABLE),
                                          ("schedule", False, _OUTSIDE_TABLE - {PROGRESS_ONLY})):
        layout = _flat_layout(kind, candidates, sheets, need_progress, optional, out)
        if layout is not None and kind == "schedule":
            out.add("schedule-only", Severity.WARNING,
                    "the table has no progress column, so this workbook is read as a schedule: "
                    "its lines are kept as their project's schedule, for progress-only "
                    "workbooks, and nothing is billed from it; to bill it, add a progress "
                    f"column ({accepted_names([' or '.join(PROGRESS_COLUMNS)], FLAT_COLUMNS)})",
                    Location(out.file, layout.lines.sheet_name if layout.lines else None))
        if layout is not None or any(p.is_error for p in out.problems[problems_before:]):
            return layout
    receipts = _payments_table(sheets, project_sheet, line_sheet)
    if receipts is not None:
        out.add("payments", Severity.INFO,
                "a payments workbook: its receipts are checked against the documents they name "
                "and recorded", Location(out.file, receipts.sheet_name))
        return Layout("payments", None, None, payments=receipts)
    register = _register(sheets, project_sheet, line_sheet)
    if register is not None:
        out.add("register", Severity.INFO,
                "a projects register (project columns, no lines): the details it gives are "
                "kept for its projects and used by their progress workbooks",
                Location(out.file, register.sheet_name))
        return Layout("register", register, None)
    if project_sheet is not None and line_sheet is None:
        out.add("missing-sheet", Severity.ERROR,
                "the workbook has a Projects sheet but no Milestones sheet (also accepted: "
                "Schedule of Values, SOV, Lines); add the sheet of lines",
                Location(out.file, project_sheet.name))
        return None
    # Explain against the sheet that came closest: the most recognised headers.
    if not sheets:
        out.add("missing-column", Severity.ERROR, "the file has no sheets", Location(out.file))
        return None
    names = lookup(FLAT_COLUMNS)
    scored = [(s, best_header(s, names)) for s in ([line_sheet] if line_sheet else sheets)]
    target, best = max(scored, key=lambda sb: len(sb[1][1].found) if sb[1] else 0)
    explain_missing_header(target, best, FLAT_COLUMNS, True, out, _OUTSIDE_TABLE)
    return None


def _flat_layout(kind: str, candidates: list[RawSheet], sheets: list[RawSheet],
                 need_progress: bool, optional: frozenset[str], out: Collector
                 ) -> Layout | None:
    """The flat sheets of a workbook (every visible sheet with a table of lines), or None."""
    quiet = Collector(out.file)
    found = [t for t in (find_table(sheet, FLAT_COLUMNS, need_progress, quiet, report=False,
                                    optional=optional)
                         for sheet in candidates) if t is not None]
    if not found:
        return None

    visible = [t for t in found if not t.sheet.hidden]
    table = (visible or found)[0]
    hidden = [t.sheet.name for t in found if t.sheet.hidden]
    if hidden and visible:
        out.add("hidden-sheet", Severity.ERROR,
                f"the hidden sheet {hidden[0]!r} and the visible sheet "
                f"{table.sheet.name!r} both hold a schedule; delete the one that is not "
                "current, or unhide it and move it to a workbook of its own",
                Location(out.file, hidden[0]))
        return None
    if table.sheet.hidden:
        out.add("hidden-sheet", Severity.WARNING,
                "this sheet is hidden and its schedule was read; unhide it to check it",
                Location(out.file, table.sheet.name))
    out.problems.extend(quiet.problems)
    # Every visible sheet with a schedule is read (one project per sheet, say); the sheets
    # without one are listed, so that none is left out without a word.
    read = {id(t.sheet) for t in found}
    others = [f"{s.name}{' (hidden)' if s.hidden else ''}" for s in sheets if id(s) not in read]
    if others:
        out.add("sheets-skipped", Severity.INFO,
                f"sheets without a table of lines, not billed: {', '.join(others)} (a cover "
                "sheet's project details are read when the workbook has one schedule)",
                Location(out.file))
    return Layout(kind, None, table, visible[1:])


_LINE_ONLY = lookup(tuple(c for c in LINE_COLUMNS
                         if c.name not in {"project_id", "retainage_pct", "tax_code"}))


def _payments_table(sheets: list[RawSheet], project_sheet: RawSheet | None,
                   line_sheet: RawSheet | None) -> Table | None:
    """A sheet of receipts (document, date, amount), when the workbook is nothing else."""
    if project_sheet is not None or line_sheet is not None:
        return None
    for sheet in sheets:
        if sheet.hidden:
            continue
        table = find_table(sheet, PAYMENT_COLUMNS, False, Collector(""), report=False)
        if table is not None:
            return table
    return None


def _register(sheets: list[RawSheet], project_sheet: RawSheet | None,
              line_sheet: RawSheet | None) -> Table | None:
    """A projects register: a sheet of project columns (project and client at least) and no
    line column at all; a table with a line column is a schedule lacking something, which is
    explained, never read as a register."""
    if line_sheet is not None:
        return None
    candidates = [project_sheet] if project_sheet is not None else [
        s for s in sheets if not s.hidden]
    for sheet in candidates:
        quiet = Collector("")
        table = find_table(sheet, PROJECT_COLUMNS, False, quiet, report=False)
        if table is None:
            continue
        header = [v for v in sheet.rows[table.header_row] if not is_blank(v)]
        if any(normalise(v) in _LINE_ONLY for v in header):
            return None
        if not any(any(not is_blank(v) for v in row)
                   for row in sheet.rows[table.header_row + 1:]):
            return None  # a header and nothing under it is no register
        return table
    return None


def parse_tables(
    sheets: list[RawSheet], file: str, default_currency: str, date_order: str,
    percent_scale: str = "auto",
) -> ParsedTables:
    out = Collector(file)
    layout = find_layout(sheets, out)
    names = [s.name for s in sheets]
    if layout is None:
        return ParsedTables(empty_projects(), empty_lines(), in_reading_order(out.all(), names),
                            sheet_names=names)
    if layout.payments is not None:
        return _read_payments(layout.payments, out, date_order, names)
    tables = [t for t in (layout.projects, layout.lines, *layout.more) if t is not None]
    ctx = CellContext(decimal_mark=decimal_mark(tables, out), date_order=date_order)
    headers = {
        (t.sheet_name, name): (t.headers[name], column_letter(i))
        for t in tables for name, i in t.columns.items()
    }
    project_records: dict[str, dict[str, object]] = {}
    currency_of: dict[str, str | None] = {}
    line_records: list[dict[str, object]] = []
    lines_sheet = layout.lines.sheet_name if layout.lines is not None else None

    if layout.projects is not None:
        prows = data_rows(layout.projects, out)
        warn_sheet_flags(layout.projects, prows, out)
        projects_table = decide_percent_scale(layout.projects, prows, percent_scale, ctx, out)
        first_row: dict[str, int] = {}
        for r in prows:
            row = read_row(projects_table, r, ctx, out)
            pid = row.values.get("project_id")
            if isinstance(pid, str) and pid in first_row:
                out.add("duplicate-project", Severity.ERROR,
                        f"project {pid} is listed twice (rows {first_row[pid] + 1} and {r + 1}); "
                        "keep one row per project", out.at(layout.projects, r, "project_id"))
                continue
            if isinstance(pid, str):
                first_row[pid] = r
            record = project_record(row, default_currency, out, lines_sheet)
            if isinstance(pid, str):
                currency_of[pid] = record["currency"] if record else None  # type: ignore[assignment]
            if record is not None:
                project_records[str(pid)] = record
        if layout.lines is None:  # a projects register
            projects = pd.DataFrame(list(project_records.values()), columns=list(PROJECT_FRAME))
            return ParsedTables(typed_projects(projects), empty_lines(),
                                in_reading_order(out.all(), names), headers, layout.kind, names)
        lrows = data_rows(layout.lines, out)
        warn_sheet_flags(layout.lines, lrows, out)
        lines_table = decide_percent_scale(layout.lines, lrows, percent_scale, ctx, out)
        parsed_lines = [read_row(lines_table, r, ctx, out) for r in lrows]
        for row in parsed_lines:
            pid = row.values.get("project_id")
            if isinstance(pid, str) and pid not in currency_of:
                out.add("unknown-project", Severity.ERROR,
                        f"project {pid} is not on the {layout.projects.sheet_name} sheet; add it "
                        "there or correct the project id", out.at(layout.lines, row.r,
                                                                  "project_id"))
                continue
            record = line_record(row, currency_of.get(str(pid)) if isinstance(pid, str)
                                  else None, out)
            if record is not None:
                line_records.append(record)
        with_lines = {str(r.values.get("project_id")) for r in parsed_lines}
        for pid, r in first_row.items():
            if pid not in with_lines:
                out.add("no-lines", Severity.WARNING,
                        f"project {pid} has no lines on the {lines_sheet} sheet, so nothing is "
                        "billed for it", out.at(layout.projects, r, "project_id"))
    else:
        seen: dict[str, Row] = {}
        assert layout.lines is not None
        flat = [layout.lines, *layout.more]
        if layout.kind == "schedule":
            for table in flat:
                table.role = "schedule"
        for table in flat:
            given = _outside_details(table, flat, sheets, ctx, out) \
                if "project_id" not in table.columns else {}
            _read_flat_sheet(table, ctx, percent_scale, default_currency, seen,
                             project_records, line_records, out, given)

    projects = pd.DataFrame(list(project_records.values()), columns=list(PROJECT_FRAME))
    lines = pd.DataFrame(line_records, columns=list(LINE_FRAME))
    return ParsedTables(typed_projects(projects), typed_lines(lines),
                        in_reading_order(out.all(), names), headers, layout.kind, names)


def _read_payments(table: Table, out: Collector, date_order: str,
                   names: list[str | None]) -> ParsedTables:
    """The receipts of a payments workbook, each as read (checked later against the store)."""
    ctx = CellContext(decimal_mark=decimal_mark([table], out), date_order=date_order)
    found = []
    for r in data_rows(table, out):
        row = read_row(table, r, ctx, out)
        ok = all(is_read(v) for v in row.values.values())
        for name, what in (("document", "document number"), ("amount", "amount"),
                           ("received", "date received")):
            if row.values.get(name) is None:
                out.add("missing-value", Severity.ERROR, f"the {what} is empty; fill it in",
                        out.at(table, r, name))
                ok = False
        if ok:
            found.append({**{k: row.values.get(k) for k in PAYMENT_FRAME[:8]},
                          "source": out.file, "source_row": r + 1})
    frame = pd.DataFrame(found, columns=list(PAYMENT_FRAME))
    return ParsedTables(empty_projects(), empty_lines(), in_reading_order(out.all(), names),
                        {(table.sheet_name, n): (table.headers[n], column_letter(i))
                         for n, i in table.columns.items()}, "payments", names, frame)


def _outside_details(table: Table, flat: list[Table], sheets: list[RawSheet], ctx: CellContext,
                     out: Collector) -> dict[str, object]:
    """The project of a sheet without a project column, and the details its table lacks.

    The project comes from the first of: a title block above the table or a key/value cover
    sheet (labels such as Project No, Job No, Contract No, Project, Name of Work; Client,
    Owner, Bill To; Address, PO, Retention %, Currency); the sheet's name when the workbook
    holds several schedule sheets; the file name's stem. A cover sheet speaks for the only
    schedule sheet of a workbook, never for several."""
    found, clashes = title.details(table.sheet.rows[:max(table.top, 0)], table.sheet_name)
    if len([t for t in flat if "project_id" not in t.columns]) == 1:
        read = {id(t.sheet) for t in flat}
        for sheet in sheets:
            if id(sheet) in read or sheet.hidden:
                continue
            more, more_clashes = title.details(sheet.rows, sheet.name)
            clashes += more_clashes
            for name, detail in more.items():
                if name in found and str(found[name].value).strip() != str(detail.value).strip():
                    clashes.append((found[name], detail))
                found.setdefault(name, detail)
    for first, second in clashes:
        out.add("project-conflict", Severity.ERROR,
                f"{first.label} is {quoted(first.value)} at {_detail_cell(first)} but "
                f"{quoted(second.value)} here; a workbook names one project, so correct one",
                _detail_at(second, out))
    given: dict[str, object] = {}
    for name, detail in found.items():
        if name in table.columns:
            continue  # the table's own column says it, row by row
        column = next((c for c in FLAT_COLUMNS if c.name == name), None)
        if column is None:
            continue
        detail_ctx = ctx
        holder = next((sh for sh in sheets if sh.name == detail.sheet), table.sheet)
        if column.kind == PERCENT and detail.row in holder.percent_rows(detail.column):
            detail_ctx = PERCENT_CTX[ctx]
        try:
            given[name] = READERS[column.kind](detail.value, detail_ctx)
        except CellError as exc:
            out.add(exc.code, Severity.ERROR, f"{detail.label}: {exc.message}",
                    _detail_at(detail, out))
            given[name] = INVALID
    source = None
    if "project_id" in found:
        source = found["project_id"]
    elif "project_name" in found:
        source = found["project_name"]
        given["project_id"] = given.get("project_name", INVALID)
    if source is not None:
        where = f"the {source.label} at {_detail_cell(source)}"
    elif len(flat) > 1:
        given["project_id"] = cells.clean_id(str(table.sheet_name))
        where = "the sheet's name (the workbook has one schedule sheet per project)"
    else:
        stem = out.file.rsplit(".", 1)[0] if "." in out.file else out.file
        given["project_id"] = cells.clean_id(stem)
        where = "the file's name"
    pid = given.get("project_id")
    if isinstance(pid, str):
        out.add("project-named", Severity.INFO,
                f"the table has no project column, so its lines are billed as project {pid}, "
                f"from {where}; to name it otherwise, add a Project column or a line such as "
                "'Project No: J-101' above the table", out.at(table))
    return given


def _detail_cell(detail: title.Detail) -> str:
    cell = f"{column_letter(detail.column)}{detail.row + 1}"
    return f"{detail.sheet}!{cell}" if detail.sheet else cell


def _detail_at(detail: title.Detail, out: Collector) -> Location:
    return Location(out.file, detail.sheet, detail.row + 1, detail.label,
                    column_letter(detail.column))


def _read_flat_sheet(table: Table, ctx: CellContext, percent_scale: str, default_currency: str,
                     seen: dict[str, Row], project_records: dict[str, dict[str, object]],
                     line_records: list[dict[str, object]], out: Collector,
                     given: dict[str, object] | None = None) -> None:
    """One flat sheet's rows: a project's columns are read on its first row (on this sheet or
    an earlier one); later rows are only compared with it. ``given`` holds what the workbook
    says outside the table (the project of a sheet without a project column)."""
    lrows = data_rows(table, out)
    warn_sheet_flags(table, lrows, out)
    table = decide_percent_scale(table, lrows, percent_scale, ctx, out)
    line_names = frozenset(c.name for c in LINE_COLUMNS) | {"currency"}
    project_index = [(n, i) for n, i in table.columns.items() if n in PROJECT_ONLY_NAMES]
    project_cells = operator.itemgetter(*(i for _n, i in project_index)) if len(
        project_index) > 1 else None
    given = given or {}
    id_index = table.columns.get("project_id")
    # a sheet with its project column: later plain lines come from the columns read at once
    plain = PlainLines.of(table, ctx, out.file) if id_index is not None and not given else None
    for r in lrows:
        pid = plain.project_ids[r] if plain is not None else None
        if isinstance(pid, str) and (first := seen.get(pid)) is not None and (
                first.table.sheet is table.sheet and plain is not None and plain.is_plain(r)):
            # a later plain line of a project begun on this sheet: its record comes from the
            # columns, the project's cells are compared with its first row
            _compare_project_columns(first, Row(table, r, {}), project_index, ctx, out,
                                     project_cells)
            currency = _currency_of(project_records, pid)
            record = plain.record(r, currency)
            if record is None:
                record = line_record(read_row(table, r, ctx, out, names=line_names), currency,
                                     out)
            if record is not None:
                line_records.append(record)
            continue
        if id_index is None:
            first = seen.get(str(given.get("project_id")))
        else:
            raw_row = table.sheet.rows[r]
            raw_id = raw_row[id_index] if id_index < len(raw_row) else None
            first = seen.get(cells.read_id(raw_id, ctx)) if not is_blank(raw_id) and not (
                isinstance(raw_id, bool)) else None
        same_sheet = first is not None and first.table.sheet is table.sheet
        row = read_row(table, r, ctx, out, names=line_names if same_sheet else None)
        for name, value in given.items():
            row.values.setdefault(name, value)
        pid = row.values.get("project_id")
        if not isinstance(pid, str):
            line_record(row, None, out)
            continue
        if first is None:
            seen[pid] = row
            record = project_record(row, default_currency, out, table.sheet_name)
            if record is not None:
                project_records[pid] = record
        elif same_sheet:
            _compare_project_columns(first, row, project_index, ctx, out, project_cells)
        else:
            _compare_project_values(first, row, out)
        record = line_record(row, _currency_of(project_records, pid), out)
        if record is not None:
            line_records.append(record)


def _currency_of(project_records: dict[str, dict[str, object]], pid: str) -> str | None:
    """The currency of a project read without a problem (None for one with a problem)."""
    found = project_records[pid]["currency"] if pid in project_records else None
    return found if isinstance(found, str) else None


def _compare_project_values(first: Row, other: Row, out: Collector) -> None:
    """A project on a second sheet: its project columns there must agree with the first."""
    shared = [n for n in PROJECT_ONLY_NAMES
              if n in other.table.columns and n in first.table.columns]
    _report_conflicts(first, other, other.values, shared, out)


def _report_conflicts(first: Row, other: Row, values: dict[str, object], names: list[str],
                      out: Collector) -> None:
    """A ``project-conflict`` at each of ``names`` whose value (in ``values``, read from
    ``other``) differs from the project's first row; a blank cell repeats the first row."""
    for name in names:
        a, b = first.values.get(name), values.get(name)
        if b is None or not is_read(a) or not is_read(b) or a == b:
            continue
        pid = first.values.get("project_id")
        where = (f"row {first.r + 1}" if first.table.sheet is other.table.sheet
                 else f"{first.table.sheet_name} row {first.r + 1}")
        out.add("project-conflict", Severity.ERROR,
                f"project {pid} has {name} {quoted(a)} on {where} but {quoted(b)} on "
                f"row {other.r + 1}; a project's columns must agree on every row",
                out.at(other.table, other.r, name))


def in_reading_order(problems: list[Problem], sheet_names: list[str | None]) -> list[Problem]:
    """Problems as a person reads the file: sheet by sheet, top to bottom, left to right; the
    count of problems not listed one by one comes last."""
    order = {name: i for i, name in enumerate(sheet_names)}

    def key(p: Problem) -> tuple[int, int, int, int]:
        loc = p.location
        column = column_index(loc.letter or "") + 1  # 0 without a column, 1 for A
        last = p.code == "more-problems"
        return (len(order) if last else order.get(loc.sheet, -1), loc.row or 0, column, last)

    return sorted(problems, key=key)




def _compare_project_columns(first: Row, other: Row, columns: list[tuple[str, int]],
                             ctx: CellContext, out: Collector,
                             cells_of: Callable[[list[object]], tuple[object, ...]] | None = None,
                             ) -> None:
    """Later rows of a flat project must agree with its first row. Cells are compared as
    typed first (cheap; ``cells_of`` takes a row's ``columns`` at once, and the usual row
    typed as its first is done); only a cell that differs is read and compared by value."""
    first_raw, other_raw = first.table.sheet.rows[first.r], other.table.sheet.rows[other.r]
    if cells_of is not None and len(first_raw) == len(other_raw):
        try:
            if cells_of(first_raw) == cells_of(other_raw):
                return
        except IndexError:  # a short row: compared cell by cell below
            pass
    differing = []
    for name, index in columns:
        a = first_raw[index] if index < len(first_raw) else None
        b = other_raw[index] if index < len(other_raw) else None
        # A blank cell on a later row repeats the project's value (grouped exports leave the
        # project columns empty below the first row); only two different values conflict.
        if a != b and not is_blank(b):
            differing.append(name)
    if not differing:
        return
    reread = read_row(other.table, other.r, ctx, out, names=frozenset(differing))
    _report_conflicts(first, other, reread.values, differing, out)
