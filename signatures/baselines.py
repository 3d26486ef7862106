"""The baselines' signatures: Self-QA (Zhang & Yang, 2023) and Wiki2023-style QA extraction
(Jiang et al., 2024). Both read the whole article in one pass, with no foveation."""

from __future__ import annotations

import dspy
from pydantic import BaseModel


class KnowledgeGuidedQuestions(dspy.Signature):
    """Read the background knowledge and write diverse questions about it: questions of fact and
    questions asking to understand or assess what it says.

    Each question must stand on its own for a reader who has never seen the text: no "this
    article", "the passage" or pronouns pointing back at it."""

    knowledge: str = dspy.InputField(desc="the unsupervised text the questions are drawn from")
    count: int = dspy.InputField(desc="how many questions to write")
    language: str = dspy.InputField(desc="write the questions in this language")
    questions: list[str] = dspy.OutputField()


class QAPair(BaseModel):
    question: str
    answer: str
    evidence: str  # the sentence of the document the pair comes from, copied verbatim


class ExtractQAPairs(dspy.Signature):
    """Extract question-answer pairs from the document, each pair testing one fact it states.

    The answer is a short phrase taken from the document; the evidence is the sentence holding
    that fact, copied word for word. Spread the pairs over the whole document and do not ask
    the same thing twice."""

    document: str = dspy.InputField()
    count: int = dspy.InputField(desc="how many pairs to extract")
    language: str = dspy.InputField(desc="write the questions and answers in this language")
    qa_pairs: list[QAPair] = dspy.OutputField()
