"""From raw sheets to the normalised tables billing reads: one row per project, one per line.

Finds the layout (two sheets, or flat), the header row under any title block, maps headers to
columns, reads every cell by its column's kind, and collects every problem with the row and
column a person sees in Excel. Nothing here raises for a user's mistake.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from progbill.money import (
    MoneyError,
    decimal_mark_evidence,
    exponent,
    from_minor,
    round_to_minor,
    to_minor,
)
from progbill.problems import (
    MAX_PROBLEMS_PER_FILE,
    Location,
    Problem,
    ProblemCounter,
    Severity,
    column_letter,
)
from progbill.readers import cells, title
from progbill.readers.cells import CellContext, CellError, is_blank
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
)
from progbill.readers.raw import RawSheet
from progbill.readers.schema import (
    CURRENCY,
    DATE,
    FLAG,
    FLAT_COLUMNS,
    ID,
    INT_DAYS,
    LINE_COLUMNS,
    LINE_SHEET_NAMES,
    MONEY,
    PERCENT,
    PROGRESS_COLUMNS,
    PROJECT_COLUMNS,
    PROJECT_SHEET_NAMES,
    QUANTITY,
    STATUS,
    STATUS_PROGRESS,
    TEXT,
    Column,
    lookup,
    normalise,
)

# A workbook of one project may give these outside its table (title block, cover sheet, sheet
# or file name, the workspace's stored details or a projects register).
_OUTSIDE_TABLE = frozenset({"project_id", "client", PROGRESS_ONLY})
# A label that makes a row a total, written as the whole cell: Total, Totals:, Sub-Total 3,
# Subtotal, Grand Total, Total carried forward, Total brought forward, Total with PS, Grand
# Total incl. VAT. ("Total station survey" is a line, not a total.)
_TOTAL_WORDS = re.compile(
    r"^(grand\s+|sub[\s-]*)?totals?(\s*[-:]?\s*[\dIVX.]+)?"
    r"(\s+(carried|brought)\s+(forward|fwd\.?|over)"
    r"|\s+(incl\.?|including|inclusive|with|without|of|excl\.?|excluding|exclusive)\b.*)?"
    r"\s*:?$", re.I)
_GRAND = re.compile(r"^grand\s+total", re.I)
_COLUMN_NUMBERS = re.compile(r"^\(?([0-9]{1,2}|[A-Z])\)?$")

_READERS: dict[str, Callable[[object, CellContext], object]] = {
    TEXT: cells.read_text,
    ID: cells.read_id,
    MONEY: cells.read_decimal,
    PERCENT: cells.read_percent,
    INT_DAYS: cells.read_days,
    FLAG: cells.read_flag,
    DATE: cells.read_date,
    STATUS: cells.read_status,
    CURRENCY: cells.read_currency,
    QUANTITY: cells.read_quantity,
}


@dataclass
class Table:
    """A sheet's header and the columns found in it."""

    sheet: RawSheet
    header_row: int  # 0-based
    columns: dict[str, int]  # canonical name -> column index
    headers: dict[str, str]  # canonical name -> header text as typed
    kinds: dict[str, Column]
    fractions: frozenset[str] = frozenset()  # percent columns read as 0-1 fractions
    top: int = -1  # the header's first row (rows above it may be a title block)
    role: str = "lines"  # or "schedule": lines without progress, which bill nothing

    @property
    def progress_only(self) -> bool:
        """Line ids and progress alone: the schedule comes from the workspace."""
        return not {"description", "scheduled_value", "quantity", "rate"} & set(self.columns)

    @property
    def sheet_name(self) -> str | None:
        return self.sheet.name

    def specs(self) -> list[tuple[str, int, Callable[[object, CellContext], object], set[int]]]:
        """Per column, once: its name, index, cell reader and the rows Excel formats as %."""
        if not hasattr(self, "_specs"):
            self._specs = [
                (name, index, _READERS[self.kinds[name].kind],
                 self.sheet.percent_rows(index) if self.kinds[name].kind == PERCENT else set())
                for name, index in self.columns.items()
            ]
        return self._specs


@dataclass
class Layout:
    """What a file's sheets amount to, before cells are read."""

    kind: str  # "two-sheet", "flat", or "register" (project columns only, no lines)
    projects: Table | None
    lines: Table | None
    more: list[Table] = field(default_factory=list)  # further flat sheets with a schedule


@dataclass
class ParsedTables:
    projects: pd.DataFrame
    lines: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    headers: dict[tuple[str | None, str], tuple[str, str]] = field(default_factory=dict)
    layout: str = ""
    sheet_names: list[str | None] = field(default_factory=list)


class _Collector:
    """Problems of one file, with locations."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.beyond = ProblemCounter(file)  # problems past the per-file limit, only counted
        # amounts with more decimals than the currency, billed as their cells show them
        self.rounded: list[tuple[Location, Decimal, Decimal]] = []

    def at(self, table: Table | None, row: int | None = None, column: str | None = None,
           sheet: RawSheet | None = None) -> Location:
        raw = table.sheet if table else sheet
        header = letter = None
        if table is not None and column is not None and column in table.columns:
            header = table.headers[column]
            letter = column_letter(table.columns[column])
        elif column is not None:
            header = column
        return Location(
            file=self.file,
            sheet=raw.name if raw else None,
            row=row + 1 if row is not None else None,
            column=header,
            letter=letter,
        )

    def add(self, code: str, severity: Severity, message: str, location: Location) -> None:
        problem = Problem(code, severity, message, location)
        if len(self.problems) < MAX_PROBLEMS_PER_FILE:
            self.problems.append(problem)
        else:
            self.beyond.count(problem)

    def all(self) -> list[Problem]:
        if self.rounded:
            first = self.rounded[0][0]
            shown = ", ".join(f"{_cell(loc)} {raw} -> {billed:,}"
                              for loc, raw, billed in self.rounded[:5])
            count = len(self.rounded)
            self.add("amounts-rounded", Severity.WARNING,
                     f"{count} amount{'s' if count > 1 else ''} had more decimals than the "
                     "currency; each is billed as its cell shows it, rounded half up ("
                     f"{shown}{' ...' if count > 5 else ''}); to bill other figures, round "
                     "them in the workbook (=ROUND(..., 2))",
                     Location(first.file, first.sheet))
            self.rounded = []
        summary = self.beyond.summary()
        return self.problems + ([summary] if summary else [])


# --------------------------------------------------------------------------------------------
# finding the layout


def find_table(
    sheet: RawSheet, columns: tuple[Column, ...], need_progress: bool, out: _Collector,
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
        return _build_table(sheet, candidate, match, out)
    if report:
        explain_missing_header(sheet, best_header(sheet, table), columns, need_progress, out,
                               optional)
    return None


def explain_missing_header(sheet: RawSheet, best: tuple[HeaderRow, Match] | None,
                           columns: tuple[Column, ...], need_progress: bool,
                           out: _Collector, optional: frozenset[str] = frozenset()) -> None:
    r, message = explain(sheet, best, columns, need_progress, optional)
    out.add("missing-column", Severity.ERROR, message, out.at(None, row=r, sheet=sheet))


def _build_table(sheet: RawSheet, header: HeaderRow, match: Match, out: _Collector) -> Table:
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
             out: _Collector) -> RawSheet | None:
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


def find_layout(sheets: list[RawSheet], out: _Collector) -> Layout | None:
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
                 need_progress: bool, optional: frozenset[str], out: _Collector
                 ) -> Layout | None:
    """The flat sheets of a workbook (every visible sheet with a table of lines), or None."""
    quiet = _Collector(out.file)
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
    others = [s.name for s in sheets if id(s) not in read]
    if others and len(visible) > 1:
        out.add("sheets-skipped", Severity.INFO,
                f"sheets without a schedule, not read: {', '.join(map(str, others))}",
                Location(out.file))
    return Layout(kind, None, table, visible[1:])


_LINE_ONLY = lookup(tuple(c for c in LINE_COLUMNS
                         if c.name not in {"project_id", "retainage_pct", "tax_code"}))


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
        quiet = _Collector("")
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


# --------------------------------------------------------------------------------------------
# reading rows


def _data_rows(table: Table, out: _Collector) -> list[int]:
    """Indexes of the rows below the header that are lines. Skipped, and listed once per file
    as information with their row numbers: empty rows; a row of column numbers under the header
    (1, 2, 3 ... or A, B, C ...); section headings (no amount, percent or status: zero counts as
    none); total rows (a Total, Sub-Total 3, Grand Total, Total carried forward ... label, or no
    line id and an amount equal to the sum of the lines above since the previous total); and,
    after a Grand Total, the summary rows below the table (VAT, total with provisional sums)."""
    rows = []
    used = list(table.columns.values())
    key_cols = [table.columns[c] for c in ("project_id", "milestone_id") if c in table.columns]
    line_id = table.columns.get("milestone_id")
    amounts = [(name, i) for name, i in table.columns.items()
               if table.kinds[name].kind in (MONEY, PERCENT, STATUS, QUANTITY)
               and name not in _PROJECT_ONLY and name not in ("retainage_pct",)]
    lines_table = "scheduled_value" in table.columns or "milestone_id" in table.columns
    running: dict[str, Decimal] = {}
    since_total = 0
    skipped: dict[str, list[int]] = {}
    after_grand = False
    ctx = CellContext()

    def skip(why: str, r: int) -> None:
        skipped.setdefault(why, []).append(r + 1)

    rows_below = range(table.header_row + 1, len(table.sheet.rows))
    last_line = max((r for r in rows_below if line_id is not None
                     and line_id < len(table.sheet.rows[r])
                     and not is_blank(table.sheet.rows[r][line_id])), default=-1)
    for r in rows_below:
        row = table.sheet.rows[r]
        width = len(row)
        if all(c >= width or is_blank(row[c]) for c in used):
            continue
        texts = [v.strip() for v in row if isinstance(v, str) and v.strip()]
        label = next((t for t in texts if _TOTAL_WORDS.match(t)), None)
        if label is not None:
            skip("total rows", r)
            # below the last line, a total ends the table: what follows is its summary
            after_grand = after_grand or bool(_GRAND.match(label)) or r > last_line
            running, since_total = {}, 0
            continue
        if not lines_table:
            rows.append(r)
            continue
        keys_blank = all(c >= width or is_blank(row[c]) for c in key_cols)
        no_id = line_id is None or line_id >= width or is_blank(row[line_id])
        if after_grand and no_id:
            skip("summary rows below the table", r)
            continue
        if r == table.header_row + 1 and _is_column_numbers(row, used):
            skip("a row of column numbers", r)
            continue
        values = {name: _number(row[i], ctx) if i < width else None for name, i in amounts}
        if all(v in (None, Decimal(0)) for v in values.values()) and not _has_status(
                row, table) and not (table.progress_only and not no_id):
            skip("section headings (no amounts)", r)
            continue
        if (keys_blank or no_id) and _sums_above(table, r, amounts, values):
            skip("subtotal rows (SUM or SUBTOTAL formulas)", r)
            running, since_total = {}, 0
            continue
        if (keys_blank or no_id) and since_total >= 2 and any(
                v is not None and v != 0 and name in running
                and abs(running[name] - v) < _SUM_TOLERANCE
                for name, v in values.items()):
            skip("subtotal rows (the sum of the lines above)", r)
            running, since_total = {}, 0
            continue
        for name, v in values.items():
            if v is not None:
                running[name] = running.get(name, Decimal(0)) + v
        since_total += 1
        rows.append(r)
    for why, numbers in skipped.items():
        shown = ", ".join(map(str, numbers[:30])) + (" ..." if len(numbers) > 30 else "")
        out.add("rows-skipped", Severity.INFO,
                f"{why} skipped, not billed: row{'s' if len(numbers) > 1 else ''} {shown}",
                out.at(table))
    return rows


# Excel adds in binary floating point: a total of amounts in cents can differ from the exact
# sum in the 15th digit, never by half a cent.
_SUM_TOLERANCE = Decimal("0.005")
_SUM_FORMULA = re.compile(r"^\s*=?\s*(SUM|SUBTOTAL|AGGREGATE)\s*\(", re.I)


def _sums_above(table: Table, r: int, amounts: list[tuple[str, int]],
                values: dict[str, Decimal | None]) -> bool:
    """Every amount this row holds is a SUM or SUBTOTAL formula over the column above
    (whatever range it covers): a total row without a label."""
    filled = [i for name, i in amounts if values.get(name) not in (None, Decimal(0))]
    if not filled:
        return False
    formulas = table.sheet.formulas_of(r)
    above = table.header_row + 1
    for i in filled:
        formula = formulas.get(i, "")
        refs = [int(n) - 1 for n in re.findall(r"[A-Z]{1,3}\$?(\d+)", formula)]
        if not _SUM_FORMULA.match(formula) or not refs or not all(above <= n < r for n in refs):
            return False
    return True


def _number(value: object, ctx: CellContext) -> Decimal | None:
    if is_blank(value) or isinstance(value, bool):
        return None
    try:
        return cells.read_decimal(value, ctx)
    except CellError:
        return Decimal(1)  # something that is not blank; the cell is reported when read


def _has_status(row: list[object], table: Table) -> bool:
    index = table.columns.get("status")
    return index is not None and index < len(row) and not is_blank(row[index])


def _is_column_numbers(row: list[object], used: list[int]) -> bool:
    """1, 2, 3 ... or A, B, C ... under the header (the G703 and BOQ column legend)."""
    cells_ = [row[c] for c in sorted(used) if c < len(row) and not is_blank(row[c])]
    if len(cells_) < 3:
        return False
    marks = []
    for value in cells_:
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        match = _COLUMN_NUMBERS.match(text.strip())
        if not match:
            return False
        marks.append(match.group(1))
    if all(m.isdigit() for m in marks):
        numbers = [int(m) for m in marks]
        return numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    return all(m.isalpha() for m in marks) and marks == sorted(marks)


def _decimal_mark(tables: list[Table], out: _Collector) -> str:
    """The file's decimal mark, from the money and percent cells typed as text."""
    seen: dict[str, tuple[Table, int, str]] = {}
    for table in tables:
        numeric = [
            (name, index) for name, index in table.columns.items()
            if table.kinds[name].kind in (MONEY, PERCENT)
        ]
        for r in range(table.header_row + 1, len(table.sheet.rows)):
            row = table.sheet.rows[r]
            for name, index in numeric:
                value = row[index] if index < len(row) else None
                if isinstance(value, str):
                    mark = decimal_mark_evidence(value)
                    if mark and mark not in seen:
                        seen[mark] = (table, r, name)
    if len(seen) == 2:
        t1, r1, c1 = seen["."]
        t2, r2, c2 = seen[","]
        first, second = out.at(t1, r1, c1), out.at(t2, r2, c2)
        out.add("mixed-decimal-marks", Severity.ERROR,
                f"this number uses a decimal comma but {_cell(first)} uses a decimal point; use "
                "one decimal mark throughout the file", second)
        return "."
    return "," if "," in seen else "."


def _cell(loc: Location) -> str:
    """``Milestones!E2`` or ``E2``: a cell as a person names it."""
    cell = f"{loc.letter}{loc.row}"
    return f"{loc.sheet}!{cell}" if loc.sheet else cell


@dataclass
class _Row:
    table: Table
    r: int
    values: dict[str, object]


def _read_row(table: Table, r: int, ctx: CellContext, out: _Collector,
              names: frozenset[str] | None = None) -> _Row:
    """Read a row's cells (only ``names`` when given); a bad cell becomes ``_INVALID`` and a
    located problem."""
    row = table.sheet.rows[r]
    width = len(row)
    missing = table.sheet.formulas_without_value
    values: dict[str, object] = {}
    for name, index, reader, percent_rows in table.specs():
        if names is not None and name not in names:
            continue
        raw = row[index] if index < width else None
        if missing and (r, index) in missing:
            out.add("formula-without-value", Severity.ERROR,
                    "the formula in this cell has no saved result (the file was written by a "
                    "program and never opened in Excel); open it in Excel, let it calculate, "
                    "and save it", out.at(table, r, name))
            values[name] = _INVALID
            continue
        if raw is None or raw == "" or (isinstance(raw, str) and not raw.strip()):
            values[name] = None
            continue
        try:
            if name in table.fractions:
                cell_ctx = _FRACTION_CTX[ctx]
            else:
                cell_ctx = _PERCENT_CTX[ctx] if r in percent_rows else ctx
            values[name] = reader(raw, cell_ctx)
        except CellError as exc:
            out.add(exc.code, Severity.ERROR, exc.message, out.at(table, r, name))
            values[name] = _INVALID
            continue
        if isinstance(raw, str) and not raw.isprintable() and isinstance(values[name], str):
            _warn_invisible(table, r, name, raw, str(values[name]), out)
    return _Row(table, r, values)


def _warn_invisible(table: Table, r: int, name: str, raw: str, read: str,
                    out: _Collector) -> None:
    gone = cells.removed_characters(raw, read)
    if gone:
        kind = "id" if table.kinds[name].kind == ID else "text"
        out.add("invisible-characters", Severity.WARNING,
                f"the {kind} held invisible characters ({', '.join(gone[:3])}); they were "
                f"removed and it reads {read!r}", out.at(table, r, name))


class _PercentContexts(dict):  # type: ignore[type-arg]
    """The same reading context with ``percent_formatted`` set, made once per context."""

    def __missing__(self, ctx: CellContext) -> CellContext:
        made = CellContext(ctx.decimal_mark, ctx.date_order, percent_formatted=True)
        self[ctx] = made
        return made


_PERCENT_CTX = _PercentContexts()


class _FractionContexts(dict):  # type: ignore[type-arg]
    """The context of a percent column whose plain numbers are 0-1 fractions (input.percent_scale
    = "fraction"): numbers and text without a % sign are multiplied by 100."""

    def __missing__(self, ctx: CellContext) -> CellContext:
        made = CellContext(ctx.decimal_mark, ctx.date_order, percent_formatted=True,
                           fraction_text=True)
        self[ctx] = made
        return made


_FRACTION_CTX = _FractionContexts()


class _Invalid:
    """A cell that could not be read (its problem is already reported)."""

    def __repr__(self) -> str:
        return "<invalid>"


_INVALID = _Invalid()


def _ok(value: object) -> bool:
    return value is not _INVALID


def _percent_in_range(row: _Row, name: str, out: _Collector, label: str) -> Decimal | None:
    value = row.values.get(name)
    if value is None or not _ok(value):
        return None
    assert isinstance(value, Decimal)
    if value < 0 or value > 100:
        where = "above 100" if value > 100 else "below 0"
        hint = ("; if the column holds retainage amounts (G703 column I), head it "
                "Retainage to Date" if name == "retainage_pct" and value > 100 else "")
        out.add("percent-out-of-range", Severity.ERROR,
                f"{label} {value} is {where}; enter a value from 0 to 100{hint}",
                out.at(row.table, row.r, name))
        row.values[name] = _INVALID
        return None
    return value


def _minor(row: _Row, name: str, currency: str | None, out: _Collector) -> int | None:
    value = row.values.get(name)
    if value is None or not _ok(value) or currency is None:
        return None
    assert isinstance(value, Decimal)
    try:
        return to_minor(value, currency)
    except MoneyError as exc:
        index = row.table.columns.get(name)
        if exc.code == "too-many-decimals" and index is not None and (
                row.table.sheet.decimals_of(index).get(row.r) == exponent(currency)):
            # Excel shows this amount to the currency's decimals: bill what the user sees
            rounded = round_to_minor(value, currency)
            out.rounded.append((out.at(row.table, row.r, name), value,
                                from_minor(rounded, currency)))
            return rounded
        out.add(exc.code, Severity.ERROR, exc.message, out.at(row.table, row.r, name))
        row.values[name] = _INVALID
        return None


def _require(row: _Row, name: str, out: _Collector, what: str) -> bool:
    value = row.values.get(name)
    if value is None:
        message = f"the {what} is empty; fill it in"
        if name == "milestone_id":
            message = ("this row has amounts but no line id; give it an item number of its own "
                       "(a sub-item of item 3, for example, as 3.1), or, if it is a total, label "
                       "it Total or Sub-Total")
        out.add("missing-value", Severity.ERROR, message, out.at(row.table, row.r, name))
        return False
    return _ok(value)


# --------------------------------------------------------------------------------------------
# projects and lines


_PROJECT_NAMES = tuple(c.name for c in PROJECT_COLUMNS)


def _project_record(row: _Row, default_currency: str, out: _Collector,
                    lines_sheet: str | None) -> dict[str, object] | None:
    v = row.values
    ok = _require(row, "project_id", out, "project id")
    if "client" in row.table.columns or "client" in v:
        ok = _require(row, "client", out, "client") and ok
    currency = v.get("currency")
    if currency is None:
        currency = default_currency
    elif not _ok(currency):
        ok = False
        currency = None
    for name, label in (("retainage_pct", "retainage"), ("stored_retainage_pct",
                        "retainage on stored materials"), ("tax_rate", "tax rate")):
        if v.get(name) is not None and _percent_in_range(row, name, out, label) is None:
            ok = False
    contract_value = _minor(row, "contract_value", currency if isinstance(currency, str)
                            else None, out)
    if any(not _ok(x) for x in v.values()):
        ok = False
    if not ok:
        return None
    tax_header = row.table.headers.get("tax_rate", "")
    key = normalise(tax_header)
    tax_label = "VAT" if key.startswith("vat") else "GST" if key.startswith("gst") else "Tax"
    return {
        "project_id": v["project_id"],
        "project_name": v.get("project_name") or "",
        "client": v.get("client") or "",
        "client_address": v.get("client_address") or "",
        "client_email": v.get("client_email") or "",
        "client_tax_id": v.get("client_tax_id") or "",
        "currency": currency,
        "retainage_pct": v.get("retainage_pct"),
        "stored_retainage_pct": v.get("stored_retainage_pct"),
        "tax_rate": v.get("tax_rate"),
        "tax_label": tax_label,
        "payment_terms_days": v.get("payment_terms_days"),
        "po_number": v.get("po_number") or "",
        "contract_value": contract_value,
        "release_retainage": bool(v.get("release_retainage") or False),
        "place_of_supply": v.get("place_of_supply") or "",
        "reverse_charge": bool(v.get("reverse_charge") or False),
        "tax_code": v.get("tax_code") or "",
        "_source": out.file,
        "_sheet": row.table.sheet_name,
        "_row": row.r + 1,
        "_lines_sheet": lines_sheet,
        # the details the workbook gives (in its table or around it); the others may come
        # from the workspace: the project's stored details or a projects register
        "_given": ",".join(sorted(n for n in _PROJECT_NAMES if n in row.table.columns
                                  or n in v)),
    }


def _line_record(row: _Row, currency: str | None, out: _Collector) -> dict[str, object] | None:
    v = row.values
    progress_only = row.table.progress_only
    schedule_only = row.table.role == "schedule"
    ok = _require(row, "project_id", out, "project id")
    ok = _require(row, "milestone_id", out, "line id") and ok
    if not progress_only:
        ok = _require(row, "description", out, "description") and ok
    priced = v.get("quantity") is not None and v.get("rate") is not None
    if not priced and not progress_only:
        ok = _require(row, "scheduled_value", out, "scheduled value") and ok
    pct = _percent_in_range(row, "percent_complete", out, "percent") if "percent_complete" in v \
        else None
    if v.get("retainage_pct") is not None and _percent_in_range(
            row, "retainage_pct", out, "retainage") is None:
        ok = False
    status = v.get("status")
    progress: Decimal | None = pct
    money = _money_progress(row, currency, out)
    if money is None:
        ok = False
        money = _MoneyProgress()
    measured = v.get("quantity_to_date") is not None or v.get("quantity_this_bill") is not None
    if schedule_only or (pct is None and _ok(v.get("percent_complete", None)) and (
            money.any or measured)):
        pass  # a schedule without progress, or progress given as money or as quantities
    elif pct is None and _ok(v.get("percent_complete", None)):
        if status is None:
            out.add("missing-value", Severity.ERROR,
                    "the line has neither a percent complete nor a status; enter one",
                    out.at(row.table, row.r,
                           "percent_complete" if "percent_complete" in row.table.columns
                           else "status"))
            ok = False
        elif _ok(status):
            progress = Decimal(100) if STATUS_PROGRESS[str(status)] else Decimal(0)
    elif pct is not None and isinstance(status, str):
        done = STATUS_PROGRESS[status]
        if (done and pct != 100) or (status == "not started" and pct != 0):
            out.add("status-conflict", Severity.ERROR,
                    f"the status is {status} but the percent complete is {pct}; correct one "
                    "of them", out.at(row.table, row.r, "percent_complete"))
            ok = False
    scheduled = _minor(row, "scheduled_value", currency, out)
    if progress_only:
        scheduled = 0  # the workspace's schedule gives it (pipeline.complete_schedules)
        if measured:
            out.add("missing-column", Severity.ERROR,
                    "a progress-only workbook may give percent complete, status or amounts to "
                    "date; quantities need their rate, so add the quantity and rate columns",
                    out.at(row.table, row.r, "quantity_to_date"
                           if "quantity_to_date" in row.table.columns else "quantity_this_bill"))
            ok = False
    quantities = _quantity_progress(row, currency, scheduled, out) if priced and _ok(
        v.get("quantity")) and _ok(v.get("rate")) else None
    if quantities is not None:
        scheduled = quantities.scheduled if scheduled is None else scheduled
        if quantities.work is not None and money.work_to_date is not None and (
                money.work_to_date != quantities.work):
            out.add("figures-disagree", Severity.ERROR,
                    f"work to date {from_minor(money.work_to_date, str(currency)):,} is not the "
                    f"quantity to date {quantities.to_date} x rate {v.get('rate')} = "
                    f"{from_minor(quantities.work, str(currency)):,}; correct the amount, the "
                    "quantity or the rate", out.at(row.table, row.r, "work_to_date"))
            ok = False
        elif quantities.work is not None:
            money = _MoneyProgress.measured(quantities.work, money)
    elif priced:
        ok = False
    stored = _minor(row, "stored_materials", currency, out)
    if stored is not None and stored < 0:
        out.add("bad-amount", Severity.ERROR,
                "materials stored cannot be negative; enter the value of materials on hand "
                "(0 if none)", out.at(row.table, row.r, "stored_materials"))
        ok = False
    prev_billed = _minor(row, "previously_billed", currency, out)
    prev_retained = _minor(row, "previously_retained", currency, out)
    if any(not _ok(x) for x in v.values()) or not ok or scheduled is None or (
            progress is None and not money.any and not schedule_only):
        return None
    if not _money_agrees(row, money, scheduled, stored or 0, prev_billed, pct, currency, out):
        return None
    change_order = str(v.get("change_order") or "")
    if change_order.strip().casefold() in {"no", "n", "false", "-", "0"}:
        change_order = ""
    return {
        "project_id": v["project_id"],
        "line_id": v["milestone_id"],
        "description": v.get("description") or "",
        "scheduled_value": scheduled,
        "percent_complete": progress,
        "status": status or "",
        "completed_on": v.get("completed_on"),
        "stored_materials": stored or 0,
        "change_order": change_order.strip(),
        "retainage_pct": v.get("retainage_pct"),
        "previously_billed": prev_billed,
        "previously_retained": prev_retained,
        "tax_code": v.get("tax_code") or "",
        "quantity": v.get("quantity"),
        "unit": v.get("unit") or "",
        "rate": v.get("rate"),
        "quantity_to_date": quantities.to_date if quantities else None,
        "work_given": money.work(stored or 0),
        "period_given": money.period,
        "retainage_given": money.retainage,
        "_progress_only": progress_only,
        "_schedule_only": schedule_only,
        "_source": out.file,
        "_sheet": row.table.sheet_name,
        "_row": row.r + 1,
    }


@dataclass
class _QuantityProgress:
    scheduled: int  # round-half-up(contract quantity x rate)
    to_date: Decimal | None  # quantity to date
    work: int | None  # round-half-up(quantity to date x rate)


def _quantity_progress(row: _Row, currency: str | None, scheduled: int | None,
                       out: _Collector) -> _QuantityProgress | None:
    """A quantity x rate line: its scheduled value and its work to date in money, each rounded
    half up once per line. A stated amount must equal quantity x rate rounded; the quantity to
    date is given, or the previous quantity plus this bill's. None when it cannot be priced
    (reported)."""

    if currency is None:
        return None
    v = row.values
    quantity, rate = v["quantity"], v["rate"]
    assert isinstance(quantity, Decimal) and isinstance(rate, Decimal)
    priced = round_to_minor(quantity * rate, currency)
    if scheduled is not None and scheduled != priced:
        out.add("figures-disagree", Severity.ERROR,
                f"the scheduled value {from_minor(scheduled, currency):,} is not quantity "
                f"{quantity} x rate {rate} = {from_minor(priced, currency):,}; correct the "
                "amount, the quantity or the rate", out.at(row.table, row.r, "scheduled_value"))
        return None
    to_date, this_bill, previous = (v.get("quantity_to_date"), v.get("quantity_this_bill"),
                                    v.get("previous_quantity"))
    if previous is None and this_bill is not None and v.get("previously_billed") == 0:
        previous = Decimal(0)  # nothing billed before: nothing was measured before
    if to_date is None and this_bill is not None:
        if previous is None:
            out.add("missing-value", Severity.ERROR,
                    "this bill's quantity needs the quantity before it; add a previous "
                    "quantity column, or give the quantity to date",
                    out.at(row.table, row.r, "quantity_this_bill"))
            return None
        to_date = previous + this_bill  # type: ignore[operator]
    elif to_date is not None and this_bill is not None and previous is not None and (
            previous + this_bill != to_date):  # type: ignore[operator]
        out.add("figures-disagree", Severity.ERROR,
                f"the quantity to date {to_date} is not the previous quantity {previous} plus "
                f"this bill's {this_bill}; correct one of them",
                out.at(row.table, row.r, "quantity_to_date"))
        return None
    work = round_to_minor(to_date * rate, currency) if isinstance(to_date, Decimal) else None
    return _QuantityProgress(scheduled if scheduled is not None else priced,
                             to_date if isinstance(to_date, Decimal) else None, work)


@dataclass
class _MoneyProgress:
    """Progress a line states as money (G703 columns), each figure as read, or None."""

    work: Callable[[int], int | None] = field(default=lambda _f: None)
    work_to_date: int | None = None  # W
    period: int | None = None  # E
    total: int | None = None  # G
    balance: int | None = None  # H
    retainage: int | None = None  # I, only checked

    @property
    def any(self) -> bool:
        return self.work_to_date is not None or self.period is not None or self.total is not None

    @classmethod
    def measured(cls, work: int, money: _MoneyProgress) -> _MoneyProgress:
        """Work to date from quantity x rate; the other money columns are still checked."""
        def fixed(_stored: int) -> int:
            return work

        return cls(fixed, work, money.period, money.total, money.balance, money.retainage)


def _money_progress(row: _Row, currency: str | None, out: _Collector) -> _MoneyProgress | None:
    """The money columns of a line; None when one of them is unreadable (already reported)."""
    figures = {}
    for name in ("work_to_date", "work_this_period", "total_completed_stored",
                 "balance_to_finish", "retainage_to_date"):
        figures[name] = _minor(row, name, currency, out)
        if not _ok(row.values.get(name)):
            return None
    w, g = figures["work_to_date"], figures["total_completed_stored"]

    def work(stored: int) -> int | None:
        """Work completed to date (W) exactly: given, or G - F."""
        if w is not None:
            return w
        return g - stored if g is not None else None

    return _MoneyProgress(work, w, figures["work_this_period"], g, figures["balance_to_finish"],
                          figures["retainage_to_date"])


def _shown(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding="ROUND_HALF_UP")


def _money_agrees(row: _Row, money: _MoneyProgress, scheduled: int, stored: int,
                  previous: int | None, pct: Decimal | None, currency: str | None,
                  out: _Collector) -> bool:
    """Figures that say the same thing twice must agree; the line is refused, naming both
    cells and both values, when they do not. progbill never picks one of them."""


    cur = currency or ""

    def shown(minor: int) -> str:
        return f"{from_minor(minor, cur):,}"

    def cell(name: str) -> str:
        table = row.table
        header = table.headers.get(name, name)
        return f"{header} ({column_letter(table.columns[name])}{row.r + 1})"

    def refuse(name: str, message: str) -> bool:
        out.add("figures-disagree", Severity.ERROR, message, out.at(row.table, row.r, name))
        return False

    ok = True
    if money.work_to_date is not None and money.total is not None and (
            money.work_to_date + stored != money.total):
        ok = refuse("total_completed_stored",
                    f"completed and stored to date {shown(money.total)} is not work completed "
                    f"to date {shown(money.work_to_date)} ({cell('work_to_date')}) plus "
                    f"materials stored {shown(stored)}; correct one of them")
    if (money.total is not None and money.period is not None and previous is not None
            and previous + money.period + stored != money.total):
        ok = refuse("total_completed_stored",
                    f"completed and stored to date {shown(money.total)} is not from previous "
                    f"{shown(previous)} + this period {shown(money.period)} "
                    f"({cell('work_this_period')}) + materials stored {shown(stored)} = "
                    f"{shown(previous + money.period + stored)}; correct one of them")
    if (money.work_to_date is not None and money.period is not None and previous is not None
            and previous + money.period != money.work_to_date):
        ok = refuse("work_to_date",
                    f"work to date {shown(money.work_to_date)} is not from previous "
                    f"{shown(previous)} + this period {shown(money.period)} "
                    f"({cell('work_this_period')}) = {shown(previous + money.period)}; "
                    "correct one of them")
    if money.total is not None and money.balance is not None and (
            scheduled - money.total != money.balance):
        ok = refuse("balance_to_finish",
                    f"balance to finish {shown(money.balance)} is not the scheduled value "
                    f"{shown(scheduled)} less completed and stored to date {shown(money.total)} "
                    f"({cell('total_completed_stored')}) = {shown(scheduled - money.total)}; "
                    "correct one of them")
    work = money.work(stored)
    if pct is not None and work is not None and scheduled:
        exponent = pct.as_tuple().exponent
        decimals = min(-exponent if isinstance(exponent, int) and exponent < 0 else 0, 2)
        said = _shown(pct, decimals)
        as_work = _shown(Decimal(work) * 100 / Decimal(scheduled), decimals)
        as_total = (_shown(Decimal(money.total) * 100 / Decimal(scheduled), decimals)
                    if money.total is not None else None)
        if said not in (as_work, as_total):
            where = (f"completed and stored to date {shown(money.total)} "
                     f"({cell('total_completed_stored')}) makes {as_total}% of the scheduled "
                     f"value with stored materials and {as_work}% without"
                     if money.total is not None else
                     f"work completed to date {shown(work)} ({cell('work_to_date')}) makes "
                     f"{as_work}%")
            ok = refuse("percent_complete",
                        f"the percent complete {said}% does not agree with the amounts: {where};"
                        " correct the percent or the amount")
    return ok


def _warn_sheet_flags(table: Table, data_rows: list[int], out: _Collector) -> None:
    sheet = table.sheet
    hidden = sorted(r for r in sheet.hidden_rows if r in set(data_rows))
    if hidden:
        shown = ", ".join(str(r + 1) for r in hidden[:20]) + (" ..." if len(hidden) > 20 else "")
        what = f"rows {shown} are" if len(hidden) > 1 else f"row {shown} is"
        out.add("hidden-rows", Severity.WARNING,
                f"{what} hidden and billed like the others; unhide to check "
                f"{'them' if len(hidden) > 1 else 'it'}", out.at(table))
    hidden_cols = sorted(
        (name, i) for name, i in table.columns.items() if i in sheet.hidden_cols
    )
    for name, _ in hidden_cols:
        out.add("hidden-column", Severity.WARNING,
                "this column is hidden and was read like the others; unhide it to check",
                out.at(table, None, name))


def _percent_scale(table: Table, rows: list[int], scale: str, ctx: CellContext,
                   out: _Collector) -> Table:
    """Decide, per percent column, what plain numbers mean, before any cell is read.

    Cells Excel formats as percentages and text written with ``%`` say what they mean. The rest
    are ambiguous when every one lies between 0 and 1 (and one is above 0): ``0.9`` is 90% to
    whoever typed a fraction and 0.9% to whoever typed percent points, and guessing wrong bills
    a hundredth (or a hundred times) of the right amount. So that is an error naming the column
    and both fixes, unless ``input.percent_scale`` says which ("fraction" or "percent")."""
    if scale == "percent":
        return table
    fractions = set()
    for name, index in table.columns.items():
        if table.kinds[name].kind != PERCENT:
            continue
        formatted = table.sheet.percent_rows(index)
        plain: list[Decimal] = []
        for r in rows:
            row = table.sheet.rows[r]
            raw = row[index] if index < len(row) else None
            if r in formatted or is_blank(raw) or (isinstance(raw, str) and "%" in raw):
                continue
            try:
                plain.append(cells.read_decimal(raw, ctx))
            except CellError:
                continue  # reported when the cell is read
        if not (plain and all(0 <= v <= 1 for v in plain) and any(v > 0 for v in plain)):
            continue
        if scale == "fraction":
            fractions.add(name)
            continue
        out.add("percent-as-fraction", Severity.ERROR,
                "every value in this column lies between 0 and 1 and no cell is formatted as a "
                "percentage, so 0.9 could mean 90% or 0.9%; format the cells as percentages "
                "(Excel: Home > %), or set input.percent_scale = \"fraction\" (0.9 is 90%) or "
                "\"percent\" (0.9 is 0.9%) in progbill.toml", out.at(table, None, name))
    if not fractions:
        return table
    return Table(table.sheet, table.header_row, table.columns, table.headers, table.kinds,
                 frozenset(fractions), table.top, table.role)


def parse_tables(
    sheets: list[RawSheet], file: str, default_currency: str, date_order: str,
    percent_scale: str = "auto",
) -> ParsedTables:
    out = _Collector(file)
    layout = find_layout(sheets, out)
    names = [s.name for s in sheets]
    if layout is None:
        return ParsedTables(empty_projects(), empty_lines(), in_reading_order(out.all(), names),
                            sheet_names=names)
    tables = [t for t in (layout.projects, layout.lines, *layout.more) if t is not None]
    ctx = CellContext(decimal_mark=_decimal_mark(tables, out), date_order=date_order)
    headers = {
        (t.sheet_name, name): (t.headers[name], column_letter(i))
        for t in tables for name, i in t.columns.items()
    }
    project_records: dict[str, dict[str, object]] = {}
    currency_of: dict[str, str | None] = {}
    line_records: list[dict[str, object]] = []
    lines_sheet = layout.lines.sheet_name if layout.lines is not None else None

    if layout.projects is not None:
        prows = _data_rows(layout.projects, out)
        _warn_sheet_flags(layout.projects, prows, out)
        projects_table = _percent_scale(layout.projects, prows, percent_scale, ctx, out)
        first_row: dict[str, int] = {}
        for r in prows:
            row = _read_row(projects_table, r, ctx, out)
            pid = row.values.get("project_id")
            if isinstance(pid, str) and pid in first_row:
                out.add("duplicate-project", Severity.ERROR,
                        f"project {pid} is listed twice (rows {first_row[pid] + 1} and {r + 1}); "
                        "keep one row per project", out.at(layout.projects, r, "project_id"))
                continue
            if isinstance(pid, str):
                first_row[pid] = r
            record = _project_record(row, default_currency, out, lines_sheet)
            if isinstance(pid, str):
                currency_of[pid] = record["currency"] if record else None  # type: ignore[assignment]
            if record is not None:
                project_records[str(pid)] = record
        if layout.lines is None:  # a projects register
            projects = pd.DataFrame(list(project_records.values()), columns=list(_PROJECT_FRAME))
            return ParsedTables(_typed_projects(projects), empty_lines(),
                                in_reading_order(out.all(), names), headers, layout.kind, names)
        lrows = _data_rows(layout.lines, out)
        _warn_sheet_flags(layout.lines, lrows, out)
        lines_table = _percent_scale(layout.lines, lrows, percent_scale, ctx, out)
        parsed_lines = [_read_row(lines_table, r, ctx, out) for r in lrows]
        for row in parsed_lines:
            pid = row.values.get("project_id")
            if isinstance(pid, str) and pid not in currency_of:
                out.add("unknown-project", Severity.ERROR,
                        f"project {pid} is not on the {layout.projects.sheet_name} sheet; add it "
                        "there or correct the project id", out.at(layout.lines, row.r,
                                                                  "project_id"))
                continue
            record = _line_record(row, currency_of.get(str(pid)) if isinstance(pid, str)
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
        seen: dict[str, _Row] = {}
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

    projects = pd.DataFrame(list(project_records.values()), columns=list(_PROJECT_FRAME))
    lines = pd.DataFrame(line_records, columns=list(_LINE_FRAME))
    return ParsedTables(_typed_projects(projects), _typed_lines(lines),
                        in_reading_order(out.all(), names), headers, layout.kind, names)


def _outside_details(table: Table, flat: list[Table], sheets: list[RawSheet], ctx: CellContext,
                     out: _Collector) -> dict[str, object]:
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
                f"{first.label} is {_show(first.value)} at {_detail_cell(first)} but "
                f"{_show(second.value)} here; a workbook names one project, so correct one",
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
            detail_ctx = _PERCENT_CTX[ctx]
        try:
            given[name] = _READERS[column.kind](detail.value, detail_ctx)
        except CellError as exc:
            out.add(exc.code, Severity.ERROR, f"{detail.label}: {exc.message}",
                    _detail_at(detail, out))
            given[name] = _INVALID
    source = None
    if "project_id" in found:
        source = found["project_id"]
    elif "project_name" in found:
        source = found["project_name"]
        given["project_id"] = given.get("project_name", _INVALID)
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


def _detail_at(detail: title.Detail, out: _Collector) -> Location:
    return Location(out.file, detail.sheet, detail.row + 1, detail.label,
                    column_letter(detail.column))


def _read_flat_sheet(table: Table, ctx: CellContext, percent_scale: str, default_currency: str,
                     seen: dict[str, _Row], project_records: dict[str, dict[str, object]],
                     line_records: list[dict[str, object]], out: _Collector,
                     given: dict[str, object] | None = None) -> None:
    """One flat sheet's rows: a project's columns are read on its first row (on this sheet or
    an earlier one); later rows are only compared with it. ``given`` holds what the workbook
    says outside the table (the project of a sheet without a project column)."""
    lrows = _data_rows(table, out)
    _warn_sheet_flags(table, lrows, out)
    table = _percent_scale(table, lrows, percent_scale, ctx, out)
    line_names = frozenset(c.name for c in LINE_COLUMNS) | {"currency"}
    project_index = [(n, i) for n, i in table.columns.items() if n in _PROJECT_ONLY]
    given = given or {}
    id_index = table.columns.get("project_id")
    for r in lrows:
        if id_index is None:
            first = seen.get(str(given.get("project_id")))
        else:
            raw_row = table.sheet.rows[r]
            raw_id = raw_row[id_index] if id_index < len(raw_row) else None
            first = seen.get(cells.read_id(raw_id, ctx)) if not is_blank(raw_id) and not (
                isinstance(raw_id, bool)) else None
        same_sheet = first is not None and first.table.sheet is table.sheet
        row = _read_row(table, r, ctx, out, names=line_names if same_sheet else None)
        for name, value in given.items():
            row.values.setdefault(name, value)
        pid = row.values.get("project_id")
        if not isinstance(pid, str):
            _line_record(row, None, out)
            continue
        if first is None:
            seen[pid] = row
            record = _project_record(row, default_currency, out, table.sheet_name)
            if record is not None:
                project_records[pid] = record
        elif same_sheet:
            _compare_project_columns(first, row, project_index, ctx, out)
        else:
            _compare_project_values(first, row, out)
        currency = project_records[pid]["currency"] if pid in project_records else None
        record = _line_record(row, currency if isinstance(currency, str) else None, out)
        if record is not None:
            line_records.append(record)


def _compare_project_values(first: _Row, other: _Row, out: _Collector) -> None:
    """A project on a second sheet: its project columns there must agree with the first."""
    _report_conflicts(first, other, other.values, [
        n for n in _PROJECT_ONLY if n in other.table.columns and n in first.table.columns], out)


def _report_conflicts(first: _Row, other: _Row, values: dict[str, object], names: list[str],
                      out: _Collector) -> None:
    """A ``project-conflict`` at each of ``names`` whose value (in ``values``, read from
    ``other``) differs from the project's first row; a blank cell repeats the first row."""
    for name in names:
        a, b = first.values.get(name), values.get(name)
        if b is None or not _ok(a) or not _ok(b) or a == b:
            continue
        pid = first.values.get("project_id")
        where = (f"row {first.r + 1}" if first.table.sheet is other.table.sheet
                 else f"{first.table.sheet_name} row {first.r + 1}")
        out.add("project-conflict", Severity.ERROR,
                f"project {pid} has {name} {_show(a)} on {where} but {_show(b)} on "
                f"row {other.r + 1}; a project's columns must agree on every row",
                out.at(other.table, other.r, name))


def in_reading_order(problems: list[Problem], sheet_names: list[str | None]) -> list[Problem]:
    """Problems as a person reads the file: sheet by sheet, top to bottom, left to right; the
    count of problems not listed one by one comes last."""
    order = {name: i for i, name in enumerate(sheet_names)}

    def key(p: Problem) -> tuple[int, int, int, int]:
        loc = p.location
        letter = loc.letter or ""
        column = 0
        for ch in letter:
            column = column * 26 + ord(ch) - 64
        last = p.code == "more-problems"
        return (len(order) if last else order.get(loc.sheet, -1), loc.row or 0, column, last)

    return sorted(problems, key=key)


_PROJECT_ONLY = tuple(c.name for c in PROJECT_COLUMNS if c.name not in
                      {"project_id", "retainage_pct", "tax_code"})


def _compare_project_columns(first: _Row, other: _Row, columns: list[tuple[str, int]],
                             ctx: CellContext, out: _Collector) -> None:
    """Later rows of a flat project must agree with its first row. Cells are compared as
    typed first (cheap); only a cell that differs is read and compared by value."""
    first_raw, other_raw = first.table.sheet.rows[first.r], other.table.sheet.rows[other.r]
    differing = []
    for name, index in columns:
        b = other_raw[index] if index < len(other_raw) else None
        # A blank cell on a later row repeats the project's value (grouped exports leave the
        # project columns empty below the first row); only two different values conflict.
        if is_blank(b):
            continue
        a = first_raw[index] if index < len(first_raw) else None
        if a != b:
            differing.append(name)
    if not differing:
        return
    reread = _read_row(other.table, other.r, ctx, out, names=frozenset(differing))
    _report_conflicts(first, other, reread.values, differing, out)


def _show(value: object) -> str:
    return "(empty)" if value is None else repr(str(value))


_PROJECT_FRAME = (
    "project_id", "project_name", "client", "client_address", "client_email", "client_tax_id",
    "currency", "retainage_pct", "stored_retainage_pct", "tax_rate", "tax_label",
    "payment_terms_days", "po_number", "contract_value", "release_retainage", "place_of_supply",
    "reverse_charge", "tax_code", "_source", "_sheet", "_row", "_lines_sheet", "_given",
)
_LINE_FRAME = (
    "project_id", "line_id", "description", "scheduled_value", "percent_complete", "status",
    "completed_on", "stored_materials", "change_order", "retainage_pct", "previously_billed",
    "previously_retained", "tax_code", "quantity", "unit", "rate", "quantity_to_date",
    "work_given", "period_given", "retainage_given", "_progress_only", "_schedule_only",
    "_source", "_sheet", "_row",
)


def empty_projects() -> pd.DataFrame:
    return _typed_projects(pd.DataFrame(columns=list(_PROJECT_FRAME)))


def empty_lines() -> pd.DataFrame:
    return _typed_lines(pd.DataFrame(columns=list(_LINE_FRAME)))


def _typed_projects(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object)
    frame["contract_value"] = frame["contract_value"].astype("Int64")
    frame["release_retainage"] = frame["release_retainage"].astype(bool)
    frame["reverse_charge"] = frame["reverse_charge"].astype(bool)
    frame["_row"] = frame["_row"].astype(np.int64)
    return frame


def _typed_lines(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object)
    for column in _LINE_FRAME:  # columns a caller's frame may lack (the optional ones)
        if column not in frame:
            frame[column] = None
    frame["scheduled_value"] = frame["scheduled_value"].astype(np.int64)
    frame["stored_materials"] = frame["stored_materials"].astype(np.int64)
    frame["previously_billed"] = frame["previously_billed"].astype("Int64")
    frame["previously_retained"] = frame["previously_retained"].astype("Int64")
    frame["unit"] = frame["unit"].fillna("")
    for column in ("_progress_only", "_schedule_only"):
        frame[column] = frame[column].fillna(False).astype(bool)
    for column in ("work_given", "period_given", "retainage_given"):
        frame[column] = frame[column].astype("Int64")
    frame["_row"] = frame["_row"].astype(np.int64)
    return frame
