"""Run a program over a corpus: budgets, concurrency, the run store, resume, summary.

All articles run on one asyncio loop. Articles start as slots free up and every LM call waits for
one of `max_concurrency` request slots, so a slow provider is kept busy without being flooded.

Each finished article is committed to the run directory's store (`store.py`) in one transaction,
so a crash, `kill -9` or full disk costs only the articles in flight. Running the same command
again resumes: articles already done are skipped (a finished run makes no LM call at all), failed
ones are retried, and the budgets n computed by the first run are reused, not recomputed. A run
directory made with other output-shaping settings (every RunSettings field except
RUNTIME_SETTINGS, plus the corpus content and the program's prompts and demos) is refused unless
`force_new`, so one dataset never mixes two configurations. `instructions.jsonl`,
`rejected.jsonl` and `summary.json` are exports of the store, rewritten atomically whenever a run
ends, early or not.

Which outcomes are final. An article is committed as done, its rejected items as permanent
rejections, only when every verdict in it is the method's own. It is committed as failed, and
retried by the next run, when the program raised, or when an item's final attempt or a whole level
failed only because the LM call itself failed (a `calls.CallFailed` reason starting "LM call
failed": an outage, a rate limit that outlasted the retries, a revoked key). Such a rejection says
nothing about the item, and keeping it would silently shrink the dataset after every outage. Two
LM errors are final all the same, because retrying the same article cannot cure them: the article
exceeding the teacher's context window, and the provider's content policy. An article whose calls
a stop limit (--max-calls, --max-cost-usd) refused is not committed at all and stays pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import hashlib
import itertools
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from foveate_dspy.method.budget import ArticleBudget, BudgetConfig, BudgetFit, article_budgets, counter, sample_positions
from foveate_dspy.runtime.admission import ADMISSION, ArticleAdmission, History
from foveate_dspy.runtime.call_ledger import CALL_LOG, WORK, CallLog, Work, spend_fields
from foveate_dspy.runtime.calls import (
    ARTICLE,
    LEDGER,
    LIMITER,
    LIMITS,
    LM_CALL_FAILED,
    PARSE_FAILED,
    PARSE_RETRIES,
    ArticleScope,
    Pricing,
    RunLimits,
    RunStopped,
    UsageLedger,
)
from foveate_dspy.corpus.readers import Article
from foveate_dspy.method.filters import FilterChain, FilterConfig, filter_report
from foveate_dspy.corpus.language import AUTO, LANGUAGE_FORCED, OUTPUT_LANGUAGE, detect_language, resolve
from foveate_dspy.method.level_names import LEVELS
from foveate_dspy.teachers.model_strings import OFFLINE, public_api_base
from foveate_dspy.runtime.ratelimit import Backoff, RequestGate
from foveate_dspy.method.items import Item, LevelFailure
from foveate_dspy.method.resynthesis import CREATIVE_LM, DEMO_COUNT, MAX_RETRIES
from foveate_dspy.teachers.sampling import CREATIVE_CONFIG
from foveate_dspy.runtime.store import DONE, FAILED, PENDING, STORE_NAME, RunStore, SettingsMismatch, StoreError
from foveate_dspy.runtime.usage import ArticleLedger

if TYPE_CHECKING:
    import dspy

    from foveate_dspy.method.extraction import ExtractionLog


@dataclass
class RunSettings:
    teacher: str = OFFLINE
    api_base: str | None = None
    creative_teacher: str | None = None
    creative_api_base: str | None = None
    levels: tuple[str, ...] = LEVELS
    embedder: str = "minilm"
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    n_per_level: int | None = None  # fixed budget instead of Algorithm 1
    budget_sample: int = 2000  # Algorithm 1 is fitted on this many articles (seeded), at most the corpus
    max_retries: int = MAX_RETRIES
    demo_count: int = DEMO_COUNT
    reread: bool = True
    resynthesis: bool = True
    rules: bool = True  # False: the --no-rules ablation (rules.py checks nothing; validity still rejects)
    seed: int = 0
    max_concurrency: int = 16
    cache: bool = False
    max_tokens: int | None = None
    method: str = "self-foveate"
    filters: tuple[str, ...] = ()  # any of noise, rouge, length (foveate_dspy.method.filters)
    filter_config: FilterConfig = field(default_factory=FilterConfig)
    rpm: float | None = None  # requests per minute at most
    tpm: float | None = None  # tokens per minute at most (estimated before sending, settled after)
    request_timeout: float | None = 120.0  # seconds per LM request before it is cancelled and retried
    backoff: Backoff = field(default_factory=Backoff)  # LM retries: count and waits
    max_calls: int | None = None  # stop starting LM calls after this many (resumable)
    max_cost_usd: float | None = None  # stop once the estimated spend reaches this (resumable)
    output_mode: str = "auto"  # auto, schema, json or chat (output_mode.OUTPUT_MODES); settled by run()
    output_form: str | None = None  # schema mode's request form (adapters.SCHEMA_FORMS), once settled
    parse_retries: int = 2  # times a reply that did not parse is asked for again
    context_tokens: int | None = None  # the teacher's context window, where known
    output_language: str = AUTO  # ISO 639 code the teacher writes in; auto: each article's own
    sampling: dict[str, dict[str, Any]] | None = None  # normal/creative modes (teacher_settings); None: the paper's

    def public(self) -> dict[str, Any]:
        """The settings as written to summary.json: no secrets, credentials stripped from URLs."""
        data = asdict(self)
        data["api_base"] = public_api_base(self.api_base)
        data["creative_api_base"] = public_api_base(self.creative_api_base)
        data["levels"] = list(self.levels)
        return data


# Settings that only route or pace a run: they may change between the sessions of one run.
# Every other RunSettings field shapes the output, so a new field is checked on resume unless
# it is added here. budget_sample is here because the first session stores the fit it made, and
# every later session uses that fit whatever it is told.
RUNTIME_SETTINGS = frozenset(
    {
        "api_base",
        "creative_api_base",
        "max_concurrency",
        "cache",
        "rpm",
        "tpm",
        "request_timeout",
        "backoff",
        "max_calls",
        "max_cost_usd",
        "output_mode",
        "output_form",
        "parse_retries",
        "context_tokens",
        "budget_sample",
    }
)
# Shaping settings added after run stores were first written, with the value every earlier run
# had: a store without one resumes as if it had been written with that value.
SETTINGS_ADDED_LATER: dict[str, Any] = {"rules": True}
BUDGET_FIT = "budget_fit"  # the meta key of Algorithm 1's stored fit
CORPUS_BATCH = 2000  # articles stored per transaction as the corpus streams into the store
SAMPLE_BATCH = 64  # sample articles embedded per batch while fitting Algorithm 1
BUDGET_BATCH = 32  # articles whose n is computed together as the run reaches them


@dataclass
class ArticleResult:
    article: Article
    n: int
    items: list[Item] = field(default_factory=list)
    level_failures: list[LevelFailure] = field(default_factory=list)
    error: str | None = None
    usage: ArticleLedger | None = None  # this article's own LM usage
    extractions: list[ExtractionLog] = field(default_factory=list)  # per level: drops and shortfall
    attempt: str | None = None  # the call ledger's id of this run of the article (call_ledger.Work)
    budget_computed: bool = False  # n was computed as the article ran: the commit stores it


class Tally:
    """This session's counts, for the progress line."""

    def __init__(self) -> None:
        self.records: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.resynthesized: Counter[str] = Counter()
        self.retry_attempts = 0
        self.level_failures: Counter[str] = Counter()
        self.articles_done = 0
        self.articles_failed: list[dict[str, str]] = []

    def add(self, result: ArticleResult) -> None:
        if result.error is not None:
            self.articles_failed.append({"article_id": result.article.id, "error": result.error})
            return
        self.articles_done += 1
        for item in result.items:
            (self.records if item.accepted else self.rejected)[item.level] += 1
            if item.accepted and item.resynthesized:
                self.resynthesized[item.level] += 1
            self.retry_attempts += len(item.attempts) - 1
        for failure in result.level_failures:
            self.level_failures[failure.level] += 1


def compute_budgets(articles: list[Article], settings: RunSettings) -> list[int]:
    """Algorithm 1 over a whole list of articles at once (the exact, unsampled algorithm)."""
    if settings.n_per_level is not None:
        return [settings.n_per_level] * len(articles)
    from foveate_dspy.method.embedding import get_embedder

    return article_budgets([a.text for a in articles], get_embedder(settings.embedder), settings.budget)


def fit_budget(store: RunStore, settings: RunSettings, corpus_size: int, log: Callable[[str], None]) -> BudgetFit:
    """Fit Algorithm 1 on the run's seeded sample (the whole corpus when it is no larger than
    --budget-sample) and store the fit with the sample articles' budgets, in one transaction: a
    session killed while fitting leaves no fit, and the next one fits again from the start."""
    positions = sample_positions(corpus_size, settings.budget_sample, settings.seed)
    if len(positions) < corpus_size:
        log(f"budgets: fitting Algorithm 1 on a seeded sample of {len(positions)} of {corpus_size} articles")
    relevance = counter(settings.embedder, settings.budget.threshold)
    ids, counts = [], []
    for start in range(0, len(positions), SAMPLE_BATCH):
        batch = store.articles_at(positions[start : start + SAMPLE_BATCH])
        ids += [article.id for article, _ in batch]
        counts += relevance.counts([article.text for article, _ in batch])
    fit = BudgetFit.of_counts(counts, corpus_size)
    config = settings.budget
    budgets = {article_id: fit.budget(count, config.target_mean, config.alpha) for article_id, count in zip(ids, counts)}
    store.remember(BUDGET_FIT, {**fit.to_dict(), "seed": settings.seed}, budgets)
    return fit


def stored_budget(store: RunStore, settings: RunSettings) -> ArticleBudget | None:
    """The per-article budget from the run's stored fit (None when the run has none)."""
    stored = store.meta(BUDGET_FIT)
    if stored is None:
        return None
    fit = BudgetFit.from_dict({key: value for key, value in stored.items() if key != "seed"})
    return ArticleBudget(fit, settings.budget, settings.embedder)


# --- what makes a run the same run ------------------------------------------------------------


@dataclass(frozen=True)
class CorpusScan:
    """What a run's identity needs of its corpus: how many articles, and their digest."""

    articles: int
    sha256: str


class _Digest:
    """sha256 over the articles' ids and texts, in order (titles and file paths are not output)."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.count = 0

    def add(self, article: Article) -> None:
        self.hash.update(json.dumps([article.id, article.text], ensure_ascii=False).encode("utf-8"))
        self.hash.update(b"\n")
        self.count += 1

    def scan(self) -> CorpusScan:
        return CorpusScan(self.count, self.hash.hexdigest())


def scan_corpus(articles: Iterable[Article]) -> CorpusScan:
    """Count and digest a corpus in one streaming pass (raises the reader's CorpusError)."""
    digest = _Digest()
    for article in articles:
        digest.add(article)
    return digest.scan()


def program_digest(program: dspy.Module) -> str | None:
    """sha256 of the program's prompts and demos (a loaded or optimised program differs)."""
    try:
        state = program.dump_state()
    except Exception:  # a program that cannot describe itself is compared by settings alone
        return None
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def shaping_settings(settings: RunSettings, scan: CorpusScan, program: dspy.Module) -> dict[str, Any]:
    """Everything that decides what a run outputs, as stored with the run and compared on resume."""
    data = {key: value for key, value in settings.public().items() if key not in RUNTIME_SETTINGS}
    data["corpus"] = {"articles": scan.articles, "sha256": scan.sha256[:16]}
    data["program_sha256"] = (program_digest(program) or "unknown")[:16]
    return data


_SECRET_NAME = re.compile(r"(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD)$|SECRET|API_KEY", re.IGNORECASE)


def secrets_to_redact(settings: RunSettings) -> list[str]:
    """Values that must never be saved: credential-looking environment variables (provider keys)
    and passwords inside --api-base URLs."""
    found = [value for name, value in os.environ.items() if _SECRET_NAME.search(name) and len(value) >= 8]
    for url in (settings.api_base, settings.creative_api_base):
        if url:
            password = urlsplit(url).password
            if password:
                found.append(password)
    return found


# --- which outcomes are final -------------------------------------------------------------------

_LM_FAILURE = re.compile(rf"^(?:[\w .-]+: )*{re.escape(LM_CALL_FAILED)}\b")
FINAL_LM_ERRORS = ("ContextWindowExceededError", "ContentPolicyViolationError")


def is_lm_failure(reason: str | None) -> bool:
    """True for a rejection caused by the LM call failing (possibly behind a stage prefix such as
    "answering: "), unless the error is one that retrying the article cannot cure."""
    return bool(reason) and _LM_FAILURE.match(reason) is not None and not any(name in reason for name in FINAL_LM_ERRORS)


def retry_reason(result: ArticleResult) -> str | None:
    """Why the article must run again rather than be saved as done (see the module docstring).

    A whole level lost to replies that never parsed is retried too: a format slip of the
    teacher says nothing about the article, and a later run (another sample, another output
    mode) may well read it."""
    if result.error is not None:
        return result.error
    reasons = [
        item.attempts[-1].rejection
        for item in result.items
        if item.accepted is None and item.attempts and is_lm_failure(item.attempts[-1].rejection)
    ]
    reasons += [failure.reason for failure in result.level_failures if is_lm_failure(failure.reason)]
    if reasons:
        return f"{len(reasons)} item(s) or level(s) lost to failed LM calls, e.g. {reasons[0][:300]}"
    unread = [f"{f.level}: {f.reason}" for f in result.level_failures if PARSE_FAILED in f.reason]
    if unread:
        return f"{len(unread)} level(s) lost to replies that did not parse, e.g. {unread[0][:300]}"
    return None


# --- running ----------------------------------------------------------------------------------


async def run_article(program: dspy.Module, article: Article, n: int, seed: int, output_language: str = AUTO) -> ArticleResult:
    """One article through the program (either executor's per-article step), with its own usage
    ledger and output language; the program raising becomes the result's error, not the run's."""
    ledger = ArticleLedger.under(LEDGER.get())
    LEDGER.set(ledger)  # only in this article's task: asyncio tasks run in a copy of the context
    language = article.source.get("language")
    if "language" not in article.source:  # detected as the article runs, not as the corpus is read
        language = detect_language(article.text)
        article = replace(article, source={**article.source, "language": language})
    OUTPUT_LANGUAGE.set(resolve(output_language, language if output_language == AUTO else None))
    LANGUAGE_FORCED.set(output_language != AUTO)
    result = ArticleResult(article, n, usage=ledger)
    try:
        prediction = await program.acall(article=article.text, n=n, article_id=article.id, seed=seed)
    except Exception as exc:  # one article's bug or outage must not end the run
        from foveate_dspy.runtime.redaction import redact

        result.error = f"{exc.__class__.__name__}: {redact(' '.join(str(exc).split()))[:300]}"
        return result
    result.items = prediction.results
    result.level_failures = prediction.level_failures
    result.extractions = prediction.get("extractions") or []  # the baselines have none
    return result


async def run_articles(
    program: dspy.Module,
    pending: Iterable[tuple[Article, int | None]],
    settings: RunSettings,
    on_result,
    budget: ArticleBudget | None = None,
) -> None:
    """Run every pending (article, n) with bounded concurrency, calling `on_result` as each one
    finishes. `pending` is read as articles start, never whole (it may be a store cursor over a
    million articles). An n of None is computed by `budget` ahead of the articles, BUDGET_BATCH at
    a time in a thread (batched embeddings cost a fraction of one-by-one ones), so the loop keeps
    serving the LM calls in flight meanwhile.

    When `on_result` has a `flush` (runner.Commits), it is called after one turn of the loop, so
    the articles that finish at the same moment are committed in one transaction."""
    LIMITER.set(RequestGate(settings.max_concurrency, settings.rpm, settings.tpm, settings.request_timeout, settings.backoff))
    await _ArticleLoop(program, settings, on_result, budget).run(pending)


class _ArticleLoop:
    """run_articles' loop: a feed that computes missing budgets and queues articles, and
    `max_concurrency` slots that each run one article at a time, every one in its own task."""

    def __init__(self, program: dspy.Module, settings: RunSettings, on_result: Callable[[ArticleResult], None], budget: ArticleBudget | None) -> None:
        self.program, self.settings, self.on_result, self.budget = program, settings, on_result, budget
        self.limits = LIMITS.get()
        self.admission = ADMISSION.get()
        self.slots = max(1, settings.max_concurrency)
        self.ready: asyncio.Queue[tuple[Article, int, bool] | None] = asyncio.Queue(maxsize=self.slots + BUDGET_BATCH)
        self.flush = getattr(on_result, "flush", None)
        self.tasks: list[asyncio.Task] = []

    async def run(self, pending: Iterable[tuple[Article, int | None]]) -> None:
        # Every task is awaited to its end, so none is left pending or with an unretrieved exception
        # (asyncio's "Task was destroyed" and "never retrieved" noise after Ctrl-C).
        works = (self.feed(pending), *(self.slot() for _ in range(self.slots)))
        self.tasks.extend(asyncio.ensure_future(self.guarded(work)) for work in works)
        outcomes = await asyncio.gather(*self.tasks, return_exceptions=True)
        errors = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError)]
        if any(isinstance(e, _Interrupted) for e in errors):
            raise _Interrupted()
        if errors:
            raise errors[0]

    def stopping(self) -> bool:
        """Stopped at a limit, or no article fits in what is left."""
        return self.limits is not None and (self.limits.stopped or self.limits.closed)

    def stop_others(self) -> None:
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def guarded(self, work: Awaitable[None]) -> None:
        try:
            await work
        except KeyboardInterrupt:  # raised inside a request (its thread): stop the run like Ctrl-C
            self.stop_others()
            raise _Interrupted() from None
        except asyncio.CancelledError:
            raise
        except BaseException:
            self.stop_others()
            raise

    async def feed(self, pending: Iterable[tuple[Article, int | None]]) -> None:
        batch: list[tuple[Article, int | None]] = []
        for article, n in pending:
            if self.stopping():
                break  # start no new article
            batch.append((article, n))
            if n is not None or len(batch) >= BUDGET_BATCH:
                await self.send(batch)
        await self.send(batch)
        for _ in range(self.slots):
            await self.ready.put(None)

    async def send(self, batch: list[tuple[Article, int | None]]) -> None:
        """Queue the batch's articles, in order, with their n computed (one batched embedding in a
        thread) where it is None; the batch is emptied."""
        texts = [article.text for article, n in batch if n is None]
        if texts and self.budget is None:
            raise StoreError(f"article {batch[0][0].id!r} has no budget n and the run has no stored Algorithm 1 fit")
        computed = iter(await asyncio.to_thread(self.budget.many, texts)) if texts else iter(())
        for article, n in batch:
            await self.ready.put((article, next(computed), True) if n is None else (article, n, False))
        batch.clear()

    async def one(self, article: Article, n: int, computed: bool) -> None:
        scope = ArticleScope()
        if self.admission is not None and not await self.admission.enter(scope, n):
            return
        kept, cost = False, 0.0
        try:
            ARTICLE.set(scope)
            work = Work.article(article.id)
            WORK.set(work)
            result = await run_article(self.program, article, n, self.settings.seed, self.settings.output_language)
            result.attempt = work.attempt
            result.budget_computed = computed
            if not scope.stopped:  # a call refused at the hard limit: incomplete, left for the resume
                self.on_result(result)
                kept = result.error is None
                cost = UsageLedger.totals(result.usage).cost_usd if result.usage is not None else 0.0  # its own, not the run's
        finally:
            if self.admission is not None:
                await self.admission.leave(scope, kept, cost)
        if self.flush is not None:  # what finished in this turn of the loop is committed together
            await asyncio.sleep(0)
            self.flush()

    async def slot(self) -> None:
        # Each article keeps a handful of calls in flight; this many articles saturate the limiter.
        while (job := await self.ready.get()) is not None:
            if not self.stopping():  # else drain until the feed ends
                await asyncio.create_task(self.one(*job))  # its own task: its own context (ledger, scope)


class _Interrupted(Exception):
    """A KeyboardInterrupt that surfaced inside the event loop; `run_local` raises it again as
    KeyboardInterrupt once the loop is closed (raised inside a task, asyncio would abandon the
    loop's other tasks mid-flight)."""


def run_local(
    program: dspy.Module,
    pending: Iterable[tuple[Article, int | None]],
    settings: RunSettings,
    on_result: Callable[[ArticleResult], None],
    ledger: UsageLedger,
    limits: RunLimits,
    teacher_lm: dspy.LM | None = None,
    budget: ArticleBudget | None = None,
) -> dict[str, Any]:
    """The local executor: every pending article on one asyncio loop in this process, with the
    teacher built here. Returns the request gate's utilisation (summary.json lm_concurrency)."""
    import dspy

    from foveate_dspy.teachers.settings import build_teachers

    teacher, creative, creative_settings = build_teachers(settings, teacher_lm)
    concurrency: dict[str, Any] = {}

    async def main() -> None:
        LEDGER.set(ledger)
        LIMITS.set(limits)
        PARSE_RETRIES.set(settings.parse_retries)
        CREATIVE_LM.set(creative)
        CREATIVE_CONFIG.set(creative_settings)
        await run_articles(program, pending, settings, on_result, budget)
        concurrency.update(LIMITER.get().utilisation())

    from foveate_dspy.teachers.adapters import build_adapter

    adapter = build_adapter(settings.output_mode, settings.output_form)
    # No LM history: a run's calls are counted in the ledger and kept in the store, and DSPy's
    # per-call history entries (up to 10,000 full prompts per LM) cost ~15% of a call's CPU.
    try:
        with dspy.context(lm=teacher, adapter=adapter, disable_history=True):
            asyncio.run(main())
    except _Interrupted:
        raise KeyboardInterrupt from None
    return concurrency


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


@dataclass
class Plan:
    """What a session runs: the articles not done yet (a stream from the store), how many, and
    the per-article budget for those whose n is computed as they run."""

    pending: Iterator[tuple[Article, int | None]]
    total: int
    to_run: int
    budget: ArticleBudget | None


def _store_corpus(store: RunStore, articles: Iterable[Article], settings: RunSettings, scan: CorpusScan) -> None:
    """Stream the corpus into a new run's store, CORPUS_BATCH articles per transaction; the store
    refuses a duplicate id, naming both records. A corpus that reads differently now than when it
    was scanned (the file changed meanwhile) is refused."""
    from foveate_dspy.corpus.readers import CorpusError

    store.clear_articles()  # a session killed while storing the corpus left part of it
    digest, batch = _Digest(), []
    for position, article in enumerate(articles):
        digest.add(article)
        batch.append((position, article, settings.n_per_level))
        if len(batch) >= CORPUS_BATCH:
            store.add_articles(batch)
            batch = []
    if batch:
        store.add_articles(batch)
    if digest.scan() != scan:
        raise CorpusError("the corpus changed while it was being read; run the command again once it is complete")


def _plan(
    store: RunStore,
    out_dir: Path,
    articles: Iterable[Article],
    settings: RunSettings,
    fingerprint: dict[str, Any],
    log: Callable[[str], None],
    scan: CorpusScan | None = None,
) -> Plan:
    """The articles still to run, with their stored budgets; a new store is initialised first
    (the corpus streamed in), and Algorithm 1 fitted on its sample unless the run has its fit."""
    if store.initialised:
        differences = store.differences(fingerprint, SETTINGS_ADDED_LATER)
        if differences:
            if any(line.startswith("corpus:") for line in differences):
                differences.append("the corpus is compared after reading: check --corpus, --limit, --chunk-tokens and the text/id fields")
            raise SettingsMismatch(
                f"{out_dir} holds a run made with other settings ({'; '.join(differences)}). "
                "Run the original command to resume it, or pass --force-new to move it aside and start over."
            )
    else:
        _store_corpus(store, articles, settings, scan or scan_corpus(articles))
        store.initialise(fingerprint)
    counts = store.progress()
    total, done, failed = counts["articles"], counts[DONE], counts[FAILED]
    if settings.n_per_level is None and store.meta(BUDGET_FIT) is None and store.unbudgeted():
        fit_budget(store, settings, total, log)
    to_run = counts[PENDING] + failed
    if not to_run:
        log(f"{out_dir}: all {total} articles are already done; nothing to run (0 LM calls)")
    elif done or failed:
        retried = f" ({failed} failed before and are retried)" if failed else ""
        log(f"resuming {out_dir}: {done} of {total} articles already done, running {to_run}{retried}")
    return Plan(store.pending(), total, to_run, stored_budget(store, settings))


class Commits:
    """The runner's `on_result`: each finished article's retry rule and filters, then its commit.

    Articles are committed in groups, each group in one transaction (one fsync; each article
    still whole or not at all): when an executor hands results over faster than one fsync each
    (the Ray driver under a fast provider), a group forms when `max_batch` articles are waiting
    or `max_wait` seconds have passed since the last commit; the local executor also flushes after
    each loop turn (`flush`), so there a group is what finished at the same moment. The runner
    flushes what is left when the executor returns or fails."""

    def __init__(self, store: RunStore, settings: RunSettings, filters: FilterChain, tally: Tally, bar: Any, max_batch: int = 256, max_wait: float = 0.5) -> None:
        self.store, self.settings, self.filters, self.tally, self.bar = store, settings, filters, tally, bar
        self.max_batch, self.max_wait = max_batch, max_wait
        self.waiting: list[tuple[ArticleResult, str | None]] = []
        self.last = -math.inf

    def __call__(self, result: ArticleResult) -> None:
        retry = retry_reason(result)
        if retry is None:
            self.filters.apply_article(result.items)
        self.waiting.append((result, retry))
        if len(self.waiting) >= self.max_batch or time.monotonic() - self.last >= self.max_wait:
            self.flush()

    def flush(self) -> None:
        if not self.waiting:
            return
        group, self.waiting = self.waiting, []
        self.last = time.monotonic()
        outcomes = [
            {
                "article": result.article,
                "items": result.items,
                "level_failures": result.level_failures,
                "usage": result.usage.rows() if result.usage is not None else [],
                "error": retry,
                "n": result.n if result.budget_computed else None,
                "extractions": result.extractions,
                "attempt": result.attempt,
            }
            for result, retry in group
        ]
        self.store.commit_articles(outcomes, teacher=self.settings.teacher, method=self.settings.method)
        for result, retry in group:
            result.error = retry
            self.tally.add(result)
            self.bar.advance()


def run(
    articles: Iterable[Article],
    out_dir: Path,
    settings: RunSettings,
    program: dspy.Module | None = None,
    progress: bool = True,
    *,
    force_new: bool = False,
    teacher_lm: dspy.LM | None = None,
    log: Callable[[str], None] = _note,
    executor: Callable[..., dict[str, Any]] | None = None,
    notes: dict[str, Any] | None = None,
    program_factory: Callable[[Any], dspy.Module] | None = None,
    scan: CorpusScan | None = None,
) -> dict[str, Any]:
    """Compile (or resume compiling) a dataset from `articles` into `out_dir`; returns the
    summary it wrote. `articles` is read at most twice and never held: a list, or a re-iterable
    stream such as corpus.CorpusSource (`scan`: its count and digest, when already taken).
    `force_new` moves an existing run aside first; `teacher_lm` replaces the LM built from
    `settings.teacher` (a scripted LM in tests; local executor only). `executor`
    runs the pending articles elsewhere, with `run_local`'s arguments (ray_executor.RayExecutor);
    planning, commits and exports stay here either way. Raises StoreError (its subclass
    SettingsMismatch for a directory holding another configuration's run). `program_factory`
    makes the program once the run directory is locked, given an optimize_gate.SyncGate that puts
    its LM calls (an optimisation) under the run's limits, pacing, retries and call ledger."""
    started = time.monotonic()
    if iter(articles) is articles:  # a one-shot iterator cannot be read twice: keep it
        articles = list(articles)
    scan = scan or scan_corpus(articles)
    ledger = UsageLedger(Pricing.lookup((settings.teacher, settings.creative_teacher)))
    store, limits = _open_store(out_dir, settings, force_new)
    session = _Session(notes or {})
    failure: BaseException | None = None
    try:
        if store.moved_to is not None:
            log(f"--force-new: moved the previous run's store and outputs to {store.moved_to}")
        program, early_log = _session_program(program, program_factory, settings, store, ledger, limits, session.logs)
        plan = _plan(store, out_dir, articles, settings, shaping_settings(settings, scan, program), log, scan)
        session.skipped = plan.total - plan.to_run
        pending_fits = _begin_session(store, settings, early_log, ledger, limits, session, plan)
        if plan.to_run:
            chosen = _output_mode(store, settings, teacher_lm, log, limits, ledger, pending_fits)
            session.output_mode = chosen.as_dict()
            settings = replace(settings, output_mode=chosen.mode, output_form=chosen.form)
            execute = executor or functools.partial(run_local, teacher_lm=teacher_lm)
            _execute(execute, program, plan, settings, store, ledger, limits, session, progress)
        session.status = _end_status(store, settings)
    except BaseException as exc:
        failure = exc
        session.status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        raise
    finally:
        session.release()
        summary = _finish(store, out_dir, settings, ledger, limits, session, started, failure, log)
    return summary


def _open_store(out_dir: Path, settings: RunSettings, force_new: bool) -> tuple[RunStore, RunLimits]:
    """The run's store, locked (moved aside first with `force_new`), with the settings' secrets
    to redact; and the run's limits, which are its totals: what earlier sessions paid for counts
    against them."""
    store = RunStore.open(out_dir, fresh=force_new)
    store.redact(secrets_to_redact(settings))
    spent_calls, spent_cost = store.spent()
    return store, RunLimits(settings.max_calls, settings.max_cost_usd, started_calls=spent_calls, cost_before=spent_cost)


def _end_status(store: RunStore, settings: RunSettings) -> str:
    """"finished" once every article is done (the whole-run length filter applied then), else
    "stopped" (at a limit: the next session continues)."""
    counts = store.progress()
    complete = counts[DONE] == counts["articles"]
    if complete and "length" in settings.filters:
        _length_filter(store, settings)
    return "finished" if complete else "stopped"


@dataclass
class _Session:
    """What one session of a run gathers as it goes, for its summary (`_finish`) and its clean-up:
    its status, the articles it skipped as done, its output mode, its counts, the executor's
    report, the context variables it set and the call logs it opened."""

    notes: dict[str, Any]
    status: str = "failed"
    skipped: int = 0
    output_mode: dict[str, Any] | None = None
    tally: Tally = field(default_factory=Tally)
    concurrency: dict[str, Any] = field(default_factory=dict)
    tokens: list[tuple[Any, Any]] = field(default_factory=list)
    logs: list[CallLog] = field(default_factory=list)

    def release(self) -> None:
        """Reset the context variables the session set, and close its call logs; before the
        store closes, which folds the WAL back only when it is the last connection."""
        for variable, token in reversed(self.tokens):
            variable.reset(token)
        for call_log in self.logs:
            call_log.close()


def _session_program(
    program: dspy.Module | None,
    program_factory: Callable[[Any], dspy.Module] | None,
    settings: RunSettings,
    store: RunStore,
    ledger: UsageLedger,
    limits: RunLimits,
    logs: list[CallLog],
) -> tuple[dspy.Module, CallLog | None]:
    """The session's program: the one given, else the factory's (its LM calls made under a
    SyncGate, logged in an early call log that the session adopts once it begins), else the
    settings' own; and that early call log, if any (also added to `logs`)."""
    from foveate_dspy.method.choice import build_program

    early_log = None
    if program is None and program_factory is not None:
        from foveate_dspy.optimize.gate import SyncGate

        # Calls made before the session begins are the session's once it does (CallLog.adopt).
        early_log = CallLog(store.path, 0, ledger.pricing)
        logs.append(early_log)
        # Not CALL_LOG: the gate writes these rows itself, and the program's own calls run in
        # DSPy's worker threads, which may carry this context along.
        gate = SyncGate(
            limits, ledger, early_log, settings.max_concurrency, settings.rpm, settings.request_timeout, settings.backoff, tpm=settings.tpm
        )
        program = program_factory(gate)
    return program or build_program(settings), early_log


def _begin_session(
    store: RunStore, settings: RunSettings, early_log: CallLog | None, ledger: UsageLedger, limits: RunLimits, session: _Session, plan: Plan
) -> bool:
    """Begin the session in the store, with its call log and the run's article admission;
    returns whether an article may start at all."""
    store.begin_session(settings.public())
    _open_call_log(store, early_log, ledger, session)
    return _open_admission(store, settings, limits, ledger, session, plan)


def _open_call_log(store: RunStore, early_log: CallLog | None, ledger: UsageLedger, session: _Session) -> None:
    """Make the session's call log CALL_LOG (the early one, adopted, or a new one)."""
    if early_log is not None:
        early_log.adopt(store.session)
    else:
        session.logs.append(CallLog(store.path, store.session, ledger.pricing))
    session.tokens.append((CALL_LOG, CALL_LOG.set(session.logs[-1])))


def _open_admission(
    store: RunStore, settings: RunSettings, limits: RunLimits, ledger: UsageLedger, session: _Session, plan: Plan
) -> bool:
    """Make the run's article admission ADMISSION; returns whether an article may start at all
    (False when the limit leaves no room for the first one)."""
    head = _pending_head(store, settings)
    session.tokens.append((ADMISSION, ADMISSION.set(_admission(store, settings, limits, ledger, head))))
    admission = ADMISSION.get()
    if head and admission is not None and admission.active and admission.shortfall(head[0][1]) is not None:
        return False  # the limit leaves no room for an article: no probe either
    return bool(plan.to_run)


def _output_mode(
    store: RunStore,
    settings: RunSettings,
    teacher_lm: dspy.LM | None,
    log: Callable[[str], None],
    limits: RunLimits,
    ledger: UsageLedger,
    pending_fits: bool,
):
    """The session's output mode. A mode settled by an earlier session against the same teacher
    and server is reused: the probe is paid for once per run, not once per resume. Probe calls
    are committed as the run's own usage and in its call ledger, as their own bucket, "probe"."""
    probes = ArticleLedger.under(ledger)

    def record_probe(usage: dict[str, dict[str, Any]], failed: bool) -> None:
        probes.record(PROBE_STAGE, usage, failed)
        calls = CALL_LOG.get()
        if calls is not None:
            calls.finished(calls.started(PROBE_STAGE, settings.teacher, phase="probe"), usage, failed)

    where = {"requested": settings.output_mode, "teacher": settings.teacher, "api_base": public_api_base(settings.api_base)}
    settled = store.meta("output_mode")
    if settled is not None and settled.get("for") == where:
        chosen = _unprobed(settings, settled.get("fallback"), settled["mode"], settled.get("form"))
    elif pending_fits:
        chosen = settle_output_mode(settings, teacher_lm, log, record_probe, lambda: limits.admit(ledger))
        store.remember("output_mode", {"for": where, "mode": chosen.mode, "form": chosen.form, "fallback": chosen.fallback})
    else:
        chosen = _unprobed(settings, "no probe: the run's limit leaves no room for an article")
    if probes.rows():
        store.commit_run_usage(probes.rows())
    return chosen


def _execute(
    execute: Callable[..., dict[str, Any]],
    program: dspy.Module,
    plan: Plan,
    settings: RunSettings,
    store: RunStore,
    ledger: UsageLedger,
    limits: RunLimits,
    session: _Session,
    progress: bool,
) -> None:
    """Run the plan's pending articles with `execute`, each finished one committed as it comes
    (what finished is saved even when the executor fails); the executor's report goes to
    `session.concurrency`."""
    from foveate_dspy.runtime.progress import RunProgress

    filters = FilterChain(settings.filters, settings.filter_config)
    with RunProgress(plan.to_run, session.tally, ledger, enabled=progress) as bar:
        commits = Commits(store, settings, filters, session.tally, bar)
        try:
            session.concurrency.update(execute(program, plan.pending, settings, commits, ledger, limits, budget=plan.budget))
        except BaseException:
            with contextlib.suppress(StoreError):  # save what finished; the first error is the one to report
                commits.flush()
            raise
        commits.flush()


PROBE_STAGE = "output_mode.probe"


def _unprobed(settings: RunSettings, why: str | None, mode: str = "chat", form: str | None = None):
    """An output mode settled without a probe: one an earlier session settled, or chat mode
    for a session that starts no article."""
    from foveate_dspy.teachers.output_mode import OutputMode

    return OutputMode(settings.output_mode, mode, form, fallback=why)


def settle_output_mode(
    settings: RunSettings,
    teacher_lm: dspy.LM | None,
    log: Callable[[str], None],
    on_request: Callable[..., None] | None = None,
    admit: Callable[[], None] | None = None,
):
    """The output mode this session runs in (`output_mode.resolve`: one or two probe requests
    for a real teacher, each reported to `on_request` for the ledger). A scripted `teacher_lm`
    (tests) writes chat replies unless told otherwise."""
    from foveate_dspy.teachers.output_mode import OutputMode, resolve

    probe_lm = teacher_lm
    if probe_lm is None and settings.teacher != OFFLINE and settings.output_mode in ("auto", "schema"):
        from foveate_dspy.teachers.settings import build_teachers

        probe_lm = build_teachers(settings)[0]
    # Only an LM that DSPy sends over HTTP can be probed; a custom engine (the offline teacher, a
    # test's scripted one) answers in the chat format, unless a mode is forced.
    served = isinstance(getattr(probe_lm, "engine", None), str)
    offline = settings.teacher == OFFLINE or (not served and settings.output_mode == "auto")
    timeout = settings.request_timeout if served else None  # a custom engine takes no client settings
    try:
        chosen = resolve(settings.output_mode, probe_lm, offline, on_request, timeout, admit)
    except RunStopped as stop:  # the call limit is spent: no article will start either
        return OutputMode(settings.output_mode, "chat", fallback=f"no probe: {stop}")
    if chosen.fallback and not offline:
        log(f"output mode: chat ({chosen.fallback})")
    elif chosen.mode == "schema":
        log(f"output mode: schema ({chosen.form} request form), confirmed by a probe request")
    return chosen


def _pending_head(store: RunStore, settings: RunSettings, size: int = 100) -> list[tuple[Article, int]]:
    """The first articles still to run, for admission's first estimates; an n not computed yet
    (a sampled Algorithm 1 computes it when the article runs) is taken as the target mean mu."""
    guess = max(1, round(settings.budget.target_mean))
    return [(article, guess if n is None else n) for article, n in itertools.islice(store.pending(page=size), size)]


def _admission(
    store: RunStore, settings: RunSettings, limits: RunLimits, ledger: UsageLedger, pending: list[tuple[Article, int]]
) -> ArticleAdmission:
    """The run's article admission, taught by the articles earlier sessions finished; under a cost
    limit, before any call is priced, a call's cost is guessed from the prompt sizes (estimate.py)."""
    from foveate_dspy.runtime.estimate import article_calls, estimate_run

    history = History()
    for n, calls, cost in store.kept_article_calls():
        history.prior += article_calls(settings, n)
        history.calls += calls
        history.cost += cost
    prior_cost = None
    if settings.max_cost_usd is not None and pending:
        guess = estimate_run([a for a, _ in pending[:100]], [n for _, n in pending[:100]], settings)
        prior_cost = guess.cost_usd / guess.calls if guess.cost_usd and guess.calls else None
    return ArticleAdmission(limits, ledger, settings, history, prior_cost)


def _length_filter(store: RunStore, settings: RunSettings) -> None:
    """The whole-run length filter, over every item accepted before it, once the run is complete
    (its statistics need the whole run; computed from the store, it gives the same verdicts however
    many sessions the run took)."""
    items = store.whole_run_candidates("filtered: length:")
    FilterChain(("length",), settings.filter_config).finalize(items)
    store.refile(items)


def _finish(
    store: RunStore,
    out_dir: Path,
    settings: RunSettings,
    ledger: UsageLedger,
    limits: RunLimits,
    session: _Session,
    started: float,
    failure: BaseException | None,
    log: Callable[[str], None],
) -> dict[str, Any] | None:
    """End the session and export the store; with a failure already on its way out, a second
    one (the disk is still full) is reported, not raised over it. A run refused before its
    session began (other settings) leaves the directory as it was."""
    from foveate_dspy.export import write_run_files

    summary = None
    if store.session is None:
        store.close()
        return summary
    try:
        store.end_session(session.status)
        summary = build_summary(store, settings, ledger, time.monotonic() - started)
        # None, or why the run stopped early (re-run the same command to continue)
        summary["stopped"] = limits.stopped or limits.closed or ("interrupted" if session.status == "interrupted" else None)
        summary.update(spend_fields(store.ledger(), settings.max_calls, settings.max_cost_usd))
        summary.update(session.notes)  # e.g. input_hygiene: what the corpus cleaning changed
        summary["this_run"]["articles_done"] = session.tally.articles_done
        summary["this_run"]["articles_failed"] = len(session.tally.articles_failed)
        summary["lm_concurrency"] = session.concurrency
        summary["this_run"]["status"] = session.status
        summary["this_run"]["output_mode"] = session.output_mode
        summary["this_run"]["articles_skipped_done"] = session.skipped
        write_run_files(store, out_dir, summary)
    except (StoreError, OSError) as exc:
        if failure is None:
            raise StoreError(f"{out_dir}: cannot write the run's exports: {getattr(exc, 'strerror', None) or exc}") from exc
        log(f"could not write the exports of {out_dir} ({exc}); the store keeps everything committed")
    finally:
        store.close()
    return summary


def run_filter_report(store: RunStore, settings: RunSettings) -> dict[str, Any]:
    """The summary's filter section over the whole run, from the removals the store committed."""
    removals = ((item_id, level, *(reason.split(": ", 2) + ["", ""])[1:3]) for item_id, level, reason in store.filtered())
    return filter_report(settings.filters, settings.filter_config, removals)


def parsing_report(stages: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per stage: how the teacher's replies were read (cleanly, after coercion by
    `replies.coerce`, or not at all), and how many calls a retry that said what was wrong
    recovered or lost after --parse-retries."""
    report = {}
    for stage, row in stages.items():
        replies = row["calls"] - row["errors"] + row["parse_failed"]  # transport errors carry no reply
        report[stage] = {
            "replies": replies,
            "parsed_cleanly": replies - row["parse_failed"] - row["parse_coerced"],
            "parsed_after_coercion": row["parse_coerced"],
            "unparsed_replies": row["parse_failed"],
            "calls_recovered_by_retry": row["parse_retried_ok"],
            "calls_lost": row["parse_lost"],
        }
    return report


def build_summary(store: RunStore, settings: RunSettings, ledger: UsageLedger, wall: float) -> dict[str, Any]:
    """summary.json: the whole run's figures from the store (all sessions), plus `this_run`."""
    from foveate_dspy.method.choice import output_levels

    counts = store.counts()
    usage = store.usage()
    levels = output_levels(settings)
    sessions = store.sessions()
    this = ledger.totals()
    summary = {
        "method": settings.method,
        "teacher": settings.teacher,
        "articles": counts["articles"],
        "articles_done": counts["articles_done"],
        "articles_failed": counts["articles_failed"],
        "articles_pending": counts["articles_pending"],
        "complete": counts["articles_done"] == counts["articles"],
        **_item_figures(store, counts, levels),
        **_usage_figures(usage, sum(counts["per_level"]["records"].values())),
        "output_mode": {"mode": settings.output_mode, "form": settings.output_form},
        "parsing": parsing_report(usage["stages"]),
        "wall_seconds": round(sum(s["wall_seconds"] for s in sessions), 3),
        "settings": settings.public(),
        "store": STORE_NAME,
        "sessions": sessions,
        "this_run": {
            "lm_calls": this.calls,
            "input_tokens": this.input_tokens,
            "output_tokens": this.output_tokens,
            "cost_usd": round(this.cost_usd, 6) if ledger.pricing.priced else None,
            "wall_seconds": round(wall, 3),
        },
    }
    summary.update(rules_report(store, levels))
    if settings.filters:
        summary["filters"] = run_filter_report(store, settings)
    return summary


def _item_figures(store: RunStore, counts: dict[str, Any], levels: tuple[str, ...]) -> dict[str, Any]:
    """The summary's item counts, in all and per output level, and the budgets n."""
    per_level = counts["per_level"]
    budget = counts["budget"]
    return {
        "records": sum(per_level["records"].values()),
        "records_per_level": {lv: per_level["records"].get(lv, 0) for lv in levels},
        "resynthesized": sum(per_level["resynthesized"].values()),
        "resynthesized_per_level": {lv: per_level["resynthesized"].get(lv, 0) for lv in levels},
        "resynthesis_attempts": counts["resynthesis_attempts"],
        "failed": sum(per_level["failed"].values()),
        "failed_per_level": {lv: per_level["failed"].get(lv, 0) for lv in levels},
        "level_failures": counts["level_failures"],
        "level_failure_examples": store.level_failure_examples(),
        "budget": {  # over the articles whose n is known: all but pending ones under a sampled fit
            "total_per_level": budget["total"],
            "mean_per_level": (budget["total"] / budget["count"]) if budget["count"] else 0.0,
            "min": budget["min"] or 0,
            "max": budget["max"] or 0,
            "articles": budget["count"],
        },
    }


def _usage_figures(usage: dict[str, Any], records: int) -> dict[str, Any]:
    """The summary's LM usage over the whole run: calls, errors, tokens, their cost (an estimate,
    None when no model of the run is priced), and per record."""
    stages = usage["stages"].values()
    calls = sum(r["calls"] for r in stages)
    inputs = sum(r["input_tokens"] for r in stages)
    outputs = sum(r["output_tokens"] for r in stages)
    priced = any(r["calls"] > r["unpriced_calls"] for r in usage["models"].values())
    return {
        "lm_calls": calls,
        "lm_errors": sum(r["errors"] for r in stages),
        "input_tokens": inputs,
        "output_tokens": outputs,
        "tokens_per_record": ((inputs + outputs) / records) if records else None,
        "calls_per_record": (calls / records) if records else None,
        "cached_input_tokens": sum(r["cached_input_tokens"] for r in stages),
        "cost_usd": round(sum(r["cost_usd"] for r in usage["models"].values()), 6) if priced else None,  # estimate
        "lm_usage": usage,
    }


def rules_report(store: RunStore, levels: tuple[str, ...]) -> dict[str, Any]:
    """The summary's rule counts over the whole run (rules.py): rejected attempts per level and
    reason name (`rejections_per_rule`; the items that stayed rejected in
    `final_rejections_per_rule`), features dropped at extraction per level and rule, features
    used but flagged (macro sentences without a detected rhetorical device), and the slots per
    level that extraction left without a feature (`shortfall_per_level`)."""
    from foveate_dspy.method.rules import reason_name

    every: dict[str, Counter[str]] = {lv: Counter() for lv in levels}
    final: dict[str, Counter[str]] = {lv: Counter() for lv in levels}
    for level, rejection, is_final in store.rejections():
        name = reason_name(rejection)
        every.setdefault(level, Counter())[name] += 1
        if is_final:
            final.setdefault(level, Counter())[name] += 1
    extraction = store.extraction_counts()
    return {
        "rejections_per_rule": {lv: dict(c.most_common()) for lv, c in every.items()},
        "final_rejections_per_rule": {lv: dict(c.most_common()) for lv, c in final.items()},
        "extraction_dropped_per_level": {lv: extraction.get(lv, {}).get("dropped", {}) for lv in levels},
        "extraction_flagged_per_level": {lv: extraction.get(lv, {}).get("flagged", {}) for lv in levels},
        "shortfall_per_level": {lv: extraction.get(lv, {}).get("shortfall", 0) for lv in levels},
    }
