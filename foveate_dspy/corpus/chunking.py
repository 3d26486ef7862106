"""Splitting long documents into article-sized chunks of whole sentences.

A teacher reads one article per call, and the budget (Algorithm 1) and keyword extraction assume
a passage-sized text, so a 300-page book must become many passages. Chunks end at sentence
boundaries (the offline teacher's abbreviation-aware splitter) so no question is written about a
sentence cut in half; a single sentence longer than a chunk (a table dump, a run-on line without
punctuation) is cut at word boundaries rather than kept whole.

The size unit is the **word**: a maximal run of non-whitespace characters, with Chinese and
Japanese runs segmented into words (`words.py`). It needs no model tokenizer and is stable across
teachers; an English word is about 1.3 BPE tokens, so the default of 400 words is roughly 520
tokens, and every SQuAD paragraph in the shared test data but a handful stays whole. A Chinese
word (jieba) is about 1.5 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from foveate_dspy.corpus.words import word_count, word_spans

DEFAULT_CHUNK_TOKENS = 400
WINDOW_CHARS = 4096

_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Chunk:
    """A chunk as an exact slice `text[start:end]` of the document it came from."""

    text: str
    start: int
    end: int


def _trimmed(text: str, start: int, end: int) -> Chunk | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Chunk(text[start:end], start, end) if start < end else None


def _word_pieces(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int, int]]:
    """(start, end, words) spans of at most `max_words` words covering text[start:end]; a piece
    keeps the punctuation after its last word (a CJK "，" or "。" is no word of its own)."""
    spans = [(start + a, start + b) for a, b in word_spans(text[start:end])]
    pieces = []
    for i in range(0, len(spans), max_words):
        j = min(i + max_words, len(spans))
        stop = spans[j][0] if j < len(spans) else end
        while stop > spans[j - 1][1] and text[stop - 1].isspace():
            stop -= 1
        pieces.append((spans[i][0], stop, j - i))
    return pieces


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence of `text`, found window by window.

    The splitter is meant for article-sized texts (its cost grows with the number of sentence
    ends times the paragraph's length), so a long document is fed to it in windows of about
    WINDOW_CHARS: all sentences of a window but its last are kept, and the next window starts
    where that last one did. A window holding less than two sentences is doubled until it holds
    two or reaches the end, so a run-on text is never cut at a window's edge."""
    from foveate_dspy.corpus.text import split_sentences

    position, window = 0, WINDOW_CHARS
    while position < len(text):
        end = len(text)
        if position + window < end:
            space = _SPACE.search(text, position + window)
            end = space.start() if space else end
        sentences = split_sentences(text[position:end])
        if end < len(text) and len(sentences) < 2:
            window *= 2
            continue
        if end < len(text):
            sentences = sentences[:-1]  # it may go on past the window: the next window rereads it
        for sentence in sentences:
            yield position + sentence.start, position + sentence.end
        position = end if end == len(text) else position + sentences[-1].end
        window = WINDOW_CHARS


def chunk_text(text: str, max_words: int = DEFAULT_CHUNK_TOKENS) -> list[Chunk]:
    """`text` as chunks of consecutive whole sentences with at most `max_words` words each.

    `max_words` <= 0 disables chunking. Leading and trailing whitespace is trimmed from every
    chunk; offsets always index the original `text`. An all-whitespace text gives no chunk."""
    if max_words <= 0 or word_count(text) <= max_words:
        whole = _trimmed(text, 0, len(text))
        return [whole] if whole is not None else []
    pieces: list[tuple[int, int, int]] = []
    for start, end in sentence_spans(text):
        words = word_count(text[start:end])
        if words > max_words:
            pieces.extend(_word_pieces(text, start, end, max_words))
        elif words:
            pieces.append((start, end, words))
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
