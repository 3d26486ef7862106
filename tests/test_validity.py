"""Refusal detection (`is_refusal`) on hand-picked answers, and the validity rules."""

from __future__ import annotations

import pytest

from foveate_dspy.method.validity import is_refusal, rejection_reason


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
        # phrasings the old detector let through (issue 12)
        "Not stated.",
        "The passage says nothing about that.",
        "I'm afraid the text doesn't tell us.",
        "No information is given about the architect.",
        "N/A",
        "There is no mention of the bishop in the article.",
        "It is not possible to say from the article.",
        "The article does not answer the question of why the expedition turned back.",
    ],
)
def test_refusals_are_detected(answer: str) -> None:
    assert is_refusal(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "Paris.",
        "The treaty was signed in 1648, ending the war.",
        "Knowledge of the past was passed down orally; the text explains how monks copied it.",
        "It does not mention a date, but it says the bridge opened after a decade of work by several "
        "hundred labourers from the surrounding villages, who were paid in grain and salt rather than "
        "coin, which the chronicler describes at length.",
        # genuine answers the old detector rejected, or could have (issue 12)
        "The cause of the fire remains unknown, investigators said in 1923.",
        "He was unable to finish the race because of an injury.",
        'The song "I Don\'t Know" was released in 1981.',
        "The committee found there was not enough information to convict him, so he was released.",
    ],
)
def test_answers_are_not_refusals(answer: str) -> None:
    assert not is_refusal(answer)


def test_rejection_reasons() -> None:
    assert rejection_reason("Q?", "A.") is None
    assert rejection_reason("", "A.") == "empty instruction"
    assert rejection_reason("Q?", "  ") == "empty answer"
    assert "does not support" in rejection_reason("Q?", "Some text", answerable=False)
    assert "refusal" in rejection_reason("Q?", "I don't know.")
    assert "refusal" in rejection_reason("Q?", "Not stated.")
    assert rejection_reason("Why did he stop?", "He was unable to finish the race because of an injury.") is None
