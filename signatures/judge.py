"""Judge signatures: difficulty head-to-head, answer quality, downstream correctness."""

from __future__ import annotations

from typing import Literal

import dspy


class CompareDifficulty(dspy.Signature):
    """Decide which of two instruction sets about the same content is harder for a language model
    to answer coherently and accurately.

    A set is harder when its instructions demand multi-step reasoning, combine several concepts
    or parts of the content, ask to explain subtle relationships or processes, deal with
    ambiguous or thinly documented details, or pull together information from different places
    or periods. Judge difficulty only, not quality or length, and ignore the order of the sets."""

    content: str = dspy.InputField(desc="the source text both sets were written from")
    instruction_set_1: list[str] = dspy.InputField()
    instruction_set_2: list[str] = dspy.InputField()
    harder: Literal["1", "2"] = dspy.OutputField(desc="'1' if set 1 is harder, '2' if set 2 is")


class RateAnswerQuality(dspy.Signature):
    """Rate an answer to a question on fluency and completeness.

    Fluency: high when the answer follows naturally from the question, medium when the link is
    visible but clumsy, low when it reads as disconnected. Completeness: high when every part of
    the question is addressed, medium when most parts are, low when only a fragment is."""

    question: str = dspy.InputField()
    answer: str = dspy.InputField()
    fluency: Literal["high", "medium", "low"] = dspy.OutputField()
    completeness: Literal["high", "medium", "low"] = dspy.OutputField()


class JudgeAnswerCorrectness(dspy.Signature):
    """Decide whether a generated answer answers the question correctly, given a ground-truth
    answer.

    It is correct when it carries the key information of the ground truth. Extra explanation or
    context does not make an answer incorrect; missing or contradicting the key information
    does."""

    question: str = dspy.InputField()
    ground_truth: str = dspy.InputField()
    generated: str = dspy.InputField()
    verdict: Literal["Correct", "Incorrect"] = dspy.OutputField()
