"""Rhetorical cue detection for macro-foveation: which writing technique a sentence carries.

The paper asks the teacher for sentences that use metaphor, hyperbole, contrast, rhetorical
questions, citations, comparisons and transitions. Without a language model the cheapest honest
signal is surface cues: connectives ("however", "whereas"), comparison words ("than", "unlike"),
similes ("like a", "as if"), quotation marks and reporting verbs, question marks, superlatives and
emphatic "not only". Metaphor proper has no surface cue, so it is found only through a small
list of epithet patterns ("the heart of", "sometimes called"); a device a cue list misses is
simply not scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Device:
    """A rhetorical device: its name, how strongly it marks a key sentence, and its cue."""

    name: str
    weight: float
    pattern: re.Pattern


def _cue(regex: str) -> re.Pattern:
    return re.compile(regex, re.IGNORECASE)


_NOT_SUPERLATIVE = (
    "best|rest|west|test|nest|interest|forest|harvest|honest|modest|protest|request|suggest|"
    "quest|chest|guest|contest|arrest|invest|digest|manifest|conquest|priest|earnest|inquest|"
    "crest|unrest|pest|vest|zest|fest|lest|attest|detest"
)

DEVICES: tuple[Device, ...] = (
    Device("question", 1.0, re.compile(r"\?")),
    Device(
        "quotation",
        0.9,
        _cue(r"[\"“”]|\b(?:said|says|saying|wrote|writes|quoted|according to|remarked|declared)\b"),
    ),
    Device(
        "contrast",
        0.85,
        _cue(
            r"\b(?:however|whereas|although|though|unlike|by contrast|in contrast|on the other"
            r" hand|instead|rather than|nevertheless|yet|but)\b"
        ),
    ),
    Device(
        "figurative",
        0.8,
        _cue(
            r"\blike\b(?! to\b)|\b(?:as if|as though|a kind of|so-called|sometimes called|"
            r"nicknamed|known as|beating heart|the (?:heart|lungs|cradle|birthplace|backbone|"
            r"engine|father|mother) of|the gateway to|a (?:sea|mountain|wave|flood|storm) of)\b"
        ),
    ),
    Device(
        "comparison",
        0.75,
        _cue(
            r"\b(?:than|compared?|comparison|similar to|equal to|the same as|twice|"
            r"as \w+ as|more \w+|fewer|faster|slower|larger|smaller|longer|shorter|higher|lower)\b"
        ),
    ),
    Device(
        "emphasis",
        0.6,
        _cue(
            r"\bnot only\b|\b(?:most|least|first|only|never|ever|no other|any other|every|all)\b|"
            rf"\b(?!(?:{_NOT_SUPERLATIVE})\b)\w{{3,}}est\b|\bbest\b"
        ),
    ),
    Device(
        "cause",
        0.45,
        _cue(
            r"\b(?:because|therefore|thus|as a result|consequently|so that|that is why|which is why|"
            r"led to|caused|due to|meanwhile|eventually|at first|later|until)\b"
        ),
    ),
    Device("figures", 0.25, re.compile(r"\d")),
)
"""Devices from strongest to weakest cue; the first one found is a sentence's main device."""

SECONDARY_SHARE = 0.25
"""How much each further device adds to a sentence's cue score, relative to its own weight."""


def detect_devices(sentence: str) -> list[Device]:
    """The devices whose cue occurs in `sentence`, strongest first."""
    return [device for device in DEVICES if device.pattern.search(sentence)]


def cue_score(sentence: str) -> float:
    """The main device's weight plus a share of the others', 0 for a sentence with no cue."""
    found = detect_devices(sentence)
    if not found:
        return 0.0
    return found[0].weight + SECONDARY_SHARE * sum(device.weight for device in found[1:])


def split_at_cue(sentence: str, device: Device) -> tuple[str, str]:
    """The sentence before and after the device's first cue (whole sentence and '' if none)."""
    match = device.pattern.search(sentence)
    if not match:
        return sentence, ""
    return sentence[: match.start()], sentence[match.end() :]
