"""The ablations as one flag each: the paper's Table 6/7 (--no-resynthesis, --no-reread) and
--no-rules (the level rules of method/rules.py off, validity's rejections kept)."""

from __future__ import annotations

import json

from scripted_lm import batch_questions, scripted_lm

from foveate_dspy.compile import main
from foveate_dspy.corpus.readers import Article
from foveate_dspy.runtime.runner import RunSettings, run


def arguments(repo_root, out, *flags: str) -> list[str]:
    return [
        "--corpus", str(repo_root / "examples" / "articles.jsonl"), "--limit", "3", "--n-per-level", "2",
        "--levels", "micro,scatter", "--quiet", "--out", str(out), *flags,
    ]  # fmt: skip


def compile_run(repo_root, out, *flags: str) -> dict:
    assert main(arguments(repo_root, out, *flags)) == 0
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def records(out) -> list[dict]:
    lines = []
    for name in ("instructions.jsonl", "rejected.jsonl"):
        lines += [json.loads(line) for line in (out / name).read_text(encoding="utf-8").splitlines()]
    return lines


def test_ablation_flags_switch_off_their_stage_and_nothing_else(repo_root, tmp_path) -> None:
    full = compile_run(repo_root, tmp_path / "full")
    stages = full["lm_usage"]["stages"]
    # The offline teacher fails some scatter questions at first, so the full run re-synthesises.
    assert full["resynthesized"] > 0 and "scatter.regenerate" in stages and stages["reread"]["calls"] > 0

    no_resynthesis = compile_run(repo_root, tmp_path / "no-resynthesis", "--no-resynthesis")
    assert no_resynthesis["settings"]["resynthesis"] is False
    assert no_resynthesis["resynthesized"] == 0 and no_resynthesis["resynthesis_attempts"] == 0
    assert not any(stage.endswith(".regenerate") for stage in no_resynthesis["lm_usage"]["stages"])
    assert all(r["attempts"] == 1 for r in records(tmp_path / "no-resynthesis"))
    assert no_resynthesis["failed"] >= full["resynthesized"]  # what re-synthesis rescued now fails
    assert no_resynthesis["lm_usage"]["stages"]["reread"]["calls"] > 0

    no_reread = compile_run(repo_root, tmp_path / "no-reread", "--no-reread")
    assert no_reread["settings"]["reread"] is False
    assert "reread" not in no_reread["lm_usage"]["stages"]
    assert no_reread["resynthesized"] > 0  # re-synthesis still runs


ARTICLE = "Alice Moreau founded Acme Rockets in 1990 in Toulouse. Bob Chen joined the company in 1995 as chief engineer."
ANSWER = "Alice Moreau founded Acme Rockets in 1990 in Toulouse."


def micro_teacher(keywords: list[str], answer):
    """A scripted micro teacher: `keywords` at every extraction; a question naming its keyword
    except for Bob Chen's ("Who joined the company in 1995?"); `answer(question)` gives
    (answerable, answer); the reread keeps the draft."""

    def respond(outputs, inputs, call):
        if outputs == ("keywords",):
            return {"keywords": keywords}
        if outputs == ("questions",):
            return batch_questions(inputs, lambda i, x: "Who joined the company in 1995?" if x == "Bob Chen" else f"What can you tell me about {x}?")
        if outputs == ("answerable", "answer"):
            answerable, text = answer(inputs["instruction"])
            return {"answerable": answerable, "answer": text}
        if outputs == ("answer",):
            return {"answer": inputs["draft_answer"]}
        raise AssertionError(f"unexpected signature {outputs}")

    return respond


def scripted_run(out, respond, **settings) -> dict:
    lm, _ = scripted_lm(respond)
    settings = RunSettings(teacher="scripted/teacher", levels=("micro",), n_per_level=3, max_retries=0, **settings)
    return run([Article("a1", ARTICLE)], out, settings, progress=False, teacher_lm=lm)


def test_no_rules_accepts_what_each_kind_of_rule_rejects(tmp_path) -> None:
    # "Mars base" is not in the article; Toulouse's question names its answer; Bob Chen's answer
    # is about Mars, which the article does not support.
    respond = micro_teacher(
        ["Toulouse", "Mars base", "Bob Chen"],
        lambda q: (True, "The founders later moved the company to Mars in 2040." if q.startswith("Who") else ANSWER),
    )
    ruled = scripted_run(tmp_path / "rules", respond)
    assert ruled["settings"]["rules"] is True
    assert ruled["extraction_dropped_per_level"] == {"micro": {"keyword-not-in-article": 1}}
    assert ruled["lm_usage"]["stages"]["micro.extract"]["calls"] == 2  # re-asked for a third keyword
    assert ruled["records"] == 0
    reasons = {r["feature"]: r["reason"] for r in records(tmp_path / "rules")}
    assert reasons.keys() == {"Toulouse", "Bob Chen"}
    assert reasons["Toulouse"].startswith("rule: question-contains-answer:")
    assert reasons["Bob Chen"].startswith("rule: answer-unsupported:")

    unruled = scripted_run(tmp_path / "no-rules", respond, rules=False)
    assert unruled["settings"]["rules"] is False
    assert unruled["extraction_dropped_per_level"] == {"micro": {}}
    assert unruled["lm_usage"]["stages"]["micro.extract"]["calls"] == 1
    assert unruled["records"] == 3 and unruled["rejections_per_rule"] == {"micro": {}}
    accepted = {r["feature"]: (r["instruction"], r["output"]) for r in records(tmp_path / "no-rules")}
    assert accepted == {
        "Toulouse": ("What can you tell me about Toulouse?", ANSWER),
        "Mars base": ("What can you tell me about Mars base?", ANSWER),
        "Bob Chen": ("Who joined the company in 1995?", "The founders later moved the company to Mars in 2040."),
    }


def test_no_rules_still_rejects_refusals_and_unanswerable_questions(tmp_path) -> None:
    respond = micro_teacher(["Toulouse", "Bob Chen"], lambda q: (True, "I don't know.") if "Toulouse" in q else (False, ANSWER))
    summary = scripted_run(tmp_path / "run", respond, rules=False)
    assert summary["records"] == 0
    assert summary["rejections_per_rule"] == {"micro": {"refusal": 1, "not-answerable": 1}}
    reasons = {r["feature"]: r["reason"] for r in records(tmp_path / "run")}
    assert reasons == {
        "Toulouse": "the answer is a refusal (\"I don't know.\")",
        "Bob Chen": "the answerer said the article does not support an answer",
    }


def test_a_resume_with_the_other_rules_setting_is_refused_by_name(repo_root, tmp_path, capsys) -> None:
    summary = compile_run(repo_root, tmp_path / "run", "--limit", "1", "--no-rules")
    assert summary["settings"]["rules"] is False
    capsys.readouterr()
    assert main(arguments(repo_root, tmp_path / "run", "--limit", "1")) == 2  # the rules on now
    assert "rules: False in the store, True now" in capsys.readouterr().err


def test_a_store_written_before_the_rules_setting_existed_resumes(repo_root, tmp_path, capsys) -> None:
    """Stores from before --no-rules hold no `rules` setting; they ran with the rules on, so a
    plain resume goes on (0 new LM calls) and --no-rules is refused."""
    import sqlite3

    first = compile_run(repo_root, tmp_path / "run", "--limit", "1")
    with sqlite3.connect(tmp_path / "run" / "run.sqlite") as db:
        (value,) = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        fingerprint = json.loads(value)
        del fingerprint["rules"]
        db.execute("UPDATE meta SET value = ? WHERE key = 'fingerprint'", (json.dumps(fingerprint),))
    again = compile_run(repo_root, tmp_path / "run", "--limit", "1")
    assert again["lm_calls_total"] == first["lm_calls_total"]
    capsys.readouterr()
    assert main(arguments(repo_root, tmp_path / "run", "--limit", "1", "--no-rules")) == 2
    assert "rules: True in the store, False now" in capsys.readouterr().err
