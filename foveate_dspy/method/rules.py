"""The method's rules, checked on what the teacher writes, each failure a named rejection reason.

The paper's prompts state rules (keywords and key sentences come from the article, a micro
question must not contain its answer, a scatter question uses every keyword of its group, the
answer comes from the article) and its re-synthesis enforces them. A teacher that breaks them
silently produces training pairs that teach the student to invent. Every check here is a pure
function of the texts; a failure is a reason `rule: <name>: <detail>`, so re-synthesis feedback
tells the teacher exactly what to fix and summary.json counts each rule per level.

Three places use them:
- extraction (`feature_problem`): keywords and key sentences that break a rule are dropped
  before any instruction is written for them (micro/scatter `keyword-not-in-article`; macro
  `key-sentence-not-in-article`, `key-sentence-fragment`); a key sentence without a detected
  rhetorical device is counted (`no-rhetorical-device`), not dropped (see `key_sentence_flag`);
- before answering (`ItemCheck.instruction_problem`): `not-a-question`, micro
  `question-contains-answer`, scatter `keyword-missing-from-question`; no answer call is spent;
- after answering (`ItemCheck.answer_problem`), all levels: `answer-too-long`,
  `answer-language-mismatch`, `answer-repeats-question`, `answer-unsupported`.
Empty answers, `answerable: false` and refusals are `validity.rejection_reason`'s, checked first.
The --no-rules ablation (`SelfFoveate(rules=False)`) skips all three places, to measure what the
rules take out; validity's checks stay, as they were before the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from foveate_dspy.corpus.language import answer_language_mismatch
from foveate_dspy.method.matching import SENTENCE_MIN_SCORE, find_term, locate_sentence, normalise, stem_words
from foveate_dspy.corpus.text import is_stopword
from foveate_dspy.corpus.words import word_count, word_spans
from foveate_dspy.method.items import Feature
from foveate_dspy.method.rhetoric import detect_devices
from foveate_dspy.method.support import SUPPORT_THRESHOLD, support_score

PREFIX = "rule: "
_WHITESPACE = re.compile(r"\s+")

# Rule names (the stable part of each reason).
KEYWORD_NOT_IN_ARTICLE = "keyword-not-in-article"
KEY_SENTENCE_NOT_IN_ARTICLE = "key-sentence-not-in-article"
KEY_SENTENCE_FRAGMENT = "key-sentence-fragment"
NO_RHETORICAL_DEVICE = "no-rhetorical-device"
NOT_A_QUESTION = "not-a-question"
QUESTION_CONTAINS_ANSWER = "question-contains-answer"
KEYWORD_MISSING_FROM_QUESTION = "keyword-missing-from-question"
ANSWER_TOO_LONG = "answer-too-long"
ANSWER_LANGUAGE_MISMATCH = "answer-language-mismatch"
ANSWER_REPEATS_QUESTION = "answer-repeats-question"
ANSWER_UNSUPPORTED = "answer-unsupported"

FRAGMENT_MIN_COVERAGE = 0.5
"""Least share of its article sentence a key sentence must cover: a clause is still a key
sentence, a three-word scrap of one is not."""

RHETORICAL_DEVICES = frozenset({"question", "quotation", "contrast", "figurative", "comparison", "emphasis", "cause"})
"""`rhetoric.DEVICES` that the paper counts as writing technique (metaphor, hyperbole, contrast,
rhetorical questions, quotations and citations, comparisons, transitions). A bare number
("figures") is a detail, not a device."""

MAX_ANSWER_WORDS = 400
MAX_ANSWER_CHARS = 4000
"""An answer over either cap is rejected and kept only up to the cap (the record says so): the
longest accepted offline demo answer has 100 words, and a thorough answer to one question does
not need a page."""

MIN_QUESTION_WORDS = 3

REPEAT_MIN_SHARE = 0.8
"""An answer that adds no content word to its question and restates at least this share of the
question's content words is the question repeated, not answered."""

REPEAT_SAME_TEXT = 90.0
"""Word-sequence similarity (rapidfuzz ratio, 0-100) from which an answer is its question."""

# A quotation of three words or more inside the question ("Explain 'the press was a river'").
_QUOTATION = re.compile(r"""(?:^|[\s(:])(["'])[^"']*\s[^"']*\s[^"']*\1""")

_YES_NO = re.compile(r"^\W*(yes|no|true|false|correct|incorrect)\b", re.IGNORECASE)

# A question or an instruction: a question mark, an interrogative, or an imperative verb.
_QUESTION_CUES = frozenset(
    """
    what which who whom whose when where why how whether
    explain describe list name identify summarise summarize compare contrast give tell state
    outline discuss analyse analyze define find write provide determine evaluate interpret trace
    show specify cite quote paraphrase rewrite calculate estimate characterise characterize
    classify illustrate clarify elaborate assess infer predict argue justify rank recount retell
    translate consider imagine suppose complete choose select match sort order
    """.split()
)


def reason(name: str, detail: str) -> str:
    return f"{PREFIX}{name}: {detail}"


def rule_name(rejection: str | None) -> str | None:
    """The rule a rejection reason names, or None for a reason that is not a rule's."""
    if not rejection or not rejection.startswith(PREFIX):
        return None
    return rejection[len(PREFIX) :].split(":", 1)[0].strip()


# The reasons `validity.rejection_reason` and the levels give, by the start of their text.
_OTHER_REASONS = (
    ("empty instruction", "empty-instruction"),
    ("empty answer", "empty-answer"),
    ("the answerer said", "not-answerable"),
    ("the teacher returned", "missing-question"),
    ("answering: ", "answer-call-failed"),
)


def reason_name(rejection: str) -> str:
    """A short stable name for any rejection reason: the rule's name, the validity check's, or
    "other" (a teacher reply that did not parse, a failed call)."""
    name = rule_name(rejection)
    if name is not None:
        return name
    if "refusal" in rejection:
        return "refusal"
    return next((name for start, name in _OTHER_REASONS if rejection.startswith(start)), "other")


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# --- features (extraction) ---------------------------------------------------------------------


def keyword_problem(article: str, keyword: str) -> str | None:
    """A keyword must occur in the article (case, punctuation, hyphens and inflection aside)."""
    if find_term(article, keyword) is None:
        return reason(KEYWORD_NOT_IN_ARTICLE, f"{_quote(keyword)} does not occur in the article")
    return None


def key_sentence_problem(article: str, sentence: str) -> str | None:
    """A key sentence must be (most of) one of the article's sentences and carry a rhetorical
    device."""
    located = locate_sentence(article, sentence)
    if located is None or located.score < SENTENCE_MIN_SCORE:
        score = 0.0 if located is None else located.score
        return reason(KEY_SENTENCE_NOT_IN_ARTICLE, f"{_quote(sentence)} is not a sentence of the article (best match {score:.0f}/100)")
    if located.coverage < FRAGMENT_MIN_COVERAGE:
        return reason(KEY_SENTENCE_FRAGMENT, f"{_quote(sentence)} is only {located.coverage:.0%} of its article sentence; copy the whole sentence")
    return None


def key_sentence_flag(sentence: str) -> str | None:
    """`no-rhetorical-device` when the cue detector finds no device in the sentence: counted
    (summary.json `extraction_flagged_per_level`), not rejected. The paper's extraction prompt
    asks for "key details" and the main entities as well as for transitions, quotations,
    comparisons and rhetorical devices, so a device is its preference, not its rule; and the
    cue detector misses metaphor without a cue word ("the press was a river no ruler could dam").
    Rejecting on it dropped 32 of the offline demo's 112 accepted key sentences (README, Rules)."""
    if RHETORICAL_DEVICES & {d.name for d in detect_devices(sentence)}:
        return None
    return NO_RHETORICAL_DEVICE


def feature_problem(level: str, article: str, feature: Feature) -> str | None:
    """Why an extracted feature of `level` must be dropped, or None."""
    if level == "macro":
        return key_sentence_problem(article, str(feature))
    if isinstance(feature, list):
        return next((p for p in (keyword_problem(article, k) for k in feature) if p), None)
    return keyword_problem(article, feature)


def feature_spans(article: str, feature: Feature, level: str) -> list[list[int]]:
    """Provenance: where each keyword (or the key sentence) lies in the article, [start, end]."""
    if level == "macro":
        located = locate_sentence(article, str(feature))
        return [[located.start, located.end]] if located is not None else []
    spans = [find_term(article, k) for k in (feature if isinstance(feature, list) else [feature])]
    return [list(span) for span in spans if span is not None]


# --- instructions and answers ------------------------------------------------------------------


def _content(text: str) -> list[str]:
    return [w.stem for w in stem_words(text) if not is_stopword(w.text)]


def question_form_problem(instruction: str, feature: Feature) -> str | None:
    """A question or instruction: words of its own beyond the feature, and a question's form."""
    words = stem_words(instruction)
    if len(words) < MIN_QUESTION_WORDS:
        return reason(NOT_A_QUESTION, f"{_quote(instruction)} has {len(words)} word(s); write a full question or instruction")
    parts = feature if isinstance(feature, list) else [feature]
    feature_stems = {w.stem for part in parts for w in stem_words(str(part))}
    if not [w for w in words if w.stem not in feature_stems]:
        return reason(NOT_A_QUESTION, f"{_quote(instruction)} only repeats its feature; ask something about it")
    if not instruction.rstrip().endswith("?") and not _QUESTION_CUES & {w.text for w in words}:
        return reason(NOT_A_QUESTION, f"{_quote(instruction)} is a statement, neither a question nor an instruction")
    return None


@dataclass(frozen=True)
class ItemCheck:
    """The rules for one item: its level, its article and its feature."""

    level: str
    article: str
    feature: Feature

    def instruction_problem(self, instruction: str) -> str | None:
        """Why the instruction breaks its level's rules, or None (checked before answering)."""
        form = question_form_problem(instruction, self.feature)
        if form is not None:
            return form
        if self.level == "micro" and find_term(instruction, str(self.feature)) is not None:
            return reason(QUESTION_CONTAINS_ANSWER, f"the question contains its answer {_quote(str(self.feature))}; ask for it without naming it")
        if self.level == "scatter":
            missing = [k for k in self.feature if find_term(instruction, k) is None]
            if missing:
                names = ", ".join(_quote(k) for k in missing)
                return reason(KEYWORD_MISSING_FROM_QUESTION, f"the question does not use {names}; use every keyword of the group")
        return None

    def answer_problem(self, instruction: str, answer: str) -> str | None:
        """Why the answer breaks the rules every level shares, or None."""
        words = word_count(answer)
        if words > MAX_ANSWER_WORDS or len(answer) > MAX_ANSWER_CHARS:
            return reason(
                ANSWER_TOO_LONG,
                f"{words} words, {len(answer)} characters; the cap is {MAX_ANSWER_WORDS} words or {MAX_ANSWER_CHARS} characters (output kept up to the cap)",
            )
        mismatch = answer_language_mismatch(self.article, answer)
        if mismatch:
            return reason(ANSWER_LANGUAGE_MISMATCH, mismatch)
        repeated = repeats_question(instruction, answer)
        if repeated:
            return reason(ANSWER_REPEATS_QUESTION, "the answer only restates the question; it must give what the question asks for")
        score = support_score(self.article, answer)
        if score < SUPPORT_THRESHOLD:
            return reason(
                ANSWER_UNSUPPORTED,
                f"support {score:.2f} < {SUPPORT_THRESHOLD:.2f}: the article does not back most of the answer's content words; ask what the article states",
            )
        return None


def repeats_question(instruction: str, answer: str) -> bool:
    """True when the answer adds no content word to the question and either reads as the
    question itself (word-sequence similarity) or restates most of its content words. A yes/no
    answer may restate its question; so may the answer to a question that quotes the article (a
    macro instruction quoting its key sentence is answered in the quotation's words), unless it
    reads as the question itself."""
    if _YES_NO.match(answer):
        return False
    said = set(_content(answer))
    asked = set(_content(instruction))
    if not said or not asked or not said <= asked:
        return False  # the answer adds a content word: it says something the question did not
    from rapidfuzz import fuzz

    if fuzz.ratio(" ".join(w.text for w in stem_words(instruction)), " ".join(w.text for w in stem_words(answer))) >= REPEAT_SAME_TEXT:
        return True
    return not _QUOTATION.search(normalise(instruction)) and len(said) / len(asked) >= REPEAT_MIN_SHARE


def capped(answer: str) -> str:
    """The answer cut at the caps, marked as cut; unchanged when under them. Words are counted
    as everywhere (corpus.words: a Chinese answer has words too); the cut keeps the text up to
    the last word kept, its whitespace runs made single spaces."""
    spans = word_spans(answer)
    if len(spans) <= MAX_ANSWER_WORDS and len(answer) <= MAX_ANSWER_CHARS:
        return answer
    kept = spans[:MAX_ANSWER_WORDS]
    cut = _WHITESPACE.sub(" ", answer[kept[0][0] : kept[-1][1]])[:MAX_ANSWER_CHARS] if kept else ""
    return f"{cut} […capped: {len(spans)} words, {len(answer)} characters in full]"
