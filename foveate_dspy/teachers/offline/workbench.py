"""Shared, bounded caches of the offline teacher: embeddings by text, analysed articles by hash.

A run asks about the same article dozens of times (keywords, key sentences, every answer), so
each article is split and stemmed once, and each distinct string is embedded once. Both caches
are LRU-bounded so a long corpus cannot grow them without limit, and lock-protected because the
async engine runs requests in worker threads. One workbench per embedding model is shared by
every engine in the process.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from foveate_dspy.corpus.text import Sentence, content_stems, split_sentences

EMBEDDING_CACHE_SIZE = 50_000
"""Distinct strings kept embedded (384 floats each for MiniLM: about 75 MB when full)."""

ARTICLE_CACHE_SIZE = 256
"""Analysed articles kept; a run revisits one article at a time, so this is ample."""


@dataclass
class ArticleView:
    """One article, analysed once: its sentences and each sentence's content-word stems.

    `memo` holds derived results (ranked keywords, key sentences) computed on first use."""

    text: str
    sentences: list[Sentence]
    stems: list[frozenset[str]]
    memo: dict[str, Any] = field(default_factory=dict)


class _LRU:
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: Any, value: Any) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.maxsize:
            self.items.popitem(last=False)


class Workbench:
    """Embeddings and article analyses for one embedding model, cached."""

    def __init__(
        self,
        embedder: str,
        *,
        encode: Callable[[Sequence[str]], np.ndarray] | None = None,
        embedding_cache_size: int = EMBEDDING_CACHE_SIZE,
    ) -> None:
        self.embedder = embedder
        self._encode = encode
        self._vectors = _LRU(embedding_cache_size)
        self._articles = _LRU(ARTICLE_CACHE_SIZE)
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for `texts`, one row each; only texts not seen before are encoded."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if self._vectors.get(t) is None))
        if missing:
            vectors = self._encoder()(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=False):
                    self._vectors.put(text, vector)
        with self._lock:
            rows = [self._vectors.get(t) for t in texts]
        if any(row is None for row in rows):  # evicted meanwhile by a huge batch: encode directly
            return self._encoder()(list(texts))
        return np.stack(rows) if rows else np.zeros((0, 1), dtype=np.float32)

    def similarity(self, texts: Sequence[str], to: np.ndarray) -> np.ndarray:
        """Cosine similarity of each text to the unit vector `to`."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        return self.embed(texts) @ to

    def view(self, article: str) -> ArticleView:
        """The analysed article (sentences, stems), computed once per distinct text."""
        key = hashlib.sha256(article.encode("utf-8")).hexdigest()
        with self._lock:
            found = self._articles.get(key)
        if found is not None:
            return found
        sentences = split_sentences(article)
        view = ArticleView(article, sentences, [content_stems(s.text) for s in sentences])
        with self._lock:
            self._articles.put(key, view)
        return view

    def article_vector(self, view: ArticleView) -> np.ndarray:
        """The article's embedding: the normalised mean of its sentence embeddings.

        Averaging sentences avoids the encoder's input limit (256 word pieces for MiniLM), which
        would otherwise silently drop the end of longer articles."""
        if "vector" not in view.memo:
            texts = [s.text for s in view.sentences] or [view.text]
            mean = self.embed(texts).mean(axis=0)
            view.memo["vector"] = mean / (np.linalg.norm(mean) or 1.0)
        return view.memo["vector"]

    def _encoder(self) -> Callable[[Sequence[str]], np.ndarray]:
        if self._encode is None:
            from foveate_dspy.method.embedding import get_embedder

            self._encode = get_embedder(self.embedder).encode
        return self._encode


@lru_cache(maxsize=8)
def get_workbench(embedder: str) -> Workbench:
    """The process-wide workbench for an embedding model (name, alias or local path)."""
    return Workbench(embedder)
