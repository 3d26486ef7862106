"""Is the answer written in the article's language? A training pair whose answer switches
language teaches the student to do the same.

The check here is by writing system only (Latin, Cyrillic, Greek, CJK, Arabic...): cheap, needs
no model, and catches a teacher that answers an English article in Chinese or the reverse. Two
languages sharing a script (English and German) are not told apart; a language identifier can be
added inside `answer_language_mismatch` without changing its callers.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

MIN_LETTERS = 8
"""Answers with fewer letters are not judged: a short answer may be a name in its own script."""

MIN_SHARE = 0.5
"""Least share of the answer's letters written in the article's main script."""

# Scripts that one language mixes (Japanese: kanji + kana; Korean: hangul + hanja) count as one.
_FAMILIES = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "CJK": "CJK", "IDEOGRAPHIC": "CJK"}


def script_of(char: str) -> str | None:
    """The writing system of a letter ('LATIN', 'CYRILLIC', 'CJK'...), None for anything else."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    first = name.split(" ", 1)[0]
    return _FAMILIES.get(first, first) or None


def script_counts(text: str) -> Counter[str]:
    return Counter(s for s in map(script_of, text) if s is not None)


def answer_language_mismatch(article: str, answer: str) -> str | None:
    """Why the answer is not in the article's language, or None when it is (or cannot be told)."""
    answer_scripts = script_counts(answer)
    letters = sum(answer_scripts.values())
    article_scripts = script_counts(article)
    if letters < MIN_LETTERS or not article_scripts:
        return None
    main = article_scripts.most_common(1)[0][0]
    if answer_scripts[main] / letters >= MIN_SHARE:
        return None
    theirs = answer_scripts.most_common(1)[0][0]
    return f"the answer is written in {theirs.title()} script, the article in {main.title()}"
