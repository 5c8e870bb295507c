"""Real public workbooks (../shared/realworld, read by path, never copied) and the layouts that
once billed a wrong amount with exit code 0: each must bill the right amount or refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import REALWORLD, needs_realworld, run_cli, write_csv

from progbill.cli import cli
from progbill.readers import read_workbook


def _workspace(tmp_path: Path, **input_settings: str) -> Path:
    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    config = ws / "progbill.toml"
    text = config.read_text()
    for key, value in input_settings.items():
        text = text.replace(f'{key} = "auto"', f'{key} = "{value}"')
    config.write_text(text)
    return ws


HEADER = ["project_id", "client", "milestone_id", "description", "scheduled_value",
          "percent_complete"]


def _bill(tmp_path: Path, path: Path, **input_settings: str) -> str:
    """Run one file in a new workspace (no PDFs); the run must succeed. Returns its output."""
    ws = _workspace(tmp_path, **input_settings)
    code, out = run_cli("run", str(path), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    return out


# ---------------------------------------------------------------------------------------------
# 0-1 fractions in cells not formatted as percent: never 1/100 of the amount in silence


def test_plain_fractions_in_a_percent_column_are_refused_even_quietly(tmp_path):
    ws = _workspace(tmp_path)
    book = write_csv(tmp_path / "f.csv", [HEADER, ["P-1", "A", "1", "W", "1000", "0.9"],
                                          ["P-1", "A", "2", "W", "1000", "0.25"]])
    result = CliRunner().invoke(cli, ["run", str(book), "--period", "2026-11", "-w", str(ws),
                                      "--quiet"])
    assert result.exit_code == 1
    assert "f.csv, column F (percent_complete): every value in this column lies between 0 " \
        "and 1" in result.output
    assert 'input.percent_scale = "fraction"' in result.output
    assert not (ws / "invoices" / "2026-11").exists() or not any(
        (ws / "invoices" / "2026-11").iterdir())


@pytest.mark.parametrize("scale, due", [("fraction", "1,150.00"), ("percent", "11.50")])
def test_the_workspace_can_say_what_plain_fractions_mean(tmp_path, scale, due):
    ws = _workspace(tmp_path, percent_scale=scale)
    book = write_csv(tmp_path / "f.csv", [HEADER, ["P-1", "A", "1", "W", "1000", "0.9"],
                                          ["P-1", "A", "2", "W", "1000", "0.25"]])
    code, out = run_cli("run", str(book), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0 and f"USD {due:>16}" in out  # 900 + 250, or 9.00 + 2.50


@needs_realworld
def test_the_telford_tracker_of_fractions_bills_the_hand_worked_amounts(tmp_path):
    path = REALWORLD / "edited" / "telford-summary-fractions.xlsx"
    refused = read_workbook(path)
    assert [p.code for p in refused.problems if p.is_error] == ["percent-as-fraction"]
    out = _bill(tmp_path, path, percent_scale="fraction")
    assert "T3           Telford Development           USD       650,944.50" in out
    assert "T4           Telford Development           USD     1,469,253.00" in out


# ---------------------------------------------------------------------------------------------
# G703 columns keep their AIA meaning; figures that say the same thing twice must agree

G703 = ["Project", "Customer", "Item No", "Description of Work", "Scheduled Value",
        "Work Completed (Previous)", "Work Completed (This Period)",
        "Materials Presently Stored", "Total Completed & Stored to Date", "% (G/C)",
        "Balance to Finish", "Retainage %", "Retainage (Total to Date)"]


def _g703(tmp_path: Path, *lines: list[object], name: str = "g703.csv") -> Path:
    return write_csv(tmp_path / name, [G703, *lines])


def test_a_g703_with_stored_materials_bills_work_as_g_minus_f(tmp_path):
    """Worked by hand: line 1 C 10,000, D 2,000, E 3,000, F 1,000, G 6,000 (60% = G/C), work
    5,000; line 2 C 5,000, D 0, E 1,000, F 0, G 1,000. Retainage 10% on work and stored:
    R = 600 + 100 = 700. Previous retainage, not given, is 10% of D = 200 (a warning).
    Due = G 7,000 - R 700 - (D 2,000 - 200) = 4,500.00."""
    book = _g703(tmp_path,
                 ["P-1", "Owner", "1", "Site", "10000", "2000", "3000", "1000", "6000", "60.00%",
                  "4000", "10%", "600"],
                 ["P-1", "Owner", "2", "Frame", "5000", "0", "1000", "0", "1000", "20.00%",
                  "4000", "10%", "100"])
    ws = _workspace(tmp_path)
    code, out = run_cli("run", str(book), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    assert "USD         4,500.00" in out
    assert "retainage-assumed" in [p.code for p in read_workbook(book).problems] or \
        "previous billing was given without previous retainage" in out
    assert "previous billing was given without previous retainage" in out
    assert "(200.00 USD in all)" in out


@pytest.mark.parametrize("change, cell, says", [
    ({9: "66.00%"}, "J2", "the percent complete 66.00% does not agree with the amounts"),
    ({8: "6500"}, "I2", "is not from previous 2,000.00 + this period 3,000.00"),
    ({10: "3000"}, "K2", "balance to finish 3,000.00 is not the scheduled value"),
    ({12: "650"}, "M2", "retainage to date 650.00 USD in the workbook, but 10% of work"),
])
def test_figures_that_disagree_refuse_the_line_naming_both(tmp_path, change, cell, says):
    line = ["P-1", "Owner", "1", "Site", "10000", "2000", "3000", "1000", "6000", "60.00%",
            "4000", "10%", "600"]
    for index, value in change.items():
        line[index] = value
    ws = _workspace(tmp_path)
    code, out = run_cli("run", str(_g703(tmp_path, line)), "--period", "2026-11", "-w", str(ws),
                     "--no-pdf")
    assert code == 1 and "No documents issued" in out
    assert f"g703.csv, {cell} (" in out and says in out
    [saved] = [json.loads(p.read_text()) for p in (ws / "runs").glob("*.json")]
    assert {p["code"] for p in saved["files"][0]["problems"] if p["severity"] == "error"} == {
        "figures-disagree"}


def test_work_this_period_adds_to_what_was_billed(tmp_path):
    """Progress as money, exactly: October states G 4,000 (40%), November only E 1,500 more, so
    work to date is 5,500 and 1,500.00 is billed (no retainage)."""
    ws = _workspace(tmp_path)
    header = ["project_id", "client", "milestone_id", "description", "scheduled_value",
              "total_completed_stored"]
    october = write_csv(tmp_path / "oct.csv", [header, ["P-1", "A", "1", "W", "10000", "4000"]])
    assert "USD         4,000.00" in run_cli("run", str(october), "--period", "2026-10", "-w",
                                           str(ws), "--no-pdf")[1]
    november = write_csv(tmp_path / "nov.csv", [
        ["project_id", "client", "milestone_id", "description", "scheduled_value",
         "work this period"], ["P-1", "A", "1", "W", "10000", "1500"]])
    code, out = run_cli("run", str(november), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0 and "USD         1,500.00" in out


@needs_realworld
def test_the_payapppro_g703_export_bills_the_hand_worked_amount(tmp_path):
    """As project PA-100 (../shared/realworld/README.md): G 259,000, previous work 92,000,
    stored 58,000, retainage 10% = 25,900 (the sheet's own column), previous retainage 9,200:
    due 150,300.00. The previous main read the % (G/C) column as work and added the stored
    materials again: 285,294.06 with exit code 0."""
    out = _bill(tmp_path, REALWORLD / "edited" / "payapppro-g703-edited.csv")
    assert "PA-100       Acme Owner LLC                USD       150,300.00" in out
    assert "9,200.00 USD in all" in out


@needs_realworld
def test_the_edited_g703_with_work_only_percent_and_previous_retainage_agrees(tmp_path):
    """v3: Percent Complete recomputed as (D+E)/C; previous retainage given: every figure
    agrees, so it bills (PA-102): due 259,000 - 25,900 - (92,000 - 9,200) = 150,300.00."""
    out = _bill(tmp_path, REALWORLD / "edited" / "payapppro-g703-edited-v3.csv")
    assert "PA-102       Acme Owner LLC                USD       150,300.00" in out
    assert "without previous retainage" not in out


# ---------------------------------------------------------------------------------------------
# one project per sheet; rows inside the table that are not lines


def test_every_sheet_with_a_schedule_is_billed(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "Cover"
    cover.append(["Progress claim, November"])
    for tower, value in (("T1", 1000), ("T2", 3000)):
        sheet = book.create_sheet(tower)
        sheet.append(HEADER)
        sheet.append([tower, "Owner", "1", "Slab", value, 50])
    book.save(tmp_path / "towers.xlsx")
    ws = _workspace(tmp_path)
    code, out = run_cli("run", str(tmp_path / "towers.xlsx"), "--period", "2026-11", "-w", str(ws),
                     "--no-pdf")
    assert code == 0 and "2 projects, 2 lines" in out
    assert "T1           Owner" in out and "T2           Owner" in out
    codes = {p.code: str(p) for p in read_workbook(tmp_path / "towers.xlsx").problems}
    assert codes["sheets-skipped"].startswith(
        "towers.xlsx: sheets without a table of lines, not billed: Cover (a cover sheet's")


@needs_realworld
def test_the_tracker_with_one_sheet_per_tower_bills_both_towers(tmp_path):
    """The previous main billed T4 and dropped T3's sheet without a word."""
    out = _bill(tmp_path, REALWORLD / "edited" / "telford-sheet-per-tower.xlsx")
    assert "T4           Telford Development           USD     2,525,516.09" in out
    assert "T3           Telford Development           USD       868,537.50" in out


def test_headings_column_numbers_and_subtotals_are_not_lines(tmp_path):
    """A BOQ-like sheet: column numbers under the header, a section heading, an unlabelled
    subtotal equal to the lines above, a labelled Sub-Total, a Grand Total and a VAT row below.
    Billed: 1,000 x 50% + 2,000 x 25% + 3,000 x 10% = 1,300.00."""
    rows = [HEADER,
            ["1", "2", "3", "4", "5", "6"],
            ["", "", "", "A. EARTHWORK", "", ""],
            ["P-1", "Owner", "1", "Excavation", "1000", "50"],
            ["P-1", "Owner", "2", "Backfill", "2000", "25"],
            ["", "", "", "", "3000", ""],
            ["P-1", "Owner", "3", "Concrete", "3000", "10"],
            ["", "", "", "Sub-Total 2", "3000", ""],
            ["", "", "", "Grand Total", "6000", ""],
            ["", "", "", "VAT 13%", "780", ""]]
    ws = _workspace(tmp_path)
    code, out = run_cli("run", str(write_csv(tmp_path / "boq.csv", rows)), "--period", "2026-11",
                     "-w", str(ws), "--no-pdf")
    assert code == 0, out
    assert "1 project, 3 lines" in out and "USD         1,300.00" in out
    problems = {p.code: str(p) for p in read_workbook(tmp_path / "boq.csv").problems}
    assert "rows-skipped" in problems


def test_a_row_with_amounts_and_no_line_id_asks_for_an_item_number(tmp_path):
    rows = [HEADER, ["P-1", "Owner", "3", "Walls", "1000", "50"],
            ["P-1", "Owner", "", "Walls, east side", "400", "50"]]
    [problem] = [p for p in read_workbook(write_csv(tmp_path / "s.csv", rows)).problems
                 if p.is_error]
    assert str(problem.location) == "s.csv, C3 (milestone_id)"
    assert "as 3.1" in problem.message


# ---------------------------------------------------------------------------------------------
# headers as people draw them


def test_when_no_sheet_matches_the_closest_sheet_is_explained(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.active.append(["Running account bill No. 3"])
    sheet = book.create_sheet("Bill")
    sheet.append(["Item", "Description", "Remarks"])
    sheet.append(["1", "Excavation", ""])
    book.save(tmp_path / "bill.xlsx")
    [problem] = read_workbook(tmp_path / "bill.xlsx").problems
    assert str(problem).startswith("bill.xlsx, Bill, row 1: row 1 looks like the header but "
                                   "lacks scheduled_value, percent_complete or status")
    assert "its other headers are not progbill columns: C (Remarks)" in problem.message
    assert "percent_complete may also be headed % complete, progress, pct complete, percent, " \
        "percent complete, % (G/C), % G/C, percent (G/C)" in problem.message


def test_true_and_false_in_a_status_column_and_and_in_headers(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Project", "Client", "Line", "Description", "Scheduled Value",
                        "Status", "Total Completed and Stored to Date"])
    book.active.append(["P-1", "A", "1", "Done", 1000, True, None])
    book.active.append(["P-1", "A", "2", "Open", 500, False, None])
    book.save(tmp_path / "s.xlsx")
    wb = read_workbook(tmp_path / "s.xlsx")
    assert wb.ok, [str(p) for p in wb.problems]
    assert [str(v) for v in wb.lines["percent_complete"]] == ["100", "0"]


def test_two_inputs_with_one_name_are_refused_so_every_document_traces_to_its_file(tmp_path):
    from progbill.config import Config
    from progbill.pipeline import validate

    for folder in ("march", "april"):
        (tmp_path / folder).mkdir()
        write_csv(tmp_path / folder / "progress.csv", [HEADER, [f"P-{folder}", "A", "1", "W",
                                                                "100", "10"]])
    report = validate([tmp_path / "march" / "progress.csv", tmp_path / "april" / "progress.csv"],
                      Config())
    assert [p.code for p in report.files[1].problems] == ["duplicate-file-name"]
    assert [p.code for p in report.files[0].problems if p.is_error] == []


# ---------------------------------------------------------------------------------------------
# quantity x rate lines (bills of quantities, unit-price contracts, running-account bills)

QTY = ["project_id", "client", "item no", "description", "qty", "unit", "rate",
       "executed quantity"]


def test_quantity_times_rate_lines_bill_exactly_and_overruns_are_billed_as_measured(tmp_path):
    """Worked by hand, each line rounded half up once: C = 120.5 x 182.6 = 22,003.30,
    10 x 5,000.125 = 50,001.25, 2.5 x 61,000 = 152,500.00; to date 60.25 x 182.6 = 11,001.65
    and 12 x 5,000.125 = 60,001.50 (12 of 10 m3: a 20% overrun, billed with a warning).
    Due 71,003.15."""
    book = write_csv(tmp_path / "boq.csv", [
        QTY, ["P-1", "A", "1", "Excavation", "120.5", "m3", "182.6", "60.25"],
        ["P-1", "A", "2", "Concrete", "10", "m3", "5000.125", "12"],
        ["P-1", "A", "3", "Steel", "2.5", "t", "61000", "0"]])
    out = _bill(tmp_path, book)
    assert "USD        71,003.15" in out
    assert ("boq.csv, H3 (executed quantity): line 2: 12 m3 measured against a contract "
            "quantity of 10 m3, an overrun of 20.00%; billed as measured") in out
    assert "overbilled" not in out and "above 100" not in out
    codes = [p.code for p in read_workbook(book).problems]
    assert "quantity-overrun" not in codes  # a billing warning, found against the ledger


def test_an_overrun_past_the_configured_limit_is_an_error(tmp_path):
    ws = _workspace(tmp_path)
    config = ws / "progbill.toml"
    config.write_text(config.read_text().replace("# quantity_overrun_limit_pct = 25",
                                                 "quantity_overrun_limit_pct = 15"))
    book = write_csv(tmp_path / "boq.csv", [
        QTY, ["P-1", "A", "2", "Concrete", "10", "m3", "5000.125", "12"]])
    code, out = run_cli("run", str(book), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 1 and "beyond billing.quantity_overrun_limit_pct (15%)" in out
    [saved] = [json.loads(p.read_text()) for p in (ws / "runs").glob("*.json")]
    assert [p["code"] for p in saved["files"][0]["problems"]] == ["quantity-overrun"]


def test_an_amount_that_is_not_quantity_times_rate_is_refused(tmp_path):
    book = write_csv(tmp_path / "boq.csv", [
        [*QTY[:7], "amount", "executed quantity"],
        ["P-1", "A", "1", "Excavation", "120.5", "m3", "182.6", "22003.35", "60"]])
    [problem] = [p for p in read_workbook(book).problems if p.is_error]
    assert problem.code == "figures-disagree" and str(problem.location) == "boq.csv, H2 (amount)"
    assert "is not quantity 120.5 x rate 182.6 = 22,003.30" in problem.message


def test_a_g_over_c_percent_beside_stored_materials_is_never_counted_twice(tmp_path):
    """A "% (G/C)" column as the only progress, beside materials stored: the percent is of
    completed and stored, so work is G - F. Steel: 40% of 100,000 = G 40,000 (work 35,000 +
    stored 5,000); Glass: 50% of 10,000 = 5,000. Due 45,000.00, not 50,000.00."""
    path = write_csv(tmp_path / "gc.csv", [
        ["Project", "Client", "Item", "Description", "Scheduled Value",
         "Materials Presently Stored", "% (G/C)"],
        ["P-1", "A", "1", "Steel", "100000", "5000", "40%"],
        ["P-1", "A", "2", "Glass", "10000", "0", "50%"]])
    out = _bill(tmp_path, path)
    assert "P-1          A                             USD        45,000.00" in out
    bad = write_csv(tmp_path / "bad.csv", [
        ["Project", "Client", "Item", "Description", "Scheduled Value",
         "Materials Presently Stored", "% (G/C)"],
        ["P-1", "A", "1", "Steel", "100000", "50000", "40%"]])
    wb = read_workbook(bad)
    [problem] = [p for p in wb.problems if p.code == "figures-disagree"]
    assert "headed as G/C" in problem.message and "less than the materials stored" in \
        problem.message
