"""Writes the sample workbooks of three businesses for October and November 2026.

    python sample_workbooks/make_samples.py

* Harborview Construction (USD): two-sheet .xlsx, schedule of values, 10% / 5% retainage,
  stored materials, an approved change order in November.
* Northlight Studio (GBP, 20% VAT): flat .csv exported from Excel with a title line, billed by
  milestone status, a change request in November.
* Sahyadri Structural Consultants (INR, 18% GST): flat .xlsx with percent-formatted progress,
  GSTIN, SAC codes and place of supply; one project onboarded with amounts billed before
  progbill.
* Bau Nord GmbH (EUR, 19% VAT, e-invoices), in einvoice/: flat .csv with the buyers' e-invoice
  columns (country, town, post code, Peppol address, Leitweg-ID), a German public client billed
  by quantities and an Austrian client under reverse charge whose progress is corrected down in
  November (a credit note). Its settings: settings/baunord.toml.

The files are committed; this script documents and reproduces them.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill

HERE = Path(__file__).resolve().parent
MONTHS = ("2026-10", "2026-11")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
MONEY = "#,##0.00"
RUPEES = "#,##,##0.00"

# ----------------------------------------------------------------------------------------------
# Harborview Construction: two sheets, percent complete as plain numbers


HARBORVIEW_PROJECTS = [
    ["HB-2041", "Maple Street Library renovation",
     "City of Ashford - Department of Public Works",
     "400 Civic Center Plaza\nAshford, OH 43215", "USD", 10, None, 0, "Net 30", "PW-26-0187",
     1248500],
    ["HB-2047", "Riverside Medical Office build-out", "Riverside Health Partners LLC",
     "1180 River Road, Suite 200\nColumbus, OH 43220", "USD", 10, 5, 0, "Net 45", "RHP-5521",
     282000],
]
HARBORVIEW_HEADER = ["Project ID", "Project Name", "Client", "Client Address", "Currency",
                     "Retainage %", "Retainage on stored materials", "Tax %", "Payment Terms",
                     "PO Number", "Original Contract Sum"]

# line id, description, scheduled value, {month: (percent, stored)}, change order
HARBORVIEW_LINES = {
    "HB-2041": [
        ("01", "General conditions and supervision", 86500,
         {"2026-10": (30, 0), "2026-11": (45, 0)}, None),
        ("02", "Sitework and selective demolition", 112000,
         {"2026-10": (100, 0), "2026-11": (100, 0)}, None),
        ("03", "Concrete and masonry repairs", 164800,
         {"2026-10": (65, 0), "2026-11": (90, 0)}, None),
        ("04", "Structural steel and roof framing", 198200,
         {"2026-10": (20, 38500), "2026-11": (55, 12000)}, None),
        ("05", "Roofing and waterproofing", 142000,
         {"2026-10": (0, 0), "2026-11": (15, 18600)}, None),
        ("06", "Mechanical, HVAC and controls", 221400,
         {"2026-10": (10, 24750), "2026-11": (25, 0)}, None),
        ("07", "Electrical, lighting and fire alarm", 176300,
         {"2026-10": (5, 0), "2026-11": (20, 0)}, None),
        ("08", "Interior finishes and millwork", 147300,
         {"2026-10": (0, 0), "2026-11": (0, 0)}, None),
        ("CO-01", "Asbestos abatement, east wing (approved change order 01)", 46750,
         {"2026-11": (60, 0)}, "CO-01"),
    ],
    "HB-2047": [
        ("01", "Mobilization and general requirements", 24000,
         {"2026-10": (40, 0), "2026-11": (60, 0)}, None),
        ("02", "Metal stud framing and drywall", 68500,
         {"2026-10": (25, 0), "2026-11": (70, 0)}, None),
        ("03", "Doors, frames and hardware", 21750,
         {"2026-10": (0, 0), "2026-11": (20, 6400)}, None),
        ("04", "Plumbing and medical gas", 39200,
         {"2026-10": (0, 0), "2026-11": (35, 0)}, None),
        ("05", "HVAC distribution", 44800,
         {"2026-10": (0, 0), "2026-11": (30, 0)}, None),
        ("06", "Electrical and low voltage", 52300,
         {"2026-10": (0, 8900), "2026-11": (25, 0)}, None),
        ("07", "Flooring, paint and finishes", 31450,
         {"2026-10": (0, 0), "2026-11": (0, 0)}, None),
    ],
}


def _title(ws, text: str, subtitle: str) -> None:
    ws["A1"] = text
    ws["A1"].font = TITLE
    ws["A2"] = subtitle


def _header(ws, row: int, headers: list[str]) -> None:
    for c, text in enumerate(headers, start=1):
        cell = ws.cell(row, c, text)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def harborview(month: str, folder: Path) -> None:
    book = openpyxl.Workbook()
    projects = book.active
    projects.title = "Projects"
    _title(projects, "Harborview Construction LLC - active contracts",
           f"Pay applications for {month}; prepared by Accounts Receivable")
    _header(projects, 4, HARBORVIEW_HEADER)
    for r, row in enumerate(HARBORVIEW_PROJECTS, start=5):
        for c, value in enumerate(row, start=1):
            cell = projects.cell(r, c, value)
            if c == len(row):
                cell.number_format = MONEY
            if isinstance(value, str) and "\n" in value:
                cell.alignment = Alignment(wrap_text=True)
    for col, width in zip("ABCDEFGHIJK", (11, 34, 40, 34, 9, 11, 14, 7, 13, 12, 16),
                          strict=True):
        projects.column_dimensions[col].width = width

    sov = book.create_sheet("Schedule of Values")
    _title(sov, "Schedule of values and progress to date",
           f"Percent complete as agreed with the owner's representative, {month}")
    headers = ["Project ID", "Item No", "Description of Work", "Scheduled Value",
               "% Complete", "Materials Presently Stored", "Change Order"]
    _header(sov, 4, headers)
    r = 5
    for pid, lines in HARBORVIEW_LINES.items():
        for line_id, text, value, progress, co in lines:
            if month not in progress:
                continue
            pct, stored = progress[month]
            for c, v in enumerate([pid, line_id, text, value, pct, stored, co], start=1):
                cell = sov.cell(r, c, v)
                if c in (4, 6):
                    cell.number_format = MONEY
            r += 1
    for col, width in zip("ABCDEFG", (11, 9, 52, 16, 12, 16, 13), strict=True):
        sov.column_dimensions[col].width = width
    sov.freeze_panes = "A5"
    book.save(folder / "harborview-construction-progress.xlsx")


# ----------------------------------------------------------------------------------------------
# Northlight Studio: flat CSV, billed by milestone status


NORTHLIGHT_PROJECTS = {
    "NLS-031": ("Website redesign and CMS migration", "Ashby & Cole Solicitors LLP",
                "12 Wharf Street, Leeds LS2 7EQ", "accounts@ashbycole.co.uk", "GB284552190",
                "AC-PO-4471", "14"),
    "NLS-034": ("Booking app - phase 1", "Greenway Cycles Ltd",
                "Unit 4, Canal Works, Manchester M1 2NQ", "finance@greenwaycycles.co.uk",
                "GB117903462", "", "30"),
}
NORTHLIGHT_MILESTONES = [
    ("NLS-031", "M1", "Discovery workshops and content audit", "6,500.00",
     {"2026-10": "Complete", "2026-11": "Complete"}, ""),
    ("NLS-031", "M2", "Information architecture and wireframes", "8,200.00",
     {"2026-10": "Approved", "2026-11": "Approved"}, ""),
    ("NLS-031", "M3", "Visual design system and page templates", "9,800.00",
     {"2026-10": "In progress", "2026-11": "Approved"}, ""),
    ("NLS-031", "M4", "CMS build, forms and integrations", "18,400.00",
     {"2026-10": "Not started", "2026-11": "In progress"}, ""),
    ("NLS-031", "M5", "Content migration, training and launch", "7,100.00",
     {"2026-10": "Not started", "2026-11": "Not started"}, ""),
    ("NLS-034", "M1", "Product discovery sprint", "5,400.00",
     {"2026-10": "Done", "2026-11": "Done"}, ""),
    ("NLS-034", "M2", "Clickable prototype and user testing", "7,600.00",
     {"2026-10": "In progress", "2026-11": "Done"}, ""),
    ("NLS-034", "M3", "iOS and Android build", "24,000.00",
     {"2026-10": "Not started", "2026-11": "In progress"}, ""),
    ("NLS-034", "CR-02", "Change request 02: card payments via Stripe", "3,950.00",
     {"2026-11": "Complete"}, "CR-02"),
]


def northlight(month: str, folder: Path) -> None:
    exported = date(int(month[:4]), int(month[5:]), 28 if month.endswith("10") else 27)
    rows = [
        [f"Northlight Studio Ltd - milestone tracker (exported {exported:%d/%m/%Y})"],
        [],
        ["Project", "Project Title", "Client", "Address", "Email", "VAT Number", "Currency",
         "VAT %", "Payment Terms", "PO", "Milestone", "Description", "Milestone Amount",
         "Status", "Change Order No"],
    ]
    for pid, line_id, text, amount, status, co in NORTHLIGHT_MILESTONES:
        if month not in status:
            continue
        name, client, address, email, vat, po, terms = NORTHLIGHT_PROJECTS[pid]
        rows.append([pid, name, client, address, email, vat, "GBP", "20", f"Net {terms}", po,
                     line_id, text, f"£{amount}", status[month], co])
    with (folder / "northlight-studio-milestones.csv").open("w", newline="",
                                                           encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows(rows)


# ----------------------------------------------------------------------------------------------
# Sahyadri Structural Consultants: flat xlsx, Excel percent cells, GST fields


SAHYADRI_PROJECTS = {
    "SSC-117": ("Structural design - Metro car depot, Hinjewadi",
                "Pune Metropolitan Infrastructure Ltd",
                "3rd Floor, Sangam Towers, Bund Garden Road, Pune 411001",
                "27AABCP1234M1Z5", "Maharashtra", "998334", 0),
    "SSC-124": ("MEP and structural audit - Whitefield tech park",
                "Brigade Techspaces Pvt Ltd",
                "Plot 21, EPIP Zone, Whitefield, Bengaluru 560066",
                "29AAFCB5678K1Z2", "Karnataka", "998332", 5),
}
# line, description, fee, {month: fraction complete}, previously billed (onboarding)
SAHYADRI_STAGES = [
    ("SSC-117", "S1", "Concept design and feasibility report", 1850000,
     {"2026-10": 1, "2026-11": 1}, 1850000),
    ("SSC-117", "S2", "Detailed structural analysis and design basis", 3200000,
     {"2026-10": 0.4, "2026-11": 0.75}, 800000),
    ("SSC-117", "S3", "Good-for-construction drawings", 2750000,
     {"2026-10": 0, "2026-11": 0.1}, None),
    ("SSC-117", "S4", "Site support and inspections", 1200000,
     {"2026-10": 0, "2026-11": 0}, None),
    ("SSC-124", "S1", "Condition survey and non-destructive testing", 420000,
     {"2026-10": 1, "2026-11": 1}, None),
    ("SSC-124", "S2", "Structural audit report", 680000,
     {"2026-10": 0.3, "2026-11": 1}, None),
    ("SSC-124", "S3", "Retrofit design and drawings", 950000,
     {"2026-10": 0, "2026-11": 0.25}, None),
]


def sahyadri(month: str, folder: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Fee Progress"
    _title(ws, "Sahyadri Structural Consultants Pvt. Ltd. - fee progress statement",
           f"Stage-wise completion certified by project leads for {month}")
    headers = ["Job No", "Job Name", "Client", "Billing Address", "GSTIN", "Place of Supply",
               "SAC", "Currency", "GST %", "Retention %", "Terms", "Milestone", "Scope",
               "Contract Amount", "% Complete", "Previous Billing"]
    _header(ws, 4, headers)
    r = 5
    for pid, stage, scope, fee, progress, previous in SAHYADRI_STAGES:
        name, client, address, gstin, state, sac, retention = SAHYADRI_PROJECTS[pid]
        values = [pid, name, client, address, gstin, state, sac, "INR", 18, retention, 30,
                  stage, scope, fee, progress[month], previous]
        for c, v in enumerate(values, start=1):
            cell = ws.cell(r, c, v)
            if c in (14, 16):
                cell.number_format = RUPEES
            if c == 15:
                cell.number_format = "0%"
        r += 1
    for col, width in zip("ABCDEFGHIJKLMNOP",
                          (9, 40, 34, 44, 18, 14, 8, 8, 7, 10, 7, 6, 44, 16, 11, 16),
                          strict=True):
        ws.column_dimensions[col].width = width
    notes = book.create_sheet("Notes")
    notes["A1"] = "Previous Billing: fees invoiced before this statement moved to progbill."
    book.save(folder / "sahyadri-consultants-progress.xlsx")


# ----------------------------------------------------------------------------------------------
# Bau Nord GmbH: flat csv with the e-invoice columns (README "E-invoices")

BAUNORD_HEADER = ["Project", "Project Title", "Client", "Customer ID", "Address", "City",
                  "Postal Code", "Country", "VAT Number", "Peppol ID", "Leitweg-ID", "PO",
                  "VAT %", "Reverse Charge", "Line", "Description", "Amount", "% Complete",
                  "Unit", "Rate", "Qty", "Qty to date"]
BAUNORD_PROJECTS = {
    "BN-301": ["Kita Am Park - Rohbau", "Stadt Musterstadt - Hochbauamt", "10001",
               "Rathausplatz 1", "Musterstadt", "12345", "DE", "DE987654321",
               "0204:04011000-12345-03", "04011000-12345-03", "HBA-2026-114", "19", "no"],
    "BN-305": ["Lagerhalle Salzburg - Stahlbau", "Alpen Logistik GmbH", "10002",
               "Industriestrasse 8", "Salzburg", "5020", "AT", "ATU12345678",
               "9914:ATU12345678", "AL-7781", "AL-7781", "19", "yes"],
}
# project, line, description, amount, unit, rate, quantity, {month: percent or quantity to date}
BAUNORD_LINES = [
    ("BN-301", "01", "Baustelleneinrichtung", "18500.00", "", "", "",
     {"2026-10": 100, "2026-11": 100}),
    ("BN-301", "02", "Erdarbeiten, Aushub", "29400.00", "m3", "24.50", "1200",
     {"2026-10": "1200", "2026-11": "1200"}),
    ("BN-301", "03", "Stahlbeton Fundamente und Decken", "263500.00", "m3", "310.00", "850",
     {"2026-10": "310", "2026-11": "620"}),
    ("BN-301", "04", "Mauerwerk", "163200.00", "m2", "68.00", "2400",
     {"2026-10": "0", "2026-11": "900"}),
    ("BN-305", "01", "Stahlbau Halle", "240000.00", "", "", "",
     {"2026-10": 35, "2026-11": 30}),
    ("BN-305", "02", "Dach und Fassade", "96000.00", "", "", "",
     {"2026-10": 0, "2026-11": 0}),
]


def baunord(month: str, folder: Path) -> None:
    rows = [BAUNORD_HEADER]
    for pid, line, text, amount, unit, rate, quantity, progress in BAUNORD_LINES:
        done = progress[month]
        percent, to_date = (done, "") if not rate else ("", done)
        rows.append([pid, *BAUNORD_PROJECTS[pid][:-1], BAUNORD_PROJECTS[pid][-1], line, text,
                     amount, percent, unit, rate, quantity, to_date])
    with (folder / "baunord-leistungsstand.csv").open("w", newline="",
                                                     encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def main() -> None:
    for month in MONTHS:
        folder = HERE / month
        folder.mkdir(exist_ok=True)
        harborview(month, folder)
        northlight(month, folder)
        sahyadri(month, folder)
        print(f"wrote {folder}")
        einvoice = HERE / "einvoice" / month
        einvoice.mkdir(parents=True, exist_ok=True)
        baunord(month, einvoice)
        print(f"wrote {einvoice}")


if __name__ == "__main__":
    main()
