"""Embedding diversity: O(n·d) formula vs the all-pairs definition, blocked pair search."""

from __future__ import annotations

import numpy as np
import pytest

from evals import embedding
from evals.embedding import embedding_diversity, most_similar_pairs
from evals.selfbleu import DiversityUndefined


def brute_force(vectors):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    i, j = np.triu_indices(len(vectors), 1)
    return 1 - sims[i, j].mean(), sorted(zip(-sims[i, j], i, j))


@pytest.mark.parametrize("n", [2, 3, 17, 250])
def test_matches_mean_pairwise_cosine(n):
    vectors = np.random.default_rng(n).normal(size=(n, 12)) * np.random.default_rng(0).uniform(0.1, 5, size=(n, 1))
    expected, _ = brute_force(vectors)
    assert embedding_diversity(vectors) == pytest.approx(expected, abs=1e-12)


def test_chunked_sum_covers_every_row(monkeypatch):
    monkeypatch.setattr(embedding, "_CHUNK_ROWS", 7)
    vectors = np.random.default_rng(1).normal(size=(50, 5))
    assert embedding_diversity(vectors) == pytest.approx(brute_force(vectors)[0], abs=1e-12)


def test_most_similar_pairs_across_many_blocks(monkeypatch):
    monkeypatch.setattr(embedding, "_BLOCK_ENTRIES", 64)  # 1-row blocks: every block boundary is crossed
    vectors = np.random.default_rng(2).normal(size=(40, 6))
    vectors[31] = vectors[4] * 2.0  # an exact duplicate direction, found across blocks
    _, ranked = brute_force(vectors)
    pairs = most_similar_pairs(vectors, 5)
    assert (pairs[0].i, pairs[0].j) == (4, 31) and pairs[0].cosine == pytest.approx(1.0, abs=1e-6)
    assert [(p.i, p.j) for p in pairs] == [(int(i), int(j)) for _, i, j in ranked[:5]]
    assert all(p.i < p.j for p in pairs)


def test_pairs_for_tiny_sets():
    assert most_similar_pairs(np.ones((1, 3)), 5) == []
    pairs = most_similar_pairs(np.eye(3), 10)  # only 3 pairs exist
    assert len(pairs) == 3


def test_undefined_and_invalid_inputs():
    with pytest.raises(DiversityUndefined):
        embedding_diversity(np.ones((1, 4)))
    with pytest.raises(ValueError, match="vector 2 has zero norm"):
        embedding_diversity(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))


def test_default_offline_embedder_loads_and_embeds():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    embed = embedding.load_embedder("minilm")
    vectors = embed(["Who wrote Hamlet?", "Who is the author of Hamlet?", "What is the boiling point of water?"])
    assert vectors.shape == (3, 384)
    pairs = most_similar_pairs(vectors, 1)
    assert (pairs[0].i, pairs[0].j) == (0, 1)  # the paraphrases are the closest pair
    assert 0.0 < embedding_diversity(vectors) < 1.0


def test_unknown_embedder_says_to_pass_a_local_path(tmp_path):
    with pytest.raises(RuntimeError, match="local model directory"):
        embedding.load_embedder(str(tmp_path / "no-such-model"))


def test_mpnet_names_the_papers_model_for_evals_as_for_compile(monkeypatch):
    loaded = []

    class Recorder:
        def __init__(self, location):
            loaded.append(location)

    monkeypatch.setattr("sentence_transformers.SentenceTransformer", Recorder)
    embedding.load_embedder("mpnet")
    assert loaded == ["sentence-transformers/paraphrase-multilingual-mpnet-base-v2"]
    assert embedding.embedder_label("mpnet") == loaded[0]
