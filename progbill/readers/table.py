"""A table found on a sheet, and reading its cells: each cell by its column's kind, every
problem located where a person sees it in Excel."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from progbill.money import exact_minor_units
from progbill.problems import (
    MAX_PROBLEMS_PER_FILE,
    Location,
    Problem,
    ProblemCounter,
    Severity,
    column_letter,
)
from progbill.readers import cells
from progbill.readers.cells import CellContext, CellError
from progbill.readers.raw import RawSheet
from progbill.readers.schema import (
    CURRENCY,
    DATE,
    FLAG,
    ID,
    INT_DAYS,
    MONEY,
    PERCENT,
    QUANTITY,
    STATUS,
    TEXT,
    Column,
)

READERS: dict[str, Callable[[object, CellContext], object]] = {
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
    _minor_units: dict[tuple[str, int], list[int | None] | None] = field(
        default_factory=dict, repr=False, compare=False)

    @functools.cached_property
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
                (name, index, READERS[self.kinds[name].kind],
                 self.sheet.percent_rows(index) if self.kinds[name].kind == PERCENT else set())
                for name, index in self.columns.items()
            ]
        return self._specs

    def cells_of(self, index: int) -> list[object]:
        """Column ``index``'s raw cells, one per sheet row (None past a short row's end)."""
        rows = self.sheet.rows
        if rows and index < min(map(len, rows)):  # no row ends before it: taken at once
            return list(map(operator.itemgetter(index), rows))
        return [row[index] if index < len(row) else None for row in rows]

    def minor_units(self, name: str, exp: int) -> list[int | None] | None:
        """Per sheet row, the minor units (``exp`` decimals) of the column's float and int
        cells that are whole numbers of them, computed at once
        (:func:`progbill.money.exact_minor_units`); None without that column."""
        key = (name, exp)
        try:
            return self._minor_units[key]
        except KeyError:
            index = self.columns.get(name)
            found = self._minor_units[key] = None if index is None else exact_minor_units(
                self.cells_of(index), exp)
            return found

    def read_columns(self, ctx: CellContext) -> dict[str, list[object]]:
        """Per column, its plain cells read at once (:func:`read_column`); only for the
        plain reading context (no percent format, no fractions) of a file."""
        if ctx.percent_formatted or ctx.fraction_text:
            return {}
        if getattr(self, "_columns_read", None) is None:
            self._columns_read = {name: read_column(self, name, index, reader, percent_rows)
                                  for name, index, reader, percent_rows in self.specs()}
            self._not_plain = {r for column in self._columns_read.values()
                               for r, value in enumerate(column) if value is _PER_CELL}
            self._plain_columns: dict[frozenset[str] | None, list[tuple[str, list[object]]]] = {}
        return self._columns_read

    def not_plain_rows(self) -> set[int]:
        """The rows with a cell :meth:`read_columns` left to its reader (after it ran)."""
        return self._not_plain

    def plain_values(self, r: int, ctx: CellContext, names: frozenset[str] | None
                     ) -> dict[str, object] | None:
        """Row ``r``'s values as :func:`read_row` reads them, when every one of its cells was
        read with its column (:meth:`read_columns`); None when a cell needs its own reader."""
        if self.sheet.formulas_without_value or not self.read_columns(ctx) or (
                r in self._not_plain):
            return None
        columns = self._plain_columns.get(names)
        if columns is None:
            columns = self._plain_columns[names] = [
                (name, self._columns_read[name]) for name, _i, _reader, _p in self.specs()
                if names is None or name in names]
        return {name: column[r] for name, column in columns}


class Collector:
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
            shown = ", ".join(f"{cell_name(loc)} {raw} -> {billed:,}"
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


def cell_name(loc: Location) -> str:
    """``Milestones!E2`` or ``E2``: a cell as a person names it."""
    cell = f"{loc.letter}{loc.row}"
    return f"{loc.sheet}!{cell}" if loc.sheet else cell


@dataclass
class Row:
    table: Table
    r: int
    values: dict[str, object]


_PER_CELL = cells.PER_CELL  # a cell :func:`read_column` leaves to its reader


def read_column(table: Table, name: str, index: int, reader: Callable[[object, CellContext],
                object], percent_rows: set[int]) -> list[object]:
    """A column's plain cells read at once, in the sheet's row order: numbers in money and
    percent columns (each distinct float read once), printable text in id and text columns,
    empty cells (None, or text of spaces only). Every other cell is ``_PER_CELL`` and goes
    through its reader in :func:`read_row`, with the file's context, its problems and warnings.
    A value read here is the value the reader gives (tests/test_speedups.py compares them)."""
    column = table.cells_of(index)
    if reader is cells.read_decimal or (reader is cells.read_percent
                                        and name not in table.fractions):
        exact = cells.plain_number
        # an empty or all-space text cell is empty, as read_row reads it
        out = [None if type(v) is str and not v.strip() else exact(v) for v in column]
        for r in percent_rows:  # Excel shows these as percentages: fractions, read per cell
            if r < len(out):
                out[r] = _PER_CELL
        return out
    if reader is cells.read_id or reader is cells.read_text:
        # numbers read the same in every context: a line numbered 1, 2, 3, an id typed 1001
        numbers = _ValuesOnce(reader)
        return [None if v is None else (v.strip() or None)
                if type(v) is str and v.isascii() and v.isprintable()
                else numbers.read(v) if type(v) is float or type(v) is int else _PER_CELL
                for v in column]
    if reader is cells.read_currency or reader is cells.read_days:
        return _read_each_value_once(column, reader)
    return [None if v is None or (type(v) is str and not v.strip()) else _PER_CELL
            for v in column]


# Currency codes and payment terms read text and numbers the same in every reading context
# (decimal mark, date order, percent formats), and ids and text read numbers so, so a column's
# cells can be read with this one (tests/test_speedups.py reads them in each context).
_ANY_CONTEXT = CellContext()
_UNREAD = object()


class _ValuesOnce:
    """A column's values, each distinct one read once by the column's reader, in the one
    context they read the same in (:data:`_ANY_CONTEXT`); a value the reader refuses is
    ``_PER_CELL``."""

    def __init__(self, reader: Callable[[object, CellContext], object]) -> None:
        self.reader = reader
        self.found: dict[tuple[type, object], object] = {}

    def read(self, value: object) -> object:
        key = (type(value), value)
        found = self.found.get(key, _UNREAD)
        if found is _UNREAD:
            try:
                found = self.reader(value, _ANY_CONTEXT)
            except CellError:
                found = _PER_CELL
            self.found[key] = found
        return found


def _read_each_value_once(column: list[object], reader: Callable[[object, CellContext], object]
                          ) -> list[object]:
    """Each distinct printable ASCII text or number of a currency or payment-terms column read
    once by its reader; empty cells are None; a value the reader refuses, and any other cell,
    is ``_PER_CELL`` (read again by :func:`read_row`, with its located problem)."""
    once = _ValuesOnce(reader)
    out: list[object] = []
    for v in column:
        kind = type(v)
        if v is None or (kind is str and not v.strip()):  # type: ignore[attr-defined]
            out.append(None)
        elif kind is float or kind is int or (
                kind is str and v.isascii() and v.isprintable()):  # type: ignore[attr-defined]
            out.append(once.read(v))
        else:
            out.append(_PER_CELL)
    return out


def read_row(table: Table, r: int, ctx: CellContext, out: Collector,
             names: frozenset[str] | None = None) -> Row:
    """Read a row's cells (only ``names`` when given); a bad cell becomes ``INVALID`` and a
    located problem."""
    plain = table.plain_values(r, ctx, names)
    if plain is not None:
        return Row(table, r, plain)
    row = table.sheet.rows[r]
    width = len(row)
    missing = table.sheet.formulas_without_value
    read_at_once = table.read_columns(ctx) if not missing else {}
    values: dict[str, object] = {}
    for name, index, reader, percent_rows in table.specs():
        if names is not None and name not in names:
            continue
        column = read_at_once.get(name)
        if column is not None:
            value = column[r]
            if value is not _PER_CELL:
                values[name] = value
                continue
        raw = row[index] if index < width else None
        if missing and (r, index) in missing:
            out.add("formula-without-value", Severity.ERROR,
                    "the formula in this cell has no saved result (the file was written by a "
                    "program and never opened in Excel); open it in Excel, let it calculate, "
                    "and save it", out.at(table, r, name))
            values[name] = INVALID
            continue
        if raw is None or raw == "" or (isinstance(raw, str) and not raw.strip()):
            values[name] = None
            continue
        try:
            if name in table.fractions:
                cell_ctx = FRACTION_CTX[ctx]
            else:
                cell_ctx = PERCENT_CTX[ctx] if r in percent_rows else ctx
            values[name] = reader(raw, cell_ctx)
        except CellError as exc:
            out.add(exc.code, Severity.ERROR, exc.message, out.at(table, r, name))
            values[name] = INVALID
            continue
        if isinstance(raw, str) and not raw.isprintable() and isinstance(values[name], str):
            _warn_invisible(table, r, name, raw, str(values[name]), out)
    return Row(table, r, values)


def _warn_invisible(table: Table, r: int, name: str, raw: str, read: str,
                    out: Collector) -> None:
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


PERCENT_CTX = _PercentContexts()


class _FractionContexts(dict):  # type: ignore[type-arg]
    """The context of a percent column whose plain numbers are 0-1 fractions (input.percent_scale
    = "fraction"): numbers and text without a % sign are multiplied by 100."""

    def __missing__(self, ctx: CellContext) -> CellContext:
        made = CellContext(ctx.decimal_mark, ctx.date_order, percent_formatted=True,
                           fraction_text=True)
        self[ctx] = made
        return made


FRACTION_CTX = _FractionContexts()


class _Invalid:
    """A cell that could not be read (its problem is already reported)."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID = _Invalid()


def is_read(value: object) -> bool:
    return value is not INVALID


def all_read(values: Iterable[object]) -> bool:
    """No value is ``INVALID`` (``in`` finds it by identity: no cell value equals it)."""
    return INVALID not in values


def quoted(value: object) -> str:
    return "(empty)" if value is None else repr(str(value))
