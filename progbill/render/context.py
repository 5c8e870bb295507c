"""The template context: everything a document template may use, already formatted.

The context is a stable, documented contract (README "Your own templates"). Every value is a
string, a boolean, an int, or a list/dict of those; amounts are formatted for the document's
locale and currency. A credit note's period amounts are printed as positive credits.

Nothing here reads a file except the seller's logo, which becomes a ``data:`` URL so the
renderer can refuse every other URL.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from progbill.render.formatting import Formatter

_LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".svg": "image/svg+xml", ".gif": "image/gif", ".webp": "image/webp"}
MAX_LOGO_BYTES = 2 * 1024 * 1024


def logo_data_url(path: Path | None) -> str:
    """The logo as a ``data:`` URL, or '' when there is none or it is not a small image."""
    if path is None or not path.is_file():
        return ""
    kind = _LOGO_TYPES.get(path.suffix.lower())
    if kind is None or path.stat().st_size > MAX_LOGO_BYTES:
        return ""
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _lines_of(text: str) -> list[str]:
    return [line.strip() for line in str(text or "").replace("\\n", "\n").splitlines()
            if line.strip()]


def build_context(
    doc: dict[str, Any],
    lines: pd.DataFrame,
    taxes: pd.DataFrame,
    *,
    draft: bool = False,
) -> dict[str, Any]:
    """The context of one document.

    ``doc`` is a row of the store's ``documents`` table (or a draft shaped like one), ``lines``
    its ``document_lines`` (every line of the schedule) and ``taxes`` its ``document_taxes``.
    """
    seller = json.loads(doc["seller_json"])
    render = json.loads(doc["render_json"])
    fmt = Formatter(render.get("locale", "en_US"), doc["currency"])
    credit = doc["type"] == "Credit Note"
    sign = -1 if credit else 1

    def period_amount(value: int) -> str:
        return fmt.number(sign * int(value))

    rows = []
    for ln in lines.itertuples(index=False):
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
        })

    def total(column: str, period: bool = False) -> str:
        value = int(lines[column].astype("int64").sum()) if len(lines) else 0
        return period_amount(value) if period else fmt.number(value)

    totals = {
        "scheduled_value": total("scheduled_value"),
        "from_previous": total("from_previous"),
        "this_period": total("this_period", period=True),
        "stored_materials": total("stored_materials"),
        "total_to_date": total("total_to_date"),
        "percent": fmt.percent(Decimal(int(doc["completed_stored_to_date"])) * 100
                               / int(doc["contract_to_date"])) if int(doc["contract_to_date"])
        else "",
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
        {"line": "3", "label": "Contract sum to date (1 + 2)",
         "amount": m(doc["contract_to_date"])},
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
    tax_rows = [
        {"label": str(t.label), "rate": fmt.rate(Decimal(str(t.rate))),
         "base": period_amount(int(t.base)), "amount": period_amount(int(t.amount))}
        for t in taxes.itertuples(index=False)
    ]
    title = "Credit Note" if credit else "Invoice"
    return {
        "document": {
            "number": str(doc["number"]),
            "type": str(doc["type"]),
            "title": title,
            "is_credit_note": credit,
            "is_draft": draft,
            "period": fmt.month(str(doc["period"])),
            "period_code": str(doc["period"]),
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
            "source_file": str(doc["source_file"]),
        },
        "seller": {
            "name": seller.get("name", ""),
            "address_lines": _lines_of(seller.get("address", "")),
            "tax_id": seller.get("tax_id", ""),
            "state": seller.get("state", ""),
            "email": seller.get("email", ""),
            "phone": seller.get("phone", ""),
            "logo_url": seller.get("logo_url", ""),
            "bank_details_lines": _lines_of(seller.get("bank_details", "")),
        },
        "client": {
            "name": str(doc["client"]),
            "address_lines": _lines_of(str(doc["client_address"] or "")),
            "email": str(doc["client_email"] or ""),
            "tax_id": str(doc["client_tax_id"] or ""),
            "place_of_supply": str(doc["place_of_supply"] or ""),
        },
        "project": {"id": str(doc["project_id"]), "name": str(doc["project_name"] or "")},
        "lines": rows,
        "totals": totals,
        "summary": summary,
        "taxes": tax_rows,
        "amounts": {
            "completed_this_period": period_amount(int(doc["completed_this_period"])),
            "retainage_this_period": period_amount(int(doc["retainage_this_period"])),
            "subtotal": period_amount(int(doc["completed_this_period"])
                                      - int(doc["retainage_this_period"])),
            "tax": period_amount(int(doc["tax"])),
            "amount_due": fmt.money(sign * int(doc["amount_due"])),
        },
        "page_size": render.get("page_size", "A4"),
    }
