"""Project details written around a table instead of in it: a title block above the header, or
a key/value cover sheet.

A detail is a label and a value, in one cell (``Client: Acme``, ``Name of Project :- Bridge``)
or in a label cell with the value in the next filled cell to its right (``Job No`` | ``J-7``).
Only the labels below are read; anything else in a title block is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from progbill.readers.cells import is_blank
from progbill.readers.schema import normalise

# label -> detail. The project's id comes from an id label, else from its name.
_LABELS: dict[str, tuple[str, ...]] = {
    "project_id": ("project no", "project number", "project id", "project code", "project #",
                   "job no", "job number", "job #", "job", "contract no", "contract number",
                   "contract id", "contract identification no", "contract identification number"),
    "project_name": ("project", "project name", "name of project", "name of work",
                     "name of works", "job name", "project title", "name of the work"),
    "client": ("client", "client name", "owner", "employer", "bill to", "customer"),
    "client_address": ("address", "client address", "billing address"),
    "po_number": ("po", "po no", "po number", "purchase order", "purchase order no"),
    "retainage_pct": ("retainage", "retention", "retainage %", "retention %",
                      "retainage percent", "retention percent"),
    "currency": ("currency",),
}
_DETAIL_OF = {normalise(label): name for name, labels in _LABELS.items() for label in labels}
_SPLIT = re.compile(r"^\s*([^:：]{1,60}?)\s*[:：]\s*[-–:]?\s*(.*?)\s*$")
MAX_TITLE_ROWS = 40


@dataclass(frozen=True)
class Detail:
    value: object
    sheet: str | None
    row: int  # 0-based
    column: int
    label: str


def details(rows: list[list[object]], sheet: str | None, limit: int = MAX_TITLE_ROWS
            ) -> tuple[dict[str, Detail], list[tuple[Detail, Detail]]]:
    """The labelled details of ``rows`` (the first found per detail) and any detail given twice
    with different values."""
    found: dict[str, Detail] = {}
    clashes: list[tuple[Detail, Detail]] = []
    for r, row in enumerate(rows[:limit]):
        c = 0
        while c < len(row):
            value = row[c]
            pair = _pair(row, c) if isinstance(value, str) else None
            if pair is None:
                c += 1
                continue
            name, label, given, used = pair
            detail = Detail(given, sheet, r, c, label)
            if name not in found:
                found[name] = detail
            elif str(found[name].value).strip() != str(given).strip():
                clashes.append((found[name], detail))
            c = used + 1
    return found, clashes


def _pair(row: list[object], c: int) -> tuple[str, str, object, int] | None:
    """(detail, label, value, last column used) for a label at ``row[c]``, or None."""
    text = str(row[c]).strip()
    split = _SPLIT.match(text)
    if split and (name := _DETAIL_OF.get(normalise(split.group(1)))):
        if split.group(2):
            return name, split.group(1), split.group(2), c
        return _value_right(row, c, name, split.group(1))
    name = _DETAIL_OF.get(normalise(text))
    if name is None:
        return None
    return _value_right(row, c, name, text)


def _value_right(row: list[object], c: int, name: str, label: str
                 ) -> tuple[str, str, object, int] | None:
    """The next filled cell right of a label (a merged label repeats itself; skip those)."""
    for j in range(c + 1, min(c + 8, len(row))):
        value = row[j]
        if is_blank(value) or (isinstance(value, str) and value.strip() in ("", ":", "-")):
            continue
        if isinstance(value, str) and value.strip() == str(row[c]).strip():
            continue
        if isinstance(value, str) and _DETAIL_OF.get(normalise(value.strip().rstrip(":"))):
            return None  # the next cell is another label: this one has no value
        return name, label, value, j
    return None
