"""Rendering many documents: in this process, or in worker processes.

Each worker builds one :class:`~progbill.render.pdf.Renderer` (fonts and parsed CSS are reused
for every document it renders) and is replaced after ``MAX_TASKS_PER_WORKER`` documents, because
WeasyPrint's native memory grows a little with each document. Workers start with ``forkserver``
(required to recycle them) and only return bytes: the caller writes each file and records it,
so the store and the files stay consistent whatever order documents finish in.

Rendering is deterministic: a document renders to the same bytes in any worker.

The collector (:mod:`progbill.collector`) is set for this: a worker freezes the renderer it
keeps, and every render collects what it left behind once, after the document.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from progbill import collector

MAX_TASKS_PER_WORKER = 250
MIN_DOCUMENTS_PER_WORKER = 6  # below this, starting workers costs more than it saves

_worker_renderer: Any = None


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# workers fork from a server that has imported WeasyPrint once (about 2 s a worker otherwise,
# paid again whenever a worker is recycled)
_PRELOAD = ["progbill.render.pdf", "weasyprint"]


def _server() -> Any:
    server = multiprocessing.get_context("forkserver")
    server.set_forkserver_preload(_PRELOAD)
    return server


def prewarm(workers: int | None = None, count: int | None = None) -> bool:
    """Start the server the workers fork from now, when :func:`render_all` will use workers
    for ``count`` documents: it imports WeasyPrint (about 1.5 s) on another core while the run
    builds its own renderer and commits, instead of before the first PDF. Returns whether it
    was started; where it cannot be, rendering starts it later as before."""
    if not _uses_workers(workers or default_workers(), count):
        return False
    try:
        from multiprocessing import forkserver

        _server()
        forkserver.ensure_running()
    except (ValueError, OSError):  # no forkserver on this platform, or no process to spare
        return False
    return True


def _uses_workers(workers: int, count: int | None) -> bool:
    return workers > 1 and (count is None or count >= workers * MIN_DOCUMENTS_PER_WORKER)


def _start_worker(template_dir: str | None, plain: frozenset[int] | None = None) -> None:
    global _worker_renderer
    from progbill.render.pdf import Renderer

    # the parent built and checked a Renderer of the same folder: a worker skips the checks
    # and the fonts' coverage, which it is given
    _worker_renderer = Renderer(Path(template_dir) if template_dir else None, check=False,
                                plain=plain)
    collector.for_the_process()


def _render_one(context: dict[str, Any]) -> bytes:
    pdf: bytes = _worker_renderer.pdf(context)
    collector.after_document()
    return pdf


def render_all(
    jobs: Iterable[tuple[str, dict[str, Any]]],
    renderer: Any,
    workers: int | None = None,
    count: int | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Render ``(key, context)`` jobs; yield ``(key, pdf bytes)`` as each finishes.

    With one worker, or too few documents to be worth starting processes, ``renderer`` renders
    them here, in order. Otherwise worker processes render them, at most ``2 x workers`` at a
    time (contexts are built lazily by the caller, so memory stays flat for long runs).
    """
    workers = workers or default_workers()
    if not _uses_workers(workers, count):
        with collector.between_documents():
            for key, context in jobs:
                pdf = renderer.pdf(context)
                collector.after_document()
                yield key, pdf
        return
    template_dir = str(renderer.template_dir)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_server(),
        initializer=_start_worker,
        initargs=(template_dir, getattr(renderer, "plain", None)),
        max_tasks_per_child=MAX_TASKS_PER_WORKER,
    )
    pending: dict[Future[bytes], str] = {}
    try:
        iterator = iter(jobs)
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * workers:
                try:
                    key, context = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                pending[pool.submit(_render_one, context)] = key
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                key = pending.pop(future)
                yield key, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
