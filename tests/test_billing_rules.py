"""BILLING.md rule by rule, with exact amounts in minor units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from helpers import bill_month, lines_frame, projects_frame

from progbill.billing.core import LedgerState, evaluate, issue, tax_components
from progbill.billing.numbering import assign_numbers, check_template
from progbill.billing.periods import Period, due_date, fiscal_year, invoice_date
from progbill.billing.settings import BillingSettings

OCT, NOV, DEC = Period(2026, 10), Period(2026, 11), Period(2026, 12)
USD = BillingSettings()


def line(line_id: str, c: int, p: object, **extra: object) -> dict[str, object]:
    return {"project_id": "P-1", "line_id": line_id, "scheduled_value": c,
            "percent_complete": p, **extra}


def compute(projects, lines, state=None, settings=USD, period=NOV):
    computed, problems = evaluate(projects, lines, state or LedgerState(), settings, period)
    return computed, problems


class TestPerLine:
    def test_the_worked_example_of_the_issue(self):
        # scheduled 40,000.00, 25% work, 3,000.00 stored, 6,000.00 and 300.00 retainage
        # previously billed, 5% retainage
        projects = projects_frame({"project_id": "P-1", "retainage_pct": 5})
        lines = lines_frame(line("1", 4_000_000, 25, stored_materials=300_000,
                                 previously_billed=600_000, previously_retained=30_000))
        computed, problems = compute(projects, lines)
        assert problems == []
        row = computed.iloc[0]
        assert row["work_to_date"] == 1_000_000  # W 10,000.00
        assert row["total_to_date"] == 1_300_000  # G 13,000.00
        assert row["total_to_date"] * 10_000 // row["scheduled_value"] == 3_250  # 32.50%
        assert row["balance_to_finish"] == 2_700_000  # H 27,000.00
        assert row["from_previous"] == 600_000
        assert row["this_period"] == 400_000  # E 4,000.00
        assert row["billed"] == 700_000  # B 7,000.00
        assert row["retainage_to_date"] == 65_000  # R 650.00
        assert row["retainage_this_period"] == 35_000  # Rt 350.00

    def test_work_rounds_half_up_once_to_the_cent(self):
        projects = projects_frame({"project_id": "P-1"})
        # 12.5% of 0.05 = 0.00625 -> 0.01; 37.5% of 1.00 = 0.375 -> 0.38; 33.3333% of 100.00
        lines = lines_frame(line("a", 5, "12.5"), line("b", 100, "37.5"),
                            line("c", 10_000, "33.3333"))
        computed, _ = compute(projects, lines)
        assert list(computed["work_to_date"]) == [1, 38, 3333]

    def test_negative_amounts_round_away_from_zero(self):
        projects = projects_frame({"project_id": "P-1"})
        lines = lines_frame(line("co", -125, 50, change_order="CO-1"))  # -0.625 -> -0.63
        computed, problems = compute(projects, lines)
        assert problems == []
        assert computed.iloc[0]["work_to_date"] == -63

    def test_retainage_on_work_and_on_stored_materials_separately(self):
        projects = projects_frame({"project_id": "P-1", "retainage_pct": 10,
                                   "stored_retainage_pct": 5})
        lines = lines_frame(line("1", 100_000, 50, stored_materials=20_000))
        computed, _ = compute(projects, lines)
        row = computed.iloc[0]
        assert (row["retainage_work"], row["retainage_stored"]) == (5_000, 1_000)
        assert row["retainage_to_date"] == 6_000

    def test_line_retainage_overrides_project_which_overrides_config(self):
        settings = BillingSettings(retainage_pct=Decimal(3))
        projects = projects_frame({"project_id": "P-1"}, {"project_id": "P-2",
                                                          "retainage_pct": 10})
        lines = lines_frame(line("1", 100_000, 100),
                            line("2", 100_000, 100, retainage_pct=0),
                            {**line("1", 100_000, 100), "project_id": "P-2"})
        computed, _ = compute(projects, lines, settings=settings)
        assert list(computed["retainage_to_date"]) == [3_000, 0, 10_000]

    def test_release_bills_all_retainage_held(self, store):
        projects = projects_frame({"project_id": "P-1", "retainage_pct": 10})
        lines = lines_frame(line("1", 100_000, 100))
        first = bill_month(store, projects, lines, OCT, USD)
        assert first.documents.iloc[0]["amount_due"] == 90_000
        released = projects_frame({"project_id": "P-1", "retainage_pct": 10,
                                   "release_retainage": True})
        second = bill_month(store, released, lines, NOV, USD)
        doc = second.documents.iloc[0]
        assert doc["completed_this_period"] == 0
        assert doc["retainage_this_period"] == -10_000
        assert doc["amount_due"] == 10_000
        assert doc["type"] == "Invoice"

    def test_stored_materials_installed_later_bill_only_the_difference(self, store):
        projects = projects_frame({"project_id": "P-1"})
        bill_month(store, projects, lines_frame(line("1", 100_000, 0,
                                                     stored_materials=30_000)), OCT, USD)
        nov = bill_month(store, projects, lines_frame(line("1", 100_000, 40,
                                                           stored_materials=0)), NOV, USD)
        row = nov.bill.lines.iloc[0]
        assert (row["from_previous"], row["this_period"]) == (0, 40_000)
        assert row["billed"] == 10_000  # G 40,000 - Gp 30,000

    def test_overbilling_is_an_error_at_the_cell_to_fix(self):
        projects = projects_frame({"project_id": "P-1"})
        lines = lines_frame(line("1", 100_000, 90, stored_materials=20_000, _row=7))
        _, problems = compute(projects, lines)
        assert [p.code for p in problems] == ["overbilled"]
        assert problems[0].location.row == 7
        assert problems[0].location.column == "stored_materials"
        assert "1,100.00 USD" in problems[0].message and "1,000.00 USD" in problems[0].message

    def test_only_change_orders_may_be_negative(self):
        projects = projects_frame({"project_id": "P-1"})
        _, problems = compute(projects, lines_frame(line("1", -500, 0)))
        assert [p.code for p in problems] == ["bad-amount"]

    def test_contract_value_must_match_the_schedule_without_change_orders(self):
        projects = projects_frame({"project_id": "P-1", "contract_value": 150_000})
        lines = lines_frame(line("1", 100_000, 0), line("2", 40_000, 0),
                            line("co", 10_000, 0, change_order="CO-1"))
        _, problems = compute(projects, lines)
        assert [p.code for p in problems] == ["contract-mismatch"]
        good = projects_frame({"project_id": "P-1", "contract_value": 140_000})
        assert compute(good, lines)[1] == []

    def test_duplicate_line_ids_are_an_error(self):
        projects = projects_frame({"project_id": "P-1"})
        _, problems = compute(projects, lines_frame(line("1", 100, 0), line("1", 200, 0)))
        assert [p.code for p in problems] == ["duplicate-line", "duplicate-line"]


class TestPerInvoice:
    def test_tax_per_rate_rounded_once_not_per_line(self):
        settings = BillingSettings(tax_rate=Decimal(20))
        projects = projects_frame({"project_id": "P-1"})
        # three lines of 0.05 each: per line 0.01 tax each (0.03); on the sum 0.15 -> 0.03;
        # use 0.07s: per line 0.014 -> 0.01 each = 0.03; on the sum 0.21 * 20% = 0.042 -> 0.04
        lines = lines_frame(line("a", 7, 100), line("b", 7, 100), line("c", 7, 100))
        computed, _ = compute(projects, lines, settings=settings)
        bill = issue(projects, computed, LedgerState(), settings, NOV, date(2026, 11, 28))
        assert bill.documents.iloc[0]["tax"] == 4
        assert bill.documents.iloc[0]["amount_due"] == 25

    def test_tax_base_gross_or_net_of_retainage(self):
        projects = projects_frame({"project_id": "P-1", "retainage_pct": 10, "tax_rate": 20})
        lines = lines_frame(line("1", 100_000, 100))
        for base, tax in (("gross", 20_000), ("net_of_retainage", 18_000)):
            settings = BillingSettings(tax_base=base)
            computed, _ = compute(projects, lines, settings=settings)
            doc = issue(projects, computed, LedgerState(), settings, NOV,
                        date(2026, 11, 28)).documents.iloc[0]
            assert doc["tax"] == tax
            assert doc["amount_due"] == 100_000 - 10_000 + tax

    def test_gst_splits_within_the_sellers_state_and_is_igst_across(self):
        assert tax_components(Decimal(18), "Maharashtra", "maharashtra", "GST") == [
            ("CGST", Decimal(9)), ("SGST", Decimal(9))]
        assert tax_components(Decimal(18), "Karnataka", "Maharashtra", "GST") == [
            ("IGST", Decimal(18))]
        assert tax_components(Decimal(20), "", "", "VAT") == [("VAT", Decimal(20))]
        assert tax_components(Decimal(0), "", "", "VAT") == []

    def test_cgst_and_sgst_are_each_rounded(self):
        settings = BillingSettings(seller_state="Maharashtra")
        projects = projects_frame({"project_id": "P-1", "currency": "INR", "tax_rate": 18,
                                   "place_of_supply": "Maharashtra"})
        lines = lines_frame(line("1", 1_001, 100))  # 10.01 INR: 9% = 0.9009 -> 0.90 each
        computed, _ = compute(projects, lines, settings=settings)
        bill = issue(projects, computed, LedgerState(), settings, NOV, date(2026, 11, 28))
        assert list(bill.taxes["label"]) == ["CGST", "SGST"]
        assert list(bill.taxes["amount"]) == [90, 90]
        assert bill.documents.iloc[0]["amount_due"] == 1_001 + 180

    def test_reverse_charge_charges_no_tax(self):
        projects = projects_frame({"project_id": "P-1", "tax_rate": 19, "reverse_charge": True})
        computed, _ = compute(projects, lines_frame(line("1", 100_000, 50)))
        bill = issue(projects, computed, LedgerState(), USD, NOV, date(2026, 11, 28))
        doc = bill.documents.iloc[0]
        assert (doc["tax"], doc["amount_due"], bool(doc["reverse_charge"])) == (0, 50_000, True)
        assert bill.taxes.iloc[0]["base"] == 50_000

    def test_lowered_progress_is_a_credit_note_citing_the_latest_invoice(self, store):
        projects = projects_frame({"project_id": "P-1", "retainage_pct": 10, "tax_rate": 10})
        oct_ = bill_month(store, projects, lines_frame(line("1", 100_000, 60)), OCT, USD)
        assert oct_.documents.iloc[0]["number"] == "INV-2026-00001"
        nov = bill_month(store, projects, lines_frame(line("1", 100_000, 50)), NOV, USD)
        doc = nov.documents.iloc[0]
        assert doc["type"] == "Credit Note"
        assert doc["number"] == "CN-2026-00001"
        assert doc["corrects_number"] == "INV-2026-00001"
        assert doc["corrects_date"] == date(2026, 10, 31)
        # B -10,000.00, Rt -1,000.00, tax on gross -1,000.00: due -10,000
        assert (doc["completed_this_period"], doc["retainage_this_period"], doc["tax"],
                doc["amount_due"]) == (-10_000, -1_000, -1_000, -10_000)

    def test_a_second_run_with_the_same_inputs_issues_nothing(self, store):
        projects = projects_frame({"project_id": "P-1"})
        lines = lines_frame(line("1", 100_000, 60))
        assert len(bill_month(store, projects, lines, NOV, USD).documents) == 1
        assert len(bill_month(store, projects, lines, NOV, USD).documents) == 0

    def test_a_project_without_change_gets_no_document(self, store):
        projects = projects_frame({"project_id": "P-1"})
        assert bill_month(store, projects, lines_frame(line("1", 100, 0)), NOV,
                          USD).documents.empty

    def test_g702_summary(self, store):
        projects = projects_frame({"project_id": "P-1", "retainage_pct": 10})
        lines = [line("1", 100_000, 50, stored_materials=10_000),
                 line("2", 50_000, 0), line("co", 20_000, 100, change_order="CO-1")]
        bill_month(store, projects, lines_frame(*lines[:2]), OCT, USD)
        nov = bill_month(store, projects, lines_frame(*lines), NOV, USD).documents.iloc[0]
        assert nov["original_contract"] == 150_000
        assert nov["change_orders"] == 20_000
        assert nov["contract_to_date"] == 170_000
        assert nov["completed_stored_to_date"] == 80_000
        assert nov["retainage_to_date"] == 8_000
        assert nov["earned_less_retainage"] == 72_000
        assert nov["previous_certificates"] == 54_000
        assert nov["amount_due"] == 18_000  # line 8 = 6 - 7
        assert nov["balance_to_finish_incl_retainage"] == 98_000


class TestOnboarding:
    def test_previously_billed_becomes_the_opening_balance(self, store):
        projects = projects_frame({"project_id": "P-1", "retainage_pct": 5})
        lines = lines_frame(line("1", 100_000, 40, previously_billed=30_000,
                                 previously_retained=1_500))
        month = bill_month(store, projects, lines, NOV, USD)
        row = month.bill.lines.iloc[0]
        assert (row["from_previous"], row["billed"], row["retainage_this_period"]) == (
            30_000, 10_000, 500)
        assert list(month.bill.openings["line_id"]) == ["1"]

    def test_once_known_from_previous_must_match_what_was_billed(self, store):
        """Kept onboarding figures and this month's G703 "from previous" both agree with the
        ledger; any other figure is a workbook from another month, or edited history."""
        projects = projects_frame({"project_id": "P-1"})
        bill_month(store, projects, lines_frame(line("1", 100_000, 40,
                                                     previously_billed=30_000)), OCT, USD)
        same = bill_month(store, projects, lines_frame(line("1", 100_000, 50,
                                                            previously_billed=30_000)), NOV, USD)
        assert same.problems == []
        assert same.bill.lines.iloc[0]["billed"] == 10_000
        as_g703 = bill_month(store, projects, lines_frame(line("1", 100_000, 60,
                                                               previously_billed=50_000)),
                             DEC, USD)
        assert as_g703.problems == [] and as_g703.bill.lines.iloc[0]["billed"] == 10_000
        changed = bill_month(store, projects, lines_frame(line("1", 100_000, 70,
                                                               previously_billed=99_000)),
                             Period(2027, 1), USD)
        [problem] = changed.problems
        assert problem.code == "history-mismatch" and problem.is_error
        assert "but progbill billed 600.00 USD to date on INV-2026-00003" in problem.message

    def test_an_opening_without_progress_is_recorded_without_a_document(self, store):
        projects = projects_frame({"project_id": "P-1"})
        lines = lines_frame(line("1", 100_000, 30, previously_billed=30_000))
        month = bill_month(store, projects, lines, OCT, USD)
        assert month.documents.empty
        state = store.state_for(["P-1"])
        assert list(state.lines["total_to_date"]) == [30_000]


class TestConsistencyWithTheLedger:
    def test_a_line_invoiced_before_must_stay_in_the_workbook(self, store):
        projects = projects_frame({"project_id": "P-1"})
        bill_month(store, projects, lines_frame(line("1", 100, 50), line("2", 100, 50)), OCT,
                   USD)
        month = bill_month(store, projects, lines_frame(line("1", 100, 60)), NOV, USD)
        assert [p.code for p in month.problems] == ["missing-line"]
        assert "line 2 of project P-1" in month.problems[0].message
        assert "INV-2026-00001" in month.problems[0].message

    def test_a_project_keeps_its_currency(self, store):
        bill_month(store, projects_frame({"project_id": "P-1"}),
                   lines_frame(line("1", 100, 50)), OCT, USD)
        month = bill_month(store, projects_frame({"project_id": "P-1", "currency": "EUR"}),
                           lines_frame(line("1", 100, 60)), NOV, USD)
        assert [p.code for p in month.problems] == ["currency-changed"]

    def test_billing_an_earlier_period_after_a_later_one_is_refused(self, store):
        projects = projects_frame({"project_id": "P-1"})
        bill_month(store, projects, lines_frame(line("1", 100, 50)), NOV, USD)
        month = bill_month(store, projects, lines_frame(line("1", 100, 50)), OCT, USD)
        assert [p.code for p in month.problems] == ["period-out-of-order"]


class TestDatesAndNumbers:
    def test_invoice_and_due_dates(self):
        assert invoice_date(NOV, "period_end", date(2026, 12, 3)) == date(2026, 11, 30)
        assert invoice_date(NOV, "run_date", date(2026, 12, 3)) == date(2026, 12, 3)
        assert due_date(date(2026, 11, 30), 30) == date(2026, 12, 30)
        assert Period(2028, 2).last_day == date(2028, 2, 29)

    def test_fiscal_year_is_the_year_it_starts(self):
        assert fiscal_year(date(2027, 3, 31), 4) == 2026
        assert fiscal_year(date(2027, 4, 1), 4) == 2027
        assert fiscal_year(date(2026, 12, 31), 1) == 2026

    def test_numbers_are_gapless_per_series_and_fiscal_year(self):
        numbers = assign_numbers(
            [("INV", 2026), ("CN", 2026), ("INV", 2026), ("INV", 2027)],
            {("INV", 2026): 41},
            {"INV": "INV-{fy}-{seq:05d}", "CN": "CN-{fy}-{seq:05d}"},
        )
        assert numbers == [(42, "INV-2026-00042"), (1, "CN-2026-00001"),
                           (43, "INV-2026-00043"), (1, "INV-2027-00001")]

    def test_numbering_restarts_each_fiscal_year_in_the_store(self, store):
        settings = BillingSettings(fiscal_year_start_month=4, invoice_number="SSC/{fy}/{seq:04d}")
        projects = projects_frame({"project_id": "P-1", "currency": "INR"})
        numbers = []
        for period, pct in ((Period(2027, 2), 10), (Period(2027, 3), 20), (Period(2027, 4), 30)):
            numbers += list(bill_month(store, projects, lines_frame(line("1", 100_000, pct)),
                                       period, settings).documents["number"])
        assert numbers == ["SSC/2026/0001", "SSC/2026/0002", "SSC/2027/0001"]

    @pytest.mark.parametrize("template, ok", [
        ("INV-{fy}-{seq:05d}", True),
        ("SSC/{fy}/{seq:04d}", True),
        ("INV-{fy}", False),  # no sequence
        ("INVOICE-{fy}-{seq:06d}", False),  # 18 characters
        ("INV {fy}-{seq:05d}", False),  # a space
        ("INV-{year}-{seq}", False),  # unknown field
        ("INV_{seq:05d}", False),  # underscore
    ])
    def test_number_templates_are_validated(self, template, ok):
        assert (check_template(template) is None) is ok
