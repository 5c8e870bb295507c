"""The e-invoice files of a stored document, checked before they leave progbill, and the
checks of files a user hands to ``progbill check-einvoice``.

A run writes a document's e-invoices only after they pass every rule set that applies (XSD,
EN 16931, Factur-X, and the chosen CIUS where its rules folder is set); a document that fails
is reported as an error for its project and nothing of it is published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from progbill.einvoice.model import EInvoiceError, build
from progbill.einvoice.validate import EInvoiceFileError, Finding, Result, Validator

MAX_EINVOICE_BYTES = 20 * 1024 * 1024


@dataclass
class EInvoiceFiles:
    """A document's Factur-X XML (``cii``) and UBL file, or why they cannot be issued."""

    cii: bytes | None = None
    ubl: bytes | None = None
    failures: list[str] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)


def details_of(doc: dict[str, Any]) -> dict[str, Any]:
    text = str(doc.get("einvoice_json") or "")
    return json.loads(text) if text else {}


def rule_sets(details: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The rule sets a run checks a document's CII and UBL files with."""
    cius = details.get("cius", "peppol")
    cii = ["facturx-cii", "en16931-cii"] + (["xrechnung-cii"] if cius == "xrechnung" else [])
    ubl = ["en16931-ubl", "xrechnung-ubl" if cius == "xrechnung" else "peppol-ubl"]
    return cii, ubl


def einvoice_files(doc: dict[str, Any], lines: pd.DataFrame, taxes: pd.DataFrame,
                   validator: Validator, check: bool = True) -> EInvoiceFiles:
    """Build and check the e-invoice files ``doc`` was issued with (none when e-invoicing was
    off when it was issued). ``check=False``: built only (they passed before issuing)."""
    from progbill.einvoice.cii import write_cii
    from progbill.einvoice.ubl import write_ubl

    details = details_of(doc)
    formats = details.get("formats", [])
    files = EInvoiceFiles()
    if not formats:
        return files
    try:
        invoice = build(doc, lines, taxes)
    except EInvoiceError as exc:
        files.failures.append(f"{doc['number']} cannot be written as an e-invoice: {exc}")
        return files
    cii_sets, ubl_sets = rule_sets(details)
    if "factur-x" in formats:
        files.cii = write_cii(invoice)
        if check:
            _check(files, validator.validate(files.cii, f"{doc['number']} (Factur-X XML)",
                                             cii_sets))
    if "ubl" in formats:
        files.ubl = write_ubl(invoice)
        if check:
            _check(files, validator.validate(files.ubl, f"{doc['number']}.xml", ubl_sets))
    return files


def _check(files: EInvoiceFiles, result: Result) -> None:
    files.not_run.update(result.not_run)
    files.failures.extend(f"{result.name}: {finding}" for finding in result.errors)


# --------------------------------------------------------------------------------------------
# check-einvoice


def factur_x_xml(data: bytes, name: str) -> tuple[bytes, list[Finding]]:
    """The ``factur-x.xml`` of a Factur-X PDF, and what its PDF/A-3 markers lack (the attached
    file in /AF with an AFRelationship, XMP part 3 and the Factur-X properties: marker
    checks, not a full PDF/A validation)."""
    import io

    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        attached = reader.attachments
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise EInvoiceFileError(f"it is not a readable PDF ({exc})") from exc
    found = [n for n in attached if n.lower() in ("factur-x.xml", "zugferd-invoice.xml",
                                                  "xrechnung.xml")]
    if not found:
        raise EInvoiceFileError("it is a PDF without an attached factur-x.xml, so not a "
                                "Factur-X invoice")
    xml = attached[found[0]][0]
    problems: list[Finding] = []

    def lack(rule: str, message: str) -> None:
        problems.append(Finding(rule, "error", "factur-x-pdf", name, message))

    root: Any = reader.trailer["/Root"]
    relationships = []
    for ref in root.get("/AF", []) or []:
        spec: Any = ref.get_object()
        relationships.append(str(spec.get("/AFRelationship", "")))
    if not any(r in ("/Data", "/Alternative", "/Source") for r in relationships):
        lack("FX-PDF-AF", "the attached XML is not listed in /AF with an AFRelationship of "
                          "Data, Alternative or Source")
    metadata = root.get("/Metadata")
    xmp = metadata.get_object().get_data().decode("utf-8", "replace") if metadata else ""
    if 'pdfaid:part="3"' not in xmp and "<pdfaid:part>3<" not in xmp:
        lack("FX-PDF-PDFA3", "the XMP metadata does not declare PDF/A-3 (pdfaid:part 3)")
    for prop in ("DocumentFileName", "ConformanceLevel"):
        if f"fx:{prop}" not in xmp:
            lack("FX-PDF-XMP", f"the XMP metadata lacks the Factur-X property fx:{prop}")
    return xml, problems


def check_paths(paths: list[Path], validator: Validator,
                rule_sets: list[str] | None = None) -> list[Result]:
    """Validate Factur-X PDFs, CII and UBL files; one result per file (a file that cannot be
    read is a result with one finding saying why)."""
    results = []
    for path in paths:
        name = str(path)
        try:
            if path.stat().st_size > MAX_EINVOICE_BYTES:
                raise EInvoiceFileError("it is larger than 20 MB; no e-invoice is that large")
            data = path.read_bytes()
            pdf = data[:5] == b"%PDF-"
            extra: list[Finding] = []
            if pdf:
                data, extra = factur_x_xml(data, name)
            result = validator.validate(data, name, rule_sets, factur_x=pdf)
            result.findings[:0] = extra
        except (OSError, EInvoiceFileError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            result = Result(name, "")
            result.findings.append(Finding("FILE", "fatal", "-", name,
                                           f"{path.name} cannot be checked: {reason}"))
        results.append(result)
    return results


def check_einvoices(paths: list[Path], rules_dir: Path | None = None, rule_sets: str = "auto",
                    workspace: Path | None = None, config_path: Path | None = None,
                    ) -> list[Result]:
    """``progbill check-einvoice``: the rules folder is ``rules_dir``, else the workspace's
    ``einvoice.rules_dir`` (when there is a workspace), else none (the CIUS rule sets are then
    reported as not run)."""
    from progbill.einvoice.validate import RULE_SETS, shared_validator
    from progbill.problems import ConfigError

    if rules_dir is None and workspace is not None:
        from progbill.workspace import Workspace

        ws = Workspace(workspace)
        if config_path is not None or (ws.root / "progbill.toml").is_file():
            config = ws.load_config(config_path)
            if config.einvoice.rules_dir:
                rules_dir = config.resolve(config.einvoice.rules_dir)
    chosen: list[str] | None = None
    if rule_sets != "auto":
        chosen = [r.strip() for r in rule_sets.split(",") if r.strip()]
        unknown = [r for r in chosen if r not in RULE_SETS]
        if unknown:
            raise ConfigError(f"--rules: {', '.join(unknown)} is not a rule set; choose from "
                              f"auto, {', '.join(RULE_SETS)}")
    return check_paths(paths, shared_validator(rules_dir), chosen)


def describe(results: list[Result]) -> str:
    """What ``check-einvoice`` prints: per file, pass or fail, the rule sets run and not run,
    then each finding with its rule id, message and location."""
    out = []
    for result in results:
        verdict = "passes" if result.ok else f"FAILS ({len(result.errors)} failed rules)"
        out.append(f"{result.name}: {verdict}")
        if result.ran:
            out.append(f"  checked with: {', '.join(result.ran)}")
        for rule_set, why in result.not_run.items():
            out.append(f"  not run: {rule_set}: {why}")
        for finding in result.findings:
            out.append(f"  {finding}")
    return "\n".join(out)
