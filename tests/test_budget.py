"""Algorithm 1 (budgets) and Algorithm 2 (scatter groups)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats

from foveate_dspy.method.budget import normalise_counts, relevant_word_counts, unique_words
from foveate_dspy.method.grouping import build_groups, group_sizes, keywords_needed

# floor(n/2.5), floor(n/2.25), rest — computed by hand for n = 1..12.
EXPECTED_SIZES = {
    1: (0, 0, 1), 2: (0, 0, 2), 3: (1, 1, 1), 4: (1, 1, 2), 5: (2, 2, 1), 6: (2, 2, 2),
    7: (2, 3, 2), 8: (3, 3, 2), 9: (3, 4, 2), 10: (4, 4, 2), 11: (4, 4, 3), 12: (4, 5, 3),
}


@pytest.mark.parametrize("n", sorted(EXPECTED_SIZES))
def test_group_sizes_table(n: int) -> None:
    sizes = group_sizes(n)
    assert sizes == EXPECTED_SIZES[n]
    assert sum(sizes) == n
    assert keywords_needed(sizes) == sizes[0] + 2 * sizes[1] + 3 * sizes[2]


def test_groups_have_requested_sizes_and_no_repeats_inside_a_group() -> None:
    keywords = [f"k{i}" for i in range(15)]
    groups = build_groups(keywords, ["k0"], ["k1", "k2"], group_sizes(8), random.Random(3))
    assert [len(g) for g in groups] == [1] * 3 + [2] * 3 + [3] * 2
    for group in groups:
        assert len({g.casefold() for g in group}) == len(group)
        assert set(group) <= set(keywords)


def test_groups_survive_a_teacher_returning_too_few_keywords() -> None:
    groups = build_groups(["a", "b"], [], [], (1, 1, 2), random.Random(0))
    assert [len(g) for g in groups] == [1, 2, 2, 2]  # triples shrink to the 2 distinct keywords
    assert build_groups([], [], [], (1, 1, 1), random.Random(0)) == []


def test_groups_are_seeded() -> None:
    args = ([f"k{i}" for i in range(9)], ["k1"], ["k2"], group_sizes(5))
    assert build_groups(*args, random.Random(7)) == build_groups(*args, random.Random(7))


def test_normalise_matches_the_formula() -> None:
    counts = [12, 30, 45, 60, 95, 140, 33]
    transformed, _ = stats.boxcox(np.asarray(counts, dtype=float))
    z = (transformed - transformed.mean()) / transformed.std()
    expected = [max(1, math.floor(8.0 + 2.0 * zi + 0.5)) for zi in z]
    assert normalise_counts(counts, target_mean=8.0, alpha=2.0) == expected
    assert np.mean(normalise_counts(counts)) == pytest.approx(8.0, abs=0.5)


@pytest.mark.parametrize(
    "counts",
    [[17], [5, 5, 5], [0, 0], [], [0]],
    ids=["one-article", "constant", "constant-zero", "empty", "single-zero"],
)
def test_degenerate_corpora_get_the_mean(counts: list[int]) -> None:
    assert normalise_counts(counts) == [8] * len(counts)


def test_non_positive_counts_are_shifted_and_budgets_clamped() -> None:
    budgets = normalise_counts([0, 0, 0, 1, 400], target_mean=1.0, alpha=3.0)
    assert min(budgets) >= 1
    assert budgets[-1] > budgets[0]


def test_unique_words_are_lowercased_letters_first() -> None:
    assert unique_words("The cat, the CAT and 42 dogs' toys") == ["and", "cat", "dogs'", "the", "toys"]


class CountingEmbedder:
    """Deterministic fake embedder that records what it was asked to embed."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def encode(self, texts, remember: bool = True):
        self.batches.append(list(texts))
        rows = []
        for text in texts:
            rows.append([1.0, 0.0] if "alpha" in text else [0.0, 1.0])
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), 2)


def test_each_distinct_word_is_embedded_once_per_corpus() -> None:
    embedder = CountingEmbedder()
    counts = relevant_word_counts(["alpha beta gamma", "beta gamma delta", "gamma gamma"], embedder, 0.16)
    words = embedder.batches[0]
    assert sorted(words) == ["alpha", "beta", "delta", "gamma"]  # shared words once
    assert len(embedder.batches) == 2  # one batch of words, one of articles
    # article 1 is "alpha"-like: only the word alpha is close; the others match every non-alpha word
    assert counts == [1, 3, 1]
