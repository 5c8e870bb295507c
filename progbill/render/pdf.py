"""PDF rendering: Jinja2 (autoescape, StrictUndefined) + WeasyPrint with a locked URL fetcher.

Safety: workbook text reaches the template only as autoescaped strings, so it cannot add tags,
styles or links; the URL fetcher serves ``data:`` URLs and files inside the template folder and
refuses everything else (network, other local files). The CSS lives in its own file, loaded as a
``CSS`` object with the same fetcher (autoescaping an inline ``<style>`` breaks it).

Reproducibility: the PDF's dates come from the document (``dcterms.created``/``modified`` meta
tags set from the invoice date), so the same document renders to the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from progbill.problems import ConfigError

SCRIPTS_STYLESHEET_NAME = "scripts.css"
TEMPLATE_NAME = "invoice.html"
STATEMENT_NAME = "statement.html"
STYLESHEET_NAME = "invoice.css"


def bundled_templates() -> Path:
    """The templates shipped with progbill: inside the package in a wheel, or the repository's
    top-level ``templates/default`` in a source checkout."""
    packaged = Path(__file__).resolve().parent.parent / "templates" / "default"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "templates" / "default"


def _locked_fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LockedFetcher(URLFetcher):  # type: ignore[misc]
        """Serves ``data:`` URLs and files under ``root``; refuses every other URL."""

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols=("data", "file"))
            self.root = root.resolve()

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file:"):
                from urllib.parse import unquote, urlsplit

                path = Path(unquote(urlsplit(url).path)).resolve()
                if path.is_relative_to(self.root) and path.is_file():
                    return URLFetcherResponse(url, body=path.read_bytes())
            raise ValueError(f"progbill templates may load only their own files, not {url}")

    return LockedFetcher


_LEAN_UA = Path(__file__).resolve().parent / "lean_ua.css"


# what WeasyPrint's HTML.__init__ sets, which DocumentHTML sets itself from expat's tree
_HTML_ATTRIBUTES = frozenset({"base_url", "url_fetcher", "media_type", "wrapper_element",
                              "etree_element"})


def _document_class() -> type:
    """WeasyPrint's HTML with progbill's lean user-agent stylesheet (see lean_ua.css), or plain
    HTML if this WeasyPrint no longer has the hook.

    A document whose markup expat reads into the tree the HTML5 parser builds
    (:func:`progbill.render.markup.parse`: the bundled templates' output, for one) is parsed
    by expat, in C, instead of tinyhtml5 (about 12 ms a document); any other by WeasyPrint as
    before. Only where this WeasyPrint's HTML sets the attributes DocumentHTML sets."""
    import cssselect2
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    from progbill.render import markup

    if not hasattr(HTML, "_ua_stylesheets"):  # pragma: no cover - a future WeasyPrint
        return HTML
    lean = CSS(filename=str(_LEAN_UA))
    try:
        from weasyprint import _find_base_url
    except ImportError:  # pragma: no cover - a future WeasyPrint
        _find_base_url = None

    class DocumentHTML(HTML):  # type: ignore[misc]
        fast_parse = True

        def __init__(self, *, string: str | None = None, base_url: str | None = None,
                     url_fetcher: Any = None, **others: Any) -> None:
            root = markup.parse(string) if (
                self.fast_parse and string is not None and not others) else None
            if root is None:
                super().__init__(string=string, base_url=base_url, url_fetcher=url_fetcher,
                                 **others)
                return
            self.base_url = _find_base_url(root, str(base_url) if base_url else base_url)
            self.url_fetcher = url_fetcher if url_fetcher is not None else URLFetcher()
            self.media_type = "print"
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(
                root, content_language=None)
            self.etree_element = self.wrapper_element.etree_element

        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [lean]

    probe = HTML(string="<p>", url_fetcher=None)
    DocumentHTML.fast_parse = _find_base_url is not None and set(vars(probe)) == _HTML_ATTRIBUTES
    return DocumentHTML


def has_harfbuzz_subsetter() -> bool:
    try:
        from weasyprint.pdf import fonts
    except ImportError:  # pragma: no cover
        return False
    return bool(getattr(fonts, "harfbuzz_subset", None))


def _font_digests(font_dir: Path) -> frozenset[bytes]:
    """The SHA-256 of each font file in ``font_dir``: how a font WeasyPrint embeds is known
    to be one of the bundled files."""
    import hashlib

    return frozenset(hashlib.sha256(p.read_bytes()).digest() for p in font_dir.glob("*.ttf"))


def _embed_bundled_fonts_whole(font_dir: Path) -> None:
    """Without HarfBuzz's subsetter WeasyPrint subsets every font of every document with
    fontTools (about 30 ms per font). progbill's bundled fonts are already compact subsets
    (about 40 KB), so they are embedded as they are; any other font is still subset. Applied
    once per process; a no-op where HarfBuzz's subsetter is available or the hook is gone."""
    import hashlib

    from weasyprint.pdf import fonts

    if has_harfbuzz_subsetter() or getattr(fonts.Font.subset, "_progbill", False):
        return
    bundled = _font_digests(font_dir)
    original = fonts.Font.subset

    def subset(self: Any, to_unicode: Any, hinting: Any) -> None:
        if hashlib.sha256(self.file_content).digest() in bundled:
            return
        original(self, to_unicode, hinting)

    subset._progbill = True  # type: ignore[attr-defined]
    fonts.Font.subset = subset


def _compress_bundled_fonts_once(font_dir: Path) -> None:
    """pydyf compresses every stream of every PDF at zlib's level 9, the bundled fonts embedded
    whole included: about 15 ms a document for the same 150 KB each time. A stream holding one
    of the bundled font files is compressed once per process and its bytes reused: pydyf's own
    output for the same content and dictionary, so every PDF keeps its bytes. Applied once per
    process; other streams are written as before."""
    import hashlib

    import pydyf

    if getattr(pydyf.Stream.data.fget, "_progbill", False):
        return
    bundled = _font_digests(font_dir)
    original = pydyf.Stream.data.fget
    written: dict[tuple[bytes, bytes], bytes] = {}

    def data(self: Any) -> bytes:
        items = self.stream
        if not (self.compress and len(items) == 1 and isinstance(items[0], bytes)):
            return original(self)  # type: ignore[no-any-return]
        digest = hashlib.sha256(items[0]).digest()
        if digest not in bundled:
            return original(self)  # type: ignore[no-any-return]
        key = (digest, pydyf.Dictionary(self.extra.copy()).data)
        if key not in written:
            written[key] = original(self)
        return written[key]

    data._progbill = True  # type: ignore[attr-defined]
    data._original = original  # type: ignore[attr-defined]
    pydyf.Stream.data = property(data)


class Renderer:
    """Renders documents with one template folder; reuses fonts and parsed CSS per process."""

    def __init__(self, template_dir: Path | None = None, check: bool = True,
                 plain: frozenset[int] | None = None) -> None:
        import jinja2
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self.template_dir = (template_dir or bundled_templates()).resolve()
        html_path = self.template_dir / TEMPLATE_NAME
        css_path = self.template_dir / STYLESHEET_NAME
        if not html_path.is_file():
            raise ConfigError(
                f"output.template_dir: {self.template_dir} has no {TEMPLATE_NAME}; copy the "
                "bundled templates there first (progbill init --templates)")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.template_dir)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        try:
            self.template = self.env.get_template(TEMPLATE_NAME)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"template {html_path} has an error on line {exc.lineno}: "
                              f"{exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise ConfigError(f"template {html_path} is broken: {exc}") from exc
        self.fetcher = _locked_fetcher_class()(self.template_dir)
        self.font_config = FontConfiguration()
        self.document_class = _document_class()
        _embed_bundled_fonts_whole(bundled_templates() / "fonts")
        _compress_bundled_fonts_once(bundled_templates() / "fonts")
        self.stylesheets = []
        if css_path.is_file():
            try:
                self.stylesheets.append(CSS(filename=str(css_path), url_fetcher=self.fetcher,
                                            font_config=self.font_config))
            except Exception as exc:  # tinycss2/WeasyPrint parse errors
                raise ConfigError(f"stylesheet {css_path} cannot be read: {exc}") from exc
        # Other scripts' fonts are looked through only for documents that need them.
        self.scripts: list[Any] = []
        scripts_path = self.template_dir / SCRIPTS_STYLESHEET_NAME
        if scripts_path.is_file():
            try:
                self.scripts.append(CSS(filename=str(scripts_path), url_fetcher=self.fetcher,
                                        font_config=self.font_config))
            except Exception as exc:
                raise ConfigError(f"stylesheet {scripts_path} cannot be read: {exc}") from exc
        self.plain = plain if plain is not None else _fonts_drawable(css_path)
        self._page_css: dict[str, Any] = {}
        if not check:
            return
        # StrictUndefined only fails while rendering: render a sample document now, so that a
        # misspelt variable stops the run before anything is issued.
        from progbill.render.context import sample_context

        self.html(sample_context())
        if (self.template_dir / STATEMENT_NAME).is_file():
            from progbill.statements import sample_statement_context

            try:
                self.env.get_template(STATEMENT_NAME).render(**sample_statement_context())
            except jinja2.TemplateError as exc:
                raise ConfigError(f"template {self.template_dir / STATEMENT_NAME} failed: "
                                  f"{exc}") from exc

    def html(self, context: dict[str, Any]) -> str:
        import jinja2

        try:
            return self.template.render(**context)
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"template {self.template_dir / TEMPLATE_NAME} uses a variable that does not "
                f"exist ({exc.message}); the variables are listed in the README, \"Your own "
                "templates\"") from exc
        except jinja2.TemplateError as exc:
            raise ConfigError(
                f"template {self.template_dir / TEMPLATE_NAME} failed: {exc}") from exc

    def other_pdf(self, name: str, context: dict[str, Any]) -> bytes:
        """Another document of the template family (``statement.html``) with the same
        stylesheet, fonts and page size; the bundled template when the folder has none."""
        import jinja2

        if not (self.template_dir / name).is_file():
            env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(bundled_templates())),
                                     autoescape=True, undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True)
        else:
            env = self.env
        return self._write(env.get_template(name).render(**context), context)

    def pdf(self, context: dict[str, Any]) -> bytes:
        return self._write(self.html(context), context)

    def standalone_html(self, context: dict[str, Any]) -> str:
        """The document's exact HTML with its stylesheets inlined (fonts and images as data:
        URLs, the page size as an @page rule): one file that plain WeasyPrint or a browser
        shows without the template folder, for template authors and the PDF benchmark."""
        import re

        from progbill.render.context import data_url

        def inline(css_path: Path) -> str:
            text = css_path.read_text(encoding="utf-8")

            def embed(match: re.Match[str]) -> str:
                target = (css_path.parent / match.group(2)).resolve()
                if not target.is_relative_to(self.template_dir) or not target.is_file():
                    return match.group(0)
                kind = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff",
                        ".woff2": "font/woff2", ".svg": "image/svg+xml",
                        ".png": "image/png"}.get(target.suffix.lower(),
                                                 "application/octet-stream")
                return f'url("{data_url(kind, target.read_bytes())}")'

            return re.sub(r'url\(\s*(["\']?)([^"\')]+)\1\s*\)', embed, text)

        sheets = [self.template_dir / STYLESHEET_NAME]
        if self.scripts and _needs_more_than(context, self.plain):
            sheets.append(self.template_dir / SCRIPTS_STYLESHEET_NAME)
        css = "\n".join(inline(path) for path in sheets if path.is_file())
        css += f"\n@page {{ size: {context.get('page_size', 'A4')}; }}\n"
        html = self.html(context)
        style = f"<style>\n{css}</style>\n"
        if "</head>" in html:
            return html.replace("</head>", style + "</head>", 1)
        return style + html

    def _write(self, html: str, context: dict[str, Any]) -> bytes:
        from weasyprint import CSS

        size = context.get("page_size", "A4")
        if size not in self._page_css:
            self._page_css[size] = CSS(string=f"@page {{ size: {size}; }}",
                                       font_config=self.font_config, url_fetcher=self.fetcher)
        page = self._page_css[size]
        document = self.document_class(string=html,
                                       base_url=self.template_dir.as_uri() + "/",
                                       url_fetcher=self.fetcher)
        scripts = self.scripts if self.scripts and _needs_more_than(context, self.plain) else []
        factur_x = context.get("_factur_x")
        if not factur_x:
            return document.write_pdf(stylesheets=[*self.stylesheets, *scripts, page],
                                      font_config=self.font_config, uncompressed_pdf=False)
        return self._factur_x(document, [*self.stylesheets, *scripts, page], factur_x,
                              str(context["document"]["invoice_date_iso"]))

    def _factur_x(self, document: Any, stylesheets: list[Any], xml: bytes,
                  issued: str) -> bytes:
        """A PDF/A-3b carrying ``factur-x.xml`` (AFRelationship Data) and the Factur-X XMP
        metadata, with every date taken from the document so re-rendering gives the same
        bytes."""
        from datetime import datetime

        from weasyprint import Attachment

        from progbill.render.context import data_url

        when = datetime.fromisoformat(issued)
        rendered = document.render(font_config=self.font_config, stylesheets=stylesheets,
                                   pdf_variant="pdf/a-3b")
        rendered.metadata.__class__ = _facturx_metadata_class(type(rendered.metadata))
        attachment = Attachment(url=data_url("text/xml", xml), name="factur-x.xml",
                                description="Factur-X invoice (EN 16931, CII)",
                                created=when, modified=when, relationship="Data",
                                url_fetcher=self.fetcher)
        return rendered.write_pdf(attachments=[attachment], pdf_variant="pdf/a-3b",
                                  uncompressed_pdf=False,
                                  finisher=_list_attachments_once)  # type: ignore[no-any-return]


_FX_PROPERTIES = (
    ("DocumentFileName", "name of the embedded XML invoice file"),
    ("DocumentType", "INVOICE"),
    ("Version", "The actual version of the Factur-X XML schema"),
    ("ConformanceLevel", "The conformance level of the embedded Factur-X data"),
)
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
FACTUR_X_XMP = (
    # the PDF/A extension schema that declares the fx: properties ...
    f'<rdf:Description xmlns:rdf="{_RDF}" rdf:about="" '
    'xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" '
    'xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" '
    'xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
    '<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
    "<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>"
    f"<pdfaSchema:namespaceURI>{_FX}</pdfaSchema:namespaceURI>"
    "<pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq>"
    + "".join('<rdf:li rdf:parseType="Resource">'
              f"<pdfaProperty:name>{name}</pdfaProperty:name>"
              "<pdfaProperty:valueType>Text</pdfaProperty:valueType>"
              "<pdfaProperty:category>external</pdfaProperty:category>"
              f"<pdfaProperty:description>{text}</pdfaProperty:description></rdf:li>"
              for name, text in _FX_PROPERTIES)
    + "</rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas>"
    "</rdf:Description>"
    # ... and their values (Factur-X 1.0 XMP, EN 16931 profile)
    f'<rdf:Description xmlns:rdf="{_RDF}" rdf:about="" xmlns:fx="{_FX}">'
    "<fx:DocumentType>INVOICE</fx:DocumentType>"
    "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>"
    "<fx:Version>1.0</fx:Version><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>"
    "</rdf:Description>"
)


def _list_attachments_once(document: Any, pdf: Any) -> None:
    """WeasyPrint 70 lists an attachment twice in the catalog's /AF (from the embedded files
    and from the file specifications): once is what PDF/A-3 means."""
    import pydyf

    listed = pdf.catalog.get("AF")
    if listed is not None:
        pdf.catalog["AF"] = pydyf.Array(list(dict.fromkeys(listed)))


def _facturx_metadata_class(base: type) -> type:
    """WeasyPrint's metadata with the Factur-X descriptions inside its one ``rdf:RDF``."""

    class FacturXMetadata(base):  # type: ignore[misc, valid-type]
        def generate_rdf_metadata(self, *args: Any) -> bytes:
            rdf = super().generate_rdf_metadata(*args)
            closing = rdf.rindex(b"</rdf:RDF>")
            return rdf[:closing] + FACTUR_X_XMP.encode() + rdf[closing:]

    return FacturXMetadata


def _fonts_drawable(css_path: Path) -> frozenset[int]:
    """What the fonts a stylesheet's @font-face rules load can draw (empty when unknown)."""
    import re

    from progbill.render.coverage import drawable_files

    if not css_path.is_file():
        return frozenset()
    urls = re.findall(r'url\(\s*["\']?([^"\')]+)["\']?\s*\)', css_path.read_text(
        encoding="utf-8", errors="replace"))
    return drawable_files(tuple(sorted((css_path.parent / u).resolve() for u in urls)))


def _needs_more_than(value: Any, plain: frozenset[int]) -> bool:
    """Whether any text of a template context has a character ``plain`` lacks."""
    if isinstance(value, str):
        return not value.isascii() and any(
            ord(ch) not in plain and not ch.isspace() for ch in value)
    if isinstance(value, dict):
        return any(_needs_more_than(v, plain) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_needs_more_than(v, plain) for v in value)
    return False
