"""The offline teacher's answers to each signature of `signatures/` (registered on import).

Each handler maps decoded inputs to output values. Normal mode returns the best-ranked choice;
creative mode (re-synthesis) picks among the alternatives with `Call.choose`. Lists of
questions rotate their template by position so neighbouring items do not all read alike.
"""

from __future__ import annotations

import re
from typing import Any

from foveate_dspy.teachers.offline import answering
from foveate_dspy.teachers.offline.instructions import group_question_options, sentence_instruction_options
from foveate_dspy.teachers.offline.keywords import extract_candidates, rank_candidates
from foveate_dspy.teachers.offline.registry import Call, register_handler
from foveate_dspy.method.rhetoric import cue_score
from foveate_dspy.teachers.offline.span_questions import generic_span_options, span_question_options
from foveate_dspy.corpus.text import Sentence, find_phrase, split_sentences, stem, word_count
from foveate_dspy.teachers.offline.workbench import ArticleView, Workbench

MIN_KEY_SENTENCE_WORDS = 6
"""Shorter sentences ("At first, however, few composers cared.") are used only when needed."""


# ---------------------------------------------------------------------------------------------
# Shared analyses, computed once per article


def ranked_keywords(workbench: Workbench, view: ArticleView) -> list[str]:
    """The article's keyword candidates, best first (similarity to the article + bonuses)."""
    if "keywords" not in view.memo:
        candidates = extract_candidates(view.text, view.sentences)
        similarities = workbench.similarity(
            [c.text for c in candidates], workbench.article_vector(view)
        )
        ranked = rank_candidates(candidates, list(similarities), view.text)
        view.memo["keywords"] = [c.text for _, c in ranked]
    return view.memo["keywords"]


def ranked_key_sentences(workbench: Workbench, view: ArticleView) -> list[str]:
    """Sentences by rhetorical cue score + similarity to the article, best first; sentences
    under `MIN_KEY_SENTENCE_WORDS` words go last."""
    if "key_sentences" not in view.memo:
        texts = [s.text for s in view.sentences]
        similarities = workbench.similarity(texts, workbench.article_vector(view))
        scored = sorted(
            range(len(texts)),
            key=lambda i: (
                word_count(texts[i]) < MIN_KEY_SENTENCE_WORDS,
                -(cue_score(texts[i]) + float(similarities[i])),
                i,
            ),
        )
        view.memo["key_sentences"] = list(dict.fromkeys(texts[i] for i in scored))
    return view.memo["key_sentences"]


def _view(call: Call) -> ArticleView:
    return call.workbench.view(str(call.inputs.get("article", "")))


def _count(value: Any) -> int:
    try:
        return max(0, int(str(value).strip()))
    except ValueError:
        match = re.search(r"\d+", str(value))
        return int(match.group()) if match else 0


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if str(v).strip()]
    return []


def _groups(value: Any) -> list[list[str]]:
    if isinstance(value, (list, tuple)):
        return [_strings(group) for group in value]
    return [_strings(value)]


# ---------------------------------------------------------------------------------------------
# Micro-foveation


def extract_keywords(call: Call) -> dict[str, Any]:
    view = _view(call)
    return {"keywords": ranked_keywords(call.workbench, view)[: _count(call.inputs["count"])]}


def reverse_synthesis(call: Call) -> dict[str, Any]:
    view = _view(call)
    answers = _strings(call.inputs["answers"])
    questions = [
        {"answer": answer, "question": call.choose(span_options(view, answer, rotation=i), salt=f"answer:{i}")}
        for i, answer in enumerate(answers)
    ]
    return {"questions": questions}


def regenerate_from_answer(call: Call) -> dict[str, Any]:
    view = _view(call)
    target = str(call.inputs["target_answer"])
    return {"question": call.choose(span_options(view, target, rotation=0), salt="answer")}


def span_options(view: ArticleView, span: str, rotation: int) -> list[str]:
    """Questions answered by `span`, from every sentence that contains it (sentences where it
    stands alone, not inside a longer name, first); a generic question when it is absent."""
    span = span.strip()
    holding = [s for s in view.sentences if find_phrase(s.text, span) >= 0]
    holding.sort(key=lambda s: (not _stands_alone(s, span), s.index))
    options: list[str] = []
    for sentence in holding:
        options.extend(span_question_options(sentence.text, span, rotation, _common_stems(view)))
    return list(dict.fromkeys(options)) or generic_span_options(span, rotation)


def _stands_alone(sentence: Sentence, span: str) -> bool:
    """False when the span's occurrence is part of a longer name ("fire" in "Great Fire of
    London", "St Paul" in "St Paul's Cathedral")."""
    position = find_phrase(sentence.text, span)
    found = sentence.text[position : position + len(span)]
    before = sentence.text[:position].rstrip().split(" ")[-1:]
    after = sentence.text[position + len(span) :]
    continues_name = re.match(r"(?:['’]s\b|\s+[A-Z])", after) is not None
    extends_name = bool(before and before[0][:1].isupper() and found[:1].isupper() and position > 0)
    return not (continues_name or extends_name)


def _common_stems(view: ArticleView) -> frozenset[str]:
    """Stems of words the article writes in lower case somewhere (common nouns, adverbs)."""
    if "common" not in view.memo:
        view.memo["common"] = frozenset(
            stem(word) for word in re.findall(r"\b[a-z][\w'’-]*", view.text)
        )
    return view.memo["common"]


# ---------------------------------------------------------------------------------------------
# Scatter-foveation


def select_important_keywords(call: Call) -> dict[str, Any]:
    view = _view(call)
    keywords = list(dict.fromkeys(k.strip() for k in _strings(call.inputs["keywords"])))
    similarities = call.workbench.similarity(keywords, call.workbench.article_vector(view))
    order = sorted(range(len(keywords)), key=lambda i: (-float(similarities[i]), i))
    ranked = [keywords[i] for i in order]
    core = _count(call.inputs["core_count"])
    major = _count(call.inputs["major_count"])
    return {"core_keywords": ranked[:core], "major_keywords": ranked[core : core + major]}


def direct_synthesis(call: Call) -> dict[str, Any]:
    questions = []
    for i, group in enumerate(_groups(call.inputs["keyword_groups"])):
        options = group_question_options(group, rotation=i, enumerative=False)
        question = call.choose(options, salt=f"group:{i}") if options else "What is the text about?"
        questions.append({"keywords": group, "question": question})
    return {"questions": questions}


def regenerate_from_keyword_group(call: Call) -> dict[str, Any]:
    """Creative mode prefers the enumerative form, which asks about each keyword and their link
    and so stays answerable when the keywords sit in different sentences."""
    group = _strings(call.inputs["keyword_group"])
    enumerative = call.creative and len(group) > 1
    options = group_question_options(group, rotation=0, enumerative=enumerative)
    if not options:
        return {"question": "What is the text about?"}
    return {"question": call.choose(options, salt="group", avoid_first=not enumerative)}


# ---------------------------------------------------------------------------------------------
# Macro-foveation


def extract_key_sentences(call: Call) -> dict[str, Any]:
    view = _view(call)
    return {
        "key_sentences": ranked_key_sentences(call.workbench, view)[: _count(call.inputs["count"])]
    }


def transcription_synthesis(call: Call) -> dict[str, Any]:
    view = _view(call)
    sentences = _strings(call.inputs["key_sentences"])
    return {
        "questions": [
            {
                "key_sentence": s,
                "question": call.choose(sentence_options(call.workbench, view, s, rotation=i), salt=f"sentence:{i}"),
            }
            for i, s in enumerate(sentences)
        ]
    }


def regenerate_from_key_sentence(call: Call) -> dict[str, Any]:
    view = _view(call)
    sentence = str(call.inputs["key_sentence"])
    return {
        "question": call.choose(
            sentence_options(call.workbench, view, sentence, 0), salt="sentence"
        )
    }


def sentence_options(
    workbench: Workbench, view: ArticleView, sentence: str, rotation: int
) -> list[str]:
    """Instructions about a key sentence, filled with the article's best keywords inside it (or
    the sentence's own candidates when it holds none of them)."""
    options = sentence_instruction_options(sentence, ranked_keywords(workbench, view), rotation)
    if not options:
        own = [c.text for c in extract_candidates(sentence, split_sentences(sentence))]
        options = sentence_instruction_options(sentence, own, rotation)
    return options or [f'Explain what the passage means when it says: "{sentence.strip()}"']


# ---------------------------------------------------------------------------------------------
# Answering


def answer_from_article(call: Call) -> dict[str, Any]:
    view = _view(call)
    answerable, text = answering.answer(view, str(call.inputs["instruction"]))
    return {"answerable": answerable, "answer": text}


def reread_answer(call: Call) -> dict[str, Any]:
    view = _view(call)
    improved = answering.reread(
        view, str(call.inputs["instruction"]), str(call.inputs["draft_answer"])
    )
    return {"answer": improved}


BUILTIN_HANDLERS = {
    (("article", "count"), ("keywords",)): extract_keywords,
    (("article", "answers"), ("questions",)): reverse_synthesis,
    (("article", "target_answer", "feedback"), ("question",)): regenerate_from_answer,
    (
        ("article", "keywords", "core_count", "major_count"),
        ("core_keywords", "major_keywords"),
    ): select_important_keywords,
    (("article", "keyword_groups"), ("questions",)): direct_synthesis,
    (("article", "keyword_group", "feedback"), ("question",)): regenerate_from_keyword_group,
    (("article", "count"), ("key_sentences",)): extract_key_sentences,
    (("article", "key_sentences"), ("questions",)): transcription_synthesis,
    (("article", "key_sentence", "feedback"), ("question",)): regenerate_from_key_sentence,
    (("article", "instruction"), ("answerable", "answer")): answer_from_article,
    (("article", "instruction", "draft_answer"), ("answer",)): reread_answer,
}
"""Field names of each signature in `signatures/` and the handler that answers it."""

for (_inputs, _outputs), _handler in BUILTIN_HANDLERS.items():
    register_handler(frozenset(_inputs), frozenset(_outputs), _handler)
