"""Payments, document states, the AR ageing and the tax summary (issue 11 sections 2-4), with
figures worked by hand from the sample months."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import run_cli, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from progbill.receivables import ageing, balances, open_items, states, tax_summary

SAMPLES = Path(__file__).resolve().parents[1] / "sample_workbooks"



@pytest.fixture(scope="module")
def months(tmp_path_factory):
    """The three sample businesses billed for October and November 2026 (no PDFs)."""
    ws = tmp_path_factory.mktemp("receivables") / "ws"
    run_cli("init", str(ws))
    for month in ("2026-10", "2026-11"):
        code, out = run_cli("run", str(SAMPLES / month), "--period", month, "-w", str(ws),
                         "--no-pdf", "--config", str(SAMPLES / "settings" / "demo.toml"))
        assert code == 0, out
    return ws


def _sheet(path: Path, name: str) -> list[dict[str, object]]:
    rows = list(openpyxl.load_workbook(path)[name].iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]
            if r[0] is not None and not str(r[0]).startswith("Total")]


# ---------------------------------------------------------------------------------------------
# pure functions, by hand


def _docs() -> pd.DataFrame:
    return pd.DataFrame([
        {"number": "INV-1", "type": "Invoice", "amount_due": 100_000, "corrects_number": None,
         "client": "A", "currency": "USD", "due_date": "2026-10-31", "invoice_date": "2026-10-01",
         "period": "2026-10"},
        {"number": "INV-2", "type": "Invoice", "amount_due": 50_000, "corrects_number": None,
         "client": "A", "currency": "USD", "due_date": "2026-12-31", "invoice_date": "2026-11-30",
         "period": "2026-11"},
        {"number": "CN-1", "type": "Credit Note", "amount_due": -20_000,
         "corrects_number": "INV-1", "client": "A", "currency": "USD", "due_date": None,
         "invoice_date": "2026-11-30", "period": "2026-11"},
    ])


def _payments(*rows: tuple[str, int]) -> pd.DataFrame:
    return pd.DataFrame([{"document": d, "amount": a, "status": "accepted", "reference": "",
                          "source": "x"} for d, a in rows],
                        columns=["document", "amount", "status", "reference", "source"])


def test_balances_and_states_by_hand():
    docs = _docs()
    owed = balances(docs, _payments(("INV-1", 30_000)))
    # INV-1: 1,000.00 - credit 200.00 - paid 300.00 = 500.00; INV-2 untouched; CN spent
    assert owed["balance"].tolist() == [50_000, 50_000, 0]
    found = states(docs, owed, date(2026, 12, 15), pd.Series([False] * 3), {})
    assert found == ["Part paid, overdue 45 days", "Open", "Credits INV-1"]
    owed = balances(docs, _payments(("INV-1", 80_000)))
    assert states(docs, owed, date(2026, 12, 15), pd.Series([False] * 3), {})[0] == "Paid"
    full = docs.assign(amount_due=[100_000, 50_000, -100_000])
    assert states(full, balances(full, _payments()), date(2026, 11, 1),
                  pd.Series([False] * 3), {})[0] == "Credited"


def test_ageing_by_hand():
    docs = _docs()
    owed = balances(docs, _payments(("INV-1", 30_000)))
    held = pd.DataFrame([{"client": "A", "currency": "USD", "retainage_held": 7_500}])
    [row] = ageing(open_items(docs, owed), held, date(2026, 12, 15)).to_dict("records")
    # INV-1 500.00 is 45 days past due (31-60); INV-2 500.00 is not due yet
    assert (row["Current"], row["31-60"], row["total"], row["retainage_held"]) == (
        50_000, 50_000, 100_000, 7_500)


def test_tax_summary_nets_credit_notes():
    docs = _docs()
    taxes = pd.DataFrame([
        {"number": "INV-1", "label": "VAT", "rate": "20", "base": 80_000, "amount": 16_000},
        {"number": "INV-2", "label": "VAT", "rate": "20", "base": 40_000, "amount": 8_000},
        {"number": "CN-1", "label": "VAT", "rate": "20", "base": -16_000, "amount": -3_200}])
    summary = tax_summary(docs, taxes, {})
    nov = summary[summary["period"] == "2026-11"].iloc[0]
    assert (nov["base"], nov["amount"], nov["documents"]) == (24_000, 4_800, 2)


# ---------------------------------------------------------------------------------------------
# the samples' ledger


def test_the_tax_summary_equals_the_documents(months):
    from progbill.store import Store

    with Store(months / "progbill.db") as store:
        taxes = store.document_taxes().merge(store.documents()[["number", "period",
                                                                "currency"]], on="number")
    expected = taxes.groupby(["period", "currency", "label"])[["base", "amount"]].sum()
    rows = _sheet(months / "ledger.xlsx", "Tax Summary")
    assert len(rows) == len(expected)
    for row in rows:
        base, amount = expected.loc[(row["Period"], row["Currency"], row["Tax Type"])]
        exp = 0 if row["Currency"] == "JPY" else 2
        assert round(row["Taxable Amount"] * 10 ** exp) == base
        assert round(row["Tax"] * 10 ** exp) == amount


def test_billed_to_date_is_the_opening_plus_the_documents(months):
    rows = _sheet(months / "ledger.xlsx", "Projects")
    assert rows
    for row in rows:
        assert row["Billed To Date"] == pytest.approx(
            row["Billed Before progbill"] + row["Billed On Documents"]), row["Project ID"]
    sahyadri = next(r for r in rows if r["Billed Before progbill"])
    assert sahyadri["Billed Before progbill"] > 0


def test_lines_carry_currency_period_and_date(months):
    rows = _sheet(months / "ledger.xlsx", "Lines")
    assert {r["Currency"] for r in rows} == {"USD", "GBP", "INR"}
    assert {r["Period"] for r in rows} == {"2026-10", "2026-11"}
    assert all(isinstance(r["Invoice Date"], datetime) for r in rows)


def _codes_of_lastrun_cli(ws: Path) -> set[str]:
    import json

    report = max((ws / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return {p["code"] for f in json.loads(report.read_text())["files"] for p in f["problems"]}


def test_payments_from_the_inbox_and_typed_in_the_ledger(tmp_path):
    import json

    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    code, out = run_cli("run", str(SAMPLES / "2026-10" / "northlight-studio-milestones.csv"),
                     "--period", "2026-10", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    invoices = {r["Document No"]: r for r in _sheet(ws / "ledger.xlsx", "Invoices")}
    first, second = sorted(invoices)
    due = invoices[first]["Amount Due"]
    bank = write_csv(tmp_path / "bank.csv", [
        ["Invoice No", "Date Received", "Amount", "Reference"],
        [first, "2026-09-10", f"{due:.2f}", "BACS-1"]])
    code, out = run_cli("run", str(bank), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    assert "bank.csv: 1 payment recorded, 1 warning" in out
    assert f"the payment for {first} is dated 2026-09-10, before the document" in out
    assert "payment-before-document" in _codes_of_lastrun_cli(ws)
    again = write_csv(tmp_path / "again.csv", [
        ["Invoice No", "Date Received", "Amount", "Reference"],
        [second, "2026-11-11", "0.00", "BACS-1"], [second, "2026-11-11", "1.00", "BACS-2"],
        [second, "2026-11-12", "1.00", "BACS-2"]])
    code, report = run_cli("validate", str(again), "-w", str(ws), "--json")
    assert [p["code"] for p in json.loads(report)["files"][0]["problems"]] == [
        "payments", "payment-rejected", "duplicate-payment"]
    rejected = write_csv(tmp_path / "bad.csv", [
        ["Invoice No", "Date Received", "Amount", "Currency"],
        ["INV-2099-00009", "2026-11-10", "10.00", ""],
        [second, "2026-11-10", "10.00", "EUR"],
        [second, "2026-11-10", "99999999.00", ""]])
    code, report = run_cli("validate", str(rejected), "-w", str(ws), "--json")
    assert [p["code"] for p in json.loads(report)["files"][0]["problems"]] == [
        "payments", "unknown-document", "payment-currency", "overpayment"]
    code, out = run_cli("validate", str(rejected), "-w", str(ws))
    assert code == 1
    assert "bad.csv, A2 (Invoice No): no document 'INV-2099-00009' was issued" in out
    assert f"bad.csv, A3 (Invoice No): {second} is in GBP, this payment in EUR" in out
    assert f"bad.csv, C4 (Amount): 99,999,999.00 GBP is more than the balance of {second}" \
        in out
    # typed in the ledger's Payments sheet: part of the second invoice
    book = openpyxl.load_workbook(ws / "ledger.xlsx")
    sheet = book["Payments"]
    r = sheet.max_row + 1
    sheet.cell(r, 1, second)
    sheet.cell(r, 2, datetime(2026, 11, 20))
    sheet.cell(r, 3, 100.0)
    sheet.cell(r + 1, 1, "NOT-A-DOC")
    sheet.cell(r + 1, 3, 5.0)
    book.save(ws / "ledger.xlsx")
    code, out = run_cli("ledger", "-w", str(ws), "--as-of", "2026-12-31")
    assert code == 0, out
    assert "payments typed in the ledger: 1 recorded, 1 rejected" in out
    invoices = {r["Document No"]: r for r in _sheet(ws / "ledger.xlsx", "Invoices")}
    assert invoices[first]["Status"] == "Paid" and invoices[first]["Balance"] == 0
    assert invoices[second]["Paid"] == 100
    assert invoices[second]["Status"].startswith("Part paid, overdue ")
    payments = _sheet(ws / "ledger.xlsx", "Payments")
    assert [p["Source"] for p in payments] == ["bank.csv", "ledger.xlsx", "ledger.xlsx"]
    assert "no document 'NOT-A-DOC' was issued" in str(payments[-1]["Problem"])
    exceptions = _sheet(ws / "ledger.xlsx", "Exceptions")
    assert any("NOT-A-DOC" in str(e["Message"]) for e in exceptions)
    ageing = _sheet(ws / "ledger.xlsx", "AR Ageing")
    assert ageing[0]["As Of"] == datetime(2026, 12, 31)
    assert sum(a["Total Open"] for a in ageing) == pytest.approx(
        sum(i["Balance"] for i in invoices.values()))


def test_statements_list_each_clients_open_items(months, tmp_path):
    import pypdfium2
    from pypdf import PdfReader

    code, out = run_cli("statements", "-w", str(months), "--as-of", "2026-12-31")
    assert code == 0, out
    folder = months / "statements" / "2026-12-31"
    brigade = folder / "Brigade Techspaces Pvt Ltd.pdf"
    assert brigade.is_file() and "Brigade Techspaces Pvt Ltd.pdf" in out
    text = " ".join(PdfReader(brigade).pages[0].extract_text().split())
    # October: 6,24,000 + IGST 18% 1,12,320 - retainage 31,200 = 705,120.00, due Nov 30 (31
    # days overdue on Dec 31); November: 7,13,500 + 1,28,430 - 35,675 = 806,255.00, due Dec 30
    assert "INV-2026-00006" in text and "705,120.00" in text and "806,255.00" in text
    assert "Total due · INR 1,511,375.00" in text
    assert "Retainage held, not yet due: ₹66,875.00" in text
    image = pypdfium2.PdfDocument(brigade)[0].render(scale=0.5).to_pil()
    assert image.size[0] > 200 and image.getextrema() != ((255, 255),) * 3


def test_a_payments_workbook_reads_only_the_payment_columns():
    """The project columns for e-invoices and the books (country, town, Peppol address ...)
    belong to projects, never to a receipt."""
    from progbill.readers.schema import PAYMENT_COLUMNS

    assert [c.name for c in PAYMENT_COLUMNS] == [
        "document", "received", "amount", "currency", "reference", "method", "note",
        "client_id"]


def test_the_ar_ageing_leaves_voided_documents_out(tmp_path):
    """A voided document (progbill repair) owes nothing: the Invoices sheet shows no balance
    for it and its lines are billed again on a new document, so the ageing must not count it
    as well (it did: the receivable was counted twice)."""
    from progbill.pipeline import rebuild
    from progbill.store import open_store

    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    code, out = run_cli("run", str(SAMPLES / "2026-10"), "--period", "2026-10", "-w", str(ws),
                        "--no-pdf", "--config", str(SAMPLES / "settings" / "demo.toml"))
    assert code == 0, out
    with open_store(ws / "progbill.db") as store:
        first = store.documents(["number", "amount_due"]).iloc[0]
        store.void(str(first["number"]), "damaged", "2026-11-30T00:00:00")
    rebuild(ws, as_of=date(2026, 12, 31))
    invoices = {i["Document No"]: i for i in _sheet(ws / "ledger.xlsx", "Invoices")}
    assert invoices[first["number"]]["Balance"] is None
    ageing = _sheet(ws / "ledger.xlsx", "AR Ageing")
    open_total = sum(i["Balance"] or 0 for i in invoices.values())
    assert open_total > 0
    assert sum(a["Total Open"] for a in ageing) == pytest.approx(open_total)


def _insert(db, table: str, **values: object) -> None:
    """A row with the given values; every other required column gets a neutral value."""
    filled = dict(values)
    for _cid, name, kind, notnull, default, pk in db.execute(f"PRAGMA table_info({table})"):
        if name not in filled and notnull and default is None and not pk:
            filled[name] = 0 if kind == "INTEGER" else ""
    db.execute(f"INSERT INTO {table} ({', '.join(filled)}) VALUES "
               f"({', '.join('?' * len(filled))})", list(filled.values()))


_DOCUMENT = st.tuples(
    st.booleans(),  # a credit note
    st.integers(-50_000, 200_000),  # amount due
    st.one_of(st.none(), st.integers(0, 11)),  # the document a credit note cites
    st.sampled_from(["A", "B"]), st.sampled_from(["USD", "EUR"]),
    st.sampled_from(["2026-10-31", "2026-12-20", "2027-01-31", "2026-06-30", "2025-12-31"]),
    st.sampled_from([2025, 2026]), st.booleans())  # fiscal year, voided


@settings(max_examples=60, deadline=None)
@given(st.lists(_DOCUMENT, min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(0, 11), st.integers(-1_000, 90_000), st.booleans()),
                max_size=8))
def test_the_stores_sums_of_what_is_owed_are_the_pure_functions(documents, payments):
    """What the store sums for the AR ageing, and what the ledger computes for one fiscal
    year's documents (with credit notes of other years citing them), are exactly what
    :func:`balances` and :func:`ageing` make from every document, voided ones left out."""
    import tempfile

    from progbill.ledger import build_sheets
    from progbill.store import open_store

    as_of = date(2026, 12, 31)
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "p.db") as store:
        db = store.db
        _insert(db, "runs", run_id="r1", started="2026-12-31T09:00:00+00:00",
                finished="2026-12-31T09:01:00+00:00")
        for i, (cn, amount, cites, client, currency, due, fy, void) in enumerate(documents):
            _insert(db, "documents", number=f"D{i}", series="INV", fy=fy, seq=i,
                    type="Credit Note" if cn else "Invoice", run_id="r1", period="2026-10",
                    invoice_date=f"{fy}-10-01", due_date=due, client=client, currency=currency,
                    amount_due=-abs(amount) if cn else amount, tax_rate="0",
                    corrects_number=f"D{cites}" if cn and cites is not None else None)
            if void:
                _insert(db, "voided", number=f"D{i}", reason="test", voided_at="x")
        for document, amount, accepted in payments:
            _insert(db, "payments", document=f"D{document}", amount=amount, currency="USD",
                    status="accepted" if accepted else "rejected", recorded="x")
        db.commit()
        every = store.documents()
        voided = store.voided()
        every = every[~every["number"].isin(list(voided))].reset_index(drop=True)
        owed = balances(every, store.payments())
        held = pd.DataFrame(columns=["client", "currency", "retainage_held"])
        expected = ageing(open_items(every, owed), held, as_of)
        assert ageing(store.open_items(), held, as_of).to_dict("records") == expected.to_dict(
            "records")
        # the ledger of fiscal year 2026: each document's balance (voided ones shown empty)
        want = {n: b for n, b, fy in zip(every["number"], owed["balance"], every["fy"],
                                         strict=True) if fy == 2026}
        sheets = build_sheets(store, Path(folder), Path(folder), as_of=as_of, fy=2026)
        invoices = sheets[0]
        column = invoices.columns.index(next(c for c in invoices.columns if c.header == "Balance"))
        numbers = [row[0] for row in invoices.rows]
        assert numbers == store.documents(["number"], 2026)["number"].tolist()
        got = {row[0]: row[column] for row in invoices.rows if row[0] not in voided}
        assert got == {n: want[n] / 100 for n in want}  # cents shown as currency units
