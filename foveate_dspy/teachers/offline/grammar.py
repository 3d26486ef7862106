"""Just enough English morphology to turn a statement into a question.

"The bridge opened in 1894" becomes "When did the bridge open?": that needs the base form of a
past or third-person verb. A lookup of common irregular verbs plus the regular -ed and -s rules
covers expository prose; anything else falls back to a question form that needs no inversion.
"""

from __future__ import annotations

import re

from foveate_dspy.corpus.text import IRREGULAR_PAST

AUXILIARIES = frozenset(
    "is are was were has have had can could will would shall should may might must does do did".split()
)

_SPECIAL_PAST = {
    "added": "add",
    "created": "create",
    "ebbed": "ebb",
    "erred": "err",
    "odded": "odd",
}
_VOWELS = "aeiouy"
_E_AFTER_SINGLE_VOWEL = {
    "t": "aeou",
    "p": "aio",
    "k": "aiou",
    "m": "aiou",
    "l": "aiouy",
    "n": "i",
    "d": "aiou",
    "b": "io",
}


def past_to_base(verb: str) -> str | None:
    """Base form of a past-tense verb ("opened" -> "open", "named" -> "name"), or None when the
    word is not one. Regular verbs follow spelling rules (doubling, silent e) that cover common
    verbs; a wrong guess only makes a question slightly clumsy, never unanswerable."""
    low = verb.lower()
    if low in IRREGULAR_PAST:
        return IRREGULAR_PAST[low]
    if low in _SPECIAL_PAST:
        return _SPECIAL_PAST[low]
    if not low.endswith("ed") or len(low) < 4 or not low.isalpha():
        return None
    if low.endswith("eed") and not low.endswith("eeded"):
        return low[:-1]
    if low.endswith("ied") and len(low) > 4:
        return low[:-3] + "y"
    stem = low[:-2]
    last, before = stem[-1], stem[-2]
    if last == before and last in "bdgmnprt":
        return stem[:-1]
    if last == before == "l":
        return stem[:-1] if _syllables(stem) >= 2 else stem
    if last in "vcu" or (last == "z" and before != "z") or (last == "s" and before != "s"):
        return stem + "e"
    if stem.endswith(("rg", "dg", "lg", "ag", "ang", "eng")) or (
        last == "l" and before in "bptgckdz"
    ):
        return stem + "e"
    if (
        last == "r"
        and before in "aiou"
        and (len(stem) < 3 or stem[-3] not in _VOWELS or stem[-3:] == "uir")
    ):
        return stem + "e"
    vowels_after = _E_AFTER_SINGLE_VOWEL.get(last, "")
    if before in vowels_after:
        prior = stem[-3] if len(stem) >= 3 else ""
        if prior not in _VOWELS or (last == "t" and prior in "iu" and before == "a"):
            if last == "p" and before == "o" and _syllables(stem) >= 2:
                return stem
            return stem + "e"
    return stem


def _syllables(word: str) -> int:
    return len(re.findall(r"[aeiouy]+", word))


def present_to_base(verb: str) -> str | None:
    """Base form of a third-person present verb ("climbs" -> "climb"), or None."""
    low = verb.lower()
    if (
        low in {"is", "has", "does", "was"}
        or not low.endswith("s")
        or low.endswith("ss")
        or len(low) < 3
    ):
        return None
    if low.endswith("ies") and len(low) > 4:
        return low[:-3] + "y"
    if low.endswith(("ches", "shes", "sses", "xes", "zes", "oes")):
        return low[:-2]
    return low[:-1]


def looks_like_verb_form(word: str) -> bool:
    """Past participles and gerunds, which make poor stand-alone keywords."""
    low = word.lower()
    return low in IRREGULAR_PAST or (len(low) > 4 and low.endswith(("ed", "ing")))
