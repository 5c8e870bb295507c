"""Writes sample_workbooks/layouts/: one workbook per layout progbill reads as it is.

    python sample_workbooks/make_layouts.py

- g703-export.csv: a G703 continuation sheet exported to CSV, with a title block (project,
  owner, retainage) above the header, stored materials, the previous application and the
  sheet's own G, %, H and I columns, which progbill checks;
- running-bill.xlsx: a running-account bill: a key/value cover sheet (contract, employer,
  retention, currency), a two-row merged header (As per BOQ / Up to Previous Bill / This Bill
  / Up to Date over Quantity, Rate, Amount), a column-number row, section headings, sub-totals,
  a total, summary rows (GST, grand total), quantity x rate lines and a quantity overrun;
- towers.xlsx: one project per sheet, each with a title block (the second names no project,
  so its sheet's name is the project), and a notes sheet that is not a schedule;
- contract-schedule.csv, progress-2026-11.csv and projects-register.csv: a schedule kept
  apart from its monthly progress (line ids and percents only), and the project's details in a
  register.

The figures are worked by hand in tests/test_layouts.py.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent / "layouts"
MONEY = "#,##0.00"


def g703_export(path: Path) -> None:
    rows = [
        ["Continuation Sheet (AIA G703)", "", "", "", "", "", "", "", "", ""],
        ["Project No:", "PA-200", "", "", "", "", "", "", "", ""],
        ["Project:", "Riverside Clinic fit-out", "", "", "", "", "", "", "", ""],
        ["Owner:", "Riverside Clinic LLC", "", "", "", "", "", "", "", ""],
        ["Retainage %:", "10%", "", "", "", "", "", "", "", ""],
        [],
        ["Item No", "Description of Work", "Scheduled Value",
         "Work Completed From Previous Application", "Work Completed This Period",
         "Materials Presently Stored", "Total Completed & Stored to Date", "% (G/C)",
         "Balance to Finish", "Retainage to Date"],
        ["1", "General Conditions", "40000.00", "20000.00", "8000.00", "0.00", "28000.00",
         "70.00%", "12000.00", "2800.00"],
        ["2", "Sitework", "60000.00", "30000.00", "15000.00", "5000.00", "50000.00", "83.33%",
         "10000.00", "5000.00"],
        ["3", "Concrete", "100000.00", "10000.00", "25000.00", "12000.00", "47000.00",
         "47.00%", "53000.00", "4700.00"],
        ["4", "Electrical", "50000.00", "0.00", "0.00", "3000.00", "3000.00", "6.00%",
         "47000.00", "300.00"],
        ["", "Grand Total", "250000.00", "60000.00", "48000.00", "20000.00", "128000.00",
         "51.20%", "122000.00", "12800.00"],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def running_bill(path: Path) -> None:
    """Written with xlsxwriter, which saves each formula with its result, as Excel does."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "align": "center", "valign": "vcenter",
                            "text_wrap": True, "border": 1})
    money = book.add_format({"num_format": MONEY})
    cover = book.add_worksheet("Abstract")
    for r, row in enumerate((["Running Account Bill No. 2"], [],
                             ["Name of Work:", "Ward 7 storm-water drainage"],
                             ["Contract No:", "PWD/KOL/2026/17"],
                             ["Employer:", "Kolhapur Municipal Corporation"],
                             ["Retention %:", 5], ["Currency:", "INR"],
                             ["Bill period:", "November 2026"])):
        cover.write_row(r, 0, row)
    cover.set_column(0, 0, 18)
    cover.set_column(1, 1, 36)
    bill = book.add_worksheet("Bill")
    bill.write(0, 0, "Running Account Bill No. 2 - measured work", bold)
    for col, text in enumerate(("Item No", "Description", "Unit")):
        bill.merge_range(2, col, 3, col, text, head)
    for first, last, text in ((3, 5, "As per BOQ"), (6, 7, "Up to Previous Bill"),
                              (8, 9, "This Bill"), (10, 11, "Up to Date")):
        bill.merge_range(2, first, 2, last, text, head)
    bill.write_row(3, 3, ["Quantity", "Rate", "Amount", "Quantity", "Amount", "Quantity",
                          "Amount", "Quantity", "Amount"], head)
    bill.write_row(4, 0, list(range(1, 13)))
    sections = [
        ("A", "EARTHWORK", [("A.1", "Excavation in all soils", "cum", 1200, "245.50", 700, 300),
                            ("A.2", "Backfilling with selected earth", "cum", 800, "120", 500,
                             350)]),
        ("B", "PIPES AND CHAMBERS", [
            ("B.1", "300 mm RCC NP3 pipe, laid and jointed", "m", 450, "1875.25", 200, 120),
            ("B.2", "Brick masonry manhole chambers", "nos", 12, "18500", 4, 3)]),
    ]
    r = 5
    totals = {c: Decimal(0) for c in "FHJL"}
    subtotal_rows = []
    for code, heading, items in sections:
        bill.write(r, 0, code)
        bill.write(r, 1, heading, bold)
        r += 1
        first = r
        section = {c: Decimal(0) for c in "FHJL"}
        for item, description, unit, quantity, rate, previous, this_bill in items:
            x = r + 1  # Excel row number
            price = Decimal(rate)
            figures = {"F": quantity * price, "H": previous * price, "J": this_bill * price,
                       "L": (previous + this_bill) * price}
            bill.write_row(r, 0, [item, description, unit, quantity])
            bill.write_number(r, 4, float(price), money)
            bill.write_number(r, 6, previous)
            bill.write_number(r, 8, this_bill)
            bill.write_formula(r, 10, f"=G{x}+I{x}", None, previous + this_bill)
            for col, of in (("F", "D"), ("H", "G"), ("J", "I"), ("L", "K")):
                bill.write_formula(f"{col}{x}", f"=ROUND({of}{x}*E{x},2)", money,
                                   float(figures[col]))
                section[col] += figures[col]
            r += 1
        bill.write(r, 1, f"Sub-Total {code}", bold)
        for col in "FHJL":
            bill.write_formula(f"{col}{r + 1}", f"=SUM({col}{first + 1}:{col}{r})", money,
                               float(section[col]))
            totals[col] += section[col]
        subtotal_rows.append(r + 1)
        r += 1
    bill.write(r, 1, "Total", bold)
    for col in "FHJL":
        bill.write_formula(f"{col}{r + 1}", "=" + "+".join(f"{col}{s}" for s in subtotal_rows),
                           money, float(totals[col]))
    gst = (totals["F"] * Decimal("0.18")).quantize(Decimal("0.01"))
    bill.write(r + 1, 1, "GST 18%")
    bill.write_formula(r + 1, 5, f"=ROUND(F{r + 1}*0.18,2)", money, float(gst))
    bill.write(r + 2, 1, "Grand Total incl. GST", bold)
    bill.write_formula(r + 2, 5, f"=F{r + 1}+F{r + 2}", money, float(totals["F"] + gst))
    for col, width in enumerate((8, 40, 6, 10, 10, 14, 10, 14, 10, 14, 10, 14)):
        bill.set_column(col, col, width)
    book.close()


def towers(path: Path) -> None:
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["Progress claims for Lakeside Towers; one sheet per tower."])
    for name, title, lines in (
        ("Tower A", [["Project No:", "TW-A"], ["Project:", "Lakeside Towers - Tower A"],
                     ["Client:", "Lakeside Developments Ltd"], ["Retention %:", "5%"],
                     ["Currency:", "GBP"]],
         [("1", "Piling", 120000, 1), ("2", "Frame", 300000, 0.4), ("3", "Facade", 180000, 0)]),
        ("Tower B", [["Client:", "Lakeside Developments Ltd"], ["Retention %:", "5%"],
                     ["Currency:", "GBP"]],
         [("1", "Piling", 110000, 1), ("2", "Frame", 280000, 0.25)]),
    ):
        sheet = book.create_sheet(name)
        for row in title:
            sheet.append(row)
        sheet.append([])
        sheet.append(["Item", "Description", "Amount", "% Complete"])
        for item, description, amount, done in lines:
            sheet.append([item, description, amount, done])
            r = sheet.max_row
            sheet[f"C{r}"].number_format = MONEY
            sheet[f"D{r}"].number_format = "0%"
        sheet.column_dimensions["A"].width = 14
        sheet.column_dimensions["B"].width = 28
    book.save(path)


def kept_apart(folder: Path) -> None:
    """A contract schedule, its monthly progress (line ids and percents only) and a projects
    register, as three files: how schedules are often kept apart from progress."""
    with (folder / "projects-register.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([
            ["Project", "Project Name", "Client", "Address", "Currency", "Retention %",
             "Payment Terms"],
            ["CL-12", "Customer portal rebuild", "Nordhafen Logistik GmbH",
             "Am Kai 4, 20457 Hamburg", "EUR", "5", "Net 14"],
        ])
    with (folder / "contract-schedule.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([
            ["Project", "Item", "Description", "Amount"],
            ["CL-12", "1", "Discovery and plan", "12000.00"],
            ["CL-12", "2", "Design", "30000.00"],
            ["CL-12", "3", "Build", "80000.00"],
            ["CL-12", "4", "Launch and handover", "8000.00"],
        ])
    with (folder / "progress-2026-11.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([
            ["Project", "Item", "% Complete"],
            ["CL-12", "1", "100%"], ["CL-12", "2", "60%"], ["CL-12", "3", "25%"],
            ["CL-12", "4", "0%"],
        ])


def main() -> None:
    HERE.mkdir(exist_ok=True)
    g703_export(HERE / "g703-export.csv")
    running_bill(HERE / "running-bill.xlsx")
    towers(HERE / "towers.xlsx")
    kept_apart(HERE)


if __name__ == "__main__":
    main()
