"""What the three foveation levels share: proposing instructions and regenerating one of them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dspy

from foveate_dspy.records import Feature

if TYPE_CHECKING:
    from foveate_dspy.extraction import ExtractionLog


@dataclass
class Proposal:
    """A first-pass instruction for one feature; `problem` says why there is none."""

    feature: Feature
    instruction: str = ""
    problem: str | None = None


class LevelFailed(Exception):
    """The level could not even find its features (e.g. extraction failed): no items at all."""


class FoveationLevel(dspy.Module):
    """A level finds features in the article, writes one instruction per feature in one batch
    call, and knows how to regenerate a single feature's instruction (used by re-synthesis)."""

    name: str
    regenerate: dspy.Predict
    # The regenerate signature's input field that carries the feature, e.g. "target_answer".
    feature_field: str

    async def propose(self, article: str, n: int, rng: random.Random, log: ExtractionLog | None = None) -> list[Proposal]:
        """First-pass proposals; `log` (when given) records what extraction kept, dropped and lacked."""
        raise NotImplementedError

    def regenerate_inputs(self, feature: Feature) -> dict[str, Any]:
        return {self.feature_field: feature}

    def demo(self, feature: Feature, instruction: str) -> dspy.Example:
        """A reference item for re-synthesis: the feature and the instruction that worked.

        The article is left out: demos come from the same article the call already carries."""
        return dspy.Example(**{self.feature_field: feature, "question": instruction})


def align(features: list[Feature], questions: list[str] | None, what: str) -> list[Proposal]:
    """Pair a batch call's questions with its features by position, flagging gaps and blanks."""
    questions = list(questions or [])
    proposals = []
    for i, feature in enumerate(features):
        text = questions[i].strip() if i < len(questions) and isinstance(questions[i], str) else ""
        if i >= len(questions):
            problem = f"the teacher returned {len(questions)} questions for {len(features)} {what}"
        elif not text:
            problem = "empty instruction"
        else:
            problem = None
        proposals.append(Proposal(feature=feature, instruction=text, problem=problem))
    return proposals


def failed_batch(features: list[Feature], reason: str) -> list[Proposal]:
    return [Proposal(feature=f, problem=reason) for f in features]
