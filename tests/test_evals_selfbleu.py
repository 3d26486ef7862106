"""SelfBLEU: equality with nltk, the linear algorithm's internals, the reference numbers."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from evals.selfbleu import DiversityUndefined, _closest_other_length, _factorize, self_bleu_diversity, self_bleu_matrix
from evals.tokenizers import get_tokenizer, tokenize_all

ALL_ORDERS = (1, 2, 3, 4, 5)


def nltk_self_bleu(sentences, orders):
    smoothing = SmoothingFunction(epsilon=0.1).method1
    rows = []
    for i, hypothesis in enumerate(sentences):
        references = sentences[:i] + sentences[i + 1 :]
        rows.append([sentence_bleu(references, hypothesis, (1.0 / n,) * n, smoothing) for n in orders])
    return np.array(rows)


def random_sets(count: int, seed: int):
    """Small vocabularies force repeated n-grams, ties in counts and lengths, empty and short
    sentences: the cases where a clipping or brevity shortcut would go wrong."""
    rng = random.Random(seed)
    for _ in range(count):
        vocab = [f"w{i}" for i in range(rng.randint(1, 6))]
        n = rng.randint(2, 10)
        lengths = [rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 9, 14]) for _ in range(n)]
        sentences = [[rng.choice(vocab) for _ in range(length)] for length in lengths]
        if rng.random() < 0.3:  # exact duplicates
            sentences.append(list(rng.choice(sentences)))
        yield sentences


def test_equals_nltk_sentence_bleu_on_random_sets():
    worst = 0.0
    for sentences in random_sets(250, seed=1):
        ours = self_bleu_matrix(sentences, ALL_ORDERS)
        expected = nltk_self_bleu(sentences, ALL_ORDERS)
        worst = max(worst, float(np.abs(ours - expected).max()))
    assert worst < 1e-9


def test_equals_nltk_on_real_questions(shared_data):
    rows = [json.loads(line) for line in (shared_data / "squad11_dev_small100.jsonl").open(encoding="utf-8")]
    questions = [q["question"] for row in rows for q in row["questions"]][:60]
    tokenized = tokenize_all(questions)
    np.testing.assert_allclose(self_bleu_matrix(tokenized), nltk_self_bleu(tokenized, (2, 3, 4, 5)), atol=1e-9, rtol=0)


def test_nltk_edge_cases_are_reproduced():
    # no unigram match at all -> 0 whatever the smoothing; shorter than n -> epsilon precision
    sentences = [["a", "b"], ["c"], ["a"], []]
    ours = self_bleu_matrix(sentences, (2, 5))
    assert ours[1].tolist() == [0.0, 0.0]  # "c" matches nothing
    assert ours[3].tolist() == [0.0, 0.0]  # the empty sentence
    np.testing.assert_allclose(ours, nltk_self_bleu(sentences, (2, 5)), atol=1e-12)


def test_identical_sentences_have_zero_diversity():
    result = self_bleu_diversity([["the", "same", "question", "here", "again", "?"]] * 4)
    assert result.diversity == pytest.approx(0.0, abs=1e-12)
    assert result.n_sentences == 4 and result.orders == (2, 3, 4, 5)


def test_diversity_is_one_minus_mean_over_orders_and_sentences():
    sentences = [s.split() for s in ("what is the capital of france", "what is the capital of spain",
                                     "who wrote the book", "when did the war end")]
    result = self_bleu_diversity(sentences)
    assert result.diversity == pytest.approx(1 - nltk_self_bleu(sentences, (2, 3, 4, 5)).mean(), abs=1e-12)
    assert set(result.self_bleu_by_order) == {2, 3, 4, 5}


@pytest.mark.parametrize("sentences", [[], [["one", "sentence"]]])
def test_fewer_than_two_sentences_is_undefined(sentences):
    with pytest.raises(DiversityUndefined, match="at least 2 sentences"):
        self_bleu_diversity(sentences)


def test_closest_other_length_excludes_itself_and_prefers_shorter():
    lengths = np.array([3, 5, 7, 5, 9])
    # 3 -> 5; 5 -> 5 (the other 5); 7 -> 5 (5 and 9 tie at 2, shorter wins); 9 -> 7
    assert _closest_other_length(lengths).tolist() == [5, 5, 5, 5, 7]


def test_partitioned_factorize_groups_like_a_plain_hash():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 40_000, size=300_000)  # large enough for the partitioned path
    codes, uniques = _factorize(values)
    assert uniques.size == np.unique(values).size
    assert np.array_equal(uniques[codes], values)


def test_treebank_tokenizer_matches_word_tokenize_preserve_line():
    from nltk.tokenize import word_tokenize

    text = "Who said \"don't panic\" in 1978, and why?  It's Douglas Adams' (the author's) line."
    assert get_tokenizer("treebank")(text) == word_tokenize(text, preserve_line=True)
    assert "Who" in get_tokenizer("treebank")(text)  # no lowercasing


def test_13a_tokenizer_option():
    pytest.importorskip("sacrebleu")
    assert get_tokenizer("13a")("Hello, world.") == ["Hello", ",", "world", "."]
    with pytest.raises(ValueError, match="unknown tokenizer"):
        get_tokenizer("spacy")


def test_reference_numbers_on_squad_dev(shared_data):
    """The data README's figures: one crowd question per paragraph 0.706, all questions 0.538."""
    rows = [json.loads(line) for line in (shared_data / "squad11_dev_2067.jsonl").open(encoding="utf-8")]
    rng = random.Random(0)
    one_per_paragraph = [rng.choice(row["questions"])["question"] for row in rows]
    every_question = [q["question"] for row in rows for q in row["questions"]]
    assert len(one_per_paragraph) == 2067 and len(every_question) == 10570
    assert self_bleu_diversity(tokenize_all(one_per_paragraph)).diversity == pytest.approx(0.706, abs=0.001)
    assert self_bleu_diversity(tokenize_all(every_question)).diversity == pytest.approx(0.538, abs=0.001)
