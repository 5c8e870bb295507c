"""Which rows of a table are lines: column-number rows, section headings, totals and subtotals,
summary rows below the table are skipped and listed; and the facts read once per table before
its cells (the decimal mark, what plain numbers in a percent column mean, hidden rows)."""

from __future__ import annotations

import re
from decimal import Decimal

from progbill.money import decimal_mark_evidence
from progbill.problems import Severity
from progbill.readers import cells
from progbill.readers.cells import CellContext, CellError, is_blank
from progbill.readers.schema import (
    MONEY,
    PERCENT,
    PROJECT_ONLY_NAMES,
    QUANTITY,
    STATUS,
)
from progbill.readers.table import (
    Collector,
    Table,
    cell_name,
)

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


# --------------------------------------------------------------------------------------------
# reading rows


def data_rows(table: Table, out: Collector) -> list[int]:
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
               and name not in PROJECT_ONLY_NAMES and name not in ("retainage_pct",)]
    lines_table = "scheduled_value" in table.columns or "milestone_id" in table.columns
    since_total: list[tuple[Decimal | None, ...]] = []  # the amounts of the lines since a total
    skipped: dict[str, list[int]] = {}
    after_grand = False
    ctx = CellContext()

    def skip(why: str, r: int) -> None:
        skipped.setdefault(why, []).append(r + 1)

    at_once = table.read_columns(ctx) if not table.sheet.formulas_without_value else {}
    rows_below = range(table.header_row + 1, len(table.sheet.rows))
    last_line = max((r for r in rows_below if line_id is not None
                     and line_id < len(table.sheet.rows[r])
                     and not is_blank(table.sheet.rows[r][line_id])), default=-1)
    for r in rows_below:
        row = table.sheet.rows[r]
        width = len(row)
        if all(c >= width or is_blank(row[c]) for c in used):
            continue
        label = _total_label(row)
        if label is not None:
            skip("total rows", r)
            # below the last line, a total ends the table: what follows is its summary
            after_grand = after_grand or bool(_GRAND.match(label)) or r > last_line
            since_total = []
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
        values = {name: _number(row[i], ctx) if i < width else None for name, i in amounts} \
            if not at_once else {name: _cached_number(at_once[name][r], row, i, ctx)
                                 for name, i in amounts}
        if all(v is None or v == _ZERO for v in values.values()) and not _has_status(
                row, table) and not (table.progress_only and not no_id):
            skip("section headings (no amounts)", r)
            continue
        if (keys_blank or no_id) and _sums_above(table, r, amounts, values):
            skip("subtotal rows (SUM or SUBTOTAL formulas)", r)
            since_total = []
            continue
        if (keys_blank or no_id) and len(since_total) >= 2 and _is_running_total(
                values, since_total):
            skip("subtotal rows (the sum of the lines above)", r)
            since_total = []
            continue
        since_total.append(tuple(values.values()))
        rows.append(r)
    for why, numbers in skipped.items():
        shown = ", ".join(map(str, numbers[:30])) + (" ..." if len(numbers) > 30 else "")
        out.add("rows-skipped", Severity.INFO,
                f"{why} skipped, not billed: row{'s' if len(numbers) > 1 else ''} {shown}",
                out.at(table))
    return rows


_ZERO = Decimal(0)


def _total_label(row: list[object]) -> str | None:
    """The cell text that makes the row a total (Total, Sub-Total 3 ...), if any."""
    texts = [v for v in row if isinstance(v, str)]
    if not texts or "total" not in "\n".join(texts).casefold():
        return None  # every label _TOTAL_WORDS matches has the word
    stripped = [v.strip() for v in texts if v.strip()]
    return next((t for t in stripped if _TOTAL_WORDS.match(t)), None)


def _is_running_total(values: dict[str, Decimal | None],
                      lines: list[tuple[Decimal | None, ...]]) -> bool:
    """Some amount of this row is the sum of its column over the lines since the last total
    (columns where those lines have an amount)."""
    for k, v in enumerate(values.values()):
        if v is None or v == 0:
            continue
        above = [a for line in lines if (a := line[k]) is not None]
        if above and abs(sum(above, _ZERO) - v) < _SUM_TOLERANCE:
            return True
    return False


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


def _cached_number(value: object, row: list[object], i: int, ctx: CellContext
                   ) -> Decimal | None:
    """:func:`_number` of a cell its column already read (``value``), else of the cell."""
    if value is cells.PER_CELL:
        return _number(row[i], ctx) if i < len(row) else None
    return value  # type: ignore[return-value]


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


def decimal_mark(tables: list[Table], out: Collector) -> str:
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
                f"this number uses a decimal comma but {cell_name(first)} uses a decimal point; "
                "use one decimal mark throughout the file", second)
        return "."
    return "," if "," in seen else "."


def warn_sheet_flags(table: Table, data_rows: list[int], out: Collector) -> None:
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


def decide_percent_scale(table: Table, rows: list[int], scale: str, ctx: CellContext,
                   out: Collector) -> Table:
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
        column = table.read_columns(ctx).get(name) if not (
            table.sheet.formulas_without_value or name in table.fractions) else None
        for r in rows:
            if column is not None and column[r] is not cells.PER_CELL:
                if column[r] is not None:  # a number its column read (not a percent-formatted one)
                    plain.append(column[r])  # type: ignore[arg-type]
                continue
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
