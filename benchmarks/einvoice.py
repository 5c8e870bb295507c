"""What e-invoicing adds to a document: building its XML, checking it, and the PDF/A-3b.

Bills 40 projects of 10 lines (one German seller, Factur-X + XRechnung UBL), then, per document
in one process with every rule set loaded once: the document's context (read from the store,
what every PDF needs), the plain PDF render, the Factur-X PDF render, building the CII and UBL
files from the stored document, and validating them with every rule set a run uses. The goal
(issue 12): validation adds at most 15% to a document's render time.

    python benchmarks/einvoice.py [--rules-dir ../shared/einvoice/sch] [--projects 40]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE_SETTINGS = ROOT / "sample_workbooks" / "settings" / "baunord.toml"  # Bau Nord GmbH


RULES = ROOT.parent / "shared" / "einvoice" / "sch"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules-dir", type=Path, default=RULES)
    parser.add_argument("--projects", type=int, default=40)
    args = parser.parse_args()
    measure(args.rules_dir, args.projects, show=True)


def measure(rules_dir: Path = RULES, projects: int = 40, show: bool = False
            ) -> dict[str, float]:
    """Median ms per document of each step (see the module's docstring)."""

    from progbill.billing.periods import Period
    from progbill.einvoice.documents import details_of, einvoice_files, rule_sets
    from progbill.einvoice.validate import Validator
    from progbill.pipeline import RunOptions, run, stored_context
    from progbill.render.pdf import Renderer
    from progbill.store import Store
    from progbill.workspace import init_workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        init_workspace(ws)
        (ws / "progbill.toml").write_text(SAMPLE_SETTINGS.read_text().replace(
            'rules_dir = ""', f'rules_dir = "{rules_dir.resolve()}"'))
        inbox = Path(tmp) / "in"
        inbox.mkdir()
        with (inbox / "jobs.csv").open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["Project", "Client", "Country", "City", "Postal code", "Peppol ID",
                          "Leitweg-ID", "Line", "Description", "Amount", "% Complete"])
            for p in range(projects):
                for line in range(10):
                    out.writerow([f"P-{p:04d}", f"Kunde {p}", "DE", "Berlin", "10115",
                                  f"EM:k{p}@kunde.example", f"991-{p:05d}-{p % 9}",
                                  line + 1, f"Gewerk {line + 1}", "12345.67", 10 + line * 5])
        start = time.perf_counter()
        report = run(ws, RunOptions(paths=(inbox,), period=Period.parse("2026-11"), workers=1,
                                    no_pdf=True))
        run_seconds = time.perf_counter() - start
        numbers = [d.number for d in report.documents]
        if not numbers:
            problems = [str(p) for f in report.files for p in f.problems]
            raise SystemExit(f"nothing billed: {problems[:3]}")
        validator = Validator(rules_dir if rules_dir.is_dir() else None)
        loaded = time.perf_counter()
        validator.load(["facturx-cii", "en16931-cii", "xrechnung-cii", "en16931-ubl",
                        "xrechnung-ubl"])
        load_seconds = time.perf_counter() - loaded
        renderer = Renderer()
        rows: dict[str, list[float]] = {k: [] for k in (
            "document context", "render plain PDF", "render Factur-X PDF/A-3b",
            "build CII + UBL", "validate CII + UBL")}
        each: dict[str, list[float]] = {}
        with Store(ws / "progbill.db") as store:
            for number in numbers:
                # the context every document's PDF needs, then its e-invoice files alone
                t0 = time.perf_counter()
                context = stored_context(store, number)
                t1 = time.perf_counter()
                doc = store.document(number)
                assert doc is not None
                lines, taxes = store.document_lines(number), store.document_taxes(number)
                t2 = time.perf_counter()
                files = einvoice_files(doc, lines, taxes, validator, check=False)
                t3 = time.perf_counter()
                assert files.cii is not None and files.ubl is not None
                cii_sets, ubl_sets = rule_sets(details_of(doc))
                validator.validate(files.cii, number, cii_sets)
                validator.validate(files.ubl, number, ubl_sets)
                t4 = time.perf_counter()
                for data, sets in ((files.cii, cii_sets), (files.ubl, ubl_sets)):
                    for one in sets:
                        t = time.perf_counter()
                        validator.validate(data, number, [one])
                        each.setdefault(one, []).append(time.perf_counter() - t)
                t5 = time.perf_counter()
                renderer.pdf(context)
                t6 = time.perf_counter()
                renderer.pdf({**context, "_factur_x": files.cii})
                t7 = time.perf_counter()
                rows["document context"].append(t1 - t0)
                rows["build CII + UBL"].append(t3 - t2)
                rows["validate CII + UBL"].append(t4 - t3)
                rows["render plain PDF"].append(t6 - t5)
                rows["render Factur-X PDF/A-3b"].append(t7 - t6)
    medians = {name: statistics.median(values) * 1000 for name, values in rows.items()}
    if not show:
        return medians
    print(f"{len(numbers)} documents of 10 lines; run (no PDF, e-invoices checked before "
          f"issuing) {run_seconds:.2f} s; rule sets loaded in {load_seconds:.2f} s")
    print(f"{'per document (median, ms)':32} {'ms':>8}")
    for name, value in medians.items():
        print(f"{name:32} {value:8.1f}")
    for name, values in each.items():
        print(f"  {name + ' (with XSD)':30} {statistics.median(values) * 1000:8.1f}")
    plain = medians["render plain PDF"]
    added = medians["validate CII + UBL"]
    print(f"validation / plain render: {added / plain:.1%} (goal: at most 15%)")
    print(f"Factur-X PDF / plain PDF: {medians['render Factur-X PDF/A-3b'] / plain:.2f}")
    return medians


if __name__ == "__main__":
    main()
