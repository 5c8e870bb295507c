"""A month's ledger written after the Lines rows kept from the last one (progbill.linecache)
is the ledger written whole: every part of the package, byte for byte."""

from __future__ import annotations

import shutil
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import simple_workbook
from hypothesis import given, settings
from hypothesis import strategies as st

from progbill import ledger, linecache, publish, zipparts
from progbill.cli import cli
from progbill.store import Store
from progbill.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import generate


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as book:
        assert book.testzip() is None
        return {name: book.read(name) for name in book.namelist()}


def written_whole(ws: Path, tmp_path: Path, period: str) -> dict[str, bytes]:
    """The ledger of the same store after a run of ``period`` (aged as of its last day),
    every row written anew (no kept rows)."""
    from progbill.billing.periods import Period

    copy = tmp_path / "whole"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(ws, copy)
    shutil.rmtree(copy / ".progbill-cache", ignore_errors=True)
    with Store(copy / "progbill.db") as store:
        publish.publish_ledger(store, Workspace(copy), [], keep=0,
                               ageing_as_of=Period.parse(period).last_day)
    return parts(copy / "ledger.xlsx")


@pytest.fixture
def reuses(monkeypatch):
    """Small sheets reuse rows too; records what each ledger reused (rows, or None)."""
    monkeypatch.setattr(ledger, "WIDTH_ROWS", 5)
    seen: list[int | None] = []
    load = linecache.load

    def recording(*args):
        found = load(*args)
        seen.append(found.earlier.rows if found else None)
        return found

    monkeypatch.setattr(linecache, "load", recording)
    return seen


def empty_workspace(tmp_path: Path) -> Path:
    """A new workspace without the sample workbooks ``init`` puts in its inbox."""
    ws = tmp_path / "ws"
    CliRunner().invoke(cli, ["init", str(ws)])
    for path in (ws / "inbox").iterdir():
        path.unlink()
    return ws


def month_book(tmp_path: Path, month: int) -> Path:
    """Month ``month`` of 3 projects x 3 lines."""
    return generate.write(tmp_path / f"m{month}.xlsx", projects=3, lines=3, month=month,
                          steady=True)


def run(ws: Path, book: Path, period: str) -> None:
    result = CliRunner().invoke(cli, ["run", str(book), "--period", period, "-w", str(ws),
                                      "--no-pdf"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("streamed_from", [10**9, 45])
def test_each_month_written_after_the_kept_rows_is_the_ledger_written_whole(
        tmp_path, reuses, monkeypatch, streamed_from):
    """Also across the switch to constant-memory mode, whose styles are numbered otherwise:
    the kept rows are given the new workbook's styles, and each month still builds only its
    own rows."""
    from progbill import sheetdata

    monkeypatch.setattr(ledger, "CONSTANT_MEMORY_ROWS", streamed_from)
    writes: list[str] = []
    write = ledger.write_ledger
    monkeypatch.setattr(ledger, "write_ledger", lambda *args: writes.append(args[2].name)
                        or write(*args))
    built: list[int] = []  # the Lines rows progbill builds, each ledger
    plan = sheetdata.plan
    monkeypatch.setattr(sheetdata, "plan", lambda *args, **kwargs: (
        built.append(len(args[1])) if args[0] == "Lines" else None) or plan(*args, **kwargs))
    ws = empty_workspace(tmp_path)
    for month in (1, 2, 3):
        book = generate.write(tmp_path / f"m{month}.xlsx", projects=4, lines=3, month=month,
                              steady=True)
        writes.clear()
        built.clear()
        run(ws, book, f"2026-{month:02d}")
        assert writes == ["ledger.xlsx"], (month, writes)  # written once
        assert built == [12], (month, built)  # the month's own lines, never the kept ones
        assert parts(ws / "ledger.xlsx") == written_whole(ws, tmp_path, f"2026-{month:02d}")
        assert linecache.path(Workspace(ws)).is_file()
    # month 1 had nothing to reuse; months 2 and 3 were offered the 12 and 24 rows before
    # theirs (streamed from 45 rows, month 3 was the first in constant-memory mode)
    assert [r for r in reuses if r is not None] == [12, 24]
    tables = [name for name in parts(ws / "ledger.xlsx") if name.startswith("xl/tables/")]
    assert bool(tables) == (streamed_from > 1000)
    with zipfile.ZipFile(ws / "ledger.xlsx") as book:
        lines = book.read(ledger_part(book, "Lines")).decode()
    assert '<dimension ref="A1:V38"/>' in lines  # header, 36 lines, totals row


def ledger_part(book: zipfile.ZipFile, sheet: str) -> str:
    from progbill.sheetdata import sheet_parts

    return sheet_parts(book)[sheet]


def test_a_new_currency_that_changes_the_money_format_writes_every_row(tmp_path, reuses):
    """Yen lines first (no decimals), then dollars: the kept rows were written in the yen
    format, the sheet now needs two decimals, so nothing is reused and the ledger is still the
    ledger written whole."""
    ws = empty_workspace(tmp_path)
    lines = [["P-1", f"L{i}", f"Line {i}", 100_000 * i, 10, 0] for i in range(1, 7)]
    yen = simple_workbook(tmp_path / "yen.xlsx", lines, ["P-1", "Acme KK", "JPY", 10, 0])
    run(ws, yen, "2026-01")
    both = generate.write(tmp_path / "usd.xlsx", projects=2, lines=3, month=1, steady=True)
    run(ws, both, "2026-02")
    assert reuses[-1] == 6  # offered, then found not to fit
    assert parts(ws / "ledger.xlsx") == written_whole(ws, tmp_path, "2026-02")


def test_kept_rows_of_other_documents_are_not_reused(tmp_path, reuses, monkeypatch):
    ws = empty_workspace(tmp_path)
    run(ws, month_book(tmp_path, 1), "2026-01")
    space = Workspace(ws)
    with Store(ws / "progbill.db") as store:
        documents = store.ledger_documents(2026)
    assert linecache.load(space, 2026, documents) is not None
    assert linecache.load(space, 2025, documents) is None  # another fiscal year
    other_run = [(n, run_id + "x", key) for n, run_id, key in documents]
    assert linecache.load(space, 2026, other_run) is None  # same numbers, issued again
    assert linecache.load(space, 2026, documents[1:]) is None  # a document voided
    # a damaged file is no cache at all
    data = linecache.path(space).read_bytes()
    linecache.path(space).write_bytes(data[:-10] + bytes(b ^ 1 for b in data[-10:]))
    assert linecache.load(space, 2026, documents) is None
    linecache.path(space).write_bytes(b"not a cache")
    assert linecache.load(space, 2026, documents) is None
    linecache.path(space).write_bytes(data)
    assert linecache.load(space, 2026, documents) is not None
    monkeypatch.setattr(linecache, "MAX_BYTES", len(data) - 1)  # too large to be ours
    assert linecache.load(space, 2026, documents) is None
    monkeypatch.setattr(linecache, "MAX_BYTES", 1 << 31)
    run(ws, month_book(tmp_path, 2), "2026-02")
    assert parts(ws / "ledger.xlsx") == written_whole(ws, tmp_path, "2026-02")


def test_an_edited_ledger_is_written_whole(tmp_path, reuses):
    """The accountant saved the ledger (here: a comment typed into Lines): its rows are read
    and written anew, and the comment is carried."""
    import openpyxl
    from openpyxl.comments import Comment

    ws = empty_workspace(tmp_path)
    run(ws, month_book(tmp_path, 1), "2026-01")
    book = openpyxl.load_workbook(ws / "ledger.xlsx")
    book["Lines"]["H3"].comment = Comment("checked against the site report", "Dana")
    book.save(ws / "ledger.xlsx")
    run(ws, month_book(tmp_path, 2), "2026-02")
    assert reuses == [None]  # looked for in month 1 (none yet), not at all in month 2
    assert openpyxl.load_workbook(ws / "ledger.xlsx")["Lines"]["H3"].comment.text == (
        "checked against the site report")
    assert not linecache.path(Workspace(ws)).exists()  # rows with comments are not kept


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=3000), min_size=1, max_size=6))
def test_pieces_joined_are_the_bytes_they_hold(chunks):
    pieces = [zipparts.deflate(c) for c in chunks]
    joined = zipparts.join(pieces)
    whole = b"".join(chunks)
    assert zipparts.inflate(joined) == whole
    assert joined.crc == zlib.crc32(whole) and joined.size == len(whole)
    import io

    out = io.BytesIO()
    zipparts.write_zip(out, [("a/part.xml", (1980, 1, 1, 0, 0, 0), joined)])
    with zipfile.ZipFile(out) as book:
        assert book.testzip() is None and book.read("a/part.xml") == whole


def test_a_ledger_copy_keeps_every_part_but_its_links_as_stored(tmp_path):
    """Backups of the ledger copy its parts' deflated bytes (no inflating and deflating them
    again); only the relationships holding PDF links change."""
    ws = empty_workspace(tmp_path)
    book = generate.write(tmp_path / "m1.xlsx", projects=2, lines=2, month=1, steady=True)
    result = CliRunner().invoke(cli, ["run", str(book), "--period", "2026-01", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    original = (ws / "ledger.xlsx").read_bytes()
    copy = publish.relinked(original, depth=1)
    assert publish.relinked(original, depth=1) == copy  # the same bytes in, the same out
    before = parts(ws / "ledger.xlsx")
    (tmp_path / "copy.xlsx").write_bytes(copy)
    after = parts(tmp_path / "copy.xlsx")
    changed = {name for name in before if before[name] != after[name]}
    assert changed and all(name.endswith(".rels") for name in changed)
    assert all(b'Target="../invoices/' in after[name] for name in changed)
    with zipfile.ZipFile(ws / "ledger.xlsx") as a, zipfile.ZipFile(tmp_path / "copy.xlsx") as b:
        for info in a.infolist():
            if info.filename not in changed:
                assert zipparts.copied(original, info).data == zipparts.copied(
                    copy, b.getinfo(info.filename)).data


@given(st.lists(st.one_of(st.none(), st.floats(min_value=-1e300, max_value=1e300)),
                max_size=40))
def test_a_totals_row_is_the_exact_sum_rounded_once(values):
    """Totals are exact however the rows are split between runs (kept rows + new rows)."""
    import math
    from fractions import Fraction

    numbers = [v for v in values if v is not None]
    exact = sum((Fraction(v) for v in numbers), Fraction(0))
    half = len(values) // 2
    split = ledger.exact_sum(values[:half]) + ledger.exact_sum(values[half:])
    assert Fraction(split, 2**1074) == exact
    assert ledger.nearest_double(split) == math.fsum(numbers)


def _pieces(*texts: str) -> list[zipparts.Deflated]:
    out = []
    for text in texts:
        part = zipparts.Deflater()
        part.add(text.encode())
        out.append(part.done())
    return out


def test_kept_rows_take_the_new_workbooks_styles_only_where_that_is_certain():
    """The month the ledger passes to constant-memory mode numbers its styles otherwise: the
    kept rows' cells get their column's new style; a cell's text is never touched; rows that
    cannot be restyled with certainty are refused (written anew)."""
    from progbill.sheetdata import Stale, restyled

    rows = ('<row r="2"><c r="A2" s="3" t="inlineStr"><is><t>a s="3"&gt;&lt;v&gt; b</t></is>'
            '</c><c r="B2" s="4"><v>1.5</v></c><c r="C2"><v>7</v></c></row>',
            '<row r="3"><c r="A3" s="3" t="inlineStr"><is><t xml:space="preserve"> x</t></is>'
            '</c><c r="B3" s="4"><v>2</v></c></row>')
    old = {0: ' s="3"', 1: ' s="4"', 2: ""}
    swapped = {0: ' s="4"', 1: ' s="3"', 2: ""}  # two styles trade their numbers
    found = [zipparts.inflate(p).decode() for p in restyled(_pieces(*rows), old, swapped,
                                                            "Lines")]
    assert found == [
        '<row r="2"><c r="A2" s="4" t="inlineStr"><is><t>a s="3"&gt;&lt;v&gt; b</t></is>'
        '</c><c r="B2" s="3"><v>1.5</v></c><c r="C2"><v>7</v></c></row>',
        '<row r="3"><c r="A3" s="4" t="inlineStr"><is><t xml:space="preserve"> x</t></is>'
        '</c><c r="B3" s="3"><v>2</v></c></row>']
    with pytest.raises(Stale):  # text that looks like a style attribute: written anew
        restyled(_pieces('<row r="4"><c r="A4" s="3" t="inlineStr"><is><t>a" s="3" b</t>'
                         '</is></c></row>'), old, swapped, "Lines")
    for new in ({0: ' s="5"', 1: ' s="6"', 2: ' s="7"'},  # a column gains a style
                {0: ' s="5"', 1: ""},  # a column loses one, and one is gone
                {0: ' s="5"', 1: ' s="6"', 2: ""} | {3: ' s="8"'}):  # another column
        with pytest.raises(Stale):
            restyled(_pieces(*rows), old, new, "Lines")
    with pytest.raises(Stale):  # one old style would become two new ones
        restyled(_pieces(*rows), {0: ' s="3"', 1: ' s="3"', 2: ""},
                 {0: ' s="5"', 1: ' s="6"', 2: ""}, "Lines")
    with pytest.raises(Stale):  # a cell with a style of its own (another currency's format)
        restyled(_pieces('<row r="4"><c r="B4" s="9"><v>2</v></c></row>'), old, swapped,
                 "Lines")
