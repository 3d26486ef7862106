"""Turning the lines a PDF page yields into clean running text.

PDF text comes out as the lines of the printed page: running headers and footers, page numbers,
words hyphenated at line ends ("infor-" / "mation") and every sentence broken wherever the line
was full. Left as it is, the sentence splitter (which treats a line break as a paragraph end)
would cut most sentences in half and the teacher would quote headers as facts. This module undoes
the page layout with a few robust rules:

* a line at the top or bottom edge of a page is boilerplate when the same line (digits ignored,
  so "Page 3" matches "Page 4") is at an edge of at least 40% of the pages of its block of
  BLOCK_PAGES pages (and of at least two pages), or when it is a bare page number;
* lines of a paragraph are joined with a space (no space between two CJK characters, which are
  written without one), a hyphen at a line end followed by a lower-case letter is removed;
* a paragraph ends at a blank line or at a short line (under SHORT_LINE of the page's typical
  full line), which is how a paragraph's last line or a heading looks in print.

Pages are processed in blocks, so a 500-page PDF is streamed with bounded memory.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator

BLOCK_PAGES = 16
EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be header or footer
REPEATED_SHARE = 0.4
SHORT_LINE = 0.7

_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(?:(?:page|p\.|seite|s\.|第)\s*)?(?:\d{1,5}|[ivxlcdm]{1,7})"
    r"(?:\s*(?:of|/|von|sur)\s*\d{1,5})?\s*(?:页)?[-–—\s]*$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?。！？…][\"'”’)\]」』）]*$")
_CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def is_cjk(char: str) -> bool:
    """Whether `char` belongs to a script written without spaces between words (Han, kana) or
    is CJK punctuation."""
    return bool(_CJK.match(char))


def edge_key(line: str) -> str:
    """What two header or footer lines have in common: case, spacing and numbers ignored."""
    return _DIGITS.sub("#", " ".join(line.split())).casefold()


def is_page_number(line: str) -> bool:
    return bool(_PAGE_NUMBER.match(line.strip()))


def _edges(lines: list[str]) -> list[str]:
    body = [line for line in lines if line.strip()]
    if len(body) <= 2 * EDGE_LINES:
        return body
    return body[:EDGE_LINES] + body[-EDGE_LINES:]


def strip_edges(lines: list[str], boilerplate: set[str]) -> list[str]:
    """`lines` without the header and footer lines at either end of the page."""

    def removable(line: str) -> bool:
        return not line.strip() or is_page_number(line) or edge_key(line) in boilerplate

    start, end = 0, len(lines)
    removed = 0
    while start < end and removable(lines[start]) and removed < EDGE_LINES + 2:
        removed += bool(lines[start].strip())
        start += 1
    removed = 0
    while end > start and removable(lines[end - 1]) and removed < EDGE_LINES + 2:
        removed += bool(lines[end - 1].strip())
        end -= 1
    return lines[start:end]


def join_lines(left: str, right: str) -> str:
    """Two pieces of one paragraph as one: de-hyphenated, without a space between CJK text."""
    if not left:
        return right
    if not right:
        return left
    if len(left) >= 2 and left[-1] == "-" and left[-2].isalpha() and right[0].islower():
        return left[:-1] + right
    if is_cjk(left[-1]) or is_cjk(right[0]):
        return left + right
    return f"{left} {right}"


def unwrap(lines: list[str]) -> str:
    """A page's body lines as paragraphs separated by blank lines, each paragraph one line."""
    stripped = [" ".join(line.split()) for line in lines]
    widths = sorted(len(line) for line in stripped if line)
    if not widths:
        return ""
    full = widths[(len(widths) * 3) // 4]  # a typical full line; most lines of prose are full
    paragraphs: list[str] = []
    current = ""
    for line in stripped:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        current = join_lines(current, line)
        if len(line) < SHORT_LINE * full and not line.endswith(("-", ",")):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)


def clean_pages(pages: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """(page number, clean text) for each (page number, raw extracted text), streamed in blocks
    of BLOCK_PAGES; a line found to be boilerplate in one block stays boilerplate after it."""
    known: set[str] = set()
    block: list[tuple[int, list[str]]] = []
    for number, raw in pages:
        block.append((number, raw.splitlines()))
        if len(block) == BLOCK_PAGES:
            yield from _clean_block(block, known)
            block = []
    if block:
        yield from _clean_block(block, known)


def _clean_block(block: list[tuple[int, list[str]]], known: set[str]) -> Iterator[tuple[int, str]]:
    counts = Counter(key for _, lines in block for key in {edge_key(line) for line in _edges(lines)})
    needed = max(2, math.ceil(REPEATED_SHARE * len(block)))
    known.update(key for key, count in counts.items() if count >= needed)
    for number, lines in block:
        yield number, unwrap(strip_edges(lines, known))


def ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text.rstrip()))


def join_pages(left: str, right: str) -> str:
    """The text of two consecutive pages: a paragraph cut by the page break is joined again."""
    if not left or not right:
        return left or right
    if ends_sentence(left):
        return f"{left}\n\n{right}"
    return join_lines(left, right)
