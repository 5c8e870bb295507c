"""progbill's speed goals, measured side by side with their baselines in one run.

    python benchmarks/run.py [--pdf-projects 120] [--projects 10000] [--lines 10]
                             [--pdf-repeat 2] [--scale-repeat 2] [--write docs/benchmarks.md]

Prints the stage table (read, validate, bill, commit, render, publish; seconds and peak RSS) of
each progbill run and the ratios of ISSUE 6:

1. PDF: progbill's wall time per one-page G703 document with all (2) workers, against naive
   WeasyPrint rendering the same documents (their HTML from ``progbill show --html``,
   ``HTML(string).write_pdf()``, 1 process); goal <= 0.35. Both are measured ``--pdf-repeat``
   times, alternately, and the fastest of each compared. (The earlier ratio, against a plain
   15-line invoice / 2, is printed too.)
2. An unchanged re-run of a month against the first run; goal <= 0.1, and no PDF rendered.
3. A ``--no-pdf`` run of N projects x M lines from one .xlsx against the floor (python-calamine
   reading the workbook + xlsxwriter constant-memory writing 110,000 rows x 15 columns); goal
   <= 1.5, peak memory <= 600 MB. Both are measured ``--scale-repeat`` times, alternately, and
   the fastest of each compared (each moves by up to a third between runs here).
4. The speed-up of 2 rendering workers over 1.

It also measures the ledger's write sheet by sheet against xlsxwriter writing every cell, and
the per-document cost of the features added since the last benchmark.

Every progbill run is a real ``python -m progbill run ... --json`` process; its peak RSS
(workers included) is read from the operating system.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

STAGES = ("read", "validate", "bill", "commit", "render", "publish")


@dataclass
class Measured:
    label: str
    wall: float
    peak_mb: float
    timings: dict[str, float]
    documents: int
    pdfs: int


def progbill_run(label: str, ws: Path, workbook: Path, period: str, *extra: str) -> Measured:
    """One CLI run in a fresh process; peak RSS of it and its workers."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "sys.stderr.write(p.stderr)\n"
        "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(p.stdout)\n"
    )
    command = [sys.executable, "-c", code, sys.executable, "-m", "progbill", "run",
               str(workbook), "--period", period, "-w", str(ws), "--json", *extra]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    first, _, report_text = out.partition("\n")
    wall, peak_kb = first.split()
    report = json.loads(report_text)
    if report["exit_code"] != 0:
        raise SystemExit(f"{label}: the run rejected its input: {report['files']}")
    return Measured(label, float(wall), int(peak_kb) / 1024, report["timings"],
                    len(report["documents"]), report["pdfs_rendered"])


def workspace(root: Path, name: str) -> Path:
    ws = root / name
    subprocess.run([sys.executable, "-m", "progbill", "init", str(ws)], check=True,
                   capture_output=True)
    for path in (ws / "inbox").iterdir():
        path.unlink()
    config = ws / "progbill.toml"
    config.write_text(config.read_text().replace("max_file_mb = 50", "max_file_mb = 1000"))
    return ws


# ---------------------------------------------------------------------------------------------
# baselines


PLAIN_ROWS = "".join(
    f"<tr><td>{i}</td><td>Consulting work package {i}</td><td>1</td><td>1,{i:03d}.00</td></tr>"
    for i in range(1, 16))
PLAIN_INVOICE = (
    "<html><body><h1>Invoice 0001</h1><p>Acme Ltd<br>1 Main Street<br>Springfield</p>"
    f"<table><tr><th>#</th><th>Item</th><th>Qty</th><th>Amount</th></tr>{PLAIN_ROWS}</table>"
    "<p>Total 15,120.00</p></body></html>")


def naive_weasyprint(repeat: int) -> float:
    """Seconds per plain 15-line invoice, naive WeasyPrint, this process."""
    from weasyprint import HTML

    HTML(string=PLAIN_INVOICE).write_pdf()  # warm imports and caches, as any process would
    start = time.perf_counter()
    for _ in range(repeat):
        HTML(string=PLAIN_INVOICE).write_pdf()
    return (time.perf_counter() - start) / repeat


def naive_same_documents(ws: Path, sample: int) -> tuple[float, int]:
    """Seconds per document for naive WeasyPrint on progbill's own documents: each document's
    exact HTML with its stylesheet inlined (``progbill show DOC --html``), written once,
    rendered with ``HTML(string=...).write_pdf()`` and default settings in this process."""
    from weasyprint import HTML

    from progbill.pipeline import document_html
    from progbill.store import Store

    with Store(ws / "progbill.db") as store:
        numbers = store.documents()["number"].tolist()[:sample]
    pages = [document_html(ws, number) for number in numbers]
    HTML(string=pages[0]).write_pdf()  # warm imports and caches, as any process would
    start = time.perf_counter()
    for html in pages:
        HTML(string=html).write_pdf()
    return (time.perf_counter() - start) / len(pages), len(pages)


def feature_costs(ws: Path, sample: int) -> list[tuple[str, float, float]]:
    """(feature, ms per document with it, ms without) on one process, for the features added
    since the previous benchmark: quantity columns on the G703 (a document whose lines carry
    quantities against the same without them), the e-invoice XML and its validation (against
    the document's render), and the accountant's columns kept in the ledger (ledger rebuild
    with three accountant columns on Invoices against without, per document)."""
    from progbill.pipeline import stored_context
    from progbill.render.pdf import Renderer
    from progbill.store import Store

    renderer = Renderer()
    with Store(ws / "progbill.db") as store:
        numbers = store.documents()["number"].tolist()[:sample]
        contexts = [stored_context(store, n) for n in numbers]
    plain = [_quantity_columns(c, {"quantity": "", "unit": "", "rate": "",
                                   "quantity_to_date": ""}) for c in contexts]
    with_quantities = [_quantity_columns(c, {"quantity": "1,250", "unit": "m2", "rate": "12.50",
                                             "quantity_to_date": "600"}) for c in contexts]
    renderer.pdf(plain[0])
    # each document without and then with its quantities, one after the other, in four passes;
    # a document's time is its fastest, in CPU time (a render runs on one thread): the cost is a
    # difference of two render times, and on this shared machine the wall time of the same
    # render moves by 10-20% from pass to pass, more between one batch and the next
    fastest = [[float("inf")] * len(contexts) for _ in range(2)]
    for _ in range(4):
        for i, pair in enumerate(zip(plain, with_quantities, strict=True)):
            for k, context in enumerate(pair):
                start = time.process_time()
                renderer.pdf(context)
                fastest[k][i] = min(fastest[k][i], time.process_time() - start)
    timed = [sum(each) / len(each) * 1000 for each in fastest]
    rows = [("quantity columns on the G703", timed[1], timed[0])]
    rows.append(_accountant_columns(ws))
    rows.append(_einvoice_cost())
    return rows


def _quantity_columns(context: dict, values: dict[str, str]) -> dict:
    """A document's context with every line's quantity figures set to ``values`` (all empty:
    the G703 without its quantity columns)."""
    return {**context, "has_quantities": any(values.values()),
            "lines": [{**line, **values} for line in context["lines"]]}


def _accountant_columns(ws: Path) -> tuple[str, float, float]:
    """The ledger rebuilt as is, against a copy of the workspace whose ledger has three columns
    an accountant typed on Invoices, once they are kept (every later rebuild; the first one
    after the edit also reads the accountant's file): ms per document of the workspace. The
    two are rebuilt alternately, ten times each, and the fastest of each is compared: one
    rebuild of 120 documents takes about 0.3-0.4 s, and this machine's speed drifts by more
    than the columns cost between one batch of rebuilds and the next (five of each gave
    +15%, where ten of each and the CPU time of each step give +2%)."""
    import openpyxl

    from progbill.pipeline import rebuild
    from progbill.store import Store

    edited = ws.with_name(ws.name + "-edited")
    shutil.copytree(ws, edited)
    path = edited / "ledger.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["Invoices"]
    first = sheet.max_column + 1
    for offset, title in enumerate(("GL batch", "Checked by", "Note")):
        sheet.cell(1, first + offset, title)
        for row in range(2, sheet.max_row + 1):
            sheet.cell(row, first + offset, f"{title} {row}")
    book.save(path)
    rebuild(edited)  # reads the accountant's columns from the file, once
    rebuild(ws)
    best = {ws: float("inf"), edited: float("inf")}
    for _ in range(10):
        for workspace_ in (ws, edited):
            start = time.perf_counter()
            rebuild(workspace_)
            best[workspace_] = min(best[workspace_], time.perf_counter() - start)
    shutil.rmtree(edited, ignore_errors=True)
    with Store(ws / "progbill.db") as store:
        count = max(len(store.documents()), 1)
    return ("accountant columns kept in the ledger (3 columns on Invoices)",
            best[edited] / count * 1000, best[ws] / count * 1000)


def _einvoice_cost() -> tuple[str, float, float]:
    """Building and validating a document's CII and UBL against the rest of its cost: its
    context read from the store and its Factur-X PDF render."""
    import einvoice

    figures = einvoice.measure(projects=12)
    without = figures["document context"] + figures["render Factur-X PDF/A-3b"]
    return ("e-invoice XML (CII + UBL) and its validation (5 rule sets)",
            without + figures["build CII + UBL"] + figures["validate CII + UBL"], without)


def ledger_by_column(ws: Path) -> list[str]:
    """The ledger write measured against the floor: each sheet of the workspace's ledger
    written the way progbill writes it (xlsxwriter for the structure, progbill's own cell
    writer for the plain data cells, ``progbill.sheetdata``) and with xlsxwriter writing every
    cell, then each column of the largest sheet written alone by xlsxwriter (constant memory,
    the column's own format), in microseconds per cell."""
    import xlsxwriter

    from progbill.ledger import build_sheets, write_sheets
    from progbill.store import Store

    with Store(ws / "progbill.db") as store:
        start = time.perf_counter()
        sheets = build_sheets(store, ws, ws)
        built = time.perf_counter() - start
    out = [f"Ledger of {sum(len(s.rows) for s in sheets):,} rows: built from the store in "
           f"{built:.1f} s.", "",
           "| sheet | rows | cells | progbill's write s | us per cell | xlsxwriter every cell s "
           "| us per cell |", "| --- | --- | --- | --- | --- | --- | --- |"]
    totals = [0.0, 0.0]
    with tempfile.TemporaryDirectory() as tmp:
        for sheet in sheets:
            took = []
            for fast in (True, False):
                start = time.perf_counter()
                write_sheets([sheet], Path(tmp) / f"{sheet.name}.xlsx", fast=fast)
                took.append(time.perf_counter() - start)
            totals = [totals[0] + took[0], totals[1] + took[1]]
            cells = max(len(sheet.rows) * len(sheet.columns), 1)
            out.append(f"| {sheet.name} | {len(sheet.rows):,} | {cells:,} | {took[0]:.2f} | "
                       f"{took[0] / cells * 1e6:.1f} | {took[1]:.2f} | "
                       f"{took[1] / cells * 1e6:.1f} |")
        out.append(f"| all sheets | | | {totals[0]:.2f} | | {totals[1]:.2f} | |")
        largest = max(sheets, key=lambda s: len(s.rows))
        out += ["", f"Columns of {largest.name}, each written alone by xlsxwriter:", "",
                "| column | kind | us per cell |", "| --- | --- | --- |"]
        for c, column in enumerate(largest.columns):
            book = xlsxwriter.Workbook(str(Path(tmp) / "column.xlsx"), {"constant_memory": True})
            sheet = book.add_worksheet()
            fmt = book.add_format({"num_format": "#,##0.00"}) if column.kind == "money" else None
            start = time.perf_counter()
            for r, row in enumerate(largest.rows):
                sheet.write(r, 0, row[c], fmt)
            book.close()
            took_column = time.perf_counter() - start
            out.append(f"| {column.header} | {column.kind} | "
                       f"{took_column / max(len(largest.rows), 1) * 1e6:.1f} |")
    return out


def floor(workbook: Path, rows: int = 110_000, columns: int = 15) -> tuple[float, float, float]:
    """python-calamine reading ``workbook`` + xlsxwriter constant-memory writing rows x columns."""
    import python_calamine
    import xlsxwriter

    start = time.perf_counter()
    python_calamine.CalamineWorkbook.from_path(str(workbook)).get_sheet_by_index(0).to_python()
    read = time.perf_counter() - start
    row = ["INV-2026-00001", "P-000001", "001", "Work package description", None]
    row += [1234.5, 100.0, 50.25, 0.0, 150.25, 0.45, 1084.25, 50.25, 15.03, 5.03][:columns - 5]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        book = xlsxwriter.Workbook(str(Path(tmp) / "floor.xlsx"), {"constant_memory": True})
        sheet = book.add_worksheet()
        for r in range(rows):
            sheet.write_row(r, 0, row)
        book.close()
        write = time.perf_counter() - start
    return read, write, read + write


# ---------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    from progbill.render.pdf import has_harfbuzz_subsetter

    libs = ", ".join(f"{p} {version(p)}" for p in ("weasyprint", "pandas", "python-calamine",
                                                    "xlsxwriter"))
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}; {libs}; HarfBuzz subsetter: "
            f"{'yes' if has_harfbuzz_subsetter() else 'no (bundled fonts embedded whole)'}")


def stage_table(runs: list[Measured]) -> list[str]:
    head = "| run | " + " | ".join(STAGES) + " | wall | peak RSS | documents | PDFs |"
    lines = [head, "|" + " --- |" * (len(STAGES) + 5)]
    for m in runs:
        cells = [f"{m.timings.get(s, 0):.2f}" for s in STAGES]
        lines.append(f"| {m.label} | " + " | ".join(cells)
                     + f" | {m.wall:.2f} | {m.peak_mb:.0f} MB | {m.documents} | {m.pdfs} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf-projects", type=int, default=120)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--naive-repeat", type=int, default=20)
    parser.add_argument("--pdf-repeat", type=int, default=2,
                        help="the 2-worker run and naive WeasyPrint, alternately; fastest of each")
    parser.add_argument("--scale-repeat", type=int, default=2,
                        help="the floor and the --no-pdf run, alternately; fastest of each")
    parser.add_argument("--write", type=Path, default=None, help="write the report here too")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="progbill-bench-"))
    try:
        print("generating workbooks ...", flush=True)
        small = generate.write(root / "month.xlsx", args.pdf_projects, args.lines)
        big = generate.write(root / "big.xlsx", args.projects, args.lines)

        print("baselines ...", flush=True)
        naive = naive_weasyprint(args.naive_repeat)

        print("progbill runs ...", flush=True)
        one = progbill_run("PDFs, 1 worker", workspace(root, "w1"), small, "2026-11",
                           "--workers", "1")
        two_ws = workspace(root, "w2")
        two = progbill_run("PDFs, 2 workers (first run)", two_ws, small, "2026-11",
                           "--workers", "2")
        print("naive WeasyPrint on the same documents ...", flush=True)
        naive_same, naive_count = naive_same_documents(two_ws, args.naive_repeat)
        features = feature_costs(two_ws, min(args.naive_repeat, 10))
        again = progbill_run("unchanged re-run", two_ws, small, "2026-11", "--workers", "2")
        # The render of the same 120 documents moves by 10-20% between runs here, about the
        # goal's margin: the 2-worker run and the naive baseline are measured again,
        # alternately, and the fastest of each compared (as the floor and the scale run below).
        twos, naives = [two], [naive_same]
        for attempt in range(1, max(args.pdf_repeat, 1)):
            twos.append(progbill_run("PDFs, 2 workers (again)", workspace(root, f"w2-{attempt}"),
                                     small, "2026-11", "--workers", "2"))
            naives.append(naive_same_documents(two_ws, args.naive_repeat)[0])
        # The floor and the scale run each move by up to a third from run to run on a shared
        # machine: both are measured alternately and the fastest of each is compared.
        floors, scales = [], []
        for attempt in range(max(args.scale_repeat, 1)):
            floors.append(floor(big))
            big_ws = workspace(root, f"big{attempt}")
            scales.append(progbill_run(
                f"--no-pdf, {args.projects:,} projects x {args.lines} lines", big_ws, big,
                "2026-11", "--no-pdf"))
        floor_read, floor_write, floor_total = min(floors, key=lambda f: f[2])
        scale = min(scales, key=lambda m: m.wall)
        print("the ledger write, column by column ...", flush=True)
        columns = ledger_by_column(big_ws)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    per_docs_two = [run.timings["render"] / max(run.pdfs, 1) for run in twos]
    per_doc_two = min(per_docs_two)
    naive_same = min(naives)
    per_doc_one = one.timings["render"] / max(one.pdfs, 1)
    first_two = per_docs_two[0]  # the run beside the 1-worker run, for the speed-up
    ratios = [
        ("PDF: per-document wall time with all (2) workers / naive WeasyPrint on the same "
         "documents (their HTML via `progbill show --html`, 1 process)",
         per_doc_two / naive_same, "<= 0.35",
         f"{per_doc_two * 1000:.0f} ms per document vs naive {naive_same * 1000:.0f} ms "
         f"({naive_count} documents), the fastest of {len(twos)} each, measured alternately "
         f"(runs {', '.join(f'{t * 1000:.0f}' for t in per_docs_two)} ms; naive "
         f"{', '.join(f'{t * 1000:.0f}' for t in naives)} ms)"),
        ("(earlier goal, other work) per-document wall time with 2 workers / (naive per "
         "plain 15-line invoice / 2)", per_doc_two / (naive / 2), "was <= 0.5",
         f"{per_doc_two * 1000:.0f} ms per document vs naive {naive * 1000:.0f} ms"),
        ("unchanged re-run / first run", again.wall / two.wall, "<= 0.1",
         f"{again.wall:.1f} s vs {two.wall:.1f} s; PDFs rendered on the re-run: {again.pdfs}"),
        ("--no-pdf run / floor (calamine read + xlsxwriter constant-memory write)",
         scale.wall / floor_total, "<= 1.5",
         f"{scale.wall:.1f} s vs {floor_total:.1f} s (read {floor_read:.1f} + write "
         f"{floor_write:.1f}), the fastest of {len(scales)} each (runs "
         f"{', '.join(f'{m.wall:.1f}' for m in scales)} s; floors "
         f"{', '.join(f'{f[2]:.1f}' for f in floors)} s); peak "
         f"{max(m.peak_mb for m in scales):.0f} MB (goal <= 600 MB)"),
        ("speed-up of 2 workers over 1 (render stage)", per_doc_one / first_two, "report",
         f"{per_doc_one * 1000:.0f} ms -> {first_two * 1000:.0f} ms per document (the first "
         "2-worker run, measured right after the 1-worker run)"),
    ]
    lines = [
        f"Measured {datetime.now():%Y-%m-%d %H:%M} on {machine()}.",
        "",
        f"PDF runs: {args.pdf_projects} projects x {args.lines} lines (one-page G703 documents);"
        f" scale run: {args.projects:,} projects x {args.lines} lines in one .xlsx.",
        "",
        *stage_table([one, two, again, scale]),
        "",
        "| ratio | measured | goal | figures |",
        "| --- | --- | --- | --- |",
        *(f"| {name} | {value:.2f} | {goal} | {detail} |" for name, value, goal, detail in ratios),
        "",
        f"Floor: {floor_write / (110_000 * 15) * 1e6:.1f} us per cell (xlsxwriter, constant "
        "memory, plain values).",
        "",
        *columns,
        "",
        "| feature added since the last benchmark | ms per document with | without | added |",
        "| --- | --- | --- | --- |",
        *(f"| {name} | {with_:.1f} | {without:.1f} | {(with_ / without - 1):+.0%} |"
          for name, with_, without in features),
    ]
    text = "\n".join(lines)
    print()
    print(text)
    if args.write:
        write_results(args.write, text)


START, END = "<!-- results: benchmarks/run.py writes below -->", "<!-- results end -->"


def write_results(path: Path, text: str, start: str = START, end: str = END) -> None:
    """Replace the figures between the markers of ``path``, keeping the prose around them."""
    page = path.read_text() if path.exists() else ""
    if start not in page:
        page += f"\n{start}\n{end}\n"
    head, _, rest = page.partition(start)
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{start}\n{text}\n{end}{tail}")


if __name__ == "__main__":
    main()
