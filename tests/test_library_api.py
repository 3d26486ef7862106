"""The program as a library (foveate_dspy.api): one article synchronously, with `await`, inside a
running event loop, with the LM of `dspy.context`; a whole corpus into a run directory equal to
what the CLI writes. Expected values are hand-written or come from the CLI, never from the API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import dspy
import pytest
from scripted_lm import scripted_lm

import foveate_dspy as fd
from foveate_dspy.compile import main as compile_main

ARTICLE = (
    "The Rhine rises in the Swiss Alps and flows for about 1230 kilometres to the North Sea. "
    "Rotterdam, at its mouth, is the largest port in Europe."
)
QUESTION = "Which river rises in the Swiss Alps and reaches the North Sea at Rotterdam?"
ANSWER = "The Rhine rises in the Swiss Alps and flows to the North Sea."


def rhine_teacher(keyword: str = "Rhine", question: str = QUESTION, answer: str = ANSWER):
    """A scripted teacher for the micro level: one keyword, one question, one answer, all
    recognisable; the reread returns the answer as it is."""

    def respond(outputs, inputs, call):
        if outputs == ("keywords",):
            return {"keywords": [keyword]}
        if outputs == ("questions",):
            return {"questions": [{"answer": keyword, "question": question}]}
        if outputs == ("answerable", "answer"):
            return {"answerable": True, "answer": answer}
        if outputs == ("answer",):
            return {"answer": answer}
        raise AssertionError(f"unexpected signature {outputs}")

    return scripted_lm(respond)


def micro_program():
    return fd.self_foveate("micro", max_retries=0)


EXPECTED = {
    "id": "rhine:micro:0",
    "article_id": "rhine",
    "level": "micro",
    "feature": "Rhine",
    "instruction": QUESTION,
    "output": ANSWER,
    "attempts": 1,
    "resynthesized": False,
    "teacher": "scripted/teacher",
    "method": "self-foveate",
    "language": "en",
}


def check(records: list[dict]) -> None:
    assert len(records) == 1
    assert {key: records[0][key] for key in EXPECTED} == EXPECTED
    assert records[0]["feature_spans"] == [[4, 9]]  # "Rhine" in ARTICLE


# --- one article --------------------------------------------------------------------------------


def test_generate_in_a_script_uses_the_lm_of_dspy_context() -> None:
    lm, engine = rhine_teacher()
    with dspy.context(lm=lm):
        records = fd.generate(ARTICLE, n=1, program=micro_program(), article_id="rhine")
    check(records)
    # keywords, reverse synthesis, answer, reread: every call reached the scripted teacher
    assert [c.outputs for c in engine.calls] == [("keywords",), ("questions",), ("answerable", "answer"), ("answer",)]


def test_generate_and_agenerate_inside_a_running_event_loop() -> None:
    """As in a Jupyter cell: the sync API called inside the running loop, and the async one
    awaited. The LM set by dspy.context inside the coroutine is the one the worker thread sees,
    not the one set outside it."""
    outer, outer_engine = rhine_teacher(question="Which outer question is this?", answer="An outer answer.")
    inner, inner_engine = rhine_teacher()

    async def main() -> tuple[list[dict], list[dict]]:
        asyncio.get_running_loop()  # we are inside the loop
        with dspy.context(lm=inner):
            synchronous = fd.generate(ARTICLE, n=1, program=micro_program(), article_id="rhine")
            awaited = await fd.agenerate(ARTICLE, n=1, program=micro_program(), article_id="rhine")
        return synchronous, awaited

    with dspy.context(lm=outer):
        synchronous, awaited = asyncio.run(main())
    check(synchronous)
    check(awaited)
    assert len(inner_engine.calls) == 8 and outer_engine.calls == []


def test_an_explicit_lm_wins_over_the_context() -> None:
    context_lm, context_engine = rhine_teacher(question="Not this one?", answer="No.")
    given, given_engine = rhine_teacher()
    with dspy.context(lm=context_lm):
        check(fd.generate(ARTICLE, n=1, program=micro_program(), lm=given, article_id="rhine"))
    assert context_engine.calls == [] and len(given_engine.calls) == 4


def test_generate_without_any_lm_says_how_to_give_one() -> None:
    with dspy.context(lm=None):
        with pytest.raises(ValueError, match=r"dspy.configure\(lm=...\)"):
            fd.generate(ARTICLE, n=1, program=micro_program())


def test_an_error_inside_a_running_loop_reaches_the_caller() -> None:
    async def main() -> None:
        with dspy.context(lm=None):
            fd.generate(ARTICLE, n=1, program=micro_program())

    with pytest.raises(ValueError, match="no LM"):
        asyncio.run(main())


def test_rejected_items_only_on_request() -> None:
    # The question names its own answer: the micro rule rejects it, and there are no retries.
    lm, _ = rhine_teacher(question="Does the Rhine rise in the Swiss Alps?")
    with dspy.context(lm=lm):
        assert fd.generate(ARTICLE, n=1, program=micro_program(), article_id="rhine") == []
        rejected = fd.generate(ARTICLE, n=1, program=micro_program(), article_id="rhine", include_rejected=True)
    assert len(rejected) == 1 and "instruction" not in rejected[0]
    assert rejected[0]["reason"].startswith("question_contains_answer") or "contains its answer" in rejected[0]["reason"]


SELF_QA_QUESTIONS = ["Where does the Rhine rise?", "Which port lies at the mouth of the Rhine?"]


def self_qa_teacher():
    def respond(outputs, inputs, call):
        if outputs == ("questions",):
            assert inputs["count"] == 2  # n 1 x 2 levels
            return {"questions": SELF_QA_QUESTIONS}
        if outputs == ("answerable", "answer"):
            where = "Swiss Alps" in inputs["instruction"] or "rise" in inputs["instruction"]
            return {"answerable": True, "answer": "In the Swiss Alps." if where else "Rotterdam, the largest port in Europe."}
        raise AssertionError(f"unexpected signature {outputs}")

    return scripted_lm(respond)


def test_a_baseline_program_called_directly_in_a_script_and_in_a_loop() -> None:
    """program(article=...) (DSPy's forward) used to call asyncio.run, which fails inside a
    running loop; now it works in both places and gives the same items."""
    program = fd.baseline("self-qa", levels="micro,macro")
    lm, engine = self_qa_teacher()
    expected = [
        ("Where does the Rhine rise?", "In the Swiss Alps."),
        ("Which port lies at the mouth of the Rhine?", "Rotterdam, the largest port in Europe."),
    ]

    def pairs(prediction) -> list[tuple[str, str]]:
        return [(i.accepted.instruction, i.accepted.output) for i in prediction.results]

    async def main():
        return program(article=ARTICLE, n=1, article_id="rhine"), await program.acall(article=ARTICLE, n=1, article_id="rhine")

    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        in_script = program(article=ARTICLE, n=1, article_id="rhine")
        in_loop, awaited = asyncio.run(main())
    assert pairs(in_script) == pairs(in_loop) == pairs(awaited) == expected
    assert [i.level for i in in_script.results] == ["self-qa", "self-qa"]
    assert len(engine.calls) == 9  # 3 x (one questions call + two answers)


def test_constructors_take_the_clis_settings() -> None:
    from foveate_dspy.baselines.wiki2023 import Wiki2023
    from foveate_dspy.method.program import SelfFoveate

    program = fd.self_foveate("macro,micro", max_retries=0, reread=False)
    assert isinstance(program, SelfFoveate) and [lv.name for lv in program.levels] == ["micro", "macro"]
    assert program.resynthesis is None and program.answerer.reread is None  # no rereading step
    assert isinstance(fd.baseline("wiki2023", ("micro",)), Wiki2023) and fd.baseline("wiki2023", ("micro",)).multiplier == 1
    assert fd.make_program("self-qa").multiplier == 3
    with pytest.raises(ValueError, match="--levels"):
        fd.self_foveate("micro,nano")
    with pytest.raises(TypeError, match="unknown setting.*max_retry"):
        fd.make_program(max_retry=2)


def test_importing_the_package_stays_light(repo_root: Path) -> None:
    code = "import sys, foveate_dspy as fd; fd.compile_corpus; print([m for m in ('dspy', 'torch', 'litellm') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=repo_root)
    assert out.stdout.strip() == "[]", out.stderr


# --- a whole corpus -----------------------------------------------------------------------------

CLI_ARGS = ["--limit", "2", "--n-per-level", "1", "--levels", "micro,scatter", "--max-retries", "1", "--quiet"]


@pytest.fixture(scope="module")
def cli_run(repo_root: Path, tmp_path_factory) -> Path:
    """The reference: what `python -m foveate_dspy.compile` writes for two example articles."""
    out = tmp_path_factory.mktemp("cli") / "run"
    assert compile_main(["--corpus", str(repo_root / "examples" / "articles.jsonl"), "--out", str(out), *CLI_ARGS]) == 0
    return out


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_compile_corpus_writes_what_the_cli_writes(cli_run: Path, repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    summary = fd.compile_corpus(
        repo_root / "examples" / "articles.jsonl", out, teacher="offline", limit=2, n_per_level=1, levels="micro,scatter", max_retries=1
    )
    assert lines(out / "instructions.jsonl") == lines(cli_run / "instructions.jsonl")
    assert lines(out / "rejected.jsonl") == lines(cli_run / "rejected.jsonl")
    assert summary == json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cli_summary = json.loads((cli_run / "summary.json").read_text(encoding="utf-8"))
    assert summary["settings"] == cli_summary["settings"]  # every setting, defaults included
    assert summary["records"] == cli_summary["records"] == len(lines(out / "instructions.jsonl")) > 0
    # Run again: the directory resumes like the CLI's, with nothing left to do.
    again = fd.compile_corpus(
        repo_root / "examples" / "articles.jsonl", out, teacher="offline", limit=2, n_per_level=1, levels="micro,scatter", max_retries=1
    )
    assert again["this_run"]["lm_calls"] == 0 and again["this_run"]["articles_skipped_done"] == 2


def test_compile_corpus_of_records_inside_a_running_loop(cli_run: Path, repo_root: Path, tmp_path: Path) -> None:
    """A list of records (as a notebook holds them), compiled from inside a running event loop:
    the same pairs as the CLI's from the file; only the provenance (`source`) differs."""
    records = [json.loads(line) for line in lines(repo_root / "examples" / "articles.jsonl")[:2]]
    out = tmp_path / "run"

    async def main() -> dict:
        return fd.compile_corpus(records, out, teacher="offline", n_per_level=1, levels=("micro", "scatter"), max_retries=1)

    summary = asyncio.run(main())

    def without_source(path: Path) -> list[dict]:
        return [{k: v for k, v in json.loads(line).items() if k != "source"} for line in lines(path)]

    assert without_source(out / "instructions.jsonl") == without_source(cli_run / "instructions.jsonl")
    assert summary["complete"] and summary["articles"] == 2


def test_compile_corpus_uses_the_lm_of_dspy_context(tmp_path: Path) -> None:
    lm, engine = rhine_teacher()
    with dspy.context(lm=lm):
        summary = fd.compile_corpus([{"id": "rhine", "text": ARTICLE}], tmp_path / "run", levels="micro", n_per_level=1, max_retries=0)
    assert summary["teacher"] == "scripted/teacher" and summary["records"] == 1
    record = json.loads(lines(tmp_path / "run" / "instructions.jsonl")[0])
    assert {key: record[key] for key in EXPECTED} == EXPECTED
    assert len(engine.calls) == 4


def test_compile_corpus_refuses_unknown_settings(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="unknown setting.*n_per_levels"):
        fd.compile_corpus(["Some text."], tmp_path / "run", teacher="offline", n_per_levels=1)
    assert not (tmp_path / "run").exists()
