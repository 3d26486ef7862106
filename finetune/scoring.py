"""Answer scoring: SQuAD normalisation, token recall and the offline containment verdict.

Recall rather than F1 or exact match, as in the paper (§4.4): test answers are short spans while
a tuned model answers in sentences, so the question is whether the gold tokens appear at all.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD v1.1 normalisation: lowercase, drop punctuation and the articles
    a/an/the, collapse whitespace. Kept byte-for-byte equivalent so figures compare with the
    paper's and with every SQuAD evaluator."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def token_recall(generated: str, gold: str) -> float:
    """Share of the gold answer's normalised tokens that occur in the generated answer.

    Tokens are counted as a multiset (Counter intersection), so a gold answer that repeats a
    word needs it that many times. A gold answer that normalises to nothing (e.g. "The") scores
    1.0 only against an answer that also normalises to nothing, SQuAD's rule for empty spans."""
    gold_tokens = normalize_answer(gold).split()
    generated_tokens = normalize_answer(generated).split()
    if not gold_tokens:
        return float(not generated_tokens)
    common = Counter(gold_tokens) & Counter(generated_tokens)
    return sum(common.values()) / len(gold_tokens)


def best_recall(generated: str, golds: Sequence[str]) -> float:
    """Recall against the most favourable gold answer, as SQuAD scores against several."""
    return max(token_recall(generated, gold) for gold in golds)


def contains_gold(generated: str, golds: Sequence[str]) -> bool:
    """True when some normalised gold answer appears in the normalised answer as whole words.

    This is the offline stand-in for the LLM judge: deterministic and free, stricter than a
    judge on paraphrases ("fifteen" vs "15"), so it is reported under its own name."""
    haystack = f" {normalize_answer(generated)} "
    return any((needle := normalize_answer(gold)) and f" {needle} " in haystack for gold in golds)
