"""Words in any script: one splitter for chunk sizes, Algorithm 1's vocabulary and length rules.

Most of the pipeline counts words as runs of non-space characters. Chinese and Japanese are
written without spaces, so a whole Chinese paragraph would be one "word": never chunked, one
entry in the budget's vocabulary. Here a run that holds Han or kana characters is segmented
with jieba (MIT; a dictionary and HMM segmenter, loaded on the first CJK text only, ~1-2 s), and
the parts of the run outside CJK (Latin words, numbers) stay words of their own; punctuation
alone (，。) is not a word. Text without CJK characters splits exactly as before, at spaces.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

_RUN = re.compile(r"\S+")
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")
_ALNUM = re.compile(r"\w")
# CJK and full-width punctuation (，、。：％ ...) separates words like a space does.
_CJK_PUNCTUATION = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+")
_lock = threading.Lock()


def has_cjk(text: str) -> bool:
    """Whether `text` holds a Han or kana character."""
    return _CJK.search(text) is not None


@lru_cache(maxsize=1)
def _segmenter():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs "Building prefix dict..." at INFO on first use
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def segment(run: str) -> list[tuple[int, int]]:
    """(start, end) of each word of a run of CJK characters."""
    with _lock:  # jieba's tokenizer is not documented as thread-safe
        return [(start, end) for _word, start, end in _segmenter().tokenize(run)]


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every word of `text`, in order."""
    if not has_cjk(text):
        return [m.span() for m in _RUN.finditer(text)]
    spans: list[tuple[int, int]] = []
    for run in _RUN.finditer(text):
        if not has_cjk(run.group()):
            spans.append(run.span())
            continue
        position = run.start()
        for cjk in _CJK_RUN.finditer(text, run.start(), run.end()):
            _add_other(text, position, cjk.start(), spans)
            spans.extend((cjk.start() + start, cjk.start() + end) for start, end in segment(cjk.group()))
            position = cjk.end()
        _add_other(text, position, run.end(), spans)
    return spans


def _add_other(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """The non-CJK part of a mixed run ("2024" in "2024年", "3%，2024" between two Han runs):
    split at CJK punctuation, each piece a word unless it is punctuation only."""
    position = start
    for stop in [*_CJK_PUNCTUATION.finditer(text, start, end), None]:
        piece_end = stop.start() if stop else end
        if position < piece_end and _ALNUM.search(text, position, piece_end):
            spans.append((position, piece_end))
        if stop:
            position = stop.end()


def words(text: str) -> list[str]:
    """The words of `text` (see the module doc)."""
    return [text[start:end] for start, end in word_spans(text)]


def word_count(text: str) -> int:
    """How many words `text` has (see the module doc)."""
    if not has_cjk(text):
        # str.split() and the \S+ runs use the same whitespace test; split counts them in C,
        # about six times faster, and reading a 10^5-article corpus counts every text.
        return len(text.split())
    return len(word_spans(text))
