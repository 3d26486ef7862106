"""Self-QA (Zhang & Yang, 2023): knowledge-guided questions in one pass, then reading comprehension.

One call writes all of an article's questions from the whole text (no foveation, no control of
difficulty: the single-step generation the Self-Foveate paper contrasts itself with); each
question is then answered from the article, as Self-QA's second stage does. Answers get no
rereading and failed items no re-synthesis: both are Self-Foveate's additions.
"""

from __future__ import annotations

import asyncio

import dspy

from foveate_dspy.method.answering import AnswerInstruction, answer_proposal
from foveate_dspy.method.article_program import ArticleProgram
from foveate_dspy.runtime.calls import CallFailed, call_predictor
from foveate_dspy.corpus.language import output_language
from foveate_dspy.method.proposals import align
from foveate_dspy.method.items import Item, LevelFailure
from signatures.baselines import KnowledgeGuidedQuestions

NAME = "self-qa"


class SelfQA(ArticleProgram):
    name = NAME

    def __init__(self, multiplier: int = 3) -> None:
        super().__init__()
        self.multiplier = multiplier
        self.generate = dspy.Predict(KnowledgeGuidedQuestions)
        self.answerer = AnswerInstruction(reread=False)

    async def aforward(
        self, article: str, n: int = 8, article_id: str = "article", seed: int | str = 0
    ) -> dspy.Prediction:
        count = n * self.multiplier
        try:
            got = await call_predictor(
                self.generate, f"{NAME}.generate", knowledge=article, count=count, language=output_language()
            )
        except CallFailed as failure:
            return _failed(article_id, f"question generation: {failure.reason}")
        questions = [q for q in (got.questions or []) if isinstance(q, str)][:count]
        if not questions:
            return _failed(article_id, "question generation returned no questions")
        proposals = align([""] * count, questions, "requested")
        items = [Item(f"{article_id}:{NAME}:{i}", article_id, NAME, "") for i in range(count)]
        await asyncio.gather(*(answer_proposal(self.answerer, article, item, p) for item, p in zip(items, proposals)))
        return dspy.Prediction(results=items, level_failures=[])



def _failed(article_id: str, reason: str) -> dspy.Prediction:
    return dspy.Prediction(results=[], level_failures=[LevelFailure(article_id, NAME, reason)])
