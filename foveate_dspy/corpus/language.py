"""Which language an article is written in, and which one the teacher is told to write in.

Training pairs belong in the language of their source: a German manual should give German
questions and answers. Each article's language is detected once, when the corpus is read (it goes
into the record's `source.language`), with py3langid: a naive Bayes model over byte n-grams
bundled in the package (no download), about a millisecond per passage, 140 languages. Written
Chinese that it labels Wu or Cantonese is folded into `zh`, since a teacher asked for "Chinese"
writes the same text. Text too short to tell (under MIN_CONFIDENCE) is `und` (undetermined), and
the teacher is then asked to write in the article's language.

The teacher learns the language through the `language` input field of the synthesis and answer
signatures; the runner sets OUTPUT_LANGUAGE for each article (`--output-language auto`, the
default, uses the article's own language; a code forces one), and the modules read it with
`output_language()`. Outside a run (tests, optimisation) the teacher is asked to use the
article's language.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from contextvars import ContextVar
from functools import lru_cache

AUTO = "auto"
UNDETERMINED = "und"
SAME_AS_ARTICLE = "the language the article is written in"

MIN_CONFIDENCE = 0.3  # probability (py3langid's normalised scores) below which a text is `und`
_FOLDED = {"wuu": "zh", "yue": "zh"}
_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")

NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian",
    "it": "Italian", "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay",
    "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish", "th": "Thai", "tr": "Turkish",
    "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip
"""English names for the prompt; any other code is given to the teacher as the bare ISO code."""

OUTPUT_LANGUAGE: ContextVar[str | None] = ContextVar("output_language", default=None)
"""The ISO 639 code the teacher writes the current article's pairs in; None: the article's own."""

LANGUAGE_FORCED: ContextVar[bool] = ContextVar("language_forced", default=False)
"""True when --output-language forces a language other than the article's own."""


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str:
    """The ISO 639 code of `text`'s language; `und` when no language reaches MIN_CONFIDENCE
    (a few words such as "Plain text." are not enough to tell)."""
    if not any(char.isalpha() for char in text):
        return UNDETERMINED
    scores: dict[str, float] = {}
    for code, probability in _identifier().rank(text):
        folded = _FOLDED.get(code, code)
        scores[folded] = scores.get(folded, 0.0) + probability
    best = max(scores, key=scores.__getitem__)
    return best if scores[best] >= MIN_CONFIDENCE else UNDETERMINED


def is_language_code(value: str) -> bool:
    """Whether `value` looks like an ISO 639 code (`de`, `zh`, `pt-BR`): for --output-language."""
    return bool(_CODE.match(value))


def describe(code: str) -> str:
    """How the teacher is told a language: "German (de)"."""
    name = NAMES.get(code.split("-")[0])
    return f"{name} ({code})" if name else f"the language with ISO 639 code {code!r}"


def resolve(setting: str, article_language: str | None) -> str | None:
    """The code to write an article's pairs in: the forced one, else the article's (None when
    the article's language is unknown, so the teacher follows the article)."""
    if setting != AUTO:
        return setting
    if article_language in (None, "", UNDETERMINED):
        return None
    return article_language


def output_language() -> str:
    """The `language` input for the teacher's synthesis and answer calls of this article."""
    code = OUTPUT_LANGUAGE.get()
    return describe(code) if code else SAME_AS_ARTICLE


# --- is an answer in the article's language? ------------------------------------------------

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
    """Why the answer is not in the article's language, or None when it is (or cannot be told).

    By writing system only (Latin, Cyrillic, Greek, CJK, Arabic...): cheap, and it catches a
    teacher that answers an English article in Chinese or the reverse; two languages sharing a
    script are not told apart. Not checked when --output-language forces a language."""
    if LANGUAGE_FORCED.get():
        return None
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
