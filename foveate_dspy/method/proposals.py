"""What the three foveation levels share: proposing instructions and regenerating one of them."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dspy

from foveate_dspy.method.items import Feature
from foveate_dspy.method.rules import feature_problem

if TYPE_CHECKING:
    from foveate_dspy.method.extraction import ExtractionLog


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
    # Whether extraction applies the rules (`feature_check`); False under the --no-rules ablation.
    rules: bool

    async def propose(self, article: str, n: int, rng: random.Random, log: ExtractionLog | None = None) -> list[Proposal]:
        """First-pass proposals; `log` (when given) records what extraction kept, dropped and lacked."""
        raise NotImplementedError

    def feature_check(self, article: str) -> Callable[[str], str | None]:
        """Why extraction must drop a feature (rules.feature_problem); under --no-rules nothing is
        dropped, so that the ablation measures what the rules take out before any instruction."""
        if not self.rules:
            return lambda feature: None
        return lambda feature: feature_problem(self.name, article, feature)

    def regenerate_inputs(self, feature: Feature) -> dict[str, Any]:
        return {self.feature_field: feature}

    def demo(self, feature: Feature, instruction: str) -> dspy.Example:
        """A reference item for re-synthesis: the feature and the instruction that worked.

        The article is left out: demos come from the same article the call already carries."""
        return dspy.Example(**{self.feature_field: feature, "question": instruction})


ECHO_MATCH = 0.5  # least word overlap (Jaccard) for an echo to name a feature


def _words(value: Feature) -> frozenset[str]:
    text = " ".join(value) if isinstance(value, list) else str(value)
    text = unicodedata.normalize("NFKC", text).casefold()
    return frozenset(re.findall(r"\w+", text))


def echo_similarity(feature: Feature, echo: Feature) -> float:
    """Word-set Jaccard similarity of a feature and what a batch entry copied of it."""
    a, b = _words(feature), _words(echo)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def match_by_echo(
    features: Sequence[Feature], entries: Sequence[Any] | None, echo: Callable[[Any], Feature], what: str
) -> list[Proposal]:
    """Pair a batch call's entries with its features by what each entry copied of its feature
    (the answer, keyword group or key sentence), best matches first.

    Position decides only for an entry that copied nothing, and only for its own slot, so an
    entry the teacher skipped or added cannot shift the labels of every later one. A feature
    that no entry names gets a problem, and so a re-synthesis of its own."""
    entries = [e for e in (entries or []) if e is not None]
    echoes = [echo(e) for e in entries]
    pairs = sorted(
        ((echo_similarity(f, e), -j, -i) for i, f in enumerate(features) for j, e in enumerate(echoes)),
        reverse=True,
    )
    chosen: dict[int, int] = {}
    used: set[int] = set()
    for score, neg_j, neg_i in pairs:
        i, j = -neg_i, -neg_j
        if score < ECHO_MATCH:
            break
        if i not in chosen and j not in used:
            chosen[i] = j
            used.add(j)
    for j, value in enumerate(echoes):
        if j not in used and not _words(value) and j < len(features) and j not in chosen:
            chosen[j] = j
            used.add(j)
    missing = f"the teacher wrote no question for this {what} ({len(entries)} entries for {len(features)} {what}s)"
    return [
        _proposal(feature, str(getattr(entries[chosen[i]], "question", "") or "") if i in chosen else None, missing)
        for i, feature in enumerate(features)
    ]


def _proposal(feature: Feature, question: str | None, missing: str) -> Proposal:
    """The proposal for a feature given its question (None: the teacher wrote none for it)."""
    text = (question or "").strip()
    problem = missing if question is None else None if text else "empty instruction"
    return Proposal(feature=feature, instruction=text, problem=problem)


def align(features: list[Feature], questions: list[str] | None, what: str) -> list[Proposal]:
    """Pair a batch call's questions with its slots by position, flagging gaps and blanks (for
    outputs that have nothing to echo, such as Self-QA's free questions)."""
    questions = list(questions or [])
    missing = f"the teacher returned {len(questions)} questions for {len(features)} {what}"
    return [
        _proposal(feature, (q if isinstance(q := questions[i], str) else "") if i < len(questions) else None, missing)
        for i, feature in enumerate(features)
    ]


def failed_batch(features: list[Feature], reason: str) -> list[Proposal]:
    return [Proposal(feature=f, problem=reason) for f in features]
