"""Template text of the offline teacher's questions and instructions.

Every word here is scaffolding, not content: `scaffold_words` lists them so the extractive
answerer looks for the topic of a question, not for the words that frame it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from foveate_dspy.corpus.text import stem, words

IN_SITU_OPENERS = (
    "According to the passage, ",
    "According to the text, ",
    "In the article, ",
    "Based on the passage, ",
)
GENERIC_SPAN_TEMPLATES = (
    "What does the text say about {a}?",
    "What does the article tell us about {a}?",
    "Explain what the passage says about {a}.",
)
SINGLE_TEMPLATES = (
    "What role does {a} play in the text?",
    "What does the article tell us about {a}?",
    "Describe {a} as the passage presents it.",
    "Why is {a} significant in the text?",
    "Explain what the passage says about {a}.",
)
RELATION_TEMPLATES = (
    "How is {a} related to {b} in the text?",
    "Compare {a} and {b} as the article describes them.",
    "What connects {a} with {b}?",
    "Explain the link the passage draws between {a} and {b}.",
)
GROUP_TEMPLATES = (
    "What connects {list} in the article?",
    "Explain how {list} relate to one another in the text.",
    "How do {list} fit together in the passage?",
)
ENUMERATIVE_TEMPLATES = (
    "What does the text say about each of {list}, and how are they connected?",
    "For each of {list}, state what the article says about it, then explain how they are linked.",
    "Describe each of {list} in turn as the passage presents them, and say what ties them together.",
)
"""Enumerative forms: the answerer recognises "each of" and gathers one sentence per keyword."""

DEVICE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "contrast": (
        "Explain the contrast the text draws between {a} and {b}.",
        "How does the article set {a} against {b}?",
        "What difference between {a} and {b} does the passage point out?",
        "Explain the contrast the passage draws concerning {a}.",
    ),
    "comparison": (
        "Explain the comparison the article makes between {a} and {b}.",
        "How does the text compare {a} with {b}?",
        "What does the author compare {a} with, and what does the comparison show?",
    ),
    "figurative": (
        "What image does the text use to describe {a}, and what does it suggest about {b}?",
        "What image does the text use to describe {a}, and what does it suggest?",
        "Explain the figurative comparison the article applies to {a}.",
        "Why does the passage describe {a} in figurative terms, and what does that convey about {b}?",
    ),
    "quotation": (
        "Why does the text quote {speaker} on {a}, and what do the quoted words reveal about {b}?",
        "Why does the text quote {speaker}, and what do the quoted words reveal about {a}?",
        "What did {speaker} say about {a}, and what does it show?",
        "Explain the point of the words the article attributes to {speaker}.",
        "What does the quotation in the passage reveal about {a}?",
    ),
    "question": (
        "What question does the author raise about {a} and {b}, and what answer does the article suggest?",
        "What question does the author raise about {a}, and how does the article answer it?",
        "Explain the rhetorical question the text asks about {a}.",
        "What is the purpose of the question the passage poses about {a}?",
    ),
    "emphasis": (
        "What makes {a} stand out, according to the text?",
        "How does the passage emphasise {a} when it discusses {b}?",
        "Why does the article single out {a}, and what claim does it make about {b}?",
        "Explain the record or extreme the passage attributes to {a}.",
    ),
    "cause": (
        "Explain the cause-and-effect link the article draws between {a} and {b}.",
        "What led to {a}, and what followed from it, according to the text?",
        "Why, according to the passage, does {a} matter for {b}?",
    ),
    "figures": (
        "What do the figures the text gives about {a} show?",
        "Explain what the numbers in the article reveal about {a} and {b}.",
    ),
    "plain": (
        "Summarise what the text says about {a} and {b}.",
        "Explain the point the article makes about {a}.",
        "What does the passage state about {a}, and why does it matter?",
    ),
}

QUESTION_WORDS = (
    "what when where who whom whose which why how year date place person number many much "
    "percentage amount kind type answer question instruction"
)


@lru_cache(maxsize=1)
def scaffold_stems() -> frozenset[str]:
    """Stems of `scaffold_words`, as the answerer compares them."""
    return frozenset(stem(w) for w in scaffold_words())


def scaffold_words() -> frozenset[str]:
    """Lower-case words of every template and wh-phrase: they frame a question, not its topic."""
    texts = [
        *IN_SITU_OPENERS,
        *GENERIC_SPAN_TEMPLATES,
        *SINGLE_TEMPLATES,
        *RELATION_TEMPLATES,
        *GROUP_TEMPLATES,
        *ENUMERATIVE_TEMPLATES,
        QUESTION_WORDS,
        *(t for templates in DEVICE_TEMPLATES.values() for t in templates),
    ]
    found = set()
    for text in texts:
        found.update(w.lower() for w in words(re.sub(r"\{\w+\}", " ", text)))
    return frozenset(found)
