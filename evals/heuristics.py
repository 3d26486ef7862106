"""Deterministic offline judges, so the evals run in CI without an LM. They are heuristics, not
measurements of what a strong LM judge would say, and every output labels them as such.

Difficulty: an instruction's score is `foveate_dspy.method.difficulty.instruction_difficulty`
(shared with `compile --optimize`'s heuristic judge); a set's score is the mean over its
instructions.

Answer quality: fluency looks for a complete sentence that picks up the question's words;
completeness compares the answer's length with the number of parts the question asks for.
A refusal (the project's one classifier, `foveate_dspy.method.refusal.is_refusal`) rates low on both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evals.judges import JudgeReply
from foveate_dspy.method.difficulty import content_words, instruction_difficulty
from foveate_dspy.method.refusal import is_refusal

HEURISTIC_LABEL = "heuristic (offline)"

_CONJUNCTION = re.compile(r"\band\b|;", re.IGNORECASE)
_EXPLANATORY = re.compile(
    r"\b(why|how(?!\s+(many|much|old|long|far))|explain|describe|compare|discuss|analy[sz]e)\b", re.IGNORECASE
)


def set_difficulty(content: str, instructions: Sequence[str]) -> float:
    return sum(instruction_difficulty(content, i) for i in instructions) / max(1, len(instructions))


class HeuristicDifficultyJudge:
    """Picks the set with the higher mean heuristic difficulty; on equal scores it answers "1",
    which the two-order protocol turns into a tie."""

    label = HEURISTIC_LABEL

    def compare(self, content: str, first: Sequence[str], second: Sequence[str]) -> JudgeReply:
        harder = "2" if set_difficulty(content, second) > set_difficulty(content, first) else "1"
        return JudgeReply(values={"harder": harder})


def rate_fluency(question: str, answer: str) -> str:
    words = content_words(answer)
    if not words or is_refusal(answer):
        return "low"
    echoes_question = bool(set(words) & set(content_words(question)))
    complete_sentence = len(answer.split()) >= 4 and answer.rstrip().endswith((".", "!", "?", '"', ")"))
    if echoes_question and complete_sentence:
        return "high"
    return "medium" if echoes_question or complete_sentence else "low"


def rate_completeness(question: str, answer: str) -> str:
    if not content_words(answer) or is_refusal(answer):
        return "low"
    parts = max(1, question.count("?")) + len(_CONJUNCTION.findall(question)) + bool(_EXPLANATORY.search(question))
    length = len(answer.split())
    if length >= 8 * parts:
        return "high"
    return "medium" if length >= 3 * parts else "low"


class HeuristicQualityJudge:
    label = HEURISTIC_LABEL

    def rate(self, question: str, answer: str) -> JudgeReply:
        return JudgeReply(
            values={"fluency": rate_fluency(question, answer), "completeness": rate_completeness(question, answer)}
        )
