"""Shared helpers for the offline teacher's tests: example articles and a configured context."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import dspy

ARTICLES = Path(__file__).resolve().parents[1] / "examples" / "articles.jsonl"


def example_article(article_id: str) -> str:
    """The `content` of one article of examples/articles.jsonl."""
    for line in ARTICLES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["id"] == article_id:
            return record["content"]
    raise KeyError(f"{ARTICLES}: no article with id {article_id!r}")


@contextmanager
def using(lm: dspy.LM):
    """DSPy context with `lm` and a ChatAdapter that never falls back to JSON (one call each)."""
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        yield
