"""The PDF documents: what a client sees, golden texts, long schedules, locales, tax regimes,
custom templates and reproducibility."""

from __future__ import annotations

import os
import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import simple_workbook, write_xlsx
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from progbill.cli import cli
from progbill.render.formatting import Formatter

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_workbooks"
GOLDEN = Path(__file__).resolve().parent / "golden"
BUSINESSES = {
    "harborview": "harborview-construction-progress.xlsx",
    "northlight": "northlight-studio-milestones.csv",
    "sahyadri": "sahyadri-consultants-progress.xlsx",
}


def progbill(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def text_of(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


def flowing(text: str) -> str:
    """Text as one line: phrases that wrap in a narrow column still match."""
    return " ".join(text.split())


def normalised(text: str) -> str:
    """Text as a reader compares it: one line per line, spaces collapsed."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line) + "\n"


@pytest.fixture(scope="module")
def businesses(tmp_path_factory) -> dict[str, Path]:
    """Each sample business billed for October and November in its own workspace with its own
    settings, as docs/render_examples.py does; Harborview also gets the correction that issues
    a credit note."""
    sys.path.insert(0, str(REPO / "docs"))
    import render_examples

    root = tmp_path_factory.mktemp("businesses")
    spaces = {name: render_examples.workspace(root, name) for name in BUSINESSES}
    render_examples.credit_note(root, spaces["harborview"])
    return spaces


def documents_of(ws: Path) -> list[Path]:
    return sorted((ws / "invoices").rglob("*.pdf"))


def test_golden_texts_of_every_sample_document(businesses):
    """The extracted text of each document, checked in under tests/golden/. After an intended
    change: PROGBILL_UPDATE_GOLDEN=1 pytest tests/test_documents.py, then review the diff."""
    update = os.environ.get("PROGBILL_UPDATE_GOLDEN") == "1"
    seen = []
    for name, ws in businesses.items():
        for pdf in documents_of(ws):
            golden = GOLDEN / name / f"{pdf.stem}.txt"
            actual = normalised(text_of(pdf))
            seen.append(golden)
            if update:
                golden.parent.mkdir(parents=True, exist_ok=True)
                golden.write_text(actual, encoding="utf-8")
            assert golden.is_file(), f"no golden text for {golden}"
            assert actual == golden.read_text(encoding="utf-8"), f"{pdf.name} changed"
    assert len(seen) == 13
    assert sorted(GOLDEN.rglob("*.txt")) == sorted(seen)


def test_the_gst_tax_invoice_carries_what_rule_46_asks(businesses):
    ws = businesses["sahyadri"]
    same_state = flowing(text_of(ws / "invoices/2026-11/SSC_2026_0003.pdf"))
    assert "TAX INVOICE" in same_state
    assert "GSTIN: 27AAHCS4821Q1Z8" in same_state  # seller
    assert "GSTIN: 27AABCP1234M1Z5" in same_state  # client
    assert "State: Maharashtra" in same_state
    assert "Place of supply: Maharashtra" in same_state
    assert "SAC/HSN: 998334" in same_state
    assert "CGST 9%" in same_state and "SGST 9%" in same_state and "IGST" not in same_state
    assert "1,25,550.00" in same_state  # each half of 18% on 13,95,000.00
    assert "₹16,46,100.00" in same_state  # lakh grouping
    assert "Sixteen lakh, forty-six thousand, one hundred rupees only" in same_state
    assert "Authorised signatory" in same_state
    other_state = flowing(text_of(ws / "invoices/2026-11/SSC_2026_0004.pdf"))
    assert "IGST 18%" in other_state and "CGST" not in other_state
    assert "Place of supply: Karnataka" in other_state


def test_the_vat_invoice_carries_what_article_226_and_hmrc_ask(businesses):
    text = flowing(text_of(businesses["northlight"] / "invoices/2026-11/INV-2026-00004.pdf"))
    assert "VAT number: GB 318 4472 05" in text  # supplier
    assert "VAT number: GB117903462" in text  # customer
    assert "Date of issue 30 Nov 2026" in text and "Tax point 30 Nov 2026" in text
    assert "Period of supply 1 Nov 2026 – 30 Nov 2026" in text
    assert "Taxable amount 11,550.00" in text
    assert "VAT 20%" in text and "2,310.00" in text
    assert "£13,860.00" in text


def test_reverse_charge_is_stated_and_charges_nothing(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = write_xlsx(tmp_path / "eu.xlsx", {"Work": [
        ["project_id", "client", "vat number", "currency", "vat %", "reverse_charge",
         "milestone_id", "description", "scheduled_value", "percent_complete"],
        ["EU-1", "Kunde GmbH", "DE811907980", "EUR", 19, "yes", "1", "Beratung", 10000, 50]]})
    assert progbill("run", str(book), "--period", "2026-11", "-w", str(ws))[0] == 0
    text = flowing(text_of(ws / "invoices/2026-11/INV-2026-00001.pdf"))
    assert "Reverse charge: the customer accounts for the VAT on this supply (Article 196" in text
    assert "VAT 19%" in text and "$5,000.00" not in text and "€5,000.00" in text


def test_a_long_schedule_spills_with_headers_counters_and_totals_at_the_end(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    lines = [["P-1", f"{k:03d}", f"Work package {k:03d}: supply and install", 1000 + k, k % 101,
              0] for k in range(1, 86)]
    book = simple_workbook(tmp_path / "long.xlsx", lines)
    assert progbill("run", str(book), "--period", "2026-11", "-w", str(ws))[0] == 0
    pages = [flowing(p.extract_text())
             for p in PdfReader(ws / "invoices/2026-11/INV-2026-00001.pdf").pages]
    assert len(pages) >= 3
    for n, page in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in page
        assert "Scheduled value" in page and "Balance to finish" in page  # repeated header
        if n > 1:
            assert "INV-2026-00001 · continued" in page
    for k in range(1, 86):  # every line once, on one page: no row is split
        assert sum(f"Work package {k:03d}" in page for page in pages) == 1
    assert "Totals" in pages[-1] and not any("Totals" in page for page in pages[:-1])


@pytest.mark.parametrize("locale, currency, minor, number, money", [
    ("en_US", "USD", 123456750, "1,234,567.50", "$1,234,567.50"),
    ("en_GB", "GBP", 123456750, "1,234,567.50", "£1,234,567.50"),
    ("en_IN", "INR", 1234567890, "1,23,45,678.90", "₹1,23,45,678.90"),
    ("de_DE", "EUR", 123456750, "1.234.567,50", "1.234.567,50\u00a0€"),
    ("fr_FR", "EUR", 123456750, "1\u202f234\u202f567,50", "1\u202f234\u202f567,50\u00a0€"),
    ("en_US", "JPY", 1235, "1,235", "¥1,235"),
    ("en_US", "KWD", 1234567, "1,234.567", "KWD\u00a01,234.567"),
    ("en_US", "USD", -90000, "-900.00", "-$900.00"),
])
def test_amounts_in_each_locale(locale, currency, minor, number, money):
    fmt = Formatter(locale, currency)
    assert fmt.number(minor) == number
    assert fmt.money(minor) == money


@given(minor=st.integers(-10**17, 10**17),
       locale=st.sampled_from(["en_US", "en_IN", "de_DE", "fr_FR", "de_CH", "ar_EG", "hi_IN"]),
       currency=st.sampled_from(["USD", "EUR", "JPY", "KWD", "INR"]),
       quantity=st.decimals(min_value=-10**9, max_value=10**9, places=4))
@settings(max_examples=150, deadline=None)
def test_numbers_are_what_babels_format_decimal_writes(minor, locale, currency, quantity):
    """The formatter parses each pattern and locale once; every number, percent and quantity
    reads as babel.numbers.format_decimal writes it with the same pattern."""
    from babel.numbers import format_decimal

    from progbill.money import exponent, from_minor
    from progbill.render.formatting import _number_pattern

    fmt = Formatter(locale, currency)
    assert fmt.number(minor) == format_decimal(
        from_minor(minor, currency), format=_number_pattern(locale, exponent(currency)),
        locale=locale)
    percent = Decimal(minor) / 10**6
    assert fmt.percent(percent, 4) == format_decimal(
        percent / 100, format=_number_pattern(locale, 4) + "%", locale=locale)
    decimals = max(0, -quantity.normalize().as_tuple().exponent)  # type: ignore[operator]
    assert fmt.quantity(quantity) == format_decimal(quantity, format=_number_pattern(
        locale, 0) + ("." + "#" * decimals if decimals else ""), locale=locale)


@pytest.mark.parametrize("locale, text", [
    ("en_US", "Nov 30, 2026"), ("en_GB", "30 Nov 2026"), ("en_IN", "30 Nov 2026"),
    ("de_DE", "30.11.2026"), ("fr_FR", "30 nov. 2026"),
])
def test_dates_in_the_locales_medium_form(locale, text):
    assert Formatter(locale, "EUR").date("2026-11-30") == text


def test_percent_and_amount_in_words():
    assert Formatter("en_US", "USD").percent(Decimal("44.6900")) == "44.69%"
    assert Formatter("de_DE", "EUR").percent(Decimal("44.69")) == "44,69%"
    assert Formatter("en_IN", "INR").words(1234567890) == (
        "One crore, twenty-three lakh, forty-five thousand, six hundred and seventy-eight "
        "rupees, ninety paise only")
    assert Formatter("en_GB", "GBP").words(2880000) == (
        "Twenty-eight thousand, eight hundred pounds sterling only")


def test_a_credit_note_prints_positive_credits_and_cites_the_invoice(businesses):
    text = flowing(text_of(businesses["harborview"] / "invoices/2026-11/CN-2026-00001.pdf"))
    assert "CREDIT NOTE" in text
    assert "corrects invoice INV-2026-00004 of Nov 30, 2026" in text
    assert "Total credit $6,165.00" in text
    assert "-6,165.00" not in text and "-6,850.00" not in text


def test_a_draft_carries_a_watermark_and_a_draft_number(tmp_path):
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 50, 0]])
    progbill("run", str(book), "--period", "2026-11", "-w", str(ws), "--draft")
    text = flowing(text_of(ws / "drafts/2026-11/DRAFT-1.pdf"))
    assert "DRAFT INVOICE" in text.upper()  # the title
    assert "DRAFT-1" in text  # the number
    assert text.count("DRAFT") >= 3  # and the watermark


def test_pdf_metadata_comes_from_the_configuration_not_the_workbook(businesses):
    reader = PdfReader(businesses["northlight"] / "invoices/2026-11/INV-2026-00004.pdf")
    meta = reader.metadata
    assert meta.title == "Invoice INV-2026-00004"
    assert meta.author == "Northlight Studio Ltd"
    assert meta.creation_date.date().isoformat() == "2026-11-30"


def test_fonts_ship_with_the_template_and_text_is_real_text(businesses):
    reader = PdfReader(businesses["harborview"] / "invoices/2026-11/INV-2026-00003.pdf")
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("progbill-Sans" in f for f in fonts)
    assert any("progbill-Condensed" in f for f in fonts)
    assert "Maple Street Library renovation" in reader.pages[0].extract_text()


def test_page_size_follows_the_configuration(businesses):
    letter = PdfReader(businesses["harborview"] / "invoices/2026-11/INV-2026-00003.pdf")
    a4 = PdfReader(businesses["northlight"] / "invoices/2026-11/INV-2026-00004.pdf")
    assert [round(float(x)) for x in letter.pages[0].mediabox[2:]] == [612, 792]
    assert [round(float(x)) for x in a4.pages[0].mediabox[2:]] == [595, 842]


def test_a_document_re_renders_identically_after_the_logo_file_changes(businesses):
    ws = businesses["northlight"]
    pdf = ws / "invoices/2026-10/INV-2026-00001.pdf"
    original = pdf.read_bytes()
    logo = ws / "northlight-logo.svg"
    saved = logo.read_text()
    logo.write_text(saved.replace("#facc15", "#ff0000"))
    try:
        pdf.unlink()
        assert progbill("ledger", "-w", str(ws))[0] == 0
        assert pdf.read_bytes() == original
    finally:
        logo.write_text(saved)


def test_your_own_templates(tmp_path):
    ws = tmp_path / "ws"
    code, out = progbill("init", str(ws), "--templates")
    assert code == 0 and 'template_dir = "templates"' in out
    html = ws / "templates" / "invoice.html"
    html.write_text(html.read_text().replace(
        "{% if document.is_draft %}",
        "<p>Thank you for your business, {{ client.name }}!</p>{% if document.is_draft %}", 1))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 50, 0]])
    assert progbill("run", str(book), "--period", "2026-11", "-w", str(ws))[0] == 0
    assert "Thank you for your business, Acme Corp!" in text_of(
        ws / "invoices/2026-11/INV-2026-00001.pdf")


@pytest.mark.parametrize("change, message", [
    (("{% for line in lines %}", "{% for line in lines %"), "has an error on line"),
    (("{{ seller.name }}</div>", "{{ seller.nmae }}</div>"), "uses a variable that does not exist"),
])
def test_a_broken_template_is_a_configuration_error_and_nothing_is_issued(tmp_path, change,
                                                                          message):
    ws = tmp_path / "ws"
    progbill("init", str(ws), "--templates")
    html = ws / "templates" / "invoice.html"
    html.write_text(html.read_text().replace(*change))
    book = simple_workbook(tmp_path / "p.xlsx", [["P-1", "1", "Work", 1000, 50, 0]])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 2
    assert message in out
    from progbill.store import Store

    assert not (ws / "progbill.db").exists() or Store(ws / "progbill.db").documents().empty


def test_the_template_context_is_documented_in_the_readme(businesses):
    from progbill.pipeline import stored_context
    from progbill.store import Store

    with Store(businesses["sahyadri"] / "progbill.db") as store:
        context = stored_context(store, "SSC/2026/0003")
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Your own templates"):]
    names = set()
    for key, value in context.items():
        if not isinstance(value, dict):
            names.add(key)
        if isinstance(value, dict):
            names.update(f"{key}.{k}" for k in value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            names.update(f"{key}[].{k}" for k in value[0])
    missing = sorted(n for n in names if f"`{n}`" not in section)
    assert not missing, f"undocumented template variables: {missing}"
    assert re.search(r"`document\.regime`", section)


@pytest.mark.parametrize("quantities", [False, True])
def test_no_two_cells_overlap_with_the_largest_amounts_and_long_item_codes(tmp_path, quantities):
    """Amounts up to 999,999,999,999.99 and 16-character item codes: every text segment of the
    page (PDFium's text rectangles) stays apart from every other, so no figures run together;
    also with the four quantity columns of quantity x rate lines."""
    import pypdfium2
    from click.testing import CliRunner
    from helpers import write_csv

    from progbill.cli import cli

    ws = tmp_path / "ws"
    CliRunner().invoke(cli, ["init", str(ws)])
    rows = [["project_id", "client", "milestone_id", "description", "scheduled_value",
             "percent_complete", "stored_materials", "retainage_pct"]]
    for k in range(6):
        rows.append(["P-1", "Client", f"01.02.01.028{k}-AB", f"Work package {k}",
                     "999999999999.99", "100" if k % 2 else "33.33", "0", "10"])
    if quantities:  # 9,999,999.9999 x 99,999.9999 = 999,999,989,999.99 (rounded half up)
        rows = [[*rows[0][:4], "quantity", "unit", "rate", "quantity_to_date", *rows[0][6:]]]
        for k in range(6):
            rows.append(["P-1", "Client", f"01.02.01.028{k}-AB", f"Work package {k}",
                         "9999999.9999", "cu.m.", "99999.9999",
                         "9999999.9999" if k % 2 else "3333333.3333", "0", "10"])
    book = write_csv(tmp_path / "big.csv", rows)
    result = CliRunner().invoke(cli, ["run", str(book), "--period", "2026-11", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    page = pypdfium2.PdfDocument(ws / "invoices" / "2026-11" / "INV-2026-00001.pdf")[0]
    text = page.get_textpage()
    boxes = [text.get_rect(i) for i in range(text.count_rects())]
    assert len(boxes) > 50
    overlaps = []
    for i, (l1, b1, r1, t1) in enumerate(boxes):
        for l2, b2, r2, t2 in boxes[i + 1:]:
            if min(r1, r2) - max(l1, l2) > 0.5 and min(t1, t2) - max(b1, b2) > 0.5:
                overlaps.append(((l1, b1, r1, t1), (l2, b2, r2, t2)))
    assert not overlaps, overlaps[:3]


def test_one_taxable_value_and_a_release_says_why_it_carries_no_tax(tmp_path):
    """A document shows one taxable value and the tax on it. Under tax_base = "gross" an
    invoice taxes the work before retainage, and says so; a retainage-release invoice carries
    no tax and says why."""
    ws = tmp_path / "ws"
    progbill("init", str(ws))
    header = ["Project ID", "Client", "Currency", "Retainage %", "VAT %", "Release Retainage"]
    book = tmp_path / "p.xlsx"
    simple_workbook(book, [["P-1", "1", "Works", 10000, 100, 0]],
                    ["P-1", "Acme", "GBP", 10, 20, "no"], header)
    code, out = progbill("run", str(book), "--period", "2026-10", "-w", str(ws))
    assert code == 0, out
    text = " ".join(PdfReader(ws / "invoices" / "2026-10" / "INV-2026-00001.pdf").pages[0]
                    .extract_text().split())
    # 10,000 of work, 1,000 withheld: subtotal 9,000; VAT on the work before retainage
    assert "Subtotal 9,000.00 Taxable amount (before retainage) 10,000.00 VAT 20% 2,000.00" \
        in text
    simple_workbook(book, [["P-1", "1", "Works", 10000, 100, 0]],
                    ["P-1", "Acme", "GBP", 10, 20, "yes"], header)
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 0, out
    text = " ".join(PdfReader(ws / "invoices" / "2026-11" / "INV-2026-00002.pdf").pages[0]
                    .extract_text().split())
    assert "Less retainage -1,000.00 Subtotal 1,000.00 Taxable amount (before retainage) " \
        "0.00 VAT 20% 0.00 No tax on the retainage released: it was taxed with the work it " \
        "was withheld from." in text


def test_a_gst_tax_invoice_without_the_sellers_gstin_stops_the_run(tmp_path):
    from progbill.store import Store

    ws = tmp_path / "ws"
    progbill("init", str(ws))
    book = tmp_path / "p.xlsx"
    simple_workbook(book, [["P-1", "1", "Works", 10000, 50, 0]],
                    ["P-1", "Acme", "INR", 0, 18], ["Project ID", "Client", "Currency",
                                                    "Retainage %", "GST %"])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 2
    assert "would be GST tax invoices, which must show the seller's GSTIN; set seller.tax_id" \
        in out
    assert not (ws / "progbill.db").exists() or Store(ws / "progbill.db").documents().empty
    config = ws / "progbill.toml"
    config.write_text(config.read_text().replace('tax_id = ""', 'tax_id = "27AAACS1234F1Z5"', 1))
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 0, out


def test_a_misspelt_variable_in_a_custom_statement_template_stops_before_anything(tmp_path):
    ws = tmp_path / "ws"
    assert progbill("init", str(ws), "--templates")[0] == 0
    statement = next(ws.rglob("statement.html"))
    statement.write_text(statement.read_text().replace("{{ client.name }}",
                                                       "{{ client.nmae }}", 1))
    book = tmp_path / "p.xlsx"
    simple_workbook(book, [["P-1", "1", "Works", 10000, 50, 0]])
    code, out = progbill("run", str(book), "--period", "2026-11", "-w", str(ws))
    assert code == 2
    assert "statement.html failed" in out and "nmae" in out


def test_every_float_of_the_bundled_template_has_its_width_given(monkeypatch):
    """WeasyPrint sizes a float without a width by laying its content out twice more (for a
    floated table, whose width belongs to the table, that was a tenth of a document's render
    time). The bundled template gives every float a width: no float is sized to its content,
    with or without the quantity columns."""
    import weasyprint.layout.float as floats

    from progbill.render.context import sample_context
    from progbill.render.pdf import Renderer

    sized: list[str] = []
    original = floats.shrink_to_fit

    def counted(context, box, available):  # type: ignore[no-untyped-def]
        sized.append(f"{box.element_tag}.{box.style['float']}")
        return original(context, box, available)

    monkeypatch.setattr(floats, "shrink_to_fit", counted)
    renderer = Renderer()
    context = sample_context()
    quantities = {**context, "has_quantities": True, "lines": [
        {**line, "quantity": "1,250", "unit": "m2", "rate": "12.50", "quantity_to_date": "600"}
        for line in context["lines"]]}
    for each in (context, quantities):
        assert renderer.pdf(each).startswith(b"%PDF")
    assert sized == []


def test_the_bundled_fonts_compressed_once_give_the_same_pdf_bytes(monkeypatch):
    """The fonts' compressed streams are reused between documents: each PDF is byte for byte
    what pydyf writes compressing them anew, and the font streams are compressed once."""
    import zlib

    import pydyf

    from progbill.render.context import sample_context
    from progbill.render.pdf import Renderer

    renderer = Renderer()
    context = sample_context()
    renderer.pdf(context)  # the fonts' streams are compressed here, once
    compressed: list[int] = []
    original_compressobj = zlib.compressobj

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        compressed.append(1)
        return original_compressobj(*args, **kwargs)

    monkeypatch.setattr(zlib, "compressobj", counted)
    reused = renderer.pdf(context)
    reused_count = len(compressed)
    hook = pydyf.Stream.data.fget
    assert hook._progbill
    monkeypatch.setattr(pydyf.Stream, "data", property(hook._original))
    compressed.clear()
    anew = renderer.pdf(context)
    assert reused == anew
    assert len(compressed) >= reused_count + 2  # at least two fonts were compressed anew


def test_rows_of_gives_what_itertuples_gives():
    """``columns.rows_of`` (the document context and the e-invoice model read lines with it):
    each row's values, of every dtype the store gives, are itertuples' values."""
    import math

    import pandas as pd

    from progbill.columns import rows_of

    frame = pd.DataFrame({
        "line_id": pd.array(["1", None, "3"], dtype="string"),
        "billed": pd.array([5, -7, 2**62], dtype="int64"),
        "on_document": [True, False, True],
        "rate": ["12.50", "", None],
        "ratio": [0.5, float("nan"), 1e-9],
    })
    expected = list(frame.itertuples(index=False))
    got = list(rows_of(frame))
    assert len(got) == len(expected) == 3
    for row, tup in zip(got, expected, strict=True):
        for name, value in zip(frame.columns, tup, strict=True):
            mine = getattr(row, name)
            assert type(mine) is type(value), (name, mine, value)
            if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                assert mine is value or math.isnan(mine)
            else:
                assert mine == value
