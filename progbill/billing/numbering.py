"""Document numbers: templates, validation, and gapless assignment per series and fiscal year.

Numbers are assigned by :func:`assign_numbers` from the last sequence numbers read inside the
store's transaction, so the same transaction that stores the documents consumes the numbers:
a crash leaves neither a gap nor a duplicate.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping

MAX_LENGTH = 16  # India CGST rule 46(b): at most 16 characters
_ALLOWED = re.compile(r"^[A-Za-z0-9/-]*$")
_FIELDS = {"fy", "seq"}


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
        if spec and not re.fullmatch(r"0?\d*d", spec):
            return f"{template!r} formats {{{field}}} with {spec!r}; use an integer format like 05d"
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


def assign_numbers(
    requests: Iterable[tuple[str, int]],
    last_seq: Mapping[tuple[str, int], int],
    templates: Mapping[str, str],
) -> list[tuple[int, str]]:
    """Give each (series, fiscal year) request the next sequence number, in request order.

    ``last_seq`` holds the highest number already issued per (series, fy); a missing key means
    none. Returns ``(seq, number)`` per request. Raises ValueError if a number would not fit
    its template's length limit.
    """
    counters = dict(last_seq)
    out = []
    for series, fy in requests:
        seq = counters.get((series, fy), 0) + 1
        counters[(series, fy)] = seq
        number = format_number(templates[series], fy, seq)
        if len(number) > MAX_LENGTH:
            raise ValueError(
                f"document number {number!r} is longer than {MAX_LENGTH} characters; "
                "widen the sequence in the number template"
            )
        out.append((seq, number))
    return out
