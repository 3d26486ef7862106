"""The program against a real LLM: SmolLM2-135M-Instruct on llama.cpp, through the real
DSPy/LiteLLM HTTP path, as a user runs the commands.

A 135M model writes poor data; these tests hold what must be true whatever it writes: every reply
is read (schema mode) or accounted for, format failures never pass as finished work, runs resume,
and the judges give verdicts. Kept tiny (one or two short articles, n 1-2, capped replies): the
model writes tens of tokens a second on CI's two cores.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from real_llm_helpers import ARTICLES, MODEL, run_module, summary, write_corpus

pytestmark = pytest.mark.slow

SMALL = ["--max-retries", "1", "--max-tokens", "200", "--quiet"]


def _served(server) -> list[str]:
    return ["--teacher", MODEL, "--api-base", server.url]


def _all_calls_read(report: dict) -> None:
    """Schema mode: no call of any stage was given up for an unreadable reply."""
    assert report["output_mode"] == {"mode": "schema", "form": "llamacpp"}, report["output_mode"]
    lost = {stage: row["calls_lost"] for stage, row in report["parsing"].items() if row["calls_lost"]}
    assert not lost, lost


def test_local_teacher_runs_every_level(tmp_path: Path, repo_root: Path) -> None:
    """`--teacher local`: the command starts its own llama.cpp server, probes it, and runs the
    whole method on a real model's replies."""
    corpus = write_corpus(tmp_path / "one.jsonl", ARTICLES[:1])
    out = tmp_path / "run"
    done = run_module(
        "foveate_dspy.compile", "--corpus", str(corpus), "--out", str(out), "--teacher", "local", "--n-per-level", "1", *SMALL,
        cwd=repo_root,
    )  # fmt: skip
    assert "output mode: schema (llamacpp request form)" in done.stderr
    report = summary(out)
    _all_calls_read(report)
    # What a 135M model writes may still yield nothing at a level (an extraction whose keywords are
    # not in the article, say), but never for a format reason, and never silently.
    assert not [f for f in report["level_failure_examples"] if "did not parse" in f["reason"]]
    assert report["settings"]["max_concurrency"] == 1  # the server's single slot, not 16
    assert set(report["records_per_level"]) == {"micro", "scatter", "macro"}
    assert done.returncode == (0 if report["records"] else 1), done.stderr
    print("local teacher:", report["records_per_level"], "failed", report["failed_per_level"], report["lm_calls"], "calls")


@pytest.mark.parametrize("method", ["self-qa", "wiki2023"])
def test_baselines_on_a_real_server(method: str, smollm, tmp_path: Path, repo_root: Path) -> None:
    corpus = write_corpus(tmp_path / "one.jsonl", ARTICLES[1:])
    out = tmp_path / method
    done = run_module(
        "foveate_dspy.compile", "--corpus", str(corpus), "--out", str(out), *_served(smollm), "--method", method,
        "--n-per-level", "1", *SMALL, cwd=repo_root,
    )  # fmt: skip
    report = summary(out)
    _all_calls_read(report)
    assert report["complete"]
    # A 135M model may write nothing usable: then the run says so and exits 1, never 0 with nothing.
    assert done.returncode == (0 if report["records"] else 1), done.stderr


def test_chat_mode_never_saves_a_format_failure_as_done(smollm, tmp_path: Path, repo_root: Path) -> None:
    """The first real run lost every level to one unparsed chat reply and committed the articles
    as done with 0 failed. In chat mode now, a reply is coerced or asked for again, and a level
    still lost to format leaves its article failed, to be retried."""
    corpus = write_corpus(tmp_path / "one.jsonl", ARTICLES[:1])
    out = tmp_path / "chat"
    done = run_module(
        "foveate_dspy.compile", "--corpus", str(corpus), "--out", str(out), *_served(smollm), "--output-mode", "chat",
        "--levels", "micro", "--n-per-level", "1", "--no-reread", *SMALL, cwd=repo_root,
    )  # fmt: skip
    report = summary(out)
    assert report["output_mode"]["mode"] == "chat"
    parsing = report["parsing"]
    assert parsing["micro.extract"]["replies"] >= 1
    # A level lost to replies that never parsed is never saved as done (its article fails and is
    # retried); one the rules emptied (keywords not in the article) is the method's own verdict.
    assert not [f for f in report["level_failure_examples"] if "did not parse" in f["reason"]]
    lost_levels = report["articles_failed"]
    if lost_levels:  # nothing made: the run says so and exits 1, and the next run retries
        assert done.returncode == 1 and "every article this run tried failed" in done.stderr
        assert "did not parse" in lost_levels[0]["error"] and "run the same command again" in done.stderr
    else:
        assert done.returncode == (0 if report["records"] else 1), done.stderr
    print("chat mode:", json.dumps(parsing))


def _done_articles(run_dir: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"{(run_dir / 'run.sqlite').as_uri()}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM articles WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_then_resume_with_a_real_server(smollm, tmp_path: Path, repo_root: Path) -> None:
    corpus = write_corpus(tmp_path / "two.jsonl")
    out = tmp_path / "killed"
    args = [
        sys.executable, "-m", "foveate_dspy.compile", "--corpus", str(corpus), "--out", str(out), *_served(smollm),
        "--levels", "micro", "--n-per-level", "1", "--no-reread", "--max-retries", "0", "--max-tokens", "160", "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "OPENAI_API_KEY": "sk-no-key-local"}
    victim = subprocess.Popen(args, cwd=repo_root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while victim.poll() is None and _done_articles(out) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        if victim.poll() is None:
            victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=60)
    finally:
        if victim.poll() is None:
            victim.kill()
    committed = _done_articles(out)
    assert committed >= 1
    resumed = subprocess.run(args, cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode in (0, 1), resumed.stderr  # 1: the model made no record at all
    if committed < 2:
        assert f"{committed} of 2 articles already done" in resumed.stderr
    report = summary(out)
    assert report["articles_done"] == 2 and report["complete"]
    again = subprocess.run(args, cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert "nothing to run (0 LM calls)" in again.stderr


def _instructions(path: Path, name: str, questions: list[str], article: dict[str, str]) -> Path:
    rows = [
        {"id": f"{article['id']}:{name}:{i}", "article_id": article["id"], "level": "micro", "instruction": q,
         "output": "It was lit in 1811.", "method": name}
        for i, q in enumerate(questions)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_judges_on_a_real_model(smollm, tmp_path: Path, repo_root: Path) -> None:
    article = ARTICLES[0]
    corpus = write_corpus(tmp_path / "corpus.jsonl", [article])
    hard = _instructions(tmp_path / "hard.jsonl", "hard", [
        "Compare how the granite blocks and the reef shaped the way Stevenson built the tower.",
        "Why did the keepers live in the tower for weeks, given where it stands?",
    ], article)  # fmt: skip
    easy = _instructions(tmp_path / "easy.jsonl", "easy", ["When was the light first lit?", "Who built it?"], article)
    judge = ["--judge", MODEL, "--api-base", smollm.url, "--threads", "1"]
    difficulty = run_module(
        "evals", "difficulty", str(hard), str(easy), "--corpus", str(corpus), *judge, "--json", str(tmp_path / "d.json"),
        cwd=repo_root,
    )  # fmt: skip
    assert difficulty.returncode == 0, difficulty.stderr
    verdicts = json.loads((tmp_path / "d.json").read_text())
    print("difficulty:", json.dumps(verdicts)[:600])
    quality = run_module(
        "evals", "quality", str(hard), *judge, "--ratings", str(tmp_path / "ratings.jsonl"), cwd=repo_root
    )
    assert quality.returncode == 0, quality.stderr
    ratings = [json.loads(line) for line in (tmp_path / "ratings.jsonl").read_text().splitlines()]
    assert len(ratings) == 2
    valid = [r for r in ratings if r.get("fluency") in ("high", "medium", "low")]
    assert len(valid) == 2, ratings  # schema mode: a small judge still answers inside the choices


def test_finetune_evaluate_with_a_real_judge(smollm, tmp_path: Path, repo_root: Path, shared_data: Path) -> None:
    tiny = tmp_path / "tiny"
    made = run_module("finetune", "make-tiny", "--out", str(tiny), "--corpus", str(shared_data / "squad11_dev_small100.jsonl"), cwd=repo_root)
    assert made.returncode == 0, made.stderr
    questions = tmp_path / "q.jsonl"
    rows = [json.loads(line) for line in (shared_data / "squad11_dev_small100.jsonl").read_text().splitlines()[:3]]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "eval"
    done = run_module(
        "finetune", "evaluate", "--model", str(tiny), "--questions", str(questions), "--out", str(out),
        "--judge", MODEL, "--judge-api-base", smollm.url, "--judge-threads", "1", "--max-new-tokens", "16",
        cwd=repo_root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    print(done.stdout[-800:], done.stderr[-800:])


def test_bootstrap_optimisation_with_a_real_teacher(smollm, tmp_path: Path, repo_root: Path) -> None:
    corpus = write_corpus(tmp_path / "two.jsonl")
    out = tmp_path / "opt"
    done = run_module(
        "foveate_dspy.compile", "--corpus", str(corpus), "--out", str(out), *_served(smollm), "--levels", "micro",
        "--n-per-level", "1", "--no-reread", "--optimize", "bootstrap", "--optimize-train", "1", "--optimize-n", "1",
        "--optimize-max-calls", "2", *SMALL, cwd=repo_root,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1: the optimised program made no record
    optimisation = json.loads((out / "optimization.json").read_text())
    assert optimisation["optimizer"] == "bootstrap"
    assert (out / "program.json").is_file()
    print("bootstrap:", json.dumps(optimisation)[:600])
