"""Shared pieces of the Ray executor tests: a request probe spanning several loopback servers,
the compile command line against them, and ways to watch and disturb a running cluster run."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from network_helpers import scripted_teacher

from foveate_dspy.compile import main as compile_main
from loopback import LoopbackServer


class Probe:
    """The scripted teacher behind every server of a test, counting the requests being answered
    across all of them at once: the cluster-wide in-flight bound is checked here, where requests
    actually arrive. The reply takes `delay` seconds, so requests overlap as they would at a
    real provider."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.now = 0
        self.peak = 0
        self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> str:
        with self._lock:
            self.now += 1
            self.requests += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(self.delay)
            return scripted_teacher(body)
        finally:
            with self._lock:
                self.now -= 1


@contextlib.contextmanager
def servers(count: int, probe: Probe) -> Iterator[list[LoopbackServer]]:
    """`count` loopback servers answering through one probe."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(LoopbackServer(respond=probe, max_seconds=280)) for _ in range(count)]


def scripted_args(corpus: Path, limit: int, out: Path, api_bases: list[str], concurrency: int, *extra: str) -> list[str]:
    """compile's command line for the scripted teacher behind loopback servers."""
    args = ["--corpus", str(corpus), "--limit", str(limit), "--n-per-level", "2", "--teacher", "openai/loopback"]
    for url in api_bases:
        args += ["--api-base", url]
    return [*args, "--max-concurrency", str(concurrency), "--out", str(out), "--quiet", *extra]


def compile_in_thread(argv: list[str]) -> tuple[threading.Thread, dict[str, int]]:
    """Run compile in a background thread; the dict receives its exit status as "rc"."""
    outcome: dict[str, int] = {}
    thread = threading.Thread(target=lambda: outcome.update(rc=compile_main(argv)), daemon=True)
    thread.start()
    return thread, outcome


def articles_done(run_dir: Path) -> int:
    """Articles committed so far, read the way a second process would (0 before the store exists)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{(run_dir / 'run.sqlite').as_uri()}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM articles WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def article_tries(run_dir: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(f"{(run_dir / 'run.sqlite').as_uri()}?mode=ro", uri=True)) as db:
        return [tries for (tries,) in db.execute("SELECT tries FROM articles ORDER BY position")]


def worker_pids() -> list[int]:
    """The processes of the run's Ray Data workers (Ray titles them after the callable class)."""
    import psutil

    pids = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        if any("ArticleWorker" in part for part in process.info["cmdline"] or ()):
            pids.append(process.info["pid"])
    return pids


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
