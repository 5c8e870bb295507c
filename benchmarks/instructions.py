"""What the G703's quantity columns cost a document, counted in instructions (valgrind).

    python benchmarks/instructions.py [--documents 3]

Wall and CPU time of one render move by 10-20% on a shared machine from one pass to the next,
about as much as the quantity columns cost. Instructions executed do not: valgrind's callgrind
counts them, the same for the same program and input whatever else the machine is doing. This
benchmark bills a few projects, then renders each document in one process under callgrind in
three forms, its counters dumped after each render (``callgrind_control --dump``):

- ``plain``: the G703 without quantity columns (every line's quantity figures empty);
- ``empty columns``: the four columns (Qty, Unit, Rate, Qty to date) shown, their cells empty:
  what the cells themselves cost (boxes, borders, layout), without their text;
- ``quantities``: the columns filled, as a bill of quantities prints them.

It prints the instructions per document of each form and the cost of the columns over the plain
document (issue 14's goal: at most 10%). About four minutes: the program runs 50-100 times
slower under valgrind. Needs valgrind (Debian's ``valgrind``); without it, says so and stops.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from run import _quantity_columns  # noqa: E402

FORMS = ("plain", "empty columns", "quantities")
FIGURES = {"plain": {"quantity": "", "unit": "", "rate": "", "quantity_to_date": ""},
           "quantities": {"quantity": "1,250", "unit": "m2", "rate": "12.50",
                          "quantity_to_date": "600"}}

# Run under callgrind: renders each document in each form, dumping the counters after each.
CHILD = r"""
import os, subprocess, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from instructions import form_of
from progbill.pipeline import stored_context
from progbill.render.pdf import Renderer
from progbill.store import Store

ws, count = Path(sys.argv[2]), int(sys.argv[3])
renderer = Renderer()
with Store(ws / "progbill.db") as store:
    contexts = [stored_context(store, n) for n in store.documents()["number"].tolist()[:count]]
forms = [(name, [form_of(c, name) for c in contexts]) for name in sys.argv[4:]]
for _name, documents in forms:  # fonts, stylesheets and caches warm, as in any worker
    renderer.pdf(documents[0])
    renderer.pdf(documents[0])

def dump(label):
    subprocess.run(["callgrind_control", "--dump=" + label, str(os.getpid())],
                   check=True, capture_output=True)

dump("warm")
for i in range(count):
    for name, documents in forms:
        renderer.pdf(documents[i])
        dump(f"{name.replace(' ', '_')}#{i}")
"""


def form_of(context: dict, form: str) -> dict:
    """A document's context in one of :data:`FORMS` (the columns shown empty: every line's
    figures empty, the columns still there)."""
    figures = FIGURES["quantities" if form == "quantities" else "plain"]
    return {**_quantity_columns(context, figures), "has_quantities": form != "plain"}


def workspace(root: Path, projects: int) -> Path:
    workbook = generate.write(root / "month.xlsx", projects, 10)
    ws = root / "ws"
    subprocess.run([sys.executable, "-m", "progbill", "init", str(ws)], check=True,
                   capture_output=True)
    for path in (ws / "inbox").iterdir():
        path.unlink()
    subprocess.run([sys.executable, "-m", "progbill", "run", str(workbook), "--period",
                    "2026-11", "-w", str(ws), "--workers", "1", "--no-pdf"], check=True,
                   capture_output=True)
    return ws


def counted(ws: Path, documents: int, out: Path) -> dict[str, list[int]]:
    """Instructions of each render, by form, from the dumps of one callgrind run."""
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                    sys.executable, "-c", CHILD, str(HERE), str(ws), str(documents), *FORMS],
                   check=True, capture_output=True)
    found: dict[str, list[int]] = {form: [] for form in FORMS}
    for dump in out.parent.glob(out.name + ".*"):
        text = dump.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: Client Request: (.+)$|^desc: Trigger: dump (.+)$",
                          text, re.M)
        total = re.search(r"^summary: (\d+)$", text, re.M)
        if not (label and total):
            continue
        name = (label.group(1) or label.group(2)).strip()
        form = name.partition("#")[0].replace("_", " ")
        if form in found:
            found[form].append(int(total.group(1)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=3)
    args = parser.parse_args()
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    root = Path(tempfile.mkdtemp(prefix="progbill-instructions-"))
    try:
        ws = workspace(root, max(args.documents, 1))
        found = counted(ws, args.documents, root / "callgrind.out")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if any(len(found[form]) != args.documents for form in FORMS):
        raise SystemExit(f"callgrind gave {({f: len(v) for f, v in found.items()})} dumps, "
                         f"expected {args.documents} of each form")
    mean = {form: sum(found[form]) / len(found[form]) for form in FORMS}
    print(f"instructions per document, mean of {args.documents} (callgrind):")
    for form in FORMS:
        extra = f"  {mean[form] / mean['plain'] - 1:+.1%} over plain" if form != "plain" else ""
        print(f"  {form:14s} {mean[form] / 1e6:9.1f} M{extra}")
    cells = mean["empty columns"] - mean["plain"]
    text = mean["quantities"] - mean["empty columns"]
    print(f"the columns' cost: {cells / 1e6:.1f} M for their cells, {text / 1e6:.1f} M for the "
          f"text in them; goal: at most +10%")


if __name__ == "__main__":
    main()
