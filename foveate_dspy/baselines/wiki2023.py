"""Wiki2023-style QA extraction (Jiang et al., 2024): question-answer pairs read off the document.

One call extracts every pair, answer included, each tied to the sentence it comes from (the
item's feature). There is no separate answering step: the extracted answer is the output, checked
by the same validity rule as every other method's.
"""

from __future__ import annotations

import dspy

from foveate_dspy.method.article_program import ArticleProgram
from foveate_dspy.runtime.calls import CallFailed, call_predictor
from foveate_dspy.corpus.language import output_language
from foveate_dspy.method.items import Attempt, Item, LevelFailure
from foveate_dspy.teachers.sampling import current_temperature
from foveate_dspy.method.validity import rejection_reason
from signatures.baselines import ExtractQAPairs

NAME = "wiki2023"


class Wiki2023(ArticleProgram):
    name = NAME

    def __init__(self, multiplier: int = 3) -> None:
        super().__init__()
        self.multiplier = multiplier
        self.extract = dspy.Predict(ExtractQAPairs)

    async def aforward(
        self, article: str, n: int = 8, article_id: str = "article", seed: int | str = 0
    ) -> dspy.Prediction:
        count = n * self.multiplier
        try:
            got = await call_predictor(
                self.extract, f"{NAME}.extract", document=article, count=count, language=output_language()
            )
        except CallFailed as failure:
            return _failed(article_id, f"QA extraction: {failure.reason}")
        pairs = list(got.qa_pairs or [])[:count]
        if not pairs:
            return _failed(article_id, "QA extraction returned no pairs")
        temperature = current_temperature()
        items = []
        for i in range(count):
            item = Item(f"{article_id}:{NAME}:{i}", article_id, NAME, "")
            if i < len(pairs):
                pair = pairs[i]
                item.feature = pair.evidence.strip()
                question, answer = pair.question.strip(), pair.answer.strip()
                item.attempts.append(Attempt(0, question, answer, temperature, rejection_reason(question, answer)))
            else:
                reason = f"the teacher returned {len(pairs)} pairs for {count} requested"
                item.attempts.append(Attempt(0, "", "", temperature, reason))
            items.append(item)
        return dspy.Prediction(results=items, level_failures=[])


def _failed(article_id: str, reason: str) -> dspy.Prediction:
    return dspy.Prediction(results=[], level_failures=[LevelFailure(article_id, NAME, reason)])
