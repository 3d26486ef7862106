"""How hard an instruction is to answer from its article: a cheap, explainable heuristic.

An instruction is harder when answering it needs more of the article. Its score adds the number
of article sentences needed to cover its content words (greedy set cover), the (log) number of
those content words, and how far apart in the article they sit (first-occurrence spread as a
share of the article). The evals' offline difficulty judge and `compile --optimize`'s heuristic
judge both score with it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from foveate_dspy.corpus.text import STOPWORDS

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry content (not stopwords, not single characters)."""
    return [w for w in (m.group().lower() for m in _WORD.finditer(text)) if len(w) > 1 and w not in STOPWORDS]


@dataclass(frozen=True)
class _ArticleIndex:
    n_tokens: int
    first_position: dict[str, int]
    sentences_with: dict[str, frozenset[int]]


@lru_cache(maxsize=256)
def _index_article(content: str) -> _ArticleIndex:
    first_position: dict[str, int] = {}
    sentences_with: dict[str, set[int]] = {}
    position = 0
    for sentence_no, sentence in enumerate(_SENTENCE_END.split(content)):
        for match in _WORD.finditer(sentence):
            word = match.group().lower()
            first_position.setdefault(word, position)
            sentences_with.setdefault(word, set()).add(sentence_no)
            position += 1
    return _ArticleIndex(position, first_position, {w: frozenset(s) for w, s in sentences_with.items()})


def instruction_difficulty(content: str, instruction: str) -> float:
    """Heuristic difficulty of one instruction about ``content`` (see the module docstring)."""
    index = _index_article(content)
    keywords = sorted({w for w in content_words(instruction) if w in index.sentences_with})
    if not keywords:
        return 0.0
    uncovered, needed = set(keywords), 0
    while uncovered:  # greedy set cover: pick the sentence covering most uncovered keywords
        counts: dict[int, int] = {}
        for word in uncovered:
            for sentence_no in index.sentences_with[word]:
                counts[sentence_no] = counts.get(sentence_no, 0) + 1
        best = min(counts, key=lambda s: (-counts[s], s))
        uncovered = {w for w in uncovered if best not in index.sentences_with[w]}
        needed += 1
    positions = [index.first_position[w] for w in keywords]
    spread = (max(positions) - min(positions)) / max(1, index.n_tokens)
    return needed + 0.5 * math.log1p(len(keywords)) + spread
