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
import functools
import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from foveate_dspy.budget import BudgetConfig, article_budgets
from foveate_dspy.calls import (
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
    UsageLedger,
)
from foveate_dspy.corpus import Article
from foveate_dspy.filters import FilterChain, FilterConfig
from foveate_dspy.levels import LEVELS
from foveate_dspy.lm import OFFLINE, build_lm, public_api_base
from foveate_dspy.ratelimit import Backoff, RequestGate
from foveate_dspy.records import Item, LevelFailure
from foveate_dspy.resynthesis import CREATIVE_LM, DEMO_COUNT, MAX_RETRIES
from foveate_dspy.sampling import CREATIVE, NORMAL
from foveate_dspy.store import DONE, STORE_NAME, RunStore, SettingsMismatch, StoreError
from foveate_dspy.usage import ArticleLedger

if TYPE_CHECKING:
    import dspy


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
    max_retries: int = MAX_RETRIES
    demo_count: int = DEMO_COUNT
    reread: bool = True
    resynthesis: bool = True
    seed: int = 0
    max_concurrency: int = 16
    cache: bool = False
    max_tokens: int | None = None
    method: str = "self-foveate"
    filters: tuple[str, ...] = ()  # any of noise, rouge, length (foveate_dspy.filters)
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

    def public(self) -> dict[str, Any]:
        """The settings as written to summary.json: no secrets, credentials stripped from URLs."""
        data = asdict(self)
        data["api_base"] = public_api_base(self.api_base)
        data["creative_api_base"] = public_api_base(self.creative_api_base)
        data["levels"] = list(self.levels)
        return data


# Settings that only route or pace a run: they may change between the sessions of one run.
# Every other RunSettings field shapes the output, so a new field is checked on resume unless
# it is added here.
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
    }
)


@dataclass
class ArticleResult:
    article: Article
    n: int
    items: list[Item] = field(default_factory=list)
    level_failures: list[LevelFailure] = field(default_factory=list)
    error: str | None = None
    usage: ArticleLedger | None = None  # this article's own LM usage


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
    if settings.n_per_level is not None:
        return [settings.n_per_level] * len(articles)
    from foveate_dspy.embedding import get_embedder

    return article_budgets([a.text for a in articles], get_embedder(settings.embedder), settings.budget)


# --- what makes a run the same run ------------------------------------------------------------


def corpus_digest(articles: list[Article]) -> str:
    """sha256 over the articles' ids and texts, in order (titles and file paths are not output)."""
    digest = hashlib.sha256()
    for article in articles:
        digest.update(json.dumps([article.id, article.text], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def program_digest(program: dspy.Module) -> str | None:
    """sha256 of the program's prompts and demos (a loaded or optimised program differs)."""
    try:
        state = program.dump_state()
    except Exception:  # a program that cannot describe itself is compared by settings alone
        return None
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def shaping_settings(settings: RunSettings, articles: list[Article], program: dspy.Module) -> dict[str, Any]:
    """Everything that decides what a run outputs, as stored with the run and compared on resume."""
    data = {key: value for key, value in settings.public().items() if key not in RUNTIME_SETTINGS}
    data["corpus"] = {"articles": len(articles), "sha256": corpus_digest(articles)[:16]}
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


async def _run_article(program: dspy.Module, article: Article, n: int, seed: int) -> ArticleResult:
    ledger = ArticleLedger.under(LEDGER.get())
    LEDGER.set(ledger)  # only in this article's task: asyncio tasks run in a copy of the context
    result = ArticleResult(article, n, usage=ledger)
    try:
        prediction = await program.acall(article=article.text, n=n, article_id=article.id, seed=seed)
    except Exception as exc:  # one article's bug or outage must not end the run
        result.error = f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:300]}"
        return result
    result.items = prediction.results
    result.level_failures = prediction.level_failures
    return result


async def run_articles(
    program: dspy.Module,
    articles: list[Article],
    budgets: list[int],
    settings: RunSettings,
    on_result,
) -> None:
    """Run every article with bounded concurrency, calling `on_result` as each one finishes."""
    LIMITER.set(RequestGate(settings.max_concurrency, settings.rpm, settings.tpm, settings.request_timeout, settings.backoff))
    limits = LIMITS.get()
    # Each article keeps a handful of calls in flight; this many articles saturate the limiter.
    article_slots = asyncio.Semaphore(max(1, settings.max_concurrency))

    async def one(article: Article, n: int) -> None:
        async with article_slots:
            if limits is not None and limits.stopped:
                return  # stopped at a limit: start no new article
            scope = ArticleScope()
            ARTICLE.set(scope)
            result = await _run_article(program, article, n, settings.seed)
        if scope.stopped:
            return  # a call was refused at the limit: the article is incomplete, leave it for the resume
        on_result(result)

    await asyncio.gather(*(one(a, n) for a, n in zip(articles, budgets)))


def run_local(
    program: dspy.Module,
    pending: list[tuple[Article, int]],
    settings: RunSettings,
    on_result: Callable[[ArticleResult], None],
    ledger: UsageLedger,
    limits: RunLimits,
    teacher_lm: dspy.LM | None = None,
) -> dict[str, Any]:
    """The local executor: every pending article on one asyncio loop in this process, with the
    teacher built here. Returns the request gate's utilisation (summary.json lm_concurrency)."""
    import dspy

    teacher = teacher_lm or build_lm(settings.teacher, NORMAL, settings.api_base, settings.cache, settings.max_tokens, embedder=settings.embedder)
    creative = None
    if settings.creative_teacher:
        creative = build_lm(
            settings.creative_teacher, CREATIVE, settings.creative_api_base, settings.cache, settings.max_tokens, embedder=settings.embedder
        )
    concurrency: dict[str, Any] = {}

    async def main() -> None:
        LEDGER.set(ledger)
        LIMITS.set(limits)
        PARSE_RETRIES.set(settings.parse_retries)
        CREATIVE_LM.set(creative)
        await run_articles(program, [a for a, _ in pending], [n for _, n in pending], settings, on_result)
        concurrency.update(LIMITER.get().utilisation())

    from foveate_dspy.adapters import build_adapter

    adapter = build_adapter(settings.output_mode, settings.output_form)
    # No LM history: a run's calls are counted in the ledger and kept in the store, and DSPy's
    # per-call history entries (up to 10,000 full prompts per LM) cost ~15% of a call's CPU.
    with dspy.context(lm=teacher, adapter=adapter, disable_history=True):
        asyncio.run(main())
    return concurrency


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def _plan(
    store: RunStore,
    out_dir: Path,
    articles: list[Article],
    settings: RunSettings,
    fingerprint: dict[str, Any],
    log: Callable[[str], None],
) -> list[tuple[Article, int]]:
    """The articles still to run, with their stored budgets; a new store is initialised first."""
    if store.initialised:
        differences = store.differences(fingerprint)
        if differences:
            if any(line.startswith("corpus:") for line in differences):
                differences.append("the corpus is compared after reading: check --corpus, --limit, --chunk-tokens and the text/id fields")
            raise SettingsMismatch(
                f"{out_dir} holds a run made with other settings ({'; '.join(differences)}). "
                "Run the original command to resume it, or pass --force-new to move it aside and start over."
            )
    else:
        store.initialise(fingerprint, articles, compute_budgets(articles, settings))
    budgets, statuses = store.budgets(), store.statuses()
    pending = [(a, budgets[a.id]) for a in articles if statuses[a.id] != DONE]
    done = len(articles) - len(pending)
    failed = sum(1 for a, _ in pending if statuses[a.id] == "failed")
    if not pending:
        log(f"{out_dir}: all {len(articles)} articles are already done; nothing to run (0 LM calls)")
    elif done or failed:
        retried = f" ({failed} failed before and are retried)" if failed else ""
        log(f"resuming {out_dir}: {done} of {len(articles)} articles already done, running {len(pending)}{retried}")
    return pending


def run(
    articles: list[Article],
    out_dir: Path,
    settings: RunSettings,
    program: dspy.Module | None = None,
    progress: bool = True,
    *,
    force_new: bool = False,
    teacher_lm: dspy.LM | None = None,
    log: Callable[[str], None] = _note,
    executor: Callable[..., dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Compile (or resume compiling) a dataset from `articles` into `out_dir`; returns the
    summary it wrote. `force_new` moves an existing run aside first; `teacher_lm` replaces the
    LM built from `settings.teacher` (a scripted LM in tests; local executor only). `executor`
    runs the pending articles elsewhere, with `run_local`'s arguments (ray_executor.RayExecutor);
    planning, commits and exports stay here either way. Raises StoreError (its subclass
    SettingsMismatch for a directory holding another configuration's run)."""
    from foveate_dspy.methods import build_program
    from foveate_dspy.progress import RunProgress

    started = time.monotonic()
    program = program or build_program(settings)
    fingerprint = shaping_settings(settings, articles, program)
    ledger = UsageLedger(Pricing.lookup((settings.teacher, settings.creative_teacher)))
    limits = RunLimits(settings.max_calls, settings.max_cost_usd)
    store = RunStore.open(out_dir, fresh=force_new)
    store.redact(secrets_to_redact(settings))
    concurrency: dict[str, Any] = {}
    tally = Tally()
    session = {"status": "failed", "skipped": 0}
    failure: BaseException | None = None
    try:
        if store.moved_to is not None:
            log(f"--force-new: moved the previous run's store and outputs to {store.moved_to}")
        pending = _plan(store, out_dir, articles, settings, fingerprint, log)
        session["skipped"] = len(articles) - len(pending)
        store.begin_session(settings.public())
        if pending:
            probes = ArticleLedger.under(ledger)
            chosen = settle_output_mode(settings, teacher_lm, log, lambda usage, failed: probes.record(PROBE_STAGE, usage, failed))
            if probes.rows():
                store.commit_run_usage(probes.rows())
            session["output_mode"] = chosen.as_dict()
            settings = replace(settings, output_mode=chosen.mode, output_form=chosen.form)
            filters = FilterChain(settings.filters, settings.filter_config)

            with RunProgress(len(pending), tally, ledger, enabled=progress) as bar:

                def on_result(result: ArticleResult) -> None:
                    retry = retry_reason(result)
                    if retry is None:
                        filters.apply_article(result.items)
                    usage = result.usage.rows() if result.usage is not None else []
                    store.commit_article(
                        result.article, result.items, result.level_failures, usage, teacher=settings.teacher, method=settings.method, error=retry
                    )
                    result.error = retry
                    tally.add(result)
                    bar.advance()

                execute = executor or functools.partial(run_local, teacher_lm=teacher_lm)
                concurrency.update(execute(program, pending, settings, on_result, ledger, limits))
        complete = all(status == DONE for status in store.statuses().values())
        if complete and "length" in settings.filters:
            _length_filter(store, settings)
        session["status"] = "finished" if complete else "stopped"
    except BaseException as exc:
        failure = exc
        session["status"] = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        raise
    finally:
        summary = _finish(store, out_dir, settings, ledger, limits, concurrency, session, started, failure, log)
    return summary


PROBE_STAGE = "output_mode.probe"


def settle_output_mode(
    settings: RunSettings, teacher_lm: dspy.LM | None, log: Callable[[str], None], on_request: Callable[..., None] | None = None
):
    """The output mode this session runs in (`output_mode.resolve`: one or two probe requests
    for a real teacher, each reported to `on_request` for the ledger). A scripted `teacher_lm`
    (tests) writes chat replies unless told otherwise."""
    from foveate_dspy.output_mode import resolve

    offline = settings.teacher == OFFLINE or (teacher_lm is not None and settings.output_mode == "auto")
    probe_lm = teacher_lm
    if probe_lm is None and not offline and settings.output_mode in ("auto", "schema"):
        probe_lm = build_lm(settings.teacher, NORMAL, settings.api_base, max_tokens=settings.max_tokens)
    timeout = settings.request_timeout if teacher_lm is None else None  # a scripted LM takes no client settings
    chosen = resolve(settings.output_mode, probe_lm, offline, on_request, timeout)
    if chosen.fallback and not offline:
        log(f"output mode: chat ({chosen.fallback})")
    elif chosen.mode == "schema":
        log(f"output mode: schema ({chosen.form} request form), confirmed by a probe request")
    return chosen


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
    concurrency: dict[str, float],
    session: dict[str, Any],
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
        store.end_session(session["status"])
        summary = build_summary(store, settings, ledger, time.monotonic() - started)
        # None, or why the run stopped early (re-run the same command to continue)
        summary["stopped"] = limits.stopped or ("interrupted" if session["status"] == "interrupted" else None)
        summary["lm_concurrency"] = concurrency
        summary["this_run"]["status"] = session["status"]
        summary["this_run"]["output_mode"] = session.get("output_mode")
        summary["this_run"]["articles_skipped_done"] = session["skipped"]
        write_run_files(store, out_dir, summary)
    except (StoreError, OSError) as exc:
        if failure is None:
            raise StoreError(f"{out_dir}: cannot write the run's exports: {getattr(exc, 'strerror', None) or exc}") from exc
        log(f"could not write the exports of {out_dir} ({exc}); the store keeps everything committed")
    finally:
        store.close()
    return summary


FILTER_EXAMPLES = 20  # removals listed in summary.json, as filters.FilterChain.report


def filter_report(store: RunStore, settings: RunSettings) -> dict[str, Any]:
    """The summary's filter section (the shape of FilterChain.report), over the whole run."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in settings.filters}
    examples = []
    for item_id, level, reason in store.filtered():
        _, name, why = (reason.split(": ", 2) + ["", ""])[:3]
        counts.setdefault(name, Counter())[level] += 1
        if len(examples) < FILTER_EXAMPLES:
            examples.append({"id": item_id, "level": level, "filter": name, "why": why})
    config = settings.filter_config
    return {
        "filters": list(settings.filters),
        "noise_terms": config.noise_terms or "packaged",
        "rouge_threshold": config.rouge_threshold,
        "length_stds": config.length_stds,
        "removed": sum(sum(c.values()) for c in counts.values()),
        "removed_per_filter": {name: sum(c.values()) for name, c in counts.items()},
        "removed_per_filter_and_level": {name: dict(c) for name, c in counts.items()},
        "examples": examples,
    }


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
    from foveate_dspy.methods import output_levels

    counts = store.counts()
    usage = store.usage()
    stages = usage["stages"].values()
    calls = sum(r["calls"] for r in stages)
    inputs = sum(r["input_tokens"] for r in stages)
    outputs = sum(r["output_tokens"] for r in stages)
    per_level = counts["per_level"]
    records = sum(per_level["records"].values())
    priced = any(r["calls"] > r["unpriced_calls"] for r in usage["models"].values())
    budgets = counts["budgets"]
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
        "records": records,
        "records_per_level": {lv: per_level["records"].get(lv, 0) for lv in levels},
        "resynthesized": sum(per_level["resynthesized"].values()),
        "resynthesized_per_level": {lv: per_level["resynthesized"].get(lv, 0) for lv in levels},
        "resynthesis_attempts": counts["resynthesis_attempts"],
        "failed": sum(per_level["failed"].values()),
        "failed_per_level": {lv: per_level["failed"].get(lv, 0) for lv in levels},
        "level_failures": counts["level_failures"],
        "level_failure_examples": store.level_failure_examples(),
        "budget": {
            "total_per_level": sum(budgets),
            "mean_per_level": (sum(budgets) / len(budgets)) if budgets else 0.0,
            "min": min(budgets, default=0),
            "max": max(budgets, default=0),
        },
        "lm_calls": calls,
        "lm_errors": sum(r["errors"] for r in stages),
        "input_tokens": inputs,
        "output_tokens": outputs,
        "tokens_per_record": ((inputs + outputs) / records) if records else None,
        "calls_per_record": (calls / records) if records else None,
        "cached_input_tokens": sum(r["cached_input_tokens"] for r in stages),
        "cost_usd": round(sum(r["cost_usd"] for r in usage["models"].values()), 6) if priced else None,  # estimate
        "lm_usage": usage,
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
    if settings.filters:
        summary["filters"] = filter_report(store, settings)
    return summary
