"""`compile --optimize`: bootstrap end to end with the offline teacher and judge; MIPROv2 and
GEPA mechanics with a scripted teacher (fast, and checks what GEPA's reflection LM is told)."""

from __future__ import annotations

import json

import pytest
from scripted_lm import batch_questions, scripted_lm

from foveate_dspy.compile import main
from foveate_dspy.corpus.readers import Article
from foveate_dspy.optimize.teleprompt import (
    HeuristicJudge,
    OptimizeError,
    OptimizeSettings,
    demo_count,
    load_program,
    optimize_program,
)
from foveate_dspy.method.program import SelfFoveate


def test_bootstrap_offline_end_to_end_saves_and_reloads_a_different_program(repo_root, tmp_path, capsys) -> None:
    saved = tmp_path / "optimised.json"
    base = [
        "--corpus", str(repo_root / "examples" / "articles.jsonl"), "--limit", "3", "--n-per-level", "1",
        "--levels", "micro,macro", "--quiet",
    ]  # fmt: skip
    argv = [*base, "--optimize", "bootstrap", "--optimize-train", "2", "--optimize-n", "1"]
    assert main([*argv, "--out", str(tmp_path / "run"), "--save-program", str(saved)]) == 0
    err = capsys.readouterr().err
    assert "optimised with bootstrap: metric" in err and "judge: heuristic (offline)" in err

    report = json.loads((tmp_path / "run" / "optimization.json").read_text(encoding="utf-8"))
    assert report["optimizer"] == "bootstrap" and report["eval_split"] == "validation"
    assert 0 < report["metric_before"] <= 1 and 0 < report["metric_after"] <= 1
    assert 0 < report["metric_calls"] <= report["max_calls"] == 32 and report["lm_calls"] > 0

    text = saved.read_text(encoding="utf-8")
    state = json.loads(text)
    assert "api_key" not in text and "offline/teacher" not in text
    assert all(v["lm"] is None for k, v in state.items() if k not in ("metadata", "foveate_dspy"))
    assert state["foveate_dspy"]["optimization"]["metric_after"] == report["metric_after"]
    assert (tmp_path / "run" / "program.json").read_text(encoding="utf-8") == text

    unoptimised = SelfFoveate(levels=("micro", "macro"))
    loaded = SelfFoveate(levels=("micro", "macro"))
    load_program(loaded, saved, "self-foveate")
    assert demo_count(unoptimised) == 0 and demo_count(loaded) > 0
    assert loaded.dump_state() != unoptimised.dump_state()

    # The saved program drives a plain run, and a resume reuses the optimised program.
    assert main([*base, "--out", str(tmp_path / "rerun"), "--program", str(saved)]) == 0
    assert (tmp_path / "rerun" / "instructions.jsonl").read_text(encoding="utf-8").strip()
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    assert "resuming: using the program optimised earlier" in capsys.readouterr().err


ARTICLES = [
    Article(id=f"a{i}", text=f"Alice Moreau founded Acme Rockets in {1990 + i} in Toulouse. Bob Chen joined as chief engineer.")
    for i in range(4)
]


def respond(outputs, inputs, call):
    """A scripted teacher for SelfFoveate(levels=("micro",)) and the teleprompters' proposers."""
    if outputs == ("keywords",):
        return {"keywords": ["Alice Moreau", "Toulouse"][: inputs["count"]]}
    if outputs == ("questions",):
        # A micro question must not contain its answer (rules.py): name it by position instead.
        return batch_questions(inputs, lambda i, a: f"Why does the story of Acme mention its detail number {i + 1}?")
    if outputs == ("answerable", "answer"):
        return {"answerable": True, "answer": "Alice Moreau founded Acme Rockets in Toulouse."}
    if outputs == ("answer",):
        return {"answer": inputs["draft_answer"]}
    if outputs == ("proposed_instruction",):
        return {"proposed_instruction": "Name the entities precisely."}
    if outputs == ("new_instruction",):
        return {"new_instruction": "Ask about causes that connect several sentences."}
    raise AssertionError(f"unexpected signature {outputs}")


def test_mipro_runs_within_its_metric_budget() -> None:
    lm, engine = scripted_lm(respond)
    settings = OptimizeSettings("mipro", train_size=2, n=2, max_calls=12, threads=1)
    _, report = optimize_program(SelfFoveate(levels=("micro",)), ARTICLES, settings, lm, lm, HeuristicJudge())
    assert 0 < report.metric_calls <= 12 and report.lm_calls > 0
    assert any(c.outputs == ("proposed_instruction",) for c in engine.calls)  # instructions were proposed
    with pytest.raises(OptimizeError, match="too small for mipro"):
        optimize_program(SelfFoveate(levels=("micro",)), ARTICLES, OptimizeSettings("mipro", 2, 2, max_calls=4), lm, lm, HeuristicJudge())


def test_gepa_reflects_on_per_predictor_feedback() -> None:
    lm, engine = scripted_lm(respond)
    settings = OptimizeSettings("gepa", train_size=2, n=2, max_calls=10, threads=1)
    _, report = optimize_program(SelfFoveate(levels=("micro",)), ARTICLES, settings, lm, lm, HeuristicJudge())
    assert report.metric_calls <= 10
    reflections = [c for c in engine.calls if c.outputs == ("new_instruction",)]
    assert reflections, "GEPA never asked the reflection LM"
    feedback = [ex["Feedback"] for ex in reflections[0].inputs["examples_with_feedback"]]
    assert all(f.startswith("Score ") and "judge: heuristic (offline)" in f for f in feedback)
    with pytest.raises(OptimizeError, match="too small for gepa with 2 train and 2 validation articles; it needs at least 8"):
        optimize_program(SelfFoveate(levels=("micro",)), ARTICLES, OptimizeSettings("gepa", 2, 2, max_calls=7), lm, lm, HeuristicJudge())


def test_mipro_and_gepa_need_held_out_articles() -> None:
    lm, _ = scripted_lm(respond)
    with pytest.raises(OptimizeError, match="needs held-out articles"):
        optimize_program(SelfFoveate(levels=("micro",)), ARTICLES[:2], OptimizeSettings("gepa", train_size=2), lm, lm, HeuristicJudge())


def test_bad_program_options_fail_before_any_lm_call(repo_root, tmp_path, capsys) -> None:
    base = ["--corpus", str(repo_root / "examples" / "articles.jsonl"), "--out", str(tmp_path / "run"), "--limit", "1"]
    for flags, message in (
        (["--save-program", str(tmp_path / "p.txt")], "--save-program needs a .json path"),
        (["--program", str(tmp_path / "missing.json")], "missing.json: no such program file"),
        (["--optimize", "bootstrap", "--optimize-max-calls", "0"], "--optimize-max-calls must be >= 1"),
        (["--optimize", "gepa", "--judge", "nosuchprovider/x"], "--judge: unknown teacher 'nosuchprovider/x'"),
    ):
        assert main([*base, *flags]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
