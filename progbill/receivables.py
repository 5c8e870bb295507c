"""Receivables: what each document still asks for, its state, the ageing and the tax return's
figures. Pure functions over the store's frames (documents, taxes, payments), in minor units.

- A credit note reduces the balance of the document it corrects; a payment reduces the balance
  of the document it names.
- A document's state, as of a date: ``PDF pending``, ``Open``, ``Part paid``, ``Paid``,
  ``Part credited``, ``Credited`` (the whole amount), with ``, overdue N days`` while a balance
  is open past the due date. A voided document keeps its ``Void`` state.
- Ageing counts days past the due date: current (not yet due), 1-30, 31-60, 61-90, over 90.
  Retainage receivable is shown apart and not aged: it is held until billed for release.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

AGEING_BUCKETS = ("Current", "1-30", "31-60", "61-90", "Over 90")


def balances(documents: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """Per document: ``paid``, ``credited`` (by credit notes citing it) and ``balance``, all in
    minor units, in the documents' order. A credit note's own balance is zero when it cites a
    document (it is spent there); one that cites none keeps its (negative) amount."""
    docs = documents[["number", "type", "amount_due", "corrects_number"]].copy()
    is_cn = docs["type"] == "Credit Note"
    credits = docs[is_cn & docs["corrects_number"].notna()]
    credited = (-credits["amount_due"].astype(np.int64)).groupby(
        credits["corrects_number"]).sum()
    accepted = payments[payments["status"] == "accepted"] if len(payments) else payments
    paid = accepted.groupby("document")["amount"].sum() if len(accepted) else pd.Series(
        dtype=np.int64)
    out = pd.DataFrame({"number": docs["number"]})
    out["paid"] = docs["number"].map(paid).fillna(0).astype(np.int64)
    out["credited"] = docs["number"].map(credited).fillna(0).astype(np.int64)
    amount = docs["amount_due"].astype(np.int64)
    spent = is_cn & docs["corrects_number"].notna()
    out["balance"] = np.where(spent, 0, amount - out["credited"] - out["paid"]).astype(np.int64)
    return out


def states(documents: pd.DataFrame, owed: pd.DataFrame, as_of: date,
           pdf_missing: pd.Series, voided: dict[str, str]) -> list[str]:
    """Each document's state as of ``as_of`` (see the module)."""
    found = []
    overdue = _Overdue(as_of)
    for number, kind, corrects, amount, due, paid, credited, balance, missing in zip(
            documents["number"].tolist(), documents["type"].tolist(),
            documents["corrects_number"].tolist(), documents["amount_due"].tolist(),
            documents["due_date"].tolist(), owed["paid"].tolist(),
            owed["credited"].tolist(), owed["balance"].tolist(), pdf_missing.tolist(),
            strict=True):
        if number in voided:
            found.append(f"Void: {voided[number]} (progbill repair)")
            continue
        if kind == "Credit Note":
            cites = corrects if isinstance(corrects, str) else None
            found.append(f"Credits {cites}" if cites else "Credit, not applied")
            continue
        amount = int(amount)
        if credited and credited >= amount:
            state = "Credited"
        elif balance <= 0 and paid:
            state = "Paid"
        elif paid:
            state = "Part paid"
        elif credited:
            state = "Part credited"
        elif missing:
            state = "PDF pending"
        else:
            state = "Open"
        days = overdue(due)
        if balance > 0 and days > 0:
            state += f", overdue {days} day{'s' if days != 1 else ''}"
        found.append(state)
    return found


class _Overdue(dict[object, int]):
    """Days past due as of a date, by due date (documents share a handful of them)."""

    def __init__(self, as_of: date) -> None:
        super().__init__()
        self.as_of = as_of

    def __call__(self, due: object) -> int:
        try:
            return self[due]
        except KeyError:
            days = self[due] = overdue_days(due, self.as_of)
            return days
        except TypeError:  # not a text date
            return 0


def overdue_days(due: object, as_of: date) -> int:
    if not isinstance(due, str) or not due:
        return 0
    return max((as_of - date.fromisoformat(due)).days, 0)


def open_items(documents: pd.DataFrame, owed: pd.DataFrame) -> pd.DataFrame:
    """The documents with a balance (``owed`` from :func:`balances`, in their order): client,
    currency, due_date, invoice (a credit note is never overdue) and balance."""
    items = pd.DataFrame({
        "client": documents["client"].to_numpy(), "currency": documents["currency"].to_numpy(),
        "due_date": documents["due_date"].to_numpy(),
        "invoice": (documents["type"] == "Invoice").to_numpy(),
        "balance": owed["balance"].to_numpy()})
    return items[items["balance"] != 0].reset_index(drop=True)


def ageing(items: pd.DataFrame, retainage: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Open balances per client and currency by days past due, and the retainage held apart.

    ``items``: open items as :func:`open_items` gives them, one per document, or summed per
    client, currency, due date and kind (:meth:`progbill.store.Store.open_items`: the same
    buckets). A client with open items has a row even when they add up to nothing.
    ``retainage``: client, currency, retainage_held (minor units) per project."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    overdue = _Overdue(as_of)
    for client, currency, due, balance, invoice in zip(
            items["client"].tolist(), items["currency"].tolist(), items["due_date"].tolist(),
            items["balance"].tolist(), items["invoice"].tolist(), strict=True):
        days = overdue(due) if invoice else 0
        bucket = (AGEING_BUCKETS[0] if days <= 0 else AGEING_BUCKETS[1] if days <= 30
                  else AGEING_BUCKETS[2] if days <= 60 else AGEING_BUCKETS[3] if days <= 90
                  else AGEING_BUCKETS[4])
        entry = rows.setdefault((client, currency), dict.fromkeys(AGEING_BUCKETS, 0))
        entry[bucket] += int(balance)
    held = retainage[retainage["retainage_held"] != 0].groupby(
        ["client", "currency"])["retainage_held"].sum()
    for key in held.index:
        rows.setdefault(key, dict.fromkeys(AGEING_BUCKETS, 0))
    out = []
    for (client, currency), buckets in sorted(rows.items()):
        total = sum(buckets.values())
        out.append({"client": client, "currency": currency, **buckets, "total": total,
                    "retainage_held": int(held.get((client, currency), 0))})
    return pd.DataFrame(out, columns=["client", "currency", *AGEING_BUCKETS, "total",
                                      "retainage_held"])


def tax_summary(documents: pd.DataFrame, taxes: pd.DataFrame,
                voided: dict[str, str]) -> pd.DataFrame:
    """Per period, currency, tax and rate: the taxable base and the tax, credit notes netted
    (their figures are negative); voided documents are left out."""
    frame = taxes.merge(documents[["number", "period", "currency"]], on="number")
    frame = frame[~frame["number"].isin(list(voided))]
    if frame.empty:
        return pd.DataFrame(columns=["period", "currency", "label", "rate", "base", "amount",
                                     "documents"])
    return (frame.groupby(["period", "currency", "label", "rate"], sort=True)
            .agg(base=("base", "sum"), amount=("amount", "sum"),
                 documents=("number", "nunique"))
            .reset_index())


def check_payments(rows: list[dict[str, object]], documents: pd.DataFrame,
                   others: pd.DataFrame
                   ) -> tuple[list[dict[str, object]], list[tuple[int, str, str]]]:
    """Check payments against the documents and the payments already recorded (``others``):
    an unknown document, another currency, a non-positive amount or one beyond the balance
    rejects the row (its ``problem`` says why); a payment dated before its document, or the
    same reference and amount twice, is a warning. Rows keep their order; amounts come in as
    exact decimals and leave as minor units."""
    from decimal import Decimal

    from progbill.columns import is_missing
    from progbill.money import MoneyError, from_minor, round_to_minor, to_minor

    owed = dict(zip(documents["number"], balances(documents, others)["balance"], strict=True))
    docs = documents.set_index("number")
    accepted = others[others["status"] == "accepted"] if len(others) else others
    seen = {(str(r.reference), int(r.amount)) for r in accepted.itertuples(index=False)
            if r.reference}
    out: list[dict[str, object]] = []
    warnings: list[tuple[int, str, str]] = []  # row index, code, message
    for index, raw in enumerate(rows):
        row = {k: (None if is_missing(v) else v) for k, v in raw.items()}
        number = str(row.get("document") or "")
        problem, code, minor = "", "", 0
        currency = str(row.get("currency") or "")
        amount = row.get("amount")
        known = number in docs.index
        if isinstance(amount, Decimal):  # kept as typed, also on a rejected row
            shown_in = currency or (str(docs.loc[number]["currency"]) if known else "USD")
            try:
                minor = to_minor(amount, shown_in)
            except MoneyError:
                minor = round_to_minor(amount, shown_in)
        if not known:
            code = "unknown-document"
            problem = (f"no document {number!r} was issued; check the document number "
                       "(as on the invoice, e.g. INV-2026-00001)")
        else:
            doc = docs.loc[number]
            currency = currency or str(doc["currency"])
            code = "payment-rejected"
            if currency != doc["currency"]:
                code = "payment-currency"
                problem = (f"{number} is in {doc['currency']}, this payment in {currency}; "
                           "record it in the document's currency")
            elif not isinstance(amount, Decimal):
                problem = "the amount is not a number; enter the amount received"
            else:
                try:
                    to_minor(amount, currency)
                except MoneyError as exc:
                    problem = exc.message
                if not problem and minor <= 0:
                    problem = "enter the amount received, above 0"
                elif not problem and minor > owed[number]:
                    code = "overpayment"
                    problem = (f"{from_minor(minor, currency):,} {currency} is more than the "
                               f"balance of {number}, {from_minor(owed[number], currency):,}; "
                               "check the amount and the document number")
            if not problem:
                owed[number] -= minor
                received = row.get("received")
                if isinstance(received, date) and received < date.fromisoformat(
                        str(doc["invoice_date"])):
                    warnings.append((index, "payment-before-document",
                                     f"the payment for {number} is dated "
                                     f"{received.isoformat()}, before the document "
                                     f"({doc['invoice_date']}); check the date"))
                reference = str(row.get("reference") or "")
                if reference and (reference, minor) in seen:
                    warnings.append((index, "duplicate-payment",
                                     f"a payment with reference {reference!r} and amount "
                                     f"{from_minor(minor, currency):,} is recorded twice; "
                                     "delete one if it is the same receipt"))
                seen.add((reference, minor))
        received = row.get("received")
        out.append({
            "document": number, "received": received.isoformat()
            if isinstance(received, date) else None,
            "amount": minor, "currency": currency, "reference": str(row.get("reference") or ""),
            "method": str(row.get("method") or ""), "note": str(row.get("note") or ""),
            "client_id": str(row.get("client_id") or ""), "source": str(row.get("source")),
            "source_row": row.get("source_row"), "status": "rejected" if problem else "accepted",
            "problem": problem, "code": code if problem else "",
        })
    return out, warnings
