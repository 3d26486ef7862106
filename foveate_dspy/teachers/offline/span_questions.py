"""Answer span -> question: reverse synthesis by rewriting the article's own sentence.

The sentence that contains the span is turned into a question whose answer is the span: the
span is replaced by a wh-word chosen by what it looks like (a year asks "When", a quantity
"How many houses", a name "Who", a place after "in" "Where"), fronted where the clause is
simple enough to reorder safely ("When did she move to Paris?", "How many houses had the fire
destroyed within four days?") and left in place otherwise ("According to the passage, the
fire began in the early hours of what date?"). Writers return options best first; the first
is the normal-mode question, the rest are what creative mode picks from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from foveate_dspy.teachers.offline.grammar import AUXILIARIES, IRREGULAR_PAST, past_to_base, present_to_base
from foveate_dspy.teachers.offline.templates import GENERIC_SPAN_TEMPLATES, IN_SITU_OPENERS, scaffold_stems
from foveate_dspy.corpus.text import (
    MONTHS,
    STOPWORDS,
    Token,
    content_stems,
    find_phrase,
    stem,
    tidy_question,
    tokenize,
)

PLACE_WORDS = frozenset(
    "river lane street road avenue city town village ocean sea lake mountains mount island islands "
    "bay valley desert forest park square bridge castle district province county state republic "
    "kingdom coast harbour harbor port gulf strait canal peninsula continent country region".split()
)
NAME_HEADS = frozenset(
    "Prize Museum University Institute College School Society Department Ministry Bank Academy "
    "Church Cathedral Festival Championship Cup Games Laboratory Centre Center Professor Minister "
    "Secretary Bishop Duke Earl Order".split()
)
"""Capitalised words that a preposition extends into a longer name ('Prize in Chemistry')."""
TITLES = frozenset(
    "sir dr mr mrs ms prof professor king queen prince princess lord lady saint general marquis baron "
    "count duke emperor empress pope president chancellor".split()
)
PLACE_PREPOSITIONS = frozenset(
    "in at near across through into to from inside outside throughout".split()
)
FRONTABLE_PLACE_PREPOSITIONS = frozenset("in at near to into".split())
TIME_PREPOSITIONS = frozenset("in on during around circa".split())
LEAD_PREPOSITIONS = frozenset(
    "in on at by during after before within around over since until from throughout with".split()
)
SUBORDINATORS = frozenset("when although though because while whereas if once as unlike".split())
SUBJECT_STARTERS = frozenset(
    "the a an she he it they we its his her their this these those each every".split()
)
TIME_WORDS = frozenset("today now later earlier modern eventually finally yesterday".split())
"""Clause openers that are capitalised only because they open the sentence."""
DETERMINERS = frozenset("the a an his her its their".split())
REPORTING_VERBS = r"(?:said|says|saying|wrote|writes|observed|argued|complained|remarked|declared)"
_LEADING_CONNECTIVE = re.compile(
    r"^(?:However|Yet|But|And|So|Still|Moreover|Instead|Thus|Therefore|Nevertheless|Also),?\s+",
    re.IGNORECASE,
)
_INNER_CONNECTIVE = re.compile(
    r",\s*(?:however|by contrast|in fact|of course|though|too),\s*", re.I
)
_MAX_QUESTION_WORDS = 22
_SHORT_QUESTION_WORDS = 16


@dataclass(frozen=True)
class SpanKind:
    """What an answer span looks like, and the wh-words that ask for it."""

    kind: str  # year, date, quantity, person, place, thing
    unit: str = ""  # the counted noun of a quantity

    def front(self) -> str:
        return {
            "year": "When",
            "date": "When",
            "quantity": f"How many {self.unit}".strip() if self.unit else "How many",
            "person": "Who",
            "place": "Where",
        }.get(self.kind, "What")

    def subject_front(self) -> str:
        """The wh-word that replaces a span standing as the clause's subject."""
        if self.kind in ("person", "quantity"):
            return self.front()
        return "What"

    def in_situ(self, preposition: str) -> str:
        if self.kind == "year":
            return "what year"
        if self.kind == "date":
            return "what date"
        if self.kind == "quantity":
            return f"how many {self.unit}".strip()
        if self.kind == "person":
            return "whom" if preposition else "who"
        if self.kind == "place":
            return "which place" if preposition else "what place"
        return "what"


def classify_span(
    span: str,
    preposition: str,
    following: str,
    inside_name: bool = False,
    after_the: bool = False,
) -> SpanKind:
    """Guess what a span is from its shape, the preposition before it (lower-case, '' if none)
    and what follows it. `inside_name` marks a preposition that continues a capitalised name
    ('Prize in Chemistry'), which does not make a place; `after_the` marks a name read after
    'the' ('the Great Depression', 'the 1908 London Olympics'), which is rarely a person."""
    text = span.strip()
    if re.fullmatch(r"(?:1[0-9]{3}|20[0-9]{2}|\d{3,4}s|\d{1,4} (?:BC|BCE|AD|CE))", text):
        return SpanKind("year")
    if any(month in text for month in MONTHS) and re.search(r"\d", text):
        return SpanKind("date")
    number = re.match(
        r"^(?:[$£€]\s?)?[\d.,]+(?:\s?%|\s(?:percent|per cent))?(?:\s(?:million|billion|thousand|hundred))?"
        r"|^(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
        r"forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|dozens?)\b",
        text,
        re.I,
    )
    if number:
        unit = text[number.end() :].strip()
        return SpanKind("quantity", unit)
    words = text.split()
    capitalised = words and all(
        w[:1].isupper() or w in ("of", "de", "de'", "van", "von") for w in words
    )
    if capitalised and not any(ch.isdigit() for ch in text):
        lowered = {w.lower().strip(".") for w in words}
        if (preposition in PLACE_PREPOSITIONS and not inside_name) or lowered & PLACE_WORDS:
            return SpanKind("place")
        if lowered & TITLES or (
            len(words) >= 2 and "of" not in lowered and not after_the and _name_like(words)
        ):
            return SpanKind("person")
        reporting = (
            rf"\s*,?\s*(?:later\s+|had\s+|once\s+|is often quoted as\s+)?{REPORTING_VERBS}\b"
        )
        if re.match(reporting, following):
            return SpanKind("person")
    return SpanKind("thing")


NON_PERSON_WORDS = frozenset(
    "act age art average bank building cathedral church club college company council day empire "
    "exchange fire friday games hospital house industrial institute labs lane marathon mayor "
    "monday museum olympics party prize record revolution saturday society sunday thursday "
    "tower tuesday university war wednesday world".split()
)
"""Words that make a capitalised name an organisation, event or object, not a person."""


def _name_like(words: Sequence[str]) -> bool:
    """Two to four capitalised words with no organisation or event word: probably a person."""
    return 2 <= len(words) <= 4 and not (
        {re.sub(r"['’]s$", "", w.lower()) for w in words} & NON_PERSON_WORDS
    )


def span_question_options(
    sentence: str, span: str, rotation: int, common: frozenset[str] = frozenset()
) -> list[str]:
    """Questions whose answer is `span`, built from `sentence` (which contains it), best first.

    Options: a subject question or a fronted wh-question when the clause allows one, then
    in-situ questions with every opener, rotated by `rotation` so neighbouring items differ.
    `common` holds stems the article also writes in lower case: a clause-initial capital on
    such a word ("Tulips had arrived") is lowered once an opener precedes it."""
    clause = _clause_with(sentence, span)
    position = find_phrase(clause, span)
    if position < 0:
        return []
    end = position + len(span.strip())
    preposition, modifier_start = _preceding(clause, position)
    after_the = re.search(r"\bthe\s+(?:\d[\d,]*\s+)?$", clause[:position], re.IGNORECASE)
    kind = classify_span(
        span, preposition, clause[end:], _inside_name(clause, modifier_start), bool(after_the)
    )
    options = []
    fronted = _fronted(clause, position, end, modifier_start, preposition, kind)
    if fronted:
        options.append(fronted)
    in_situ = _in_situ(clause, position, end, modifier_start, preposition, kind)
    first = in_situ.split(" ", 1)[0]
    if first[:1].isupper() and stem(first) in common and find_phrase(span, first) < 0:
        in_situ = in_situ[:1].lower() + in_situ[1:]
    openers = list(IN_SITU_OPENERS[rotation % len(IN_SITU_OPENERS) :]) + list(
        IN_SITU_OPENERS[: rotation % len(IN_SITU_OPENERS)]
    )
    options.extend(tidy_question(opener + in_situ) for opener in openers)
    return [
        q
        for q in dict.fromkeys(options)
        if find_phrase(q, span) < 0 and content_stems(q, ignore=scaffold_stems())
    ]


def generic_span_options(span: str, rotation: int) -> list[str]:
    """When the span is nowhere in the article: ask what the text says about it."""
    shift = rotation % len(GENERIC_SPAN_TEMPLATES)
    templates = GENERIC_SPAN_TEMPLATES[shift:] + GENERIC_SPAN_TEMPLATES[:shift]
    return [t.format(a=span.strip()) for t in templates]


def _clause_with(sentence: str, span: str) -> str:
    """The clause holding the span (split at ';', ':' and ', and/but/whereas ...' before a new
    subject), without leading or parenthetical connectives ('However, ...', ', by contrast,')."""
    clause = sentence
    parts = re.split(
        r"(?<=[;:])\s+|,\s+(?=(?:and|but|whereas|while|yet)\s+(?:(?:in|by|on|for|after|during|until)\s+\d|the\b|a\b|an\b|it\b|he\b|"
        r"she\b|they\b|its\b|their\b|[A-Z]))",
        sentence,
    )
    for part in parts:
        if find_phrase(part, span) >= 0 and len(part.split()) >= 4:
            clause = part
            break
    clause = clause.strip().rstrip(" ;:")
    clause = re.sub(r"^(?:and|but|whereas|while|yet)\s+", "", clause)
    clause = _LEADING_CONNECTIVE.sub("", clause)
    clause = _INNER_CONNECTIVE.sub(" ", clause)
    return clause[:1].upper() + clause[1:]


def _preceding(clause: str, position: int) -> tuple[str, int]:
    """The preposition right before the span (lower-case, '' if none), and where the words that
    go with the span (preposition, quantity modifier, determiner) begin."""
    before = clause[:position]
    match = re.search(
        r"(?:\b(?P<prep>in|on|at|by|from|to|near|during|around|across|through|into|of|with|for|"
        r"until|since|after|before)\s+)?(?P<mod>\b(?:about|nearly|some|more than|over|almost|roughly|"
        r"exactly|only|just|under|the|a|an)\s+)?$",
        before,
        re.I,
    )
    if not match or match.start() == position:
        return "", position
    return (match.group("prep") or "").lower(), match.start()


def _in_situ(clause: str, start: int, end: int, cut: int, preposition: str, kind: SpanKind) -> str:
    keep_prep = clause[cut:start]
    modifier = re.sub(
        r"\b(?:about|nearly|some|more than|over|almost|roughly|exactly|just|the|a|an)\b\s*",
        "",
        keep_prep,
        flags=re.I,
    )
    question = clause[:cut] + modifier + kind.in_situ(preposition) + clause[end:]
    question = _trim(question, cut + len(modifier) + len(kind.in_situ(preposition)))
    return _lower_first(question)


def _fronted(
    clause: str, start: int, end: int, cut: int, preposition: str, kind: SpanKind
) -> str | None:
    """'Who/What ...' for a subject span, 'When did X ...' / 'How many Y had X ...' otherwise;
    None when the clause is not simple enough to reorder safely."""
    tokens = tokenize(clause)
    if not tokens:
        return None
    lead_end = _lead_end(clause, tokens)
    if lead_end == 0:
        subject_question = _subject_question(clause, start, end, kind)
        if subject_question:
            return subject_question
    body = [t for t in tokens if t.start >= lead_end]
    verb = _main_verb(body)
    if verb is None:
        return None
    index, (do_form, base), auxiliary = verb
    verb_token = body[index]
    subject_text = clause[body[0].start : verb_token.start].strip()
    if not subject_text or re.search(r"[,;:\"“”()]", subject_text):
        return None
    participle = None
    if auxiliary and index + 1 < len(body) and past_to_base(body[index + 1].text):
        participle = body[index + 1]
    object_start = (participle or verb_token).end
    in_lead = start < lead_end
    if not in_lead and (start < object_start or "," in clause[object_start:cut]):
        return None
    directly = clause[object_start:cut].strip().lower() in ("", *DETERMINERS)
    if not _frontable(kind, preposition, clause, cut, auxiliary, participle is not None, in_lead, directly):
        return None
    front = "By whom" if (kind.kind == "person" and preposition == "by") else kind.front()
    rest, tail = _rest_and_tail(clause, verb_token.end, end, cut, lead_end, in_lead)
    subject_text = _lower_first(subject_text)
    if auxiliary:
        body_text = f"{front} {verb_token.text.lower()} {subject_text}{rest}"
    else:
        body_text = f"{front} {do_form} {subject_text} {base}{rest}"
    body_text = _shorten(body_text.rstrip(" ,.;:"), len(front) + len(subject_text) + 6)
    if tail and len(body_text.split()) + len(tail.split()) <= _MAX_QUESTION_WORDS:
        body_text += " " + _lower_first(tail)
    return tidy_question(body_text)


def _frontable(
    kind: SpanKind, preposition: str, clause: str, cut: int, auxiliary: bool, participle: bool, in_lead: bool, directly: bool
) -> bool:
    """Whether the span can move to the front of the question: a time after a time preposition,
    a place after a frontable preposition (not inside a name), an agent after 'by' in a passive
    clause; anything else only as the verb's direct object."""
    if kind.kind in ("year", "date"):
        return preposition in TIME_PREPOSITIONS
    if kind.kind == "place":
        return preposition in FRONTABLE_PLACE_PREPOSITIONS and not _inside_name(clause, cut)
    if kind.kind == "person" and preposition == "by":
        return auxiliary and not in_lead
    return not in_lead and directly and not preposition and (participle or not auxiliary)


def _rest_and_tail(clause: str, verb_end: int, end: int, cut: int, lead_end: int, in_lead: bool) -> tuple[str, str]:
    """What follows the verb once the span is fronted (the span cut out, no second verb), and the
    clause's lead phrase to append after it ('' when the span was in the lead)."""
    if in_lead:
        rest, tail = clause[verb_end:], ""
    else:
        rest = clause[verb_end:cut] + clause[end:]
        rest = _trim(rest, cut - verb_end, removed=True)
        tail = clause[:lead_end].strip(" ,")
    return _trim(_drop_second_verb(rest), 0), tail


def _drop_second_verb(rest: str) -> str:
    """'... to his laboratory and noticed something': a second finite verb would need its own
    do-support, so the question stops before it."""
    for match in re.finditer(r"\s+and\s+([a-z]+)\b", rest):
        if past_to_base(match.group(1)):
            return rest[: match.start()]
    return rest


def _subject_question(clause: str, start: int, end: int, kind: SpanKind) -> str | None:
    """'Who designed a new St Paul's?' when the span is the clause's subject (possibly after a
    determiner or a short title such as 'The astronomer')."""
    opening = clause[:start].strip()
    rest = clause[end:]
    appositive_span = opening.endswith(",") and len(opening.split()) <= 5 and rest.startswith(",")
    if appositive_span:  # "The Lord Mayor, Sir Thomas Bloodworth, at first dismissed ..."
        rest = " " + rest[1:]
    elif opening.lower() not in ("", "the", "a", "an") and not (
        kind.kind == "person" and re.fullmatch(r"(?:The|A|An)(?: [a-z]+){1,2}", opening)
    ):
        return None
    appositive = re.match(r"\s*,[^,]{1,60},", rest)
    if appositive:
        rest = rest[appositive.end() :]
    after = tokenize(rest)
    if (
        kind.kind == "year"
        or not after
        or after[0].text[:1].isupper()
        or re.match(r"\s*[;:,]", rest)
    ):
        return None
    if not after[0].text.islower() or after[0].text in SUBJECT_STARTERS:
        return None  # "the radiation | she studied ...": the subject runs on
    front = kind.subject_front()
    return tidy_question(_shorten(_trim(front + " " + rest.strip(), len(front)), len(front)))


def _inside_name(clause: str, cut: int) -> bool:
    """'the Nobel Prize in Chemistry': the preposition continues an institution's name."""
    before = clause[:cut].split()
    return bool(before) and before[-1].strip(",") in NAME_HEADS


def _lead_end(clause: str, tokens: list[Token]) -> int:
    """Where a leading adverbial ("In 1891", "Within four days", "Around 1700, in Florence,",
    "When the Games were held in 1896,") ends; 0 when the clause starts with its subject."""
    first = tokens[0].text.lower()
    comma = clause.find(",")
    if first in SUBORDINATORS:
        return comma + 1 if 0 < comma and len(clause[:comma].split()) <= 20 else 0
    if first not in LEAD_PREPOSITIONS:
        return 0
    if 0 < comma and len(clause[:comma].split()) <= 8 and not _has_verb(clause[:comma]):
        end = comma + 1
        while True:
            nxt = re.match(r"\s*(\w+)[^,]{0,40},", clause[end:])
            if not (
                nxt and nxt.group(1).lower() in LEAD_PREPOSITIONS and not _has_verb(nxt.group())
            ):
                return end
            end += nxt.end()
    window = tokens[2:8]
    for token in window:
        if token.text.lower() in SUBJECT_STARTERS:
            return token.start
    for i, token in enumerate(window, start=2):
        previous = tokens[i - 1].text
        if (
            token.text[:1].isupper()
            and token.text not in MONTHS
            and (
                previous[:1].isdigit() or (previous.islower() and previous not in LEAD_PREPOSITIONS)
            )
        ):
            return token.start
    return 0


def _has_verb(text: str) -> bool:
    return any(w.lower() in AUXILIARIES or past_to_base(w) for w in re.findall(r"[A-Za-z]+", text))


def _main_verb(body: list[Token]) -> tuple[int, tuple[str, str], bool] | None:
    """(index in `body`, (do-form, base), is auxiliary) of the finite verb after the subject."""
    for i, token in enumerate(body[1:8], start=1):
        low = token.text.lower()
        if not token.text.islower():
            continue
        if low in AUXILIARIES:
            return i, ("", ""), True
        base = past_to_base(low)
        if base:
            later = [t.text.lower() for t in body[i + 1 : i + 4]]
            if any(
                w in AUXILIARIES or w in IRREGULAR_PAST or (w.endswith("ed") and past_to_base(w))
                for w in later
            ):
                return None  # "a maker named X built ...": the first -ed is not the verb
            return i, ("did", base), False
        if i == 1 and body[0].text.lower() in ("he", "she", "it"):
            present = present_to_base(low)
            if present:
                return i, ("does", present), False
    return None


def _trim(text: str, from_position: int, removed: bool = False) -> str:
    """Shorten a question after `from_position`: when the span was `removed`, drop the
    coordination it leaves dangling ("had destroyed [13,200 houses] and 87 churches"); cut at
    the next coordinated clause, and at the next comma when the question is long."""
    head, tail = text[:from_position], text[from_position:]
    if removed and from_position > 0 and re.match(r"\s*(?:,|and\b|or\b)", tail):
        return head
    clause_break = re.search(r",\s+(?:and|but|whereas|while|yet|so|or)\s|;", tail)
    if clause_break and len((head + tail[: clause_break.start()]).split()) >= 5:
        tail = tail[: clause_break.start()]
    if len((head + tail).split()) > _MAX_QUESTION_WORDS:
        comma = _comma(tail)
        if comma >= 0 and len((head + tail[:comma]).split()) >= 6:
            tail = tail[:comma]
    return head + tail


def _shorten(question: str, after: int) -> str:
    """Cut a question longer than `_SHORT_QUESTION_WORDS` at its first comma after `after`."""
    if len(question.split()) <= _SHORT_QUESTION_WORDS:
        return question
    comma = _comma(question, after)
    if comma > 0 and len(question[:comma].split()) >= 5:
        return question[:comma]
    return question


def _comma(text: str, start: int = 0) -> int:
    """The first clause comma at or after `start` (not the one inside '70,900'); -1 if none."""
    match = re.compile(r",(?!\d)").search(text, start)
    return match.start() if match else -1


def _lower_first(text: str) -> str:
    """Lower-case a clause's first word when it is a function word ('The', 'In', 'Whereas')."""
    text = text.strip()
    first = text.split(" ", 1)[0].lower()
    if first in STOPWORDS or first in LEAD_PREPOSITIONS or first in SUBORDINATORS | TIME_WORDS:
        return text[:1].lower() + text[1:]
    return text
