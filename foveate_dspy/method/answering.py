"""Answer an instruction from the article, then reread to improve it (paper appendix F).

The answerer may decline: a question the article cannot support must become a rejection for
re-synthesis, not a training pair with an invented answer. Rereading only ever replaces a valid
answer by another valid one; if the rewrite fails, the valid draft stands.
"""

from __future__ import annotations

import dspy

from foveate_dspy.runtime.calls import CallFailed, call_predictor
from foveate_dspy.corpus.language import output_language
from foveate_dspy.method.proposals import Proposal
from foveate_dspy.method.items import Attempt, Item
from foveate_dspy.method.rules import ItemCheck, capped
from foveate_dspy.teachers.sampling import current_temperature
from foveate_dspy.method.validity import rejection_reason
from signatures.answer import AnswerFromArticle, RereadAnswer


class AnswerInstruction(dspy.Module):
    def __init__(self, reread: bool = True) -> None:
        super().__init__()
        self.respond = dspy.Predict(AnswerFromArticle)
        self.reread = dspy.Predict(RereadAnswer) if reread else None

    async def answer(self, article: str, instruction: str, check: ItemCheck | None = None) -> tuple[str, str | None]:
        """(answer, rejection reason or None). With `check`, the level's rules apply: an
        instruction that breaks them is rejected before any answer call, and an answer that
        breaks them is rejected (a rewrite that breaks them is not taken)."""
        if not instruction.strip():
            return "", "empty instruction"
        if check is not None:
            problem = check.instruction_problem(instruction)
            if problem is not None:
                return "", problem
        try:
            got = await call_predictor(
                self.respond, "answer", article=article, instruction=instruction, language=output_language()
            )
        except CallFailed as failure:
            return "", f"answering: {failure.reason}"
        draft = (got.answer or "").strip()
        reason = rejection_reason(instruction, draft, got.answerable)
        if reason is None and check is not None:
            reason = check.answer_problem(instruction, draft)
            draft = capped(draft)
        if reason is not None or self.reread is None:
            return draft, reason
        try:
            better = await call_predictor(
                self.reread, "reread", article=article, instruction=instruction, draft_answer=draft,
                language=output_language(),
            )
        except CallFailed:
            return draft, None
        improved = (better.answer or "").strip()
        if rejection_reason(instruction, improved) is None and (check is None or check.answer_problem(instruction, improved) is None):
            return improved, None
        return draft, None


async def answer_proposal(
    answerer: AnswerInstruction, article: str, item: Item, proposal: Proposal, check: ItemCheck | None = None
) -> None:
    """Record the item's first attempt: the proposal answered, or why there was nothing to answer."""
    if proposal.problem is not None:
        output, rejection = "", proposal.problem
    else:
        output, rejection = await answerer.answer(article, proposal.instruction, check)
    item.attempts.append(Attempt(0, proposal.instruction, output, current_temperature(), rejection))
