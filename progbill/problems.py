"""Problems are values: a stable code, a severity, a location a person can find, and a sentence
that says what is wrong and what to do.

Every stage returns its problems instead of raising or printing them; the CLI decides how to show
them. The same :func:`Problem.__str__` text appears in the terminal, in the ledger's Exceptions
sheet and in ``failed/NAME.errors.txt``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum


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
