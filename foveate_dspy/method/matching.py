"""Where a keyword or a key sentence sits in the article, tolerant of how a teacher copies text.

A real teacher rarely copies byte for byte: it changes case, drops a hyphen ("10th century" for
"10th-century"), inflects ("Normans" for "Norman"), straightens or curls quotes and turns dashes
into hyphens. It also invents ("Sunderland Cathedral" in an article about Durham). Terms are
therefore compared as sequences of word stems (the offline teacher's Porter stemmer, which also
drops a possessive 's and maps irregular past tenses), and sentences by fuzzy alignment. Every
match carries its character span in the original article, kept as provenance.

Normalisation keeps string lengths (one character in, one out), so spans found in the
normalised text are spans of the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from foveate_dspy.corpus.text import split_sentences, stem

# Typographic variants → ASCII, one character for one, so offsets survive normalisation.
_SAME_LENGTH = str.maketrans(
    {
        "‘": "'", "’": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ", "\u200b": " ",
    }
)
# Words: letters and digits, joined across inner apostrophes, full stops and commas ("Paul's",
# "42.195", "13,200"), split at hyphens, slashes and underscores ("10th-century" → 10th century).
_WORD = re.compile(r"[^\W_]+(?:['.,][^\W_]+)*")


# Irregular past participles → base form (the offline stemmer maps irregular past tenses only),
# so "was begun" supports "began" and "has written" supports "wrote".
_PARTICIPLES = dict(
    pair.split(":")
    for pair in (
        "begun:begin written:write taken:take given:give known:know seen:see shown:show driven:drive "
        "grown:grow thrown:throw drawn:draw chosen:choose spoken:speak stolen:steal broken:break "
        "forgotten:forget frozen:freeze eaten:eat fallen:fall flown:fly ridden:ride risen:rise "
        "sung:sing sunk:sink swum:swim worn:wear torn:tear hidden:hide bitten:bite shaken:shake "
        "undertaken:undertake overtaken:overtake withdrawn:withdraw forbidden:forbid forgiven:forgive"
    ).split()
)


def normalise(text: str) -> str:
    """Straight quotes, ASCII hyphens, plain spaces, lower case; same length as `text`."""
    text = text.translate(_SAME_LENGTH)
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)  # e.g. "İ" lowers to two


@dataclass(frozen=True)
class Word:
    text: str  # normalised (lower case, straight quotes)
    stem: str
    start: int
    end: int


def stem_words(text: str) -> list[Word]:
    """The words of `text` as stems with their character offsets."""
    return [Word(m.group(), stem(_PARTICIPLES.get(m.group(), m.group())), m.start(), m.end()) for m in _WORD.finditer(normalise(text))]


@lru_cache(maxsize=256)
def _article_words(article: str) -> tuple[Word, ...]:
    # Every rule looks at the same article many times (each keyword, each attempt).
    return tuple(stem_words(article))


def find_term(text: str, term: str) -> tuple[int, int] | None:
    """The span of the first occurrence of `term` in `text` as whole words, compared stem by
    stem; None when absent or when `term` has no word at all."""
    wanted = [w.stem for w in stem_words(term)]
    if not wanted:
        return None
    words = _article_words(text)
    size = len(wanted)
    for i in range(len(words) - size + 1):
        if words[i].stem == wanted[0] and [w.stem for w in words[i : i + size]] == wanted:
            return words[i].start, words[i + size - 1].end
    return None


SENTENCE_MIN_SCORE = 90.0
"""Least fuzzy alignment score (0-100, rapidfuzz partial ratio) for a key sentence to count as
copied from the article: 90 lets through dropped commas, a changed quote mark or a missing word
in a long sentence; a paraphrase or an invented sentence scores well below (see tests)."""


@dataclass(frozen=True)
class Located:
    """Where a key sentence lies in the article: its aligned span, the score of the alignment,
    and the share of the article sentence(s) it spans that the key covers."""

    start: int
    end: int
    score: float
    coverage: float


def locate_sentence(article: str, sentence: str) -> Located | None:
    """Align `sentence` with the article; None when nothing aligns (empty input)."""
    from rapidfuzz import fuzz

    needle = " ".join(normalise(sentence).split())
    if not needle or not article.strip():
        return None
    haystack = normalise(article)
    exact = re.search(r"\s+".join(re.escape(part) for part in needle.split(" ")), haystack)
    if exact is not None:
        start, end, score = exact.start(), exact.end(), 100.0
    else:
        found = fuzz.partial_ratio_alignment(needle, haystack)
        if found is None:
            return None
        start, end, score = found.dest_start, found.dest_end, found.score
    return Located(start, end, score, _coverage(article, start, end))


def _coverage(article: str, start: int, end: int) -> float:
    """The span's share of the article sentences it touches (1.0 for one whole sentence)."""
    touched = [s for s in split_sentences(article) if s.start < end and s.end > start]
    if not touched:
        return 0.0
    total = sum(s.end - s.start for s in touched)
    inside = sum(min(end, s.end) - max(start, s.start) for s in touched)
    return inside / total if total else 0.0
