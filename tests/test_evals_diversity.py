"""Diversity of a set: equal-size sampling over seeds, empty strings, undefined cases."""

from __future__ import annotations

import statistics

import pytest
from evals_helpers import fake_embedder

from evals.diversity import measure_diversity, sample_indices
from evals.embedding import embedding_diversity
from evals.selfbleu import self_bleu_diversity
from evals.tokenizers import tokenize_all

QUESTIONS = [
    "What is the capital of France?", "Who wrote the novel Dune?", "When did the Berlin Wall fall?",
    "What is the capital of Spain?", "How does photosynthesis store energy?", "Who painted the Mona Lisa?",
    "Why did the Roman Empire fall?", "What is the largest planet?", "Where is Mount Kilimanjaro?",
    "What is the capital of Italy?", "Who discovered penicillin?", "When was the printing press invented?",
]


def test_whole_set_matches_the_pure_functions():
    result = measure_diversity("m", QUESTIONS, embedder=fake_embedder, embedder_name="fake")
    assert result.n == len(QUESTIONS) and result.seeds is None and result.selfbleu_std is None
    assert result.selfbleu == pytest.approx(self_bleu_diversity(tokenize_all(QUESTIONS)).diversity)
    assert result.embedding == pytest.approx(embedding_diversity(fake_embedder(QUESTIONS)))
    assert set(result.selfbleu_by_order) == {"2", "3", "4", "5"}
    assert len(result.most_similar) == 5 and result.embedder == "fake"


def test_sampling_is_mean_and_std_over_seeds():
    seeds = (3, 4, 5)
    result = measure_diversity("m", QUESTIONS, sample_size=6, seeds=seeds)
    per_seed = [
        self_bleu_diversity(tokenize_all([QUESTIONS[i] for i in sample_indices(len(QUESTIONS), 6, s)])).diversity
        for s in seeds
    ]
    assert result.n == 6 and result.seeds == list(seeds)
    assert result.selfbleu == pytest.approx(statistics.fmean(per_seed))
    assert result.selfbleu_std == pytest.approx(statistics.stdev(per_seed))


def test_sample_of_the_whole_set_has_zero_spread():
    result = measure_diversity("m", QUESTIONS, sample_size=len(QUESTIONS), seeds=(0, 1, 2))
    assert result.selfbleu_std == 0.0


def test_sample_indices_are_reproducible_and_not_file_order():
    assert sample_indices(100, 10, 7) == sample_indices(100, 10, 7)
    assert sample_indices(100, 10, 7) != list(range(10))
    with pytest.raises(ValueError, match="cannot sample 11"):
        sample_indices(10, 11, 0)


def test_empty_strings_are_left_out_and_counted():
    result = measure_diversity("m", QUESTIONS[:4] + ["", "   "])
    assert result.n_empty_skipped == 2 and result.n == 4 and result.n_records == 6
    assert result.selfbleu == pytest.approx(measure_diversity("m", QUESTIONS[:4]).selfbleu)


@pytest.mark.parametrize("texts", [[], ["only one"], ["one", "", " "]])
def test_undefined_for_fewer_than_two_sentences(texts):
    result = measure_diversity("m", texts, embedder=fake_embedder, embedder_name="fake")
    assert result.selfbleu is None and result.embedding is None
    assert "undefined for fewer than 2 non-empty instructions" in result.undefined


def test_sample_larger_than_the_set_is_undefined_not_an_error():
    result = measure_diversity("m", QUESTIONS[:5], sample_size=8)
    assert result.selfbleu is None and "cannot sample 8 from 5" in result.undefined
