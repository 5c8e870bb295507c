"""Real public workbooks (../shared/realworld, read by path, never copied) and the layouts that
once billed a wrong amount with exit code 0: each must bill the right amount or refuse."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import write_csv

from progbill.cli import cli
from progbill.readers import read_workbook

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld"
needs_realworld = pytest.mark.skipif(not REALWORLD.is_dir(),
                                     reason="../shared/realworld (real public workbooks) absent")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _workspace(tmp_path: Path, **input_settings: str) -> Path:
    ws = tmp_path / "ws"
    _run("init", str(ws))
    config = ws / "progbill.toml"
    text = config.read_text()
    for key, value in input_settings.items():
        text = text.replace(f'{key} = "auto"', f'{key} = "{value}"')
    config.write_text(text)
    return ws


HEADER = ["project_id", "client", "milestone_id", "description", "scheduled_value",
          "percent_complete"]


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
    code, out = _run("run", str(book), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0 and f"USD {due:>16}" in out  # 900 + 250, or 9.00 + 2.50


@needs_realworld
def test_the_telford_tracker_of_fractions_bills_the_hand_worked_amounts(tmp_path):
    path = REALWORLD / "edited" / "telford-summary-fractions.xlsx"
    refused = read_workbook(path)
    assert [p.code for p in refused.problems if p.is_error] == ["percent-as-fraction"]
    ws = _workspace(tmp_path, percent_scale="fraction")
    code, out = _run("run", str(path), "--period", "2026-11", "-w", str(ws), "--no-pdf")
    assert code == 0, out
    assert "T3           Telford Development           USD       650,944.50" in out
    assert "T4           Telford Development           USD     1,469,253.00" in out
