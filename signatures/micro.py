"""Micro-foveation: fine-grained elements (entities, attributes) and reverse synthesis."""

from __future__ import annotations

import dspy
from pydantic import BaseModel


class ExtractKeywords(dspy.Signature):
    """List distinct keywords from the article: the entities it mentions and their attributes or
    related entities, as single words or short phrases copied from the text.

    Cover secondary entities and specific attributes (dates, quantities, places, roles), not only
    the main topic. Every keyword must occur in the article; no two may mean the same thing."""

    article: str = dspy.InputField()
    count: int = dspy.InputField(desc="how many keywords to return")
    keywords: list[str] = dspy.OutputField()


class QuestionForAnswer(BaseModel):
    answer: str  # the given answer, copied, so the question is matched to it by what it says
    question: str


class ReverseSynthesis(dspy.Signature):
    """Write one question or instruction for each given answer, so that the answer is what a
    careful reader of the article would reply.

    Copy each answer next to its question. Each question must be answerable from the article
    alone, must not contain its own answer, and should probe a different part of the article from
    the others."""

    article: str = dspy.InputField()
    answers: list[str] = dspy.InputField(desc="answers taken from the article")
    language: str = dspy.InputField(desc="write the questions in this language")
    questions: list[QuestionForAnswer] = dspy.OutputField(desc="one entry per answer: the answer copied, and its question")


class RegenerateFromAnswer(dspy.Signature):
    """Write one new question or instruction whose answer is the target answer.

    A previous attempt for this answer failed for the reason given in the feedback; avoid that
    failure. The question must be fully answerable from the article alone and must not contain the
    answer itself."""

    article: str = dspy.InputField()
    target_answer: str = dspy.InputField()
    feedback: str = dspy.InputField(desc="why the previous attempt was rejected")
    language: str = dspy.InputField(desc="write the question in this language")
    question: str = dspy.OutputField()
