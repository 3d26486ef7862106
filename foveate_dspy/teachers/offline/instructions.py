"""Keyword group or key sentence -> question or instruction (direct and transcription
synthesis).

A keyword group becomes a relation question naming every keyword verbatim, or in creative
mode an enumerative one that asks about each keyword and their link. A key sentence becomes an
instruction about what it does, from templates for its main rhetorical device ("Explain the
contrast the text draws between X and Y"), filled with the best keywords inside it. Writers
return options best first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from foveate_dspy.method.rhetoric import Device, detect_devices, split_at_cue
from foveate_dspy.teachers.offline.span_questions import REPORTING_VERBS, SUBJECT_STARTERS
from foveate_dspy.teachers.offline.templates import (
    DEVICE_TEMPLATES,
    ENUMERATIVE_TEMPLATES,
    GROUP_TEMPLATES,
    RELATION_TEMPLATES,
    SINGLE_TEMPLATES,
)
from foveate_dspy.corpus.text import find_phrase, join_list


def group_question_options(group: Sequence[str], rotation: int, enumerative: bool) -> list[str]:
    """Questions naming every keyword of `group` verbatim, best first."""
    keywords = [k.strip() for k in group if k.strip()]
    if not keywords:
        return []
    if len(keywords) == 1:
        templates = SINGLE_TEMPLATES
    elif enumerative:
        templates = ENUMERATIVE_TEMPLATES
    elif len(keywords) == 2:
        templates = RELATION_TEMPLATES
    else:
        templates = GROUP_TEMPLATES
    shift = rotation % len(templates)
    ordered = templates[shift:] + templates[:shift]
    fill = {"a": keywords[0], "b": keywords[-1], "list": join_list(keywords)}
    return [_capitalise(t.format(**fill)) for t in ordered]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# Key sentence -> instruction (transcription synthesis)


def sentence_instruction_options(
    sentence: str, ranked_phrases: Sequence[str], rotation: int
) -> list[str]:
    """Instructions about what `sentence` says or does, best first: templates of its main
    rhetorical device, then of its other devices, then plain ones. `ranked_phrases` are the
    article's keywords, best first; those inside the sentence fill the templates."""
    inside = [p for p in ranked_phrases if find_phrase(sentence, p) >= 0]
    devices = detect_devices(sentence)
    speaker = quoted_speaker(sentence)
    options: list[str] = []
    for position, device in enumerate([*devices, None]):
        name = device.name if device else "plain"
        slots = _slots(sentence, device, inside, speaker)
        if slots is None:
            continue
        templates = DEVICE_TEMPLATES[name]
        usable = sorted(
            (t for t in templates if _fillable(t, slots)), key=lambda t: -_slot_count(t)
        )
        if position == 0 and usable:
            fullest = [t for t in usable if _slot_count(t) == _slot_count(usable[0])]
            shift = rotation % len(fullest)
            usable = fullest[shift:] + fullest[:shift] + usable[len(fullest) :]
        options.extend(_capitalise(t.format(**slots)) for t in usable)
    return list(dict.fromkeys(options))


def _slots(
    sentence: str, device: Device | None, phrases: list[str], speaker: str
) -> dict[str, str] | None:
    """Template fillers: {a} and {b} from the sentence's keywords (for a contrast or comparison,
    the keywords nearest the cue on either side), {speaker} for a quotation."""
    if not phrases:
        return None
    slots = {"a": phrases[0], "speaker": speaker}
    if device is not None and device.name in ("contrast", "comparison"):
        left, right = split_at_cue(sentence, device)
        if not left.strip() and "," in right:  # "Whereas X, Y": the comma splits the two sides
            left, right = right.split(",", 1)
        a = max(
            (p for p in phrases if find_phrase(left, p) >= 0),
            key=lambda p: left.lower().rfind(p.lower()),
            default=None,
        )
        b = min(
            (p for p in phrases if find_phrase(right, p) >= 0 and p != a),
            key=lambda p: find_phrase(right, p),
            default=None,
        )
        if a and b:
            slots.update(a=a, b=b)
            return slots
    others = [
        p
        for p in phrases
        if p.lower() not in slots["a"].lower() and slots["a"].lower() not in p.lower()
    ]
    if speaker:
        others = [p for p in others if p.lower() not in speaker.lower()]
        if phrases[0].lower() in speaker.lower() and others:
            slots["a"] = others.pop(0)
    if others:
        slots["b"] = others[0]
    return slots


def _slot_count(template: str) -> int:
    """Templates naming more of the sentence's keywords point more surely at it."""
    return len(set(re.findall(r"\{(\w+)\}", template)))


def _fillable(template: str, slots: dict[str, str]) -> bool:
    return all(slots.get(name) for name in re.findall(r"\{(\w+)\}", template))


def quoted_speaker(sentence: str) -> str:
    """Who the sentence quotes: the name (or 'one coach') before a reporting verb, '' if none."""
    unquoted = re.sub(r"[\"“][^\"”]*[\"”]", " ", sentence)
    according = re.search(r"according to ((?:[A-Z][\w'’-]*\s?){1,4})", unquoted)
    if according:
        return according.group(1).strip()
    verb = re.search(
        rf"\b(?:later |had |has |once |also |is often quoted as |was quoted as )?{REPORTING_VERBS}\b",
        unquoted,
    )
    if not verb:
        return ""
    before = unquoted[: verb.start()]
    common = re.search(r"\b((?:one|a|an|the) [a-z]+(?: [a-z]+)?)\s*,?\s*$", before)
    if common and common.group(1).split()[-1] not in ("that", "which", "who"):
        return common.group(1)
    names = re.findall(
        r"(?<![\w'])([A-Z][\w'’-]+(?:\s+(?:de\s+|van\s+|von\s+)?[A-Z][\w'’-]+)*)", before
    )
    names = [n for n in names if n.split()[0].lower() not in SUBJECT_STARTERS | {"as", "in", "on"}]
    return names[-1] if names else ""
