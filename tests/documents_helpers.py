"""Small PDF, HTML and DOCX files written by the tests themselves (reportlab, python-docx)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

LINE_GAP = 14  # points between two lines of a page
WRAP = 70  # characters per printed line


def wrap(paragraph: str, width: int = WRAP) -> list[str]:
    """A paragraph as printed lines of at most `width` characters, broken at spaces."""
    lines, line = [], ""
    for word in paragraph.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def write_pdf(
    path: Path,
    pages: Sequence[Sequence[str]],
    *,
    header: str | None = None,
    footer: str | None = "Page {page} of {pages}",
    title: str | None = None,
    password: str | None = None,
    scanned: Sequence[int] = (),
    font: str = "Helvetica",
) -> Path:
    """A PDF whose page k holds the given printed lines, with a running header and footer; the
    pages numbered in `scanned` hold only a drawn rectangle, like a scan without a text layer.
    `font` "STSong-Light" is reportlab's built-in Chinese (CID) font."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if font == "STSong-Light":
        pdfmetrics.registerFont(UnicodeCIDFont(font))

    pdf = canvas.Canvas(str(path), pagesize=A4, encrypt=password)
    if title:
        pdf.setTitle(title)
    for number, lines in enumerate(pages, start=1):
        if number in scanned:
            pdf.rect(72, 300, 400, 400, fill=1)
            pdf.showPage()
            continue
        pdf.setFont(font, 10)
        if header:
            pdf.drawString(72, 800, header)
        y = 770
        for line in lines:
            if line:
                pdf.drawString(72, y, line)
            y -= LINE_GAP
        if footer:
            pdf.drawString(260, 40, footer.format(page=number, pages=len(pages)))
        pdf.showPage()
    pdf.save()
    return path


def write_docx(path: Path, blocks: Sequence[tuple[str, object]], title: str | None = None) -> Path:
    """A .docx from ("h1".."h3" | "title" | "p" | "table", content) blocks, in order."""
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    for kind, content in blocks:
        if kind == "title":
            document.add_heading(str(content), level=0)
        elif kind.startswith("h"):
            document.add_heading(str(content), level=int(kind[1:]))
        elif kind == "table":
            rows = list(content)  # type: ignore[call-overload]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        else:
            document.add_paragraph(str(content))
    document.save(str(path))
    return path


def html_page(title: str, body: str) -> str:
    """A web page with navigation and a footer around `body` (the main text)."""
    return (
        f"<html><head><title>{title}</title></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/about'>About us</a> | <a href='/login'>Log in</a></nav>"
        f"<article>{body}</article>"
        "<footer><p>Copyright 2024 River Society. All rights reserved. Imprint and privacy policy.</p></footer>"
        "</body></html>"
    )
