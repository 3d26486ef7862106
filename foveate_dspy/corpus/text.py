"""Plain-text primitives of English text: sentences, words, stems and stopwords.

One home for them: the method's rules and matching, chunking, the offline teacher and the evals' heuristics all read text through this module.

Everything here is a pure function of its arguments. The sentence splitter is a regular
expression that knows common abbreviations, initials and decimals, because nltk's punkt model
needs a data download these machines cannot make; the stemmer is nltk's Porter stemmer, which
needs no data. The stopword list is written out here on purpose: scikit-learn's list counts
content words such as "fire", "system" and "bill" as stopwords, which would blind the offline teacher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

IRREGULAR_PAST = dict(
    pair.split(":")
    for pair in (
        "arose:arise ate:eat became:become began:begin bore:bear bought:buy brought:bring built:build "
        "came:come caught:catch chose:choose drew:draw drove:drive fell:fall felt:feel fled:flee "
        "flew:fly fought:fight found:find gave:give went:go grew:grow held:hold kept:keep knew:know "
        "laid:lay led:lead left:leave lent:lend lost:lose made:make meant:mean met:meet paid:pay "
        "ran:run rang:ring rose:rise said:say sang:sing sank:sink sat:sit saw:see sent:send "
        "shook:shake shone:shine shot:shoot sold:sell sought:seek spent:spend spoke:speak "
        "spread:spread stood:stand stole:steal struck:strike swam:swim swept:sweep took:take "
        "taught:teach told:tell thought:think threw:throw understood:understand woke:wake won:win "
        "wore:wear wrote:write hid:hide overtook:overtake rebuilt:rebuild shrank:shrink sprang:spring "
        "bit:bite dug:dig hung:hang slept:sleep spun:spin stuck:stick swung:swing wept:weep "
        "wound:wind forgot:forget forgave:forgive withdrew:withdraw forbade:forbid "
        "undertook:undertake"
    ).split()
)
"""Past tense -> base form of common irregular verbs."""

STOPWORDS = frozenset(
    """
    a about above after again against all also although am among an and another any are around
    as at be because been before being below between both but by can cannot could did do does
    doing done down during each either else even ever every few for from further had has have
    having he her here hers herself him himself his how however i if in into is it its itself
    just least less let may me might more most much must my myself neither no nor not now of off
    often on once one only onto or other others ought our ours ourselves out over own per
    perhaps quite rather same shall she should since so some such than that the their theirs them
    themselves then there these they this those though through thus to too toward towards under
    until up upon us very via was we were what whatever when whence where whereas whether which
    while who whoever whom whose why will with within without would yet you your yours yourself
    yourselves anyone anything everyone everything someone something nobody nothing everybody
    somebody
    """.split()
)
"""Function words: they carry no topic, so they never make a keyword or count as support."""

MONTHS = (
    "January February March April May June July August September October November December".split()
)

ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e inc ltd co corp gen col lt sgt capt
    gov rev fr u.s u.k u.n c ca approx fig al jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)
"""Words whose trailing full stop does not end a sentence (compared lower-case, without it)."""

NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "vol", "fig", "pp"})
"""Abbreviations only before a number ("No. 5"); elsewhere "no." ends a sentence."""

_WORD = re.compile(r"\w+(?:['’\-.,]\w+)*")
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|[。！？]+[\"'”’)\]」』）]*")
_CJK_STOPS = "。！？"  # Chinese and Japanese full stops: a sentence ends there, no space or capital follows
_PARAGRAPH = re.compile(r"\n\s*\n|\n")
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")
_POSSESSIVE = re.compile(r"['’]s$")


@dataclass(frozen=True)
class Token:
    """A word and its character offsets in the text it came from."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Sentence:
    """A sentence as an exact slice `article[start:end]`, so quotes stay verbatim."""

    text: str
    start: int
    end: int
    index: int


def split_sentences(text: str) -> list[Sentence]:
    """Split `text` into sentences at . ! ? followed by a capital, digit or quote, at the CJK
    full stops 。！？ (with any closing quote), and at line breaks; abbreviations ("St.", "Dr."),
    initials ("J. S. Bach") and decimals ("42.195") do not split."""
    sentences: list[Sentence] = []
    for para_start, para_end in _paragraph_spans(text):
        cursor = para_start
        for match in _BOUNDARY.finditer(text, para_start, para_end):
            if not _ends_sentence(text, match, para_end, cursor):
                continue
            _append(sentences, text, cursor, match.end())
            cursor = match.end()
        _append(sentences, text, cursor, para_end)
    return sentences


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans, cursor = [], 0
    for match in _PARAGRAPH.finditer(text):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, len(text)))
    return spans


_NON_SPACE = re.compile(r"\S")
# A quotation longer than this is taken as unbalanced: tracking it further would make splitting
# quadratic on a long document with one stray quote mark.
_MAX_QUOTED_CHARS = 2000


def _ends_sentence(text: str, match: re.Match, limit: int, start: int) -> bool:
    if match.end() - start <= _MAX_QUOTED_CHARS and _inside_quotation(text[start : match.end()]):
        return False  # '"I ought to be jealous of the tower. She is ..."' is one sentence
    if match.group()[0] in _CJK_STOPS:
        return True
    next_char = _NON_SPACE.search(text, match.end(), limit)
    if next_char is None:
        return True
    first = next_char.group()
    if not (first.isupper() or first.isdigit() or first in "\"'“‘(["):
        return False
    punct = match.group()
    if punct.startswith(".") and len(punct.rstrip("\"'”’)]")) == 1:
        before = _WORD_BEFORE.search(text[max(0, match.start() - 20) : match.start() + 1])
        if before:
            word = before.group(1).lower()
            if word in NUMBER_ABBREVIATIONS:
                return not first.isdigit()
            if word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                return False
    return True


def _inside_quotation(text: str) -> bool:
    """Whether `text` ends inside an open double quotation."""
    straight = text.count('"')
    return straight % 2 == 1 or text.count("“") > text.count("”")


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        sentences.append(Sentence(text[start:end], start, end, len(sentences)))


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Words (letters, digits, inner apostrophes, hyphens, decimal points and thousands commas)
    with offsets shifted by `offset`."""
    return [Token(m.group(), m.start() + offset, m.end() + offset) for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Lower-case Porter stem without a possessive 's, so "Fleming's" matches "Fleming";
    irregular past tenses map to their base first, so "began" matches "begin"."""
    low = _POSSESSIVE.sub("", word.lower())
    return _stemmer().stem(IRREGULAR_PAST.get(low, low))


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem import PorterStemmer

    return PorterStemmer()


def is_stopword(word: str) -> bool:
    return _POSSESSIVE.sub("", word.lower()) in STOPWORDS


def content_stems(text: str, ignore: frozenset[str] = frozenset()) -> frozenset[str]:
    """Stems of the non-stopword words of `text`, minus the stems in `ignore`."""
    found = set()
    for word in words(text):
        if is_stopword(word):
            continue
        token = stem(word)
        if token not in ignore:
            found.add(token)
    return frozenset(found)


def word_count(text: str) -> int:
    return len(words(text))


def find_phrase(text: str, phrase: str, start: int = 0) -> int:
    """Position of `phrase` in `text` as whole words, ignoring case; -1 when absent."""
    if not phrase.strip():
        return -1
    pattern = re.compile(r"(?<!\w)" + re.escape(phrase.strip()) + r"(?!\w)", re.IGNORECASE)
    match = pattern.search(text, start)
    return match.start() if match else -1


def tidy_sentence(text: str) -> str:
    """Collapse whitespace, capitalise the first letter and end with punctuation."""
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if not re.search(r"[.!?。！？][\"'”’)\]]*$", text):
        text += "."
    return text


def tidy_question(text: str) -> str:
    """Collapse whitespace and stray punctuation, capitalise, end with a single '?'."""
    text = " ".join(text.split())
    text = re.sub(r"\s+([,;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"\(\s*\)", "", text)
    text = text.strip(" ,;:-—")
    text = re.sub(r"[.!?;:,]+([\"'”’]?)$", r"\1", text).strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + "?"


def join_list(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
