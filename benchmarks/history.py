"""Does history make a month slower? 24 months of one workspace, each month's wall time.

    python benchmarks/history.py [--projects 1000] [--lines 10] [--months 24]
                                 [--pdf-projects 40] [--repeat 3] [--write docs/benchmarks.md]

Every month bills every project again (each line progresses about 4% a month, so no project
finishes within 24 months), as a real ``python -m progbill run --json`` process: a ``--no-pdf``
series of ``--projects`` projects, and a PDF series of ``--pdf-projects`` projects. It prints
each month's wall time and stage times, month 24 / month 2 for both series (goal: at most 1.2),
and the query plans of the store's hot queries (each must use an index, not scan a table that
grows with history). Then it bills month 2 and month 24 again ``--repeat`` times each, from
copies of the workspace as it was before them, and prints the ratio of the medians: one month
of the series is one run, and runs on a shared machine differ by 10-20%.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import generate  # noqa: E402


def period(month: int) -> str:
    year, index = divmod(month - 1, 12)
    return f"{2025 + year}-{index + 1:02d}"


def series(root: Path, name: str, projects: int, lines: int, months: int, *extra: str
           ) -> list[tuple[str, float, dict[str, float], int]]:
    """Bill ``months`` months; the workspace as it was before month 2 and before the last
    month is copied aside (with that month's workbook) for :func:`repeated`."""
    ws = root / name
    subprocess.run([sys.executable, "-m", "progbill", "init", str(ws)], check=True,
                   capture_output=True)
    for path in (ws / "inbox").iterdir():
        path.unlink()
    out = []
    for month in range(1, months + 1):
        book = generate.write(root / f"{name}-{month:02d}.xlsx", projects, lines, month,
                              steady=True)
        kept = month in (2, months)
        if kept:
            shutil.copytree(ws, root / f"{name}-before-{month:02d}", symlinks=True)
        wall, report = _run(ws, book, month, *extra)
        out.append((period(month), wall, report["timings"], len(report["documents"])))
        print(f"  {name} {period(month)}: {wall:.2f} s, {len(report['documents'])} documents",
              flush=True)
        if not kept:
            book.unlink()
    return out


def _run(ws: Path, book: Path, month: int, *extra: str) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "progbill", "run", str(book), "--period",
                           period(month), "-w", str(ws), "--json", *extra],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    report = json.loads(done.stdout)
    if report["exit_code"] != 0:
        raise SystemExit(f"{ws.name} {period(month)}: {report['files']}")
    return wall, report


def repeated(root: Path, name: str, months: int, times: int, *extra: str
             ) -> tuple[list[float], list[float]]:
    """Month 2 and the last month billed again ``times`` times each, alternately, each time
    from a fresh copy of the workspace as it was before that month: the same work measured
    several times, so one slow or fast moment of the machine does not make the ratio."""
    walls: dict[int, list[float]] = {2: [], months: []}
    for _ in range(times):
        for month in (2, months):
            ws = root / f"{name}-again"
            shutil.rmtree(ws, ignore_errors=True)
            shutil.copytree(root / f"{name}-before-{month:02d}", ws, symlinks=True)
            wall, _ = _run(ws, root / f"{name}-{month:02d}.xlsx", month, *extra)
            walls[month].append(wall)
            print(f"  {name} {period(month)} again: {wall:.2f} s", flush=True)
    shutil.rmtree(root / f"{name}-again", ignore_errors=True)
    return walls[2], walls[months]


def query_plans(db: Path) -> dict[str, str]:
    from progbill.store import query_plans as plans

    connection = sqlite3.connect(db)
    try:
        return plans(connection)
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--pdf-projects", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3,
                        help="bill month 2 and the last month again this many times each, "
                             "from copies of the workspace (0: not)")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="progbill-history-"))
    try:
        print("no-PDF series ...", flush=True)
        plain = series(root, "nopdf", args.projects, args.lines, args.months, "--no-pdf")
        plans = query_plans(root / "nopdf" / "progbill.db")
        again = repeated(root, "nopdf", args.months, args.repeat, "--no-pdf") \
            if args.repeat and args.months >= 2 else None
        print("PDF series ...", flush=True)
        pdf = series(root, "pdf", args.pdf_projects, args.lines, args.months) \
            if args.pdf_projects else []
        pdf_again = repeated(root, "pdf", args.months, args.repeat) \
            if args.repeat and args.months >= 2 and args.pdf_projects else None
    finally:
        shutil.rmtree(root, ignore_errors=True)
    lines = [f"History: {args.months} months of {args.projects:,} projects x {args.lines} "
             f"lines (--no-pdf) and of {args.pdf_projects} projects with PDFs, each month "
             "billing every project.", "",
             "| month | --no-pdf wall | read | bill | commit | publish | PDF series wall |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for k, (month, wall, timings, _) in enumerate(plain):
        pdf_wall = f"{pdf[k][1]:.2f}" if k < len(pdf) else ""
        lines.append(f"| {month} | {wall:.2f} | {timings.get('read', 0):.2f} | "
                     f"{timings.get('bill', 0):.2f} | {timings.get('commit', 0):.2f} | "
                     f"{timings.get('publish', 0):.2f} | {pdf_wall} |")
    if len(plain) >= 2:
        lines += ["", f"Month {len(plain)} / month 2, --no-pdf: "
                      f"{plain[-1][1] / plain[1][1]:.2f} (goal <= 1.2)"]
    if len(pdf) >= 2:
        lines.append(f"Month {len(pdf)} / month 2, with PDFs: {pdf[-1][1] / pdf[1][1]:.2f} "
                     "(goal <= 1.2)")
    for label, walls in (("--no-pdf", again), ("with PDFs", pdf_again)):
        if walls:
            second, last = walls
            a, b = statistics.median(last), statistics.median(second)
            lines.append(
                f"Again from copies of the workspace, {len(second)} runs each, {label}: month "
                f"{args.months} / month 2 = {a / b:.2f} (medians {a:.2f} s / {b:.2f} s; "
                f"each run: {', '.join(f'{w:.2f}' for w in last)} / "
                f"{', '.join(f'{w:.2f}' for w in second)})")
    lines += ["", "| hot query | plan |", "| --- | --- |",
              *(f"| {name} | {plan} |" for name, plan in plans.items())]
    text = "\n".join(lines)
    print()
    print(text)
    if args.write:
        from run import write_results

        write_results(args.write, text, start=HISTORY_START, end=HISTORY_END)


HISTORY_START = "<!-- history: benchmarks/history.py writes below -->"
HISTORY_END = "<!-- history end -->"


if __name__ == "__main__":
    main()
