"""The real command under the worst interruptions: `kill -9` in the middle of a run, and a key
in the environment that must never be written anywhere."""

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

from resume_helpers import Teacher, comparable, compile_run, http_reply, make_articles, read_jsonl

from foveate_dspy.export import main as export_main
from loopback import LoopbackServer
from foveate_dspy.runtime.ratelimit import Backoff
from foveate_dspy.runtime.store import RunStore

COMPILE = [sys.executable, "-m", "foveate_dspy.compile"]


def _done(run_dir: Path) -> int:
    """Articles committed so far, read the way a second process would (0 before the store exists)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{(run_dir / 'run.sqlite').as_uri()}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM articles WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_mid_run_then_resume_is_exact(tmp_path: Path, shared_data: Path, repo_root: Path) -> None:
    """The teacher is the scripted one behind the loopback OpenAI server, with a little latency:
    deterministic like the offline teacher, but without its seconds of model loading in each of
    the four processes, and slow enough to be killed mid-run."""
    total = 10
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    with LoopbackServer(respond=http_reply, latency=0.02, max_seconds=280) as server:
        args = [
            "--corpus", str(shared_data / "squad11_dev_small100.jsonl"), "--limit", str(total), "--n-per-level", "2",
            "--teacher", "openai/gpt-4o-mini", "--api-base", server.url, "--max-concurrency", "2", "--quiet",
        ]  # fmt: skip
        env = {**os.environ, "OPENAI_API_KEY": "sk-loopback"}
        quiet = dict(cwd=repo_root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        uninterrupted = subprocess.Popen([*COMPILE, *args, "--out", str(reference)], **quiet)
        victim = subprocess.Popen([*COMPILE, *args, "--out", str(killed)], **quiet)
        try:
            deadline = time.monotonic() + 240
            while victim.poll() is None and _done(killed) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert victim.poll() is None, "the run ended before it could be killed"
            victim.send_signal(signal.SIGKILL)
            assert victim.wait(timeout=60) == -signal.SIGKILL
        finally:
            for process in (victim, uninterrupted):
                if process.poll() is None and process is victim:
                    process.kill()
        committed = _done(killed)
        assert 2 <= committed < total
        with RunStore.read(killed) as store:
            saved_before = comparable(list(store.accepted_records()))

        def compile_again() -> subprocess.CompletedProcess:
            return subprocess.run([*COMPILE, *args, "--out", str(killed)], cwd=repo_root, env=env, capture_output=True, text=True, timeout=240)

        resumed = compile_again()
        assert resumed.returncode == 0, resumed.stderr
        assert f"{committed} of {total} articles already done" in resumed.stderr
        assert uninterrupted.wait(timeout=240) == 0
        requests = server.stats.requests
        again = compile_again()
        assert again.returncode == 0 and "nothing to run (0 LM calls)" in again.stderr
        assert server.stats.requests == requests  # really no request

    records = read_jsonl(killed / "instructions.jsonl")
    assert len({r["id"] for r in records}) == len(records) == 6 * total  # nothing duplicated
    assert set(saved_before) <= set(comparable(records))  # nothing committed was lost or changed
    for name in ("instructions.jsonl", "rejected.jsonl"):
        assert comparable(read_jsonl(killed / name)) == comparable(read_jsonl(reference / name))
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["complete"] and summary["this_run"]["lm_calls"] == 0
    assert [s["status"] for s in summary["sessions"]] == ["interrupted", "finished", "finished"]


def test_the_api_key_never_reaches_the_store_logs_or_exports(tmp_path: Path, repo_root: Path) -> None:
    secret = "sk-test-SECRET"
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": a.id, "text": a.text}) + "\n" for a in make_articles(2)), encoding="utf-8")
    run_dir = tmp_path / "run"
    with LoopbackServer(respond=http_reply, max_seconds=240) as server:
        result = subprocess.run(
            [*COMPILE, "--corpus", str(corpus), "--teacher", "openai/gpt-4o-mini", "--api-base", server.url, "--n-per-level", "2", "--out", str(run_dir)],
            cwd=repo_root, env={**os.environ, "OPENAI_API_KEY": secret}, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert server.stats.requests > 0
    assert json.loads((run_dir / "summary.json").read_text())["records"] == 12
    for fmt in ("jsonl", "alpaca", "sharegpt", "openai-chat", "hf"):
        assert export_main([str(run_dir), "--format", fmt, "--out", str(run_dir / "exports" / fmt), "--with-context"]) == 0
    _assert_absent(run_dir, secret)
    assert secret not in result.stdout + result.stderr


def _assert_absent(folder: Path, *secrets: str) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) >= 4
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (secret, path)


def test_keys_echoed_in_provider_errors_are_redacted(tmp_path: Path, monkeypatch) -> None:
    """A provider error that quotes the key or the endpoint's password never reaches the store."""
    key, password = "sk-test-ECHOEDKEY", "url-password-SECRET"
    monkeypatch.setenv("DEEPSEEK_API_KEY", key)
    teacher = Teacher(fail_when=lambda inputs: True)

    def failing(outputs, inputs, call):
        raise ConnectionError(f"401 for key {key} at https://bob:{password}@api.example/v1")

    teacher.respond = failing
    summary = compile_run(
        make_articles(1), tmp_path / "run", teacher, api_base=f"https://bob:{password}@api.example/v1",
        backoff=Backoff(max_retries=0),
    )  # fmt: skip
    assert summary["articles_failed"] and "***" in summary["articles_failed"][0]["error"]
    _assert_absent(tmp_path / "run", key, password)
