"""The double entry of each document and payment: pure functions, no file.

For a document (BILLING.md's amounts, signed so that a debit is positive)::

    Dr receivable            amount due
    Dr retainage receivable  retainage this period
    Cr revenue               work this period (the project's revenue_account, else accounts.revenue)
    Cr stored materials      the change in stored materials this period
    Cr tax, per tax line     its tax

A retainage release (retainage this period below zero) moves retainage receivable back to
receivable; a credit note's amounts are below zero, so its entry mirrors the invoice's. A
payment is Dr bank, Cr receivable. Every entry balances to the cent, in the document's currency
and, converted at the rate given, in the books' currency (a conversion difference goes to
``accounts.rounding``).

Nothing is guessed: :func:`check` lists every account mapping, customer code and exchange rate
the export needs and the configuration or the command line lacks, with the documents that need
each, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from progbill.config import AccountsSettings, TaxAccount
from progbill.money import exponent, from_minor
from progbill.problems import ConfigError

ROLES = ("receivable", "retainage_receivable", "revenue", "stored_materials", "tax", "bank",
         "rounding")


class ExportError(ConfigError):
    """What an export lacks, in words; nothing was written (exit 2)."""


@dataclass(frozen=True)
class Posting:
    entry: str  # the document's number, or the payment's reference
    date: date
    kind: str  # invoice | credit-note | receipt
    role: str  # one of ROLES
    account: str
    amount: int  # books' currency minor units, debit > 0, credit < 0
    document_amount: int  # the same in the document's currency
    currency: str  # the document's
    description: str
    customer: str  # the customer code (client_id, else the client's name)
    client: str
    project: str
    tax: TaxAccount | None = None

    @property
    def debit(self) -> int:
        return max(self.amount, 0)

    @property
    def credit(self) -> int:
        return max(-self.amount, 0)


@dataclass
class Document:
    """What the exports need of one issued document."""

    number: str
    kind: str  # invoice | credit-note
    issued: date
    due: date
    period: str
    project: str
    project_name: str
    client: str
    customer: str  # client_id, else the client's name
    client_id: str
    client_tax_id: str
    place_of_supply: str
    tax_code: str  # SAC/HSN
    po_number: str
    currency: str
    work: int
    stored: int
    retainage: int
    tax: int
    amount_due: int
    reverse_charge: bool
    revenue_account: str
    corrects: str
    taxes: list[tuple[str, Decimal, int, int]] = field(default_factory=list)  # label, rate,
    # base, amount


@dataclass
class Payment:
    reference: str
    received: date
    document: str
    amount: int
    currency: str
    customer: str
    client: str
    project: str
    method: str


def documents_of(docs: pd.DataFrame, taxes: pd.DataFrame, lines: pd.DataFrame,
                 details: dict[str, dict[str, Any]]) -> list[Document]:
    """Store rows as :class:`Document` s (``details``: each project's kept details, for its
    client_id and revenue_account)."""
    out = []
    on = lines[lines["on_document"].astype(int) == 1]
    # the change in stored materials this period: billed (work + stored) less work, per document
    stored_of = (on["billed"].astype("int64") - on["this_period"].astype("int64")).groupby(
        on["number"]).sum()
    taxes_of = {number: rows for number, rows in taxes.groupby("number")}
    no_taxes = taxes.iloc[0:0]
    for doc in docs.to_dict("records"):
        number = str(doc["number"])
        stored = int(stored_of.get(number, 0))
        project = details.get(str(doc["project_id"]), {})
        client_id = str(project.get("client_id") or "").strip()
        rows = taxes_of.get(number, no_taxes)
        out.append(Document(
            number=number, kind="credit-note" if doc["type"] == "Credit Note" else "invoice",
            issued=date.fromisoformat(str(doc["invoice_date"])),
            due=date.fromisoformat(str(doc["due_date"])), period=str(doc["period"]),
            project=str(doc["project_id"]), project_name=str(doc["project_name"] or ""),
            client=str(doc["client"]), customer=client_id or str(doc["client"]),
            client_id=client_id, client_tax_id=str(doc["client_tax_id"] or ""),
            place_of_supply=str(doc["place_of_supply"] or ""),
            tax_code=str(doc["tax_code"] or ""), po_number=str(doc["po_number"] or ""),
            currency=str(doc["currency"]),
            work=int(doc["completed_this_period"]) - stored, stored=stored,
            retainage=int(doc["retainage_this_period"]), tax=int(doc["tax"]),
            amount_due=int(doc["amount_due"]), reverse_charge=bool(doc["reverse_charge"]),
            revenue_account=str(project.get("revenue_account") or "").strip(),
            corrects=str(doc["corrects_number"] or ""),
            taxes=[(str(t.label), Decimal(str(t.rate)), int(t.base), int(t.amount))
                   for t in rows.itertuples(index=False)]))
    return out


def convert(amount: int, currency: str, books: str, rate: Decimal | None) -> int:
    """``amount`` (minor units of ``currency``) in the books' minor units, rounded half up."""
    if currency == books:
        return amount
    assert rate is not None
    value = from_minor(amount, currency) * rate
    scaled = (value * (10 ** exponent(books))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(scaled)


def check(documents: list[Document], payments: list[Payment], accounts: AccountsSettings,
          books: str, rates: dict[str, Decimal], *, rate_needed: bool = True,
          customer_codes: bool = False) -> None:
    """Raise :class:`ExportError` naming every missing account mapping, customer code and
    exchange rate, with the documents that need each."""
    missing: dict[str, list[str]] = {}

    def need(key: str, who: str) -> None:
        missing.setdefault(key, [])
        if who not in missing[key]:
            missing[key].append(who)

    for doc in documents:
        if not accounts.receivable:
            need("accounts.receivable", doc.number)
        if doc.retainage and not accounts.retainage_receivable:
            need("accounts.retainage_receivable", doc.number)
        if doc.work and not (doc.revenue_account or accounts.revenue):
            need("accounts.revenue (or the project's revenue_account column)", doc.number)
        if doc.stored and not (accounts.stored_materials or accounts.revenue):
            need("accounts.stored_materials", doc.number)
        for label, rate, _, _ in doc.taxes:
            if accounts.tax_for(label, rate, doc.reverse_charge) is None:
                need(f"[[accounts.tax]] label = \"{label}\", rate = {rate}"
                     f"{', reverse_charge = true' if doc.reverse_charge else ''}", doc.number)
        if customer_codes and not doc.client_id:
            need(f"client_id of project {doc.project} (a customer code column)", doc.number)
        if rate_needed and doc.currency != books and doc.currency not in rates:
            need(f"an exchange rate {doc.currency}={books} (--rate {doc.currency}=RATE or "
                 "a rates file)", doc.number)
    for payment in payments:
        if not accounts.bank:
            need("accounts.bank", f"payment {payment.reference} of {payment.document}")
        if rate_needed and payment.currency != books and payment.currency not in rates:
            need(f"an exchange rate {payment.currency}={books} (--rate "
                 f"{payment.currency}=RATE or a rates file)", f"payment of {payment.document}")
    converts = any(d.currency != books for d in documents) or any(
        p.currency != books for p in payments)
    if rate_needed and converts and not accounts.rounding:
        need("accounts.rounding (conversion differences)", "documents in other currencies")
    if missing:
        lines = [f"  {key}: needed by {_some(whom)}" for key, whom in missing.items()]
        raise ExportError("nothing was exported; progbill.toml or the command lacks:\n"
                          + "\n".join(lines))


def _some(items: list[str]) -> str:
    return ", ".join(items[:8]) + (f" and {len(items) - 8} more" if len(items) > 8 else "")


def postings(documents: list[Document], payments: list[Payment], accounts: AccountsSettings,
             books: str, rates: dict[str, Decimal]) -> list[Posting]:
    """Every document's and payment's balanced entry, in order (call :func:`check` first)."""
    out: list[Posting] = []
    for doc in documents:
        parts: list[tuple[str, str, int, TaxAccount | None, str]] = [
            ("receivable", accounts.receivable, doc.amount_due, None, "amount due"),
            ("retainage_receivable", accounts.retainage_receivable, doc.retainage, None,
             "retainage released" if doc.retainage < 0 else "retainage withheld"),
            ("revenue", doc.revenue_account or accounts.revenue, -doc.work, None,
             "work this period"),
            ("stored_materials", accounts.stored_materials or accounts.revenue, -doc.stored,
             None, "stored materials this period"),
        ]
        for label, rate, _, amount in doc.taxes:
            tax = accounts.tax_for(label, rate, doc.reverse_charge)
            assert tax is not None
            parts.append(("tax", tax.account, -amount, tax, f"{label} {rate}%"))
        out.extend(_entry(doc.number, doc.issued, doc.kind, parts, doc.currency, books, rates,
                          accounts, doc.customer, doc.client, doc.project,
                          f"{doc.number} {doc.project}"))
    for payment in payments:
        parts = [("bank", accounts.bank, payment.amount, None, "payment received"),
                 ("receivable", accounts.receivable, -payment.amount, None,
                  f"payment of {payment.document}")]
        out.extend(_entry(payment.reference, payment.received, "receipt", parts,
                          payment.currency, books, rates, accounts, payment.customer,
                          payment.client, payment.project, f"receipt {payment.document}"))
    return out


def _entry(entry: str, when: date, kind: str,
           parts: list[tuple[str, str, int, TaxAccount | None, str]], currency: str,
           books: str, rates: dict[str, Decimal], accounts: AccountsSettings, customer: str,
           client: str, project: str, text: str) -> list[Posting]:
    rate = rates.get(currency)
    rows = [Posting(entry, when, kind, role, account, convert(amount, currency, books, rate),
                    amount, currency, f"{text}: {what}", customer, client, project, tax)
            for role, account, amount, tax, what in parts if amount]
    assert sum(r.document_amount for r in rows) == 0, f"{entry} does not balance"
    difference = sum(r.amount for r in rows)
    if difference:
        rows.append(Posting(entry, when, kind, "rounding", accounts.rounding, -difference, 0,
                            currency, f"{text}: conversion difference", customer, client,
                            project))
    return rows
