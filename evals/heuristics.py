"""Deterministic offline judges, so the evals run in CI without an LM. They are heuristics, not
measurements of what a strong LM judge would say, and every output labels them as such.

Difficulty: an instruction is harder when answering it needs more of the article. Its score adds
the number of article sentences needed to cover its content words (greedy set cover), the
(log) number of those content words, and how far apart in the article they sit (first-occurrence
spread as a share of the article). A set's score is the mean over its instructions.

Answer quality: fluency looks for a complete sentence that picks up the question's words;
completeness compares the answer's length with the number of parts the question asks for.
A refusal (the project's one classifier, `foveate_dspy.method.refusal.is_refusal`) rates low on both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from evals.judging import JudgeReply
from foveate_dspy.method.refusal import is_refusal

HEURISTIC_LABEL = "heuristic (offline)"

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CONJUNCTION = re.compile(r"\band\b|;", re.IGNORECASE)
_EXPLANATORY = re.compile(
    r"\b(why|how(?!\s+(many|much|old|long|far))|explain|describe|compare|discuss|analy[sz]e)\b", re.IGNORECASE
)
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves""".split()
)


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
    """Heuristic difficulty of one instruction about ``content`` (see module docstring)."""
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


def set_difficulty(content: str, instructions: Sequence[str]) -> float:
    return sum(instruction_difficulty(content, i) for i in instructions) / max(1, len(instructions))


class HeuristicDifficultyJudge:
    """Picks the set with the higher mean heuristic difficulty; on equal scores it answers "1",
    which the two-order protocol turns into a tie."""

    label = HEURISTIC_LABEL

    def compare(self, content: str, first: Sequence[str], second: Sequence[str]) -> JudgeReply:
        harder = "2" if set_difficulty(content, second) > set_difficulty(content, first) else "1"
        return JudgeReply(values={"harder": harder})


def rate_fluency(question: str, answer: str) -> str:
    words = content_words(answer)
    if not words or is_refusal(answer):
        return "low"
    echoes_question = bool(set(words) & set(content_words(question)))
    complete_sentence = len(answer.split()) >= 4 and answer.rstrip().endswith((".", "!", "?", '"', ")"))
    if echoes_question and complete_sentence:
        return "high"
    return "medium" if echoes_question or complete_sentence else "low"


def rate_completeness(question: str, answer: str) -> str:
    if not content_words(answer) or is_refusal(answer):
        return "low"
    parts = max(1, question.count("?")) + len(_CONJUNCTION.findall(question)) + bool(_EXPLANATORY.search(question))
    length = len(answer.split())
    if length >= 8 * parts:
        return "high"
    return "medium" if length >= 3 * parts else "low"


class HeuristicQualityJudge:
    label = HEURISTIC_LABEL

    def rate(self, question: str, answer: str) -> JudgeReply:
        return JudgeReply(
            values={"fluency": rate_fluency(question, answer), "completeness": rate_completeness(question, answer)}
        )
