"""Does a generated instruction nearly copy a test question? Two independent signals per item.

Downstream scores (closed-book recall on a corpus's own crowd questions) are inflated when the
training data holds the test questions, or near copies of them. Per generated item this module
finds

* the longest word n-gram it shares with any test question (words: lowercased ``\\w+`` runs, so
  punctuation and case never hide a copy), and the question it shares it with;
* the highest embedding cosine with any test question (MiniLM by default), and that question.

An item is flagged by n-gram when it shares, with some test question q, an n-gram of at least
``ngram_threshold(len(q))`` words: ``min(N, max(4, ceil(0.6 * len(q))))`` with N = ``--ngram``
(default 8). A short question needs a shorter shared run to count, but never fewer than 4 words
(or N, when N < 4), so "what year did" alone flags nothing; questions of fewer words than that
can only be flagged by cosine. It is flagged by cosine at ``cosine >= --cosine`` (default 0.9).

The n-gram search is exact and linear in the generated text: every test n-gram (up to
``MAX_INDEXED_WORDS`` words) is hashed into one table per length, and because a shared n-gram
implies a shared (n-1)-gram, the longest one is found by binary search over n, one pass over the
generated words per probe. The cosine search takes blocked matrix products, so memory stays
bounded by ``_BLOCK_ENTRIES`` similarities whatever the sizes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DEFAULT_NGRAM = 8
MIN_NGRAM = 4
SHORT_QUESTION_RATIO = 0.6
DEFAULT_COSINE = 0.9
#: Longest test n-gram indexed; a test "question" longer than this (a whole paragraph) still
#: matches, but its shared run is reported as at most this many words.
MAX_INDEXED_WORDS = 64
_BLOCK_ENTRIES = 1 << 24  # similarities held at once (64 MiB of float32)
_WORD = re.compile(r"\w+")

Embedder = Callable[[Sequence[str]], np.ndarray]


def words(text: str) -> list[str]:
    """Normalised words: lowercase runs of letters, digits and underscores (any script)."""
    return _WORD.findall(text.lower())


def ngram_threshold(question_words: int, ngram: int = DEFAULT_NGRAM) -> int:
    """Shared words needed to flag a copy of a question of this length (see module docstring)."""
    return min(ngram, max(min(MIN_NGRAM, ngram), math.ceil(SHORT_QUESTION_RATIO * question_words)))


def check_thresholds(ngram: int, cosine: float) -> None:
    """Refuse thresholds that cannot mean anything, before any model is loaded."""
    if not 1 <= ngram <= MAX_INDEXED_WORDS:
        raise ValueError(f"--ngram must be between 1 and {MAX_INDEXED_WORDS} words, got {ngram}")
    if not 0 < cosine <= 1:
        raise ValueError(f"--cosine must be in (0, 1], got {cosine}")


@dataclass(frozen=True)
class Match:
    """The longest shared n-gram of one generated text: its length, words and test question."""

    length: int
    text: str | None
    question: int | None


class NgramIndex:
    """Every word n-gram of the test questions, hashed per length, for exact shared-run search."""

    def __init__(self, questions: Sequence[str], ngram: int = DEFAULT_NGRAM) -> None:
        self.by_length: dict[int, dict[int, int]] = {}  # n -> hash(n-gram) -> first question index
        self.flagging: dict[int, dict[int, int]] = {}  # t -> t-grams of the questions whose threshold is t
        for index, question in enumerate(questions):
            tokens = words(question)
            for n in range(1, min(len(tokens), MAX_INDEXED_WORDS) + 1):
                table = self.by_length.setdefault(n, {})
                for start in range(len(tokens) - n + 1):
                    table.setdefault(hash(tuple(tokens[start : start + n])), index)
            threshold = ngram_threshold(len(tokens), ngram)
            if len(tokens) >= threshold:
                table = self.flagging.setdefault(threshold, {})
                for start in range(len(tokens) - threshold + 1):
                    table.setdefault(hash(tuple(tokens[start : start + threshold])), index)

    def _find(self, tokens: list[str], n: int, table: dict[int, int] | None) -> tuple[int, int] | None:
        """(start in tokens, question index) of the first n-gram of tokens in table, else None."""
        if not table:
            return None
        for start in range(len(tokens) - n + 1):
            hit = table.get(hash(tuple(tokens[start : start + n])))
            if hit is not None:
                return start, hit
        return None

    def longest(self, text: str) -> Match:
        """The longest n-gram of `text` found in any test question (binary search over n)."""
        tokens = words(text)
        low, high, best = 0, min(len(tokens), max(self.by_length, default=0)), None
        while low < high:
            middle = (low + high + 1) // 2
            found = self._find(tokens, middle, self.by_length.get(middle))
            if found is None:
                high = middle - 1
            else:
                low, best = middle, found
        if best is None:
            return Match(0, None, None)
        return Match(low, " ".join(tokens[best[0] : best[0] + low]), best[1])

    def flagged_by(self, text: str) -> int | None:
        """The test question `text` copies enough of to be flagged, else None."""
        tokens = words(text)
        for threshold, table in sorted(self.flagging.items()):
            found = self._find(tokens, threshold, table)
            if found is not None:
                return found[1]
        return None


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)  # a zero vector has cosine 0 with everything


def nearest_by_cosine(generated: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every generated row, the highest cosine with any test row and that row's index."""
    generated, test = _unit(generated), _unit(test)
    best = np.full(len(generated), -np.inf, dtype=np.float32)
    where = np.zeros(len(generated), dtype=np.int64)
    rows = max(1, _BLOCK_ENTRIES // max(1, len(test)))
    for start in range(0, len(generated), rows):
        sims = generated[start : start + rows] @ test.T
        where[start : start + rows] = sims.argmax(axis=1)
        best[start : start + rows] = sims.max(axis=1)
    return best, where


@dataclass
class ItemResult:
    """One generated item's verdict; `index` is its position in its input, in input order."""

    index: int
    input: str
    where: str
    level: str | None
    instruction: str
    ngram: int
    ngram_text: str | None
    ngram_question: str | None
    cosine: float | None
    cosine_question: str | None
    flagged_ngram: bool
    flagged_cosine: bool
    flagged: bool
    flagged_question: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_contamination(
    inputs: Sequence[tuple[str, Sequence[Any]]],
    questions: Sequence[str],
    *,
    ngram: int = DEFAULT_NGRAM,
    cosine: float = DEFAULT_COSINE,
    embedder: Embedder | None = None,
) -> list[ItemResult]:
    """Check every record (with `.instruction`, `.where`, `.level`) of every (name, records)
    input against the test questions; `embedder` None skips the cosine signal."""
    check_thresholds(ngram, cosine)
    if not questions:
        raise ValueError("no test questions to check against")
    index = NgramIndex(questions, ngram)
    test_vectors = embedder(list(questions)) if embedder is not None else None
    results: list[ItemResult] = []
    for name, records in inputs:
        texts = [record.instruction for record in records]
        if test_vectors is not None and texts:
            best, nearest = nearest_by_cosine(embedder(texts), test_vectors)
        for position, record in enumerate(records):
            match = index.longest(record.instruction)
            copied = index.flagged_by(record.instruction)
            score = float(best[position]) if test_vectors is not None else None
            by_cosine = score is not None and score >= cosine
            near = questions[int(nearest[position])] if test_vectors is not None else None
            results.append(
                ItemResult(
                    index=position,
                    input=name,
                    where=record.where,
                    level=record.level,
                    instruction=record.instruction,
                    ngram=match.length,
                    ngram_text=match.text,
                    ngram_question=None if match.question is None else questions[match.question],
                    cosine=None if score is None else round(score, 4),
                    cosine_question=near,
                    flagged_ngram=copied is not None,
                    flagged_cosine=by_cosine,
                    flagged=copied is not None or by_cosine,
                    flagged_question=questions[copied] if copied is not None else (near if by_cosine else None),
                )
            )
    return results


def shares(results: Sequence[ItemResult]) -> list[dict[str, Any]]:
    """Flagged shares per input and level, then per input over all levels."""
    groups: dict[tuple[str, str], list[ItemResult]] = {}
    for item in results:
        groups.setdefault((item.input, item.level or "unlabelled"), []).append(item)
        groups.setdefault((item.input, "all"), []).append(item)
    rows = []
    for (name, level), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] == "all", kv[0][1])):
        n = len(items)
        rows.append(
            {
                "input": name,
                "level": level,
                "n": n,
                "ngram_flagged": sum(i.flagged_ngram for i in items) / n,
                "cosine_flagged": sum(i.flagged_cosine for i in items) / n,
                "flagged": sum(i.flagged for i in items) / n,
                "n_flagged": sum(i.flagged for i in items),
            }
        )
    return rows


def worst(results: Sequence[ItemResult], k: int) -> list[ItemResult]:
    """The k items closest to a test question: longest shared run first, then highest cosine."""
    return sorted(results, key=lambda i: (-i.ngram, -(i.cosine if i.cosine is not None else -1.0), i.index))[:k]


def markdown(results: Sequence[ItemResult], *, ngram: int, cosine: float, with_cosine: bool, k: int) -> str:
    """The shares table and the worst examples, as markdown for a terminal or a report."""
    cos = f"cosine ≥ {cosine}" if with_cosine else "cosine skipped"
    lines = [
        f"Contamination: shared word n-gram ≥ min({ngram}, max(4, ceil(0.6 × question words))); {cos}",
        "",
        "| input | level | n | n-gram flagged | cosine flagged | flagged (either) |",
        "|---|---|---|---|---|---|",
    ]
    for row in shares(results):
        cos_cell = f"{row['cosine_flagged']:.1%}" if with_cosine else "-"
        lines.append(
            f"| {row['input']} | {row['level']} | {row['n']} | {row['ngram_flagged']:.1%} | {cos_cell} | "
            f"{row['flagged']:.1%} ({row['n_flagged']}) |"
        )
    if k and results:
        lines += ["", f"Closest {min(k, len(results))} items:", "", "| input | where | n-gram | cosine | item | test question |",
                  "|---|---|---|---|---|---|"]
        for item in worst(results, k):
            question = item.ngram_question if item.ngram else item.cosine_question
            score = "-" if item.cosine is None else f"{item.cosine:.3f}"
            lines.append(
                f"| {item.input} | {item.where} | {item.ngram} | {score} | {_cell(item.instruction)} | "
                f"{_cell(question or '')} |"
            )
    return "\n".join(lines) + "\n"


def _cell(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"
