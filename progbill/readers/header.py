"""Finding a table's header: one row, or two rows where a group header stands over sub-headers.

People draw headers two ways. A one-row header names each column. A two-row header puts a
group (``Work Completed``, ``Previous Bill``, ``As per BOQ``) over sub-headers (``From
Previous``, ``This Period``; ``Quantity``, ``Total Amount``), the group usually merged across
its columns. A group's label sits in its first column; the columns to its right with a
sub-header and no label of their own belong to it.

A column under a group is matched, best first, by:

1. the combined name (``Work Completed From Previous``, ``Previous Bill Quantity``);
2. the group's meaning: an amount sub-header (``Total Amount``, ``Amount``) under a group that
   names a money column is that column; a quantity or rate sub-header under it is that money
   column's quantity (``Current Bill`` / ``Quantity`` is this bill's quantity);
3. the sub-header alone (``Rate``), unless a better match already took that column: the same
   sub-header under two groups is not a duplicate, and the one whose group progbill does not
   know (``As per VO1``) is listed as not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from progbill.problems import column_letter
from progbill.readers.cells import is_blank
from progbill.readers.raw import RawSheet
from progbill.readers.schema import PROGRESS_COLUMNS, Column, normalise

HEADER_SEARCH_ROWS = 20
# In ``optional``: a table of line ids and progress alone may take its schedule (descriptions,
# scheduled values) from the workspace.
PROGRESS_ONLY = "(progress only)"

_AMOUNT_WORDS = {normalise(w) for w in ("amount", "total amount", "total", "value", "amt",
                                        "total amt")}
_QUANTITY_WORDS = {normalise(w) for w in ("quantity", "qty", "quantities")}
_RATE_WORDS = {normalise(w) for w in ("rate", "unit rate", "price", "unit price")}
# The quantity that goes with a money column, for a quantity sub-header under its group.
_QUANTITY_OF = {
    "scheduled_value": "quantity",
    "previously_billed": "previous_quantity",
    "work_this_period": "quantity_this_bill",
    "work_to_date": "quantity_to_date",
}


@dataclass
class HeaderRow:
    """A header as read: its last row (0-based; the data starts below it), each column's
    header text as a person reads it, and each column's candidate names (best first)."""

    r: int
    texts: dict[int, str]
    top: int = -1  # its first row (a two-row header starts one row above ``r``)
    groups: dict[int, str] = field(default_factory=dict)  # column -> its group label
    subs: dict[int, str] = field(default_factory=dict)  # column -> its sub-header


@dataclass
class Match:
    found: dict[int, Column]
    ignored: dict[int, str]  # columns whose name lost to a better match: why
    fallbacks: int = 0  # columns matched by their sub-header alone

    def score(self) -> int:
        """How well a header candidate names the table: columns named once each count; a
        column named twice, or only by its sub-header, counts against it."""
        distinct = len({c.name for c in self.found.values()})
        return 10 * distinct - 20 * (len(self.found) - distinct) - self.fallbacks


def _text(value: object) -> str | None:
    if is_blank(value) or isinstance(value, (int, float)):
        return None
    return str(value).strip() or None


def header_rows(sheet: RawSheet) -> list[HeaderRow]:
    """The candidate headers of the first 20 rows, in order: each row alone, then the row with
    the one below it as a two-row header when the row below holds only text."""
    rows = sheet.rows
    found = []
    for r in range(min(HEADER_SEARCH_ROWS, len(rows))):
        row = rows[r]
        texts = {i: str(v).strip() for i, v in enumerate(row) if not is_blank(v)}
        found.append(HeaderRow(r, texts))
        if r + 1 < len(rows):
            pair = _two_rows(r, row, rows[r + 1])
            if pair is not None:
                found.append(pair)
    return found


def _two_rows(r: int, top: list[object], below: list[object]) -> HeaderRow | None:
    numbers = [v for v in below if isinstance(v, (int, float)) and not isinstance(v, bool)]
    subs = {i: t for i, v in enumerate(below) if (t := _text(v)) is not None}
    if numbers or len(subs) < 2:
        return None
    tops = {i: t for i, v in enumerate(top) if (t := _text(v)) is not None}
    if len(set(tops.values())) < 2:
        return None  # a title line (perhaps merged across the table) is no group row
    header = HeaderRow(r + 1, {}, top=r)
    group: str | None = None
    for i in range(max([*subs, *tops]) + 1):
        if i in tops:
            group = tops[i] if i in subs and subs[i] != tops[i] else None
            if group is None:
                header.texts[i] = tops[i]  # a header over both rows (merged down)
                continue
        elif i not in subs:
            group = None  # a gap ends a group
            continue
        if group is None:
            header.texts[i] = subs[i]
            continue
        header.texts[i] = f"{group} {subs[i]}"
        header.groups[i] = group
        header.subs[i] = subs[i]
    if not header.groups:
        return None
    return header


def match_header(header: HeaderRow, table: dict[str, Column]) -> Match:
    """Which progbill column each header cell names (see the module's rules)."""
    wanted: dict[int, tuple[int, Column]] = {}
    for i, text in header.texts.items():
        column = _named(table, text)
        if column is not None:
            wanted[i] = (0, column)
            continue
        group, sub = header.groups.get(i), header.subs.get(i)
        if group is None or sub is None:
            continue
        by_group = _by_group(_named(table, group), normalise(without_notes(sub)), table)
        if by_group is not None:
            wanted[i] = (1, by_group)
        elif (alone := _named(table, sub)) is not None:
            wanted[i] = (2, alone)
    best: dict[str, int] = {}
    for rank, column in wanted.values():
        best[column.name] = min(rank, best.get(column.name, rank))
    found: dict[int, Column] = {}
    ignored: dict[int, str] = {}
    fallbacks = 0
    for i, (rank, column) in sorted(wanted.items()):
        if rank == best[column.name]:
            found[i] = column
            fallbacks += rank == 2
        else:
            ignored[i] = f"{column.name} is read from a column named more exactly"
    return Match(found, ignored, fallbacks)


_NOTE = re.compile(r"\s*\([^()]*\)")


def without_notes(text: str) -> str:
    """A header without its notes in brackets: the AIA form's ``Balance to Finish (C - G)``,
    ``Materials Presently Stored (not in D or E)``, ``Retainage (if variable rate)``."""
    return _NOTE.sub("", text).strip()


def _named(table: dict[str, Column], text: str) -> Column | None:
    """The column a header names: as written, else without its notes in brackets."""
    found = table.get(normalise(text))
    if found is None and "(" in text:
        bare = without_notes(text)
        if bare:
            found = table.get(normalise(bare))
    return found


def _by_group(group: Column | None, sub: str, table: dict[str, Column]) -> Column | None:
    if group is None:
        return None
    if sub in _AMOUNT_WORDS and group.kind == "money":
        return group
    by_name = {c.name: c for c in table.values()}
    if sub in _QUANTITY_WORDS and group.name in _QUANTITY_OF:
        return by_name.get(_QUANTITY_OF[group.name])
    if sub in _RATE_WORDS and group.name in ("scheduled_value", "quantity"):
        return by_name.get("rate")
    return None


def best_header(sheet: RawSheet, table: dict[str, Column]) -> tuple[HeaderRow, Match] | None:
    """The header candidate of the first 20 rows with the most recognised column names."""
    best: tuple[HeaderRow, Match] | None = None
    for header in header_rows(sheet):
        match = match_header(header, table)
        if match.found and (best is None or match.score() > best[1].score()):
            best = (header, match)
    return best


def missing(found: dict[int, Column], columns: tuple[Column, ...], need_progress: bool,
            optional: frozenset[str] = frozenset()) -> list[str]:
    """The required columns a header lacks (``optional`` names are not required here: a
    workbook of one project may give the project and client outside the table)."""
    names = {c.name for c in found.values()}
    priced = {"quantity", "rate"} <= names  # quantity x rate gives the scheduled value
    if PROGRESS_ONLY in optional and need_progress and not names & {
            "description", "scheduled_value", "quantity", "rate"}:
        # progress only (line ids and progress): the schedule is the workspace's
        optional = optional | {"description", "scheduled_value"}
    lacking = [c.name for c in columns if c.required and c.name not in names
               and c.name not in optional
               and not (c.name == "scheduled_value" and priced)]
    if need_progress and not any(p in names for p in PROGRESS_COLUMNS):
        lacking.append(" or ".join(PROGRESS_COLUMNS))
    return lacking


def explain(sheet: RawSheet, best: tuple[HeaderRow, Match] | None,
            columns: tuple[Column, ...], need_progress: bool,
            optional: frozenset[str] = frozenset()) -> tuple[int | None, str]:
    """The row and the words of a ``missing-column`` error. "No header row found" only when no
    row has two recognised names; otherwise the row that looks like the header, what it lacks
    (with every name each may have) and the headers in it that progbill does not know."""
    if best is None or len({c.name for c in best[1].found.values()}) < 2:
        return None, ("no header row found in the first 20 rows; the table needs columns named "
                      f"{required_phrase(columns, need_progress, optional)}")
    header, match = best
    lacking = missing(match.found, columns, need_progress, optional)
    unknown = [f"{column_letter(i)} ({t})" for i, t in sorted(header.texts.items())
               if i not in match.found]
    others = f"; its other headers are not progbill columns: {', '.join(unknown)}" if unknown \
        else ""
    return header.r, (
        f"row {header.r + 1} looks like the header but lacks {', '.join(lacking)}; add "
        f"{'it' if len(lacking) == 1 else 'them'} ({accepted_names(lacking, columns)})"
        f"{others}")


def accepted_names(lacking: list[str], columns: tuple[Column, ...]) -> str:
    """``scheduled_value may also be headed amount, value, ...`` for each missing column, with
    every alias; a progress column lists each column that can give progress."""
    by_name = {c.name: c for c in columns}
    parts = []
    for entry in lacking:
        for name in entry.replace(" or ", ", ").split(", "):
            column = by_name.get(name)
            if column is not None and column.aliases:
                parts.append(f"{name} may also be headed {', '.join(column.aliases)}")
    return "; ".join(parts) if parts else "see the column names in the README"


def required_phrase(columns: tuple[Column, ...], need_progress: bool,
                    optional: frozenset[str] = frozenset()) -> str:
    names = [c.name for c in columns if c.required and c.name not in optional]
    if need_progress:
        names.append(" or ".join(PROGRESS_COLUMNS))
    return ", ".join(names)

