"""``progbill export --period P --to FORMAT``: the imperative shell around the journal and the
package formats. It reads the store, checks that nothing the export needs is missing (every
missing key named, with the documents that need it, before anything is written), then writes
``exports/P/FORMAT/...`` atomically. Exporting the same period twice gives the same bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from progbill.books import formats
from progbill.books.journal import (
    Document,
    ExportError,
    Payment,
    check,
    documents_of,
    postings,
)
from progbill.config import Config
from progbill.money import from_minor, is_known_currency
from progbill.problems import ConfigError
from progbill.workspace import Workspace, atomic_write_bytes

# formats whose package books every document in its own currency (no rate needed)
MULTI_CURRENCY = {"xero", "zoho"}
# formats that need a customer code (client_id) per customer
NEEDS_CUSTOMER_CODE = {"sage", "datev"}


@dataclass
class ExportReport:
    period: str
    format: str
    folder: str
    files: list[str] = field(default_factory=list)
    documents: int = 0
    payments: int = 0
    debits: str = ""
    exit_code: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"period": self.period, "format": self.format, "folder": self.folder,
                "files": self.files, "documents": self.documents, "payments": self.payments,
                "debits": self.debits, "exit_code": self.exit_code}


def parse_rates(given: list[str]) -> dict[str, Decimal]:
    """``--rate USD=0.92``: one unit of USD is 0.92 of the books' currency."""
    rates: dict[str, Decimal] = {}
    for text in given:
        code, _, value = text.partition("=")
        code = code.strip().upper()
        try:
            rate = Decimal(value.strip())
        except InvalidOperation:
            rate = Decimal(0)
        if not is_known_currency(code) or not rate.is_finite() or rate <= 0:
            raise ConfigError(f"--rate {text!r}: write it CURRENCY=RATE, e.g. USD=0.92 (one USD "
                              "is 0.92 of the books' currency)")
        rates[code] = rate
    return rates


def rates_file(ws: Workspace) -> dict[str, Decimal]:
    """The exchange rates of ``inbox/rates.csv`` (or .xlsx): columns Currency and Rate."""
    for name in ("rates.csv", "rates.xlsx", "rates.xls", "rates.ods"):
        path = ws.inbox / name
        if not path.is_file():
            continue
        try:
            if path.suffix == ".csv":
                frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            else:
                frame = pd.read_excel(path, dtype=str, keep_default_na=False,
                                      engine="calamine")
        except Exception as exc:
            raise ConfigError(f"inbox/{name} cannot be read: {exc}") from exc
        columns = {str(c).strip().casefold(): c for c in frame.columns}
        if "currency" not in columns or "rate" not in columns:
            raise ConfigError(f"inbox/{name}: needs the columns Currency and Rate (one unit of "
                              "the currency in the books' currency)")
        found = [f"{row[columns['currency']]}={row[columns['rate']]}"
                 for _, row in frame.iterrows() if str(row[columns["currency"]]).strip()]
        try:
            return parse_rates(found)
        except ConfigError as exc:
            raise ConfigError(f"inbox/{name}: {exc.message}") from exc
    return {}


def export(root: Path, period: str, to: str, rate_options: list[str] | None = None,
           config_path: Path | None = None) -> ExportReport:
    from progbill.store import open_store

    if to not in formats.FORMATS:
        raise ConfigError(f"--to {to!r}: choose one of {', '.join(formats.FORMATS)}")
    ws = Workspace(root).require()
    config = ws.load_config(config_path)
    books = config.accounts.currency or config.billing.currency
    rates = rates_file(ws)
    rates.update(parse_rates(rate_options or []))
    with open_store(ws.db_path) as store:
        every = store.documents()
        voided = set(store.voided())
        docs = every[(every["period"] == period) & ~every["number"].isin(voided)]
        numbers = set(docs["number"])
        taxes = store.document_taxes()
        lines = store.document_lines()
        details = store.project_details(docs["project_id"])
        documents = documents_of(docs, taxes[taxes["number"].isin(numbers)],
                                 lines[lines["number"].isin(numbers)], details)
        payments = _payments(store.payments(), every, period, details)
    check(documents, payments, config.accounts, books, rates,
          rate_needed=to not in MULTI_CURRENCY, customer_codes=to in NEEDS_CUSTOMER_CODE)
    if to == "datev":
        _check_datev(documents, config)
    entries = postings(documents, payments, config.accounts, books, rates)
    files = _write(to, documents, payments, entries, config, books, rates, period)
    folder = ws.root / "exports" / period / to
    _replace_folder(folder, files)
    debits = sum(p.debit for p in entries)
    return ExportReport(period, to, str(folder.relative_to(ws.root)), sorted(files),
                        len(documents), len(payments), f"{from_minor(debits, books):f} {books}")


def _replace_folder(folder: Path, files: dict[str, bytes]) -> None:
    """The export's folder holds exactly these files: written into a new folder beside it,
    which then takes its place (a file of an earlier export of the same period, such as a
    second Xero batch no longer needed, never lingers to be imported twice)."""
    import secrets
    import shutil

    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = folder.with_name(f".{folder.name}.new-{secrets.token_hex(4)}")
    fresh.mkdir()
    try:
        for name, data in sorted(files.items()):
            atomic_write_bytes(fresh / name, data)
        old = folder.with_name(f".{folder.name}.old-{secrets.token_hex(4)}")
        if folder.exists():
            folder.rename(old)
        fresh.rename(folder)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _write(to: str, documents: list[Document], payments: list[Payment], entries: list,
           config: Config, books: str, rates: dict[str, Decimal], period: str
           ) -> dict[str, bytes]:
    accounts = config.accounts
    if to == "journal":
        return formats.journal(entries, books, period)
    if to == "quickbooks":
        return formats.quickbooks(documents, payments, entries, accounts, books, period)
    if to == "xero":
        return formats.xero(documents, payments, entries, accounts, books, period)
    if to == "zoho":
        return formats.zoho(documents, payments, entries, accounts, rates, books, period)
    if to == "tally":
        return formats.tally(documents, payments, entries, books, period, config.seller.name)
    if to == "datev":
        return formats.datev(documents, payments, entries, config, books, period)
    return formats.sage(documents, payments, entries, accounts, books, period)


def _check_datev(documents: list[Document], config: Config) -> None:
    settings = config.datev
    missing = [f"datev.{k}" for k, v in (("consultant", settings.consultant),
                                         ("client", settings.client),
                                         ("fiscal_year_start", settings.fiscal_year_start))
               if not v]
    length = settings.account_length + 1
    bad = sorted({f"{d.project} ({d.client_id!r})" for d in documents
                  if not (d.client_id.isdigit() and len(d.client_id) == length)})
    if bad:
        missing.append(f"client_id as a {length}-digit Debitor account number for "
                       f"{', '.join(bad)}")
    if missing:
        raise ExportError("nothing was exported; DATEV needs: " + "; ".join(missing))


def _payments(recorded: pd.DataFrame, documents: pd.DataFrame, period: str,
              details: dict[str, dict[str, object]]) -> list[Payment]:
    """Accepted payments received in ``period``."""
    if recorded.empty:
        return []
    docs = documents.set_index("number")
    out = []
    for row in recorded.to_dict("records"):
        received = str(row["received"] or "")
        if row["status"] != "accepted" or not received.startswith(period) \
                or row["document"] not in docs.index:
            continue
        doc = docs.loc[row["document"]]
        project = details.get(str(doc["project_id"]), {})
        customer = str(project.get("client_id") or "").strip() or str(doc["client"])
        out.append(Payment(
            reference=str(row["reference"] or f"P{row['id']}"),
            received=date.fromisoformat(received[:10]), document=str(row["document"]),
            amount=int(row["amount"]), currency=str(row["currency"]), customer=customer,
            client=str(doc["client"]), project=str(doc["project_id"]),
            method=str(row["method"] or "")))
    return out
