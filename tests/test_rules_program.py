"""The rules inside the program and the run: extraction filtered and re-asked, shortfalls and
rule rejections counted in summary.json over the whole run, rule reasons fed back to re-synthesis."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import dspy
from scripted_lm import batch_questions, scripted_lm

from foveate_dspy.runtime.calls import LEDGER, UsageLedger
from foveate_dspy.corpus.readers import Article
from foveate_dspy.method.program import SelfFoveate
from foveate_dspy.runtime.runner import RunSettings, run

ARTICLE = (
    "Alice Moreau founded Acme Rockets in 1990 in Toulouse. Bob Chen joined the company in 1995 as chief engineer. "
    "Unlike its rivals, Acme built its engines from recycled steel. The first launch failed; however, the second "
    "reached orbit in 1999."
)
GOOD = ["Acme Rockets", "Toulouse", "chief engineer"]
INVENTED = ["Sunderland Cathedral", "flights_to_destination", "Mars base"]
SENTENCE = "Unlike its rivals, Acme built its engines from recycled steel."
ANSWER = "Alice Moreau founded Acme Rockets in 1990 in Toulouse."


def teacher(keywords=lambda call_number: GOOD, sentences=lambda call_number: [SENTENCE], micro_question=None, answer=ANSWER):
    """A scripted teacher; the extraction replies depend on how often extraction was asked."""
    asked = {"keywords": 0, "key_sentences": 0}

    def respond(outputs, inputs, call):
        if outputs == ("keywords",):
            asked["keywords"] += 1
            return {"keywords": keywords(asked["keywords"])}
        if outputs == ("core_keywords", "major_keywords"):
            return {"core_keywords": [], "major_keywords": []}
        if outputs == ("key_sentences",):
            asked["key_sentences"] += 1
            return {"key_sentences": sentences(asked["key_sentences"])}
        if outputs == ("questions",):
            if "answers" in inputs:
                return batch_questions(inputs, lambda i, x: micro_question(x) if micro_question else f"Which detail {i} does it give?")
            return batch_questions(inputs, lambda i, x: f"What does the article say about {x}?")
        if outputs == ("question",):
            return {"question": "Which city was the company founded in, and by whom?"}
        if outputs == ("answerable", "answer"):
            return {"answerable": True, "answer": answer(inputs["instruction"]) if callable(answer) else answer}
        if outputs == ("answer",):
            return {"answer": inputs["draft_answer"]}
        raise AssertionError(f"unexpected signature {outputs}")

    return respond


def run_program(respond, levels=("micro",), n=3, max_retries=1):
    lm, engine = scripted_lm(respond)
    program = SelfFoveate(levels=levels, max_retries=max_retries)

    async def main():
        LEDGER.set(UsageLedger())
        return await program.acall(article=ARTICLE, n=n, article_id="a1", seed=3)

    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        return asyncio.run(main()), engine


def test_invented_keywords_are_dropped_and_extraction_is_asked_again() -> None:
    prediction, engine = run_program(teacher(keywords=lambda k: INVENTED + GOOD[:1] if k == 1 else GOOD))
    (log,) = prediction.extractions
    assert log.dropped == {"keyword-not-in-article": 3}
    assert log.calls == 2 and log.kept == 3 and log.shortfall == 0
    assert sorted(i.feature for i in prediction.results) == sorted(GOOD)
    extract_calls = [c for c in engine.calls if c.outputs == ("keywords",)]
    assert len(extract_calls) == 2  # the re-ask is a new sample (rollout), not the cached reply
    # no instruction was ever written for an invented keyword
    synthesized = [a for c in engine.calls if c.outputs == ("questions",) for a in c.inputs["answers"]]
    assert not set(INVENTED) & set(synthesized)


def test_too_few_keywords_leave_a_counted_shortfall_after_bounded_reasks() -> None:
    prediction, _ = run_program(teacher(keywords=lambda k: ["Toulouse", "Mars base"]), n=3)
    (log,) = prediction.extractions
    # one re-ask brought nothing new, so asking stopped there
    assert log.calls == 2 and log.kept == 1 and log.filled == 1 and log.shortfall == 2
    assert log.dropped == {"keyword-not-in-article": 1}
    assert [i.feature for i in prediction.results] == ["Toulouse"]


def test_reasks_stop_at_the_bound() -> None:
    fresh = iter(["Acme Rockets", "Toulouse", "Bob Chen", "orbit"])
    prediction, _ = run_program(teacher(keywords=lambda k: [next(fresh)]), n=4)
    (log,) = prediction.extractions
    assert log.calls == 3 and log.kept == 3 and log.shortfall == 1  # 1 call + MAX_REASKS (2)


def test_macro_drops_invented_sentences_and_keeps_provenance() -> None:
    invented = "Acme built the largest rocket factory in Europe, which opened in 2001."
    prediction, _ = run_program(teacher(sentences=lambda k: [invented, SENTENCE]), levels=("macro",), n=2)
    (log,) = prediction.extractions
    assert log.dropped == {"key-sentence-not-in-article": 1} and log.shortfall == 1
    (item,) = prediction.results
    (span,) = item.feature_spans
    assert ARTICLE[span[0] : span[1]] == SENTENCE
    assert item.to_record("t", "m")["feature_spans"] == [span]


def test_question_containing_its_answer_is_rejected_without_an_answer_call_and_fed_back() -> None:
    prediction, engine = run_program(teacher(micro_question=lambda x: f"What can you tell me about {x}?"))
    answered = [c.inputs["instruction"] for c in engine.calls if c.outputs == ("answerable", "answer")]
    for item in prediction.results:
        first = item.attempts[0]
        assert first.rejection.startswith("rule: question-contains-answer:")
        assert first.instruction not in answered  # no answer call was spent on it
        retry = item.attempts[1]
        assert first.rejection in retry.feedback  # the teacher is told which rule it broke
    regenerate = [c for c in engine.calls if c.outputs == ("question",)]
    assert all("question-contains-answer" in c.inputs["feedback"] for c in regenerate)


def test_unsupported_answer_is_rejected_by_name() -> None:
    prediction, _ = run_program(teacher(answer="The founders later moved the company to Mars in 2040."), max_retries=0)
    assert prediction.results and all(i.attempts[-1].rejection.startswith("rule: answer-unsupported:") for i in prediction.results)


def test_summary_counts_rules_drops_and_shortfalls_over_the_whole_run(tmp_path) -> None:
    respond = teacher(
        keywords=lambda k: ["Toulouse", "Mars base", "Acme Rockets"],
        sentences=lambda k: [SENTENCE, "A sentence the article never had, however it reads."],
        answer=lambda q: ANSWER if "detail" not in q else "Nothing here about it, but purple giraffes sing.",
    )
    lm, _ = scripted_lm(respond)
    settings = RunSettings(teacher="scripted/teacher", n_per_level=3, max_retries=1, levels=("micro", "macro"))
    first = run([Article("a1", ARTICLE)], tmp_path / "run", settings, progress=False, teacher_lm=lm)
    assert first["extraction_dropped_per_level"] == {"micro": {"keyword-not-in-article": 1}, "macro": {"key-sentence-not-in-article": 1}}
    # micro: 2 of 3 keywords are real; macro: 1 of 3 sentences
    assert first["shortfall_per_level"] == {"micro": 1, "macro": 2}
    # micro questions ("Which detail ...") get an unsupported answer; their re-synthesis is answered
    assert first["rejections_per_rule"]["micro"] == {"answer-unsupported": 2}
    assert first["final_rejections_per_rule"]["micro"] == {}


def test_counts_add_up_across_sessions(tmp_path) -> None:
    respond = teacher(keywords=lambda k: ["Toulouse", "Mars base", "Acme Rockets"], sentences=lambda k: [SENTENCE])
    settings = RunSettings(teacher="scripted/teacher", n_per_level=3, max_retries=1, levels=("micro", "macro"), max_calls=8)
    articles = [Article(f"a{i}", ARTICLE) for i in range(2)]
    out = tmp_path / "run"
    lm, _ = scripted_lm(respond)
    stopped = run(articles, out, settings, progress=False, teacher_lm=lm)
    assert stopped["articles_done"] < 2
    lm, _ = scripted_lm(respond)
    done = run(articles, out, replace(settings, max_calls=None), progress=False, teacher_lm=lm)
    assert done["complete"] and len(done["sessions"]) == 2
    assert done["extraction_dropped_per_level"] == {"micro": {"keyword-not-in-article": 2}, "macro": {}}
    assert done["shortfall_per_level"] == {"micro": 2, "macro": 4}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["shortfall_per_level"] == done["shortfall_per_level"]
