"""Limits that make progress and a ledger of every call, with the real command in subprocesses and
the scripted teacher behind the loopback HTTP server (issue 13, items 1 and 2)."""

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
from resume_helpers import http_reply, read_jsonl

from loopback import LoopbackServer

COMPILE = [sys.executable, "-m", "foveate_dspy.compile"]


def _args(shared_data: Path, url: str, *extra: str, limit: int = 4) -> list[str]:
    return [
        "--corpus", str(shared_data / "squad11_dev_small100.jsonl"), "--limit", str(limit), "--n-per-level", "2",
        "--teacher", "openai/loopback", "--api-base", url, "--max-concurrency", "4", "--quiet", *extra,
    ]  # fmt: skip


def _env(repo_root: Path) -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": "sk-loopback-test", "PYTHONPATH": str(repo_root)}


def _compile(repo_root: Path, args: list[str], out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*COMPILE, *args, "--out", str(out)], cwd=repo_root, env=_env(repo_root), capture_output=True, text=True, timeout=240)


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_topping_up_the_call_limit_saves_articles_at_every_step(tmp_path: Path, shared_data: Path) -> None:
    """--max-calls 30, then 60, 90, ...: every step saves at least one whole article, and the run
    pays about what an unlimited run pays (the issue: five runs paid 146 calls and saved nothing).
    In-process, for speed: benchmarks/limits_topup.py runs the same steps as subprocesses."""
    from foveate_dspy.compile import main as compile_main

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_API_KEY", "sk-loopback-test")
        with LoopbackServer(respond=http_reply, latency=0.01, max_seconds=280) as server:
            assert compile_main([*_args(shared_data, server.url), "--out", str(tmp_path / "unlimited")]) == 0
            unlimited = _summary(tmp_path / "unlimited")["lm_calls_total"]
            assert unlimited == server.stats.requests
            out = tmp_path / "topped-up"
            done, steps, limit = 0, [], 30
            before = server.stats.requests
            while True:
                assert compile_main([*_args(shared_data, server.url, "--max-calls", str(limit)), "--out", str(out)]) == 0
                summary = _summary(out)
                steps.append((limit, summary["articles_done"], summary["lm_calls_total"]))
                assert summary["lm_calls_total"] <= limit  # the limit is the run's total and is never exceeded
                assert summary["articles_done"] > done, steps  # every budget step saves at least one article
                done = summary["articles_done"]
                if summary["complete"]:
                    break
                assert "--max-calls" in summary["stopped"]
                limit += 30
            paid = server.stats.requests - before
    assert summary["lm_calls_total"] == paid  # the ledger holds every request the server received
    by = summary["lm_calls_by_outcome"]
    assert by["kept"] + by["lost"] + by["probe"] == paid  # probe: the first session's output-mode probe
    assert paid <= 1.10 * unlimited, steps
    assert [s["limits"]["max_calls"] for s in summary["sessions"]] == [s[0] for s in steps]  # raises are recorded
    assert sorted(r["id"] for r in read_jsonl(out / "instructions.jsonl")) == sorted(
        r["id"] for r in read_jsonl(tmp_path / "unlimited" / "instructions.jsonl")
    )


@pytest.mark.slow
def test_the_same_command_after_the_limit_makes_no_call_and_says_how_to_raise_it(
    tmp_path: Path, shared_data: Path, repo_root: Path
) -> None:
    with LoopbackServer(respond=http_reply, latency=0.0, max_seconds=120) as server:
        # Room for one article and the run's two output-mode probe requests, not for two articles.
        args = _args(shared_data, server.url, "--max-calls", "27", limit=2)
        first = _compile(repo_root, args, tmp_path / "run")
        assert first.returncode == 0, first.stderr
        paid = server.stats.requests
        assert _summary(tmp_path / "run")["articles_done"] == 1
        again = _compile(repo_root, args, tmp_path / "run")
        assert again.returncode == 0, again.stderr
        assert server.stats.requests == paid  # no call at all
    assert "re-run with --max-calls" in again.stderr and "across resumes" in again.stderr
    summary = _summary(tmp_path / "run")
    assert summary["lm_calls_total"] == paid and summary["limits"]["calls_left"] == 27 - paid


def _ledger_rows(run_dir: Path) -> tuple[int, int]:
    """(ledger rows, rows without an end) read the way a second process would."""
    with contextlib.closing(sqlite3.connect(f"{(run_dir / 'run.sqlite').as_uri()}?mode=ro", uri=True, timeout=5)) as db:
        return db.execute("SELECT COUNT(*), COALESCE(SUM(ended_at IS NULL), 0) FROM calls").fetchone()


def _articles_done(run_dir: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"{(run_dir / 'run.sqlite').as_uri()}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM articles WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_after_kill_9_the_ledger_holds_every_request_the_server_received(tmp_path: Path, shared_data: Path, repo_root: Path) -> None:
    out = tmp_path / "killed"
    with LoopbackServer(respond=http_reply, latency=0.2, max_seconds=200) as server:
        victim = subprocess.Popen(
            [*COMPILE, *_args(shared_data, server.url, limit=8), "--out", str(out)],
            cwd=repo_root, env=_env(repo_root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 150
            while victim.poll() is None and _articles_done(out) < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert victim.poll() is None, "the run ended before it could be killed"
            time.sleep(0.3)  # calls of the articles in flight, never committed
            victim.send_signal(signal.SIGKILL)
            assert victim.wait(timeout=30) == -signal.SIGKILL
        finally:
            if victim.poll() is None:
                victim.kill()
        time.sleep(0.3)  # let the server finish reading requests sent just before the kill
        received = server.stats.requests
    rows, unfinished = _ledger_rows(out)
    # A request is written down before it is sent: at most the ones in flight at the kill were
    # written but possibly not yet received.
    assert received <= rows <= received + unfinished, (received, rows, unfinished)
    with contextlib.closing(sqlite3.connect(out / "run.sqlite")) as db:
        committed = db.execute("SELECT COALESCE(SUM(calls), 0) FROM usage WHERE kind = 'stage'").fetchone()[0]
    assert committed < received  # the per-article usage misses the in-flight articles' calls: the ledger does not
