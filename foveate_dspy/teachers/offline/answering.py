"""Extractive reading comprehension: answer from the article's own sentences, or say so.

Support is measured, not guessed: the instruction is cut into units (phrases of two or more
content words that occur verbatim in the article, such as "ordinary fire", and the remaining
content words, minus the scaffolding words of question templates, see
`templates.scaffold_words`), the units are looked up in the article's sentences, and the share
a small passage covers is the support. A phrase counts only where it occurs whole, so "ordinary
fire" is not supported by "the Great Fire" plus "an ordinary day". A plain or relation question
may draw on one sentence or two adjacent ones; an enumerative question ("... each of X, Y and
Z ...") may gather one sentence per part. Below `SUPPORT_THRESHOLD` the honest answer is
"I don't know.": an extractive reader cannot bridge facts that sit far apart in the text, so a
relation question over distant keywords fails here while its enumerative rewrite succeeds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from foveate_dspy.method.rhetoric import detect_devices
from foveate_dspy.teachers.offline.templates import scaffold_stems
from foveate_dspy.corpus.text import (
    content_stems,
    find_phrase,
    is_stopword,
    split_sentences,
    stem,
    tidy_sentence,
    tokenize,
)
from foveate_dspy.teachers.offline.workbench import ArticleView
from foveate_dspy.method.refusal import is_refusal

SUPPORT_THRESHOLD = 0.75
"""Least share of the instruction's units (phrases, content words) the chosen sentences hold."""

UNKNOWN_ANSWER = "I don't know."
"""What the reader says below the threshold; `is_refusal` recognises it like any teacher's refusal."""
MAX_GATHERED_SENTENCES = 4
"""Most sentences an enumerative answer gathers."""

ENUMERATIVE = re.compile(r"\beach of\b|\bfor each\b|\bin turn\b|\brespectively\b", re.IGNORECASE)
DEVICE_WORDS = {
    "question": re.compile(r"\bquestion\b", re.I),
    "contrast": re.compile(r"\bcontrast|\bdiffer|\bagainst\b", re.I),
    "comparison": re.compile(r"\bcompar", re.I),
    "quotation": re.compile(r"\bquot|\bwords\b|\bsay\b", re.I),
    "figurative": re.compile(r"\bimage\b|\bfigurative", re.I),
    "figures": re.compile(r"\bfigures\b|\bnumbers\b", re.I),
    "emphasis": re.compile(r"\bstand out\b|\bsingle out\b|\brecord\b|\bextreme\b|\bemphasi", re.I),
    "cause": re.compile(r"\bcause|\bled to\b|\bfollowed from\b", re.I),
}
"""How instructions written from key sentences name the device they ask about."""

_NEW_WORDS_FOR_CONTEXT = 3
_MAX_PHRASE_TOKENS = 12


@dataclass(frozen=True)
class Support:
    """The sentences chosen to answer an instruction and how much of it they cover."""

    sentences: tuple[int, ...]
    coverage: float


def instruction_terms(instruction: str) -> frozenset[str]:
    """Stems of the words that carry the instruction's topic."""
    return content_stems(instruction, ignore=scaffold_stems())


def support_units(
    view: ArticleView, instruction: str
) -> tuple[frozenset[str], list[frozenset[str]]]:
    """The instruction's units, and the units each sentence of the article contains."""
    phrases = article_phrases(view.text, instruction)
    in_phrases = frozenset().union(*(content_stems(p) for p in phrases))
    stems = instruction_terms(instruction) - in_phrases
    units = frozenset({f"phrase:{p.lower()}" for p in phrases} | {f"stem:{t}" for t in stems})
    per_sentence = [
        frozenset(
            {f"phrase:{p.lower()}" for p in phrases if find_phrase(sentence.text, p) >= 0}
            | {f"stem:{t}" for t in stems & sentence_stems}
        )
        for sentence, sentence_stems in zip(view.sentences, view.stems, strict=True)
    ]
    return units, per_sentence


def article_phrases(article: str, instruction: str) -> list[str]:
    """Longest runs of the instruction (two or more content words at both ends) that occur
    verbatim in the article, left to right, without overlap."""
    tokens = tokenize(instruction)
    content = [not is_stopword(t.text) and stem(t.text) not in scaffold_stems() for t in tokens]
    found, i = [], 0
    while i < len(tokens):
        if content[i]:
            for j in range(min(len(tokens), i + _MAX_PHRASE_TOKENS), i + 1, -1):
                if not content[j - 1] or sum(content[i:j]) < 2:
                    continue
                text = instruction[tokens[i].start : tokens[j - 1].end]
                if find_phrase(article, text) >= 0:
                    found.append(text)
                    i = j - 1
                    break
        i += 1
    return found


def find_support(view: ArticleView, instruction: str) -> Support:
    """The passage that covers most of the instruction's content words: one sentence or two
    adjacent ones (one preferred at equal coverage), or for enumerative instructions a greedy
    set of up to `MAX_GATHERED_SENTENCES` sentences. Among equal passages, one that carries the
    rhetorical device the instruction names ("the question the passage poses") wins, then the
    earliest."""
    if not view.sentences:
        return Support((), 0.0)
    terms, covered = support_units(view, instruction)
    if not terms:
        return Support((), 0.0)
    if ENUMERATIVE.search(instruction):
        return _gathered(terms, covered)
    singles = [len(terms & units) / len(terms) for units in covered]
    windows = [Support((i,), c) for i, c in enumerate(singles)]
    for i in range(len(covered) - 1):
        pair = len(terms & (covered[i] | covered[i + 1])) / len(terms)
        if pair > max(singles[i], singles[i + 1]):
            windows.append(Support((i, i + 1), pair))
    top = max(w.coverage for w in windows)
    if top == 0:
        return Support((), 0.0)
    finalists = [w for w in windows if w.coverage == top]
    fewest = min(len(w.sentences) for w in finalists)
    finalists = [w for w in finalists if len(w.sentences) == fewest]
    named = named_devices(instruction)
    if len(finalists) > 1 and named:

        def carries(window: Support) -> bool:
            return any(
                device.name in named
                for i in window.sentences
                for device in detect_devices(view.sentences[i].text)
            )

        finalists = [w for w in finalists if carries(w)] or finalists
    return min(finalists, key=lambda w: w.sentences)


def named_devices(instruction: str) -> frozenset[str]:
    """The rhetorical devices an instruction asks about, from its wording."""
    return frozenset(name for name, cue in DEVICE_WORDS.items() if cue.search(instruction))


def _gathered(terms: frozenset[str], covered: list[frozenset[str]]) -> Support:
    remaining, chosen = set(terms), []
    while remaining and len(chosen) < MAX_GATHERED_SENTENCES:
        gains = [(len(remaining & units), -i) for i, units in enumerate(covered) if i not in chosen]
        gain, negative_index = max(gains, default=(0, 0))
        if gain == 0:
            break
        chosen.append(-negative_index)
        remaining -= covered[-negative_index]
    return Support(tuple(sorted(chosen)), 1 - len(remaining) / len(terms))


def answer(view: ArticleView, instruction: str) -> tuple[bool, str]:
    """(answerable, answer): the supporting sentences verbatim, or (False, "I don't know.")."""
    support = find_support(view, instruction)
    if support.coverage < SUPPORT_THRESHOLD:
        return False, UNKNOWN_ANSWER
    return True, " ".join(tidy_sentence(view.sentences[i].text) for i in support.sentences)


def reread(view: ArticleView, instruction: str, draft: str) -> str:
    """Improve a draft answer without leaving the article: a one-sentence draft taken from the
    article gains the neighbouring sentence that shares most words with the instruction, when
    that neighbour brings new content; punctuation and capitals are tidied. "I don't know"
    drafts (any refusal, by the project's one classifier) come back unchanged."""
    if is_refusal(draft):
        return draft
    pieces = [s.text for s in split_sentences(draft)] or [draft]
    if len(pieces) == 1:
        index = _locate(view, pieces[0])
        if index is not None:
            pieces = [view.sentences[i].text for i in _with_neighbour(view, index, instruction)]
    return " ".join(tidy_sentence(piece) for piece in pieces)


def _locate(view: ArticleView, sentence: str) -> int | None:
    wanted = _normal(sentence)
    for i, candidate in enumerate(view.sentences):
        if _normal(candidate.text) == wanted:
            return i
    return None


def _with_neighbour(view: ArticleView, index: int, instruction: str) -> list[int]:
    terms = instruction_terms(instruction)
    own = view.stems[index]
    best, best_key = None, (0, 0)
    for j in (index - 1, index + 1):
        if not 0 <= j < len(view.sentences) or view.sentences[j].text.rstrip().endswith("?"):
            continue
        shared = len(terms & view.stems[j])
        new = len(view.stems[j] - own)
        key = (shared, new)
        if shared > 0 and new >= _NEW_WORDS_FOR_CONTEXT and key > best_key:
            best, best_key = j, key
    return sorted({index} | ({best} if best is not None else set()))


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))
