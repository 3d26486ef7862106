"""The learned half of the refusal classifier: a logistic regression over MiniLM embeddings.

The rules of `refusal.py` fit every phrasing they were written for and miss new ones: each new
hand-written batch of refusals had 8-30% of its refusals missed before rules were added for it.
Refusals in new words still *mean* the same thing, which is what a sentence embedding captures,
so an answer the rules have no cue for, but which carries a word of negation or absence (the gate
in `refusal.py`), is scored here. The weights are 385 numbers in `data/refusal_model.json`,
trained by `python benchmarks/refusal.py --train` on the labelled set's tune split only; the
decision threshold is chosen there by cross-validation over the set's writing batches, so it is
set on phrasings the fit did not see.

The answer is embedded after the rules' normalisation and with quoted spans blanked, so what
someone else said ('the song "I Don't Know"') weighs as little here as in the rules.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

MODEL_FILE = "refusal_model.json"


@dataclass(frozen=True)
class RefusalModel:
    """Weights, bias and threshold of the logistic regression, and the embedder they belong to."""

    embedder: str
    weights: tuple[float, ...]
    bias: float
    threshold: float
    l2: float
    trained_on: int  # labelled answers the weights were fitted on

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(refusal) for each (already normalised, quote-blanked) text."""
        from foveate_dspy.method.embedding import get_embedder

        vectors = get_embedder(self.embedder).encode(list(texts))
        return _sigmoid(vectors @ np.asarray(self.weights) + self.bias)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"


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


def held_out_probabilities(vectors: np.ndarray, labels: np.ndarray, groups: Sequence[str], l2: float) -> np.ndarray:
    """Each answer's P(refusal) from a fit on the other groups (leave one writing batch out)."""
    groups = np.asarray(groups)
    probabilities = np.zeros(len(labels))
    for group in sorted(set(groups)):
        left_out = groups == group
        weights, bias = fit_weights(vectors[~left_out], labels[~left_out], l2)
        probabilities[left_out] = _sigmoid(vectors[left_out] @ weights + bias)
    return probabilities
