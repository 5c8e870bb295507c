"""The template context: everything a document template may use, already formatted.

The context is a stable, documented contract (README "Your own templates", where every variable
is listed with its type). Every value is a string, a boolean, an int, or a list/dict of those;
amounts are formatted for the document's locale and currency. A credit note's period amounts are
printed as positive credits.

The tax regime decides which legal fields print:

* ``gst`` (India, CGST rule 46): "Tax Invoice", seller and client GSTIN, SAC/HSN, the seller's
  state and the place of supply, CGST + SGST or IGST, the amount in words, a signature block;
* ``vat`` (EU VAT Directive art. 226, UK VAT invoices): VAT numbers of both parties, the period
  of supply and the tax point, the taxable amount and VAT per rate, the reverse-charge wording;
* ``standard``: everything else (a US contractor's pay application, for one).
"""

from __future__ import annotations

import base64
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from progbill.columns import is_missing, rows_of
from progbill.render.formatting import Formatter

_LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".svg": "image/svg+xml", ".gif": "image/gif", ".webp": "image/webp"}
MAX_LOGO_BYTES = 2 * 1024 * 1024
GST_LABELS = {"CGST", "SGST", "IGST", "GST"}

TAX_ID_LABELS = {"gst": "GSTIN", "vat": "VAT number", "standard": "Tax ID"}
REVERSE_CHARGE = {
    "vat": "Reverse charge: the customer accounts for the VAT on this supply "
           "(Article 196, Council Directive 2006/112/EC).",
    "gst": "Tax payable on reverse charge basis: yes. The recipient pays the GST on this supply.",
    "standard": "Reverse charge: the customer accounts for the tax on this supply.",
}


MAX_LOGO_PIXELS = 20_000_000


class LogoError(ValueError):
    """Why the seller's logo cannot be printed, in words."""


def read_logo(path: Path, root: Path, max_pixels: int = MAX_LOGO_PIXELS) -> tuple[str, bytes]:
    """The logo's media type and bytes, read from one open, or :class:`LogoError`.

    The path must resolve inside ``root`` (the workspace); the file must be a PNG, JPEG, GIF,
    WebP or SVG image of at most 2 MB; a raster image's pixel dimensions are read from its
    header, before any decoding, and may not exceed ``max_pixels``; an SVG may not declare
    XML entities."""
    kind = _LOGO_TYPES.get(path.suffix.lower())
    if kind is None:
        raise LogoError("it is not a PNG, JPEG, GIF, WebP or SVG file")
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except OSError:
        inside = False
    if not inside:
        raise LogoError("it is outside the workspace; put the image in the workspace folder")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_LOGO_BYTES + 1)
    except OSError as exc:
        raise LogoError(f"it cannot be read ({exc.strerror})") from exc
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError("it is larger than 2 MB; save a smaller image")
    if kind == "image/svg+xml":
        from defusedxml import ElementTree
        from defusedxml.common import DefusedXmlException

        try:
            ElementTree.fromstring(data)
        except (DefusedXmlException, ElementTree.ParseError) as exc:
            raise LogoError("it is not a plain SVG image (it declares XML entities or is "
                            "damaged)") from exc
        return kind, data
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header, decodes nothing
            width, height = image.size
            found = Image.MIME.get(image.format or "", "")
    except Image.DecompressionBombError as exc:
        raise LogoError(f"it has far more pixels than output.max_logo_pixels ({max_pixels:,});"
                        " save it smaller") from exc
    except (OSError, ValueError) as exc:
        raise LogoError("it is not a readable image") from exc
    if width * height > max_pixels:
        raise LogoError(f"it is {width:,} x {height:,} pixels, more than "
                        f"output.max_logo_pixels ({max_pixels:,}); save it smaller")
    return found or kind, data


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in str(text or "").replace("\\n", "\n").splitlines()
            if line.strip()]


def with_town(lines: list[str], postal_code: str, city: str) -> list[str]:
    """An address's lines with the post code and town given apart (e-invoice settings) added
    as a last line, unless the address already says them."""
    town = " ".join(x for x in (str(postal_code or "").strip(), str(city or "").strip()) if x)
    if not town or any(town.casefold() in line.casefold() for line in lines):
        return lines
    return [*lines, town]


def tax_regime(tax_label: str, tax_labels: set[str]) -> str:
    if tax_labels & GST_LABELS or tax_label == "GST":
        return "gst"
    if "VAT" in tax_labels or tax_label == "VAT":
        return "vat"
    return "standard"


def build_context(
    doc: dict[str, Any],
    lines: pd.DataFrame,
    taxes: pd.DataFrame,
    *,
    draft: bool = False,
    logo_url: str = "",
) -> dict[str, Any]:
    """The context of one document.

    ``doc`` is a row of the store's ``documents`` table (or a draft shaped like one), ``lines``
    its ``document_lines`` (every line of the schedule) and ``taxes`` its ``document_taxes``.
    """
    seller = json.loads(doc["seller_json"])
    render = json.loads(doc["render_json"])
    buyer = json.loads(str(doc.get("einvoice_json") or "{}") or "{}")
    fmt = Formatter(render.get("locale", "en_US"), doc["currency"])
    credit = doc["type"] == "Credit Note"
    sign = -1 if credit else 1
    regime = tax_regime(str(doc.get("tax_label") or "Tax"), set(taxes["label"]))

    def period_amount(value: int) -> str:
        return fmt.number(sign * int(value))

    rows = []
    for ln in rows_of(lines):
        scheduled = int(ln.scheduled_value)
        rows.append({
            "position": int(ln.position),
            "line_id": str(ln.line_id),
            "description": str(ln.description),
            "change_order": str(ln.change_order or ""),
            "is_change_order": bool(str(ln.change_order or "").strip()),
            "on_document": bool(ln.on_document),
            "scheduled_value": fmt.number(scheduled),
            "from_previous": fmt.number(int(ln.from_previous)),
            "this_period": period_amount(int(ln.this_period)),
            "stored_materials": fmt.number(int(ln.stored_materials)),
            "total_to_date": fmt.number(int(ln.total_to_date)),
            "percent": fmt.percent(Decimal(int(ln.total_to_date)) * 100 / scheduled)
            if scheduled else "",
            "balance_to_finish": fmt.number(int(ln.balance_to_finish)),
            "retainage_to_date": fmt.number(int(ln.retainage_to_date)),
            "retainage_this_period": period_amount(int(ln.retainage_this_period)),
            "billed": period_amount(int(ln.billed)),
            # a quantity x rate line's figures (empty on other lines)
            "quantity": fmt.quantity(getattr(ln, "quantity", None)),
            "unit": "" if is_missing(getattr(ln, "unit", "")) else str(ln.unit),
            "rate": fmt.quantity(getattr(ln, "rate", None)),
            "quantity_to_date": fmt.quantity(getattr(ln, "quantity_to_date", None)),
        })
    has_quantities = any(row["rate"] for row in rows)

    def total(column: str, period: bool = False) -> str:
        value = int(lines[column].astype("int64").sum()) if len(lines) else 0
        return period_amount(value) if period else fmt.number(value)

    contract = int(doc["contract_to_date"])
    totals = {
        "scheduled_value": total("scheduled_value"),
        "from_previous": total("from_previous"),
        "this_period": total("this_period", period=True),
        "stored_materials": total("stored_materials"),
        "total_to_date": total("total_to_date"),
        "percent": fmt.percent(Decimal(int(doc["completed_stored_to_date"])) * 100 / contract)
        if contract else "",
        "balance_to_finish": total("balance_to_finish"),
        "retainage_to_date": total("retainage_to_date"),
        "retainage_this_period": total("retainage_this_period", period=True),
        "billed": total("billed", period=True),
    }

    m = fmt.number
    current = int(doc["earned_less_retainage"]) - int(doc["previous_certificates"])
    summary = [
        {"line": "1", "label": "Original contract sum", "amount": m(doc["original_contract"])},
        {"line": "2", "label": "Net change by change orders", "amount": m(doc["change_orders"])},
        {"line": "3", "label": "Contract sum to date (1 + 2)", "amount": m(contract)},
        {"line": "4", "label": "Total completed and stored to date",
         "amount": m(doc["completed_stored_to_date"])},
        {"line": "5a", "label": "Retainage on completed work",
         "amount": m(doc["retainage_work"])},
        {"line": "5b", "label": "Retainage on stored materials",
         "amount": m(doc["retainage_stored"])},
        {"line": "5", "label": "Total retainage (5a + 5b)", "amount": m(doc["retainage_to_date"])},
        {"line": "6", "label": "Total earned less retainage (4 - 5)",
         "amount": m(doc["earned_less_retainage"])},
        {"line": "7", "label": "Less previous documents (line 6 of prior documents)",
         "amount": m(doc["previous_certificates"])},
        {"line": "8", "label": "Current credit (7 - 6)" if credit else
         "Current payment due before tax (6 - 7)", "amount": m(sign * current)},
        {"line": "9", "label": "Balance to finish, including retainage (3 - 6)",
         "amount": m(doc["balance_to_finish_incl_retainage"])},
    ]
    # One taxable value per document, and the tax on it: the document's tax base, which is
    # the work before retainage (tax_base = "gross") or after it ("net_of_retainage").
    gross = int(doc["completed_this_period"])
    net = gross - int(doc["retainage_this_period"])
    taxable = int(doc["tax_base"])
    taxable_note = ""
    if gross != net and taxable == gross:
        taxable_note = "before retainage"
    elif gross != net and taxable == net:
        taxable_note = "after retainage"
    tax_note = ""
    if taxable == 0 and net != 0 and Decimal(str(doc["tax_rate"])) > 0:
        tax_note = ("No tax on the retainage released: it was taxed with the work it was "
                    "withheld from.")
    tax_rows = [
        {"label": str(t.label), "rate": fmt.rate(Decimal(str(t.rate))),
         "base": period_amount(int(t.base)), "amount": period_amount(int(t.amount)),
         "other_base": int(t.base) != taxable}
        for t in rows_of(taxes)
    ]
    words_rule = render.get("amount_in_words", "auto")
    words = ""
    if words_rule == "always" or (words_rule == "auto" and regime == "gst"):
        words = fmt.words(sign * int(doc["amount_due"]))
    period = str(doc["period"])
    year, month = (int(x) for x in period.split("-"))
    first_day = date(year, month, 1)
    last_day = _month_end(first_day)
    if credit:
        title = "Credit Note"
    elif regime == "gst":
        title = "Tax Invoice"
    else:
        title = "Invoice"
    notes = []
    if bool(doc["reverse_charge"]):
        notes.append(REVERSE_CHARGE[regime])
    return {
        "document": {
            "number": str(doc["number"]),
            "type": str(doc["type"]),
            "title": title,
            "is_credit_note": credit,
            "is_draft": draft,
            "regime": regime,
            "period": fmt.month(period),
            "period_code": period,
            "supply_from": fmt.date(first_day),
            "supply_to": fmt.date(last_day),
            "invoice_date": fmt.date(doc["invoice_date"]),
            "invoice_date_iso": str(doc["invoice_date"]),
            "due_date": fmt.date(doc["due_date"]),
            "payment_terms_days": int(doc["payment_terms_days"]),
            "po_number": str(doc["po_number"] or ""),
            "currency": str(doc["currency"]),
            "corrects_number": str(doc["corrects_number"] or ""),
            "corrects_date": fmt.date(doc["corrects_date"]) if doc["corrects_date"] else "",
            "reverse_charge": bool(doc["reverse_charge"]),
            "tax_code": str(doc["tax_code"] or ""),
            "tax_id_label": TAX_ID_LABELS[regime],
            "notes": notes,
            "tax_note": tax_note,
            "source_file": str(doc["source_file"]),
        },
        "seller": {
            "name": seller.get("name", ""),
            "address_lines": with_town(lines_of(seller.get("address", "")),
                                       seller.get("postal_code", ""), seller.get("city", "")),
            "tax_id": seller.get("tax_id", ""),
            "state": seller.get("state", ""),
            "email": seller.get("email", ""),
            "phone": seller.get("phone", ""),
            "logo_url": logo_url,
            "bank_details_lines": lines_of(seller.get("bank_details", "")),
        },
        "client": {
            "name": str(doc["client"]),
            "address_lines": with_town(lines_of(str(doc["client_address"] or "")),
                                       buyer.get("client_postal_code", ""),
                                       buyer.get("client_city", "")),
            "email": str(doc["client_email"] or ""),
            "tax_id": str(doc["client_tax_id"] or ""),
            "place_of_supply": str(doc["place_of_supply"] or ""),
        },
        "project": {"id": str(doc["project_id"]), "name": str(doc["project_name"] or "")},
        "lines": rows,
        "has_quantities": has_quantities,
        "totals": totals,
        "summary": summary,
        "taxes": tax_rows,
        "amounts": {
            "completed_this_period": period_amount(int(doc["completed_this_period"])),
            "retainage_this_period": period_amount(int(doc["retainage_this_period"])),
            "subtotal": period_amount(int(doc["completed_this_period"])
                                      - int(doc["retainage_this_period"])),
            "taxable": period_amount(taxable),
            "taxable_note": taxable_note,
            "tax": period_amount(int(doc["tax"])),
            "amount_due": fmt.money(sign * int(doc["amount_due"])),
            "amount_due_words": words,
        },
        "page_size": render.get("page_size", "A4"),
    }


def _month_end(first_day: date) -> date:
    import calendar

    return first_day.replace(day=calendar.monthrange(first_day.year, first_day.month)[1])


def sample_context() -> dict[str, Any]:
    """A complete context (one line, one tax, a logo, every optional field filled) to check a
    template against before real documents are rendered with it."""
    doc: dict[str, Any] = {
        "number": "INV-2026-00001", "type": "Invoice", "period": "2026-11",
        "invoice_date": "2026-11-30", "due_date": "2026-12-30", "payment_terms_days": 30,
        "project_id": "P-1", "project_name": "Sample", "client": "Client",
        "client_address": "1 Road", "client_email": "a@b.example", "client_tax_id": "X",
        "po_number": "PO", "place_of_supply": "State", "tax_code": "998331", "currency": "USD",
        "completed_this_period": 100, "retainage_this_period": 10, "tax_base": 100, "tax": 18,
        "amount_due": 108, "original_contract": 1000, "change_orders": 0,
        "contract_to_date": 1000, "completed_stored_to_date": 100, "retainage_work": 10,
        "retainage_stored": 0, "retainage_to_date": 10, "earned_less_retainage": 90,
        "previous_certificates": 0, "balance_to_finish_incl_retainage": 910,
        "tax_label": "GST", "reverse_charge": 1, "corrects_number": "INV-2026-00000",
        "corrects_date": "2026-10-31", "source_file": "sample.xlsx",
        "seller_json": json.dumps({"name": "Seller", "address": "1 Street", "tax_id": "T",
                                   "state": "State", "email": "s@e.example", "phone": "1",
                                   "bank_details": "Bank"}),
        "render_json": json.dumps({"locale": "en_US", "page_size": "A4",
                                   "amount_in_words": "always"}),
    }
    line = {"position": 1, "line_id": "1", "description": "Work", "change_order": "CO-1",
            "on_document": True, "scheduled_value": 1000, "from_previous": 0,
            "this_period": 100, "stored_materials": 0, "total_to_date": 100,
            "balance_to_finish": 900, "retainage_to_date": 10, "retainage_this_period": 10,
            "billed": 100}
    taxes = pd.DataFrame([{"label": "CGST", "rate": "9", "base": 100, "amount": 9},
                          {"label": "SGST", "rate": "9", "base": 100, "amount": 9}])
    return build_context(doc, pd.DataFrame([line]), taxes, draft=True,
                         logo_url="data:image/svg+xml;base64,PHN2Zy8+")
