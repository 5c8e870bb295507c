"""The workbook columns of INPUT.md: canonical names, aliases, kinds, and how headers match.

Headers match case-, space-, underscore- and punctuation-insensitively (``% Complete``,
``pct_complete`` and ``PCT COMPLETE`` are one header); ``%`` counts as the word ``pct``.
No alias belongs to two columns (a test checks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Kinds tell the cell readers what a column holds.
TEXT, ID, MONEY, PERCENT, INT_DAYS, FLAG, DATE, STATUS, CURRENCY, QUANTITY = (
    "text", "id", "money", "percent", "days", "flag", "date", "status", "currency", "quantity",
)


_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise(header: object) -> str:
    """The matching key of a header or sheet name: ``% Complete`` -> ``pctcomplete``; ``&``
    and ``and`` are one word."""
    text = str(header).casefold().replace("%", " pct ").replace("#", " no ").replace("&", "and")
    return _NON_WORD.sub("", text)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    required: bool = False


PROJECT_COLUMNS: tuple[Column, ...] = (
    Column("project_id", ID, ("project", "project code", "project no", "job", "job no",
                              "job number", "project number", "project #"), required=True),
    Column("project_name", TEXT, ("project title", "job name")),
    Column("client", TEXT, ("customer", "client name", "bill to"), required=True),
    Column("client_address", TEXT, ("address", "client address", "billing address")),
    Column("client_email", TEXT, ("email", "client email")),
    Column("client_tax_id", ID, ("gstin", "vat number", "tax id", "client gstin",
                                 "client vat number")),
    Column("currency", CURRENCY, ("ccy",)),
    Column("retainage_pct", PERCENT, ("retainage", "retention", "retention %", "retainage %")),
    Column("tax_rate", PERCENT, ("tax %", "vat %", "gst %", "tax")),
    Column("payment_terms_days", INT_DAYS, ("terms", "net days", "payment terms")),
    Column("po_number", ID, ("po", "purchase order", "po no")),
    Column("contract_value", MONEY, ("contract sum", "original contract sum", "contract value")),
    Column("stored_retainage_pct", PERCENT, ("retainage on stored materials",)),
    Column("release_retainage", FLAG),
    Column("place_of_supply", TEXT, ("client state",)),
    Column("reverse_charge", FLAG),
    Column("tax_code", ID, ("sac", "hsn", "sac code", "hsn/sac")),
    Column("client_id", ID, ("customer id", "customer code", "account")),
    # e-invoices (EN 16931): the buyer's address parts, Peppol address, reference and VAT
    Column("client_country", TEXT, ("country", "client country code", "buyer country")),
    Column("client_city", TEXT, ("city", "client town", "buyer city")),
    Column("client_postal_code", TEXT, ("postal code", "postcode", "zip", "zip code",
                                        "client postcode", "client zip")),
    Column("client_endpoint", TEXT, ("peppol id", "client peppol id", "buyer endpoint",
                                     "electronic address")),
    Column("buyer_reference", TEXT, ("leitweg-id", "leitweg id", "leitwegid",
                                     "buyer ref", "your reference")),
    Column("tax_category", TEXT, ("vat category", "vat category code", "tax category code")),
    # posting to the books: the project's own revenue account (README "Posting to your books")
    Column("revenue_account", TEXT, ("revenue account", "income account", "sales account",
                                     "erloeskonto", "erlöskonto")),
)

LINE_COLUMNS: tuple[Column, ...] = (
    Column("project_id", ID, PROJECT_COLUMNS[0].aliases, required=True),
    Column("milestone_id", ID, ("line", "line id", "item", "item no", "milestone",
                                 "item number", "itemnumber", "s.n.", "s.no.", "sl. no.",
                                 "serial no", "serial number"),
           required=True),
    Column("description", TEXT, ("description of work", "task", "work", "scope",
                                  "particulars", "work description", "description of item"),
           required=True),
    Column("scheduled_value", MONEY, ("amount", "value", "milestone amount",
                                      "contract amount", "total amount", "total contract sum",
                                      "contract sum", "as per boq", "boq amount"), required=True),
    Column("percent_complete", PERCENT, ("% complete", "progress", "pct complete", "percent",
                                         "percent complete", "% (G/C)", "% G/C", "percent (G/C)")),
    Column("status", STATUS, ("milestone status", "stage status")),
    Column("completed_on", DATE, ("completion date", "date completed")),
    Column("stored_materials", MONEY, ("materials stored", "materials presently stored")),
    Column("change_order", TEXT, ("co", "co no", "change order no")),
    Column("retainage_pct", PERCENT, PROJECT_COLUMNS[7].aliases),
    # G703 column D: work billed on earlier applications (before progbill, when onboarding)
    Column("previously_billed", MONEY, (
        "billed to date", "previous billing", "previously billed", "from previous application",
        "work completed from previous application", "work completed from previous",
        "work completed (previous)",
        "work completed previous", "previous application", "previous certificates",
        "previous bill", "up to previous bill")),
    Column("previously_retained", MONEY, ("previously retained", "previous retainage",
                                          "retainage previously withheld")),
    # Progress as money (used exactly, never through a percent) and the G703 columns that
    # repeat what other columns say: each is checked against them.
    Column("work_to_date", MONEY, ("work completed to date", "work to date", "up to date work",
                                   "upto date work till date", "work till date", "up to date",
                                   "up to date amount")),
    Column("work_this_period", MONEY, (
        "work completed (this period)", "work completed this period", "this period",
        "work this period", "current bill", "this bill")),
    Column("total_completed_stored", MONEY, (
        "total completed & stored to date", "total completed and stored to date",
        "completed and stored to date")),
    # Quantity x rate lines (bills of quantities, unit-price contracts, running-account bills)
    Column("quantity", QUANTITY, ("qty", "contract quantity", "original contract quantity",
                                  "boq quantity", "as per boq quantity", "as per boq qty")),
    Column("unit", TEXT, ("uom", "units")),
    Column("rate", QUANTITY, ("unit rate", "unit price", "price")),
    Column("quantity_to_date", QUANTITY, ("executed quantity", "up to date quantity",
                                          "qty to date", "quantity submitted",
                                          "submitted quantity", "upto date quantity",
                                          "up to date work quantity",
                                          "upto date work till date quantity")),
    Column("quantity_this_bill", QUANTITY, ("this bill quantity", "quantity this period",
                                            "qty this bill", "current bill quantity")),
    Column("previous_quantity", QUANTITY, ("previous qty", "previous bill quantity",
                                           "up to previous bill quantity")),
    Column("balance_to_finish", MONEY, ("balance to finish", "balance to finish (C - G)")),
    Column("retainage_to_date", MONEY, ("retainage to date", "retainage (total to date)",
                                        "retainage total to date", "total retainage",
                                        "retention money")),
    Column("tax_code", ID, PROJECT_COLUMNS[16].aliases),
)

# A payments workbook or bank export: receipts against documents (progbill.receivables).
PAYMENT_COLUMNS: tuple[Column, ...] = (
    Column("document", ID, ("document no", "document number", "invoice", "invoice no",
                            "invoice number", "doc no"), required=True),
    Column("received", DATE, ("date received", "payment date", "received", "date",
                              "value date"), required=True),
    Column("amount", MONEY, ("amount received", "amount paid", "paid", "payment"),
           required=True),
    Column("currency", CURRENCY, ("ccy",)),
    Column("reference", TEXT, ("ref", "payment reference", "transaction id")),
    Column("method", TEXT, ("payment method", "mode")),
    Column("note", TEXT, ("notes", "memo", "narration")),
    Column("client_id", ID, ("customer id", "customer code", "account")),
)

# One of these must be present on a lines sheet (progress by percent, by status, or as money).
PROGRESS_COLUMNS = ("percent_complete", "status", "work_to_date", "work_this_period",
                    "total_completed_stored", "quantity_to_date", "quantity_this_bill")

# Sheet names of the two-sheet layout.
PROJECT_SHEET_NAMES = ("projects",)
LINE_SHEET_NAMES = ("milestones", "schedule of values", "sov", "lines")

# Flat layout: a row carries its project's columns. retainage_pct and tax_code there are read
# per line (a per-line value equal on every row is the project's value in effect).
# On a flat sheet a name a line column uses is the line's ("Contract Sum" beside line items is
# each line's amount; on a Projects sheet it is the project's contract value).
_LINE_NAMES = {normalise(n) for c in LINE_COLUMNS for n in (c.name, *c.aliases)}
FLAT_PROJECT_ONLY = tuple(
    Column(c.name, c.kind, tuple(a for a in c.aliases if normalise(a) not in _LINE_NAMES),
           c.required)
    for c in PROJECT_COLUMNS if c.name not in {"project_id", "retainage_pct", "tax_code"}
)
FLAT_COLUMNS: tuple[Column, ...] = LINE_COLUMNS + FLAT_PROJECT_ONLY
# The columns a flat row carries for its project only (read once per project, then compared).
PROJECT_ONLY_NAMES = tuple(c.name for c in FLAT_PROJECT_ONLY)

STATUS_PROGRESS = {
    "not started": False,
    "in progress": False,
    "complete": True,
    "completed": True,
    "done": True,
    "approved": True,
}

def lookup(columns: tuple[Column, ...]) -> dict[str, Column]:
    """Matching key -> column, for the canonical name and every alias."""
    table: dict[str, Column] = {}
    for column in columns:
        for name in (column.name, *column.aliases):
            table[normalise(name)] = column
    return table


def normalise_status(text: str) -> str:
    return " ".join(re.split(r"[\s_\-]+", text.strip().casefold()))
