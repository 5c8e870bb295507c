"""The import files of each accounting package, written from the journal: pure functions that
return ``{file name: bytes}``. Every file is deterministic (no write time anywhere).

Layouts and where they are published (README "Posting to your books"):

* ``journal``  - progbill's own: the double entry as CSV and an xlsx sheet.
* ``quickbooks`` - QuickBooks Online "Import invoices" CSV (one row per invoice line, dates as
  the US company format MM/DD/YYYY), the "Import journal entries" CSV for retainage and credit
  notes (the invoice import takes no credit memos), and the 3-column bank CSV for receipts.
* ``xero`` - Xero "Import sales invoices" CSV (at most 500 invoices a file), the credit note
  import (the same template with CreditNoteNumber and CreditNoteDate, amounts positive), the
  manual journal CSV for retainage, and the bank statement CSV for receipts.
* ``zoho`` - Zoho Books invoice and credit note imports with the GST fields (GST Treatment,
  GSTIN, Place of Supply as Zoho's state codes, HSN/SAC) and the journal import for retainage.
* ``tally`` - TallyPrime XML import: an ENVELOPE of Sales, Credit Note and Receipt vouchers with
  CGST, SGST and IGST as ledger entries.
* ``datev`` - DATEV-Format EXTF Buchungsstapel (header version 700, category 21, format version
  13): Windows-1252, semicolons, decimal comma, Belegdatum TTMM, BU-Schlüssel.
* ``sage`` - Sage 50 "Audit trail transactions" import: SI / SC with nominal codes and tax codes
  T0-T9, JD / JC for retainage, SA for receipts.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from progbill.books.journal import Document, ExportError, Payment, Posting
from progbill.config import AccountsSettings, Config, TaxAccount
from progbill.money import from_minor

FORMATS = ("journal", "quickbooks", "xero", "zoho", "tally", "datev", "sage")
XERO_MAX_INVOICES = 500


def _money(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency):f}"


def _csv(header: list[str], rows: Iterable[list[Any]], delimiter: str = ",",
         encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


# --------------------------------------------------------------------------------------------
# journal

JOURNAL_COLUMNS = ["Entry", "Date", "Kind", "Account", "Role", "Debit", "Credit",
                   "Books currency", "Document currency", "Document amount", "Customer",
                   "Client", "Project", "Description"]


def journal_rows(postings: list[Posting], books: str) -> list[list[Any]]:
    return [[p.entry, p.date.isoformat(), p.kind, p.account, p.role,
             _money(p.debit, books) if p.debit else "", _money(p.credit, books) if p.credit
             else "", books, p.currency, _money(p.document_amount, p.currency), p.customer,
             p.client, p.project, p.description] for p in postings]


def journal(postings: list[Posting], books: str, period: str) -> dict[str, bytes]:
    rows = journal_rows(postings, books)
    return {f"journal-{period}.csv": _csv(JOURNAL_COLUMNS, rows),
            f"journal-{period}.xlsx": _xlsx("Journal", JOURNAL_COLUMNS, rows, period)}


def _xlsx(sheet: str, header: list[str], rows: list[list[Any]], period: str) -> bytes:
    """An xlsx with the same bytes every time: a fixed creation date, no write time."""
    import xlsxwriter

    buffer = io.BytesIO()
    year, month = (int(x) for x in period.split("-"))
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False,
                                            "strings_to_urls": False})
    workbook.set_properties({"created": datetime(year, month, 1), "author": "progbill"})
    worksheet = workbook.add_worksheet(sheet)
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    worksheet.write_row(0, 0, header, bold)
    numeric = {header.index(c) for c in ("Debit", "Credit", "Document amount") if c in header}
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if c in numeric and value != "":
                worksheet.write_number(r, c, float(Decimal(str(value))), money)
            else:
                worksheet.write_string(r, c, str(value))
    worksheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# lines of a document as sales lines (work and stored materials, per revenue account)


def _sales_lines(doc: Document, accounts: AccountsSettings) -> list[tuple[str, str, int]]:
    """(description, account, net amount) of what a document sells this period."""
    out = []
    if doc.work:
        out.append((f"Progress billing {doc.project} {doc.period}",
                    doc.revenue_account or accounts.revenue, doc.work))
    if doc.stored:
        out.append((f"Stored materials {doc.project} {doc.period}",
                    accounts.stored_materials or accounts.revenue, doc.stored))
    return out


def _tax_of(doc: Document, accounts: AccountsSettings) -> TaxAccount | None:
    """The document's tax mapping (its first tax line's), if it has tax lines."""
    if not doc.taxes:
        return None
    label, rate, _, _ = doc.taxes[0]
    return accounts.tax_for(label, rate, doc.reverse_charge)


def _entries(postings: list[Posting]) -> dict[str, list[Posting]]:
    """Each entry's postings (a document's number or a payment's reference), in order."""
    entries: dict[str, list[Posting]] = {}
    for p in postings:
        entries.setdefault(p.entry, []).append(p)
    return entries


# --------------------------------------------------------------------------------------------
# QuickBooks Online


QB_INVOICE_COLUMNS = ["InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Terms", "Memo",
                      "Item(Product/Service)", "ItemDescription", "ItemQuantity", "ItemRate",
                      "ItemAmount", "TaxCode", "TaxAmount", "Currency"]
QB_JOURNAL_COLUMNS = ["JournalNo", "JournalDate", "Currency", "AccountName", "Debits",
                      "Credits", "Description", "Name"]


def _us(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _reclass(doc: Document, accounts: AccountsSettings) -> list[tuple[str, int, str]]:
    """The journal moving a document's retainage from receivable to retainage receivable
    (a release moves it back): (account, signed amount, description), debit > 0."""
    if not doc.retainage:
        return []
    what = "retainage released" if doc.retainage < 0 else "retainage withheld"
    return [(accounts.retainage_receivable, doc.retainage, f"{doc.number} {what}"),
            (accounts.receivable, -doc.retainage, f"{doc.number} {what}")]


def quickbooks(documents: list[Document], payments: list[Payment], postings: list[Posting],
               accounts: AccountsSettings, books: str, period: str) -> dict[str, bytes]:
    invoices: list[list[Any]] = []
    journals: list[list[Any]] = []
    entries = _entries(postings)
    for doc in documents:
        if doc.kind == "credit-note":
            # the invoice import takes no credit memos: the credit note's whole entry
            journals.extend([doc.number, _us(p.date), books, p.account,
                             _money(p.debit, books) if p.debit else "",
                             _money(p.credit, books) if p.credit else "", p.description,
                             p.customer] for p in entries.get(doc.number, []))
            continue
        tax = _tax_of(doc, accounts)
        for i, (text, _account, amount) in enumerate(_sales_lines(doc, accounts)):
            invoices.append([
                doc.number, doc.customer, _us(doc.issued), _us(doc.due),
                f"Net {(doc.due - doc.issued).days}", f"{doc.project} {period}",
                "Stored materials" if text.startswith("Stored") else "Progress billing", text,
                "1", _money(amount, doc.currency), _money(amount, doc.currency),
                tax.quickbooks_tax_code if tax is not None else "",
                _money(doc.tax, doc.currency) if i == 0 and doc.tax else "", doc.currency])
        for account, amount, text in _reclass(doc, accounts):
            journals.append([f"{doc.number}-R", _us(doc.issued), doc.currency, account,
                             _money(amount, doc.currency) if amount > 0 else "",
                             _money(-amount, doc.currency) if amount < 0 else "", text,
                             doc.customer])
    files = {f"quickbooks-invoices-{period}.csv": _csv(QB_INVOICE_COLUMNS, invoices)}
    if journals:
        files[f"quickbooks-journal-{period}.csv"] = _csv(QB_JOURNAL_COLUMNS, journals)
    if payments:
        files[f"quickbooks-bank-{period}.csv"] = _csv(
            ["Date", "Description", "Amount"],
            [[_us(pay.received), f"Payment {pay.document} {pay.customer} {pay.reference}",
              _money(pay.amount, pay.currency)] for pay in payments])
    return files


# --------------------------------------------------------------------------------------------
# Xero

XERO_INVOICE_COLUMNS = [
    "*ContactName", "EmailAddress", "POAddressLine1", "POAddressLine2", "POAddressLine3",
    "POAddressLine4", "POCity", "PORegion", "POPostalCode", "POCountry", "*InvoiceNumber",
    "Reference", "*InvoiceDate", "*DueDate", "Total", "InventoryItemCode", "*Description",
    "*Quantity", "*UnitAmount", "Discount", "*AccountCode", "*TaxType", "TaxAmount",
    "TrackingName1", "TrackingOption1", "TrackingName2", "TrackingOption2", "Currency",
    "BrandingTheme"]
XERO_JOURNAL_COLUMNS = ["*Narration", "*Date", "Description", "*AccountCode", "*TaxRate",
                        "*Amount", "TrackingName1", "TrackingOption1", "TrackingName2",
                        "TrackingOption2"]


def _dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


XERO_CREDIT_COLUMNS = ["*CreditNoteNumber" if c == "*InvoiceNumber" else
                       "*CreditNoteDate" if c == "*InvoiceDate" else
                       "DueDate" if c == "*DueDate" else c for c in XERO_INVOICE_COLUMNS]


def xero(documents: list[Document], payments: list[Payment], postings: list[Posting],
         accounts: AccountsSettings, books: str, period: str) -> dict[str, bytes]:
    """Invoices in the sales invoice import, credit notes (amounts positive) in the credit note
    import (the same template with CreditNoteNumber and CreditNoteDate), at most 500 a file;
    retainage and releases alone in the manual journal import; receipts as a bank statement."""
    invoices: list[list[list[Any]]] = []
    credits: list[list[list[Any]]] = []
    journals: list[list[Any]] = []
    no_tax = accounts.xero_no_tax_type
    entries = _entries(postings)
    for doc in documents:
        sales = _sales_lines(doc, accounts)
        if not sales:  # a release alone: no sale, only its journal
            journals.extend([p.description, _dmy(p.date), f"{doc.project} {doc.client}",
                             p.account, _xero_tax(p, no_tax), _money(p.amount, books), "", "",
                             "", ""] for p in entries.get(doc.number, []))
            continue
        credit = doc.kind == "credit-note"
        batches = credits if credit else invoices
        if not batches or len({row[10] for row in batches[-1]}) == XERO_MAX_INVOICES:
            batches.append([])
        sign = -1 if credit else 1
        tax = _tax_of(doc, accounts)
        for i, (text, account, amount) in enumerate(sales):
            batches[-1].append([
                doc.client, "", "", "", "", "", "", "", "", "", doc.number,
                doc.po_number or doc.project, _dmy(doc.issued), _dmy(doc.due), "", "", text,
                "1", _money(sign * amount, doc.currency), "", account,
                tax.xero_tax_type if tax is not None and tax.xero_tax_type else no_tax,
                _money(sign * doc.tax, doc.currency) if i == 0 and doc.tax else "", "", "", "",
                "", doc.currency, ""])
        for account, amount, text in _reclass(doc, accounts):
            journals.append([text, _dmy(doc.issued), f"{doc.project} {doc.client}", account,
                             no_tax, _money(amount, doc.currency), "", "", "", ""])
    files = {}
    for kind, header, batches in (("invoices", XERO_INVOICE_COLUMNS, invoices),
                                  ("credit-notes", XERO_CREDIT_COLUMNS, credits)):
        for n, rows in enumerate(batches, start=1):
            suffix = f"-{n}" if len(batches) > 1 else ""
            files[f"xero-{kind}-{period}{suffix}.csv"] = _csv(header, rows)
    if journals:
        files[f"xero-journal-{period}.csv"] = _csv(XERO_JOURNAL_COLUMNS, journals)
    if payments:
        files[f"xero-bank-{period}.csv"] = _csv(
            ["*Date", "*Amount", "Payee", "Description", "Reference"],
            [[_dmy(p.received), _money(p.amount, p.currency), p.client,
              f"Payment of {p.document}", p.reference] for p in payments])
    return files


def _xero_tax(posting: Posting, no_tax: str) -> str:
    if posting.tax is not None and posting.tax.xero_tax_type:
        return posting.tax.xero_tax_type
    return no_tax


# --------------------------------------------------------------------------------------------
# Sage 50 (UK): audit trail transactions

SAGE_COLUMNS = ["Type", "Account Reference", "Nominal A/C Ref", "Department Code", "Date",
                "Reference", "Details", "Net Amount", "Tax Code", "Tax Amount",
                "Exchange Rate", "Extra Reference", "User Name", "Project Refn",
                "Cost Code Refn"]


def sage(documents: list[Document], payments: list[Payment], postings: list[Posting],
         accounts: AccountsSettings, books: str, period: str) -> dict[str, bytes]:
    """SI / SC (amounts positive, the type says which), JD / JC journals for retainage and
    releases, SA for receipts. Amounts are in the books' currency (Sage 50's audit trail import
    of a foreign-currency customer takes an exchange rate; progbill posts converted amounts)."""
    rows: list[list[Any]] = []
    entries = _entries(postings)
    for doc in documents:
        entry = entries.get(doc.number, [])
        sales = [p for p in entry if p.role in ("revenue", "stored_materials")]
        taxes = [p for p in entry if p.role == "tax"]
        tax = taxes[0].tax if taxes else None
        code = tax.sage_tax_code if tax is not None and tax.sage_tax_code else "T9"
        if doc.taxes and not taxes:  # zero-rated, exempt or reverse charge: its mapping's code
            mapped = _tax_of(doc, accounts)
            code = mapped.sage_tax_code if mapped is not None and mapped.sage_tax_code else code
        credit = doc.kind == "credit-note"
        for i, p in enumerate(sales):
            net = -p.amount if not credit else p.amount
            vat = sum(-t.amount if not credit else t.amount for t in taxes) if i == 0 else 0
            rows.append(["SC" if credit else "SI", doc.client_id, p.account, "0",
                         _dmy(doc.issued), doc.number, p.description[:60],
                         _money(net, books), code, _money(vat, books), "", doc.project, "", "",
                         ""])
        if sales:  # the SI / SC posts the customer; a journal moves the retainage
            journal = [(p.account, p.amount, p.description) for p in entry
                       if p.role == "retainage_receivable"]
            journal += [(accounts.receivable, -amount, text) for _, amount, text in journal]
        else:  # a release alone: its whole entry as a journal
            journal = [(p.account, p.amount, p.description) for p in entry]
        for account, amount, text in journal:
            rows.append(["JD" if amount > 0 else "JC", "", account, "0", _dmy(doc.issued),
                         doc.number, text[:60], _money(abs(amount), books), "T9", "0.00", "",
                         doc.project, "", "", ""])
    for pay in payments:
        amounts = [p for p in entries.get(pay.reference, []) if p.role == "bank"]
        amount = amounts[0].amount if amounts else pay.amount
        rows.append(["SA", pay.customer, accounts.bank, "0", _dmy(pay.received),
                     pay.document, f"Payment {pay.reference}"[:60], _money(amount, books),
                     "T9", "0.00", "", pay.reference, "", "", ""])
    return {f"sage-audit-trail-{period}.csv": _csv(SAGE_COLUMNS, rows)}


# --------------------------------------------------------------------------------------------
# DATEV: EXTF Buchungsstapel

DATEV_COLUMNS = ["Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs",
                 "Basis-Umsatz", "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)",
                 "BU-Schlüssel", "Belegdatum", "Belegfeld 1", "Belegfeld 2", "Skonto",
                 "Buchungstext"]


def _comma(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency):f}".replace(".", ",")


def _datev_text(text: str, limit: int) -> str:
    return text.replace('"', "'")[:limit]


def datev(documents: list[Document], payments: list[Payment], postings: list[Posting],
          config: Config, books: str, period: str) -> dict[str, bytes]:
    """One booking per sale (gross, with its BU-Schlüssel against the revenue account), one per
    retainage movement and one per receipt; the customer's Debitor account is its client_id."""
    settings = config.datev
    rows: list[list[str]] = []
    entries = _entries(postings)

    def book(amount: int, konto: str, gegenkonto: str, bu: str, day: date, number: str,
             text: str) -> None:
        rows.append([_comma(abs(amount), books), "S" if amount > 0 else "H", books, "", "", "",
                     konto, gegenkonto, bu, day.strftime("%d%m"), _datev_text(number, 36), "",
                     "", _datev_text(text, 60)])

    for doc in documents:
        entry = entries.get(doc.number, [])
        taxes = [p for p in entry if p.role == "tax"]
        mapped = _tax_of(doc, config.accounts)
        bu = mapped.datev_bu if mapped is not None else ""
        sales = [p for p in entry if p.role in ("revenue", "stored_materials")]
        tax_left = -sum(t.amount for t in taxes)
        for i, p in enumerate(sales):
            share = tax_left if i == len(sales) - 1 else \
                -sum(t.amount for t in taxes) * p.amount // sum(s.amount for s in sales)
            tax_left -= share
            gross = -p.amount + share  # what the customer owes for this sale, tax included
            book(gross, doc.client_id, p.account, bu, doc.issued, doc.number, p.description)
        if not sales and taxes:  # tax charged on a release (net_of_retainage)
            for t in taxes:
                book(-t.amount, doc.client_id, t.account, "", doc.issued, doc.number,
                     t.description)
        for p in entry:
            if p.role == "retainage_receivable" or p.role == "rounding":
                book(p.amount, p.account, doc.client_id, "", doc.issued, doc.number,
                     p.description)
    for pay in payments:
        for p in entries.get(pay.reference, []):
            if p.role == "bank":
                book(p.amount, p.account, _debitor(pay, documents), "", pay.received,
                     pay.document, p.description)
    day = max([d.issued for d in documents] + [p.received for p in payments],
              default=date(int(period[:4]), int(period[5:]), 1))
    year, month = int(period[:4]), int(period[5:])
    start_month, start_day = (int(x) for x in (settings.fiscal_year_start or "01-01").split("-"))
    fy_year = year if (month, 1) >= (start_month, start_day) else year - 1
    header = ["EXTF", "700", "21", "Buchungsstapel", "13", day.strftime("%Y%m%d") + "000000000",
              "", "", "", "", str(settings.consultant), str(settings.client),
              f"{fy_year}{start_month:02d}{start_day:02d}", str(settings.account_length),
              f"{year}{month:02d}01",
              f"{year}{month:02d}{calendar.monthrange(year, month)[1]:02d}",
              f"progbill {period}", "", "1", "0", "0", books, "", "", "", "", "", "", "", "", ""]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerow(DATEV_COLUMNS)
    writer.writerows(rows)
    try:
        data = buffer.getvalue().encode("cp1252")
    except UnicodeEncodeError as exc:
        raise ExportError(f"a text cannot be written in Windows-1252, which DATEV reads: "
                          f"{exc.object[max(0, exc.start - 20):exc.end + 20]!r}") from exc
    return {f"EXTF_Buchungsstapel_{period}.csv": data}


def _debitor(payment: Payment, documents: list[Document]) -> str:
    for doc in documents:
        if doc.number == payment.document and doc.client_id:
            return doc.client_id
    return payment.customer


# --------------------------------------------------------------------------------------------
# TallyPrime: XML import of vouchers


def tally(documents: list[Document], payments: list[Payment], postings: list[Posting],
          books: str, period: str, company: str) -> dict[str, bytes]:
    from lxml import etree

    envelope = etree.Element("ENVELOPE")
    etree.SubElement(etree.SubElement(envelope, "HEADER"), "TALLYREQUEST").text = "Import Data"
    data = etree.SubElement(etree.SubElement(envelope, "BODY"), "IMPORTDATA")
    description = etree.SubElement(data, "REQUESTDESC")
    etree.SubElement(description, "REPORTNAME").text = "Vouchers"
    if company:
        etree.SubElement(etree.SubElement(description, "STATICVARIABLES"),
                         "SVCURRENTCOMPANY").text = company
    request = etree.SubElement(data, "REQUESTDATA")
    kinds = {"invoice": "Sales", "credit-note": "Credit Note", "receipt": "Receipt"}
    for entry, rows in _entries(postings).items():
        first = rows[0]
        kind = kinds[first.kind]
        message = etree.SubElement(request, "TALLYMESSAGE")
        voucher = etree.SubElement(message, "VOUCHER", VCHTYPE=kind, ACTION="Create")
        etree.SubElement(voucher, "DATE").text = first.date.strftime("%Y%m%d")
        etree.SubElement(voucher, "VOUCHERTYPENAME").text = kind
        etree.SubElement(voucher, "VOUCHERNUMBER").text = entry
        etree.SubElement(voucher, "PARTYLEDGERNAME").text = first.client
        etree.SubElement(voucher, "NARRATION").text = first.description.split(":")[0]
        for p in rows:
            ledger = etree.SubElement(voucher, "ALLLEDGERENTRIES.LIST")
            # the party's ledger is the customer; every other ledger is named in [accounts]
            etree.SubElement(ledger, "LEDGERNAME").text = \
                p.client if p.role == "receivable" else p.account
            etree.SubElement(ledger, "ISDEEMEDPOSITIVE").text = "Yes" if p.amount > 0 else "No"
            etree.SubElement(ledger, "AMOUNT").text = _money(-p.amount, books)
    return {f"tally-vouchers-{period}.xml": etree.tostring(
        envelope, xml_declaration=True, encoding="UTF-8", pretty_print=True)}


# --------------------------------------------------------------------------------------------
# Zoho Books (India): invoices and credit notes with GST fields, journals for retainage

ZOHO_STATES = {
    "andaman and nicobar islands": "AN", "andhra pradesh": "AP", "arunachal pradesh": "AR",
    "assam": "AS", "bihar": "BR", "chandigarh": "CH", "chhattisgarh": "CT",
    "dadra and nagar haveli and daman and diu": "DN", "delhi": "DL", "goa": "GA",
    "gujarat": "GJ", "haryana": "HR", "himachal pradesh": "HP", "jammu and kashmir": "JK",
    "jharkhand": "JH", "karnataka": "KA", "kerala": "KL", "ladakh": "LA", "lakshadweep": "LD",
    "madhya pradesh": "MP", "maharashtra": "MH", "manipur": "MN", "meghalaya": "ML",
    "mizoram": "MZ", "nagaland": "NL", "odisha": "OR", "puducherry": "PY", "punjab": "PB",
    "rajasthan": "RJ", "sikkim": "SK", "tamil nadu": "TN", "telangana": "TG", "tripura": "TR",
    "uttar pradesh": "UP", "uttarakhand": "UT", "west bengal": "WB",
}
ZOHO_INVOICE_COLUMNS = [
    "Invoice Date", "Invoice Number", "Invoice Status", "Customer Name", "Due Date",
    "Currency Code", "Exchange Rate", "Item Name", "Item Desc", "Quantity", "Item Price",
    "Account", "Item Tax", "Item Tax %", "Item Tax Type", "GST Treatment",
    "GST Identification Number (GSTIN)", "Place of Supply", "HSN/SAC", "PurchaseOrder",
    "Notes"]
ZOHO_CREDIT_COLUMNS = [
    "Credit Note Date", "Credit Note Number", "Credit Note Status", "Customer Name",
    "Reference#", "Currency Code", "Exchange Rate", "Item Name", "Item Desc", "Quantity",
    "Item Price", "Account", "Item Tax", "Item Tax %", "Item Tax Type", "GST Treatment",
    "GST Identification Number (GSTIN)", "Place of Supply", "HSN/SAC", "Notes"]
ZOHO_JOURNAL_COLUMNS = ["Journal Date", "Reference Number", "Notes", "Account", "Contact Name",
                        "Debit", "Credit", "Currency"]


def zoho_state(place: str) -> str | None:
    text = " ".join(place.replace("&", "and").casefold().split())
    if text.upper() in ZOHO_STATES.values():
        return text.upper()
    return ZOHO_STATES.get(text)


def zoho(documents: list[Document], payments: list[Payment], postings: list[Posting],
         accounts: AccountsSettings, rates: dict[str, Decimal], books: str,
         period: str) -> dict[str, bytes]:
    invoices: list[list[Any]] = []
    credits: list[list[Any]] = []
    journals: list[list[Any]] = []
    unknown = sorted({d.place_of_supply for d in documents
                      if d.place_of_supply and zoho_state(d.place_of_supply) is None})
    if unknown:
        raise ExportError(f"nothing was exported: Zoho Books needs the place of supply as an "
                          f"Indian state; {', '.join(map(repr, unknown))} is not one "
                          "(write the state's name, e.g. Maharashtra, or its code, e.g. MH)")
    entries = _entries(postings)
    for doc in documents:
        sales = _sales_lines(doc, accounts)
        if not sales:
            journals.extend([_iso(p.date), p.entry, p.description, p.account, p.client,
                             _money(p.debit, books) if p.debit else "",
                             _money(p.credit, books) if p.credit else "", books]
                            for p in entries.get(doc.number, []))
            continue
        tax = _tax_of(doc, accounts)
        rate = sum((t[1] for t in doc.taxes), Decimal(0))
        split = len(doc.taxes) > 1  # CGST + SGST: a tax group
        gst = any(t[0] in ("GST", "CGST", "SGST", "IGST") for t in doc.taxes) or bool(
            doc.place_of_supply)
        treatment = "" if not gst else "overseas" if not doc.place_of_supply else \
            "business_gst" if doc.client_tax_id else "consumer"
        credit = doc.kind == "credit-note"
        exchange = "" if doc.currency == books else str(rates.get(doc.currency, ""))
        for text, account, amount in sales:
            row = [_iso(doc.issued), doc.number, "Open" if credit else "Sent", doc.client]
            if credit:
                row.append(doc.corrects)
            else:
                row.append(_iso(doc.due))
            row += [doc.currency, exchange,
                    "Stored materials" if text.startswith("Stored") else "Progress billing",
                    text, "1", _money(-amount if credit else amount, doc.currency), account,
                    tax.zoho_tax_name if tax is not None else "", f"{rate:f}" if rate else "",
                    ("Tax Group" if split else "ItemAmount") if rate else "", treatment,
                    doc.client_tax_id, zoho_state(doc.place_of_supply) or "", doc.tax_code]
            if credit:
                row.append(f"{doc.project} {period}")
                credits.append(row)
            else:
                row += [doc.po_number, f"{doc.project} {period}"]
                invoices.append(row)
        for account, amount, note in _reclass(doc, accounts):
            journals.append([_iso(doc.issued), doc.number, note, account, doc.client,
                             _money(amount, doc.currency) if amount > 0 else "",
                             _money(-amount, doc.currency) if amount < 0 else "", doc.currency])
    files = {f"zoho-invoices-{period}.csv": _csv(ZOHO_INVOICE_COLUMNS, invoices)}
    if credits:
        files[f"zoho-credit-notes-{period}.csv"] = _csv(ZOHO_CREDIT_COLUMNS, credits)
    if journals:
        files[f"zoho-journals-{period}.csv"] = _csv(ZOHO_JOURNAL_COLUMNS, journals)
    if payments:
        files[f"zoho-payments-{period}.csv"] = _csv(
            ["Date", "Payment Number", "Customer Name", "Invoice Number", "Amount",
             "Amount Applied to Invoice", "Payment Mode", "Deposit To", "Reference Number"],
            [[_iso(p.received), p.reference, p.client, p.document,
              _money(p.amount, p.currency), _money(p.amount, p.currency), p.method or "Bank",
              accounts.bank, p.reference] for p in payments])
    return files


def _iso(day: date) -> str:
    return day.isoformat()

