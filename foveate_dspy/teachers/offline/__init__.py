"""The embedded `offline` teacher: a deterministic, network-free DSPy LM engine.

THIS IS NOT AN LLM. It is a demo, CI and baseline teacher that answers the Self-Foveate
signatures with plain NLP, so the whole DSPy program (adapters, parsing, re-synthesis, token
ledger) runs for real with no network, no API key and no GPU:

* keywords: capitalised names, dates and quantities, and content-word phrases found by
  patterns, ranked by embedding similarity to the article (MiniLM by default);
* key sentences: rhetorical cue words ("however", "whereas", "than", "like", quotes with
  "said", question marks, superlatives) plus similarity to the article;
* questions: rule-based rewrites of the article's own sentences ("When did the fire start?"),
  keyword-relation templates, and cue-specific instruction templates;
* answers: extractive. The supporting sentences are returned verbatim, or "I don't know." when
  the question's content words are not covered well enough (`answering.SUPPORT_THRESHOLD`).
  Relation questions over keywords that sit far apart fail that way at first; the creative
  retry (temperature >= 1.0) rewrites them in an enumerative form that the extractive reader
  can answer, so re-synthesis genuinely happens.

What its output is worth: grammatical-ish, source-grounded questions and verbatim extractive
answers. They exercise the pipeline, give CI a deterministic regression target and give
the evaluations a floor to beat; they are not training data a real teacher would produce,
and their diversity and difficulty scores say nothing about an LLM teacher's.

Determinism: a reply depends only on the request text, its temperature and the embedding
model. Below 1.0 the teacher takes its best-ranked choice; at 1.0 and above it picks among
alternatives with a SHA-256 hash of the whole request (demos and feedback differ per retry, so
retries differ). No global random state is used.

Usage:
    from foveate_dspy.teachers.offline import offline_lm
    lm = offline_lm(temperature=0.5)  # a dspy.LM with engine=OfflineEngine(...)

Other signatures plug in with `register_handler(inputs, outputs, fn)`, where `fn(call)`
receives a `Call` (decoded inputs, temperature, `choose()` for creative variation, and a
`workbench` with cached embeddings and article analyses) and returns the output values.
Dispatch is on field names only (never on instruction text, which teleprompters rewrite); a
signature with no handler raises an error naming its fields.

Modules: engine (DSPy engine pair, `offline_lm`), respond (the core, also as
`respond_to_messages` for OpenAI-style messages), protocol (adapter request/reply text),
registry (dispatch, creative choice), handlers (one per signature), grammar (verb forms),
keywords, span_questions / instructions / templates
(question writing), answering (extractive support), workbench (caches). Sentences, stems and
stopwords come from `foveate_dspy.corpus.text`.
Rhetorical cue words live in `foveate_dspy.method.rhetoric`, shared with the method's macro rule.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AsyncOfflineEngine": "engine",
    "OfflineEngine": "engine",
    "offline_lm": "engine",
    "respond_to_messages": "respond",
    "Call": "registry",
    "UnknownSignatureError": "registry",
    "register_handler": "registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import on first use: dspy and nltk cost seconds, and CLIs that merely mention the offline
    teacher must still answer --help at once. The handlers module loads first, so the built-in
    handlers are registered before any other."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module("foveate_dspy.teachers.offline.handlers")
    return getattr(importlib.import_module(f"foveate_dspy.teachers.offline.{_EXPORTS[name]}"), name)
