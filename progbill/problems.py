"""Problems are values: a stable code, a severity, a location a person can find, and a sentence
that says what is wrong and what to do.

Every stage returns its problems instead of raising or printing them; the CLI decides how to show
them. The same :func:`Problem.__str__` text appears in the terminal, in the ledger's Exceptions
sheet and in ``failed/NAME.errors.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

# Terminal control sequences (CSI, OSC, DCS/PM/APC strings, two-character escapes, and their
# single-byte C1 forms), then any single control character or bidirectional formatting
# character left. A file name or a cell is data: it must never clear a screen, move the cursor,
# forge a line of the report, or reorder what is printed around it.
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x9b[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|[\x9d\x90\x98\x9e\x9f][^\x07\x1b\x9c]*"
    r"(?:\x07|\x1b\\|\x9c)?|\x1b.?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\t\n\r]")


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` without terminal control sequences, control characters or bidi overrides.

    Used on everything progbill prints or writes as a report (console, ``errors.txt``, JSON):
    an inbox file named ``\x1b[2J...OK`` prints as ``...OK`` and cannot clear the screen.
    Line breaks become spaces unless ``keep_newlines`` (for whole reports)."""
    if text.isprintable():
        return text
    text = _SEQUENCES.sub("", text)
    if not keep_newlines:
        text = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub("", text)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (Excel's column letters)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26: :func:`column_letter` undone ("" -> -1)."""
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


@dataclass(frozen=True)
class Location:
    """Where a problem is, as a person finds it in Excel.

    ``row`` is the row number Excel shows (1-based, counting the title block and header);
    ``column`` is the header text as typed in the file, ``letter`` its column letter.
    A CSV has no sheet.
    """

    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    letter: str | None = None

    def __post_init__(self) -> None:
        for name in ("file", "sheet", "column"):
            value = getattr(self, name)
            if isinstance(value, str) and not value.isprintable():
                object.__setattr__(self, name, printable(value))

    def __str__(self) -> str:
        """``file, Sheet!D7 (header)``; ``file, Sheet, row 7``; ``file, Sheet, column D
        (header)``; a CSV has no sheet: ``file, D7 (header)``."""
        parts = [self.file]
        if self.letter and self.row:
            parts.append(f"{self.sheet}!{self.letter}{self.row}" if self.sheet
                         else f"{self.letter}{self.row}")
        else:
            if self.sheet:
                parts.append(self.sheet)
            if self.row:
                parts.append(f"row {self.row}")
            elif self.letter:
                parts.append(f"column {self.letter}")
        text = ", ".join(parts)
        if self.column:
            text += f" ({self.column})"
        return text


@dataclass(frozen=True)
class Problem:
    code: str
    severity: Severity
    message: str
    location: Location

    def __post_init__(self) -> None:
        if not self.message.isprintable():
            object.__setattr__(self, "message", printable(self.message))

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def at(self, **changes: object) -> Problem:
        """The same problem at a more precise location."""
        return replace(self, location=replace(self.location, **changes))  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "code": self.code,
            "severity": str(self.severity),
            "file": loc.file,
            "sheet": loc.sheet,
            "row": loc.row,
            "column": loc.column,
            "cell": f"{loc.letter}{loc.row}" if loc.letter and loc.row else None,
            "message": self.message,
            "text": str(self),
        }


def error(code: str, message: str, location: Location) -> Problem:
    return Problem(code, Severity.ERROR, message, location)


def warning(code: str, message: str, location: Location) -> Problem:
    return Problem(code, Severity.WARNING, message, location)


def info(code: str, message: str, location: Location) -> Problem:
    return Problem(code, Severity.INFO, message, location)


# One file reports at most this many problems one by one; the rest are counted in a summary.
# A workbook with a million bad cells would otherwise print a million lines, fill the
# Exceptions sheet past Excel's row limit, and tell the reader nothing more than the first few.
MAX_PROBLEMS_PER_FILE = 1_000


class ProblemCounter:
    """Counts the problems of one file beyond :data:`MAX_PROBLEMS_PER_FILE`."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.codes: dict[str, int] = {}
        self.errors = 0

    def count(self, problem: Problem) -> None:
        self.codes[problem.code] = self.codes.get(problem.code, 0) + 1
        self.errors += problem.is_error

    def summary(self) -> Problem | None:
        total = sum(self.codes.values())
        if not total:
            return None
        kinds = ", ".join(f"{code} ({n:,})" for code, n in
                          sorted(self.codes.items(), key=lambda kv: -kv[1]))
        return Problem(
            "more-problems", Severity.ERROR if self.errors else Severity.WARNING,
            f"and {total:,} more problems not listed one by one ({kinds}); fix the ones listed, "
            "which show the pattern, and check the file again with progbill validate",
            Location(self.file))


def capped(problems: list[Problem], file: str,
           limit: int = MAX_PROBLEMS_PER_FILE) -> list[Problem]:
    """``problems`` with at most ``limit`` listed and the rest summarised in one."""
    if len(problems) <= limit:
        return problems
    counter = ProblemCounter(file)
    for p in problems[limit:]:
        if p.code == "more-problems":
            continue
        counter.count(p)
    summary = counter.summary()
    return problems[:limit] + ([summary] if summary else [])


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.is_error for p in problems)


class ProgbillError(Exception):
    """A failure progbill explains in words (bad configuration, unusable workspace, lock held).

    The CLI prints ``str(error)`` and exits with ``exit_code``; no traceback unless ``--debug``.
    """

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ProgbillError):
    pass


class WorkspaceError(ProgbillError):
    pass
