"""How many instructions each article gets per level (paper appendix B.2, Algorithm 1).

An article's richness is the number of its distinct words whose embedding is close to the
article's own (cosine >= tau). The counts are Box-Cox transformed (lambda by maximum likelihood)
and z-scored, so a corpus gets mu instructions per level on average with alpha spreading rich and
thin articles apart. Unlike the reference code we clamp to >= 1 and treat a one-article or
constant-count corpus as "everyone gets mu" instead of dividing by a zero deviation.

At scale the corpus-level part (lambda, mean, deviation) is fitted on a seeded sample
(`BudgetFit`, `sample_positions`) and each article's n is computed when it runs (`ArticleBudget`).
"""

from __future__ import annotations

import math
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from foveate_dspy.corpus.words import has_cjk
from foveate_dspy.corpus.words import words as split_words

if TYPE_CHECKING:
    from foveate_dspy.method.embedding import Embedder

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


WORD_CACHE = 50_000  # word vectors a RelevanceCounter keeps (about 75 MB at 384 dimensions)


class RelevanceCounter:
    """c(d), article by article or in batches, keeping the vectors of the words it has embedded.

    A word's embedding does not depend on the article it came from, so each distinct word is
    embedded once for the whole run (up to WORD_CACHE of the most recently used), not once per
    article: on SQuAD-sized corpora most words recur, and embedding them is where much of the
    time would go. The article's own vector comes from the embedder's recent-texts cache, which
    is where micro-foveation's keyword ranking finds it again."""

    def __init__(self, embedder: Embedder, threshold: float, cache_words: int = WORD_CACHE) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.cache_words = cache_words
        self._words: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the local executor counts from worker threads

    def counts(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        words_per_text = [unique_words(t) for t in texts]
        with self._lock:
            missing = sorted({w for words in words_per_text for w in words} - self._words.keys())
            if missing:
                # not kept in the embedder's recent-texts cache as well: that one is for articles
                self._words.update(zip(missing, self.embedder.encode(missing, remember=False)))
            vectors = [np.stack([self._words[w] for w in words]) if words else None for words in words_per_text]
            for words in words_per_text:
                for word in words:
                    self._words.move_to_end(word)
            while len(self._words) > max(self.cache_words, len(missing)):
                self._words.popitem(last=False)
        text_vectors = self.embedder.encode(list(texts))
        return [
            0 if word_vectors is None else int(np.count_nonzero(word_vectors @ text_vector >= self.threshold))
            for word_vectors, text_vector in zip(vectors, text_vectors)
        ]


def relevant_word_counts(texts: Sequence[str], embedder: Embedder, threshold: float) -> list[int]:
    """c(d) for every article: distinct words with cos(embed(d), embed(w)) >= threshold.

    Words are embedded once per corpus, not once per article (see RelevanceCounter)."""
    return RelevanceCounter(embedder, threshold).counts(texts)


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


@dataclass(frozen=True)
class BudgetFit:
    """Algorithm 1's corpus-level part: the Box-Cox lambda and the mean and standard deviation
    of the transformed counts, with the shift that made the counts positive.

    Fitted once per run on a seeded sample of the corpus (or the whole corpus when it is no
    larger than the sample, which gives exactly the budgets of fitting on everything), stored in
    the run store, and applied to each article's count when the article runs, so a corpus of a
    million articles needs neither a million embeddings before the first LM call nor every
    count in one place. `lmbda` None: a degenerate sample (under two articles, constant counts,
    zero spread), where every article gets mu."""

    lmbda: float | None
    shift: float = 0.0
    mean: float = 0.0
    std: float = 1.0
    sample: int = 0  # articles the fit saw
    corpus: int = 0  # articles in the corpus

    @classmethod
    def of_counts(cls, counts: Sequence[float], corpus: int | None = None) -> BudgetFit:
        from scipy import stats

        c = np.asarray(counts, dtype=float)
        size = len(c) if corpus is None else corpus
        if len(c) < 2 or np.all(c == c[0]):
            return cls(None, sample=len(c), corpus=size)
        shift = 0.0
        if c.min() <= 0:
            shift = abs(float(c.min())) + 1
            c = c + abs(c.min()) + 1
        transformed, lmbda = stats.boxcox(c)
        std = float(np.std(transformed))
        if not math.isfinite(std) or std == 0.0:
            return cls(None, sample=len(c), corpus=size)
        return cls(float(lmbda), shift, float(np.mean(transformed)), std, len(c), size)

    def budget(self, count: float, target_mean: float = 8.0, alpha: float = 1.0) -> int:
        """n = round(mu + alpha * z) for one article's count, n >= 1. A count below what the
        sample's shift makes positive maps to the transform's lower limit (n = 1 when lambda <= 0)."""
        from scipy import special

        if self.lmbda is None:
            return max(1, _round_half_up(target_mean))
        transformed = float(special.boxcox(max(count + self.shift, 0.0), self.lmbda))
        z = (transformed - self.mean) / self.std
        value = target_mean + alpha * z
        return max(1, _round_half_up(value)) if math.isfinite(value) else 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BudgetFit:
        return cls(**data)


def normalise_counts(counts: Sequence[float], target_mean: float = 8.0, alpha: float = 1.0) -> list[int]:
    """Box-Cox + z-score the counts into per-level budgets n = round(mu + alpha * z), n >= 1."""
    fit = BudgetFit.of_counts(counts)
    return [fit.budget(c, target_mean, alpha) for c in counts]


def article_budgets(texts: Sequence[str], embedder: Embedder, config: BudgetConfig = BudgetConfig()) -> list[int]:
    """Algorithm 1 end to end on a whole corpus: one n per article, in input order."""
    counts = relevant_word_counts(texts, embedder, config.threshold)
    return normalise_counts(counts, config.target_mean, config.alpha)


def sample_positions(corpus: int, sample: int, seed: int) -> list[int]:
    """The corpus positions (0-based, ascending) of a seeded uniform sample of `sample` articles;
    every position when the corpus is no larger."""
    if sample >= corpus:
        return list(range(corpus))
    return sorted(random.Random(f"budget-sample:{seed}").sample(range(corpus), sample))


@dataclass(frozen=True)
class ArticleBudget:
    """n for one article from a stored fit, computed where the article runs (the local process,
    or a Ray worker with its own embedder, on its GPU when it has one). Picklable: the embedder
    and word cache are per process, looked up by name."""

    fit: BudgetFit
    config: BudgetConfig
    embedder: str

    def __call__(self, text: str) -> int:
        return self.many([text])[0]

    def many(self, texts: Sequence[str]) -> list[int]:
        """n for several articles: their embeddings in one batch (on CPU about six times less
        work per article than one at a time, measured with MiniLM on SQuAD paragraphs)."""
        counts = counter(self.embedder, self.config.threshold).counts(texts)
        return [self.fit.budget(c, self.config.target_mean, self.config.alpha) for c in counts]


@lru_cache(maxsize=4)
def counter(embedder: str, threshold: float) -> RelevanceCounter:
    """The process-wide counter (and word cache) for an embedder and threshold."""
    from foveate_dspy.method.embedding import get_embedder

    return RelevanceCounter(get_embedder(embedder), threshold)
