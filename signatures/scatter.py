"""Scatter-foveation: keyword groups spread over the article and direct synthesis."""

from __future__ import annotations

import dspy
from pydantic import BaseModel


class SelectImportantKeywords(dspy.Signature):
    """From a list of keywords, pick the core keywords (those the article cannot be understood
    without, carrying its central theme) and the major keywords (supporting concepts that explain
    or give context to the core ones, each covering a different aspect).

    Return exactly the requested numbers, copied verbatim from the keyword list."""

    article: str = dspy.InputField()
    keywords: list[str] = dspy.InputField()
    core_count: int = dspy.InputField()
    major_count: int = dspy.InputField()
    core_keywords: list[str] = dspy.OutputField()
    major_keywords: list[str] = dspy.OutputField()


class QuestionForGroup(BaseModel):
    keywords: list[str]  # the group's keywords, copied, so the question is matched to its group
    question: str


class DirectSynthesis(dspy.Signature):
    """Write one question or instruction for each keyword group that uses every keyword of its
    group, and copy the group's keywords next to it.

    A group of several keywords calls for a question that connects them: a cause, a comparison, a
    sequence in time or another relation the article supports, so that answering needs reasoning
    across the places where they appear. Each question must be answerable from the article alone
    and should cover a different aspect from the others."""

    article: str = dspy.InputField()
    keyword_groups: list[list[str]] = dspy.InputField()
    language: str = dspy.InputField(desc="write the questions in this language")
    questions: list[QuestionForGroup] = dspy.OutputField(desc="one entry per group: its keywords copied, and its question")


class RegenerateFromKeywordGroup(dspy.Signature):
    """Write one new question or instruction that uses every keyword of the target group and
    connects them as the article does.

    A previous attempt for this group failed for the reason given in the feedback; avoid that
    failure. The question must be fully answerable from the article alone."""

    article: str = dspy.InputField()
    keyword_group: list[str] = dspy.InputField()
    feedback: str = dspy.InputField(desc="why the previous attempt was rejected")
    language: str = dspy.InputField(desc="write the question in this language")
    question: str = dspy.OutputField()
