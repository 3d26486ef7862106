"""How many instructions each article gets per level (paper appendix B.2, Algorithm 1).

An article's richness is the number of its distinct words whose embedding is close to the
article's own (cosine >= tau). The counts are Box-Cox transformed (lambda by maximum likelihood)
and z-scored, so a corpus gets mu instructions per level on average with alpha spreading rich and
thin articles apart. Unlike the reference code we clamp to >= 1 and treat a one-article or
constant-count corpus as "everyone gets mu" instead of dividing by a zero deviation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from foveate_dspy.words import has_cjk
from foveate_dspy.words import words as split_words

if TYPE_CHECKING:
    from foveate_dspy.embedding import Embedder

# A word starts with a letter; digits-only tokens and punctuation carry no topical signal.
# Han and kana count as letters, so a Chinese run is one match, segmented further by `words`.
WORD_RE = re.compile(r"[^\W\d_][\w'’-]*")


@dataclass(frozen=True)
class BudgetConfig:
    threshold: float = 0.16  # tau, CONTEXT_THRESHOLD
    target_mean: float = 8.0  # mu, DEFAULT_TARGET_MEAN
    alpha: float = 1.0  # DEFAULT_ALPHA


def unique_words(text: str) -> list[str]:
    """The distinct lower-cased words of `text`, sorted so the result is reproducible; a run of
    Chinese or Japanese is split into its words (only those starting with a letter are kept)."""
    found = WORD_RE.findall(text)
    if has_cjk(text):
        found = [w for run in found for w in (split_words(run) if has_cjk(run) else [run]) if WORD_RE.match(w)]
    return sorted({w.lower() for w in found})


def relevant_word_counts(texts: Sequence[str], embedder: Embedder, threshold: float) -> list[int]:
    """c(d) for every article: distinct words with cos(embed(d), embed(w)) >= threshold.

    Words are embedded once per corpus, not once per article: on SQuAD-sized corpora most words
    recur across articles and this is where nearly all of the embedding time would go."""
    if not texts:
        return []
    words_per_text = [unique_words(t) for t in texts]
    vocabulary = sorted(set().union(*words_per_text))
    index = {w: i for i, w in enumerate(vocabulary)}
    word_vectors = embedder.encode(vocabulary)
    text_vectors = embedder.encode(list(texts))
    counts = []
    for words, text_vector in zip(words_per_text, text_vectors):
        if not words:
            counts.append(0)
            continue
        sims = word_vectors[[index[w] for w in words]] @ text_vector
        counts.append(int(np.count_nonzero(sims >= threshold)))
    return counts


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def normalise_counts(counts: Sequence[float], target_mean: float = 8.0, alpha: float = 1.0) -> list[int]:
    """Box-Cox + z-score the counts into per-level budgets n = round(mu + alpha * z), n >= 1."""
    from scipy import stats

    c = np.asarray(counts, dtype=float)
    fallback = [max(1, _round_half_up(target_mean))] * len(c)
    if len(c) < 2 or np.all(c == c[0]):
        return fallback
    if c.min() <= 0:
        c = c + abs(c.min()) + 1
    transformed, _lmbda = stats.boxcox(c)
    std = float(np.std(transformed))
    if not math.isfinite(std) or std == 0.0:
        return fallback
    z = (transformed - float(np.mean(transformed))) / std
    return [max(1, _round_half_up(target_mean + alpha * zi)) for zi in z]


def article_budgets(texts: Sequence[str], embedder: Embedder, config: BudgetConfig = BudgetConfig()) -> list[int]:
    """Algorithm 1 end to end: one n per article, in input order."""
    counts = relevant_word_counts(texts, embedder, config.threshold)
    return normalise_counts(counts, config.target_mean, config.alpha)
