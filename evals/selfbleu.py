"""SelfBLEU in time linear in the number of n-grams, equal to nltk's ``sentence_bleu``.

SelfBLEU scores every sentence with BLEU against all the *other* sentences as references. Done
naively (nltk, the authors' fast-bleu) that is quadratic: 20,000 sentences means 20,000 BLEU calls
over 19,999 references each. Two facts make it linear:

* BLEU's clipped count of n-gram g in sentence i is ``min(c_i(g), max_{j != i} c_j(g))``, and the
  maximum over all sentences but one is the overall maximum unless sentence i holds it alone, in
  which case it is the second maximum. One pass over the (sentence, n-gram) counts gives both.
* The closest-reference-length brevity penalty only needs, per sentence, the nearest length among
  the other sentences: the length histogram answers that without looking at the sentences.

Every edge case follows nltk 3.x (``nltk.translate.bleu_score``): a sentence with no unigram match
scores 0; smoothing method1 replaces a zero clipped count by epsilon (0.1) over the n-gram count,
whose denominator is at least 1, so a sentence shorter than n gets 0.1 for that order; the
brevity penalty is 1 when the sentence is longer than the chosen reference length, 0 for an empty
sentence, ``exp(1 - r/h)`` otherwise, with length ties broken towards the shorter reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, pairwise

import numpy as np

DEFAULT_ORDERS: tuple[int, ...] = (2, 3, 4, 5)
METHOD1_EPSILON = 0.1


class DiversityUndefined(ValueError):
    """Raised when a set is too small for a diversity score (fewer than two sentences)."""


@dataclass(frozen=True)
class SelfBleuResult:
    """D_SB and what it was computed from; ``n_sentences`` matters because SelfBLEU falls as the
    set grows, so two scores compare only at equal size."""

    diversity: float
    self_bleu_by_order: dict[int, float]
    n_sentences: int
    orders: tuple[int, ...]


_PARTITION_TARGET = 1 << 14  # keys per hash partition: its table then stays in CPU cache


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes and the distinct values, in linear time (hashing, unlike ``np.unique``'s sort).

    Large integer arrays are first split by a multiplicative hash into partitions of ~16k keys
    (a stable radix sort on a 16-bit bucket id, also linear) and each partition is hashed on its
    own: one table of millions of keys misses the cache on nearly every insert and made the
    whole computation grow faster than its input.
    """
    import pandas as pd

    bits = int(np.clip(np.round(np.log2(max(1, values.size) / _PARTITION_TARGET)), 0, 12))
    if values.dtype == object or bits == 0:
        codes, uniques = pd.factorize(values, sort=False)
        return codes.astype(np.int64, copy=False), np.asarray(uniques)
    bucket = ((values.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)).astype(np.uint16)
    order = np.argsort(bucket, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(bucket, minlength=1 << bits))))
    grouped = values[order]
    codes = np.empty(values.size, dtype=np.int64)
    uniques, offset = [], 0
    for lo, hi in pairwise(bounds):
        if lo == hi:
            continue
        part_codes, part_uniques = pd.factorize(grouped[lo:hi], sort=False)
        codes[order[lo:hi]] = part_codes + offset
        uniques.append(part_uniques)
        offset += part_uniques.size
    return codes, np.concatenate(uniques)


def _clipped_matches(
    sent_of_gram: np.ndarray, gram_id: np.ndarray, n_sentences: int
) -> np.ndarray:
    """Per sentence, the sum over its n-grams of min(own count, max count in any other sentence)."""
    if gram_id.size == 0:
        return np.zeros(n_sentences)
    n_grams = int(gram_id.max()) + 1
    pair_codes, pairs = _factorize(sent_of_gram * n_grams + gram_id)
    counts = np.bincount(pair_codes)
    pair_sent = pairs // n_grams
    pair_gram = pairs % n_grams

    top = np.zeros(n_grams, dtype=np.int64)
    np.maximum.at(top, pair_gram, counts)
    holds_top = counts == top[pair_gram]
    n_holding_top = np.bincount(pair_gram[holds_top], minlength=n_grams)
    second = np.zeros(n_grams, dtype=np.int64)
    np.maximum.at(second, pair_gram[~holds_top], counts[~holds_top])
    second = np.where(n_holding_top >= 2, top, second)

    best_other = np.where(holds_top, second[pair_gram], top[pair_gram])
    clipped = np.minimum(counts, best_other)
    return np.bincount(pair_sent, weights=clipped, minlength=n_sentences)


def _closest_other_length(lengths: np.ndarray) -> np.ndarray:
    """For each sentence, the length among the other sentences closest to its own (ties: shorter)."""
    distinct, inverse, multiplicity = np.unique(lengths, return_inverse=True, return_counts=True)
    below = np.where(inverse > 0, distinct[np.maximum(inverse - 1, 0)], -1)
    above = np.where(inverse < distinct.size - 1, distinct[np.minimum(inverse + 1, distinct.size - 1)], -1)
    dist_below = np.where(below >= 0, lengths - below, np.iinfo(np.int64).max)
    dist_above = np.where(above >= 0, above - lengths, np.iinfo(np.int64).max)
    nearest = np.where(dist_below <= dist_above, below, above)
    return np.where(multiplicity[inverse] >= 2, lengths, nearest)


def self_bleu_matrix(
    tokenized: Sequence[Sequence[str]],
    orders: Sequence[int] = DEFAULT_ORDERS,
    epsilon: float = METHOD1_EPSILON,
) -> np.ndarray:
    """BLEU-n of every sentence against all others, shape (n_sentences, len(orders)).

    Equals ``sentence_bleu(others, sentence, weights=(1/n,)*n,
    smoothing_function=SmoothingFunction(epsilon).method1)`` for each sentence and order.
    """
    n = len(tokenized)
    if n < 2:
        raise DiversityUndefined(f"SelfBLEU needs at least 2 sentences, got {n}")
    orders = tuple(int(o) for o in orders)
    if not orders or min(orders) < 1:
        raise ValueError(f"n-gram orders must be positive integers, got {orders}")
    lengths = np.fromiter((len(s) for s in tokenized), dtype=np.int64, count=n)
    log_precision, unigram_matches = _log_precisions(tokenized, lengths, max(orders), epsilon)
    brevity = _brevity_penalty(lengths)
    scores = np.empty((n, len(orders)))
    for col, order in enumerate(orders):
        weight = 1.0 / order
        scores[:, col] = brevity * np.exp((weight * log_precision[:, :order]).sum(axis=1))
    scores[unigram_matches == 0] = 0.0
    return scores


def _log_precisions(
    tokenized: Sequence[Sequence[str]], lengths: np.ndarray, max_order: int, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence and order k = 1..max_order, the log of its smoothed clipped k-gram precision
    against all other sentences, shape (n_sentences, max_order); and its unigram matches."""
    n = len(tokenized)
    total = int(lengths.sum())
    tokens, _ = _factorize(np.fromiter(chain.from_iterable(tokenized), dtype=object, count=total))
    vocab = int(tokens.max()) + 1 if total else 1
    sent_of_token = np.repeat(np.arange(n, dtype=np.int64), lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    tokens_left = lengths[sent_of_token] - (np.arange(total) - starts[sent_of_token])

    log_precision = np.empty((n, max_order))
    unigram_matches = None
    positions = np.arange(total)
    gram_id = tokens
    for k in range(1, max_order + 1):
        if k > 1:
            keep = tokens_left[positions] >= k
            positions = positions[keep]
            gram_id, _ = _factorize(gram_id[keep] * vocab + tokens[positions + k - 1])
        # An n-gram seen once in the whole set matches nothing, and neither does any longer n-gram
        # starting with it: drop those positions for this order and all higher ones. Most 3- to
        # 5-grams are unique, so the higher orders touch a fraction of the tokens.
        if gram_id.size:
            repeated = np.bincount(gram_id)[gram_id] >= 2
            positions, gram_id = positions[repeated], gram_id[repeated]
        matches = _clipped_matches(sent_of_token[positions], gram_id, n)
        if k == 1:
            unigram_matches = matches
        denominators = np.maximum(1, lengths - k + 1)
        numerators = np.where(matches > 0, matches, epsilon)
        log_precision[:, k - 1] = np.log(numerators / denominators)
    return log_precision, unigram_matches


def _brevity_penalty(lengths: np.ndarray) -> np.ndarray:
    """nltk's brevity penalty against the closest other sentence length: 1 when longer, 0 for
    an empty sentence, exp(1 - r/h) otherwise."""
    ref_len = _closest_other_length(lengths)
    with np.errstate(divide="ignore"):
        return np.where(
            lengths > ref_len,
            1.0,
            np.where(lengths == 0, 0.0, np.exp(1.0 - ref_len / np.maximum(lengths, 1))),
        )


def self_bleu_diversity(
    tokenized: Sequence[Sequence[str]],
    orders: Sequence[int] = DEFAULT_ORDERS,
    epsilon: float = METHOD1_EPSILON,
) -> SelfBleuResult:
    """D_SB = 1 - mean over sentences and orders of SelfBLEU (SPEC, paper appendix G)."""
    scores = self_bleu_matrix(tokenized, orders, epsilon)
    orders = tuple(int(o) for o in orders)
    return SelfBleuResult(
        diversity=float(1.0 - scores.mean()),
        self_bleu_by_order={o: float(scores[:, i].mean()) for i, o in enumerate(orders)},
        n_sentences=len(tokenized),
        orders=orders,
    )
