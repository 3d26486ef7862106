"""Difficulty head-to-head (paper §4.3, appendix H): which method's instructions are harder?

For every article both methods wrote about, draw the same number of instructions from each
(a seeded random sample, not the first k in file order, which would favour whichever level a
method writes first), strip everything but the instruction text, and ask the judge twice, with
the sets in both orders. A pair is a win or a loss only when both orders agree; when they
disagree the judge followed the position, not the content, and the pair is a tie. The share of
such pairs is the position-bias rate. Invalid replies are counted apart, never as a loss.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from evals.judges import DEFAULT_THREADS, JudgeReply, run_concurrently
from evals.inputs import InstructionSet, require_field
from evals.stats import CI_METHOD, wilson_interval


class DifficultyJudge(Protocol):
    label: str

    def compare(self, content: str, first: Sequence[str], second: Sequence[str]) -> JudgeReply: ...


@dataclass(frozen=True)
class Matchup:
    """One article's anonymised sets: A is the method under test, B the one it is compared with."""

    article_id: str
    content: str
    set_a: tuple[str, ...]
    set_b: tuple[str, ...]


@dataclass
class MatchupPlan:
    matchups: list[Matchup]
    shared_articles: int
    missing_text: list[str] = field(default_factory=list)


@dataclass
class HeadToHead:
    """Win / tie / lose of ``method_a`` against ``method_b`` with 95% intervals.

    Rates are over judged pairs (``invalid`` pairs, where at least one of the two replies was
    unusable, are left out and counted; ``invalid_replies_by_reason`` counts single replies).
    ``position_bias_rate`` is the share of judged pairs whose two orders disagreed, which is
    also the tie rate; ``first_position_rate`` is how often a valid reply chose the set shown
    first (0.5 for an unbiased judge). ``decisive_win_rate`` = wins / (wins + losses), the
    paper's Table 5 figure, which has no ties.
    """

    method_a: str
    method_b: str
    judge: str
    ci_method: str
    shared_articles: int
    compared: int
    articles_missing_text: int
    instructions_per_side: int
    wins: int
    ties: int
    losses: int
    invalid: int
    invalid_replies_by_reason: dict[str, int]
    win_rate: float | None
    tie_rate: float | None
    lose_rate: float | None
    win_ci: list[float] | None
    tie_ci: list[float] | None
    lose_ci: list[float] | None
    decisive_win_rate: float | None
    decisive_win_ci: list[float] | None
    position_bias_rate: float | None
    first_position_rate: float | None
    pairs: list[dict[str, Any]]

    def to_dict(self, with_pairs: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not with_pairs:
            data.pop("pairs")
        return data


def _group_by_article(instruction_set: InstructionSet) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = defaultdict(list)
    for record in instruction_set.records:
        if record.instruction.strip():
            groups[record.article_id].append(record)
    return groups


def plan_matchups(
    a: InstructionSet,
    b: InstructionSet,
    corpus: dict[str, str] | None = None,
    *,
    per_article: int | None = None,
    max_articles: int | None = None,
    seed: int = 0,
) -> MatchupPlan:
    """Equal-size, seeded samples of both methods' instructions for every shared article.

    Article text comes from a record's own ``context``/``article`` field, else from ``corpus``
    by ``article_id``; shared articles with neither are listed in ``missing_text``.
    """
    for instruction_set in (a, b):
        require_field(instruction_set, "article_id", "the difficulty head-to-head pairs instructions by article")
    groups_a, groups_b = _group_by_article(a), _group_by_article(b)
    shared = sorted(set(groups_a) & set(groups_b))
    chosen = shared
    if max_articles is not None and len(shared) > max_articles:
        chosen = sorted(random.Random(seed).sample(shared, max_articles))
    plan = MatchupPlan(matchups=[], shared_articles=len(shared))
    for article_id in chosen:
        records_a, records_b = groups_a[article_id], groups_b[article_id]
        content = next((r.article for r in records_a + records_b if r.article), None)
        if content is None and corpus is not None:
            content = corpus.get(article_id)
        if content is None:
            plan.missing_text.append(article_id)
            continue
        size = min(len(records_a), len(records_b), per_article or len(records_a))
        rng = random.Random(f"{seed}:{article_id}")
        plan.matchups.append(
            Matchup(
                article_id=article_id,
                content=content,
                set_a=tuple(r.instruction for r in rng.sample(records_a, size)),
                set_b=tuple(r.instruction for r in rng.sample(records_b, size)),
            )
        )
    return plan


def _outcome(a_first: JudgeReply, b_first: JudgeReply) -> str:
    if not (a_first.valid and b_first.valid):
        return "invalid"
    a_harder_when_first = a_first.values["harder"] == "1"
    a_harder_when_second = b_first.values["harder"] == "2"
    if a_harder_when_first and a_harder_when_second:
        return "win"
    if not a_harder_when_first and not a_harder_when_second:
        return "lose"
    return "tie"


def _rate(count: int, total: int) -> tuple[float | None, list[float] | None]:
    if total == 0:
        return None, None
    interval = wilson_interval(count, total)
    return count / total, list(interval) if interval else None


@dataclass
class _Tally:
    """The judged pairs so far: outcomes, invalid replies by reason, first-position picks among
    valid replies, and each pair's record for report.json."""

    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    first_picks: int = 0
    valid_replies: int = 0
    pairs: list[dict[str, Any]] = field(default_factory=list)

    def add(self, matchup: Matchup, a_first: JudgeReply, b_first: JudgeReply) -> None:
        outcome = _outcome(a_first, b_first)
        self.outcomes[outcome] += 1
        for reply in (a_first, b_first):
            if reply.valid:
                self.valid_replies += 1
                self.first_picks += reply.values["harder"] == "1"
            else:
                self.reasons[reply.invalid] += 1
        self.pairs.append(
            {
                "article_id": matchup.article_id,
                "outcome": outcome,
                "a_first": a_first.values["harder"] if a_first.valid else None,
                "b_first": b_first.values["harder"] if b_first.valid else None,
                "invalid": [f"{r.invalid}: {r.detail}" for r in (a_first, b_first) if not r.valid],
                "n_per_side": len(matchup.set_a),
            }
        )


def run_head_to_head(
    method_a: str,
    method_b: str,
    plan: MatchupPlan,
    judge: DifficultyJudge,
    *,
    threads: int = DEFAULT_THREADS,
    progress: bool = True,
) -> HeadToHead:
    """Judge every matchup in both orders (concurrently) and summarise."""
    calls = [(m.content, m.set_a, m.set_b) for m in plan.matchups] + [
        (m.content, m.set_b, m.set_a) for m in plan.matchups
    ]
    replies = run_concurrently(
        lambda call: judge.compare(*call), calls, threads=threads,
        description=f"difficulty {method_a} vs {method_b}", progress=progress,
    )
    count = len(plan.matchups)
    tally = _Tally()
    for matchup, a_first, b_first in zip(plan.matchups, replies[:count], replies[count:]):
        tally.add(matchup, a_first, b_first)
    outcomes = tally.outcomes
    judged = outcomes["win"] + outcomes["tie"] + outcomes["lose"]
    decisive = outcomes["win"] + outcomes["lose"]
    win_rate, win_ci = _rate(outcomes["win"], judged)
    tie_rate, tie_ci = _rate(outcomes["tie"], judged)
    lose_rate, lose_ci = _rate(outcomes["lose"], judged)
    decisive_rate, decisive_ci = _rate(outcomes["win"], decisive)
    return HeadToHead(
        method_a=method_a,
        method_b=method_b,
        judge=judge.label,
        ci_method=CI_METHOD,
        shared_articles=plan.shared_articles,
        compared=count,
        articles_missing_text=len(plan.missing_text),
        instructions_per_side=sum(len(m.set_a) for m in plan.matchups),
        wins=outcomes["win"],
        ties=outcomes["tie"],
        losses=outcomes["lose"],
        invalid=outcomes["invalid"],
        invalid_replies_by_reason=dict(tally.reasons),
        win_rate=win_rate,
        tie_rate=tie_rate,
        lose_rate=lose_rate,
        win_ci=win_ci,
        tie_ci=tie_ci,
        lose_ci=lose_ci,
        decisive_win_rate=decisive_rate,
        decisive_win_ci=decisive_ci,
        position_bias_rate=tie_rate,
        first_position_rate=tally.first_picks / tally.valid_replies if tally.valid_replies else None,
        pairs=tally.pairs,
    )
