"""The Self-QA and Wiki2023 baselines: one pass over the article, same items, same outputs."""

from __future__ import annotations

import asyncio
import json

import dspy
import pytest
from scripted_lm import scripted_lm

from foveate_dspy.baselines.self_qa import SelfQA
from foveate_dspy.baselines.wiki2023 import Wiki2023
from foveate_dspy.compile import main
from foveate_dspy.method.choice import METHODS, build_program, output_levels
from foveate_dspy.runtime.runner import RunSettings

ARTICLE = (
    "Alice Moreau founded Acme Rockets in 1990 in Toulouse. Bob Chen joined the company in 1995 as chief engineer. "
    "Unlike its rivals, Acme built its engines from recycled steel."
)


def run(program, respond, n=2):
    lm, engine = scripted_lm(respond)
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        prediction = asyncio.run(program.acall(article=ARTICLE, n=n, article_id="a1", seed=0))
    return prediction, engine


def test_self_qa_writes_all_questions_in_one_call_then_answers_each_without_rereading() -> None:
    def respond(outputs, inputs, call):
        if outputs == ("questions",):
            assert inputs["count"] == 6  # n 2 x 3 levels
            return {"questions": ["Who founded Acme Rockets?", "When did Bob Chen join?", "What were the engines made of?", "Where is Acme?", "Why recycled steel?"]}
        if outputs == ("answerable", "answer"):
            ok = "Where" not in inputs["instruction"]
            return {"answerable": ok, "answer": "Alice Moreau founded it in 1990." if ok else "I don't know."}
        raise AssertionError(f"unexpected signature {outputs}")

    prediction, engine = run(SelfQA(multiplier=3), respond)
    items = prediction.results
    assert [c.outputs for c in engine.calls].count(("questions",)) == 1
    assert not any(c.outputs == ("answer",) for c in engine.calls)  # no reread stage
    assert [i.id for i in items] == [f"a1:self-qa:{k}" for k in range(6)]
    assert {i.level for i in items} == {"self-qa"} and {i.feature for i in items} == {""}
    assert [i.accepted is not None for i in items] == [True, True, True, False, True, False]
    assert items[3].attempts[0].rejection.startswith("the answerer said")
    assert items[5].attempts[0].rejection == "the teacher returned 5 questions for 6 requested"
    assert all(len(i.attempts) == 1 for i in items)  # baselines get no re-synthesis


def test_self_qa_unparseable_generation_is_a_level_failure() -> None:
    prediction, _ = run(SelfQA(), lambda outputs, inputs, call: "Sure! Here are some questions.")
    assert prediction.results == []
    assert prediction.level_failures[0].level == "self-qa"
    assert prediction.level_failures[0].reason.startswith("question generation: teacher output did not parse")


def test_wiki2023_extracts_pairs_with_their_evidence_sentence() -> None:
    pairs = [
        {"question": "Who founded Acme Rockets?", "answer": "Alice Moreau", "evidence": "Alice Moreau founded Acme Rockets in 1990 in Toulouse."},
        {"question": "When did Bob Chen join?", "answer": "I don't know", "evidence": "Bob Chen joined the company in 1995 as chief engineer."},
    ]

    def respond(outputs, inputs, call):
        assert outputs == ("qa_pairs",) and inputs["count"] == 3
        return {"qa_pairs": pairs}

    prediction, engine = run(Wiki2023(multiplier=3), respond, n=1)
    first, refused, missing = prediction.results
    assert len(engine.calls) == 1  # extraction only: the answer comes with the pair
    assert (first.accepted.instruction, first.accepted.output) == ("Who founded Acme Rockets?", "Alice Moreau")
    assert first.feature == pairs[0]["evidence"] and first.level == "wiki2023"
    assert refused.accepted is None and "refusal" in refused.attempts[0].rejection
    assert missing.attempts[0].rejection == "the teacher returned 2 pairs for 3 requested"


def test_registry_sizes_baselines_by_the_active_levels() -> None:
    assert list(METHODS) == ["self-foveate", "self-qa", "wiki2023"]
    assert build_program(RunSettings(method="self-qa", levels=("micro", "macro"))).multiplier == 2
    assert build_program(RunSettings(method="wiki2023")).multiplier == 3
    assert output_levels(RunSettings(method="wiki2023")) == ("wiki2023",)
    assert output_levels(RunSettings(levels=("macro",))) == ("macro",)
    with pytest.raises(ValueError, match="unknown method 'bonito'"):
        build_program(RunSettings(method="bonito"))


def test_unknown_method_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--corpus", "x.jsonl", "--out", "y", "--method", "bonito"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'bonito'" in capsys.readouterr().err


def test_offline_baselines_write_records_in_the_self_foveate_format(repo_root, tmp_path) -> None:
    corpus = repo_root / "examples" / "articles.jsonl"
    keys = {}
    for method in ("self-foveate", "self-qa", "wiki2023"):
        out = tmp_path / method
        argv = ["--corpus", str(corpus), "--limit", "2", "--n-per-level", "1", "--levels", "micro,scatter", "--quiet"]
        assert main([*argv, "--method", method, "--out", str(out)]) == 0
        records = [json.loads(line) for line in (out / "instructions.jsonl").read_text(encoding="utf-8").splitlines()]
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert records and {r["method"] for r in records} == {method}
        assert all(r["instruction"].strip() and r["output"].strip() for r in records)
        keys[method] = {frozenset(r) for r in records}
        if method != "self-foveate":
            assert {r["level"] for r in records} == {method}
            assert summary["records_per_level"] == {method: len(records)}
            assert len(records) + summary["failed"] == 2 * 2  # n 1 x 2 levels per article, 2 articles
    assert keys["self-qa"] == keys["self-foveate"] == keys["wiki2023"]
