"""``progbill export``: journal entries and the import files of QuickBooks Online, Xero, Zoho
Books, TallyPrime, DATEV and Sage 50, built from the sample businesses' two months.

Each format's file is read back and checked against the layout its README row names: columns in
order, encoding, date and number formats, credit-note signs, and totals against the ledger.
Golden files (tests/golden-exports, reviewed by hand once) pin every byte; update them with
PROGBILL_UPDATE_GOLDEN=1 after a deliberate change."""

from __future__ import annotations

import csv
import io
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import run_cli, write_csv
from lxml import etree

from progbill.books import formats

SAMPLES = Path(__file__).resolve().parent.parent / "sample_workbooks"
GOLDEN = Path(__file__).resolve().parent / "golden-exports"
BUSINESSES = {
    "harborview": ("harborview-construction-progress.xlsx", "USD"),
    "northlight": ("northlight-studio-milestones.csv", "GBP"),
    "sahyadri": ("sahyadri-consultants-progress.xlsx", "INR"),
    "baunord": ("einvoice/{month}/baunord-leistungsstand.csv", "EUR"),
}


def _business(root: Path, name: str) -> Path:
    """A workspace of one sample business with both sample months billed (no PDFs); in
    November Northlight also records a receipt for its first October invoice."""
    ws = root / name
    assert run_cli("init", str(ws))[0] == 0
    for path in (SAMPLES / "settings").glob(f"{name}*"):
        shutil.copy(path, ws / path.name)
    toml = ws / f"{name}.toml"
    toml.write_text(toml.read_text().replace('formats = ["factur-x", "ubl"]', "formats = []"))
    pattern, _ = BUSINESSES[name]
    for month in ("2026-10", "2026-11"):
        folder = root / f"{name}-{month}"
        folder.mkdir()
        source = SAMPLES / (pattern.format(month=month) if "{" in pattern else
                            f"{month}/{pattern}")
        shutil.copy(source, folder / source.name)
        if name == "northlight" and month == "2026-11":
            write_csv(folder / "payments.csv", [
                ["Invoice No", "Date Received", "Amount", "Reference"],
                ["INV-2026-00001", "2026-11-14", "17640.00", "BACS 88121"]])
        code, out = run_cli("run", str(folder), "--period", month, "-w", str(ws), "--config",
                            str(toml), "--no-pdf")
        assert code == 0, out
    return ws


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("books")
    return {name: _business(root, name) for name in BUSINESSES}


def _export(ws: Path, name: str, fmt: str, period: str = "2026-11", *extra: str
            ) -> tuple[int, str, Path]:
    code, out = run_cli("export", "--period", period, "--to", fmt, "-w", str(ws), "--config",
                        str(ws / f"{name}.toml"), *extra)
    return code, out, ws / "exports" / period / fmt


def _rows(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding)),
                               delimiter=delimiter))


def _header(path: Path, encoding: str = "utf-8", delimiter: str = ",", line: int = 0
            ) -> list[str]:
    return next(iter(list(csv.reader(io.StringIO(path.read_bytes().decode(encoding)),
                                     delimiter=delimiter))[line:]))


def _ledger_documents(ws: Path, period: str) -> dict[str, dict[str, object]]:
    from progbill.store import Store

    with Store(ws / "progbill.db") as store:
        docs = store.documents()
    return {str(d["number"]): d for d in docs.to_dict("records") if d["period"] == period}


D = Decimal


# ------------------------------------------------------------------------------------------------
# the journal


@pytest.mark.parametrize("name", sorted(BUSINESSES))
def test_every_entry_of_every_sample_document_balances_to_the_cent(samples, name):
    ws = samples[name]
    for period in ("2026-10", "2026-11"):
        code, out, folder = _export(ws, name, "journal", period)
        assert code == 0, out
        rows = _rows(folder / f"journal-{period}.csv")
        assert _header(folder / f"journal-{period}.csv") == formats.JOURNAL_COLUMNS
        docs = _ledger_documents(ws, period)
        entries: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            entries.setdefault(row["Entry"], []).append(row)
        assert set(docs) <= set(entries)
        for entry, lines in entries.items():
            debit = sum(D(r["Debit"] or 0) for r in lines)
            credit = sum(D(r["Credit"] or 0) for r in lines)
            assert debit == credit, entry
            assert sum(D(r["Document amount"]) for r in lines) == 0, entry
            if entry in docs:  # Dr receivable = the amount due, as the ledger says
                doc = docs[entry]
                receivable = sum(D(r["Debit"] or 0) - D(r["Credit"] or 0) for r in lines
                                 if r["Role"] == "receivable")
                exp = 0 if doc["currency"] == "JPY" else 2
                assert receivable == D(int(doc["amount_due"])).scaleb(-exp)  # type: ignore
                retained = sum(D(r["Debit"] or 0) - D(r["Credit"] or 0) for r in lines
                               if r["Role"] == "retainage_receivable")
                assert retained == D(int(doc["retainage_this_period"])).scaleb(-exp)  # type: ignore


def test_a_credit_note_mirrors_and_a_release_moves_retainage_back(tmp_path):
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws))[0] == 0
    (ws / "progbill.toml").write_text(
        '[billing]\ncurrency = "EUR"\ntax_rate = 10\nretainage_pct = 10\n'
        '[accounts]\nreceivable = "1400"\nretainage_receivable = "1401"\nrevenue = "8400"\n'
        '[[accounts.tax]]\nlabel = "Tax"\nrate = 10\naccount = "1776"\n')
    header = ["Project", "Client", "Revenue Account", "Release Retainage", "Line",
              "Description", "Amount", "% Complete"]
    months = {"2026-09": (50, "no"), "2026-10": (40, "no"), "2026-11": (40, "yes")}
    for month, (done, release) in months.items():
        folder = tmp_path / month
        folder.mkdir()
        write_csv(folder / "p.csv", [header, ["P-1", "Acme", "8410", release, "1", "Work",
                                              "1000.00", done]])
        assert run_cli("run", str(folder), "--period", month, "-w", str(ws), "--no-pdf")[0] == 0

    def entry(period: str) -> list[tuple[str, str, str, str]]:
        code, out, folder = _export(ws, "x", "journal", period)
        assert code == 0, out
        return [(r["Kind"], r["Account"], r["Debit"], r["Credit"])
                for r in _rows(folder / f"journal-{period}.csv")]

    (ws / "x.toml").write_text((ws / "progbill.toml").read_text())
    # 500.00 of work, 50.00 withheld, 10% tax on 500.00: Dr 1400 500.00, Dr 1401 50.00 ...
    # and the revenue on the project's own revenue account
    assert entry("2026-09") == [("invoice", "1400", "500.00", ""),
                                ("invoice", "1401", "50.00", ""),
                                ("invoice", "8410", "", "500.00"),
                                ("invoice", "1776", "", "50.00")]
    # progress went back 100.00: the credit note mirrors it
    assert entry("2026-10") == [("credit-note", "1400", "", "100.00"),
                                ("credit-note", "1401", "", "10.00"),
                                ("credit-note", "8410", "100.00", ""),
                                ("credit-note", "1776", "10.00", "")]
    # the 40.00 still withheld is released: retainage receivable back to receivable
    assert entry("2026-11") == [("invoice", "1400", "40.00", ""),
                                ("invoice", "1401", "", "40.00")]


def test_what_an_export_lacks_is_named_and_nothing_is_written(tmp_path, samples):
    ws = samples["northlight"]
    bare = tmp_path / "bare.toml"
    bare.write_text('[billing]\ncurrency = "EUR"\n')
    code, out = run_cli("export", "--period", "2026-11", "--to", "sage", "-w", str(ws),
                        "--config", str(bare))
    assert code == 2
    for needed in ("accounts.receivable: needed by INV-2026-00003, INV-2026-00004",
                   "accounts.revenue", '[[accounts.tax]] label = "VAT", rate = 20',
                   "client_id of project NLS-031", "an exchange rate GBP=EUR",
                   "accounts.bank: needed by payment BACS 88121 of INV-2026-00001",
                   "accounts.rounding"):
        assert needed in out, needed
    assert not (ws / "exports" / "2026-11" / "sage").exists()
    code, out = run_cli("export", "--period", "2026-11", "--to", "journal", "-w", str(ws),
                        "--rate", "GBP=lots")
    assert code == 2 and "--rate 'GBP=lots'" in out


def test_another_currency_is_converted_at_the_rate_given_never_at_one(samples, tmp_path):
    ws = samples["northlight"]
    euro = tmp_path / "euro.toml"
    euro.write_text((ws / "northlight.toml").read_text().replace(
        "[accounts]\n", '[accounts]\ncurrency = "EUR"\n'))
    code, out = run_cli("export", "--period", "2026-11", "--to", "journal", "-w", str(ws),
                        "--config", str(euro))
    assert code == 2 and "an exchange rate GBP=EUR (--rate GBP=RATE or a rates file)" in out
    (ws / "inbox" / "rates.csv").write_text("Currency,Rate\nGBP,1.1537\n")
    try:
        code, out = run_cli("export", "--period", "2026-11", "--to", "journal", "-w", str(ws),
                            "--config", str(euro))
        assert code == 0, out
        rows = _rows(ws / "exports" / "2026-11" / "journal" / "journal-2026-11.csv")
        first = [r for r in rows if r["Entry"] == "INV-2026-00003"]
        # 9,800.00 GBP of work at 1.1537 = 11,306.26 EUR; the entry still balances, any cent
        # of conversion difference on accounts.rounding
        revenue = next(r for r in first if r["Role"] == "revenue")
        assert (revenue["Credit"], revenue["Document amount"]) == ("11306.26", "-9800.00")
        assert sum(D(r["Debit"] or 0) for r in first) == sum(D(r["Credit"] or 0) for r in first)
        assert {r["Books currency"] for r in rows} == {"EUR"}
        # a run leaves the rates file in the inbox, unread
        code, out = run_cli("validate", str(ws / "inbox"))
        assert "rates.csv" not in out or "exchange rates" in out
    finally:
        (ws / "inbox" / "rates.csv").unlink()


def test_receipts_are_exported_where_the_format_has_them(samples):
    ws = samples["northlight"]
    code, out, folder = _export(ws, "northlight", "journal")
    receipt = [r for r in _rows(folder / "journal-2026-11.csv") if r["Kind"] == "receipt"]
    assert [(r["Account"], r["Debit"], r["Credit"]) for r in receipt] == [
        ("1200", "17640.00", ""), ("1100", "", "17640.00")]
    code, out, folder = _export(ws, "northlight", "xero")
    assert _rows(folder / "xero-bank-2026-11.csv") == [
        {"*Date": "14/11/2026", "*Amount": "17640.00", "Payee": "Ashby & Cole Solicitors LLP",
         "Description": "Payment of INV-2026-00001", "Reference": "BACS 88121"}]
    code, out, folder = _export(ws, "northlight", "quickbooks")
    assert code == 0, out
    assert _rows(folder / "quickbooks-bank-2026-11.csv")[0]["Amount"] == "17640.00"
    code, out, folder = _export(ws, "northlight", "tally")
    assert code == 0, out
    root = etree.parse(str(folder / "tally-vouchers-2026-11.xml")).getroot()
    receipts = root.xpath("//VOUCHER[@VCHTYPE='Receipt']")
    assert len(receipts) == 1
    assert receipts[0].xpath("ALLLEDGERENTRIES.LIST/LEDGERNAME/text()") == [
        "1200", "Ashby & Cole Solicitors LLP"]


# ------------------------------------------------------------------------------------------------
# each package's layout


def test_datev_buchungsstapel_as_datev_describes_it(samples):
    ws = samples["baunord"]
    code, out, folder = _export(ws, "baunord", "datev")
    assert code == 0, out
    path = folder / "EXTF_Buchungsstapel_2026-11.csv"
    raw = path.read_bytes()
    assert b"\r\n" in raw and "Schlüssel".encode("cp1252") in raw  # Windows-1252, CRLF
    header = _header(path, "cp1252", ";")
    assert header[:6] == ["EXTF", "700", "21", "Buchungsstapel", "13", "20261130000000000"]
    assert header[10:16] == ["1001", "1", "20260101", "4", "20261101", "20261130"]
    assert _header(path, "cp1252", ";", 1) == formats.DATEV_COLUMNS
    rows = list(csv.reader(io.StringIO(raw.decode("cp1252")), delimiter=";"))[2:]
    assert [(r[0], r[1], r[6], r[7], r[8], r[9], r[10]) for r in rows] == [
        # the credit note: H on the Debitor, reverse charge (no German VAT)
        ("12000,00", "H", "10002", "8400", "", "3011", "CN-2026-00001"),
        ("600,00", "H", "1401", "10002", "", "3011", "CN-2026-00001"),
        # INV-2026-00003: 157,300.00 + 19% VAT 29,887.00 gross against revenue, BU 3
        ("187187,00", "S", "10001", "8400", "3", "3011", "INV-2026-00003"),
        ("7865,00", "S", "1401", "10001", "", "3011", "INV-2026-00003")]


def test_xero_invoices_credit_notes_and_journal_as_xero_publishes_them(samples, monkeypatch):
    ws = samples["baunord"]
    code, out, folder = _export(ws, "baunord", "xero")
    assert code == 0, out
    assert _header(folder / "xero-invoices-2026-11.csv") == formats.XERO_INVOICE_COLUMNS
    credit = _rows(folder / "xero-credit-notes-2026-11.csv")
    assert _header(folder / "xero-credit-notes-2026-11.csv")[10:14] == [
        "*CreditNoteNumber", "Reference", "*CreditNoteDate", "DueDate"]
    assert [(r["*CreditNoteNumber"], r["*CreditNoteDate"], r["*UnitAmount"], r["*TaxType"])
            for r in credit] == [("CN-2026-00001", "30/11/2026", "12000.00",
                                  "Zero Rated EC Services")]  # positive, as Xero asks
    invoice = _rows(folder / "xero-invoices-2026-11.csv")
    assert [(r["*InvoiceNumber"], r["*UnitAmount"], r["TaxAmount"], r["*AccountCode"])
            for r in invoice] == [("INV-2026-00003", "157300.00", "29887.00", "8400")]
    journal = _rows(folder / "xero-journal-2026-11.csv")
    assert sum(D(r["*Amount"]) for r in journal) == 0
    assert [(r["*AccountCode"], r["*Amount"]) for r in journal if "INV" in r["*Narration"]] == [
        ("1401", "7865.00"), ("1400", "-7865.00")]
    monkeypatch.setattr(formats, "XERO_MAX_INVOICES", 1)
    code, out, folder = _export(samples["harborview"], "harborview", "xero")
    names = sorted(p.name for p in folder.glob("xero-invoices-*"))
    assert names == ["xero-invoices-2026-11-1.csv", "xero-invoices-2026-11-2.csv"]


def test_quickbooks_invoices_journal_for_retainage_and_credit_notes(samples):
    ws = samples["harborview"]
    code, out, folder = _export(ws, "harborview", "quickbooks")
    assert code == 0, out
    assert _header(folder / "quickbooks-invoices-2026-11.csv") == formats.QB_INVOICE_COLUMNS
    invoices = _rows(folder / "quickbooks-invoices-2026-11.csv")
    assert {r["InvoiceDate"] for r in invoices} == {"11/30/2026"}  # MM/DD/YYYY
    docs = _ledger_documents(ws, "2026-11")
    for number, doc in docs.items():  # the invoice is billed in full; retainage by journal
        billed = sum(D(r["ItemAmount"]) for r in invoices if r["InvoiceNo"] == number)
        assert billed == D(int(doc["completed_this_period"])).scaleb(-2)  # type: ignore
    journal = _rows(folder / "quickbooks-journal-2026-11.csv")
    assert _header(folder / "quickbooks-journal-2026-11.csv") == formats.QB_JOURNAL_COLUMNS
    assert sum(D(r["Debits"] or 0) for r in journal) == sum(D(r["Credits"] or 0)
                                                           for r in journal)
    assert {r["AccountName"] for r in journal} == {"Retainage Receivable",
                                                   "Accounts Receivable (A/R)"}
    # a credit note goes to the journal import, which balances it
    code, out, folder = _export(samples["baunord"], "baunord", "quickbooks")
    credit = [r for r in _rows(folder / "quickbooks-journal-2026-11.csv")
              if r["JournalNo"] == "CN-2026-00001"]
    assert [(r["AccountName"], r["Debits"], r["Credits"]) for r in credit] == [
        ("1400", "", "11400.00"), ("1401", "", "600.00"), ("8400", "12000.00", "")]
    assert "CN-2026-00001" not in (folder / "quickbooks-invoices-2026-11.csv").read_text()


def test_sage_audit_trail_as_sage_imports_it(samples):
    code, out, folder = _export(samples["baunord"], "baunord", "sage")
    assert code == 0, out
    path = folder / "sage-audit-trail-2026-11.csv"
    assert _header(path) == formats.SAGE_COLUMNS
    rows = [(r["Type"], r["Account Reference"], r["Nominal A/C Ref"], r["Date"],
             r["Reference"], r["Net Amount"], r["Tax Code"], r["Tax Amount"])
            for r in _rows(path)]
    assert rows == [
        ("SC", "10002", "8400", "30/11/2026", "CN-2026-00001", "12000.00", "T4", "0.00"),
        ("JC", "", "1401", "30/11/2026", "CN-2026-00001", "600.00", "T9", "0.00"),
        ("JD", "", "1400", "30/11/2026", "CN-2026-00001", "600.00", "T9", "0.00"),
        ("SI", "10001", "8400", "30/11/2026", "INV-2026-00003", "157300.00", "T1", "29887.00"),
        ("JD", "", "1401", "30/11/2026", "INV-2026-00003", "7865.00", "T9", "0.00"),
        ("JC", "", "1400", "30/11/2026", "INV-2026-00003", "7865.00", "T9", "0.00")]


def test_tally_vouchers_with_cgst_sgst_and_igst_ledgers(samples):
    ws = samples["sahyadri"]
    code, out, folder = _export(ws, "sahyadri", "tally")
    assert code == 0, out
    root = etree.parse(str(folder / "tally-vouchers-2026-11.xml")).getroot()
    assert root.xpath("string(HEADER/TALLYREQUEST)") == "Import Data"
    vouchers = root.xpath("//VOUCHER")
    assert [v.get("VCHTYPE") for v in vouchers] == ["Sales", "Sales"]
    for voucher in vouchers:
        amounts = [D(a) for a in voucher.xpath("ALLLEDGERENTRIES.LIST/AMOUNT/text()")]
        assert sum(amounts) == 0  # every voucher balances
        for entry in voucher.xpath("ALLLEDGERENTRIES.LIST"):  # debits negative, deemed positive
            deemed = entry.findtext("ISDEEMEDPOSITIVE")
            assert (D(entry.findtext("AMOUNT")) < 0) == (deemed == "Yes")
    ledgers = [v.xpath("ALLLEDGERENTRIES.LIST/LEDGERNAME/text()") for v in vouchers]
    assert "Output CGST 9%" in ledgers[0] and "Output SGST 9%" in ledgers[0]  # Maharashtra
    assert "Output IGST 18%" in ledgers[1]  # Karnataka: inter-state
    assert vouchers[0].findtext("DATE") == "20261130"


def test_zoho_invoices_carry_the_gst_fields(samples):
    code, out, folder = _export(samples["sahyadri"], "sahyadri", "zoho")
    assert code == 0, out
    path = folder / "zoho-invoices-2026-11.csv"
    assert _header(path) == formats.ZOHO_INVOICE_COLUMNS
    rows = _rows(path)
    assert [(r["Invoice Number"], r["Place of Supply"], r["GST Treatment"], r["HSN/SAC"],
             r["Item Tax"], r["Item Tax %"], r["Item Tax Type"]) for r in rows] == [
        ("SSC/2026/0003", "MH", "business_gst", "998334", "GST18", "18", "Tax Group"),
        ("SSC/2026/0004", "KA", "business_gst", "998332", "IGST18", "18", "ItemAmount")]
    assert rows[0]["GST Identification Number (GSTIN)"] == "27AABCP1234M1Z5"
    assert rows[0]["Invoice Date"] == "2026-11-30"


def test_every_format_gives_the_same_bytes_twice_and_matches_its_golden_file(samples):
    update = os.environ.get("PROGBILL_UPDATE_GOLDEN") == "1"
    for name, ws in sorted(samples.items()):
        for fmt in formats.FORMATS:
            code, out, folder = _export(ws, name, fmt)
            if code != 0:
                assert "client_id" in out and fmt in ("datev", "sage"), out
                continue
            first = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
            code, out, folder = _export(ws, name, fmt)
            assert {p.name: p.read_bytes() for p in sorted(folder.iterdir())} == first
            golden = GOLDEN / name / fmt
            for file_name, data in first.items():
                if file_name.endswith(".xlsx"):
                    continue  # deterministic (checked above); its cells are the CSV's
                if update:
                    golden.mkdir(parents=True, exist_ok=True)
                    (golden / file_name).write_bytes(data)
                assert (golden / file_name).read_bytes() == data, f"{name}/{fmt}/{file_name}"
