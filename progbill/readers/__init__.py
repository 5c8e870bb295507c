"""Reading workbooks: any file INPUT.md accepts -> normalised projects and lines + problems.

:func:`read_workbook` never raises for a user's file: whatever goes wrong becomes a located
:class:`~progbill.problems.Problem`, and a file that cannot be opened at all becomes one
``unreadable-file`` (or ``zip-bomb``, ``password-protected``, ``file-too-large``) error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from progbill.problems import Location, Problem, Severity, capped, has_errors
from progbill.readers.files import (
    UnreadableFile,
    check_content,
    outside_folder,
    read_input,
    sha256_bytes,
)
from progbill.readers.layout import (
    ParsedTables,
    empty_lines,
    empty_projects,
    in_reading_order,
    parse_tables,
)
from progbill.readers.raw import ReadLimits, SheetTooLarge, load


@dataclass
class Workbook:
    path: Path
    sha256: str
    projects: pd.DataFrame
    lines: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    headers: dict[tuple[str | None, str], tuple[str, str]] = field(default_factory=dict)
    layout: str = ""
    sheet_names: list[str | None] = field(default_factory=list)
    data: bytes | None = field(default=None, repr=False)  # the bytes read, hashed and billed
    payments: pd.DataFrame | None = None  # a payments workbook's receipts, as read
    # those receipts once checked against the store, ready to record (pipeline)
    checked_payments: list[dict[str, object]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def ok(self) -> bool:
        return not has_errors(self.problems)

    def add(self, problems: list[Problem]) -> None:
        """Add problems found after reading (billing, the ledger), located and in order."""
        self.problems = capped(in_reading_order(
            self.problems + [self.locate(p) for p in problems], self.sheet_names), self.name)

    def locate(self, problem: Problem) -> Problem:
        """Give a problem found after reading (by billing) its header text and column letter."""
        loc = problem.location
        if loc.column and not loc.letter:
            found = self.headers.get((loc.sheet, loc.column))
            if found:
                header, letter = found
                return replace(problem, location=replace(loc, column=header, letter=letter))
        return problem


def read_workbook(
    path: Path, *, default_currency: str = "USD", date_order: str = "DMY",
    max_file_mb: float = 50, limits: ReadLimits | None = None, inbox: Path | None = None,
    percent_scale: str = "auto",
) -> Workbook:
    """Read one file. With ``inbox``, a file that is a link or resolves outside that folder is
    refused unread. The file is opened once; its bytes are kept on the workbook (``data``) so
    that exactly what was billed can be archived."""
    name = path.name
    sha = ""
    data = None
    try:
        if inbox is not None and (why := outside_folder(path, inbox)):
            raise UnreadableFile(why, code="input-outside-inbox")
        data = read_input(path, max_file_mb, follow_links=inbox is None)
        sha = sha256_bytes(data)
        check_content(data, path.suffix)
        sheets = load(data, path.suffix, limits)
        parsed = parse_tables(sheets, name, default_currency, date_order, percent_scale)
    except SheetTooLarge as exc:
        row = int("".join(ch for ch in exc.cell if ch.isdigit()))
        letter = "".join(ch for ch in exc.cell if ch.isalpha())
        parsed = ParsedTables(empty_projects(), empty_lines(), [Problem(
            exc.code, Severity.ERROR, exc.message, Location(name, exc.sheet, row, None, letter))])
    except UnreadableFile as exc:
        parsed = _unreadable(name, exc.code, exc.message)
    except MemoryError:
        parsed = _unreadable(name, "unreadable-file",
                             "the file is too large to read in memory; split it")
    except Exception as exc:  # a parser library failing on a damaged file
        parsed = _unreadable(
            name, "unreadable-file",
            f"the file could not be read ({type(exc).__name__}); open it in Excel or "
            "LibreOffice and save it again as .xlsx",
        )
    return Workbook(path, sha, parsed.projects, parsed.lines, parsed.problems, parsed.headers,
                    parsed.layout, parsed.sheet_names, data, parsed.payments)


def _unreadable(file: str, code: str, message: str) -> ParsedTables:
    return ParsedTables(
        empty_projects(), empty_lines(),
        [Problem(code, Severity.ERROR, message, Location(file))],
    )
