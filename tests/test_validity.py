"""Robust detection of "I don't know" answers and the validity rules."""

from __future__ import annotations

import pytest

from foveate_dspy.validity import is_unknown_answer, rejection_reason


@pytest.mark.parametrize(
    "answer",
    [
        "I don't know.",
        "I don’t know",
        "I DO NOT KNOW",
        "i dont know",
        "It cannot be determined from the text.",
        "This can't be answered from the passage.",
        "The article does not mention when he was born.",
        "The text doesn't say.",
        "There is not enough information to answer.",
        "Unknown.",
        "I am unable to answer this question based on the background knowledge.",
    ],
)
def test_refusals_are_detected(answer: str) -> None:
    assert is_unknown_answer(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "Paris.",
        "The treaty was signed in 1648, ending the war.",
        "Knowledge of the past was passed down orally; the text explains how monks copied it.",
        "It does not mention a date, but it says the bridge opened after a decade of work by several "
        "hundred labourers from the surrounding villages, who were paid in grain and salt rather than "
        "coin, which the chronicler describes at length.",
    ],
)
def test_answers_are_not_refusals(answer: str) -> None:
    assert not is_unknown_answer(answer)


def test_rejection_reasons() -> None:
    assert rejection_reason("Q?", "A.") is None
    assert rejection_reason("", "A.") == "empty instruction"
    assert rejection_reason("Q?", "  ") == "empty answer"
    assert "does not support" in rejection_reason("Q?", "Some text", answerable=False)
    assert "refusal" in rejection_reason("Q?", "I don't know.")
