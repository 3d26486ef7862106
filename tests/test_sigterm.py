"""SIGTERM stops a run like Ctrl-C (issue 13, item 6): a message, the finished articles saved and
exported, the session marked interrupted, exit status 130, and no asyncio noise on stderr."""

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
from resume_helpers import http_reply

from loopback import LoopbackServer


def _articles_done(run_dir: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"{(run_dir / 'run.sqlite').as_uri()}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM articles WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow
@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_sigterm_stops_like_ctrl_c(tmp_path: Path, shared_data: Path, repo_root: Path, sigint: str) -> None:
    """`ignored`: as a shell script's background job (`compile ... &`) starts, SIGINT ignored;
    SIGTERM must still stop it (it was lost there: the run went on to its end, exit 0)."""
    out = tmp_path / "run"
    with LoopbackServer(respond=http_reply, latency=0.2, max_seconds=200) as server:
        args = [
            sys.executable, "-m", "foveate_dspy.compile", "--corpus", str(shared_data / "squad11_dev_small100.jsonl"),
            "--limit", "8", "--n-per-level", "2", "--teacher", "openai/loopback", "--api-base", server.url,
            "--max-concurrency", "2", "--quiet", "--out", str(out),
        ]  # fmt: skip
        env = {**os.environ, "OPENAI_API_KEY": "sk-loopback-test", "PYTHONPATH": str(repo_root)}
        victim = subprocess.Popen(
            args, cwd=repo_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_ignore_sigint if sigint == "ignored" else None,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 150
            while victim.poll() is None and _articles_done(out) < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert victim.poll() is None, "the run ended before it could be stopped"
            victim.send_signal(signal.SIGTERM)
            _, err = victim.communicate(timeout=120)
        finally:
            if victim.poll() is None:
                victim.kill()
    assert victim.returncode == 130, err
    assert "interrupted: every finished article is saved" in err
    for noise in ("Task was destroyed", "never retrieved", "Traceback"):
        assert noise not in err, err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["stopped"] == "interrupted" and summary["sessions"][-1]["status"] == "interrupted"
    assert summary["articles_done"] >= 1 and (out / "instructions.jsonl").stat().st_size > 0
