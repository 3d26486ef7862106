"""The learned half of the refusal classifier: a logistic regression over an answer's MiniLM
embedding and its hashed character n-grams.

The rules of `refusal.py` fit every phrasing they were written for and miss new ones: each new
blind-written batch of refusals had 8-30% of its refusals missed by the rules of its day, many in
words no rule could foresee ("The text leaves us in the dark here."). Refusals in new words still
*mean* the same thing, which is what a sentence embedding captures; MiniLM is an English model,
so the character 2-4-grams (hashed into NGRAM_DIM buckets) carry what it misses in German and
Chinese ("keine Angabe", "未提及"). An answer the rules find no cue in is scored here (in Chinese
or Japanese only when it holds a negation character, see `refusal.py`). The weights live in
`data/refusal_model.json`, trained by `python benchmarks/refusal.py --train` on the labelled set's
tune split only; the decision threshold is chosen there by cross-validation over the set's
writing batches, so it is set on phrasings the fit did not see.

The model also has the last word on a cue the rules found, when it is all but sure the answer is
no refusal (below `veto`): a cue fires on the answer's words, and a genuine answer can carry one
in a shape no contrast rule names ("The answer isn't a single year: construction began in
1420 ..."). Held-out reads showed such answers as most of the genuine answers taken for refusals.

The answer is read after the rules' normalisation and with quoted spans blanked, so what someone
else said ('the song "I Don't Know"') weighs as little here as in the rules.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np

MODEL_FILE = "refusal_model.json"
NGRAM_DIM = 2**14
NGRAM_SIZES = (2, 3, 4)


def char_ngrams(texts: Sequence[str], dim: int = NGRAM_DIM) -> np.ndarray:
    """Counts of each text's character 2-4-grams (with a space at both ends) hashed by CRC-32
    into `dim` buckets, rows scaled to unit length; independent of language and tokeniser."""
    rows = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in zip(rows, texts):
        padded = f" {text} "
        for n in NGRAM_SIZES:
            for i in range(len(padded) - n + 1):
                row[zlib.crc32(padded[i : i + n].encode("utf-8")) % dim] += 1.0
        norm = np.linalg.norm(row)
        if norm:
            row /= norm
    return rows


def features(texts: Sequence[str], embedder: str) -> np.ndarray:
    """The model's input: the embedding (not kept in the embedder's recent-texts cache, which is
    for articles) beside the hashed n-grams."""
    from foveate_dspy.method.embedding import get_embedder

    vectors = get_embedder(embedder).encode(list(texts), remember=False)
    return np.hstack([vectors, char_ngrams(texts)])


@dataclass(frozen=True)
class RefusalModel:
    """Weights (embedding dimensions, then NGRAM_DIM n-gram buckets), bias and thresholds of the
    logistic regression, and the embedder the weights belong to."""

    embedder: str
    weights: tuple[float, ...]
    bias: float
    threshold: float  # an answer without a cue is a refusal from here up
    veto: float  # an answer with a cue the model may overrule (`refusal.model_may_overrule`) is one below this
    l2: float
    trained_on: int  # labelled answers the weights were fitted on

    @cached_property
    def _weights(self) -> np.ndarray:
        return np.asarray(self.weights, dtype=np.float32)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(refusal) for each (already normalised, quote-blanked) text.

        An elementwise product, not a matrix product: BLAS's threads, woken between two torch
        calls, competed with torch's for the cores and tripled the cost of one answer."""
        return _sigmoid((features(texts, self.embedder) * self._weights).sum(axis=1) + self.bias)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":")) + "\n"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@lru_cache(maxsize=1)
def bundled_model() -> RefusalModel:
    """The model shipped in `foveate_dspy/data/` (read once per process)."""
    data = json.loads(resources.files("foveate_dspy").joinpath(f"data/{MODEL_FILE}").read_text(encoding="utf-8"))
    return RefusalModel(**{**data, "weights": tuple(data["weights"])})


def fit_weights(vectors: np.ndarray, labels: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by L-BFGS (the bias is not penalised)."""
    from scipy.optimize import minimize

    design = np.hstack([vectors, np.ones((len(vectors), 1))])

    def loss_and_gradient(w: np.ndarray) -> tuple[float, np.ndarray]:
        p = _sigmoid(design @ w)
        loss = -np.sum(labels * np.log(p + 1e-12) + (1 - labels) * np.log(1 - p + 1e-12)) + l2 * np.sum(w[:-1] ** 2)
        gradient = design.T @ (p - labels)
        gradient[:-1] += 2 * l2 * w[:-1]
        return float(loss), gradient

    solution = minimize(loss_and_gradient, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B").x
    return solution[:-1], float(solution[-1])


def held_out_probabilities(
    vectors: np.ndarray, labels: np.ndarray, groups: Sequence[str], l2: float, train: np.ndarray, score: np.ndarray
) -> np.ndarray:
    """P(refusal) of each `score` row from a fit on the `train` rows of the other groups (leave one
    writing batch out); rows not scored stay 0."""
    groups = np.asarray(groups)
    probabilities = np.zeros(len(labels))
    for group in sorted(set(groups)):
        left_out = groups == group
        weights, bias = fit_weights(vectors[train & ~left_out], labels[train & ~left_out], l2)
        chosen = left_out & score
        probabilities[chosen] = _sigmoid(vectors[chosen] @ weights + bias)
    return probabilities
