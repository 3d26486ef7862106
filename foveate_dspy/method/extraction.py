"""Feature extraction under the rules: drop what breaks them, ask again when too few survive,
and count what was dropped and what is still missing.

A keyword that is not in the article (or a key sentence that is not one of its sentences) would
cost an instruction, an answer, a reread and up to five re-syntheses before failing; dropping it
at extraction costs nothing. When fewer than the level needs survive, extraction is asked again
(a fresh sample, not the cached reply), at most `MAX_REASKS` times and only while asking again
still brings new valid features. What the level still lacks is its shortfall, reported per level
in summary.json next to the drops per rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dspy

from foveate_dspy.runtime.calls import LM_CALL_FAILED, CallFailed, call_predictor
from foveate_dspy.method.proposals import LevelFailed
from foveate_dspy.method.rules import rule_name

MAX_REASKS = 2


def dedupe(items: list[str]) -> list[str]:
    """Drop blanks, non-strings and case-insensitive repeats, keeping first occurrences."""
    seen: set[str] = set()
    kept = []
    for item in items:
        text = item.strip() if isinstance(item, str) else ""
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            kept.append(text)
    return kept


@dataclass
class ExtractionLog:
    """One level's extraction for one article: what it needed and what it got."""

    level: str
    slots: int  # the budget n: instructions the level should produce
    wanted: int = 0  # distinct valid features below which extraction is asked again
    kept: int = 0  # distinct features that passed the rules
    dropped: Counter[str] = field(default_factory=Counter)  # features dropped, per rule
    flagged: Counter[str] = field(default_factory=Counter)  # features used but flagged, per flag
    calls: int = 0  # extraction calls made (1 + re-asks)
    filled: int = 0  # slots that got a feature

    @property
    def shortfall(self) -> int:
        return max(0, self.slots - self.filled)


async def extract_valid(
    predictor: dspy.Predict,
    stage: str,
    field_name: str,
    problem: Callable[[str], str | None],
    wanted: int,
    log: ExtractionLog,
    what: str,
    **inputs: Any,
) -> list[str]:
    """Distinct features from `predictor`'s `field_name` output that pass `problem`, re-asking
    while fewer than `wanted` survive. The first call's failure raises LevelFailed (the level has
    nothing); a re-ask that fails on a provider error raises it too, so that the runner retries
    the article rather than saving a shortfall an outage caused; a re-ask whose reply does not
    parse just ends the re-asking."""
    log.wanted = wanted
    kept: list[str] = []
    seen: set[str] = set()
    for round_number in range(MAX_REASKS + 1):
        config = {"rollout_id": round_number} if round_number else None
        try:
            found = await call_predictor(predictor, stage, config=config, **inputs)
        except CallFailed as failure:
            if round_number == 0 or failure.reason.startswith(LM_CALL_FAILED):
                raise LevelFailed(f"{what} extraction: {failure.reason}") from failure
            break
        finally:
            log.calls += 1
        new = 0
        for feature in dedupe(getattr(found, field_name, None) or []):
            if feature.casefold() in seen:
                continue
            seen.add(feature.casefold())
            rejected = problem(feature)
            if rejected is not None:
                log.dropped[rule_name(rejected) or rejected] += 1
                continue
            kept.append(feature)
            new += 1
        if len(kept) >= wanted or (round_number and new == 0):
            break
    log.kept = len(kept)
    return kept


def no_valid(log: ExtractionLog) -> str:
    """The end of a "returned no ..." message: what the rules dropped, if anything."""
    if not log.dropped:
        return ""
    drops = ", ".join(f"{name} {count}" for name, count in log.dropped.most_common())
    return f" that pass the rules (dropped: {drops})"
