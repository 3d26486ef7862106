"""Re-synthesis with backtracking (paper §3.4, appendix B.4, Algorithm 3).

Each failed item is retried on its own, up to `max_retries` times, in high-creativity mode, with a
fresh random subset of the article's successful items (same level) as few-shot references and the
reason the previous try failed as feedback. dspy.Refine/BestOfN cannot vary demos and pin the
temperature, so this module drives the level's own `regenerate` predictor with per-call `demos=`
and `config=`: the predictor stays an ordinary, optimisable dspy.Predict.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from contextvars import ContextVar

import dspy

from foveate_dspy.method.answering import AnswerInstruction
from foveate_dspy.runtime.calls import CallFailed, call_predictor
from foveate_dspy.corpus.language import output_language
from foveate_dspy.method.proposals import FoveationLevel
from foveate_dspy.method.items import Attempt, Item
from foveate_dspy.method.rules import ItemCheck
from foveate_dspy.teachers.sampling import creative_config

MAX_RETRIES = 5
DEMO_COUNT = 3

# A separate LM for creative calls (--creative-teacher); None means the current teacher.
CREATIVE_LM: ContextVar[dspy.LM | None] = ContextVar("foveate_creative_lm", default=None)


def feedback_for(previous: Attempt) -> str:
    """Tell the teacher what went wrong last time, in words it can act on."""
    if previous.instruction:
        return f'The previous instruction was "{previous.instruction}". It was rejected: {previous.rejection}.'
    return f"The previous attempt produced no usable instruction: {previous.rejection}."


def pick_references(references: Sequence[Item], k: int, rng: random.Random, used: set[tuple[str, ...]]) -> list[Item]:
    """A random subset of k references, different from the subsets already used when possible."""
    k = min(k, len(references))
    if k == 0:
        return []
    possible = math.comb(len(references), k)
    for _ in range(32):
        chosen = rng.sample(list(references), k)
        key = tuple(sorted(r.id for r in chosen))
        if key not in used or len(used) >= possible:
            used.add(key)
            return chosen
    return chosen


class Resynthesis(dspy.Module):
    def __init__(self, max_retries: int = MAX_RETRIES, demo_count: int = DEMO_COUNT) -> None:
        super().__init__()
        self.max_retries = max_retries
        self.demo_count = demo_count

    async def retry(
        self,
        level: FoveationLevel,
        article: str,
        item: Item,
        references: Sequence[Item],
        answerer: AnswerInstruction,
        seed: int | str,
        check: ItemCheck | None,
    ) -> None:
        """Append attempts to `item` until one is accepted or the retries run out; every attempt
        is held to `check`, the rules its first attempt was held to (None: no rules)."""
        rng = random.Random(f"{seed}:{item.id}:resynthesis")
        used: set[tuple[str, ...]] = set()
        for number in range(1, self.max_retries + 1):
            feedback = feedback_for(item.attempts[-1])
            chosen = pick_references(references, self.demo_count, rng, used)
            demos = [level.demo(r.feature, r.accepted.instruction) for r in chosen if r.accepted]
            config = {**creative_config(), "rollout_id": number}
            instruction, output = "", ""
            try:
                got = await call_predictor(
                    level.regenerate,
                    f"{level.name}.regenerate",
                    config=config,
                    demos=demos,
                    lm=CREATIVE_LM.get(),
                    article=article,
                    feedback=feedback,
                    language=output_language(),
                    **level.regenerate_inputs(item.feature),
                )
                instruction = (got.question or "").strip()
                output, rejection = await answerer.answer(article, instruction, check)
            except CallFailed as failure:
                rejection = failure.reason
            item.attempts.append(
                Attempt(
                    number=number,
                    instruction=instruction,
                    output=output,
                    temperature=config.get("temperature"),
                    rejection=rejection,
                    feedback=feedback,
                    demo_ids=[r.id for r in chosen],
                )
            )
            if rejection is None:
                return
