"""Re-synthesis semantics and the program's behaviour with exactly scripted teachers."""

from __future__ import annotations

import asyncio
import json

import dspy
import pytest

from foveate_dspy.runtime.calls import LEDGER, UsageLedger
from foveate_dspy.corpus.readers import Article
from foveate_dspy.method.program import SelfFoveate
from foveate_dspy.runtime.runner import RunSettings, run
from scripted_lm import batch_questions, scripted_lm

ARTICLE = (
    "Alice Moreau founded Acme Rockets in 1990 in Toulouse. Bob Chen joined the company in 1995 as chief engineer. "
    "Unlike its rivals, Acme built its engines from recycled steel. The first launch failed; however, the second "
    "reached orbit in 1999."
)
KEYWORDS = ["Alice Moreau", "Acme Rockets", "1990", "Toulouse", "Bob Chen", "recycled steel", "1999", "chief engineer"]
ANSWER = "Alice Moreau founded Acme Rockets in 1990 in Toulouse."  # supported by the article (rules.py)


def code(keyword: str) -> str:
    """How the script names a micro answer in its question: reversed, because a micro question
    must not contain its answer (rules.py)."""
    return keyword[::-1]


def make_responder(answerable=lambda instruction: True, prose_for: tuple[str, ...] = ()):
    """A teacher that follows the format, declines per `answerable`, and garbles `prose_for` outputs."""

    def respond(outputs, inputs, call):
        if outputs in {(o,) for o in prose_for}:
            return "Sure! Here are some great questions you might like."
        if outputs == ("keywords",):
            return {"keywords": KEYWORDS[:3]}  # exactly n, so micro keeps them all
        if outputs == ("core_keywords", "major_keywords"):
            return {"core_keywords": ["Acme Rockets"], "major_keywords": ["Alice Moreau"]}
        if outputs == ("key_sentences",):
            return {"key_sentences": ["Unlike its rivals, Acme built its engines from recycled steel."][: inputs["count"]]}
        if outputs == ("questions",):
            return batch_questions(inputs, lambda i, x: f"First question about {code(x) if 'answers' in inputs else x}?")
        if outputs == ("question",):
            about = f" about {inputs['keyword_group']}" if "keyword_group" in inputs else ""  # scatter: every keyword
            return {"question": f"Retry at T={call.temperature} with {call.demo_messages} demo messages{about}?"}
        if outputs == ("answerable", "answer"):
            ok = answerable(inputs["instruction"])
            return {"answerable": ok, "answer": ANSWER if ok else "I don't know."}
        if outputs == ("answer",):
            return {"answer": inputs["draft_answer"] + " With more detail."}
        raise AssertionError(f"unexpected signature {outputs}")

    return respond


def run_program(respond, article: str = ARTICLE, **program_kwargs):
    lm, engine = scripted_lm(respond)
    program = SelfFoveate(**program_kwargs)
    ledger = UsageLedger()

    async def main():
        LEDGER.set(ledger)
        return await program.acall(article=article, n=3, article_id="a1", seed=11)

    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        prediction = asyncio.run(main())
    return prediction, engine, ledger


def test_all_levels_produce_items_with_fresh_answers() -> None:
    prediction, _, ledger = run_program(make_responder())
    levels = {item.level for item in prediction.results}
    assert levels == {"micro", "scatter", "macro"}
    for item in prediction.results:
        assert item.accepted is not None
        assert item.accepted.output == ANSWER + " With more detail."  # reread applied
        assert len(item.attempts) == 1
    assert ledger.totals().calls > 0
    assert "micro.extract" in ledger.as_dict()["stages"]


def test_failed_item_is_retried_creatively_with_varying_demos_and_feedback() -> None:
    # Everything about "1990" is unanswerable on the first pass; retries are answerable.
    prediction, engine, _ = run_program(
        make_responder(answerable=lambda q: "Retry" in q or code("1990") not in q), levels=("micro",)
    )
    item = next(i for i in prediction.results if i.feature == "1990")
    assert [a.number for a in item.attempts] == [0, 1]
    first, retry = item.attempts
    assert first.rejection and "does not support" in first.rejection
    assert retry.rejection is None and retry.temperature == 1.2
    assert f"First question about {code('1990')}?" in retry.feedback and first.rejection in retry.feedback
    regenerate_calls = [c for c in engine.calls if c.outputs == ("question",)]
    assert [c.temperature for c in regenerate_calls] == [1.2]
    assert str(regenerate_calls[0].inputs["target_answer"]) == "1990"
    assert regenerate_calls[0].demo_messages == 2 * len(retry.demo_ids) > 0
    assert item.id not in retry.demo_ids  # demos are other, successful items
    assert all(d.startswith("a1:micro:") for d in retry.demo_ids)


def test_retries_stop_at_max_and_log_every_attempt() -> None:
    prediction, engine, _ = run_program(
        make_responder(answerable=lambda q: code("1990") not in q and "Retry" not in q),
        levels=("micro",),
        max_retries=4,
    )
    item = next(i for i in prediction.results if i.feature == "1990")
    assert item.accepted is None
    assert [a.number for a in item.attempts] == [0, 1, 2, 3, 4]
    assert all(a.rejection for a in item.attempts)
    retries = item.attempts[1:]
    assert all(a.temperature == 1.2 for a in retries)
    # each try tells the teacher why the one before failed
    for before, after in zip(item.attempts, retries):
        assert before.rejection in after.feedback
    # two successful references, two per try: the subset can only repeat once all were used
    assert all(len(a.demo_ids) == 2 for a in retries)  # both successful references, in varying order
    record = item.to_record(teacher="scripted/teacher", method="self-foveate")
    assert record["attempts"] == 5 and len(record["history"]) == 5 and "reason" in record


def test_demo_subsets_differ_between_tries_when_possible() -> None:
    prediction, _, _ = run_program(
        make_responder(answerable=lambda q: code("1990") not in q and "Retry" not in q),
        levels=("micro",),
        max_retries=3,
        demo_count=1,
    )
    item = next(i for i in prediction.results if i.feature == "1990")
    subsets = [tuple(a.demo_ids) for a in item.attempts[1:]]
    assert len(subsets) == 3
    assert subsets[0] != subsets[1]  # two references, one per try: the second try must use the other
    assert len(set(subsets)) == 2


def test_runs_are_reproducible() -> None:
    responder = make_responder(answerable=lambda q: "1990" not in q and "Retry" not in q)
    first, first_engine, _ = run_program(responder, max_retries=3)
    second, second_engine, _ = run_program(responder, max_retries=3)
    as_records = lambda p: [i.to_record("t", "m") for i in p.results]  # noqa: E731
    assert as_records(first) == as_records(second)

    # The same calls, prompts, temperatures and demos included (levels run concurrently, so the
    # order in which they reach the LM may differ).
    def requests(engine):
        return sorted(repr((c.outputs, c.inputs, c.temperature, c.demo_messages, c.system)) for c in engine.calls)

    assert any(c.temperature == 1.2 for c in first_engine.calls)  # re-synthesis ran
    assert requests(first_engine) == requests(second_engine)


def test_micro_over_extracts_and_keeps_the_keywords_closest_to_the_article() -> None:
    # All six occur in the article (an invented keyword would be dropped by the rules first).
    on_topic = ["Acme Rockets", "chief engineer", "orbit"]  # MiniLM cosine to the article 0.22-0.63
    off_topic = ["garden tulips", "medieval poetry", "knitting patterns"]  # mentioned in passing: 0.06 at most
    article = ARTICLE + " In her spare time Alice Moreau enjoyed garden tulips, medieval poetry and knitting patterns."
    scripted = make_responder()

    def respond(outputs, inputs, call):
        if outputs == ("keywords",):
            return {"keywords": [off_topic[0], on_topic[0], off_topic[1], on_topic[1], off_topic[2], on_topic[2]]}
        return scripted(outputs, inputs, call)

    prediction, engine, _ = run_program(respond, levels=("micro",), article=article)
    (extract,) = [c for c in engine.calls if c.outputs == ("keywords",)]
    assert extract.inputs["count"] == 6  # twice the n = 3 it keeps
    assert sorted(item.feature for item in prediction.results) == sorted(on_topic)


def test_unparseable_synthesis_is_resynthesised_item_by_item() -> None:
    prediction, engine, ledger = run_program(make_responder(prose_for=("questions",)), levels=("macro",))
    (item,) = prediction.results
    assert "did not parse" in item.attempts[0].rejection
    assert item.accepted is not None and item.attempts[-1].number == 1
    stage = ledger.as_dict()["stages"]["macro.synthesize"]
    # Asked once, then again twice (--parse-retries 2), each retry saying what was wrong; no
    # silent extra call through the JSON adapter.
    assert stage["errors"] == stage["parse_failed"] == 3 and stage["parse_lost"] == 1
    synthesis = [c for c in engine.calls if c.outputs == ("questions",)]
    assert len(synthesis) == 3
    assert "could not be read" not in synthesis[0].system
    assert all("could not be read (missing or unreadable field(s) questions" in c.system for c in synthesis[1:])


def test_a_reply_that_parses_on_retry_is_counted_as_recovered() -> None:
    replies = iter(["Sure! Here are some great questions you might like."])

    def respond(outputs, inputs, call):
        if outputs == ("questions",):
            first = next(replies, None)
            if first is not None:
                return first
        return make_responder()(outputs, inputs, call)

    prediction, _, ledger = run_program(respond, levels=("macro",))
    assert all(len(item.attempts) == 1 and item.accepted for item in prediction.results)
    stage = ledger.as_dict()["stages"]["macro.synthesize"]
    assert (stage["parse_failed"], stage["parse_retried_ok"], stage["parse_lost"]) == (1, 1, 0)


def test_failed_extraction_fails_only_its_level() -> None:
    prediction, _, _ = run_program(make_responder(prose_for=("key_sentences",)))
    assert {i.level for i in prediction.results} == {"micro", "scatter"}
    (failure,) = prediction.level_failures
    assert failure.level == "macro" and "did not parse" in failure.reason


def test_a_teacher_that_never_answers_leaves_everything_rejected_with_reasons(tmp_path) -> None:
    prediction, _, _ = run_program(make_responder(answerable=lambda q: False), max_retries=2)
    assert prediction.results and all(i.accepted is None for i in prediction.results)
    assert all(len(i.attempts) == 3 for i in prediction.results)

    # The same teacher over a whole run: nothing accepted, every item in rejected.jsonl with its
    # reason and attempts, and the summary says so.
    lm, _ = scripted_lm(make_responder(answerable=lambda q: False))
    out = tmp_path / "run"
    summary = run([Article("a1", ARTICLE)], out, RunSettings(n_per_level=3, max_retries=2), progress=False, teacher_lm=lm)
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert (out / "instructions.jsonl").read_text(encoding="utf-8") == ""
    assert summary["records"] == 0 and summary["complete"]
    assert summary["failed"] == len(rejected) == len(prediction.results)
    assert summary["failed_per_level"] == {"micro": 3, "scatter": 3, "macro": 1}
    for record in rejected:
        assert record["attempts"] == 3 and "does not support an answer" in record["reason"]


@pytest.mark.parametrize("flag", ["reread", "resynthesis"])
def test_ablation_switches(flag: str) -> None:
    prediction, engine, _ = run_program(
        make_responder(answerable=lambda q: code("1990") not in q), levels=("micro",), **{flag: False}
    )
    if flag == "reread":
        assert not any(c.outputs == ("answer",) for c in engine.calls)
        assert all(i.accepted is None or i.accepted.output == ANSWER for i in prediction.results)
    else:
        assert not any(c.outputs == ("question",) for c in engine.calls)
        assert all(len(i.attempts) == 1 for i in prediction.results)


def test_all_predictors_are_visible_to_teleprompters() -> None:
    names = {name for name, _ in SelfFoveate().named_predictors()}
    assert {"micro.extract", "micro.synthesize", "micro.regenerate", "scatter.rank", "macro.regenerate", "answerer.respond"} <= names
    assert {name for name, _ in SelfFoveate(levels=("macro",), reread=False).named_predictors()} == {
        "macro.extract",
        "macro.synthesize",
        "macro.regenerate",
        "answerer.respond",
    }
