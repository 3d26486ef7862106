"""The run store: one SQLite database per run directory, the single source of truth of a run.

It holds the corpus (articles, their per-level budgets n and their status), every item with every
attempt and its rejection reason, the levels that failed, each level's extraction (features
dropped by the rules, slots left without a feature), the LM-usage ledger and one row per
session (each time the command ran). `instructions.jsonl`, `rejected.jsonl` and `summary.json` are
exports of it.

Why a database and not appended JSONL: each article's results are committed in one transaction
(items, attempts, level failures, usage, article status), so a crash, `kill -9` or a full disk at
any moment leaves every article either fully saved or not at all, and a resumed run can tell
exactly which articles are done. WAL mode lets `python -m foveate_dspy.export` read a run while it
is still writing; `synchronous=FULL` makes a commit survive a power cut, at one fsync per article,
which is nothing next to an article's LM calls.

Scale. The corpus is stored as it streams in (`add_articles`, in batches), the articles still to
run are read page by page from a partial index (`pending`), status counts and budget figures come
from an index, exports stream from cursors, and `commit_articles` saves several finished articles
in one transaction (one fsync), each still all-or-nothing. An article's budget n may be unset
(NULL) until the article runs: Algorithm 1 fitted on a sample (`budget.BudgetFit`, kept in the
meta table) gives it then, and the commit stores it.

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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foveate_dspy.runtime import call_ledger
from foveate_dspy.runtime.call_ledger import LEDGER_SCHEMA
from foveate_dspy.corpus.readers import Article, describe_source
from foveate_dspy.method.items import Attempt, Item, LevelFailure

if TYPE_CHECKING:
    from foveate_dspy.method.extraction import ExtractionLog

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
    n INTEGER,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    error TEXT,
    tries INTEGER NOT NULL DEFAULT 0,
    session INTEGER,
    updated_at REAL
);
-- The articles still to run, in corpus order: a resume reads this index, not the whole table,
-- and a finished run's is empty. Status counts and the budget figures read the second one.
CREATE INDEX IF NOT EXISTS articles_to_run ON articles (position) WHERE status != 'done';
CREATE INDEX IF NOT EXISTS articles_by_status ON articles (status, n);
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
CREATE TABLE IF NOT EXISTS extractions (
    article_id TEXT NOT NULL REFERENCES articles(id),
    level TEXT NOT NULL,
    slots INTEGER NOT NULL,
    filled INTEGER NOT NULL,
    wanted INTEGER NOT NULL,
    kept INTEGER NOT NULL,
    dropped TEXT NOT NULL,
    flagged TEXT NOT NULL,
    calls INTEGER NOT NULL,
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
""" + LEDGER_SCHEMA


class StoreError(RuntimeError):
    """The run store cannot be opened or written; the message names the path and what to do."""


class SettingsMismatch(StoreError):
    """The run directory holds a run made with different output-shaping settings."""


class DuplicateArticle(StoreError):
    """Two records of the corpus give the same article id; the message names both."""


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


SQLITE_HEADER = b"SQLite format 3\x00"


def check_integrity(path: Path, what_to_do: str) -> None:
    """Refuse a store that is empty, is not a SQLite database, or fails SQLite's quick check,
    with one line that says what to do. A damaged store must never be taken for a new run: that
    would pay again for every article and overwrite the exports made from it."""
    if not path.exists():
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the run store: {_describe(exc)}") from exc
    if not header:
        raise StoreError(f"{path}: the run store is empty (0 bytes), so what the run made is lost or was never saved; {what_to_do}")
    if header != SQLITE_HEADER:
        raise StoreError(f"{path}: the run store is damaged (not a SQLite database: truncated or overwritten); {what_to_do}")
    try:
        with contextlib.closing(_connect(path, read_only=True)) as db:
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: the run store is damaged ({exc}); {what_to_do}") from exc
    if problems != ["ok"]:
        raise StoreError(f"{path}: the run store is damaged (SQLite quick check: {'; '.join(problems[:2])}); {what_to_do}")


FORCE_NEW_ADVICE = "nothing was changed. Restore it from a backup, or pass --force-new to move it and the run's exports aside and start over"


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
            else:
                check_integrity(path, FORCE_NEW_ADVICE)
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
            if not fresh and not store.initialised and any((run_dir / name).exists() for name in EXPORTS):
                raise StoreError(
                    f"{path}: the run store holds no run but {run_dir} holds a run's exports; they are not overwritten by "
                    f"a run that starts from nothing: {FORCE_NEW_ADVICE}"
                )
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
        check_integrity(path, "it cannot be exported. Restore it from a backup, or re-run compile with --force-new to start the run over")
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

    def remember(self, key: str, value: Any, budgets: dict[str, int] | None = None) -> None:
        """Keep a fact a later session reuses instead of paying for it again (the output mode;
        Algorithm 1's fit, saved in the same transaction as the budgets n it gave)."""
        with self._transaction(f"the run's {key}") as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, _dumps(value)))
            if budgets:
                db.executemany("UPDATE articles SET n = ? WHERE id = ?", [(n, article_id) for article_id, n in budgets.items()])

    @property
    def initialised(self) -> bool:
        return self.meta("fingerprint") is not None

    def initialise(self, fingerprint: dict[str, Any], articles: list[Article] | None = None, budgets: list[int | None] | None = None) -> None:
        """Record the run's shaping settings (and, when given, its corpus with the budgets n) in
        one transaction. A streamed corpus is stored first with `add_articles`; the fingerprint,
        written last, is what makes the store a run: a session killed while storing the corpus
        leaves no fingerprint, and the next one starts the corpus over (`clear_articles`)."""
        with self._transaction("the run's corpus and settings") as db:
            for key, value in (("schema_version", SCHEMA_VERSION), ("fingerprint", _canonical(fingerprint)), ("created_at", time.time())):
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, _dumps(value)))
            if articles is not None:
                self._insert_articles(db, [(i, a, n) for i, (a, n) in enumerate(zip(articles, budgets or [None] * len(articles)))])

    def clear_articles(self) -> None:
        """Forget a corpus stored by a session that was killed before it initialised the run."""
        if self.initialised:
            raise StoreError(f"{self.path}: the run is initialised; its corpus cannot be cleared")
        with self._transaction("the corpus") as db:
            db.execute("DELETE FROM articles")

    def add_articles(self, rows: list[tuple[int, Article, int | None]]) -> None:
        """Store (position, article, n or None) rows of the corpus in one transaction; raises
        DuplicateArticle naming both records when an id is already stored or repeats in `rows`."""
        try:
            with self._transaction("the corpus") as db:
                self._insert_articles(db, rows)
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                duplicate = self._duplicate(rows)
                if duplicate is not None:
                    raise DuplicateArticle(duplicate) from None
            raise

    @staticmethod
    def _insert_articles(db: sqlite3.Connection, rows: list[tuple[int, Article, int | None]]) -> None:
        db.executemany(
            "INSERT INTO articles (position, id, title, text, source, n) VALUES (?, ?, ?, ?, ?, ?)",
            [(i, a.id, a.title, a.text, _dumps(a.source), n) for i, a, n in rows],
        )

    def _duplicate(self, rows: list[tuple[int, Article, int | None]]) -> str | None:
        seen: dict[str, str] = {}
        for _position, article, _n in rows:
            first = seen.get(article.id)
            if first is None:
                stored = self.db.execute("SELECT source FROM articles WHERE id = ?", (article.id,)).fetchone()
                first = describe_source(json.loads(stored[0])) if stored else None
            if first is not None:
                return f"{describe_source(article.source)}: duplicate article id {article.id!r} (first at {first})"
            seen[article.id] = describe_source(article.source)
        return None

    def differences(self, fingerprint: dict[str, Any], added_later: dict[str, Any] | None = None) -> list[str]:
        """Each shaping setting whose stored value differs from `fingerprint`, described. A
        setting of `added_later` missing from the store (one written before the setting existed)
        is taken to have the value it gives: the behaviour every run had then."""
        stored = {**(added_later or {}), **(self.meta("fingerprint") or {})}
        now = _canonical(fingerprint)
        lines = []
        for key in sorted(set(stored) | set(now)):
            if stored.get(key) != now.get(key):
                lines.append(f"{key}: {_show(stored.get(key))} in the store, {_show(now.get(key))} now")
        return lines

    # --- articles -----------------------------------------------------------------------------

    def budgets(self) -> dict[str, int | None]:
        return dict(self.db.execute("SELECT id, n FROM articles ORDER BY position"))

    def progress(self) -> dict[str, int]:
        """Articles per status (pending, done, failed) and in all, from the status index."""
        counts = {PENDING: 0, DONE: 0, FAILED: 0}
        counts.update(self.db.execute("SELECT status, COUNT(*) FROM articles GROUP BY status"))
        return {**counts, "articles": sum(counts.values())}

    def unbudgeted(self) -> int:
        """Articles whose budget n is not known yet (computed when they run)."""
        return self.db.execute("SELECT COUNT(*) FROM articles WHERE n IS NULL").fetchone()[0]

    def pending(self, page: int = 1000) -> Iterator[tuple[Article, int | None]]:
        """The articles not done yet, in corpus order, with their budgets (None: not computed
        yet), read `page` at a time from the partial index: constant memory, and each page is read
        whole before it is handed out, so commits made meanwhile cannot disturb the scan."""
        after = -1
        query = (
            "SELECT position, id, title, text, source, n FROM articles"
            " WHERE status != 'done' AND position > ? ORDER BY position LIMIT ?"
        )
        while True:
            rows = self.db.execute(query, (after, page)).fetchall()
            for position, article_id, title, text, source, n in rows:
                yield Article(article_id, text, title, json.loads(source)), n
            if len(rows) < page:
                return
            after = rows[-1][0]

    def articles_at(self, positions: list[int]) -> list[tuple[Article, int | None]]:
        """The articles at these corpus positions (the budget sample), in position order."""
        found = []
        for start in range(0, len(positions), 500):
            chunk = positions[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            query = f"SELECT id, title, text, source, n FROM articles WHERE position IN ({marks}) ORDER BY position"
            found += [(Article(i, text, title, json.loads(source)), n) for i, title, text, source, n in self.db.execute(query, chunk)]
        return found

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
        extractions: Sequence[ExtractionLog] = (),
        attempt: str | None = None,
        n: int | None = None,
    ) -> bool:
        """Save one article's outcome in one transaction; returns False when it was already done.

        `usage` is (kind, name, figures) per stage and model (usage.ArticleLedger.rows). With
        `error` the article is marked failed, to be retried by the next run, and only its usage is
        kept: its items will be made again, and keeping these too would duplicate them.
        `extractions` are the levels' extraction logs (drops, flags, shortfall), kept with the items;
        `n`, when given, is the budget the article ran with (computed as it ran), saved with it."""
        outcome = {
            "article": article, "items": items, "level_failures": level_failures, "usage": usage,
            "error": error, "extractions": extractions, "attempt": attempt, "n": n,
        }
        return self.commit_articles([outcome], teacher=teacher, method=method)[0]

    def commit_articles(self, outcomes: list[dict[str, Any]], *, teacher: str, method: str) -> list[bool]:
        """Save several articles' outcomes (each a dict of `commit_article`'s arguments) in one
        transaction: one fsync for all, and each article still saved whole or not at all. When
        the transaction fails, they are saved one by one, so every article that can be saved is
        before the error is raised. Returns, per article, False when it was already done."""
        label = f"article {outcomes[0]['article'].id!r}" if len(outcomes) == 1 else f"{len(outcomes)} articles"
        try:
            with self._transaction(label) as db:
                saved = [self._commit_one(db, time.time(), teacher=teacher, method=method, **outcome) for outcome in outcomes]
        except StoreError:
            if len(outcomes) == 1:
                raise
            return [self.commit_articles([outcome], teacher=teacher, method=method)[0] for outcome in outcomes]
        return saved

    def _commit_one(
        self,
        db: sqlite3.Connection,
        now: float,
        *,
        article: Article,
        items: list[Item],
        level_failures: list[LevelFailure],
        usage: list[tuple[str, str, dict[str, Any]]],
        teacher: str,
        method: str,
        error: str | None,
        extractions: Sequence[ExtractionLog] = (),
        attempt: str | None = None,
        n: int | None = None,
    ) -> bool:
        columns = ", ".join(USAGE_FIELDS)
        updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in USAGE_FIELDS)
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
            db.executemany(
                "INSERT INTO extractions (article_id, level, slots, filled, wanted, kept, dropped, flagged, calls)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (article.id, e.level, e.slots, e.filled, e.wanted, e.kept, _dumps(dict(e.dropped)), _dumps(dict(e.flagged)), e.calls)
                    for e in extractions
                ],
            )
            if attempt is not None:  # the call ledger's calls of this attempt did work that was kept
                db.execute(
                    "INSERT OR IGNORE INTO kept_attempts (attempt, article_id, session) VALUES (?, ?, ?)",
                    (attempt, article.id, self.session or 0),
                )
        db.execute(
            "UPDATE articles SET status = ?, error = ?, tries = tries + 1, session = ?, updated_at = ?, n = COALESCE(?, n) WHERE id = ?",
            (FAILED if error is not None else DONE, self._clean(error), self.session, now, n, article.id),
        )
        if self.session is not None:
            db.execute("UPDATE sessions SET last_commit_at = ? WHERE id = ?", (now, self.session))
        return True

    def _insert_results(
        self, db: sqlite3.Connection, article: Article, items: list[Item], level_failures: list[LevelFailure], teacher: str, method: str
    ) -> None:
        clean = self._clean
        for seq, item in enumerate(items):
            record = {**item.to_record(teacher, method), "language": article.source.get("language"), "source": article.source}
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
            record = {**failure.to_record(teacher, method), "language": article.source.get("language"), "source": article.source}
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
            stored = json.loads(record)
            item = Item(item_id, article_id, level, stored["feature"], self._attempts(item_id), stored.get("feature_spans"))
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
                record = {
                    **item.to_record(stored["teacher"], stored["method"]),
                    "language": stored.get("language"),
                    "source": stored.get("source", {}),
                }
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

    def article_text(self, article_id: str) -> str | None:
        row = self.db.execute("SELECT text FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row[0] if row else None

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
            # over the articles whose n is known (all of them, once the run is complete)
            "budget": dict(
                zip(("total", "count", "min", "max"), db.execute("SELECT COALESCE(SUM(n), 0), COUNT(n), MIN(n), MAX(n) FROM articles").fetchone())
            ),
        }

    def extraction_counts(self) -> dict[str, dict[str, Any]]:
        """Per level over the whole run: slots (the budgets n of the levels that ran), shortfall
        (slots left without a feature), features dropped at extraction per rule, features used
        but flagged, and the extraction calls made (re-asks included)."""
        per_level: dict[str, dict[str, Any]] = {}
        query = "SELECT level, slots, filled, dropped, flagged, calls FROM extractions"
        for level, slots, filled, dropped, flagged, calls in self.db.execute(query):
            entry = per_level.setdefault(level, {"slots": 0, "shortfall": 0, "dropped": {}, "flagged": {}, "calls": 0})
            entry["slots"] += slots
            entry["shortfall"] += max(0, slots - filled)
            entry["calls"] += calls
            for key, counts in (("dropped", dropped), ("flagged", flagged)):
                for name, count in json.loads(counts).items():
                    entry[key][name] = entry[key].get(name, 0) + count
        return per_level

    def rejections(self) -> list[tuple[str, str, bool]]:
        """(level, rejection reason, whether it was the item's final verdict) for every rejected
        attempt of the run, filters' removals excluded (summary.json counts them on their own)."""
        query = (
            "SELECT items.level, attempts.rejection, attempts.number = items.attempts - 1 AND items.accepted = 0"
            " FROM attempts JOIN items ON items.id = attempts.item_id"
            " WHERE attempts.rejection IS NOT NULL AND substr(attempts.rejection, 1, 10) != 'filtered: '"
        )
        return [(level, rejection, bool(final)) for level, rejection, final in self.db.execute(query)]

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

    def ledger(self) -> dict[str, dict[str, Any]]:
        """The call ledger's figures by bucket (kept, lost, optimize, judge): call_ledger.totals."""
        return call_ledger.totals(self.db)

    def spent(self) -> tuple[int, float]:
        """(calls, estimated USD) paid for by every session so far, from the call ledger."""
        return call_ledger.spent(self.db)

    def kept_article_calls(self) -> list[tuple[int, int, float]]:
        """(budget n, calls, cost) of each done article whose calls the ledger holds as kept."""
        query = (
            "SELECT articles.n, COUNT(*), COALESCE(SUM(calls.cost_usd), 0) FROM calls"
            " JOIN kept_attempts ON kept_attempts.attempt = calls.attempt"
            " JOIN articles ON articles.id = kept_attempts.article_id WHERE articles.status = 'done'"
            " GROUP BY kept_attempts.attempt"
        )
        return [(int(n), int(calls), float(cost)) for n, calls, cost in self.db.execute(query)]

    def sessions(self) -> list[dict[str, Any]]:
        """Each time the command ran: its status and how long it ran (until its last commit,
        for a session that was killed)."""
        query = "SELECT id, started_at, last_commit_at, ended_at, status, settings FROM sessions ORDER BY id"
        rows = []
        for sid, started, last_commit, ended, status, settings in self.db.execute(query):
            row = {"session": sid, "status": status, "wall_seconds": round((ended or last_commit or started) - started, 3)}
            given = json.loads(settings)
            # The limits each session ran under: raising them between sessions is how a run is topped up.
            row["limits"] = {key: given.get(key) for key in ("max_calls", "max_cost_usd")}
            row["lm_calls"] = self.db.execute("SELECT COUNT(*) FROM calls WHERE session = ?", (sid,)).fetchone()[0]
            rows.append(row)
        return rows


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(none)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict) else str(value)
