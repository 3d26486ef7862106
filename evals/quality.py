"""Answer quality (paper appendix J, Table 7): fluency and completeness, each high/medium/low.

Every (instruction, output) pair is rated on its own; the summary gives counts and shares per
level over the valid ratings, with invalid replies counted apart by reason.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from evals.judges import DEFAULT_THREADS, JudgeReply, run_concurrently
from evals.inputs import InstructionSet, require_field

LEVELS = ("high", "medium", "low")
CRITERIA = ("fluency", "completeness")


class QualityJudge(Protocol):
    label: str

    def rate(self, question: str, answer: str) -> JudgeReply: ...


@dataclass
class QualitySummary:
    method: str
    judge: str
    n_records: int
    n_rated: int
    n_invalid: int
    invalid_by_reason: dict[str, int]
    counts: dict[str, dict[str, int]]
    shares: dict[str, dict[str, float | None]]
    sample_size: int | None
    ratings: list[dict[str, Any]]

    def to_dict(self, with_ratings: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not with_ratings:
            data.pop("ratings")
        return data


def rate_answers(
    instruction_set: InstructionSet,
    judge: QualityJudge,
    *,
    sample_size: int | None = None,
    seed: int = 0,
    threads: int = DEFAULT_THREADS,
    progress: bool = True,
) -> QualitySummary:
    """Rate the set's answers (all, or a seeded sample of ``sample_size`` records)."""
    require_field(instruction_set, "output", "answer quality rates each instruction's output")
    records = [r for r in instruction_set.records if r.instruction.strip()]
    if sample_size is not None and sample_size < len(records):
        records = random.Random(seed).sample(records, sample_size)
    replies = run_concurrently(
        lambda r: judge.rate(r.instruction, r.output), records, threads=threads,
        description=f"quality {instruction_set.name}", progress=progress,
    )
    counts = {criterion: Counter({level: 0 for level in LEVELS}) for criterion in CRITERIA}
    reasons: Counter[str] = Counter()
    ratings = []
    for record, reply in zip(records, replies):
        if reply.valid:
            for criterion in CRITERIA:
                counts[criterion][reply.values[criterion]] += 1
        else:
            reasons[reply.invalid] += 1
        ratings.append(
            {
                "id": record.id,
                "where": record.where,
                "level": record.level,
                "fluency": reply.values["fluency"] if reply.valid else None,
                "completeness": reply.values["completeness"] if reply.valid else None,
                "invalid": None if reply.valid else f"{reply.invalid}: {reply.detail}",
            }
        )
    valid = len(records) - sum(reasons.values())
    return QualitySummary(
        method=instruction_set.name,
        judge=judge.label,
        n_records=len(instruction_set.records),
        n_rated=valid,
        n_invalid=sum(reasons.values()),
        invalid_by_reason=dict(reasons),
        counts={c: dict(counts[c]) for c in CRITERIA},
        shares={c: {level: (counts[c][level] / valid if valid else None) for level in LEVELS} for c in CRITERIA},
        sample_size=sample_size,
        ratings=ratings,
    )
