"""Answering: reading comprehension with an explicit way out, and rereading to improve."""

from __future__ import annotations

import dspy


class AnswerFromArticle(dspy.Signature):
    """Answer the instruction using only the article, thoroughly and accurately, keeping its key
    facts unchanged and without phrases such as "according to the article".

    If the article does not contain what the instruction asks for, set answerable to False and
    answer "I don't know." instead of guessing."""

    article: str = dspy.InputField()
    instruction: str = dspy.InputField()
    language: str = dspy.InputField(desc="write the answer in this language")
    answerable: bool = dspy.OutputField(desc="False when the article does not support an answer")
    answer: str = dspy.OutputField()


class RereadAnswer(dspy.Signature):
    """Reread the article and rewrite the draft answer to the instruction: correct its errors,
    align it with what was asked, and make it more informative and complete.

    Keep the article's key facts unchanged, use nothing outside it, and avoid phrases such as
    "according to the article"."""

    article: str = dspy.InputField()
    instruction: str = dspy.InputField()
    draft_answer: str = dspy.InputField()
    language: str = dspy.InputField(desc="write the answer in this language")
    answer: str = dspy.OutputField(desc="the improved answer")
