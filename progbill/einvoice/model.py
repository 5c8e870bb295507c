"""One issued document as an EN 16931 invoice: pure, no XML and no file.

:func:`build` turns a stored document (its row, lines and taxes, as the PDF is rendered from
them) into an :class:`EInvoice` whose amounts are this document's, never the cumulative ones:

* a line's net amount (BT-131) is what this document bills for it (G703 column B: work this
  period plus the change in stored materials); a quantity x rate line whose amount is exactly
  this bill's quantity x its rate carries that quantity and the rate; every other line carries
  quantity 1 (or -1 when its progress went back: BR-27 keeps prices positive) and its amount;
* retainage withheld this period is a document-level allowance (BG-20), following XRechnung test
  case 04.03a (a construction invoice with a "Gewährleistungseinbehalt"): in VAT category E, 0%,
  when tax is charged on the work before retainage (``tax_base = "gross"``), so it lowers the
  amount due (BT-115) without lowering the VAT base; in the lines' own category and rate when
  tax is charged after retainage (``net_of_retainage``), so it lowers both, as the PDF does;
* retainage released is a line of its own ("Retainage released"), taxed now only under
  ``net_of_retainage``;
* a credit note states every amount positive (its lines' signs turned), as EN 16931 asks.

The result is checked against the document before anything is written: the amount due (BT-115)
and the VAT total (BT-110) must equal the PDF's to the cent, else :class:`EInvoiceError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from progbill.columns import is_missing, rows_of
from progbill.money import from_minor, percent_of

CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O")
EXEMPTION = {  # BT-120, and the VATEX code (BT-121) where one fits
    "E": ("Exempt from VAT", ""),
    "AE": ("Reverse charge", "VATEX-EU-AE"),
    "K": ("Intra-community supply", "VATEX-EU-IC"),
    "G": ("Export outside the EU", "VATEX-EU-G"),
    "O": ("Not subject to VAT", "VATEX-EU-O"),
}
RETENTION_EXEMPTION = ("Retainage withheld: not yet due; VAT is charged with the work it is "
                       "withheld from")
RELEASE_EXEMPTION = ("Retainage released: VAT was charged with the work it was withheld from")
SPECIFICATION = {
    "en16931": "urn:cen.eu:en16931:2017",
    "peppol": "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
    "xrechnung": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
}
PEPPOL_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
TYPE_CODES = {"standard": ("380", "381"), "construction": ("875", "381")}

# UN/ECE Recommendation 20 codes for the units workbooks write most.
UNIT_CODES = {
    "": "C62", "no": "C62", "nos": "C62", "nr": "C62", "ea": "C62", "each": "C62",
    "pcs": "C62", "pc": "C62", "unit": "C62", "units": "C62", "item": "C62", "set": "SET",
    "ls": "LS", "lump sum": "LS", "lumpsum": "LS", "job": "E48",
    "m": "MTR", "lm": "MTR", "rm": "MTR", "rmt": "MTR", "metre": "MTR", "meter": "MTR",
    "m2": "MTK", "m²": "MTK", "sqm": "MTK", "sq m": "MTK", "sq.m": "MTK", "sq.m.": "MTK",
    "m3": "MTQ", "m³": "MTQ", "cum": "MTQ", "cu m": "MTQ", "cu.m": "MTQ", "cu.m.": "MTQ",
    "km": "KMT", "mm": "MMT", "cm": "CMT", "ft": "FOT", "lf": "FOT", "sf": "FTK",
    "sq ft": "FTK", "sqft": "FTK", "cy": "YDQ", "cf": "FTQ", "yd": "YRD",
    "kg": "KGM", "t": "TNE", "mt": "TNE", "tonne": "TNE", "ton": "TNE", "tons": "TNE",
    "l": "LTR", "ltr": "LTR", "litre": "LTR", "liter": "LTR", "gal": "GLL",
    "h": "HUR", "hr": "HUR", "hrs": "HUR", "hour": "HUR", "hours": "HUR",
    "day": "DAY", "days": "DAY", "week": "WEE", "month": "MON", "months": "MON",
}


class EInvoiceError(ValueError):
    """Why a document cannot be written as an e-invoice, in words a finance person can act on."""


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: tuple[str, ...]
    city: str
    postal_code: str
    country: str
    vat_id: str
    endpoint_scheme: str
    endpoint_id: str
    contact_name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Line:
    line_id: str
    name: str
    note: str
    quantity: Decimal
    unit_code: str
    price: Decimal  # net price, never negative (BR-27)
    net: int  # minor units, this document's
    category: str
    rate: Decimal


@dataclass(frozen=True)
class Allowance:
    charge: bool
    amount: int
    reason: str
    category: str
    rate: Decimal


@dataclass(frozen=True)
class VatBreakdown:
    category: str
    rate: Decimal
    base: int
    amount: int
    exemption_reason: str
    exemption_code: str


@dataclass
class EInvoice:
    number: str
    type_code: str
    is_credit_note: bool
    issue_date: date
    due_date: date
    currency: str
    specification: str  # BT-24 of the UBL file (a Factur-X CII always says EN 16931)
    process: str  # BT-23 ('' when none)
    buyer_reference: str  # BT-10
    order_reference: str  # BT-13
    project_id: str  # BT-11
    project_name: str
    period_start: date
    period_end: date
    preceding: list[tuple[str, date]]  # BG-3, oldest first
    notes: list[str]
    seller: Party
    buyer: Party
    iban: str
    bic: str
    payment_terms: str
    lines: list[Line]
    allowances: list[Allowance]
    vat: list[VatBreakdown]
    line_total: int = 0
    allowance_total: int = 0
    charge_total: int = 0
    tax_basis: int = 0
    tax_total: int = 0
    grand_total: int = 0
    due: int = 0

    def money(self, minor: int) -> str:
        """An amount as the XML writes it: a plain decimal with the currency's decimals."""
        return f"{from_minor(minor, self.currency):f}"


def unit_code(unit: str) -> str:
    text = " ".join(str(unit or "").strip().casefold().split())
    if text in UNIT_CODES:
        return UNIT_CODES[text]
    if len(text) == 3 and text.isalnum() and text.upper() == str(unit).strip():
        return text.upper()  # already a Rec 20 code such as MTK
    return "C62"


def _decimal(value: object) -> Decimal | None:
    if is_missing(value):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _plain(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text if "." not in text else text.rstrip("0").rstrip(".")


def derive_category(given: str, rate: Decimal, reverse_charge: bool) -> str:
    """BT-151/BT-118: the project's ``tax_category``, else S above 0%, AE for reverse charge,
    Z at 0%. A category that contradicts the rate is refused."""
    category = given.strip().upper()
    if not category:
        if reverse_charge:
            return "AE"
        return "S" if rate > 0 else "Z"
    if category not in CATEGORIES:
        raise EInvoiceError(f"tax_category {given!r} is not one of {', '.join(CATEGORIES)}")
    if category == "S" and (rate <= 0 or reverse_charge):
        raise EInvoiceError(
            "tax_category S (standard rate) needs a tax rate above 0 and no reverse charge; "
            "correct tax_category or the tax rate")
    if category != "S" and rate > 0 and not reverse_charge:
        raise EInvoiceError(
            f"tax_category {category} carries no VAT, but the project's tax rate is {rate}%; "
            "set the tax rate to 0 or the category to S")
    return category


def _line_note(ln: Any, currency: str) -> str:
    scheduled = int(ln.scheduled_value)
    done = int(ln.total_to_date)
    share = f" ({_plain(Decimal(done) * 100 / scheduled)[:6]}%)" if scheduled else ""
    m = lambda minor: f"{from_minor(int(minor), currency):f}"  # noqa: E731
    note = (f"Scheduled value {m(scheduled)}; completed and stored to date {m(done)}{share}; "
            f"previously billed {m(ln.from_previous)}; this document {m(ln.billed)}")
    if int(ln.stored_materials):
        note += f"; stored materials to date {m(ln.stored_materials)}"
    return note


def _quantity_of(amount: Decimal, rate: Decimal) -> Decimal | None:
    """This bill's quantity of a quantity x rate line: the amount over the rate, when that is a
    quantity of at most 6 decimals whose product with the rate is the amount exactly (else the
    line is written as quantity 1 and its amount: a rounded product cannot be restated)."""
    quantity = amount / rate
    exact = quantity.quantize(Decimal("0.000001"))
    if exact * rate != amount:
        return None
    return exact.normalize() if exact != 0 else None


def build(doc: dict[str, Any], lines: pd.DataFrame, taxes: pd.DataFrame) -> EInvoice:
    """The EN 16931 invoice of one stored document (see the module's docstring)."""
    seller_conf = json.loads(str(doc["seller_json"]))
    info = json.loads(str(doc.get("einvoice_json") or "{}"))
    currency = str(doc["currency"])
    credit = doc["type"] == "Credit Note"
    sign = -1 if credit else 1
    rate = Decimal(str(doc["tax_rate"]))
    reverse = bool(doc["reverse_charge"])
    category = derive_category(str(info.get("tax_category", "")), rate, reverse)
    line_rate = rate if category == "S" else Decimal(0)
    labels = {str(t) for t in taxes["label"]} if len(taxes) else set()
    if len(taxes) > 1 or labels & {"CGST", "SGST", "IGST"}:
        raise EInvoiceError(
            "its tax is India's GST (CGST/SGST/IGST), which EN 16931 e-invoices cannot carry; "
            "remove factur-x and ubl from einvoice.formats for GST documents")
    gross_base = info.get("tax_base", "gross") == "gross"

    xml_lines: list[Line] = []
    for ln in rows_of(lines):
        billed = int(ln.billed)
        if not bool(ln.on_document) or billed == 0:
            continue
        net = sign * billed
        quantity, price, unit = Decimal(1 if net > 0 else -1), from_minor(abs(net), currency), \
            "C62"
        rate_value = _decimal(getattr(ln, "rate", None))
        if rate_value is not None and rate_value > 0 and int(ln.billed) == int(ln.this_period):
            this_bill = _quantity_of(from_minor(billed, currency), rate_value)
            if this_bill is not None:
                quantity = sign * this_bill
                price = rate_value
                unit = unit_code(str(getattr(ln, "unit", "") or ""))
        description = str(ln.description or "").strip() or f"Line {ln.line_id}"
        xml_lines.append(Line(str(ln.line_id), description, _line_note(ln, currency), quantity,
                              unit, price, net, category, line_rate))

    retained = sign * int(doc["retainage_this_period"])
    allowances: list[Allowance] = []
    exemption_for: dict[str, tuple[str, str]] = {}
    if retained > 0:
        if category == "S" and gross_base:
            allowances.append(Allowance(False, retained, "Retainage withheld", "E", Decimal(0)))
            exemption_for["E"] = (RETENTION_EXEMPTION, "")
        else:
            allowances.append(Allowance(False, retained, "Retainage withheld", category,
                                        line_rate))
    elif retained < 0:
        release_category = "E" if category == "S" and gross_base else category
        release_rate = line_rate if release_category == category else Decimal(0)
        if release_category == "E" and category != "E":
            exemption_for["E"] = (RELEASE_EXEMPTION, "")
        xml_lines.append(Line("RETAINAGE", "Retainage released",
                              "Retainage withheld on earlier documents, released now",
                              Decimal(1), "C62", from_minor(-retained, currency), -retained,
                              release_category, release_rate))
    if not xml_lines:
        raise EInvoiceError("it has no line with an amount this period (EN 16931 needs one)")

    vat: list[VatBreakdown] = []
    for cat, cat_rate in dict.fromkeys(
            [(x.category, x.rate) for x in xml_lines]
            + [(a.category, a.rate) for a in allowances]):
        base = sum(x.net for x in xml_lines if (x.category, x.rate) == (cat, cat_rate)) \
            - sum(a.amount for a in allowances
                  if (a.category, a.rate) == (cat, cat_rate) and not a.charge) \
            + sum(a.amount for a in allowances if (a.category, a.rate) == (cat, cat_rate)
                  and a.charge)
        amount = percent_of(base, cat_rate) if cat == "S" else 0
        reason, code = exemption_for.get(cat, EXEMPTION.get(cat, ("", "")))
        vat.append(VatBreakdown(cat, cat_rate, base, amount, reason if cat != "Z" else "",
                                code if cat != "Z" else ""))

    einvoice = _assemble(doc, info, seller_conf, credit, xml_lines, allowances, vat)
    expected_tax = sign * int(doc["tax"])
    if einvoice.tax_total != expected_tax:
        raise EInvoiceError(
            f"its VAT in the e-invoice would be {einvoice.money(einvoice.tax_total)}, but the "
            f"document's tax is {einvoice.money(expected_tax)}; nothing was written")
    expected_due = sign * int(doc["amount_due"])
    if einvoice.due != expected_due:
        raise EInvoiceError(
            f"its amount due in the e-invoice would be {einvoice.money(einvoice.due)}, but the "
            f"document's is {einvoice.money(expected_due)}; nothing was written")
    return einvoice


def _party(conf: dict[str, Any], vat_id: str, endpoint: str, *, contact: bool) -> Party:
    scheme, _, ident = endpoint.partition(":")
    lines = tuple(x.strip() for x in str(conf.get("address", "")).replace("\\n", "\n")
                  .splitlines() if x.strip())
    return Party(
        name=str(conf.get("name", "")), address_lines=lines, city=str(conf.get("city", "")),
        postal_code=str(conf.get("postal_code", "")),
        country=str(conf.get("country", "")).strip().upper(), vat_id=vat_id,
        endpoint_scheme=scheme.strip() if ident else "", endpoint_id=ident.strip(),
        contact_name=str(conf.get("contact", "") or (conf.get("name", "") if contact else "")),
        phone=str(conf.get("phone", "")), email=str(conf.get("email", "")))


def _assemble(doc: dict[str, Any], info: dict[str, Any], seller_conf: dict[str, Any],
              credit: bool, lines: list[Line], allowances: list[Allowance],
              vat: list[VatBreakdown]) -> EInvoice:
    from progbill.render.context import REVERSE_CHARGE, _month_end

    cius = str(info.get("cius", "en16931"))
    spec = SPECIFICATION[cius]
    codes = TYPE_CODES[str(info.get("type_codes", "standard"))]
    seller_endpoint = (f"{seller_conf.get('endpoint_scheme', '')}:"
                       f"{seller_conf.get('endpoint_id', '')}"
                       if seller_conf.get("endpoint_id") else "")
    seller = _party(seller_conf, str(seller_conf.get("tax_id", "")), seller_endpoint,
                    contact=True)
    buyer_conf = {"name": doc["client"], "address": doc["client_address"] or "",
                  "city": info.get("client_city", ""),
                  "postal_code": info.get("client_postal_code", ""),
                  "country": info.get("client_country", ""),
                  "email": doc.get("client_email") or ""}
    buyer = _party(buyer_conf, str(doc["client_tax_id"] or ""),
                   str(info.get("client_endpoint", "")), contact=False)
    categories = {v.category for v in vat}
    if categories == {"O"}:  # BR-O-02..04: no VAT identifiers on a supply outside VAT
        seller = Party(**{**seller.__dict__, "vat_id": ""})
        buyer = Party(**{**buyer.__dict__, "vat_id": ""})
    year, month = (int(x) for x in str(doc["period"]).split("-"))
    start = date(year, month, 1)
    notes = []  # one note (BT-22): Peppol allows no more outside Germany (PEPPOL-EN16931-R002)
    if bool(doc["reverse_charge"]):
        notes.append(REVERSE_CHARGE["vat"])
    notes.append(f"Progress billing for {doc['project_id']}"
                 f"{' ' + str(doc['project_name']) if doc['project_name'] else ''}, period "
                 f"{doc['period']}: this document bills the work of the period, not the "
                 "contract to date.")
    preceding = [(str(n), date.fromisoformat(str(d))) for n, d in info.get("preceding", [])]
    einvoice = EInvoice(
        number=str(doc["number"]), type_code=codes[1] if credit else codes[0],
        is_credit_note=credit, issue_date=date.fromisoformat(str(doc["invoice_date"])),
        due_date=date.fromisoformat(str(doc["due_date"])), currency=str(doc["currency"]),
        specification=spec,
        process=PEPPOL_PROCESS if cius in ("peppol", "xrechnung") else "",
        buyer_reference=str(info.get("buyer_reference", "")),
        order_reference=str(doc["po_number"] or ""), project_id=str(doc["project_id"]),
        project_name=str(doc["project_name"] or doc["project_id"]), period_start=start,
        period_end=_month_end(start), preceding=preceding, notes=[" ".join(notes)], seller=seller,
        buyer=buyer, iban=str(seller_conf.get("iban", "")).replace(" ", ""),
        bic=str(seller_conf.get("bic", "")).strip(),
        payment_terms=f"Payment within {int(doc['payment_terms_days'])} days",
        lines=lines, allowances=allowances, vat=vat)
    einvoice.line_total = sum(x.net for x in lines)
    einvoice.allowance_total = sum(a.amount for a in allowances if not a.charge)
    einvoice.charge_total = sum(a.amount for a in allowances if a.charge)
    einvoice.tax_basis = einvoice.line_total - einvoice.allowance_total + einvoice.charge_total
    einvoice.tax_total = sum(v.amount for v in vat)
    einvoice.grand_total = einvoice.tax_basis + einvoice.tax_total
    einvoice.due = einvoice.grand_total
    return einvoice
