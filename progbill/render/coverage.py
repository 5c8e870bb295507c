"""Which characters a template's fonts can draw, and which cells hold others.

A character no font draws prints as an empty box (or nothing), so a client's name in a script
the fonts lack would reach the client garbled without anyone noticing. The run checks the text
it is about to print against the fonts in the template's ``fonts/`` folder (the bundled ones:
Latin, Greek, Cyrillic, Devanagari, Arabic, Hebrew, common Chinese, Japanese and Korean) and
warns at each cell holding a character none of them draws.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import pandas as pd

from progbill.problems import Location, Problem, Severity

# Printed columns of the normalised tables (readers) and their canonical names.
PROJECT_TEXT = ("project_name", "client", "client_address", "client_email", "client_tax_id",
                "po_number", "place_of_supply")
LINE_TEXT = ("line_id", "description", "change_order")


def _font_files(fonts: Path) -> tuple[Path, ...]:
    return tuple(sorted(fonts.glob("*.[ot]tf")))


@lru_cache(maxsize=8)
def drawable_files(paths: tuple[Path, ...]) -> frozenset[int]:
    """Code points drawn by any of the font files ``paths``."""
    points: set[int] = set()
    for path in paths:
        points.update(font_points(path))
    return frozenset(points)


@lru_cache(maxsize=64)
def font_points(path: Path) -> frozenset[int]:
    """Code points the font file ``path`` draws (none for a damaged file: WeasyPrint says so
    when rendering)."""
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:
        return frozenset()


def undrawable(fonts: Path, characters: set[str]) -> set[str]:
    """The visible ``characters`` no font file in the folder ``fonts`` draws (none when the
    folder has no font). The fonts are read smallest first, and only until every character is
    found: plain Latin text never decodes a large CJK font."""
    files = sorted(_font_files(fonts), key=lambda path: (path.stat().st_size, path.name))
    if not files:
        return set()
    left = {ch for ch in characters if not _invisible(ch)}
    for path in files:
        if not left:
            break
        points = font_points(path)
        left = {ch for ch in left if ord(ch) not in points}
    return left


def printed_characters(frame: pd.DataFrame, columns: tuple[str, ...]) -> set[str]:
    """Every character of the text in ``columns`` of ``frame``."""
    used: set[str] = set()
    for column in columns:
        if column in frame.columns:
            used.update("".join(v for v in frame[column] if isinstance(v, str)))
    return used


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def unprintable_problems(frame: pd.DataFrame, columns: tuple[str, ...],
                         missing: set[str]) -> list[Problem]:
    """A warning at each cell of ``columns`` holding one of the ``missing`` characters (those
    no font draws: :func:`undrawable`)."""
    problems: list[Problem] = []
    if not missing or frame.empty:
        return problems
    for column in columns:
        if column not in frame.columns:
            continue
        values = frame[column]
        hit = values.map(lambda v, lacking=frozenset(missing): isinstance(v, str)
                         and not lacking.isdisjoint(v))
        for row in frame[hit].to_dict("records"):
            text = row[column]
            lacking = sorted(set(text) & missing)
            names = ", ".join(f"{ch} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})"
                              for ch in lacking[:3])
            more = f" and {len(lacking) - 3} more" if len(lacking) > 3 else ""
            problems.append(Problem(
                "unprintable-characters", Severity.WARNING,
                f"the document fonts cannot draw {names}{more}; they would print as empty "
                "boxes. Write the text in a script the fonts draw, or use a template whose "
                "fonts/ folder has a font for it (output.template_dir)",
                Location(str(row["_source"]), row["_sheet"] if isinstance(row["_sheet"], str)
                         and row["_sheet"] else None, int(row["_row"]), column)))
    return problems
