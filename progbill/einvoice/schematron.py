"""A small ISO Schematron runner: a ``.sch`` file is translated, in memory, into an XSLT 3.0
stylesheet that saxonche compiles once and runs per document.

Why a runner of our own: the CIUS rules (Peppol BIS Billing 3, XRechnung) are published only as
schematron sources, no package ships them compiled, and their licences do not clearly allow
shipping them. progbill reads them from the folder the user points ``einvoice.rules_dir`` at.

What it supports (what the EN 16931, Peppol and XRechnung sources use):

* ``include`` (relative paths inside the rules folder, ``#fragment`` ids) and ``extends``;
* abstract patterns (``is-a`` + ``param``: ``$name`` replaced in every attribute, longest names
  first) and abstract rules (``extends rule="id"``);
* ``ns`` declarations; ``let`` at schema, phase and pattern level become global variables, a
  rule's ``let`` a variable of its rule; ``xsl:function`` (and other ``xsl:`` declarations)
  children of the schema are copied into the stylesheet;
* phases: the schema's ``defaultPhase``, else every pattern;
* rule contexts are XSLT match patterns, and in each pattern only the first rule whose context
  matches a node fires for it (the rules' priorities follow their order), as in the reference
  implementation; every node of the document (document node, elements, attributes, text) is
  visited once per pattern; where every rule context of a pattern is a path of element names,
  the nodes they can match are selected at once instead (``candidates``: ``//(ram:A | ram:B)``,
  in document order, each given to the pattern's rules as the walk would);
* ``assert`` and ``report`` with ``id``, ``flag`` (else ``role``) and messages built of text,
  ``value-of``, ``name``, ``emph``, ``dir`` and ``span``.

A dynamic error while running (an XPath error the rules did not guard against) is one fatal
``SCH-DYNAMIC-ERROR`` finding for the rule set: the file fails rather than passing unchecked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

SCH = "http://purl.oclc.org/dsdl/schematron"
XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"
_S = f"{{{SCH}}}"
_HELPER = "urn:progbill:schematron"


class SchematronError(Exception):
    """A rules file that cannot be read or translated, in words."""


def safe_parser() -> etree.XMLParser:
    """No DTD, no entities, no network: hostile XML cannot fetch or expand anything."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def _parse(path: Path) -> etree._Element:
    try:
        tree = etree.parse(str(path), safe_parser())
    except (OSError, etree.XMLSyntaxError) as exc:
        raise SchematronError(f"{path} cannot be read as XML: {exc}") from exc
    if tree.docinfo.doctype:
        raise SchematronError(f"{path} declares a DOCTYPE; rules files may not")
    return tree.getroot()


@dataclass
class _Rules:
    namespaces: dict[str, str]
    declarations: list[etree._Element]  # xsl:function and friends
    lets: list[etree._Element]  # global variables
    patterns: list[etree._Element]


def _resolve_includes(element: etree._Element, here: Path, root: Path, depth: int = 0) -> None:
    """Replace every ``include`` (and ``extends/@href``) below ``element`` by what it names."""
    if depth > 20:
        raise SchematronError(f"includes nested more than 20 deep under {here}")
    for include in list(element.iter(f"{_S}include", f"{_S}extends")):
        href = include.get("href")
        if not href:
            continue
        target, _, fragment = href.partition("#")
        path = (here.parent / target).resolve()
        if not path.is_relative_to(root):
            raise SchematronError(f"{here.name} includes {href}, outside the rules folder {root}")
        included = _parse(path)
        _resolve_includes(included, path, root, depth + 1)
        if fragment:
            found = [e for e in included.iter() if e.get("id") == fragment]
            if not found:
                raise SchematronError(f"{here.name} includes {href}, which has no id {fragment}")
            included = found[0]
        parent = include.getparent()
        if include.tag == f"{_S}extends":
            # a rule extending a file's rule takes that rule's children
            index = parent.index(include)
            parent.remove(include)
            for offset, child in enumerate(list(included)):
                parent.insert(index + offset, child)
        else:
            parent.replace(include, included)


def _substitute(element: etree._Element, params: dict[str, str]) -> None:
    names = sorted(params, key=len, reverse=True)
    for node in element.iter():
        for key, value in node.attrib.items():
            if "$" not in value:
                continue
            for name in names:
                value = value.replace(f"${name}", params[name])
            node.set(key, value)


def _instantiate(schema: etree._Element) -> None:
    """Abstract patterns and abstract rules expanded in place."""
    from copy import deepcopy

    abstract_patterns = {p.get("id"): p for p in schema.iter(f"{_S}pattern")
                         if p.get("abstract") == "true"}
    for pattern in list(schema.iter(f"{_S}pattern")):
        base = pattern.get("is-a")
        if not base:
            continue
        if base not in abstract_patterns:
            raise SchematronError(f"pattern {pattern.get('id')} is an instance of {base}, "
                                  "which the rules do not define")
        params = {p.get("name"): p.get("value", "") for p in pattern.findall(f"{_S}param")}
        copy = deepcopy(abstract_patterns[base])
        copy.attrib.pop("abstract", None)
        copy.set("id", pattern.get("id") or base)
        _substitute(copy, params)
        pattern.getparent().replace(pattern, copy)
    for pattern in abstract_patterns.values():
        if pattern.getparent() is not None:
            pattern.getparent().remove(pattern)
    abstract_rules = {r.get("id"): r for r in schema.iter(f"{_S}rule")
                      if r.get("abstract") == "true"}
    for extends in list(schema.iter(f"{_S}extends")):
        base_rule = abstract_rules.get(extends.get("rule"))
        if base_rule is None:
            raise SchematronError(f"a rule extends {extends.get('rule')}, which is not defined")
        parent = extends.getparent()
        index = parent.index(extends)
        parent.remove(extends)
        for offset, child in enumerate(deepcopy(list(base_rule))):
            parent.insert(index + offset, child)
    for rule in abstract_rules.values():
        if rule.getparent() is not None:
            rule.getparent().remove(rule)


def _collect(schema: etree._Element, phase: str | None) -> _Rules:
    namespaces = {k: v for k, v in schema.nsmap.items() if k}
    for ns in schema.iter(f"{_S}ns"):
        namespaces[ns.get("prefix")] = ns.get("uri")
    namespaces.setdefault("xs", "http://www.w3.org/2001/XMLSchema")
    declarations = [child for child in schema if isinstance(child.tag, str)
                    and child.tag.startswith(f"{{{XSL}}}")]
    lets = [let for let in schema.findall(f"{_S}let")]
    chosen = phase or schema.get("defaultPhase")
    patterns = [p for p in schema.iter(f"{_S}pattern")]
    if chosen and chosen != "#ALL":
        found = [p for p in schema.findall(f"{_S}phase") if p.get("id") == chosen]
        if not found:
            raise SchematronError(f"the rules have no phase {chosen}")
        active = {a.get("pattern") for a in found[0].findall(f"{_S}active")}
        lets.extend(found[0].findall(f"{_S}let"))
        patterns = [p for p in patterns if p.get("id") in active]
    for pattern in patterns:
        lets.extend(pattern.findall(f"{_S}let"))
        for node in pattern.iter():
            namespaces.update({k: v for k, v in node.nsmap.items() if k})
    for node in declarations:
        namespaces.update({k: v for k, v in node.nsmap.items() if k})
    for reserved in ("sch", "xsl", "svrl", "pb"):
        namespaces.pop(reserved, None)
    return _Rules(namespaces, declarations, lets, patterns)


def _message(element: etree._Element) -> Iterator[str]:
    """The XSLT that writes an assert's or report's message."""
    if element.text:
        yield f"<xsl:text>{escape(element.text)}</xsl:text>"
    for child in element:
        if isinstance(child.tag, str):
            local = etree.QName(child).localname
            if local == "value-of":
                yield f"<xsl:value-of select={quoteattr(child.get('select', '.'))}/>"
            elif local == "name":
                yield f"<xsl:value-of select={quoteattr('name(' + child.get('path', '.') + ')')}/>"
            else:  # emph, dir, span: their text
                yield from _message(child)
        if child.tail:
            yield f"<xsl:text>{escape(child.tail)}</xsl:text>"


def _check(check: etree._Element) -> str:
    failed = etree.QName(check).localname == "assert"
    test = check.get("test", "true()")
    condition = f"not({test})" if failed else test
    kind = "failed-assert" if failed else "successful-report"
    flag = check.get("flag") or check.get("role") or ""
    text = "".join(_message(check)).replace("\n", " ")
    return (f"<xsl:if test={quoteattr(condition)}><svrl:{kind} id={quoteattr(check.get('id', ''))}"
            f" flag={quoteattr(flag)} location=\"{{pb:where(.)}}\" test={quoteattr(test)}>"
            f"<svrl:text>{text}</svrl:text></svrl:{kind}></xsl:if>")


def _variable(let: etree._Element) -> str:
    value = let.get("value")
    if value is None:
        raise SchematronError(f"let {let.get('name')} has no value attribute")
    return f"<xsl:variable name={quoteattr(let.get('name', ''))} select={quoteattr(value)}/>"


def _without_predicates(pattern: str) -> str:
    """``pattern`` with every bracketed predicate and string literal taken out."""
    out, depth, quote = [], 0, ""
    for char in pattern:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


_NOT_AN_ELEMENT_STEP = ("@", "attribute", "node()", "text()", "comment", "processing-instruction",
                        "namespace", "$", "(", "document-node", ".", "::")


def uses_context_position(expression: str) -> bool:
    """Whether ``expression`` reads the context position or size outside a predicate (then a
    rule sees a different ``position()`` when its nodes are found at once than on a walk)."""
    stripped = _without_predicates(expression)
    return "position()" in stripped or "last()" in stripped


def candidates(patterns: list[str]) -> str | None:
    """An expression selecting, in document order, every node one of the match ``patterns``
    can match: ``//(ram:A | ram:B)``, with ``(/)`` when a pattern is ``/``. None when a pattern
    may match anything but elements and the document node (then the document is walked)."""
    if not patterns or not all(map(matches_only_elements, patterns)):
        return None
    steps = {branch.strip().rsplit("/", 1)[-1].strip() if branch.strip() != "/" else "/"
             for pattern in patterns for branch in _without_predicates(pattern).split("|")}
    names = sorted(steps - {"/"})
    found = [f"//({' | '.join(names)})"] if names else []
    return " | ".join((["(/)"] if "/" in steps else []) + found)


def matches_only_elements(pattern: str) -> bool:
    """Whether the XSLT match pattern can match nothing but elements (or the document node,
    ``/``): each of its alternatives a path of element names, ``*`` and ``prefix:*``. Anything
    else (an attribute or text step, an axis, a function, a variable) is taken to match more."""
    stripped = _without_predicates(pattern)
    return all(
        branch.strip() == "/" or (branch.strip() and not any(
            sign in branch for sign in _NOT_AN_ELEMENT_STEP))
        for branch in stripped.split("|"))


def translate(path: Path, root: Path | None = None, phase: str | None = None,
              at_once: bool = True) -> str:
    """The XSLT 3.0 text that runs the schematron file ``path`` (includes resolved inside
    ``root``, the rules folder, default: the file's folder). ``at_once=False``: every pattern
    walks every node, as the reference implementation does (the tests compare the two)."""
    path = path.resolve()
    root = (root or path.parent).resolve()
    schema = _parse(path)
    if schema.tag != f"{_S}schema":
        raise SchematronError(f"{path.name} is not an ISO schematron schema")
    _resolve_includes(schema, path, root)
    _instantiate(schema)
    rules = _collect(schema, phase)
    declared = " ".join(f"xmlns:{p}={quoteattr(u)}" for p, u in sorted(rules.namespaces.items()))
    out = [
        f'<xsl:stylesheet version="3.0" xmlns:xsl="{XSL}" xmlns:svrl="{SVRL}" '
        f'xmlns:pb="{_HELPER}" {declared} exclude-result-prefixes="#all">',
        '<xsl:function name="pb:where" as="xs:string"><xsl:param name="n" as="node()"/>'
        '<xsl:sequence select="if ($n instance of document-node()) then \'/\' else '
        "string-join(for $a in $n/ancestor-or-self::node()[parent::node()] return "
        "if ($a instance of attribute()) then '@' || name($a) else if ($a instance of element()) "
        "then name($a) || '[' || (count($a/preceding-sibling::*[node-name(.) = node-name($a)]) "
        "+ 1) || ']' else 'text()', '/')\"/></xsl:function>",
    ]
    for declaration in rules.declarations:
        out.append(etree.tostring(declaration, encoding="unicode"))
    seen: set[str] = set()
    for let in rules.lets:
        name = let.get("name", "")
        if name in seen:
            continue  # the first definition wins, as in the reference compilation
        seen.add(name)
        out.append(_variable(let))
    visits = []
    for pattern in rules.patterns:
        rule_elements = [r for r in pattern.findall(f"{_S}rule") if r.get("context")]
        expressions = [value for rule in rule_elements for node in rule.iter()
                       for value in node.attrib.values()]
        found = None if not at_once or any(map(uses_context_position, expressions)) else candidates(
            [r.get("context", "") for r in rule_elements])
        visits.append((rule_elements, found))
    out.append('<xsl:template match="/"><svrl:schematron-output>')
    for index, (_, found) in enumerate(visits):
        out.append(f'<xsl:apply-templates select={quoteattr(found or ".")} mode="p{index}"/>')
    out.append("</svrl:schematron-output></xsl:template>")
    for index, (rule_elements, found) in enumerate(visits):
        mode = f"p{index}"
        # with the nodes found at once, a rule does not go on to the node's children
        walk = "" if found else f'<xsl:apply-templates select="@*|node()" mode="{mode}"/>'
        for position, rule in enumerate(rule_elements):
            body = []
            for child in rule:
                if not isinstance(child.tag, str):
                    continue
                local = etree.QName(child).localname
                if local == "let":
                    body.append(_variable(child))
                elif local in ("assert", "report"):
                    body.append(_check(child))
            priority = 1000 + len(rule_elements) - position
            out.append(
                f'<xsl:template match={quoteattr(rule.get("context", ""))} mode="{mode}" '
                f'priority="{priority}">{"".join(body)}{walk}</xsl:template>')
        out.append(f'<xsl:template match="document-node()|node()|@*" mode="{mode}" '
                   f'priority="-10">{walk}</xsl:template>')
    out.append("</xsl:stylesheet>")
    return "\n".join(out)
