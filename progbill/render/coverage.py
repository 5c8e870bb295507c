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


def drawable(fonts: Path) -> frozenset[int]:
    """Code points drawn by any font file in the folder ``fonts`` (empty when there is none)."""
    return drawable_files(tuple(sorted(fonts.glob("*.[ot]tf"))))


@lru_cache(maxsize=8)
def drawable_files(paths: tuple[Path, ...]) -> frozenset[int]:
    """Code points drawn by any of the font files ``paths``."""
    from fontTools.ttLib import TTFont

    points: set[int] = set()
    for path in paths:
        try:
            with TTFont(path, lazy=True) as font:
                points.update(font.getBestCmap() or {})
        except Exception:  # a damaged font draws nothing; WeasyPrint says so when rendering
            continue
    return frozenset(points)


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def unprintable_problems(frame: pd.DataFrame, columns: tuple[str, ...],
                         can_draw: frozenset[int]) -> list[Problem]:
    """A warning at each cell of ``columns`` holding a character ``can_draw`` lacks."""
    problems: list[Problem] = []
    if not can_draw or frame.empty:
        return problems
    for column in columns:
        if column not in frame.columns:
            continue
        values = frame[column]
        texts = [v for v in values if isinstance(v, str) and v]
        missing = {ch for ch in set("".join(texts)) if ord(ch) not in can_draw
                   and not _invisible(ch)}
        if not missing:
            continue
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
