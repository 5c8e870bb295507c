"""Synthetic progress workbooks at month-end scale.

    python benchmarks/generate.py OUT.xlsx --projects 10000 --lines 10 [--month 1]

Writes one flat .xlsx (xlsxwriter, constant memory): N projects x M lines with realistic
values: scheduled values from 1,000.00 to 250,000.00, progress growing month by month,
occasional stored materials and change orders, retainage 5 or 10%. ``--month K`` advances
progress, so months 1 and 2 of the same seed make a realistic second run.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

HEADER = ["Project ID", "Project Name", "Client", "Currency", "Retainage %", "Tax %",
          "Payment Terms", "Line", "Description", "Scheduled Value", "% Complete",
          "Materials Stored", "Change Order", "PO Number", "Completed On"]
WORK = ["Site preparation", "Foundations", "Structural frame", "Roofing", "Mechanical",
        "Electrical", "Plumbing", "Drywall", "Finishes", "Landscaping", "Design", "Testing"]


def rows(projects: int, lines: int, month: int, seed: int = 7, steady: bool = False):
    """The rows of month ``month``; ``steady``: every line progresses about 4% a month, with no
    stored materials or change orders, so that every project bills every month for two years
    (benchmarks/history.py)."""
    rng = random.Random(seed)
    for p in range(projects):
        pid = f"P-{p + 1:06d}"
        client = f"Client {rng.randint(1, projects // 3 + 1):05d} Ltd"
        retainage = rng.choice([5, 10])
        for k in range(lines):
            value = rng.randint(1_000, 250_000) * 100 // 100
            if steady:
                pct, stored, co = min(99, rng.randint(0, 3) + 4 * month), 0, ""
            else:
                start = rng.randint(0, 60)
                speed = rng.randint(5, 40)
                pct = min(100, max(0, start + speed * (month - 1)))
                stored = rng.choice([0, 0, 0, rng.randint(1, 50) * 100]) if pct < 90 else 0
                stored = min(stored, value * (100 - pct) // 100 - 1 if pct < 100 else 0)
                co = f"CO-{k}" if k == lines - 1 and rng.random() < 0.2 else ""
            yield [pid, f"Project {pid}", client, "USD", retainage, 0, 30, f"{k + 1:03d}",
                   f"{rng.choice(WORK)} - phase {k + 1}", value, pct, stored, co,
                   f"PO-{p:06d}", ""]


def write(path: Path, projects: int, lines: int, month: int = 1, steady: bool = False) -> Path:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = book.add_worksheet("Progress")
    ws.write_row(0, 0, ["Synthetic progress workbook"])
    ws.write_row(2, 0, HEADER)
    for r, row in enumerate(rows(projects, lines, month, steady=steady), start=3):
        ws.write_row(r, 0, row)
    book.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--month", type=int, default=1)
    args = parser.parse_args()
    write(args.out, args.projects, args.lines, args.month)


if __name__ == "__main__":
    main()
