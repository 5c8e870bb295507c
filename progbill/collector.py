"""Python's cyclic garbage collector, set for batch work.

At its default thresholds the collector runs after every 700 container objects allocated and,
every so often, walks everything the process holds. A month-end run allocates tens of millions
of short-lived objects (cells, rows, WeasyPrint's boxes) while holding modules, fonts and
parsed stylesheets for its whole life, so it spent about a tenth of a PDF render's CPU time,
and 1.5-1.8 s of a 100,000-line run without PDFs, walking objects that were still in use.

progbill's program therefore freezes what it holds once it has started (``gc.freeze``: never
walked again; a render worker does so once its renderer is built) and lets ``COLLECT_EVERY``
objects accumulate before the collector runs. Renders collect the young objects once after each
document, so what a document leaves behind in cycles is freed before the next one begins and
memory stays flat. Nothing else changes: reference counting still frees almost everything at
once, and the collector still runs, less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# container objects allocated (net) before the collector runs; a document's render keeps well
# under it, so a render runs uninterrupted, and garbage in cycles stays bounded
COLLECT_EVERY = 50_000


def for_the_process() -> None:
    """When a process starts its work (the program once started, a render worker once its
    renderer is built): what it holds now lives as long as it does."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(COLLECT_EVERY, *gc.get_threshold()[1:])


def after_document() -> None:
    """Free what the document just rendered left in reference cycles: it is all young (the two
    younger generations), so what lived before the document is not walked."""
    gc.collect(1)


@contextmanager
def between_documents() -> Iterator[None]:
    """Rendering in this process: the first threshold at least ``COLLECT_EVERY`` for the
    while (a library call or a test leaves the collector as it was)."""
    previous = gc.get_threshold()
    gc.set_threshold(max(COLLECT_EVERY, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
