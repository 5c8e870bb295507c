"""Workbooks as people lay them out (issue 10): the samples in sample_workbooks/layouts billed to
hand-worked amounts, two-row headers, the project from around the table, projects registers
and kept project details, totals without labels, and amounts with more decimals than the
currency."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from helpers import REALWORLD, needs_realworld, run_cli, write_csv, write_xlsx

from progbill.readers import read_workbook

LAYOUTS = Path(__file__).resolve().parents[1] / "sample_workbooks" / "layouts"



def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    return ws


def _due(out: str, project: str) -> str:
    """The amount due printed for a project's document in a run's summary."""
    line = next(line for line in out.splitlines() if f" {project} " in line and "INV-" in line)
    return line.split()[-1]


def codes(wb) -> list[str]:
    return [p.code for p in wb.problems]


# ---------------------------------------------------------------------------------------------
# the samples, billed to amounts worked by hand


def test_the_layout_samples_bill_the_hand_worked_amounts(tmp_path):
    ws = _workspace(tmp_path)
    code, out = run_cli("run", str(LAYOUTS), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    # G703 export, PA-200, 10% from the title block: G = 28,000 + 50,000 + 47,000 + 3,000 =
    # 128,000 (stored F = 20,000); retainage 10% of G = 12,800 (the sheet's own column I);
    # previous D = 60,000, its retainage assumed 10% = 6,000.
    # Due = 128,000 - 12,800 - (60,000 - 6,000) = 61,200.00
    assert _due(out, "PA-200") == "61,200.00"
    assert "6,000.00 USD in all" in out
    # Running bill, INR, 5% retention from the cover sheet. Up to date:
    # 1,000 x 245.50 = 245,500; 850 x 120 = 102,000; 320 x 1,875.25 = 600,080;
    # 7 x 18,500 = 129,500: 1,077,080; retention 5% = 53,854. Up to previous bill:
    # 171,850 + 60,000 + 375,050 + 74,000 = 680,900; its retention assumed 5% = 34,045.
    # Due = 1,077,080 - 53,854 - (680,900 - 34,045) = 376,371.00
    assert _due(out, "PWD/KOL/2026/17") == "376,371.00"
    assert "850 cum measured against a contract quantity of 800 cum, an overrun of 6.25%" in out
    # Towers, GBP, 5%: A = 120,000 + 40% of 300,000 = 240,000 less 12,000 = 228,000.00;
    # B (named by its sheet) = 110,000 + 25% of 280,000 = 180,000 less 9,000 = 171,000.00
    assert _due(out, "TW-A") == "228,000.00"
    assert _due(out, "Tower B") == "171,000.00"
    # CL-12: schedule, progress and register as three files, EUR, 5%: 12,000 + 60% of 30,000
    # + 25% of 80,000 + 0 = 50,000 less 2,500 = 47,500.00
    assert _due(out, "CL-12") == "47,500.00"
    assert "contract-schedule.csv: the table has no progress column, so this workbook is read " \
        "as a schedule" in out
    code, shown = run_cli("show", "INV-2026-00002", "-w", str(ws))
    assert "Nordhafen Logistik GmbH" in shown and "due 2026-12-14" in shown  # Net 14


# ---------------------------------------------------------------------------------------------
# progress-only monthly files


def test_a_progress_only_file_bills_against_the_kept_schedule(tmp_path):
    ws = _workspace(tmp_path)
    schedule = write_csv(tmp_path / "schedule.csv", [
        ["Project", "Client", "Item", "Description", "Amount"],
        ["P-7", "Acme Ltd", "1", "Design", "1000.00"], ["P-7", "Acme Ltd", "2", "Build",
                                                       "3000.00"]])
    october = write_csv(tmp_path / "october.csv", [["Project", "Item", "% Complete"],
                                                   ["P-7", "1", "50"], ["P-7", "2", "0"]])
    assert codes(read_workbook(schedule)) == ["schedule-only"]
    code, out = run_cli("run", str(schedule), str(october), "--period", "2026-10", "-w", str(ws),
                     "--no-pdf")
    assert code == 0, out
    # 50% of 1,000 = 500 (no retainage: the workspace default is 0): due 500.00
    assert _due(out, "P-7") == "500.00"
    november = write_csv(tmp_path / "november.csv", [["Project", "Item", "% Complete"],
                                                     ["P-7", "1", "100"], ["P-7", "2", "10"]])
    code, out = run_cli("run", str(november), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    # this period 500 + 10% of 3,000 = 800.00; the client comes from the kept details
    assert _due(out, "P-7") == "800.00" and "Acme Ltd" in out
    unknown = write_csv(tmp_path / "december.csv", [["Project", "Item", "% Complete"],
                                                    ["P-7", "1", "100"], ["P-7", "2", "20"],
                                                    ["P-7", "9", "5"]])
    code, out = run_cli("run", str(unknown), "--period", "2026-12", "-w", str(ws), "--no-pdf")
    assert code == 1
    assert "december.csv, B4 (Item): line 9 of project P-7 is in no schedule" in out
    assert "unknown-line" in _json_codes(ws)


def _json_codes(ws: Path) -> set[str]:
    import json

    report = max((ws / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    data = json.loads(report.read_text())
    return {p["code"] for f in data["files"] for p in f["problems"]}


def test_a_progress_file_and_a_schedule_that_disagree_are_refused(tmp_path):
    ws = _workspace(tmp_path)
    schedule = write_csv(tmp_path / "schedule.csv", [
        ["Project", "Client", "Item", "Description", "Amount"], ["P-8", "A", "1", "Design",
                                                                  "1000.00"]])
    full = write_csv(tmp_path / "full.csv", [
        ["Project", "Client", "Item", "Description", "Amount", "% Complete"],
        ["P-8", "A", "1", "Design", "1200.00", "50"]])
    code, out = run_cli("run", str(schedule), str(full), "--period", "2026-10", "-w", str(ws),
                     "--no-pdf")
    assert code == 1
    assert "in the schedule schedule.csv; correct one of them" in out


def test_the_running_bill_skips_what_is_not_a_line_and_says_so():
    wb = read_workbook(LAYOUTS / "running-bill.xlsx")
    assert wb.ok, [str(p) for p in wb.problems]
    said = {str(p) for p in wb.problems}
    assert "running-bill.xlsx, Bill: a row of column numbers skipped, not billed: row 5" in said
    assert "running-bill.xlsx, Bill: section headings (no amounts) skipped, not billed: " \
        "rows 6, 10" in said
    assert "running-bill.xlsx, Bill: subtotal rows (SUM or SUBTOTAL formulas) skipped, not " \
        "billed: rows 9, 13" in said
    assert "running-bill.xlsx, Bill: summary rows below the table skipped, not billed: " \
        "row 15" in said
    project = wb.projects.iloc[0]
    assert (project["project_id"], project["project_name"], project["client"],
            project["currency"]) == ("PWD/KOL/2026/17", "Ward 7 storm-water drainage",
                                     "Kolhapur Municipal Corporation", "INR")
    assert "project-named" in codes(wb)
    assert list(wb.lines["line_id"]) == ["A.1", "A.2", "B.1", "B.2"]


# ---------------------------------------------------------------------------------------------
# two-row headers


def _two_row(tmp_path: Path, groups: list[object], subs: list[object], *rows: list[object]
             ) -> Path:
    return write_xlsx(tmp_path / "bill.xlsx", {"Bill": [
        ["Project No: P-9"], ["Client: Acme"], groups, subs, *rows]})


def test_a_group_header_over_sub_headers_names_each_column(tmp_path):
    path = _two_row(
        tmp_path,
        ["Item", "Description", "Scheduled Value", "Work Completed", "Work Completed",
         "Certified"],
        [None, None, None, "From Previous", "This Period", "By"],
        ["1", "Frame", 1000, 200, 300, "QS"])
    wb = read_workbook(path)
    assert wb.ok, [str(p) for p in wb.problems]
    line = wb.lines.iloc[0]
    # "Work Completed From Previous" is G703 column D, "... This Period" column E
    assert (line["previously_billed"], line["period_given"]) == (20_000, 30_000)
    ignored = next(str(p) for p in wb.problems if p.code == "unknown-column")
    assert "F (Certified By)" in ignored


def test_the_same_sub_header_under_two_groups_is_not_a_duplicate(tmp_path):
    path = _two_row(
        tmp_path,
        ["Item", "Description", "As per BOQ", "As per BOQ", "As per BOQ", "Previous Bill",
         "Previous Bill", "Current Bill", "Current Bill", "Remaining", "Remaining"],
        [None, None, "Quantity", "Rate", "Amount", "Quantity", "Amount", "Quantity", "Amount",
         "Quantity", "Amount"],
        ["2.1", "Excavation", 100, "12.5", 1250, 40, 500, 10, 125, 50, 625])
    wb = read_workbook(path)
    assert wb.ok, [str(p) for p in wb.problems]
    line = wb.lines.iloc[0]
    # previous 40 + this bill 10 = 50 to date; 50 x 12.50 = 625.00
    assert (line["scheduled_value"], line["quantity_to_date"], line["work_given"]) == (
        125_000, 50, 62_500)
    assert "duplicate-column" not in codes(wb)


def test_figures_of_a_bill_that_disagree_are_refused(tmp_path):
    path = _two_row(
        tmp_path,
        ["Item", "Description", "Scheduled Value", "Previous Bill", "Current Bill",
         "Up to Date"],
        [None, None, None, "Amount", "Amount", "Amount"],
        ["1", "Frame", 1000, 200, 300, 600])
    wb = read_workbook(path)
    [problem] = [p for p in wb.problems if p.code == "figures-disagree"]
    assert "work to date 600.00 is not from previous 200.00 + this period 300.00" in str(problem)
    assert "Bill!F5" in str(problem)


# ---------------------------------------------------------------------------------------------
# where the project comes from


def test_a_cover_sheet_gives_the_project_and_the_single_sheet_never_becomes_sheet1(tmp_path):
    path = write_xlsx(tmp_path / "claim 7.xlsx", {
        "Cover": [["Job No", "J-77"], ["Owner", "Bay Schools"], ["Retention", "10%"]],
        "Sheet1": [["Item", "Description", "Amount", "% Complete"], ["1", "Roof", 1000, 50]]})
    wb = read_workbook(path)
    assert wb.ok, [str(p) for p in wb.problems]
    assert (wb.projects.iloc[0]["project_id"], wb.projects.iloc[0]["client"]) == (
        "J-77", "Bay Schools")
    alone = write_xlsx(tmp_path / "claim 8.xlsx", {
        "Sheet1": [["Item", "Description", "Amount", "% Complete"], ["1", "Roof", 1000, 50]]})
    assert read_workbook(alone).projects.iloc[0]["project_id"] == "claim 8"


def test_two_title_values_for_one_detail_are_refused(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", {"Bill": [
        ["Client: Acme"], ["Client: Apex"], ["Item", "Description", "Amount", "% Complete"],
        ["1", "Roof", 1000, 50]]})
    problem = next(p for p in read_workbook(path).problems if p.code == "project-conflict")
    assert "Client is 'Acme' at Bill!A1 but 'Apex' here" in str(problem)


def test_a_register_gives_the_client_and_the_workspace_keeps_it(tmp_path):
    ws = _workspace(tmp_path)
    progress = write_csv(tmp_path / "J-5.csv", [["Item", "Description", "Amount", "% Complete"],
                                               ["1", "Design", "1000", "40"]])
    code, out = run_cli("run", str(progress), "--period", "2026-10", "-w", str(ws), "--no-pdf")
    assert code == 1
    assert "J-5.csv, row 2 (client): project J-5 has no client: add a Client column" in out
    assert "no-client" in out or "has no client" in out
    register = write_csv(tmp_path / "register.csv", [
        ["Project", "Client", "Retention %", "Payment Terms"], ["J-5", "Acme Ltd", "0", "14"]])
    assert codes(read_workbook(register)) == ["register"]
    code, out = run_cli("run", str(progress), str(register), "--period", "2026-10", "-w", str(ws),
                     "--no-pdf")
    assert code == 0, out
    assert "J-5          Acme Ltd" in out and _due(out, "J-5") == "400.00"
    # next month the progress file alone: the client, retention and terms are the workspace's
    write_csv(progress, [["Item", "Description", "Amount", "% Complete"],
                         ["1", "Design", "1000", "70"]])
    code, out = run_cli("run", str(progress), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    assert "J-5          Acme Ltd" in out and _due(out, "J-5") == "300.00"
    code, shown = run_cli("show", "INV-2026-00002", "-w", str(ws))
    assert re.search(r"Due\s*:?\s*2026-12-1[45]|14", shown)


def test_a_register_and_a_workbook_that_disagree_are_refused(tmp_path):
    ws = _workspace(tmp_path)
    progress = write_csv(tmp_path / "p.csv", [
        ["Project", "Client", "Item", "Description", "Amount", "% Complete"],
        ["J-6", "Acme Ltd", "1", "Design", "1000", "40"]])
    register = write_csv(tmp_path / "register.csv", [["Project", "Client"], ["J-6", "Apex"]])
    code, out = run_cli("run", str(progress), str(register), "--period", "2026-10", "-w", str(ws),
                     "--no-pdf")
    assert code == 1
    assert "project J-6 has client 'Acme Ltd' here but 'Apex' in the register register.csv" \
        in out


# ---------------------------------------------------------------------------------------------
# totals without a label, amounts with more decimals than the currency


def test_a_sum_formula_row_without_a_label_is_a_total(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Project", "Client", "Item", "Description", "Amount", "% Complete"])
    sheet.append(["P-1", "A", "1", "One", 100, 10])
    sheet.append(["P-1", "A", "2", "Two", 200, 10])
    sheet.append(["P-1", "A", "3", "Three", 300, 10])
    sheet.append([None, None, None, None, "=SUBTOTAL(9,E2:E3)", None])  # misses row 4
    path = tmp_path / "s.xlsx"
    book.save(path)
    # openpyxl saves no result for the formula; give it the one Excel would have saved
    _cache(path, "E5", "300")
    wb = read_workbook(path)
    assert wb.ok, [str(p) for p in wb.problems]
    assert "rows-skipped" in codes(wb) and len(wb.lines) == 3


def _cache(path: Path, cell: str, value: str) -> None:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = re.sub(rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)(<v\s*/>|<v></v>)?',
                   rf"\1\2<v>{value}</v>", sheet)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(("fmt", "billed"), [("#,##0.00", True), ("General", False)])
def test_an_amount_with_more_decimals_is_billed_as_its_cell_shows_it(tmp_path, fmt, billed):
    path = write_xlsx(tmp_path / "r.xlsx", {"Bill": [
        ["Project", "Client", "Item", "Description", "Amount", "% Complete"],
        ["P-1", "A", "1", "One", 1189918.269, 100],
        ["P-1", "A", "2", "Two", 100.005, 100]]},
        formats={("Bill", "E2"): fmt, ("Bill", "E3"): fmt})
    wb = read_workbook(path)
    if billed:
        assert wb.ok, [str(p) for p in wb.problems]
        # shown as 1,189,918.27 and 100.01 (half up)
        assert list(wb.lines["scheduled_value"]) == [118_991_827, 10_001]
        [warning] = [p for p in wb.problems if p.code == "amounts-rounded"]
        assert "2 amounts had more decimals than the currency" in warning.message
        assert "Bill!E2 1189918.269 -> 1,189,918.27" in warning.message
    else:
        assert codes(wb).count("too-many-decimals") == 2


def test_in_a_csv_an_amount_with_more_decimals_stays_an_error(tmp_path):
    path = write_csv(tmp_path / "r.csv", [
        ["Project", "Client", "Item", "Description", "Amount", "% Complete"],
        ["P-1", "A", "1", "One", "1189918.269", "100"]])
    assert codes(read_workbook(path)) == ["too-many-decimals"]


# ---------------------------------------------------------------------------------------------
# the real originals, as they are


@needs_realworld
def test_the_bill_of_quantities_bills_its_own_submitted_total(tmp_path):
    """baby1194-BOQ.xlsx as it is, with a register giving its client: the sum over its 61
    lines of round(submitted quantity x price) is 3,470,439.65, the sheet's own O63. Its
    unlabelled =SUBTOTAL row is a total; its unrounded amounts are billed as shown."""
    ws = _workspace(tmp_path)
    register = write_csv(tmp_path / "register.csv", [
        ["Project", "Client", "Retention %"], ["baby1194-BOQ", "Netivei Israel", "0"]])
    code, out = run_cli("run", str(REALWORLD / "baby1194-BOQ.xlsx"), str(register),
                     "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    assert _due(out, "baby1194-BOQ") == "3,470,439.65"
    wb = read_workbook(REALWORLD / "baby1194-BOQ.xlsx")
    assert "subtotal rows (SUM or SUBTOTAL formulas) skipped, not billed: row 63" in " ".join(
        p.message for p in wb.problems)


@needs_realworld
def test_the_original_g703_export_bills_with_a_register(tmp_path):
    ws = _workspace(tmp_path)
    name = "payapppro-g703-continuation-sheet-example"
    register = write_csv(tmp_path / "register.csv", [["Project", "Client"],
                                                     [name, "Acme Owner LLC"]])
    code, out = run_cli("run", str(REALWORLD / f"{name}.csv"), str(register),
                     "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    assert _due(out, name) == "150,300.00"


@needs_realworld
def test_the_road_works_running_bill_reads_as_it_is():
    wb = read_workbook(REALWORLD / "sudhamshusu-BOQ.xlsx")
    assert wb.ok, [str(p) for p in wb.problems]
    assert len(wb.lines) == 13
    # the lines' amounts add up to its Sub-Totals 1-4: 100,000 + 240,000 + 4,355,964 +
    # 1,158,260 = 5,854,224.00 (its "Total with PS" F39 halves a sum that misses row 38)
    assert int(wb.lines["scheduled_value"].sum()) == 585_422_400
    said = " ".join(str(p) for p in wb.problems)
    assert "total rows skipped, not billed: rows 21, 24, 34, 38, 39, 41, 43" in said
    assert "As per VO1 Quantity; quantity is read from a column named more exactly" in said


@needs_realworld
def test_the_tracker_without_money_is_refused_with_a_located_reason():
    wb = read_workbook(REALWORLD / "telford-monthly_progress.xlsx")
    assert not wb.ok
    assert codes(wb) == ["missing-column"]


# ---------------------------------------------------------------------------------------------
# quantity x rate lines on the documents and in the ledger


def test_quantity_lines_print_qty_unit_rate_and_qty_to_date(tmp_path):
    from pypdf import PdfReader

    ws = _workspace(tmp_path)
    code, out = run_cli("run", str(LAYOUTS / "running-bill.xlsx"), "--period", "2026-11", "-w",
                     str(ws))
    assert code == 0, out
    [pdf] = (ws / "invoices" / "2026-11").glob("*.pdf")
    text = " ".join(PdfReader(pdf).pages[0].extract_text().split())
    assert "Qty Unit Rate Qty to date" in text
    # B.1: 450 m at 1,875.25, 320 to date
    assert "450 m 1,875.25 320" in text
    sheet = openpyxl.load_workbook(ws / "ledger.xlsx")["Lines"]
    header = [c.value for c in sheet[1]]
    assert header[-7:] == ["Qty", "Unit", "Rate", "Qty To Date", "Currency", "Period",
                           "Invoice Date"]
    rows = {r[2]: r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]}
    assert rows["B.1"][-7:-3] == (450, "m", 1875.25, 320)
    assert rows["A.2"][-7:-2] == (800, "cum", 120, 850, "INR")


def test_a_store_of_the_previous_schema_gains_the_quantity_columns(tmp_path):
    import sqlite3

    ws = _workspace(tmp_path)
    code, out = run_cli("run", str(LAYOUTS / "towers.xlsx"), "--period", "2026-11", "-w", str(ws),
                     "--no-pdf")
    assert code == 0, out
    db = sqlite3.connect(ws / "progbill.db")
    for column in ("quantity", "unit", "rate", "quantity_to_date"):
        db.execute(f"ALTER TABLE document_lines DROP COLUMN {column}")
    db.execute("DROP TABLE line_schedule")
    db.execute("DROP TABLE project_details")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    code, out = run_cli("run", str(LAYOUTS / "running-bill.xlsx"), "--period", "2026-11", "-w",
                     str(ws), "--no-pdf")
    assert code == 0, out
    code, out = run_cli("ledger", "-w", str(ws))
    assert code == 0, out
    sheet = openpyxl.load_workbook(ws / "ledger.xlsx")["Lines"]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]]
    assert {r[-7:-3] for r in rows if r[1] == "TW-A"} == {(None, None, None, None)}
    assert (450, "m", 1875.25, 320) in {r[-7:-3] for r in rows}


def test_a_plain_retainage_column_beside_g_is_column_i_not_a_rate(tmp_path):
    """A G703 whose column I is headed just "Retainage": its amounts (50.00, under 100) are the
    retainage to date, checked against 10% of G, never each line's retainage rate (which would
    withhold 50% in silence)."""
    ws = _workspace(tmp_path)
    path = write_csv(tmp_path / "g703.csv", [
        ["Project", "Client", "Retainage %", "Item", "Description", "Scheduled Value",
         "Total Completed and Stored to Date", "Retainage"],
        ["P-3", "A", "10", "1", "Paint", "1000.00", "500.00", "50.00"],
        ["P-3", "A", "10", "2", "Doors", "800.00", "800.00", "80.00"]])
    code, out = run_cli("run", str(path), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    # G = 1,300.00, retainage 10% = 130.00 (the column's 50 + 80): due 1,170.00
    assert _due(out, "P-3") == "1,170.00"


@pytest.mark.parametrize(("amount", "ok"), [("1189918.269", True), ("1189918.261", False)])
def test_an_unrounded_quantity_x_rate_amount_is_rounded_per_line(tmp_path, amount, ok):
    """In a General cell or a CSV an amount with more decimals is an error, except exactly its
    line's quantity x rate (2,908.98 x 409.05 = 1,189,918.269), which is rounded half up."""
    path = write_csv(tmp_path / "boq.csv", [
        ["Project", "Client", "Item", "Description", "Qty", "Unit", "Rate", "Amount",
         "Executed Quantity", "Up to Date Amount"],
        ["P-4", "A", "1", "Concrete", "2908.98", "m3", "409.05", amount, "185.4", "75837.87"]])
    wb = read_workbook(path)
    if ok:
        assert wb.ok, [str(p) for p in wb.problems]
        assert (wb.lines.iloc[0]["scheduled_value"], wb.lines.iloc[0]["work_given"]) == (
            118_991_827, 7_583_787)
    else:
        assert codes(wb) == ["too-many-decimals"]


def test_the_aia_g703_form_with_its_notes_and_letter_row(tmp_path):
    """The AIA form's own headers: WORK COMPLETED over FROM PREVIOUS APPLICATION (D + E) and
    THIS PERIOD, notes in brackets, a row of column letters, RETAINAGE (IF VARIABLE RATE) in
    money, % (G ÷ C) formatted as a percentage."""
    ws = _workspace(tmp_path)
    path = write_xlsx(tmp_path / "g703.xlsx", {"G703": [
        ["CONTINUATION SHEET", None, None, None, None, None, None, None, None, None],
        ["Project No: AIA-1", None, None, None, None, None, None, None, None, None],
        ["Owner: City of Springfield", None, None, None, None, None, None, None, None, None],
        ["Retainage %: 5%"],
        ["ITEM NO.", "DESCRIPTION OF WORK", "SCHEDULED VALUE", "WORK COMPLETED", None,
         "MATERIALS PRESENTLY STORED (NOT IN D OR E)",
         "TOTAL COMPLETED AND STORED TO DATE (D + E + F)", "% (G ÷ C)",
         "BALANCE TO FINISH (C - G)", "RETAINAGE (IF VARIABLE RATE)"],
        [None, None, None, "FROM PREVIOUS APPLICATION (D + E)", "THIS PERIOD"],
        ["A", "B", "C", "D", "E", "F", "G", None, "H", "I"],
        ["1", "Sitework", 50000, 30000, 12000, 0, 42000, 0.84, 8000, 2100],
        ["2", "Steel", 100000, 20000, 15000, 5000, 40000, 0.4, 60000, 2000],
        [None, "GRAND TOTAL", 150000, 50000, 27000, 5000, 82000, 0.5467, 68000, 4100]]},
        formats={("G703", f"H{r}"): "0.00%" for r in (8, 9, 10)})
    wb = openpyxl.load_workbook(path)
    wb["G703"].merge_cells("D5:E5")
    wb.save(path)
    code, out = run_cli("run", str(path), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    # G = 42,000 + 40,000 = 82,000 (stored 5,000); retainage 5% of G = 4,100 (column I);
    # previous D = 50,000, its retainage assumed 5% = 2,500.
    # Due = 82,000 - 4,100 - (50,000 - 2,500) = 30,400.00
    assert _due(out, "AIA-1") == "30,400.00"


def test_a_register_and_a_schedule_workbook_that_disagree_are_refused(tmp_path):
    ws = _workspace(tmp_path)
    register = write_csv(tmp_path / "register.csv", [["Project", "Client"], ["J-9", "Acme"]])
    schedule = write_csv(tmp_path / "schedule.csv", [
        ["Project", "Client", "Item", "Description", "Amount"], ["J-9", "Apex", "1", "W", "10"]])
    code, out = run_cli("run", str(register), str(schedule), "--period", "2026-10", "-w", str(ws),
                     "--no-pdf")
    assert code == 1
    assert "project J-9 has client 'Apex' here but 'Acme' in register.csv" in out
