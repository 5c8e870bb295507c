"""A document's HTML parsed by expat where that gives the HTML5 parser's tree.

WeasyPrint parses every document with tinyhtml5, an HTML5 parser written in Python: about 12 ms
of a 220 ms render for progbill's one-page pay application. Python's expat parser, in C, reads
the same text in well under a millisecond, but it parses XML, and the HTML5 algorithm builds
another tree than XML nesting in many cases (a ``tbody`` it adds, a ``p`` it closes before a
``div``, text it moves out of a table, entities XML does not know, newlines in attribute values
that XML turns into spaces ...).

:func:`parse` therefore returns expat's tree only for markup in which the two cannot differ, and
None otherwise (the caller then parses with tinyhtml5, as WeasyPrint does):

- the text is well-formed XML without comments, CDATA, processing instructions, namespaces or
  any declaration but ``<!DOCTYPE html>`` (expat would expand entities declared there), and no
  tag holds a tab or line break (XML would turn one in an attribute value into a space);
- every element is one the HTML5 algorithm only nests (:data:`_FLOW`, :data:`_HEAD` and the
  table parts), in lower case, in a place where the algorithm leaves it: ``html`` holding
  ``head`` then ``body``; tables of ``caption``, ``colgroup`` of ``col``, ``thead``, ``tbody``
  and ``tfoot`` of ``tr`` of ``td``/``th``, with nothing but whitespace between them; a ``p``
  holding only phrasing elements; no ``a`` inside an ``a``, no heading inside a heading, ``li``
  only in a list; void elements empty;
- whitespace the HTML5 algorithm places otherwise is moved as it does: none before ``head``,
  and what follows ``</body>`` ends the body.

Tests compare the two parsers' trees, element by element, on every document the samples give
and on generated markup, and the PDFs rendered both ways byte for byte.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

# elements the HTML5 tree builder only nests (no implied or closed elements around them, no
# special text handling), with what may hold them where that is restricted
_VOID = frozenset({"meta", "link", "col", "img", "br", "hr", "wbr"})
_PHRASING = frozenset({"span", "a", "b", "strong", "i", "em", "small", "sub", "sup", "code",
                       "abbr", "time", "br", "img", "wbr", "bdi", "bdo", "data", "q", "s", "u",
                       "mark", "var", "kbd", "samp", "cite", "dfn"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_FLOW = frozenset({"div", "p", "section", "header", "footer", "main", "article", "aside",
                   "address", "ul", "ol", "li", "dl", "dt", "dd", "table", "figure",
                   "figcaption", "blockquote", "nav", "hr"}) | _HEADINGS | _PHRASING
_HEAD = frozenset({"meta", "title", "link"})
_TABLE_PARTS = {  # element -> the elements it may hold, with whitespace only between them
    "table": frozenset({"caption", "colgroup", "thead", "tbody", "tfoot"}),
    "colgroup": frozenset({"col"}),
    "thead": frozenset({"tr"}), "tbody": frozenset({"tr"}), "tfoot": frozenset({"tr"}),
    "tr": frozenset({"td", "th"}),
}
_CELLS = frozenset({"caption", "td", "th"})  # hold flow content again
_LISTS = {"ul": frozenset({"li"}), "ol": frozenset({"li"}), "dl": frozenset({"dt", "dd"})}
_ITEMS = frozenset({"li", "dt", "dd"})
# XML-only constructs (comments, CDATA, processing instructions, any declaration but the plain
# doctype: an entity declared in it would be expanded by expat, unknown to HTML5), namespaces, a
# line break or tab inside a tag, and an end tag of a void element (HTML5 reads </br> as <br>)
_NOT_XML_ONLY = re.compile(
    r"<!(?!DOCTYPE html>)|<\?|xmlns|<[^>]*[\t\n\r]|</(?:" + "|".join(sorted(_VOID)) + r")\b")


def parse(html: str) -> ElementTree.Element | None:
    """The tree tinyhtml5 builds for ``html`` (``namespace_html_elements=False``), or None
    where expat's tree might not be it."""
    if _NOT_XML_ONLY.search(html):
        return None
    parser = ElementTree.XMLParser()
    try:
        parser.feed(html)
        root = parser.close()
    except (ElementTree.ParseError, UnicodeError, ValueError):
        return None
    if root.tag != "html" or [child.tag for child in root] != ["head", "body"]:
        return None
    head, body = root
    if not (_blank(root.tail) and _blank(body.tail) and _blank(root.text)):
        return None
    for element in head:
        if element.tag not in _HEAD or not _blank(element.tail) or (
                not _attributes_plain(element)) or not (
                _empty(element) or (element.tag == "title" and not len(element))):
            return None
    if not (_blank(head.text) and _blank(head.tail) and _attributes_plain(head)):
        return None
    try:
        if not (_attributes_plain(root) and _attributes_plain(body) and _flow(body)):
            return None
    except RecursionError:  # nested deeper than Python recurses: the HTML5 parser reads it
        return None
    # the HTML5 algorithm ignores whitespace before <head> and puts what follows </body> (and
    # </html>) at the end of the body
    root.text = None
    after = html[len(html.rstrip(" \n\t\r")):]  # after </html> (expat keeps no tail there)
    trailing = (body.tail or "") + after.replace("\r\n", "\n").replace("\r", "\n")
    body.tail = root.tail = None
    if trailing:
        if len(body):
            body[-1].tail = (body[-1].tail or "") + trailing
        else:
            body.text = (body.text or "") + trailing
    return root


def _blank(text: str | None) -> bool:
    """Whether ``text`` is whitespace only (or None)."""
    return not text or not text.strip(" \n\t\f\r")


def _empty(element: ElementTree.Element) -> bool:
    """No children and no text: a void element as written ``<col />``."""
    return not len(element) and not element.text


def _attributes_plain(element: ElementTree.Element) -> bool:
    return all(name == name.lower() and "{" not in name for name in element.attrib)


def _flow(element: ElementTree.Element, allowed: frozenset[str] = _FLOW,
          in_link: bool = False, in_heading: bool = False) -> bool:
    """Whether everything inside ``element`` nests as the HTML5 algorithm nests it: flow
    content, or phrasing content only (``allowed``: what a ``p`` may hold without the
    algorithm closing it)."""
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag not in allowed or not _attributes_plain(child):
            return False
        if tag in _VOID:
            if not _empty(child):
                return False
        elif (tag == "a" and in_link) or (tag in _HEADINGS and in_heading) or tag in _ITEMS:
            return False  # an item is only checked inside its list
        elif tag == "p":
            if not _flow(child, _PHRASING, in_link):
                return False
        elif tag == "table":
            if not _table(child):
                return False
        elif tag in _LISTS:
            if not _list(child, in_link, in_heading):
                return False
        elif not _flow(child, allowed, in_link or tag == "a", in_heading or tag in _HEADINGS):
            return False
    return True


def _list(element: ElementTree.Element, in_link: bool, in_heading: bool) -> bool:
    """A list of its items only, whitespace between them."""
    if not _blank(element.text):
        return False
    return all(item.tag in _LISTS[element.tag] and _blank(item.tail)
               and _attributes_plain(item) and _flow(item, _FLOW, in_link, in_heading)
               for item in element)


def _table(element: ElementTree.Element) -> bool:
    """A table of its parts (and cells of flow content), whitespace only between them."""
    holds = _TABLE_PARTS[element.tag]
    if not _blank(element.text):
        return False
    for child in element:
        tag = child.tag
        if tag not in holds or not _blank(child.tail) or not _attributes_plain(child):
            return False
        if tag in _CELLS:
            if not _flow(child):
                return False
        elif tag == "col":
            if not _empty(child):
                return False
        elif not _table(child):
            return False
    return True
