"""Splitting long documents into article-sized chunks of whole sentences.

A teacher reads one article per call, and the budget (Algorithm 1) and keyword extraction assume
a passage-sized text, so a 300-page book must become many passages. Chunks end at sentence
boundaries (the offline teacher's abbreviation-aware splitter) so no question is written about a
sentence cut in half; a single sentence longer than a chunk (a table dump, a run-on line without
punctuation) is cut at word boundaries rather than kept whole.

The size unit is the **word**: a maximal run of non-whitespace characters. It needs no tokenizer
and is stable across teachers; an English word is about 1.3 BPE tokens, so the default of 400
words is roughly 520 tokens, and every SQuAD paragraph in the shared test data but a handful
stays whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_CHUNK_TOKENS = 400

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Chunk:
    """A chunk as an exact slice `text[start:end]` of the document it came from."""

    text: str
    start: int
    end: int


def word_count(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))


def _trimmed(text: str, start: int, end: int) -> Chunk | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Chunk(text[start:end], start, end) if start < end else None


def _word_pieces(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int, int]]:
    """(start, end, words) spans of at most `max_words` words covering text[start:end]."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    return [
        (spans[i][0], spans[min(i + max_words, len(spans)) - 1][1], min(max_words, len(spans) - i))
        for i in range(0, len(spans), max_words)
    ]


def chunk_text(text: str, max_words: int = DEFAULT_CHUNK_TOKENS) -> list[Chunk]:
    """`text` as chunks of consecutive whole sentences with at most `max_words` words each.

    `max_words` <= 0 disables chunking. Leading and trailing whitespace is trimmed from every
    chunk; offsets always index the original `text`. An all-whitespace text gives no chunk."""
    if max_words <= 0 or word_count(text) <= max_words:
        whole = _trimmed(text, 0, len(text))
        return [whole] if whole is not None else []
    from foveate_dspy.offline.text import split_sentences

    pieces: list[tuple[int, int, int]] = []
    for sentence in split_sentences(text):
        words = word_count(sentence.text)
        if words > max_words:
            pieces.extend(_word_pieces(text, sentence.start, sentence.end, max_words))
        elif words:
            pieces.append((sentence.start, sentence.end, words))
    chunks: list[Chunk] = []
    start = end = None
    total = 0
    for piece_start, piece_end, words in pieces:
        if start is not None and total + words > max_words:
            chunks.append(Chunk(text[start:end], start, end))
            start = None
        if start is None:
            start, total = piece_start, 0
        end = piece_end
        total += words
    if start is not None:
        chunks.append(Chunk(text[start:end], start, end))
    return chunks
