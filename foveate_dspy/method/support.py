"""How well the article supports an answer: a cheap, explainable grounding score.

An answer is grounded when what it asserts can be found in the article. The score is the share
of the answer's content words (stems, stopwords left out) that occur in the few article sentences
covering most of them, chosen greedily: `SUPPORT_SENTENCES` at most, so an answer stitched
together from words scattered all over the article does not count as supported, while a
multi-part scatter answer drawing on several places still does. Words that describe the text
rather than assert a fact ("the author contrasts", "the sentence quotes", "yes") are left out,
since a macro answer legitimately talks about the article's rhetoric in words the article does
not use. Invented names, numbers and facts are content words the article lacks, and lower it.

The threshold was calibrated on the offline demo's accepted answers and on answers written by
hand for the example articles (supported paraphrases and unsupported claims):
`benchmarks/support_calibration.py` prints the figures, the README quotes them.
"""

from __future__ import annotations

from functools import lru_cache

from foveate_dspy.method.matching import stem_words
from foveate_dspy.corpus.text import is_stopword, split_sentences, stem

SUPPORT_THRESHOLD = 0.6
"""Least support for an answer to count as grounded (see the module docstring)."""

SUPPORT_SENTENCES = 4
"""Most article sentences the support may draw on."""

_TEXT_WORDS = """
article text passage paragraph sentence sentences author writer narrator phrase word words line
mention mentions mentioned say says said state states stated note notes noted describe describes
described explain explains explained suggest suggests suggested imply implies implied indicate
indicates show shows shown highlight highlights emphasise emphasises emphasize emphasizes
emphasis illustrate illustrates refer refers use uses used device rhetorical figurative
metaphor metaphors simile similes hyperbole quotation quote quotes quoted citation cite cites
contrast contrasts contrasted comparison compare compares compared question questions asks ask
answer yes no true false example instance point here
""".split()


@lru_cache(maxsize=1)
def _ignored() -> frozenset[str]:
    return frozenset(stem(w) for w in _TEXT_WORDS)


def content_stems(text: str) -> list[str]:
    """The stems of the words of `text` that assert something: no stopwords, no words about the
    text itself (in order, repeats removed)."""
    seen: dict[str, None] = {}
    for word in stem_words(text):
        if word.stem in _ignored() or is_stopword(word.text):
            continue
        seen.setdefault(word.stem)
    return list(seen)


def support_score(article: str, answer: str) -> float:
    """Share (0-1) of the answer's content stems found in its best-matching article sentences;
    1.0 for an answer with no content word (nothing in it to contradict the article)."""
    wanted = set(content_stems(answer))
    if not wanted:
        return 1.0
    remaining = set(wanted)
    sentences = _sentence_stems(article)
    for _ in range(SUPPORT_SENTENCES):
        best = max(sentences, key=lambda s: len(s & remaining), default=frozenset())
        gained = best & remaining
        if not gained:
            break
        remaining -= gained
    return 1.0 - len(remaining) / len(wanted)


@lru_cache(maxsize=64)
def _sentence_stems(article: str) -> tuple[frozenset[str], ...]:
    # Every answer of an article (each attempt, draft and reread) is scored against it.
    return tuple(frozenset(w.stem for w in stem_words(s.text)) for s in split_sentences(article))
