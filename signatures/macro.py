"""Macro-foveation: key sentences carrying rhetorical devices and transcription synthesis."""

from __future__ import annotations

import dspy
from pydantic import BaseModel


class ExtractKeySentences(dspy.Signature):
    """Copy distinct key sentences from the article, preferring those that carry its writing
    technique: metaphor, hyperbole, contrast, rhetorical questions, quotations or citations,
    comparisons and transitions.

    Copy each sentence verbatim; together they should touch different entities and parts of the
    article."""

    article: str = dspy.InputField()
    count: int = dspy.InputField(desc="how many sentences to return")
    key_sentences: list[str] = dspy.OutputField()


class QuestionForSentence(BaseModel):
    key_sentence: str  # the sentence, copied, so the question is matched to it by what it says
    question: str


class TranscriptionSynthesis(dspy.Signature):
    """Turn each key sentence into a question or an imperative instruction about what it says or
    does in the article (what it compares, contrasts, quotes or implies).

    Copy each sentence next to its question. Each must be answerable from the article alone and
    should not simply repeat the sentence with a question mark."""

    article: str = dspy.InputField()
    key_sentences: list[str] = dspy.InputField()
    language: str = dspy.InputField(desc="write the questions in this language")
    questions: list[QuestionForSentence] = dspy.OutputField(
        desc="one entry per sentence: the sentence copied, and its question or instruction"
    )


class RegenerateFromKeySentence(dspy.Signature):
    """Turn the target key sentence into one new question or imperative instruction.

    A previous attempt for this sentence failed for the reason given in the feedback; avoid that
    failure. The instruction must be fully answerable from the article alone."""

    article: str = dspy.InputField()
    key_sentence: str = dspy.InputField()
    feedback: str = dspy.InputField(desc="why the previous attempt was rejected")
    language: str = dspy.InputField(desc="write the question in this language")
    question: str = dspy.OutputField(desc="a question or an imperative instruction")
