"""The Lines rows of a fiscal year's earlier runs, kept deflated, so that a month writes only
its own rows and its cost does not grow with the months before it.

After each ledger, progbill keeps the Lines sheet's data rows as written (raw deflate pieces,
:mod:`progbill.zipparts`) in ``.progbill-cache/ledger-lines.bin``, with what the next run needs
to continue the sheet: how many rows, the columns' widths, exact sums per total column and
currency, the currencies, and the column styles the rows refer to. The next ledger reuses them
only when all of this holds, and otherwise writes every row as before:

* issued documents and their lines never change (the store's triggers refuse it), so a row is
  known by its document: the cache names the documents it holds, in the sheet's order, by
  number and the run that issued it, and they must be the first documents of the sheet now
  (a voided document, a late period sorting before them, a number issued again after a
  restored store: all differ);
* the same fiscal year, progbill version and columns, at least the rows that set the widths;
* the accountant has no columns or comments on Lines, and the ledger was not edited since
  progbill wrote it (both need every row written anew);
* the new workbook gives each column a style of the same kind: where its numbers differ
  (the month the ledger passes to constant-memory mode, which numbers styles otherwise), the
  kept rows are given the new numbers as it is written (``sheetdata.restyled``); rows it
  cannot restyle with certainty (a cell of another currency's format) are written anew.

The file is only ever a copy of what the store says: deleting it costs one full write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from progbill import __version__, ledger
from progbill.ledger import LINE_HEADERS, Earlier
from progbill.workspace import Workspace, atomic_write_bytes
from progbill.zipparts import Deflated

FORMAT = 2  # 2: no constant-memory flag (kept rows take the new workbook's styles)
SHEET = "Lines"
MAX_BYTES = 1 << 31

Documents = Sequence[tuple[str, str, tuple[object, ...]]]  # Store.ledger_documents


def path(ws: Workspace) -> Path:
    return ws.root / ".progbill-cache" / "ledger-lines.bin"


def _fingerprint(documents: Documents) -> str:
    digest = hashlib.sha256()
    for number, run_id, _key in documents:
        digest.update(f"{number}\t{run_id}\n".encode())
    return digest.hexdigest()


def _identity(fy: int) -> dict[str, Any]:
    return {"format": FORMAT, "progbill": __version__, "columns": list(LINE_HEADERS),
            "fy": fy}


@dataclass(frozen=True)
class Reuse:
    """Rows to reuse, and the key of their last document (the new lines come after it)."""

    earlier: Earlier
    after: tuple[object, ...]


def load(ws: Workspace, fy: int, documents: Documents) -> Reuse | None:
    """The kept rows, when they are the first documents of ``documents`` (see the module);
    None when there are none or they cannot be reused."""
    try:
        if path(ws).stat().st_size > MAX_BYTES:
            return None  # not a file progbill wrote for a sheet Excel can open
        raw = path(ws).read_bytes()
        head, _, data = raw.partition(b"\n")
        meta = json.loads(head)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("identity") != _identity(fy):
        return None
    try:
        count = int(meta["documents"])
        if not 0 < count <= len(documents) or meta["fingerprint"] != _fingerprint(
                documents[:count]) or hashlib.sha256(data).hexdigest() != meta["sha256"]:
            return None
        pieces, at = [], 0
        for length, crc, size in meta["pieces"]:
            pieces.append(Deflated(data[at:at + length], int(crc), int(size)))
            at += length
        if at != len(data) or int(meta["rows"]) < ledger.WIDTH_ROWS:
            return None
        earlier = Earlier(
            int(meta["rows"]), frozenset(meta["currencies"]),
            [float(w) for w in meta["widths"]],
            {(int(c), str(cur)): int(total) for c, cur, total in meta["sums"]},
            {int(c): str(style) for c, style in meta["styles"]}, pieces)
    except (KeyError, TypeError, ValueError):
        return None
    return Reuse(earlier, documents[count - 1][2])


def save(ws: Workspace, fy: int, documents: Documents, e: Earlier) -> None:
    """Keep the Lines rows just written (``e``: of ``documents``, all of the sheet's)."""
    data = b"".join(piece.data for piece in e.data)
    meta = {
        "identity": _identity(fy), "documents": len(documents),
        "fingerprint": _fingerprint(documents), "rows": e.rows,
        "currencies": sorted(e.currencies), "widths": e.widths,
        "sums": [[c, cur, str(total)] for (c, cur), total in sorted(e.sums.items())],
        "styles": sorted(e.styles.items()),
        "pieces": [[len(p.data), p.crc, p.size] for p in e.data],
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    target = path(ws)
    target.parent.mkdir(exist_ok=True)
    # a cache: checked by its SHA-256 when read, so not worth a sync of its megabytes
    atomic_write_bytes(target, json.dumps(meta).encode() + b"\n" + data, durable=False)


def drop(ws: Workspace) -> None:
    path(ws).unlink(missing_ok=True)
