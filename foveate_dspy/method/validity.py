"""Is a synthesised (instruction, answer) pair usable? (paper §3.4, appendix B.4)

The paper checks for the literal "I don't know". Teachers phrase refusals many ways ("The text
does not say", "Not stated.", curly apostrophes, upper case, German, Chinese), and a refusal that
slips through becomes a training example teaching the student to refuse: `is_refusal` (the one
classifier the whole project uses, see `refusal.py`) decides.

`python -m foveate_dspy.validity` classifies answers from the command line.
"""

from __future__ import annotations

from foveate_dspy.method.refusal import is_refusal, normalise
from foveate_dspy.corpus.hygiene import template_token_in

__all__ = ["is_refusal", "normalise", "rejection_reason"]


def rejection_reason(instruction: str | None, answer: str | None, answerable: bool | None = True) -> str | None:
    """Why the pair is invalid, or None when it is valid."""
    if not instruction or not instruction.strip():
        return "empty instruction"
    if answerable is False:
        return "the answerer said the article does not support an answer"
    if not answer or not answer.strip():
        return "empty answer"
    if is_refusal(answer):
        return f"the answer is a refusal ({answer.strip()[:80]!r})"
    token = template_token_in(instruction, answer)
    if token is not None:  # a control token in a training pair teaches the student to emit it
        return f"the pair contains prompt markup {token!r}"
    return None
