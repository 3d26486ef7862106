"""Diversity of one instruction set: SelfBLEU and embedding diversity, whole or at a fixed size.

SelfBLEU diversity falls as the set grows (about 0.04 per doubling on SQuAD questions), so a
score means little without its n, and two sets compare only at equal size. ``sample_size`` draws
that many instructions per seed (``random.Random(seed).sample``) and reports mean +- sample
standard deviation over the seeds; every result carries n, the tokenizer and the embedder.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from evals.embedding import Embedder, embedding_diversity, most_similar_pairs
from evals.selfbleu import DEFAULT_ORDERS, self_bleu_diversity
from evals.tokenizers import DEFAULT_TOKENIZER, tokenize_all


@dataclass
class DiversityResult:
    """Diversity of one method. ``undefined`` says why a score is missing (too few sentences)."""

    method: str
    n_records: int
    n_empty_skipped: int
    n: int
    tokenizer: str
    orders: list[int]
    seeds: list[int] | None = None
    selfbleu: float | None = None
    selfbleu_std: float | None = None
    selfbleu_by_order: dict[str, float] = field(default_factory=dict)
    embedder: str | None = None
    embedding: float | None = None
    embedding_std: float | None = None
    most_similar: list[dict[str, Any]] = field(default_factory=list)
    undefined: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_indices(population: int, size: int, seed: int) -> list[int]:
    """A reproducible sample of ``size`` positions out of ``population``."""
    if size > population:
        raise ValueError(f"cannot sample {size} instructions from a set of {population}")
    return random.Random(seed).sample(range(population), size)


def _mean_std(values: Sequence[float], sampled: bool) -> tuple[float, float | None]:
    """Mean and sample std over seeds; std is None for a single unsampled score."""
    mean = statistics.fmean(values)
    if len(values) > 1:
        return mean, statistics.stdev(values)
    return mean, (0.0 if sampled else None)


def measure_diversity(
    method: str,
    texts: Sequence[str],
    *,
    n_records: int | None = None,
    tokenizer: str = DEFAULT_TOKENIZER,
    orders: Sequence[int] = DEFAULT_ORDERS,
    embedder: Embedder | None = None,
    embedder_name: str | None = None,
    sample_size: int | None = None,
    seeds: Sequence[int] = (0,),
    top_pairs: int = 5,
) -> DiversityResult:
    """Diversity of ``texts`` (empty strings are left out and counted).

    Without ``sample_size`` the whole set is scored once; with it, each seed scores its own
    sample and the result is the mean (std) over seeds. Embeddings are computed once for the
    whole set and subset per seed, so sampling costs no extra model calls.
    """
    kept = [t for t in texts if t.strip()]
    result = DiversityResult(
        method=method,
        n_records=len(texts) if n_records is None else n_records,
        n_empty_skipped=len(texts) - len(kept),
        n=len(kept) if sample_size is None else sample_size,
        tokenizer=tokenizer,
        orders=list(orders),
        seeds=list(seeds) if sample_size is not None else None,
        embedder=embedder_name if embedder is not None else None,
    )
    if result.n < 2 or len(kept) < 2:
        result.undefined = f"diversity is undefined for fewer than 2 non-empty instructions (got {len(kept)})"
        return result
    if sample_size is not None and sample_size > len(kept):
        result.undefined = f"cannot sample {sample_size} from {len(kept)} non-empty instructions"
        return result

    if sample_size is None or sample_size == len(kept):  # every seed would draw the whole set
        subsets = [list(range(len(kept)))]
    else:
        subsets = [sample_indices(len(kept), sample_size, s) for s in seeds]
    tokenized = tokenize_all(kept, tokenizer)
    selfbleu_runs = [self_bleu_diversity([tokenized[i] for i in subset], orders) for subset in subsets]
    result.selfbleu, result.selfbleu_std = _mean_std([r.diversity for r in selfbleu_runs], sample_size is not None)
    result.selfbleu_by_order = {
        str(order): statistics.fmean(r.self_bleu_by_order[order] for r in selfbleu_runs) for order in orders
    }

    if embedder is not None:
        _score_embeddings(result, kept, subsets, embedder, sample_size is not None, top_pairs)
    return result


def _score_embeddings(
    result: DiversityResult, kept: list[str], subsets: list[list[int]], embedder: Embedder, sampled: bool, top_pairs: int
) -> None:
    """Embedding diversity per subset into `result`, and the whole set's most similar pairs; the
    set is embedded once, each subset indexes into it."""
    vectors = np.asarray(embedder(kept))
    runs = [embedding_diversity(vectors[subset]) for subset in subsets]
    result.embedding, result.embedding_std = _mean_std(runs, sampled)
    result.most_similar = [
        {"cosine": round(p.cosine, 6), "a": kept[p.i], "b": kept[p.j]}
        for p in most_similar_pairs(vectors, top_pairs)
    ]

