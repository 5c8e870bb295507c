"""Document numbers: templates, validation, and gapless assignment per series and fiscal year.

Numbers are assigned by :func:`assign_numbers` from the last sequence numbers read inside the
store's transaction, so the same transaction that stores the documents consumes the numbers:
a crash leaves neither a gap nor a duplicate.

No two documents can share a number or a PDF file name:

* a template with ``{fy}`` restarts ``seq`` each fiscal year; one without it counts on across
  fiscal years (it would otherwise repeat its numbers every year);
* :func:`templates_collide` refuses two series whose templates can produce the same number,
  compared without regard to case (file systems on Windows and macOS ignore case) or to ``/``
  against ``-`` (``2026/0001`` and ``2026-0001`` cannot be told apart on paper, and earlier
  versions gave them one file name);
* :func:`file_stem` maps a number to a file name injectively (``/`` becomes ``_``, a character
  no number may contain).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping

MAX_LENGTH = 16  # India CGST rule 46(b): at most 16 characters
_ALLOWED = re.compile(r"^[A-Za-z0-9/-]*$")
_FIELDS = {"fy", "seq"}
_SPEC = re.compile(r"(0[1-9]\d*)?d?")


def check_template(template: str) -> str | None:
    """None when ``template`` is a valid number template, else a sentence saying why not.

    A valid template uses only ``{fy}`` and ``{seq}`` (with an optional integer format such as
    ``{seq:05d}``), contains ``{seq}``, and can only produce numbers of at most 16 letters,
    digits, ``-`` and ``/``.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"{template!r} is not a valid template ({exc})"
    fields = set()
    for literal, field, spec, conversion in parsed:
        if not _ALLOWED.match(literal):
            return (
                f"{template!r} contains characters other than letters, digits, '-' and '/'; "
                "tax rules (e.g. India's CGST rule 46) allow only those"
            )
        if field is None:
            continue
        if field not in _FIELDS or conversion:
            return f"{template!r} uses {{{field}}}; only {{fy}} and {{seq}} are available"
        if spec and not _SPEC.fullmatch(spec):
            return (f"{template!r} formats {{{field}}} with {spec!r}; use a zero-padded width "
                    "such as 05d (other formats add spaces or signs)")
        fields.add(field)
    if "seq" not in fields:
        return f"{template!r} has no {{seq}}, so every document would get the same number"
    longest = format_number(template, 9999, _widest_seq(template))
    if len(longest) > MAX_LENGTH:
        return (
            f"{template!r} can produce {longest!r} ({len(longest)} characters); "
            f"document numbers may have at most {MAX_LENGTH}"
        )
    return None


def _widest_seq(template: str) -> int:
    """The largest sequence number the template is meant to hold (its zero-padded width)."""
    for _, field, spec, _ in string.Formatter().parse(template):
        if field == "seq" and spec:
            width = int(spec.rstrip("d").lstrip("0") or "0")
            if width:
                return 10**width - 1
    return 99999


def format_number(template: str, fy: int, seq: int) -> str:
    return template.format(fy=fy, seq=seq)


def uses_fiscal_year(template: str) -> bool:
    return any(field == "fy" for _, field, _, _ in string.Formatter().parse(template))


def file_stem(number: str) -> str:
    """The PDF file name of a document number, without ``.pdf``: ``SSC/2026/0001`` ->
    ``SSC_2026_0001``. Injective, because no number may contain ``_``."""
    return number.replace("/", "_")


# A template as a sequence of character classes with repeat counts: a literal character
# (compared case-insensitively), or a run of digits ({fy}: 4, {seq:05d}: 5 up to the length
# limit). Two templates can produce the same number exactly when the languages intersect.
_Atom = tuple[str | None, int, int]  # (literal, or None for a digit; min repeat; max repeat)


def _atoms(template: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    for literal, field, spec, _ in string.Formatter().parse(template):
        atoms.extend((_confusable(ch), 1, 1) for ch in literal)
        if field == "fy":
            atoms.append((None, 4, 4))
        elif field == "seq":
            width = int((spec or "").rstrip("d").lstrip("0") or "1")
            atoms.append((None, width, MAX_LENGTH))
    return atoms


def _confusable(ch: str) -> str:
    """Characters a reader (or a case-insensitive file system) cannot tell apart compare equal:
    case, and ``/`` against ``-``."""
    return "-" if ch == "/" else ch.casefold()


def _states(atoms: list[_Atom]) -> list[tuple[str | None, bool]]:
    """Unrolled: one state per character position; (class, optional)."""
    states = []
    for symbol, low, high in atoms:
        states += [(symbol, False)] * low + [(symbol, True)] * (high - low)
    return states


def _match_free(a: list[tuple[str | None, bool]], i: int) -> set[int]:
    """Positions reachable from ``i`` by skipping optional states (an epsilon closure)."""
    reach = {i}
    while i < len(a) and a[i][1]:
        i += 1
        reach.add(i)
    return reach


def templates_collide(first: str, second: str) -> str | None:
    """A number both templates can produce (compared as :func:`_confusable` says), or None
    when there is none. Templates are short, so the product of their unrolled states is tiny."""
    a, b = _states(_atoms(first)), _states(_atoms(second))
    start = {(i, j) for i in _match_free(a, 0) for j in _match_free(b, 0)}
    seen: dict[tuple[int, int], str] = {pair: "" for pair in start}
    frontier = list(start)
    while frontier:
        i, j = frontier.pop()
        text = seen[(i, j)]
        if i == len(a) and j == len(b):
            return text
        if i == len(a) or j == len(b):
            continue
        (x, _), (y, _) = a[i], b[j]
        if x is None and y is None:
            char = "1"
        elif x is None or y is None:
            char = y if x is None else x  # type: ignore[assignment]
            if not char.isdigit():
                continue
        elif x == y:
            char = x
        else:
            continue
        for ni in _match_free(a, i + 1):
            for nj in _match_free(b, j + 1):
                if (ni, nj) not in seen:
                    seen[(ni, nj)] = text + char
                    frontier.append((ni, nj))
    return None


def assign_numbers(
    requests: Iterable[tuple[str, int]],
    last_seq: Mapping[tuple[str, int], int],
    templates: Mapping[str, str],
) -> list[tuple[int, str]]:
    """Give each (series, fiscal year) request the next sequence number, in request order.

    ``last_seq`` holds the highest number already issued per (series, fy); a missing key means
    none. A series whose template has no ``{fy}`` counts on across fiscal years. Returns
    ``(seq, number)`` per request. Raises ValueError if a number would not fit its template's
    length limit.
    """
    counters: dict[tuple[str, int | None], int] = {}
    for (series, fy), seq in last_seq.items():
        key = (series, fy if uses_fiscal_year(templates.get(series, "{fy}")) else None)
        counters[key] = max(counters.get(key, 0), seq)
    out = []
    for series, fy in requests:
        key = (series, fy if uses_fiscal_year(templates[series]) else None)
        seq = counters.get(key, 0) + 1
        counters[key] = seq
        number = format_number(templates[series], fy, seq)
        if len(number) > MAX_LENGTH:
            raise ValueError(
                f"document number {number!r} is longer than {MAX_LENGTH} characters; "
                "widen the sequence in the number template"
            )
        out.append((seq, number))
    return out
