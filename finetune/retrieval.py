"""BM25 retrieval over corpus paragraphs: the RAG reference row of `finetune compare`.

Knowledge-injection work measures a tuned model's closed-book score against retrieval: the untuned
model given the top-k BM25 passages for each question. If tuning on synthesised pairs does not beat
that, the corpus is better served by a search index than by fine-tuning. BM25 comes from `bm25s`
(a maintained, fast implementation of Lucene-style BM25), with English stopwords removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneError

DEFAULT_RAG_K = 3


@dataclass(frozen=True)
class Passage:
    id: str
    text: str


def load_passages(path: Path) -> list[Passage]:
    """Paragraphs of a corpus, read as `python -m foveate_dspy.compile` reads one (JSONL with
    content/context/text, CSV, Parquet, a text folder; SQuAD records give their paragraph),
    never chunked: a retrieved passage is a whole paragraph, as the open-book row's."""
    from foveate_dspy.corpus.readers import CorpusError, load_corpus

    try:
        articles = load_corpus(Path(path), None, chunk_tokens=0)
    except CorpusError as err:
        raise FinetuneError(f"--rag-corpus {path}: {err}") from None
    return [Passage(article.id, article.text) for article in articles]


def _normalised(text: str) -> str:
    return " ".join(text.split())


def missing_paragraphs(contexts: Sequence[str | None], passages: Sequence[Passage]) -> int:
    """How many distinct test paragraphs (whitespace-normalised) the corpus does not hold: a
    retriever cannot find the gold paragraph of their questions, which lowers the RAG row."""
    held = {_normalised(p.text) for p in passages}
    wanted = {_normalised(c) for c in contexts if c}
    return len(wanted - held)


class BM25Retriever:
    """Top-k paragraphs for a question by BM25 (bm25s, English stopwords, no stemming)."""

    def __init__(self, passages: Sequence[Passage], k: int = DEFAULT_RAG_K, source: str | None = None) -> None:
        import bm25s

        if not passages:
            raise FinetuneError("the RAG corpus holds no paragraphs")
        if k < 1:
            raise FinetuneError(f"--rag-k must be at least 1, got {k}")
        self.passages = list(passages)
        self.k = min(k, len(self.passages))
        self.source = source
        self._bm25s = bm25s
        self._index = bm25s.BM25()
        self._index.index(bm25s.tokenize([p.text for p in self.passages], stopwords="en", show_progress=False),
                          show_progress=False)

    def search(self, query: str) -> list[Passage]:
        """The k best passages, best first."""
        tokens = self._bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
        if not tokens[0]:  # only stopwords: BM25 has nothing to rank by
            return self.passages[: self.k]
        found, _ = self._index.retrieve(tokens, k=self.k, show_progress=False)
        return [self.passages[int(i)] for i in found[0]]

    def describe(self) -> dict[str, Any]:
        return {"retriever": "bm25s", "corpus": self.source, "paragraphs": len(self.passages), "k": self.k}
