"""Keyword candidates from an article: named entities, dates and quantities, content phrases.

Without a tagger (nltk's needs a data download) the candidates come from surface patterns:
runs of capitalised words ("Great Fire of London", "Voyager 2"), dates and numbers with the noun
they count ("2 September 1666", "13,200 houses"), and runs of lower-case content words trimmed to
their last three words, where English puts the head noun ("strong east wind"). Every candidate is
an exact slice of the article, so it occurs there verbatim.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from foveate_dspy.teachers.offline.grammar import IRREGULAR_PAST, looks_like_verb_form, past_to_base
from foveate_dspy.corpus.text import MONTHS, STOPWORDS, Sentence, Token, stem, tokenize

ENTITY_CONNECTORS = frozenset(
    {"of", "de", "da", "del", "della", "di", "von", "van", "der", "du", "la", "le"}
)
LEADING_NOISE = STOPWORDS | frozenset(
    "today yesterday later earlier meanwhile instead still yet also then now during around over "
    "within throughout after before since until because although however whereas unlike like "
    "each every both many most some several few".split()
)
GENERIC_WORDS = frozenset(
    "many much several various certain little small large big great new old modern early late "
    "first last next other same different whole part kind sort way thing things time times "
    "year years day days today number numbers lot lots people person place began became made "
    "took still almost nearly roughly exactly simply suddenly quickly later far well back near "
    "never always alone enough something".split()
)
"""Words that are content words but say nothing on their own as a keyword."""

OBJECT_STARTERS = frozenset("the a an that its his her their this these those".split())
NUMBER_WORDS = (
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty "
    "fifty sixty seventy eighty ninety hundred hundreds thousand thousands dozen dozens"
).split()

_MONTH = "|".join(MONTHS)
_DATE = re.compile(
    rf"\b(?:\d{{1,2}} (?:{_MONTH}) \d{{3,4}}|(?:{_MONTH}) \d{{1,2}}, \d{{3,4}}|(?:{_MONTH}) \d{{3,4}}"
    rf"|(?:{_MONTH}) \d{{1,2}}|\d{{1,2}} (?:{_MONTH})|\d{{1,4}} (?:BC|BCE|AD|CE)|\d{{3,4}}s"
    rf"|\d{{4}}(?= to \d{{4}}))(?![\w])"
)
_NUMBER = re.compile(
    r"(?<![\w.,])(?:[$£€]\s?)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?%|\s(?:percent|per cent))?"
    r"(?:\s(?:million|billion|trillion|thousand|hundred))?(?![\w])"
    rf"|\b(?:{'|'.join(NUMBER_WORDS)})(?:\s(?:million|billion|thousand|hundred))?\b",
    re.IGNORECASE,
)
FREQUENCY_BONUS = 0.05
"""Added per log-mention: a keyword the article repeats is more central."""
KIND_BONUS = {"entity": 0.05, "date": 0.04, "quantity": 0.04, "phrase": 0.0}
"""Specific kinds get a head start: reverse synthesis writes its best questions about them."""

_YEAR = re.compile(r"^(?:1[0-9]{3}|20[0-9]{2})$")
_MAX_UNIT_WORDS = 2
_MAX_PHRASE_WORDS = 3


@dataclass(frozen=True)
class Candidate:
    """A keyword candidate: its verbatim text, what kind it is, and where it first occurs."""

    text: str
    kind: str  # "entity", "date", "quantity" or "phrase"
    start: int


def extract_candidates(article: str, sentences: list[Sentence]) -> list[Candidate]:
    """All keyword candidates of the article, deduplicated by stemmed words (first occurrence
    wins) and without candidates that only ever occur inside a longer candidate."""
    proper = _proper_words(article, sentences)
    found: list[Candidate] = []
    for sentence in sentences:
        tokens = tokenize(sentence.text, sentence.start)
        taken: set[int] = set()
        found.extend(_dates_and_quantities(article, sentence, tokens, taken))
        found.extend(_entities(article, tokens, proper, taken))
        found.extend(_phrases(article, tokens, proper, taken))
    unique: dict[tuple[str, ...], Candidate] = {}
    for candidate in sorted(found, key=lambda c: c.start):
        key = tuple(stem(w) for w in re.findall(r"\w+", candidate.text))
        if key and key not in unique:
            unique[key] = candidate
    return _drop_enclosed(article, list(unique.values()))


def rank_candidates(
    candidates: list[Candidate], similarities: list[float], article: str
) -> list[tuple[float, Candidate]]:
    """Score = similarity to the article + a small bonus for repeated mentions and for specific
    kinds (entities, dates, quantities are what reverse synthesis asks about best)."""
    scored = []
    for candidate, similarity in zip(candidates, similarities, strict=True):
        mentions = len(
            re.findall(r"(?<!\w)" + re.escape(candidate.text) + r"(?!\w)", article, re.IGNORECASE)
        )
        bonus = FREQUENCY_BONUS * math.log(max(mentions, 1)) + KIND_BONUS.get(candidate.kind, 0.0)
        scored.append((float(similarity) + bonus, candidate))
    scored.sort(key=lambda pair: (-pair[0], pair[1].start))
    return scored


def _proper_words(article: str, sentences: list[Sentence]) -> frozenset[str]:
    """Capitalised words seen somewhere other than at the start of a sentence: proper nouns."""
    proper = set()
    for sentence in sentences:
        for i, token in enumerate(tokenize(sentence.text)):
            if i > 0 and token.text[:1].isupper() and token.text.lower() not in STOPWORDS:
                proper.add(token.text)
    return frozenset(proper)


def _dates_and_quantities(
    article: str, sentence: Sentence, tokens: list[Token], taken: set[int]
) -> list[Candidate]:
    found = []
    for match in _DATE.finditer(sentence.text):
        start, end = sentence.start + match.start(), sentence.start + match.end()
        found.append(Candidate(article[start:end], "date", start))
        taken.update(range(start, end))
    for match in _NUMBER.finditer(sentence.text):
        start, end = sentence.start + match.start(), sentence.start + match.end()
        if start in taken:
            continue
        if not _YEAR.match(match.group()):  # "1841 book" names a year, not 1,841 books
            end = _extend_with_unit(article, tokens, end)
        text = article[start:end]
        if _YEAR.match(text):
            found.append(Candidate(text, "date", start))
        elif end > sentence.start + match.end() or re.search(r"\d{2,}|[%$£€]|illion", text):
            found.append(Candidate(text, "quantity", start))
        else:
            continue
        taken.update(range(start, end))
    return found


def _extend_with_unit(article: str, tokens: list[Token], end: int) -> int:
    """Extend a number with up to two following lower-case content words: the thing counted."""
    following = [t for t in tokens if t.start >= end]
    added = 0
    for token in following:
        if added == _MAX_UNIT_WORDS or article[end : token.start] != " ":
            break
        word = token.text
        if not word[:1].islower() or word.lower() in STOPWORDS or looks_like_verb_form(word):
            break
        end, added = token.end, added + 1
    return end


def _entities(
    article: str, tokens: list[Token], proper: frozenset[str], taken: set[int]
) -> list[Candidate]:
    """Runs of capitalised words, joined by connectors ("of", "de") and trailing model numbers."""
    found, run = [], []
    for token in [*tokens, None]:
        if token is not None and run and _joined(article, run[-1], token):
            if (
                _capitalised(token)
                or token.text in ENTITY_CONNECTORS
                or _model_number(run[-1], token)
            ):
                run.append(token)
                continue
        if run:
            found.extend(
                _entity_from_run(article, run, proper, first_in_sentence=run[0] is tokens[0])
            )
        run = (
            [token]
            if token is not None and _capitalised(token) and token.start not in taken
            else []
        )
    for candidate in found:
        taken.update(range(candidate.start, candidate.start + len(candidate.text)))
    return found


def _entity_from_run(
    article: str, run: list[Token], proper: frozenset[str], first_in_sentence: bool
) -> list[Candidate]:
    while run and (run[0].text.lower() in LEADING_NOISE or run[0].text in MONTHS):
        run = run[1:]
        first_in_sentence = False
    while run and (run[-1].text in ENTITY_CONNECTORS or run[-1].text in MONTHS):
        run = run[:-1]
    if not run:
        return []
    if first_in_sentence and len(run) == 1 and run[0].text not in proper:
        return []  # capitalised only because it starts the sentence
    start, end = run[0].start, run[-1].end
    text = re.sub(r"['’]s$", "", article[start:end])
    return [Candidate(text, "entity", start)]


def _phrases(
    article: str, tokens: list[Token], proper: frozenset[str], taken: set[int]
) -> list[Candidate]:
    """Lower-case content-word runs (last three words), their last two words, and single
    content words that are not verb forms or generic."""
    found, run = [], []
    for i, token in enumerate(tokens + [None]):
        usable = (
            token is not None and _content_word(token, i == 0, proper) and token.start not in taken
        )
        if usable and run and _joined(article, run[-1], token):
            run.append(token)
            continue
        if run:
            if token is not None and token.text.lower() in OBJECT_STARTERS and len(run) > 1:
                run = run[:-1]  # "historians suspect | that": a run before an object ends in a verb
            found.extend(_phrases_from_run(article, run))
        run = [token] if usable else []
    return found


def _phrases_from_run(article: str, run: list[Token]) -> list[Candidate]:
    while run and (_weak(run[-1].text) or looks_like_verb_form(run[-1].text)):
        run = run[:-1]
    while run and (_weak(run[0].text) or past_to_base(run[0].text)):
        run = run[1:]
    if not run:
        return []
    found = []
    head = run[-_MAX_PHRASE_WORDS:]
    found.append(Candidate(article[head[0].start : head[-1].end], "phrase", head[0].start))
    if len(head) == 3:
        found.append(Candidate(article[head[1].start : head[-1].end], "phrase", head[1].start))
    for token in run:
        word = token.text.lower()
        if len(word) >= 4 and not _weak(word) and not looks_like_verb_form(word):
            found.append(Candidate(token.text, "phrase", token.start))
    return found


def _weak(word: str) -> bool:
    """Adverbs and generic words: they never start or end a keyword phrase."""
    low = word.lower()
    return low in GENERIC_WORDS or low.endswith("ly")


def _content_word(token: Token, sentence_initial: bool, proper: frozenset[str]) -> bool:
    word = token.text
    low = word.lower()
    if (
        low in STOPWORDS
        or low in LEADING_NOISE
        or low in NUMBER_WORDS
        or any(c.isdigit() for c in word)
    ):
        return False
    if _weak(low) or low in IRREGULAR_PAST:
        return False  # adverbs, generic words and irregular past verbs break a phrase
    if word[:1].isupper():
        return sentence_initial and word not in proper
    return len(word) > 2


def _capitalised(token: Token) -> bool:
    return token.text[:1].isupper()


def _model_number(previous: Token, token: Token) -> bool:
    """'Voyager 2', 'Intel 4004': a short or non-year number right after a name."""
    text = token.text
    return (
        previous.text[:1].isupper()
        and previous.text not in MONTHS
        and text.isdigit()
        and (len(text) <= 3 or int(text) > 2100)
    )


def _joined(article: str, left: Token, right: Token) -> bool:
    """Adjacent words separated by one space (or an elided "de' ")."""
    return article[left.end : right.start] in (" ", "' ", "’ ")


def _drop_enclosed(article: str, candidates: list[Candidate]) -> list[Candidate]:
    """Drop a candidate whose every occurrence lies inside an occurrence of a longer one
    ("Pudding" inside "Pudding Lane"): it adds nothing the longer one does not carry."""
    spans = {c.text.lower(): _occurrences(article, c.text) for c in candidates}
    kept = []
    for candidate in candidates:
        own = spans[candidate.text.lower()]
        longer = [
            span
            for other in candidates
            if len(other.text) > len(candidate.text)
            and candidate.text.lower() in other.text.lower()
            for span in spans[other.text.lower()]
        ]
        if own and longer and all(any(a <= s and e <= b for a, b in longer) for s, e in own):
            continue
        kept.append(candidate)
    return kept


def _occurrences(article: str, phrase: str) -> list[tuple[int, int]]:
    pattern = re.compile(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", re.IGNORECASE)
    return [(m.start(), m.end()) for m in pattern.finditer(article)]
