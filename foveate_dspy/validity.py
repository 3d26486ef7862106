"""Is a synthesised (instruction, answer) pair usable? (paper §3.4, appendix B.4)

The paper checks for the literal "I don't know". Teachers phrase refusals many ways ("The text
does not say", "cannot be determined from the passage", curly apostrophes, upper case), and a
refusal that slips through becomes a training example teaching the student to refuse.
"""

from __future__ import annotations

import re
import unicodedata

from foveate_dspy.prompt_hygiene import template_token_in

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‛": "'", "′": "'", "`": "'", "“": '"', "”": '"'})

# A refusal wherever it appears.
_STRONG = re.compile(
    r"\b(i\s+(do\s*n[o']?t|don't|dont|really\s+don't)\s+know"
    r"|(can\s*not|can't|could\s+not|couldn't)\s+be\s+(determined|answered|found|inferred|established)"
    r"|(i\s+)?(am\s+)?(unable|not\s+able)\s+to\s+(answer|determine|find)"
    r"|(i\s+)?(can\s*not|can't)\s+(answer|determine|tell)"
    r"|(there\s+is\s+)?(not\s+enough|insufficient)\s+(information|context|details)"
    r"|no\s+answer\s+(can\s+be|is)\s+(given|found|possible)"
    r"|unanswerable)\b"
)
# A refusal only when the answer opens with it ("The text does not mention X" as a full answer,
# not "It does not mention a date, but ..."): checked on the first sentence of short answers.
_SOFT = re.compile(
    r"\b(the\s+)?(text|article|passage|context|background(\s+knowledge)?|document)\s+"
    r"(does\s*n[o']?t|doesn't|did\s+not)\s+(mention|say|state|specify|provide|contain|include|give|describe)"
    r"|\bno\s+(information|mention|details?)\s+(is|are|was|were)?\s*(given|provided|available|mentioned)"
    r"|\bnot\s+(mentioned|specified|stated|provided)\s+in\s+the\b"
    r"|^\s*unknown\W*$|^\s*n/?a\W*$"
)
_SOFT_MAX_WORDS = 30


def normalise(text: str) -> str:
    """Lower-case, NFKC, straight quotes, single spaces: refusals vary in all of these."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    return re.sub(r"\s+", " ", text).strip()


def is_unknown_answer(answer: str) -> bool:
    """True when the answer declines to answer instead of answering."""
    text = normalise(answer)
    if not text:
        return False
    if _STRONG.search(text):
        return True
    first_sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return len(text.split()) <= _SOFT_MAX_WORDS and bool(_SOFT.search(first_sentence))


def rejection_reason(instruction: str | None, answer: str | None, answerable: bool | None = True) -> str | None:
    """Why the pair is invalid, or None when it is valid."""
    if not instruction or not instruction.strip():
        return "empty instruction"
    if answerable is False:
        return "the answerer said the article does not support an answer"
    if not answer or not answer.strip():
        return "empty answer"
    if is_unknown_answer(answer):
        return f"the answer is a refusal ({answer.strip()[:80]!r})"
    token = template_token_in(instruction, answer)
    if token is not None:  # a control token in a training pair teaches the student to emit it
        return f"the pair contains prompt markup {token!r}"
    return None
