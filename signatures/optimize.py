"""The judge behind `compile --optimize`'s metric: is a synthesised pair grounded, how hard is it."""

from __future__ import annotations

from typing import Literal

import dspy


class JudgeSynthesizedPair(dspy.Signature):
    """Judge an instruction/answer pair written from an article.

    grounded: True only when every claim of the answer is supported by the article; an answer
    that adds facts the article does not state, or contradicts it, is not grounded.
    difficulty: how hard the instruction is for a language model that has read the article:
    easy when one sentence answers it directly, medium when it needs a few facts put together,
    hard when it needs reasoning across distant parts of the article or about relations,
    causes, comparisons or the author's technique."""

    article: str = dspy.InputField()
    instruction: str = dspy.InputField()
    answer: str = dspy.InputField()
    grounded: bool = dspy.OutputField()
    difficulty: Literal["easy", "medium", "hard"] = dspy.OutputField()
