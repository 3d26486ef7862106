"""Just enough English morphology to turn a statement into a question.

"The bridge opened in 1894" becomes "When did the bridge open?": that needs the base form of a
past or third-person verb. A lookup of common irregular verbs plus the regular -ed and -s rules
covers expository prose; anything else falls back to a question form that needs no inversion.
"""

from __future__ import annotations

import re

AUXILIARIES = frozenset(
    "is are was were has have had can could will would shall should may might must does do did".split()
)

IRREGULAR_PAST = {
    "arose": "arise", "ate": "eat", "became": "become", "began": "begin", "bore": "bear",
    "bought": "buy", "brought": "bring", "built": "build", "came": "come", "caught": "catch",
    "chose": "choose", "drew": "draw", "drove": "drive", "fell": "fall", "felt": "feel",
    "fled": "flee", "flew": "fly", "fought": "fight", "found": "find", "gave": "give",
    "went": "go", "grew": "grow", "held": "hold", "kept": "keep", "knew": "know", "laid": "lay",
    "led": "lead", "left": "leave", "lent": "lend", "lost": "lose", "made": "make",
    "meant": "mean", "met": "meet", "paid": "pay", "ran": "run", "rang": "ring", "rose": "rise",
    "said": "say", "sang": "sing", "sank": "sink", "sat": "sit", "saw": "see", "sent": "send",
    "shook": "shake", "shone": "shine", "shot": "shoot", "sold": "sell", "sought": "seek",
    "spent": "spend", "spoke": "speak", "spread": "spread", "stood": "stand", "stole": "steal",
    "struck": "strike", "swam": "swim", "swept": "sweep", "took": "take", "taught": "teach",
    "told": "tell", "thought": "think", "threw": "throw", "understood": "understand",
    "woke": "wake", "won": "win", "wore": "wear", "wrote": "write", "hid": "hide",
    "overtook": "overtake", "withdrew": "withdraw", "forbade": "forbid", "undertook": "undertake",
}

_DOUBLED = re.compile(r"([bdfgklmnprtv])\1$")
_KEEP_E = re.compile(r"(?:[^aeiou][aeiou][cgsvz]|[^aeiou][aeiou][^aeiouwxy]|ur|ar|at|iz|is|as|us|ag|ang|ng)$")


def past_to_base(verb: str) -> str | None:
    """Base form of a past-tense verb ("opened" -> "open"), or None when it is not one."""
    low = verb.lower()
    if low in IRREGULAR_PAST:
        return IRREGULAR_PAST[low]
    if not low.endswith("ed") or len(low) < 4:
        return None
    if low.endswith("ied"):
        return low[:-3] + "y"
    stem = low[:-2]
    if _DOUBLED.search(stem) and not stem.endswith(("ll", "ss", "ff")):
        return stem[:-1]
    if stem.endswith(("at", "iz", "ur", "lv", "rv", "dg", "nc", "rc", "rs", "ps", "ns", "bl", "pl", "tl", "gl", "cl")):
        return stem + "e"
    if re.search(r"[^aeiou][aeiou][cgvz]$", stem) or stem.endswith(("ce", "ge", "ve", "se")):
        return stem + "e"
    if re.search(r"(?:[^aeiouy]|^)[aeiou][^aeiouwxyrlnm]$", stem) and len(stem) <= 4:
        return stem + "e"
    return stem


def present_to_base(verb: str) -> str | None:
    """Base form of a third-person present verb ("climbs" -> "climb"), or None."""
    low = verb.lower()
    if low in {"is", "has", "does", "was"} or not low.endswith("s") or low.endswith("ss") or len(low) < 3:
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
