"""A folder as a finance team really fills it: good workbooks of every format and layout next to
bad and hostile ones. One run bills every good one and rejects each bad one with a located
message; nothing crashes.

    python tests/test_mixed_folder.py DIR   # writes the folder, to try `progbill validate DIR`
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from helpers import Pct, write_csv, write_ods, write_xls, write_xlsx

sys.path.insert(0, str(Path(__file__).parent))

GOOD = {"two-sheets.xlsx": "G-XLSX", "flat.xlsm": "G-XLSM", "legacy.xls": "G-XLS",
        "libreoffice.ods": "G-ODS", "export-de.csv": "G-CSV", "smartsheet.tsv": "G-TSV"}
BAD = {
    "over-100.xlsx": ("percent-out-of-range",
                      "over-100.xlsx, Milestones!E2 (% Complete): percent 120 is above 100"),
    "no-amount-column.csv": ("missing-column",
                             "no-amount-column.csv, row 1: row 1 looks like the header but "
                             "lacks scheduled_value; add it (scheduled_value may also be headed "
                             "amount, value, milestone amount, contract amount, total amount, "
                             "total contract sum, contract sum, as per boq, boq amount)"),
    "never-opened.xlsx": ("formula-without-value",
                          "never-opened.xlsx, Milestones!D2 (Scheduled Value): the formula in "
                          "this cell has no saved result"),
    "zip-bomb.xlsx": ("zip-bomb", "zip-bomb.xlsx: the file would expand 1028 times when opened"),
    "entities.xlsx": ("xml-bomb", "entities.xlsx: part xl/sharedStrings.xml declares XML "
                                  "entities"),
    "password.xlsx": ("password-protected", "password.xlsx: the workbook is password-protected"),
    "not-a-workbook.xlsx": ("unreadable-file", "not-a-workbook.xlsx: the file is not a .xlsx "
                                               "workbook"),
    "empty.csv": ("unreadable-file", "empty.csv: the file is empty"),
}
PROJECT_HEADER = ["Project ID", "Client", "Currency", "Retainage %"]
LINE_HEADER = ["Project ID", "Line", "Description", "Scheduled Value", "% Complete"]


def _two_sheets(path: Path, pid: str, percent: object = 40) -> Path:
    return write_xlsx(path, {"Projects": [["Progress report"], [], PROJECT_HEADER,
                                          [pid, f"Client of {pid}", "USD", 10]],
                             "Milestones": [LINE_HEADER, [pid, "1", "Design", 1000, percent],
                                            [pid, "2", "Build", 3000, 10]]})


def build(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _two_sheets(folder / "two-sheets.xlsx", "G-XLSX")
    flat = [["Project", "Client", "Currency", "Line", "Description", "Amount", "% Complete"],
            ["G-XLSM", "Flat Co", "GBP", "1", "Discovery", 2500, 50]]
    write_xlsx(folder / "flat.xlsm", {"Progress": flat})
    write_xls(folder / "legacy.xls", {
        "Projects": [PROJECT_HEADER, ["G-XLS", "Legacy Ltd", "USD", 5]],
        "Milestones": [LINE_HEADER, ["G-XLS", "1", "Survey", 800, Pct("0.5")]]})
    write_ods(folder / "libreoffice.ods", {
        "Projects": [PROJECT_HEADER, ["G-ODS", "Libre SA", "EUR", 0]],
        "SOV": [LINE_HEADER, ["G-ODS", "A", "Concept", 1200, Pct("0.25")]]})
    write_csv(folder / "export-de.csv", [
        ["Export aus DATEV"],
        ["project_id", "client", "currency", "milestone_id", "description", "scheduled_value",
         "status"],
        ["G-CSV", "Müller GmbH", "EUR", "1", "Konzept", "1.250,00", "abgeschlossen"
         .replace("abgeschlossen", "complete")],
        ["G-CSV", "Müller GmbH", "EUR", "2", "Umsetzung", "3.400,50", "in progress"]],
        delimiter=";", encoding="cp1252")
    write_csv(folder / "smartsheet.tsv", [
        ["project", "customer", "ccy", "item", "task", "value", "progress"],
        ["G-TSV", "Tab Inc", "USD", "1", "Setup", "$1,500.00", "20%"]], delimiter="\t")
    # bad
    _two_sheets(folder / "over-100.xlsx", "B-1", percent=120)
    write_csv(folder / "no-amount-column.csv", [
        ["project_id", "client", "milestone_id", "description", "percent_complete"],
        ["B-2", "X", "1", "Y", "10"]])
    never = _two_sheets(folder / "never-opened.xlsx", "B-3")
    wb = openpyxl.load_workbook(never)
    wb["Milestones"]["D2"] = "=500*2"
    wb.save(never)
    with zipfile.ZipFile(folder / "zip-bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))
    entities = _two_sheets(folder / "entities.tmp", "B-4")
    with zipfile.ZipFile(entities) as src, zipfile.ZipFile(folder / "entities.xlsx", "w") as out:
        for item in src.infolist():
            out.writestr(item, src.read(item.filename))
        out.writestr("xl/sharedStrings.xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a '
                     '"aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><sst><si><t>&b;</t>'
                     "</si></sst>")
    entities.unlink()
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = _two_sheets(folder / "password.tmp", "B-5")
    with plain.open("rb") as src, (folder / "password.xlsx").open("wb") as out:
        OOXMLFile(src).encrypt("secret", out)
    plain.unlink()
    (folder / "not-a-workbook.xlsx").write_text("Q3 notes: call the client about retainage")
    (folder / "empty.csv").write_bytes(b"")
    # skipped
    (folder / "~$two-sheets.xlsx").write_bytes(b"lock")
    return folder


def test_one_run_bills_every_good_file_and_rejects_each_bad_one(tmp_path):
    from progbill.cli import cli
    from progbill.store import Store

    folder = build(tmp_path / "month")
    ws = tmp_path / "ws"
    runner = CliRunner()
    runner.invoke(cli, ["init", str(ws)])
    result = runner.invoke(cli, ["run", str(folder), "--period", "2026-11", "-w", str(ws)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    for name in GOOD:
        assert f"OK        {name}" in result.output
    for name, (_, text) in BAD.items():
        assert f"REJECTED  {name}" in result.output
        assert text in result.output, name
    assert "~$two-sheets.xlsx: an Excel lock file" in result.output
    billed = set(Store(ws / "progbill.db").documents()["project_id"])
    assert billed == set(GOOD.values())
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*GOOD, *BAD, "~$two-sheets.xlsx"])  # explicit paths are never moved


def test_the_inbox_moves_good_files_to_archive_and_bad_ones_to_failed(tmp_path):
    from progbill.cli import cli

    ws = tmp_path / "ws"
    runner = CliRunner()
    runner.invoke(cli, ["init", str(ws)])
    (ws / "inbox" / "example-progress.xlsx").unlink()
    build(ws / "inbox")
    result = runner.invoke(cli, ["run", "--period", "2026-11", "-w", str(ws)])
    assert result.exit_code == 1
    archived = {p.name.split(".")[0] for p in (ws / "archive" / "2026-11").iterdir()}
    assert archived == {n.split(".")[0] for n in GOOD}
    failed = sorted(p.name for p in (ws / "failed").iterdir())
    for name, (_, text) in BAD.items():
        stem = Path(name).stem
        errors = next(f for f in failed if f.startswith(stem + ".") and f.endswith(".errors.txt"))
        assert text in (ws / "failed" / errors).read_text()
    assert [p.name for p in (ws / "inbox").iterdir()] == ["~$two-sheets.xlsx"]


def test_validate_prints_every_problem_and_exits_1(tmp_path):
    from progbill.cli import cli

    folder = build(tmp_path / "month")
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 1
    for name in GOOD:
        assert f"OK        {name}" in result.output
    for name, (_, text) in BAD.items():
        assert text in result.output, name
    import json

    report = json.loads(CliRunner().invoke(cli, ["validate", str(folder), "--json"]).output)
    codes = {f["name"]: [p["code"] for p in f["problems"] if p["severity"] == "error"]
             for f in report["files"]}
    for name, (code, _) in BAD.items():
        assert code in codes[name]


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
