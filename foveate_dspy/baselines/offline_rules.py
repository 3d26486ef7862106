"""The offline teacher's rules for the baselines' signatures (registered on import).

Like the rest of the offline teacher these are plain NLP, not an LLM: they make `--method
self-qa` and `--method wiki2023` run end to end in CI with the same output format as every
other method. Both write single-sentence questions with the offline teacher's span rewriter:

- Self-QA walks the article sentence by sentence and asks about each sentence's best keyword
  (its answers come from the answering stage, as in Self-QA);
- Wiki2023 walks the article's keywords best first and extracts each as a short answer with the
  question about it and the sentence it sits in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from foveate_dspy.teachers.offline.handlers import ranked_keywords, span_options
from foveate_dspy.teachers.offline.registry import Call, register_handler
from foveate_dspy.corpus.text import find_phrase
from foveate_dspy.teachers.offline.workbench import ArticleView


def _count(value: Any) -> int:
    try:
        return max(0, int(str(value).strip()))
    except ValueError:
        return 0


def _sentence_spans(view: ArticleView, keywords: list[str]) -> Iterator[tuple[int, str]]:
    """(sentence index, keyword) in reading order: each sentence's best keyword, then each
    sentence's second best, and so on."""
    per_sentence = [[k for k in keywords if find_phrase(s.text, k) >= 0] for s in view.sentences]
    for depth in range(max((len(k) for k in per_sentence), default=0)):
        for index, found in enumerate(per_sentence):
            if depth < len(found):
                yield index, found[depth]


def knowledge_guided_questions(call: Call) -> dict[str, Any]:
    view = call.workbench.view(str(call.inputs.get("knowledge", "")))
    count = _count(call.inputs.get("count"))
    questions: list[str] = []
    for i, (_, keyword) in enumerate(_sentence_spans(view, ranked_keywords(call.workbench, view))):
        if len(questions) >= count:
            break
        question = span_options(view, keyword, rotation=i)[0]
        if question not in questions:
            questions.append(question)
    return {"questions": questions}


def extract_qa_pairs(call: Call) -> dict[str, Any]:
    view = call.workbench.view(str(call.inputs.get("document", "")))
    count = _count(call.inputs.get("count"))
    pairs: list[dict[str, str]] = []
    for i, keyword in enumerate(ranked_keywords(call.workbench, view)):
        if len(pairs) >= count:
            break
        sentence = next((s.text for s in view.sentences if find_phrase(s.text, keyword) >= 0), "")
        if not sentence:
            continue
        question = span_options(view, keyword, rotation=i)[0]
        if all(p["question"] != question for p in pairs):
            pairs.append({"question": question, "answer": keyword, "evidence": sentence})
    return {"qa_pairs": pairs}


register_handler(frozenset({"knowledge", "count"}), frozenset({"questions"}), knowledge_guided_questions)
register_handler(frozenset({"document", "count"}), frozenset({"qa_pairs"}), extract_qa_pairs)
