"""A document's HTML read by expat instead of the HTML5 parser (progbill.render.markup): the
same tree wherever expat's is taken, and the same PDF bytes."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import tinyhtml5
from hypothesis import given, settings
from hypothesis import strategies as st

from progbill.render import markup

REPO = Path(__file__).resolve().parent.parent


def html5_tree(html: str) -> ElementTree.Element:
    """The tree WeasyPrint builds (tinyhtml5, namespace_html_elements=False)."""
    return tinyhtml5.parse(html, namespace_html_elements=False)


def difference(a: ElementTree.Element, b: ElementTree.Element, path: str = "") -> str | None:
    """Where two trees differ (tag, attributes in order, text, tail, children), or None."""
    path = f"{path}/{a.tag}"
    if a.tag != b.tag:
        return f"{path}: {a.tag!r} against {b.tag!r}"
    if list(a.attrib.items()) != list(b.attrib.items()):
        return f"{path}: attributes {a.attrib} against {b.attrib}"
    if (a.text or None) != (b.text or None) or (a.tail or None) != (b.tail or None):
        return f"{path}: text {a.text!r}/{a.tail!r} against {b.text!r}/{b.tail!r}"
    if len(a) != len(b):
        return f"{path}: children {[c.tag for c in a]} against {[c.tag for c in b]}"
    for x, y in zip(a, b, strict=True):
        found = difference(x, y, path)
        if found:
            return found
    return None


def same_as_html5(html: str) -> ElementTree.Element | None:
    """expat's tree, after checking it is the HTML5 parser's (None where it is not taken)."""
    fast = markup.parse(html)
    if fast is not None:
        found = difference(html5_tree(html), fast)
        assert found is None, f"{found}\n{html}"
    return fast


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> list[tuple[str, dict[str, Any]]]:
    """Every document the sample businesses issue (invoices, a credit note, GST and VAT),
    the e-invoice samples, the template's sample context with and without quantity columns,
    and statements: (template, context)."""
    sys.path.insert(0, str(REPO / "docs"))
    import render_examples

    from progbill.pipeline import stored_context
    from progbill.render.context import sample_context
    from progbill.statements import sample_statement_context, statement_contexts
    from progbill.store import Store

    root = tmp_path_factory.mktemp("markup")
    spaces = [render_examples.workspace(root, name)
              for name in ("harborview", "northlight", "sahyadri")]
    render_examples.credit_note(root, spaces[0])
    out: list[tuple[str, dict[str, Any]]] = []
    for ws in spaces:
        with Store(ws / "progbill.db") as store:
            for number in store.documents()["number"]:
                out.append(("invoice.html", stored_context(store, number)))
            seller = {**sample_statement_context()["seller"], "name": "Seller & Sons <Ltd>"}
            out += [("statement.html", context) for _client, context in statement_contexts(
                store, date(2026, 12, 31), seller, "en_US", "A4")]
    context = sample_context()
    out.append(("invoice.html", context))
    out.append(("invoice.html", {**context, "has_quantities": True, "lines": [
        {**line, "quantity": "1,250", "unit": "m2", "rate": "12.50", "quantity_to_date": "600"}
        for line in context["lines"]]}))
    out.append(("statement.html", sample_statement_context()))
    return out


def html_of(renderer: Any, template: str, context: dict[str, Any]) -> str:
    if template == "invoice.html":
        return str(renderer.html(context))
    return str(renderer.env.get_template(template).render(**context))


def test_expat_reads_every_bundled_document_as_the_html5_parser_does(documents):
    """The bundled templates' output is read by expat, every document of the samples, and its
    tree is the HTML5 parser's, element by element (tag, attributes in order, text, tail)."""
    from progbill.render.pdf import Renderer

    renderer = Renderer()
    kinds = set()
    for template, context in documents:
        html = html_of(renderer, template, context)
        assert same_as_html5(html) is not None, f"{template} not read by expat:\n{html}"
        kinds.add(template)
    assert kinds == {"invoice.html", "statement.html"}
    assert len(documents) >= 15


def test_the_pdfs_are_the_same_bytes_whichever_parser_reads_the_html(documents):
    """Rendered with expat's tree and with WeasyPrint's own parser: the same PDF, byte for byte,
    for a document of each kind (a GST tax invoice, a credit note, quantity columns, a
    statement, the sample context)."""
    from progbill.render.pdf import Renderer

    renderer = Renderer()
    picked = documents[:: max(1, len(documents) // 8)] + documents[-3:]
    for template, context in picked:
        render = (renderer.pdf if template == "invoice.html"
                  else lambda c, t=template: renderer.other_pdf(t, c))
        renderer.document_class.fast_parse = True
        fast = render(context)
        renderer.document_class.fast_parse = False
        try:
            slow = render(context)
        finally:
            renderer.document_class.fast_parse = True
        assert fast == slow, template


def test_expat_is_used_for_a_render(monkeypatch):
    """The renderer really takes expat's tree for the bundled template (and the HTML5 parser
    is not called); markup it cannot take goes to the HTML5 parser as before."""
    import weasyprint

    from progbill.render.context import sample_context
    from progbill.render.pdf import Renderer

    calls: list[str] = []
    original = tinyhtml5.parse

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("tinyhtml5")
        return original(*args, **kwargs)

    monkeypatch.setattr(weasyprint.tinyhtml5, "parse", counted)
    renderer = Renderer()
    assert renderer.document_class.fast_parse
    calls.clear()  # building the renderer parsed a probe and checked the template
    renderer.pdf(sample_context())
    assert calls == []
    renderer.document_class(string="<p>a paragraph<div>closes it</div>")
    assert calls == ["tinyhtml5"]


PAGE = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n' \
       '<title>t</title>\n</head>\n<body>\n{}\n</body>\n</html>\n'


@pytest.mark.parametrize("body", [
    "<table><tr><td>a tbody the HTML5 parser adds</td></tr></table>",
    "<p>a paragraph <div>that a div closes</div></p>",
    "<p>a paragraph <table><tbody><tr><td>closed by a table</td></tr></tbody></table></p>",
    "<div>&nbsp;an entity XML does not know</div>",
    '<div title="a line\nbreak">in an attribute</div>',
    '<div title="a\ttab">in an attribute</div>',
    "<div><br></br>an end tag HTML5 reads as another br</div>",
    "<div><!-- a comment --></div>",
    '<div><a href="#x">a link <a href="#y">in a link</a></a></div>',
    "<h1>a heading <h2>in a heading</h2></h1>",
    "<li>an item outside a list</li>",
    "<ul>text in a list<li>x</li></ul>",
    "<DIV>upper case</DIV>",
    '<div xml:lang="en">a namespaced attribute</div>',
    '<div xmlns="http://www.w3.org/1999/xhtml">a namespace</div>',
    "<table><tbody>text in a table<tr><td>x</td></tr></tbody></table>",
    "<table><tbody><tr><td>x</td></tr></tbody>text after</table>",
    "<pre>\nwhose first newline HTML5 drops</pre>",
    "<textarea>a form field</textarea>",
    "<script>var x = 1;</script>",
    "<div>a control character \x0b</div>",
    "<div><![CDATA[x]]></div>",
    "<table><colgroup><col>unclosed</colgroup></table>",
    "<table><col /><tbody><tr><td>a col outside a colgroup</td></tr></tbody></table>",
])
def test_markup_expat_could_read_otherwise_goes_to_the_html5_parser(body):
    assert markup.parse(PAGE.format(body)) is None


@pytest.mark.parametrize("page", [
    "<html><body><p>no head</p></body></html>",
    "<html><head></head><body>x</body></html> text after the document",
    "<html><head></head>text between<body>x</body></html>",
    "<html><head><style>p {}</style></head><body>x</body></html>",
])
def test_a_document_not_shaped_html_head_body_goes_to_the_html5_parser(page):
    assert markup.parse(page) is None


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE html [<!ENTITY x "an entity expat would expand">]>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "xhtml1-strict.dtd">',
])
def test_a_doctype_declaring_more_than_html_goes_to_the_html5_parser(doctype):
    page = f"{doctype}\n<html><head></head><body><p>&amp; x</p></body></html>"
    assert markup.parse(page) is None
    plain = "\n<html><head></head><body><p>&amp; x</p></body></html>"
    assert markup.parse("<!DOCTYPE html>" + plain) is not None
    assert markup.parse("<!doctype html>" + plain) is None  # XML knows DOCTYPE in capitals


def test_markup_nested_deeper_than_python_recurses_goes_to_the_html5_parser():
    assert markup.parse(PAGE.format("<div>" * 5000 + "</div>" * 5000)) is None


def test_whitespace_around_head_and_body_is_placed_as_html5_places_it():
    page = "<!DOCTYPE html>\n<html>\n  <head>\n  <title>x</title>\n  </head>\n  <body>\n" \
           "<div>a</div>\n  </body>\n  </html>\n\n"
    assert same_as_html5(page) is not None
    empty = "<html><head></head><body></body>\n</html>\n"
    assert same_as_html5(empty) is not None


# generated markup: elements expat may take and elements it may not, in any nesting, with any
# text and attribute values (escaped as Jinja escapes them)
_TAGS = ["div", "p", "span", "strong", "a", "table", "tbody", "thead", "tr", "td", "th",
         "colgroup", "col", "caption", "ul", "li", "h1", "h2", "br", "img", "section", "em",
         "pre", "b", "dl", "dt", "dd", "form", "select", "option", "hr"]
_VOIDS = {"br", "img", "col", "hr"}


def _escaped(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("'", "&#39;"))


_text = st.text(alphabet=st.sampled_from(list("ab <>&\"' \n\t\r]é€\x0b\u00a0")), max_size=6)


@st.composite
def _element(draw: Any, depth: int = 0) -> str:
    tag = draw(st.sampled_from(_TAGS))
    attributes = draw(st.lists(st.tuples(st.sampled_from(["class", "title", "colspan"]), _text),
                               max_size=2, unique_by=lambda a: a[0]))
    opened = tag + "".join(f' {name}="{_escaped(value)}"' for name, value in attributes)
    if tag in _VOIDS:
        return f"<{opened} />"
    parts = [_escaped(draw(_text))]
    if depth < 3:
        for child in draw(st.lists(_element(depth + 1), max_size=3)):
            parts += [child, _escaped(draw(_text))]
    return f"<{opened}>{''.join(parts)}</{tag}>"


@settings(max_examples=400, deadline=None)
@given(body=st.lists(_element(), max_size=4), before=_text, after=_text)
def test_any_markup_expat_takes_is_the_html5_parsers_tree(body, before, after):
    """Whatever markup is generated, expat's tree is taken only where it is the HTML5 parser's:
    each time it is taken (about one example in six), the two trees are compared."""
    page = f"<!DOCTYPE html>\n<html><head><title>{_escaped(before)}</title></head>\n" \
           f"<body>{''.join(body)}</body>{_blank(after)}</html>{_blank(after)}"
    same_as_html5(page)


def _blank(text: str) -> str:
    return "".join(ch for ch in text if ch in " \n\t\r")


def test_markup_as_templates_write_it_is_taken_by_expat():
    """Tables with their parts, paragraphs of phrasing, lists and escaped text, as templates
    write them, are taken, and are the HTML5 parser's tree."""
    page = PAGE.format(
        '<section class="x"><h1><span>T</span></h1><table class="m"><caption>c</caption>'
        '<colgroup><col class="a" /><col /></colgroup><thead><tr><th>h</th><th>i</th></tr>'
        '</thead>\n<tbody><tr class="&#34;q&#39;"><td>1 &amp; 2</td><td><div>x</div></td></tr>'
        '</tbody></table><p>a <strong>b</strong><br />c</p><ul><li>x<ul><li>y</li></ul></li>'
        '</ul><dl><dt>t</dt><dd>d</dd></dl></section>')
    assert same_as_html5(page) is not None
