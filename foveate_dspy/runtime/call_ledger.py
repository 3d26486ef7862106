"""The call ledger: one row per LM request, written to the run store as the request is made.

Why a second ledger next to the per-article `usage` table: `usage` is committed with its article,
so the calls of an article that was in flight when the process died, or that a limit cut short,
never reach it, and the run under-reports what it paid for. Here a row is inserted when a request
is sent and completed (tokens, cost, outcome) when its reply arrives, whatever becomes of the
article. After `kill -9` the ledger therefore holds every request the provider received; the
requests still in flight at that moment have a row without an end (their tokens are unknown).

Durability without an fsync per call: the ledger has its own connection to the store with
`synchronous=NORMAL`. In WAL mode a transaction committed that way survives the process being
killed (it is in the WAL file, which the OS keeps), though not a power cut; an fsync per request
would cost more than the request's bookkeeping. Article commits keep `synchronous=FULL`.

Optimisation replies are kept too (`saved_replies`, by a digest of the request): DSPy's
teleprompters are seeded, so an optimisation that a limit stopped makes the same requests again
when the command is re-run with a higher limit, and those are answered from the store, unpaid.

Which calls were kept: each article run (an "attempt", a fresh id each time the article starts)
tags its calls; `RunStore.commit_article` records the attempt in `kept_attempts` when the article
is saved as done. Every other call (articles that failed, were in flight at a crash or were cut
short by a limit) is work that was paid for and lost. Optimisation and judge calls carry their
phase instead of an attempt.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from foveate_dspy.runtime.calls import Pricing

COMPILE, OPTIMIZE, JUDGE = "compile", "optimize", "judge"

LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session INTEGER NOT NULL,
    phase TEXT NOT NULL,
    article_id TEXT,
    attempt TEXT,
    stage TEXT NOT NULL,
    model TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    failed INTEGER,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    priced INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_by_attempt ON calls (attempt);
CREATE TABLE IF NOT EXISTS kept_attempts (
    attempt TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    session INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS saved_replies (
    request TEXT PRIMARY KEY,
    outputs TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Work:
    """What the current task's calls work for: an article attempt, or a phase without one."""

    phase: str = COMPILE
    article_id: str | None = None
    attempt: str | None = None

    @classmethod
    def article(cls, article_id: str) -> Work:
        return cls(COMPILE, article_id, uuid.uuid4().hex)


CALL_LOG: ContextVar[CallLog | None] = ContextVar("foveate_call_log", default=None)
WORK: ContextVar[Work] = ContextVar("foveate_work", default=Work())


class CallLog:
    """Writes the ledger rows of one session; safe to use from any thread."""

    def __init__(self, path: Path, session: int, pricing: Pricing | None = None) -> None:
        self.session = session
        self.pricing = pricing
        self._lock = threading.Lock()
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA synchronous=NORMAL")  # per connection: see the module docstring
        # Two small transactions per call would grow the WAL by megabytes between SQLite's default
        # checkpoints (every 1000 pages); checkpoint often and keep the file short instead.
        self.db.execute("PRAGMA wal_autocheckpoint=64")
        self.db.execute("PRAGMA journal_size_limit=1048576")

    def started(self, stage: str, model: str | None, phase: str | None = None, work: Work | None = None) -> int | None:
        """Insert the row of a request about to be sent; returns its id (None if it could not be
        written: the ledger never fails a request, the article commit reports a broken disk)."""
        work = work or (WORK.get() if phase is None else Work(phase))
        with self._lock, contextlib.suppress(sqlite3.Error):
            cursor = self.db.execute(
                "INSERT INTO calls (session, phase, article_id, attempt, stage, model, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.session, work.phase, work.article_id, work.attempt, stage, model, time.time()),
            )
            return int(cursor.lastrowid)
        return None

    def finished(self, row: int | None, usage_by_model: dict[str, dict[str, Any]], failed: bool) -> None:
        """Complete a request's row with its outcome, tokens and (priced models) cost."""
        if row is None:
            return
        inputs = outputs = cached = 0
        cost, priced = 0.0, bool(usage_by_model)
        for model, usage in usage_by_model.items():
            inputs += int(usage.get("prompt_tokens") or 0)
            outputs += int(usage.get("completion_tokens") or 0)
            cached += int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
            price = self.pricing.cost(model, usage) if self.pricing is not None else None
            if price is None:
                priced = False
            else:
                cost += price
        with self._lock, contextlib.suppress(sqlite3.Error):
            self.db.execute(
                "UPDATE calls SET ended_at = ?, failed = ?, input_tokens = ?, output_tokens = ?, cached_input_tokens = ?,"
                " cost_usd = ?, priced = ? WHERE id = ?",
                (time.time(), int(failed), inputs, outputs, cached, cost, int(priced), row),
            )

    def saved_reply(self, request: str) -> list[Any] | None:
        """The outputs a request (`request`: its digest) got in an earlier session, if kept."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            row = self.db.execute("SELECT outputs FROM saved_replies WHERE request = ?", (request,)).fetchone()
            return json.loads(row[0]) if row else None
        return None

    def save_reply(self, request: str, outputs: list[Any]) -> None:
        """Keep a paid request's outputs, so a later session that makes the same request (an
        optimisation a limit cut short, run again) does not pay for it twice."""
        try:
            text = json.dumps(outputs, allow_nan=False)
        except (TypeError, ValueError):
            return  # outputs that are not plain JSON are not replayed
        with self._lock, contextlib.suppress(sqlite3.Error):
            self.db.execute("INSERT OR REPLACE INTO saved_replies (request, outputs) VALUES (?, ?)", (request, text))

    def adopt(self, session: int) -> None:
        """Give the rows written before the session began (optimisation runs before the run's
        settings are checked and its session starts) to that session."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self.db.execute("UPDATE calls SET session = ? WHERE session = ?", (session, self.session))
        self.session = session

    def close(self) -> None:
        with self._lock:
            self.db.close()


def record_replayed(calls: list[tuple[Any, ...]], work: Work) -> None:
    """Write calls a Ray worker made (ray_executor.Outcome.calls) once their article comes back:
    the workers have no connection to the store."""
    log = CALL_LOG.get()
    if log is None:
        return
    for stage, usage_by_model, failed, *_ in calls:
        row = log.started(stage, next(iter(usage_by_model), None), work=work)
        log.finished(row, usage_by_model, failed)


def record_start(stage: str, model: str | None) -> int | None:
    log = CALL_LOG.get()
    return log.started(stage, model) if log is not None else None


def record_end(row: int | None, usage_by_model: dict[str, dict[str, Any]], failed: bool) -> None:
    log = CALL_LOG.get()
    if log is not None:
        log.finished(row, usage_by_model, failed)


def totals(db: sqlite3.Connection) -> dict[str, Any]:
    """The ledger's figures over every session: every call paid for, split into the calls whose
    work was kept (their article committed as done), lost, and spent on optimisation or judges."""
    query = (
        "SELECT CASE WHEN phase != 'compile' THEN phase WHEN kept_attempts.attempt IS NOT NULL THEN 'kept' ELSE 'lost' END AS bucket,"
        " COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cost_usd), 0),"
        " COALESCE(SUM(ended_at IS NULL), 0), COALESCE(SUM(priced = 0), 0)"
        " FROM calls LEFT JOIN kept_attempts ON kept_attempts.attempt = calls.attempt GROUP BY bucket"
    )
    buckets: dict[str, dict[str, Any]] = {}
    for bucket, calls, inputs, outputs, cost, unfinished, unpriced in db.execute(query):
        buckets[bucket] = {
            "calls": calls,
            "input_tokens": inputs,
            "output_tokens": outputs,
            "cost_usd": round(cost, 6),
            "unfinished": unfinished,
            "unpriced": unpriced,
        }
    return buckets


def spent(db: sqlite3.Connection) -> tuple[int, float]:
    """(calls, estimated USD) the run has paid for so far, over every session."""
    calls, cost = db.execute("SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM calls").fetchone()
    return int(calls), float(cost)


def spend_fields(buckets: dict[str, dict[str, Any]], max_calls: int | None, max_cost_usd: float | None) -> dict[str, Any]:
    """summary.json's spend: every call the run paid for across resumes (`lm_calls_total`, its
    tokens and cost), split by what became of the work, and what is left of each limit.
    `lm_calls` elsewhere in the summary counts the committed articles' calls only."""
    total = {key: sum(b[key] for b in buckets.values()) for key in ("calls", "input_tokens", "output_tokens", "cost_usd", "unpriced")}
    priced = total["calls"] > total["unpriced"]
    cost = round(total["cost_usd"], 6) if priced else None
    return {
        "lm_calls_total": total["calls"],
        "input_tokens_total": total["input_tokens"],
        "output_tokens_total": total["output_tokens"],
        "cost_usd_total": cost,
        "lm_calls_by_outcome": {
            "kept": buckets.get("kept", {}).get("calls", 0),  # their article was saved
            "lost": buckets.get("lost", {}).get("calls", 0),  # failed, interrupted or cut short: paid, redone later
            "optimize": buckets.get(OPTIMIZE, {}).get("calls", 0),
            "judge": buckets.get(JUDGE, {}).get("calls", 0),
            "probe": buckets.get("probe", {}).get("calls", 0),  # the output-mode probe (runner.settle_output_mode)
            "unfinished": sum(b["unfinished"] for b in buckets.values()),  # in flight when a process died
        },
        "lm_ledger": buckets,
        "limits": {
            "max_calls": max_calls,
            "calls_left": None if max_calls is None else max(max_calls - total["calls"], 0),
            "max_cost_usd": max_cost_usd,
            "cost_left_usd": None if max_cost_usd is None else round(max(max_cost_usd - total["cost_usd"], 0.0), 6),
        },
    }
