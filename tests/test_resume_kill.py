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

import pytest

from foveate_dspy.export import main as export_main
from foveate_dspy.loopback import LoopbackServer
from foveate_dspy.store import RunStore
from resume_helpers import comparable, http_reply, make_articles, read_jsonl

COMPILE = [sys.executable, "-m", "foveate_dspy.compile"]


def _done(run_dir: Path) -> int:
    """Articles committed so far, read the way a second process would (0 before the store exists)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{(run_dir / 'run.sqlite').as_uri()}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM articles WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_mid_run_then_resume_is_exact(tmp_path: Path, shared_data: Path, repo_root: Path) -> None:
    total = 10
    args = ["--corpus", str(shared_data / "squad11_dev_small100.jsonl"), "--limit", str(total), "--n-per-level", "2", "--max-concurrency", "2", "--quiet"]
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    quiet = dict(cwd=repo_root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uninterrupted = subprocess.Popen([*COMPILE, *args, "--out", str(reference)], **quiet)
    victim = subprocess.Popen([*COMPILE, *args, "--out", str(killed)], **quiet)
    try:
        deadline = time.monotonic() + 300
        while victim.poll() is None and _done(killed) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert victim.poll() is None, "the run ended before it could be killed"
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=60) == -signal.SIGKILL
    finally:
        if victim.poll() is None:
            victim.kill()
    committed = _done(killed)
    assert 2 <= committed < total
    with RunStore.read(killed) as store:
        saved_before = comparable(list(store.accepted_records()))

    resumed = subprocess.run([*COMPILE, *args, "--out", str(killed)], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{committed} of {total} articles already done" in resumed.stderr
    assert uninterrupted.wait(timeout=300) == 0

    records = read_jsonl(killed / "instructions.jsonl")
    assert len({r["id"] for r in records}) == len(records)  # nothing duplicated
    assert set(saved_before) <= set(comparable(records))  # nothing committed was lost or changed
    for name in ("instructions.jsonl", "rejected.jsonl"):
        assert comparable(read_jsonl(killed / name)) == comparable(read_jsonl(reference / name))
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["complete"] and [s["status"] for s in summary["sessions"]] == ["interrupted", "finished"]

    again = subprocess.run([*COMPILE, *args, "--out", str(killed)], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "nothing to run (0 LM calls)" in again.stderr
    assert json.loads((killed / "summary.json").read_text())["this_run"]["lm_calls"] == 0


def test_the_api_key_never_reaches_the_store_logs_or_exports(tmp_path: Path, repo_root: Path) -> None:
    secret, url_secret = "sk-test-SECRET", "sk-test-URLSECRET"
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": a.id, "text": a.text}) + "\n" for a in make_articles(2)), encoding="utf-8")
    run_dir = tmp_path / "run"
    env = {**os.environ, "OPENAI_API_KEY": secret}
    with LoopbackServer(respond=http_reply, max_seconds=240) as server:
        api_base = server.url.replace("http://", f"http://user:{url_secret}@")
        result = subprocess.run(
            [*COMPILE, "--corpus", str(corpus), "--teacher", "openai/gpt-4o-mini", "--api-base", api_base, "--n-per-level", "2", "--out", str(run_dir)],
            cwd=repo_root, env=env, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert server.stats.requests > 0
    assert json.loads((run_dir / "summary.json").read_text())["records"] == 12
    for fmt in ("jsonl", "alpaca", "sharegpt", "openai-chat", "hf"):
        assert export_main([str(run_dir), "--format", fmt, "--out", str(run_dir / "exports" / fmt), "--with-context"]) == 0
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        data = path.read_bytes()
        assert secret.encode() not in data and url_secret.encode() not in data, path
    assert secret not in result.stdout + result.stderr and url_secret not in result.stdout + result.stderr
