"""Bill each sample business in its own workspace with its own settings, and render page 1 of
four documents to small PNGs for the README (needs pdftoppm, from poppler-utils).

    python docs/render_examples.py [WORKDIR]

Writes docs/construction-invoice.png, docs/agency-invoice.png, docs/gst-invoice.png and
docs/credit-note.png, and prints where every PDF is, to look at them whole.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from progbill.cli import cli

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_workbooks"
SETTINGS = SAMPLES / "settings"
BUSINESSES = {
    "harborview": "harborview-construction-progress.xlsx",
    "northlight": "northlight-studio-milestones.csv",
    "sahyadri": "sahyadri-consultants-progress.xlsx",
}


def progbill(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if result.exit_code not in (0,):
        raise SystemExit(result.output)
    return result.output


def workspace(root: Path, business: str) -> Path:
    ws = root / business
    progbill("init", str(ws))
    (ws / "inbox" / "example-progress.xlsx").unlink()
    shutil.copy(SETTINGS / f"{business}.toml", ws / "progbill.toml")
    shutil.copy(SETTINGS / f"{business}-logo.svg", ws / f"{business}-logo.svg")
    for month in ("2026-10", "2026-11"):
        progbill("run", str(SAMPLES / month / BUSINESSES[business]), "--period", month,
                 "-w", str(ws))
    return ws


def credit_note(root: Path, ws: Path) -> Path:
    """November's framing on HB-2047 certified at 60%, not 70%: a credit note."""
    book = openpyxl.load_workbook(SAMPLES / "2026-11" / BUSINESSES["harborview"])
    for row in book["Schedule of Values"].iter_rows(min_row=5):
        if row[0].value == "HB-2047" and row[1].value == "02":
            row[4].value = 60
    corrected = root / "harborview-corrected.xlsx"
    book.save(corrected)
    progbill("run", str(corrected), "--period", "2026-11", "-w", str(ws))
    return ws / "invoices" / "2026-11" / "CN-2026-00001.pdf"


def png(pdf: Path, target: Path, page: int = 1, dpi: int = 60) -> None:
    stem = target.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
                    "-singlefile", str(pdf), str(stem)], check=True)


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    root.mkdir(parents=True, exist_ok=True)
    spaces = {name: workspace(root, name) for name in BUSINESSES}
    documents = {
        "construction-invoice": spaces["harborview"] / "invoices/2026-11/INV-2026-00003.pdf",
        "agency-invoice": spaces["northlight"] / "invoices/2026-11/INV-2026-00004.pdf",
        "gst-invoice": spaces["sahyadri"] / "invoices/2026-11/SSC_2026_0003.pdf",
        "credit-note": credit_note(root, spaces["harborview"]),
    }
    for name, pdf in documents.items():
        png(pdf, REPO / "docs" / f"{name}.png")
        print(f"{name}: {pdf}")


if __name__ == "__main__":
    main()
