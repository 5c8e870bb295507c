"""What the speed work must not change: the same bytes and cells whatever the number of
workers, the same ledger in constant-memory mode, valid PDFs without HarfBuzz's subsetter."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from progbill.cli import cli

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import generate


def progbill(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def cells(path: Path, sheets: tuple[str, ...]) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path)
    return {name: list(book[name].iter_rows(values_only=True)) for name in sheets}


def test_pdfs_and_ledger_are_identical_with_one_and_two_workers(tmp_path):
    month = generate.write(tmp_path / "month.xlsx", projects=14, lines=4)
    spaces = {}
    for workers in ("1", "2"):
        ws = tmp_path / f"w{workers}"
        progbill("init", str(ws))
        code, out = progbill("run", str(month), "--period", "2026-11", "-w", str(ws),
                             "--workers", workers)
        assert code == 0, out
        spaces[workers] = ws
    one = sorted((spaces["1"] / "invoices" / "2026-11").iterdir())
    two = sorted((spaces["2"] / "invoices" / "2026-11").iterdir())
    assert [p.name for p in one] == [p.name for p in two] and len(one) == 14
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    sheets = ("Invoices", "Lines", "Projects")
    assert cells(spaces["1"] / "ledger.xlsx", sheets) == cells(spaces["2"] / "ledger.xlsx", sheets)


def test_a_large_ledger_in_constant_memory_has_the_same_cells(tmp_path, monkeypatch):
    from progbill import ledger
    from progbill.store import Store

    ws = tmp_path / "ws"
    progbill("init", str(ws))
    month = generate.write(tmp_path / "month.xlsx", projects=6, lines=5)
    assert progbill("run", str(month), "--period", "2026-11", "-w", str(ws), "--no-pdf")[0] == 0
    with Store(ws / "progbill.db") as store:
        ledger.write_ledger(store, ws, tmp_path / "tables.xlsx")
        monkeypatch.setattr(ledger, "CONSTANT_MEMORY_ROWS", 10)
        ledger.write_ledger(store, ws, tmp_path / "streamed.xlsx")
    sheets = ("Invoices", "Lines", "Projects", "Exceptions")
    tables, streamed_cells = (cells(tmp_path / name, sheets)
                              for name in ("tables.xlsx", "streamed.xlsx"))
    for name in sheets:  # the totals rows differ only in how their formulas refer to cells
        def data(rows):
            return [r for r in rows if r[0] != "Total"]
        assert data(tables[name]) == data(streamed_cells[name]), name
    streamed = openpyxl.load_workbook(tmp_path / "streamed.xlsx")
    lines = streamed["Lines"]
    assert lines.freeze_panes == "A2" and lines.auto_filter.ref == "A1:V31"
    assert lines["M32"].value == "=SUBTOTAL(109,M2:M31)"
    assert lines["K2"].number_format == "0.00%" and lines["F2"].number_format.startswith("#,##0")


def test_without_harfbuzz_the_bundled_fonts_are_embedded_whole_and_text_stays_real(tmp_path):
    script = f"""
import weasyprint.pdf.fonts as fonts
fonts.harfbuzz_subset = None  # as on a machine without libharfbuzz-subset
from progbill.render.pdf import Renderer
from progbill.render.context import sample_context
context = sample_context()
context["document"]["is_draft"] = False
open({str(tmp_path / "plain.pdf")!r}, "wb").write(Renderer().pdf(context))
"""
    subprocess.run([sys.executable, "-c", script], check=True)
    from pypdf import PdfReader

    reader = PdfReader(tmp_path / "plain.pdf")
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Tax Invoice" in text and "INV-2026-00001" in text
    fonts = {str(f.get_object()["/BaseFont"]) for page in reader.pages
             for f in page["/Resources"]["/Font"].values()}
    assert any("progbill-Sans" in f for f in fonts)


def test_the_render_server_starts_before_the_first_pdf_only_when_workers_will_render():
    """``prewarm`` starts the server workers fork from (it imports WeasyPrint while the run
    builds its renderer and commits); with one worker, or too few documents for workers to
    render, nothing is started. A pool made afterwards forks from it."""
    from concurrent.futures import ProcessPoolExecutor

    from progbill.render import pool

    assert pool.prewarm(1, 100) is False
    assert pool.prewarm(2, 2 * pool.MIN_DOCUMENTS_PER_WORKER - 1) is False  # rendered here
    assert pool.prewarm(2, 2 * pool.MIN_DOCUMENTS_PER_WORKER) is True
    assert pool.prewarm(2) is True  # already running: started once
    with ProcessPoolExecutor(1, mp_context=pool._server()) as workers:
        assert workers.submit(pool.default_workers).result() >= 1


class _CycleMaker:
    """A stand-in renderer whose every document leaves a reference cycle behind, and which
    notes, as each document starts, whether the previous one's cycle was collected."""

    template_dir = Path(".")

    def __init__(self):
        self.previous = None
        self.collected_before = []
        self.thresholds = []

    def pdf(self, context):
        import weakref

        if self.previous is not None:
            self.collected_before.append(self.previous() is None)
        self.thresholds.append(gc.get_threshold()[0])

        class Node:
            pass

        node = Node()
        node.me = node  # freed only by the cyclic collector
        self.previous = weakref.ref(node)
        return b"%PDF"


def test_rendering_here_collects_between_documents_and_restores_the_collector():
    """In-process rendering raises the collector's first threshold (it walks less during a
    render: about a tenth of a render's CPU at the default of 700), collects once after each
    document so nothing a document left behind lives on into the next, and leaves the collector
    as it found it."""
    from progbill import collector
    from progbill.render import pool

    before = (gc.get_threshold(), gc.get_freeze_count())
    renderer = _CycleMaker()
    done = list(pool.render_all(((str(i), {}) for i in range(5)), renderer, workers=1))
    assert [key for key, _ in done] == ["0", "1", "2", "3", "4"]
    assert renderer.collected_before == [True] * 4
    assert min(renderer.thresholds) >= collector.COLLECT_EVERY > before[0][0]
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_a_render_worker_freezes_what_it_keeps_and_raises_the_collectors_threshold():
    from concurrent.futures import ProcessPoolExecutor

    from progbill import collector
    from progbill.render import pool

    with ProcessPoolExecutor(1, mp_context=pool._server(), initializer=pool._start_worker,
                             initargs=(None, None)) as workers:
        threshold, frozen = workers.submit(_collector_state).result()
    assert threshold == collector.COLLECT_EVERY
    assert frozen > 10_000  # the renderer, its fonts and stylesheets, WeasyPrint's modules


def _collector_state():
    return gc.get_threshold()[0], gc.get_freeze_count()
