"""The run store: one SQLite database per run directory, the single source of truth of a run.

It holds the corpus (articles, their per-level budgets n and their status), every item with every
attempt and its rejection reason, the levels that failed, the LM-usage ledger and one row per
session (each time the command ran). `instructions.jsonl`, `rejected.jsonl` and `summary.json` are
exports of it.

Why a database and not appended JSONL: each article's results are committed in one transaction
(items, attempts, level failures, usage, article status), so a crash, `kill -9` or a full disk at
any moment leaves every article either fully saved or not at all, and a resumed run can tell
exactly which articles are done. WAL mode lets `python -m foveate_dspy.export` read a run while it
is still writing; `synchronous=FULL` makes a commit survive a power cut, at one fsync per article,
which is nothing next to an article's LM calls.

One process at a time writes a run directory: an advisory lock (`run.lock`) refuses a second one
instead of letting both pay for the same articles.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from foveate_dspy.corpus import Article
from foveate_dspy.records import Attempt, Item, LevelFailure

STORE_NAME = "run.sqlite"
LOCK_NAME = "run.lock"
EXPORTS = ("instructions.jsonl", "rejected.jsonl", "summary.json")
SCHEMA_VERSION = 1

# The usage figures kept per stage and per model (calls.StageUsage, plus DSPy cache hits).
USAGE_FIELDS = (
    "calls",
    "errors",
    "retries",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cost_usd",
    "unpriced_calls",
    "cache_hits",
    "parse_coerced",
    "parse_failed",
    "parse_retried_ok",
    "parse_lost",
)
# Added after the first release: stores made before them get the columns when opened.
_LATER_USAGE_COLUMNS = ("parse_coerced", "parse_failed", "parse_retried_ok", "parse_lost")

RUN_USAGE = "(run)"  # the usage table's article id for requests of no article (commit_run_usage)

# Article status: `failed` articles are retried by the next run, like `pending` ones.
PENDING, DONE, FAILED = "pending", "done", "failed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    position INTEGER NOT NULL UNIQUE,
    id TEXT PRIMARY KEY,
    title TEXT,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    n INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    error TEXT,
    tries INTEGER NOT NULL DEFAULT 0,
    session INTEGER,
    updated_at REAL
);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id),
    seq INTEGER NOT NULL,
    level TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    resynthesized INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_article ON items (article_id, seq);
CREATE TABLE IF NOT EXISTS attempts (
    item_id TEXT NOT NULL REFERENCES items(id),
    number INTEGER NOT NULL,
    instruction TEXT NOT NULL,
    output TEXT NOT NULL,
    temperature REAL,
    rejection TEXT,
    feedback TEXT,
    demo_ids TEXT NOT NULL,
    PRIMARY KEY (item_id, number)
);
CREATE TABLE IF NOT EXISTS level_failures (
    article_id TEXT NOT NULL REFERENCES articles(id),
    level TEXT NOT NULL,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (article_id, level)
);
CREATE TABLE IF NOT EXISTS usage (
    session INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('stage', 'model')),
    name TEXT NOT NULL,
    calls INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    retries INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    unpriced_calls INTEGER NOT NULL,
    cache_hits INTEGER NOT NULL,
    parse_coerced INTEGER NOT NULL DEFAULT 0,
    parse_failed INTEGER NOT NULL DEFAULT 0,
    parse_retried_ok INTEGER NOT NULL DEFAULT 0,
    parse_lost INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session, article_id, kind, name)
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    last_commit_at REAL,
    ended_at REAL,
    status TEXT NOT NULL,
    settings TEXT NOT NULL
);
"""


class StoreError(RuntimeError):
    """The run store cannot be opened or written; the message names the path and what to do."""


class SettingsMismatch(StoreError):
    """The run directory holds a run made with different output-shaping settings."""


def _connect(path: Path, factory: type[sqlite3.Connection] = sqlite3.Connection, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit BEGIN/COMMIT statements."""
    if read_only:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, factory=factory)
    return sqlite3.connect(path, isolation_level=None, factory=factory, timeout=30)


def _describe(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _dumps(value: Any) -> str:
    """Records keep their field order (the export writes them as stored)."""
    return json.dumps(value, ensure_ascii=False)


def _canonical(value: Any) -> Any:
    """`value` as JSON would give it back, with sorted keys: comparable across sessions."""
    return json.loads(json.dumps(value, ensure_ascii=False, sort_keys=True))


class _DirectoryLock:
    """An exclusive advisory lock on RUN_DIR/run.lock, released when the process ends (even by
    `kill -9`), so a stale lock never blocks a resume."""

    def __init__(self, run_dir: Path) -> None:
        import fcntl

        self.path = run_dir / LOCK_NAME
        self.handle = self.path.open("a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            raise StoreError(f"{run_dir}: another run is writing this directory (pid {holder}); wait for it or use another --out") from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(str(os.getpid()))
        self.handle.flush()

    def release(self) -> None:
        self.handle.close()


def check_writable(run_dir: Path) -> None:
    """Create the run directory and prove a file can be written in it, or raise StoreError."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=run_dir, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StoreError(f"{run_dir}: cannot write the run directory: {_describe(exc)}") from exc


def move_aside(run_dir: Path) -> Path | None:
    """Move a previous run's store and exports into RUN_DIR/superseded-<time>/ (for --force-new);
    returns that folder, or None when there was nothing to move."""
    names = [STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm", *EXPORTS]
    present = [name for name in names if (run_dir / name).exists()]
    if not present:
        return None
    target = run_dir / time.strftime("superseded-%Y%m%d-%H%M%S")
    suffix = 1
    while target.exists():
        target = run_dir / f"{time.strftime('superseded-%Y%m%d-%H%M%S')}-{suffix}"
        suffix += 1
    try:
        target.mkdir()
        for name in present:
            os.replace(run_dir / name, target / name)
    except OSError as exc:
        raise StoreError(f"{run_dir}: cannot move the previous run aside: {_describe(exc)}") from exc
    return target


class RunStore:
    """A run directory's database. Open with `RunStore.open` (writer) or `RunStore.read` (reader)."""

    def __init__(self, path: Path, connection: sqlite3.Connection, lock: _DirectoryLock | None = None) -> None:
        self.path = path
        self.db = connection
        self._lock = lock
        self.session: int | None = None
        self.moved_to: Path | None = None
        self.secrets: tuple[str, ...] = ()

    def redact(self, secrets: list[str]) -> None:
        """Replace these strings (API keys, URL passwords) by *** in everything saved from now
        on: a provider's error message may echo a key or an endpoint URL back, and that text
        ends up in rejection reasons and article errors."""
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def _clean(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    # --- opening and closing ------------------------------------------------------------------

    @classmethod
    def open(cls, run_dir: Path, fresh: bool = False) -> RunStore:
        """Open (creating when absent) the store of `run_dir` for writing. With `fresh`, a
        previous run's store and exports are first moved to RUN_DIR/superseded-<time>/
        (`moved_to` says where). Outputs without a store (an older version's run) are never
        overwritten silently: they need `fresh`."""
        check_writable(run_dir)
        lock = _DirectoryLock(run_dir)
        path = run_dir / STORE_NAME
        moved_to = None
        try:
            if fresh:
                moved_to = move_aside(run_dir)
            elif not path.exists() and any((run_dir / name).exists() for name in EXPORTS):
                raise StoreError(
                    f"{run_dir}: holds run outputs but no run store ({STORE_NAME}), so it cannot be resumed; "
                    "pass --force-new to move them aside and start over, or choose another --out"
                )
            db = _connect(path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(SCHEMA)
            present = {row[1] for row in db.execute("PRAGMA table_info(usage)")}
            for column in _LATER_USAGE_COLUMNS:
                if column not in present:
                    db.execute(f"ALTER TABLE usage ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
            store = cls(path, db, lock)
            version = store.meta("schema_version")
            if version is not None and version != SCHEMA_VERSION:
                raise StoreError(f"{path}: store schema version {version}, this program reads {SCHEMA_VERSION}; use --force-new or another --out")
            # A session still "running" was killed: no live process holds the lock but us.
            db.execute("UPDATE sessions SET status = 'interrupted', ended_at = last_commit_at WHERE status = 'running'")
            store.moved_to = moved_to
        except sqlite3.DatabaseError as exc:
            lock.release()
            raise StoreError(f"{path}: cannot open the run store: {exc}") from exc
        except BaseException:
            lock.release()
            raise
        return store

    @classmethod
    def read(cls, run_dir: Path) -> RunStore:
        """Open an existing store read-only (exports; safe while a run is writing it)."""
        path = run_dir / STORE_NAME if run_dir.is_dir() else run_dir
        if not path.is_file():
            raise StoreError(f"{path}: no run store here (expected {STORE_NAME} in a run directory)")
        try:
            db = _connect(path, read_only=True)
            store = cls(path, db)
            if store.meta("schema_version") is None:
                raise StoreError(f"{path}: the run store holds no run yet")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot read the run store: {exc}") from exc
        return store

    def close(self) -> None:
        """Close; a writer also folds the WAL back so the store is one self-contained file that a
        read-only copy or directory can still open."""
        with contextlib.suppress(sqlite3.Error):
            if self._lock is not None:
                self.db.execute("PRAGMA journal_mode=DELETE")
        self.db.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: could not save {what}: {exc}. Everything committed before is intact; "
                "fix the cause (disk space, permissions) and run the same command again to resume."
            ) from exc

    # --- the run's identity -------------------------------------------------------------------

    def meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    @property
    def initialised(self) -> bool:
        return self.meta("fingerprint") is not None

    def initialise(self, fingerprint: dict[str, Any], articles: list[Article], budgets: list[int]) -> None:
        """Record the run's shaping settings, its corpus and the budgets n, all at once."""
        with self._transaction("the run's corpus and settings") as db:
            for key, value in (("schema_version", SCHEMA_VERSION), ("fingerprint", _canonical(fingerprint)), ("created_at", time.time())):
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, _dumps(value)))
            db.executemany(
                "INSERT INTO articles (position, id, title, text, source, n) VALUES (?, ?, ?, ?, ?, ?)",
                [(i, a.id, a.title, a.text, _dumps(a.source), n) for i, (a, n) in enumerate(zip(articles, budgets))],
            )

    def differences(self, fingerprint: dict[str, Any]) -> list[str]:
        """Each shaping setting whose stored value differs from `fingerprint`, described."""
        stored = self.meta("fingerprint") or {}
        now = _canonical(fingerprint)
        lines = []
        for key in sorted(set(stored) | set(now)):
            if stored.get(key) != now.get(key):
                lines.append(f"{key}: {_show(stored.get(key))} in the store, {_show(now.get(key))} now")
        return lines

    # --- articles -----------------------------------------------------------------------------

    def budgets(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT id, n FROM articles ORDER BY position"))

    def statuses(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, status FROM articles ORDER BY position"))

    def begin_session(self, settings: dict[str, Any]) -> int:
        with self._transaction("the session") as db:
            cursor = db.execute(
                "INSERT INTO sessions (started_at, status, settings) VALUES (?, 'running', ?)", (time.time(), _dumps(settings))
            )
        self.session = int(cursor.lastrowid)
        return self.session

    def end_session(self, status: str) -> None:
        if self.session is None:
            return
        with self._transaction("the session's end") as db:
            db.execute("UPDATE sessions SET status = ?, ended_at = ? WHERE id = ?", (status, time.time(), self.session))

    def commit_article(
        self,
        article: Article,
        items: list[Item],
        level_failures: list[LevelFailure],
        usage: list[tuple[str, str, dict[str, Any]]],
        *,
        teacher: str,
        method: str,
        error: str | None = None,
    ) -> bool:
        """Save one article's outcome in one transaction; returns False when it was already done.

        `usage` is (kind, name, figures) per stage and model (usage.ArticleLedger.rows). With
        `error` the article is marked failed, to be retried by the next run, and only its usage is
        kept: its items will be made again, and keeping these too would duplicate them."""
        now = time.time()
        columns = ", ".join(USAGE_FIELDS)
        updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in USAGE_FIELDS)
        with self._transaction(f"article {article.id!r}") as db:
            row = db.execute("SELECT status FROM articles WHERE id = ?", (article.id,)).fetchone()
            if row is None:
                raise StoreError(f"{self.path}: article {article.id!r} is not part of this run")
            if row[0] == DONE:
                return False
            db.executemany(
                f"INSERT INTO usage (session, article_id, kind, name, {columns}) VALUES (?, ?, ?, ?, {', '.join('?' * len(USAGE_FIELDS))})"
                f" ON CONFLICT (session, article_id, kind, name) DO UPDATE SET {updates}",
                [(self.session or 0, article.id, kind, name, *(figures[c] for c in USAGE_FIELDS)) for kind, name, figures in usage],
            )
            if error is None:
                self._insert_results(db, article, items, level_failures, teacher, method)
            db.execute(
                "UPDATE articles SET status = ?, error = ?, tries = tries + 1, session = ?, updated_at = ? WHERE id = ?",
                (FAILED if error is not None else DONE, self._clean(error), self.session, now, article.id),
            )
            if self.session is not None:
                db.execute("UPDATE sessions SET last_commit_at = ? WHERE id = ?", (now, self.session))
        return True

    def _insert_results(
        self, db: sqlite3.Connection, article: Article, items: list[Item], level_failures: list[LevelFailure], teacher: str, method: str
    ) -> None:
        clean = self._clean
        for seq, item in enumerate(items):
            record = {**item.to_record(teacher, method), "source": article.source}
            final = item.accepted
            db.execute(
                "INSERT INTO items (id, article_id, seq, level, accepted, resynthesized, attempts, reason, record)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.id,
                    article.id,
                    seq,
                    item.level,
                    int(final is not None),
                    int(item.resynthesized),
                    len(item.attempts),
                    clean(record.get("reason")),
                    clean(_dumps(record)),
                ),
            )
            db.executemany(
                "INSERT INTO attempts (item_id, number, instruction, output, temperature, rejection, feedback, demo_ids)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (item.id, a.number, clean(a.instruction), clean(a.output), a.temperature, clean(a.rejection), clean(a.feedback), _dumps(a.demo_ids))
                    for a in item.attempts
                ],
            )
        for offset, failure in enumerate(level_failures):
            record = {**failure.to_record(teacher, method), "source": article.source}
            db.execute(
                "INSERT INTO level_failures (article_id, level, seq, reason, record) VALUES (?, ?, ?, ?, ?)",
                (article.id, failure.level, len(items) + offset, clean(failure.reason), clean(_dumps(record))),
            )

    # --- the whole-run filter -----------------------------------------------------------------

    def whole_run_candidates(self, reason_prefix: str) -> list[Item]:
        """Every item accepted before a whole-run filter: the accepted ones plus those an earlier
        pass of the filter (its reasons start with `reason_prefix`) removed, which come back
        accepted. Re-running the filter from this set gives the same answer every time, however
        many sessions the run took."""
        query = (
            "SELECT items.id, items.article_id, items.level, items.record FROM items"
            " JOIN articles ON articles.id = items.article_id"
            " WHERE items.accepted = 1 OR substr(items.reason, 1, ?) = ? ORDER BY articles.position, items.seq"
        )
        items = []
        for item_id, article_id, level, record in self.db.execute(query, (len(reason_prefix), reason_prefix)):
            item = Item(item_id, article_id, level, json.loads(record)["feature"], self._attempts(item_id))
            if item.attempts and (item.attempts[-1].rejection or "").startswith(reason_prefix):
                item.attempts[-1].rejection = None
            items.append(item)
        return items

    def _attempts(self, item_id: str) -> list[Attempt]:
        query = (
            "SELECT number, instruction, output, temperature, rejection, feedback, demo_ids FROM attempts"
            " WHERE item_id = ? ORDER BY number"
        )
        return [
            Attempt(number, instruction, output, temperature, rejection, feedback, json.loads(demo_ids))
            for number, instruction, output, temperature, rejection, feedback, demo_ids in self.db.execute(query, (item_id,))
        ]

    def refile(self, items: list[Item]) -> None:
        """Save the verdicts of a whole-run filter over `items` (from `whole_run_candidates`): each
        item's record, status and final attempt, in one transaction."""
        with self._transaction("the whole-run filter's verdicts") as db:
            for item in items:
                stored = json.loads(db.execute("SELECT record FROM items WHERE id = ?", (item.id,)).fetchone()[0])
                record = {**item.to_record(stored["teacher"], stored["method"]), "source": stored.get("source", {})}
                final = item.attempts[-1]
                db.execute(
                    "UPDATE items SET accepted = ?, reason = ?, record = ? WHERE id = ?",
                    (int(item.accepted is not None), record.get("reason"), _dumps(record), item.id),
                )
                db.execute(
                    "UPDATE attempts SET rejection = ? WHERE item_id = ? AND number = ?", (final.rejection, item.id, final.number)
                )

    def filtered(self) -> list[tuple[str, str, str]]:
        """(item id, level, reason) of every item a filter removed, in corpus order."""
        query = (
            "SELECT items.id, items.level, items.reason FROM items JOIN articles ON articles.id = items.article_id"
            " WHERE substr(items.reason, 1, 10) = 'filtered: ' ORDER BY articles.position, items.seq"
        )
        return list(self.db.execute(query))

    # --- reading ------------------------------------------------------------------------------

    def accepted_records(self) -> Iterator[dict[str, Any]]:
        """instructions.jsonl: accepted items in corpus order, then item order."""
        query = (
            "SELECT items.record FROM items JOIN articles ON articles.id = items.article_id"
            " WHERE items.accepted = 1 ORDER BY articles.position, items.seq"
        )
        for (record,) in self.db.execute(query):
            yield json.loads(record)

    def rejected_records(self) -> Iterator[dict[str, Any]]:
        """rejected.jsonl: rejected items and failed levels, in corpus order."""
        query = (
            "SELECT record FROM ("
            " SELECT items.record AS record, articles.position AS position, items.seq AS seq FROM items"
            " JOIN articles ON articles.id = items.article_id WHERE items.accepted = 0"
            " UNION ALL"
            " SELECT level_failures.record, articles.position, level_failures.seq FROM level_failures"
            " JOIN articles ON articles.id = level_failures.article_id"
            ") ORDER BY position, seq"
        )
        for (record,) in self.db.execute(query):
            yield json.loads(record)

    def articles(self) -> Iterator[dict[str, Any]]:
        query = "SELECT id, title, text, source, n, status, error, tries FROM articles ORDER BY position"
        for row in self.db.execute(query):
            yield {
                "id": row[0],
                "title": row[1],
                "text": row[2],
                "source": json.loads(row[3]),
                "n": row[4],
                "status": row[5],
                "error": row[6],
                "tries": row[7],
            }

    def counts(self) -> dict[str, Any]:
        """The figures summary.json reports, all from committed data."""
        db = self.db
        per_level: dict[str, dict[str, int]] = {"records": {}, "resynthesized": {}, "failed": {}}
        for level, accepted, resynthesized, count in db.execute(
            "SELECT level, accepted, resynthesized, COUNT(*) FROM items GROUP BY level, accepted, resynthesized"
        ):
            key = "records" if accepted else "failed"
            per_level[key][level] = per_level[key].get(level, 0) + count
            if accepted and resynthesized:
                per_level["resynthesized"][level] = per_level["resynthesized"].get(level, 0) + count
        statuses = dict(db.execute("SELECT status, COUNT(*) FROM articles GROUP BY status"))
        return {
            "articles": sum(statuses.values()),
            "articles_done": statuses.get(DONE, 0),
            "articles_pending": statuses.get(PENDING, 0),
            "articles_failed": [
                {"article_id": article_id, "error": error, "tries": tries}
                for article_id, error, tries in db.execute(
                    "SELECT id, error, tries FROM articles WHERE status = 'failed' ORDER BY position"
                )
            ],
            "per_level": per_level,
            "resynthesis_attempts": db.execute("SELECT COALESCE(SUM(attempts - 1), 0) FROM items").fetchone()[0],
            "level_failures": dict(db.execute("SELECT level, COUNT(*) FROM level_failures GROUP BY level ORDER BY level")),
            "budgets": [n for (n,) in db.execute("SELECT n FROM articles ORDER BY position")],
        }

    def usage(self, session: int | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        """The usage ledger summed per stage and per model (over all sessions, or one)."""
        where, args = ("WHERE session = ?", (session,)) if session is not None else ("", ())
        sums = ", ".join(f"SUM({c})" for c in USAGE_FIELDS)
        query = f"SELECT kind, name, {sums} FROM usage {where} GROUP BY kind, name ORDER BY kind, name"
        result: dict[str, dict[str, dict[str, Any]]] = {"stages": {}, "models": {}}
        for kind, name, *values in self.db.execute(query, args):
            row = dict(zip(USAGE_FIELDS, values))
            row["cost_usd"] = round(row["cost_usd"], 6)
            if kind == "model":
                del row["cache_hits"]  # DSPy serves a cache hit without naming a model
                for column in _LATER_USAGE_COLUMNS:
                    del row[column]  # parsing is counted per stage
            result["stages" if kind == "stage" else "models"][name] = row
        return result

    def commit_run_usage(self, usage: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Save LM usage that belongs to no article (the output-mode probe at a session's start)
        under the article id RUN_USAGE, so the run's totals count every request it sent."""
        columns = ", ".join(USAGE_FIELDS)
        updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in USAGE_FIELDS)
        with self._transaction("the run's own LM usage") as db:
            db.executemany(
                f"INSERT INTO usage (session, article_id, kind, name, {columns}) VALUES (?, ?, ?, ?, {', '.join('?' * len(USAGE_FIELDS))})"
                f" ON CONFLICT (session, article_id, kind, name) DO UPDATE SET {updates}",
                [(self.session or 0, RUN_USAGE, kind, name, *(figures[c] for c in USAGE_FIELDS)) for kind, name, figures in usage],
            )

    def level_failure_examples(self, limit: int = 5) -> list[dict[str, str]]:
        """A few (article, level, reason) of the levels that produced nothing, for the closing line."""
        query = "SELECT article_id, level, reason FROM level_failures ORDER BY rowid LIMIT ?"
        return [{"article_id": a, "level": lv, "reason": r} for a, lv, r in self.db.execute(query, (limit,))]

    def sessions(self) -> list[dict[str, Any]]:
        """Each time the command ran: its status and how long it ran (until its last commit,
        for a session that was killed)."""
        query = "SELECT id, started_at, last_commit_at, ended_at, status FROM sessions ORDER BY id"
        return [
            {"session": sid, "status": status, "wall_seconds": round((ended or last_commit or started) - started, 3)}
            for sid, started, last_commit, ended, status in self.db.execute(query)
        ]


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(none)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict) else str(value)
