"""Reading PDF, HTML and DOCX documents as pieces of clean text with provenance.

Manuals, papers, reports and web pages are what people turn into training data, so a record must
say where in such a document its passage came from: the page of a PDF, the heading path of an
HTML page or Word document. Each reader yields `Piece`s in document order; `corpus.py` turns them
into documents (one per piece) and chunks them like any other text.

* PDF (pypdf): page by page, so a 500-page file is streamed; headers, footers, page numbers,
  hyphenation and line wrapping are undone (`pagetext.py`). Consecutive pages are joined until
  a page ends a sentence and the piece holds MIN_PIECE_WORDS words, so no sentence is cut at a
  page break and a title page does not become an article of its own. A PDF without a text layer
  (a scan) is reported as such, not read as empty.
* HTML (trafilatura): the page's main text, without navigation, footers and comments; one piece
  per section, with the path of headings above it.
* DOCX (python-docx): paragraphs and tables in body order; one piece per section under the
  Heading/Title styles, with the heading path.

Every reader raises `UnreadableDocument` with a one-line message naming the file when the file is
not what its suffix says, is encrypted, or holds no text. The libraries are imported when a
document is read, so `--help` and plain-text corpora never pay for them.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foveate_dspy.corpus.pagetext import clean_pages, ends_sentence, join_pages
from foveate_dspy.corpus.words import word_count

PDF_SUFFIXES = (".pdf",)
HTML_SUFFIXES = (".html", ".htm")
DOCX_SUFFIXES = (".docx",)
DOCUMENT_SUFFIXES = PDF_SUFFIXES + HTML_SUFFIXES + DOCX_SUFFIXES

MIN_PIECE_WORDS = 40  # a PDF piece grows page by page until it holds this many words...
MAX_PIECE_PAGES = 8  # ...or this many pages, sentence end or not
MIN_MAIN_WORDS = 5  # HTML whose main text is shorter than this has none (a bare link page)
PROGRESS_MIN_PAGES = 20  # documents with fewer pages read too fast for a progress line
PROGRESS_EVERY_S = 1.0

HEADING_SEPARATOR = " > "


class UnreadableDocument(ValueError):
    """The document cannot be read as text; the message names the file and says why."""


@dataclass(frozen=True)
class Piece:
    """A passage of a document: its text, an id suffix (`p3`, `p3-4`, `sec2`), where it is for
    messages, and its provenance (`page`/`page_end` or `headings`)."""

    text: str
    label: str
    where: str
    source: dict[str, Any] = field(default_factory=dict)
    title: str | None = None


def read_document(path: Path) -> Iterator[Piece]:
    """The pieces of a PDF, HTML or DOCX file, chosen by its suffix."""
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        return read_pdf(path)
    if suffix in HTML_SUFFIXES:
        return read_html(path)
    if suffix in DOCX_SUFFIXES:
        return read_docx(path)
    raise ValueError(f"{path}: not a document format ({', '.join(DOCUMENT_SUFFIXES)})")


# --- PDF ----------------------------------------------------------------------------------------


def _open_pdf(path: Path):
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    # pypdf logs a warning for every small defect it repairs (a missing EOF marker, a bad xref);
    # those are not the user's problem, and what cannot be repaired raises.
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(f"{path}: the PDF is encrypted with a password; decrypt it first")
        pages = len(reader.pages)
    except UnreadableDocument:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableDocument(f"{path}: not a readable PDF ({exc.__class__.__name__}: {_one_line(exc)})") from exc
    except Exception as exc:  # pypdf raises assorted errors (DependencyError for AES, ...) on odd files
        raise UnreadableDocument(f"{path}: cannot open the PDF ({exc.__class__.__name__}: {_one_line(exc)})") from exc
    return reader, pages


def _pdf_title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # a damaged info dictionary only costs the title
        return None
    return " ".join(str(title).split()) or None if title is not None else None


def _raw_pages(path: Path, reader, total: int, empty: list[int]) -> Iterator[tuple[int, str]]:
    """(page number from 1, extracted text), with a progress line on stderr for long files;
    pages without a text layer are noted in `empty`."""
    show = total >= PROGRESS_MIN_PAGES
    started = last = time.monotonic()
    for index in range(total):
        try:
            text = reader.pages[index].extract_text() or ""
        except Exception as exc:  # a damaged page: the file is unreadable from here on
            raise UnreadableDocument(
                f"{path}: page {index + 1}: cannot extract text ({exc.__class__.__name__}: {_one_line(exc)})"
            ) from exc
        if not text.strip():
            empty.append(index + 1)
        if show and (time.monotonic() - last >= PROGRESS_EVERY_S or index + 1 == total):
            last = time.monotonic()
            print(f"reading {path.name}: page {index + 1}/{total} ({last - started:.1f} s)", file=sys.stderr, flush=True)
        yield index + 1, text


def read_pdf(path: Path) -> Iterator[Piece]:
    """The text of a PDF in pieces of whole pages ending at a sentence end (see module doc)."""
    reader, total = _open_pdf(path)
    title = _pdf_title(reader)
    empty: list[int] = []
    text, first, last = "", 0, 0
    for number, page in clean_pages(_raw_pages(path, reader, total, empty)):
        if not page:
            continue
        if not text:
            first = number
        text, last = join_pages(text, page), number
        if (ends_sentence(text) and word_count(text) >= MIN_PIECE_WORDS) or last - first + 1 >= MAX_PIECE_PAGES:
            yield _pdf_piece(path, text, first, last, title)
            text = ""
    if text:
        yield _pdf_piece(path, text, first, last, title)
    if total == 0:
        raise UnreadableDocument(f"{path}: the PDF has no pages")
    if len(empty) == total:
        raise UnreadableDocument(f"{path}: no text layer on any of its {total} page(s) (a scanned PDF?); run OCR on it first")
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (", ..." if len(empty) > 10 else "")
        print(f"warning: {path}: {len(empty)} of {total} pages have no text layer (pages {shown})", file=sys.stderr)


def _pdf_piece(path: Path, text: str, first: int, last: int, title: str | None) -> Piece:
    label = f"p{first}" if first == last else f"p{first}-{last}"
    pages = f"page {first}" if first == last else f"pages {first}-{last}"
    return Piece(text, label, f"{path} ({pages})", {"page": first, "page_end": last}, title)


# --- sections (HTML, DOCX) ------------------------------------------------------------------------


class _Sections:
    """Collects paragraphs under a heading path and emits one piece per non-empty section."""

    def __init__(self, path: Path, title: str | None) -> None:
        self.path = path
        self.title = title
        self.headings: list[tuple[int, str]] = []  # (level, text), outermost first
        self.paragraphs: list[str] = []
        self.count = 0

    def heading(self, level: int, text: str) -> Piece | None:
        piece = self.flush()
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        self.headings.append((level, text))
        return piece

    def paragraph(self, text: str) -> None:
        text = " ".join(text.split())
        if text:
            self.paragraphs.append(text)

    def flush(self) -> Piece | None:
        if not self.paragraphs:
            return None
        path = [text for _, text in self.headings]
        label = f"sec{self.count}"
        where = f"{self.path} (section {self.count}" + (f": {HEADING_SEPARATOR.join(path)})" if path else ")")
        piece = Piece("\n\n".join(self.paragraphs), label, where, {"section": self.count, "headings": path}, self.title)
        self.paragraphs = []
        self.count += 1
        return piece


# --- HTML -------------------------------------------------------------------------------------------

_HTML_HEADING = re.compile(r"h([1-6])$")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnreadableDocument(f"{path}: cannot read: {exc.strerror or exc}") from exc


def read_html(path: Path) -> Iterator[Piece]:
    """The main text of an HTML page (trafilatura), one piece per section."""
    import trafilatura
    from lxml import etree

    data = _read_bytes(path)
    try:
        xml = trafilatura.extract(
            data, output_format="xml", include_comments=False, include_tables=True, include_formatting=False, with_metadata=True
        )
    except Exception as exc:  # trafilatura reports bad markup in many ways
        raise UnreadableDocument(f"{path}: cannot parse the HTML ({exc.__class__.__name__}: {_one_line(exc)})") from exc
    root = etree.fromstring(xml.encode("utf-8")) if xml else None
    main = root.find("main") if root is not None else None
    if main is None or word_count(" ".join(main.itertext())) < MIN_MAIN_WORDS:
        raise UnreadableDocument(f"{path}: no main text found in the HTML (navigation, scripts or boilerplate only?)")
    title = root.get("title")
    sections = _Sections(path, title)
    for element in main:
        text = " ".join(" ".join(element.itertext()).split())
        rend = element.get("rend") or ""
        if element.tag == "head":
            level = int(_HTML_HEADING.match(rend).group(1)) if _HTML_HEADING.match(rend) else 2
            piece = sections.heading(level, text)
            if piece is not None:
                yield piece
        elif element.tag == "list":
            for item in element.iter("item"):
                sections.paragraph(" ".join(item.itertext()))
        elif element.tag == "table":
            for row in element.iter("row"):
                sections.paragraph(" | ".join(" ".join(cell.itertext()).strip() for cell in row))
        else:
            sections.paragraph(text)
    piece = sections.flush()
    if piece is not None:
        yield piece


# --- DOCX -------------------------------------------------------------------------------------------

_DOCX_HEADING = re.compile(r"heading\s*(\d)$", re.IGNORECASE)


def _open_docx(path: Path):
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(path):
        raise UnreadableDocument(f"{path}: not a Word .docx document (not a zip package; a binary .doc must be converted to .docx first)")
    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableDocument(
            f"{path}: not a Word .docx document (a zip package without a Word body: {exc.__class__.__name__}: {_one_line(exc)})"
        ) from exc
    except Exception as exc:  # python-docx raises lxml and OPC errors on damaged packages
        raise UnreadableDocument(f"{path}: cannot read the .docx ({exc.__class__.__name__}: {_one_line(exc)})") from exc


def _heading_level(paragraph) -> int | None:
    """1-9 for Heading N styles, 0 for Title, None for body text."""
    try:
        style = paragraph.style
    except (KeyError, ValueError):  # a style id missing from styles.xml
        return None
    name = (style.name if style is not None else None) or ""
    if name.lower() == "title":
        return 0
    match = _DOCX_HEADING.match(name)
    return int(match.group(1)) if match else None


def read_docx(path: Path) -> Iterator[Piece]:
    """The paragraphs and tables of a .docx in body order, one piece per section."""
    from docx.table import Table

    document = _open_docx(path)
    title = " ".join((document.core_properties.title or "").split()) or None
    sections = _Sections(path, title)
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = list(dict.fromkeys(" ".join(cell.text.split()) for cell in row.cells))  # merged cells repeat
                sections.paragraph(" | ".join(cells))
            continue
        level = _heading_level(block)
        if level is not None and block.text.strip():
            piece = sections.heading(level, " ".join(block.text.split()))
            if piece is not None:
                yield piece
        else:
            sections.paragraph(block.text)
    piece = sections.flush()
    if piece is not None:
        yield piece
    elif sections.count == 0:
        raise UnreadableDocument(f"{path}: the .docx holds no text")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
