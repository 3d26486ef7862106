"""Answer an instruction from the article, then reread to improve it (paper appendix F).

The answerer may decline: a question the article cannot support must become a rejection for
re-synthesis, not a training pair with an invented answer. Rereading only ever replaces a valid
answer by another valid one; if the rewrite fails, the valid draft stands.
"""

from __future__ import annotations

import dspy

from foveate_dspy.calls import CallFailed, call_predictor
from foveate_dspy.language import output_language
from foveate_dspy.level import Proposal
from foveate_dspy.records import Attempt, Item
from foveate_dspy.sampling import current_temperature
from foveate_dspy.validity import rejection_reason
from signatures.answer import AnswerFromArticle, RereadAnswer


class AnswerInstruction(dspy.Module):
    def __init__(self, reread: bool = True) -> None:
        super().__init__()
        self.respond = dspy.Predict(AnswerFromArticle)
        self.reread = dspy.Predict(RereadAnswer) if reread else None

    async def answer(self, article: str, instruction: str) -> tuple[str, str | None]:
        """(answer, rejection reason or None)."""
        if not instruction.strip():
            return "", "empty instruction"
        try:
            got = await call_predictor(
                self.respond, "answer", article=article, instruction=instruction, language=output_language()
            )
        except CallFailed as failure:
            return "", f"answering: {failure.reason}"
        draft = (got.answer or "").strip()
        reason = rejection_reason(instruction, draft, got.answerable)
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
        return (improved, None) if rejection_reason(instruction, improved) is None else (draft, None)


async def answer_proposal(answerer: AnswerInstruction, article: str, item: Item, proposal: Proposal) -> None:
    """Record the item's first attempt: the proposal answered, or why there was nothing to answer."""
    if proposal.problem is not None:
        output, rejection = "", proposal.problem
    else:
        output, rejection = await answerer.answer(article, proposal.instruction)
    item.attempts.append(Attempt(0, proposal.instruction, output, current_temperature(), rejection))
