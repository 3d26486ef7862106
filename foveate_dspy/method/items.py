"""What the program produces: items with their attempt logs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Feature = str | list[str]


@dataclass
class Attempt:
    """One try at an item: the initial synthesis (number 0) or a re-synthesis (1..R)."""

    number: int
    instruction: str
    output: str
    temperature: float | None
    rejection: str | None = None  # None when this attempt was accepted
    feedback: str | None = None  # what the teacher was told about the previous failure
    demo_ids: list[str] = field(default_factory=list)  # the reference items shown as demos


@dataclass
class Item:
    """One instruction slot of a level: the feature it came from and every attempt at it."""

    id: str
    article_id: str
    level: str
    feature: Feature
    attempts: list[Attempt] = field(default_factory=list)
    # Provenance: [start, end] of each keyword (or of the key sentence) in the article.
    feature_spans: list[list[int]] | None = None

    @property
    def accepted(self) -> Attempt | None:
        last = self.attempts[-1] if self.attempts else None
        return last if last is not None and last.rejection is None else None

    @property
    def resynthesized(self) -> bool:
        return len(self.attempts) > 1

    def to_record(self, teacher: str, method: str) -> dict[str, Any]:
        """The instructions.jsonl line for an accepted item, or the rejected.jsonl line."""
        final = self.accepted
        base: dict[str, Any] = {
            "id": self.id,
            "article_id": self.article_id,
            "level": self.level,
            "feature": self.feature,
            "feature_spans": self.feature_spans,  # None where the method keeps no provenance (baselines)
        }
        if final is not None:
            base.update(instruction=final.instruction, output=final.output)
        base.update(
            attempts=len(self.attempts),
            resynthesized=self.resynthesized,
            teacher=teacher,
            method=method,
        )
        if final is None:
            base["reason"] = self.attempts[-1].rejection if self.attempts else "no attempt was made"
            base["history"] = [asdict(a) for a in self.attempts]
        else:
            base["history"] = [asdict(a) for a in self.attempts[:-1]]
        return base


@dataclass
class LevelFailure:
    """A level that produced no items for an article (e.g. its extraction call failed)."""

    article_id: str
    level: str
    reason: str

    def to_record(self, teacher: str, method: str) -> dict[str, Any]:
        return {
            "id": f"{self.article_id}:{self.level}",
            "article_id": self.article_id,
            "level": self.level,
            "feature": None,
            "attempts": 0,
            "resynthesized": False,
            "teacher": teacher,
            "method": method,
            "reason": self.reason,
            "history": [],
        }
