"""The example workbook ``progbill init`` puts in the inbox: a two-sheet progress workbook
with a title block, as a finance team would keep it. Its structure is the documentation."""

from __future__ import annotations

from pathlib import Path

PROJECT_HEADER = ["Project ID", "Project Name", "Client", "Client Address", "Currency",
                  "Retainage %", "Tax %", "Payment Terms", "PO Number", "Contract Value"]
PROJECTS = [
    ["EX-101", "Riverside Clinic fit-out", "Riverside Health Partners",
     "200 Harbor Road\nPortland, OR 97201", "USD", 10, 0, "Net 30", "PO-7731", 185000],
]
LINE_HEADER = ["Project ID", "Line", "Description of Work", "Scheduled Value", "% Complete",
               "Materials Stored", "Change Order"]
LINES = [
    ["EX-101", "01", "General conditions and mobilisation", 18000, 50, 0, None],
    ["EX-101", "02", "Demolition and site preparation", 22000, 100, 0, None],
    ["EX-101", "03", "Framing and drywall", 61000, 35, 4500, None],
    ["EX-101", "04", "Electrical rough-in", 48000, 20, 0, None],
    ["EX-101", "05", "Finishes and casework", 36000, 0, 0, None],
    ["EX-101", "CO-1", "Additional exam room lighting (CO 1)", 7500, 0, 0, "CO-1"],
]


def write_example_workbook(path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False,
                                           "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    money = book.add_format({"num_format": "#,##0.00"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    projects = book.add_worksheet("Projects")
    projects.write(0, 0, "Example progress workbook: replace with your own projects", title)
    projects.write_row(2, 0, PROJECT_HEADER, bold)
    for r, row in enumerate(PROJECTS, start=3):
        for c, value in enumerate(row):
            if PROJECT_HEADER[c] == "Contract Value":
                projects.write_number(r, c, value, money)
            elif isinstance(value, (int, float)):
                projects.write_number(r, c, value)
            else:
                projects.write_string(r, c, value, wrap)
    projects.set_column(0, 0, 12)
    projects.set_column(1, 3, 30)
    projects.set_column(4, 9, 14)

    lines = book.add_worksheet("Milestones")
    lines.write(0, 0, "Schedule of values and progress to date", title)
    lines.write_row(2, 0, LINE_HEADER, bold)
    for r, row in enumerate(LINES, start=3):
        for c, value in enumerate(row):
            if value is None:
                continue
            header = LINE_HEADER[c]
            if header in ("Scheduled Value", "Materials Stored"):
                lines.write_number(r, c, value, money)
            elif isinstance(value, (int, float)):
                lines.write_number(r, c, value)
            else:
                lines.write_string(r, c, value)
    lines.set_column(0, 1, 12)
    lines.set_column(2, 2, 42)
    lines.set_column(3, 6, 16)
    book.close()
