"""`compile --executor ray`: the articles run on a Ray cluster, the run directory stays here.

The driver (this process) does everything that makes a run a run, exactly as the local executor:
it reads the corpus, plans the pending articles from the run store with their stored budgets,
commits each finished article through the runner's own `on_result` (retry rules, filters, store
transaction, progress), and writes the exports. Only the articles travel: the pending ones become
a Ray Dataset (`ray.data.from_items`; the corpus is read here by our readers, which know every
format) sharded over a pool of workers with `map_batches`.

An article whose budget n is not known yet (Algorithm 1 fitted on a sample: `budget.ArticleBudget`)
travels with n = NO_BUDGET, and the worker computes it, a batch at a time, with its own embedder
(loaded once per worker process, on its GPU when it has one); the n comes back with the outcome
and is stored with the article's commit. The driver commits in groups (`runner.Commits`), one
transaction per group, so committing does not hold the cluster back.

Each worker (`ArticleWorker`, a Ray Data callable class) builds the DSPy program and its LM
clients once, from the run's settings and the program's saved state (prompts and demos, so an
optimised program runs unchanged); LMs are never pickled and API keys come from the workers' own
environment. It runs its batches' articles concurrently on one asyncio loop and returns, per
article, the items with their attempts, the failed levels, the error and the LM calls it made;
the driver replays those calls into the run's usage ledger, so summary.json counts them exactly
as a local run does.

One bound for the whole cluster: every LM request of every worker is admitted by one
`RequestBroker` actor, which holds the run's `RequestGate` (--max-concurrency, --rpm, --tpm,
Retry-After pauses), the endpoint pool (several --api-base servers, each with its own limit), and
the --max-calls / --max-cost-usd stop, and the run's article admission (`admission.py`): a worker
asks the broker before it starts an article, so under a limit the cluster, like the local loop,
starts only the articles the limit can pay for and saves whole ones. A worker's gate (`BrokerGate`) has the interface
`calls.call_predictor` expects of the local one; its ticket names the LM of the endpoint that was
granted.

Failures. A worker killed mid-batch costs its in-flight articles: Ray restarts the actor and
retries its tasks, and the slots it held are handed back when the restarted actor registers. An
article reported twice (a retried task) is committed once: the driver skips indices it has seen
and the store refuses an article already done. A killed driver is a killed local run: committed
articles stay, the next run (on either executor) resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import pickle
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from foveate_dspy.runtime.admission import ADMISSION, ArticleAdmission, History
from foveate_dspy.method.budget import ArticleBudget
from foveate_dspy.runtime.call_ledger import Work, record_replayed
from foveate_dspy.runtime.calls import (
    ARTICLE,
    LEDGER,
    LIMITER,
    LIMITS,
    PARSE_RETRIES,
    ArticleScope,
    Pricing,
    RunLimits,
    RunStopped,
    StageUsage,
    UsageLedger,
)
from foveate_dspy.corpus.readers import Article
from foveate_dspy.runtime.endpoints import Endpoint, EndpointPool
from foveate_dspy.runtime.ratelimit import RequestGate, Ticket
from foveate_dspy.method.items import Item, LevelFailure
from foveate_dspy.method.resynthesis import CREATIVE_LM
from foveate_dspy.runtime.runner import ArticleResult, RunSettings, program_digest, run_article
from foveate_dspy.teachers.sampling import CREATIVE_CONFIG
from foveate_dspy.runtime.usage import ArticleLedger

if TYPE_CHECKING:
    import dspy

    from foveate_dspy.method.extraction import ExtractionLog

RAY_MISSING = "--executor ray needs Ray with Ray Data, which is not installed: pip install 'foveate-dspy[ray]'"
ADMITTED: ContextVar[str | None] = ContextVar("foveate_admitted_article", default=None)
"""In a worker: the broker's key of the article the current task runs (its requests name it)."""
NO_BUDGET = -1  # the n sent for an article whose budget the worker computes
MAX_BLOCKS = 20_000
"""Blocks of the article dataset at most. Each block is a Ray object built on the driver before
the run starts (about a millisecond each), so a huge corpus gets several articles per batch."""


class RayUnavailable(RuntimeError):
    """Ray (with Ray Data) cannot be imported."""


class RayRunError(RuntimeError):
    """The cluster could not run the articles (a worker could not start, Ray failed); what was
    committed before is safe and the same command resumes."""


class WorkerSetupError(RuntimeError):
    """A worker cannot build the program or its LMs on its node (a missing key, other code)."""


def import_ray() -> Any:
    """The `ray` module with Ray Data loaded, or RayUnavailable with the one line to fix it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise RayUnavailable(RAY_MISSING) from exc
    return ray


# --- what a worker sends back per article -------------------------------------------------------


@dataclass
class Outcome:
    """One article's result as it travels from a worker to the driver (pickled)."""

    items: list[Item] = field(default_factory=list)
    level_failures: list[LevelFailure] = field(default_factory=list)
    error: str | None = None
    calls: list[tuple[Any, ...]] = field(default_factory=list)  # the ledger's record() calls, replayed on the driver
    stopped: str | None = None  # a stop limit refused one of its calls: not committed, stays pending
    n: int | None = None  # the budget the worker computed for it (Algorithm 1's stored fit), if it did
    setup_error: str | None = None  # the worker could not build the program: the run stops
    closed: str | None = None  # admission closed (no article fits in what the limit leaves): not started
    language: str | None = None  # the article's language, detected as it ran
    extractions: list[ExtractionLog] = field(default_factory=list)  # per level: drops and shortfall


@dataclass
class CallLog(ArticleLedger):
    """An article's ledger that also keeps each recorded call, for the driver to replay into the
    run's ledger: the driver's usage figures then come from the same code as a local run's."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def record(self, stage: str, usage_by_model: dict[str, dict[str, Any]], failed: bool, *args: Any, **kwargs: Any) -> None:
        self.calls.append((stage, usage_by_model, failed, args, kwargs))
        super().record(stage, usage_by_model, failed, *args, **kwargs)


def replay(outcome: Outcome, ledger: UsageLedger) -> ArticleLedger:
    """The article's ledger on the driver, under the run's ledger, from the worker's calls."""
    usage = ArticleLedger.under(ledger)
    for stage, usage_by_model, failed, args, kwargs in outcome.calls:
        usage.record(stage, usage_by_model, failed, *args, **kwargs)
    return usage


# --- the cluster-wide gate ---------------------------------------------------------------------


class RequestBroker:
    """Admits every LM request of the run, whichever worker sends it (a Ray async actor).

    A grant holds a slot of the run's RequestGate and one at an endpoint until the worker
    releases it. Grants are recorded per worker process (`token`): when Ray restarts a killed
    worker, the new process registers under the same actor id and the dead one's grants are
    released, so a crash never shrinks the bound for the rest of the run."""

    def __init__(
        self,
        settings: RunSettings,
        endpoints: Sequence[Endpoint],
        spent_calls: int = 0,
        spent_cost: float = 0.0,
        history: History | None = None,
        prior_cost_per_call: float | None = None,
    ) -> None:
        self.gate = RequestGate(settings.max_concurrency, settings.rpm, settings.tpm)
        self.pool = EndpointPool(endpoints, settings.max_concurrency)
        self.limits = RunLimits(settings.max_calls, settings.max_cost_usd, started_calls=spent_calls, cost_before=spent_cost)
        # The broker is the ledger admission reads the spend from (`totals`).
        self.admission = ArticleAdmission(self.limits, self, settings, history or History(), prior_cost_per_call)
        self.articles: dict[str, tuple[str, ArticleScope]] = {}  # article run key -> (token, its scope)
        self.grants: dict[int, tuple[str, int, Any, Ticket]] = {}  # id -> (token, endpoint, admission, ticket)
        self.workers: dict[str, str] = {}  # worker (actor id) -> the token of its live process
        self.retired: set[str] = set()
        self.spent: dict[str, float] = {}  # token -> estimated USD its process has spent
        self._next = 0

    async def register(self, worker: str, token: str) -> None:
        """A worker process starts; a previous process of the same actor is dead: free its grants."""
        previous = self.workers.get(worker)
        self.workers[worker] = token
        if previous is not None:
            self.retired.add(previous)
            for grant in [g for g, held in self.grants.items() if held[0] == previous]:
                await self._free(grant)
            for key in [k for k, (held_by, _scope) in self.articles.items() if held_by == previous]:
                await self.leave_article(key, kept=False, cost=0.0)  # its reserve comes back

    async def enter_article(self, token: str, key: str, n: int) -> str | None:
        """Admit an article of budget n (waiting while articles in flight may free enough of the
        limit); None when admitted, else why no article can start any more."""
        scope = ArticleScope()
        if not await self.admission.enter(scope, n):
            return self.limits.stopped or self.limits.closed or "stopped at a limit"
        self.articles[key] = (token, scope)
        return None

    async def leave_article(self, key: str, kept: bool, cost: float) -> None:
        """The article ended; a kept one teaches admission what an article really takes."""
        held = self.articles.pop(key, None)
        if held is not None:
            await self.admission.leave(held[1], kept, cost)

    def totals(self) -> StageUsage:
        """The run's spend so far (RunLimits reads it for --max-cost-usd)."""
        return StageUsage(cost_usd=sum(self.spent.values()))

    async def acquire(self, token: str, estimated_tokens: float, article: str | None = None) -> tuple[int, int] | str:
        """(grant id, endpoint index), or the reason the run stopped. `article`: the key of the
        admitted article the request is for (its admitted calls shrink its reserve)."""
        if self.limits.stopped:
            return self.limits.stopped
        admission = self.gate.admit(estimated_tokens)
        ticket = await admission.__aenter__()
        endpoint = await self.pool.take()
        grant = self._next
        self._next += 1
        self.grants[grant] = (token, endpoint, admission, ticket)
        if token in self.retired:  # a request queued by a process that has since died
            await self._free(grant)
            return "this worker process was replaced"
        try:
            self.limits.admit(self)  # counts the request, or raises at --max-calls / --max-cost-usd
        except RunStopped as stop:
            await self._free(grant)
            return str(stop)
        if article in self.articles:
            self.articles[article][1].calls += 1
        return grant, endpoint

    async def release(self, grant: int, actual_tokens: float | None, spent: float | None) -> None:
        held = self.grants.get(grant)
        if held is None:
            return  # freed already, when its worker was replaced
        if spent is not None:
            self.spent[held[0]] = max(self.spent.get(held[0], 0.0), spent)
        self.gate.settle(held[3], actual_tokens)
        await self._free(grant)

    async def forfeit(self, reply: tuple[int, int] | str) -> None:
        """Hand back a grant whose requester stopped waiting for it (Ray resolves the reply first)."""
        if not isinstance(reply, str):
            await self._free(reply[0])

    async def _free(self, grant: int) -> None:
        _token, endpoint, admission, _ticket = self.grants.pop(grant)
        await self.pool.give_back(endpoint)
        await admission.__aexit__(None, None, None)

    async def pause(self, seconds: float) -> None:
        self.gate.pause(seconds)

    async def stop(self, reason: str) -> None:
        self.limits.stop(reason)

    async def report(self) -> dict[str, Any]:
        """summary.json's lm_concurrency: the gate's utilisation, plus each endpoint's share."""
        return {**self.gate.utilisation(), "endpoints": self.pool.report()}


@dataclass
class RoutedTicket(Ticket):
    """A grant seen from the worker: the LM of the granted endpoint, and the usage to report."""

    lm: Any = None
    grant: int = -1
    actual_tokens: float | None = None


class ClusterLimits(RunLimits):
    """A worker's view of the run's stop: set when the broker refuses a request, and passed on to
    the broker when this worker meets a provider refusal (a revoked key stops every worker)."""

    def __init__(self, broker: Any) -> None:
        super().__init__()
        self.broker = broker

    def stop(self, reason: str) -> None:
        if self.stopped is None:
            super().stop(reason)
            self.broker.stop.remote(reason)


class BrokerGate:
    """The worker side of the broker, with the interface calls.call_predictor uses of
    ratelimit.RequestGate: `admit` (an async context manager yielding a ticket), `settle`,
    `pause`, `backoff`, `request_timeout`, `limits_tokens`. One awaited call to the broker per
    request; the release is sent without waiting."""

    def __init__(self, broker: Any, token: str, lms: Sequence[Any], settings: RunSettings, limits: ClusterLimits, ledger: UsageLedger) -> None:
        self.broker = broker
        self.token = token
        self.lms = list(lms)
        self.limits = limits
        self.ledger = ledger
        self.backoff = settings.backoff
        self.request_timeout = settings.request_timeout
        self.limits_tokens = settings.tpm is not None
        self.reports_spend = settings.max_cost_usd is not None

    async def _acquire(self, estimated_tokens: float) -> tuple[int, int] | str:
        reply = self.broker.acquire.remote(self.token, estimated_tokens, ADMITTED.get())
        try:
            return await reply
        except asyncio.CancelledError:
            self.broker.forfeit.remote(reply)  # the grant may still come: hand it straight back
            raise

    @contextlib.asynccontextmanager
    async def admit(self, estimated_tokens: float = 0.0) -> AsyncIterator[RoutedTicket]:
        reply = await self._acquire(estimated_tokens)
        if isinstance(reply, str):
            scope = ARTICLE.get()
            if scope is not None:
                scope.stopped = True
            self.limits.stop(reply)
            raise RunStopped(reply)
        grant, endpoint = reply
        ticket = RoutedTicket(estimated_tokens, lm=self.lms[endpoint], grant=grant)
        try:
            yield ticket
        finally:
            spent = self.ledger.totals().cost_usd if self.reports_spend else None
            self.broker.release.remote(grant, ticket.actual_tokens, spent)

    def settle(self, ticket: RoutedTicket, actual_tokens: float | None) -> None:
        ticket.settled = True
        ticket.actual_tokens = actual_tokens

    def pause(self, seconds: float) -> None:
        self.broker.pause.remote(seconds)


# --- the workers ---------------------------------------------------------------------------------


class ArticleWorker:
    """One Ray Data worker: the program and its LMs, built once, and an asyncio loop on which
    every batch sent to this worker runs (Ray Data calls it from several threads at once).

    A worker that cannot set up (a key missing from its node's environment, another version of
    this package) answers every batch with the reason, which the driver stops on: Ray Data
    would otherwise restart the actor over and over and report only that it died."""

    def __init__(
        self,
        settings: RunSettings,
        program_state: dict[str, Any] | None,
        program_sha: str | None,
        broker: Any,
        endpoints: Sequence[Endpoint],
        budget: ArticleBudget | None = None,
    ) -> None:
        from foveate_dspy.teachers.model_strings import TeacherError

        self.budget = budget  # n for an article without one; its embedder loads once per worker, on its GPU if any
        where = f"Ray worker on {socket.gethostname()} (pid {os.getpid()})"
        self.setup_error: str | None = None
        try:
            self._set_up(settings, program_state, program_sha, broker, endpoints)
        except TeacherError as exc:
            self.setup_error = f"{where}: {exc}; set it in the environment of every Ray node (see the README)"
        except WorkerSetupError as exc:
            self.setup_error = f"{where}: {exc}"
        except Exception as exc:  # an import or build failure on this node: report it, do not crash-loop
            self.setup_error = f"{where}: cannot build the program: {exc.__class__.__name__}: {' '.join(str(exc).split())[:300]}"

    def _set_up(self, settings: RunSettings, program_state: dict[str, Any] | None, program_sha: str | None, broker: Any, endpoints: Sequence[Endpoint]) -> None:
        import ray

        from foveate_dspy.teachers.adapters import build_adapter
        from foveate_dspy.teachers.model_strings import build_lm, check_teacher
        from foveate_dspy.method.choice import build_program
        from foveate_dspy.teachers.settings import build_teachers, mode

        check_teacher(settings.teacher, endpoints[0].url)
        if settings.creative_teacher:
            check_teacher(settings.creative_teacher, settings.creative_api_base)
        program = build_program(settings)
        if program_state is not None:
            program.load_state(program_state)
        if program_digest(program) != program_sha:
            raise WorkerSetupError("the program built here differs from the driver's; install the same foveate_dspy version on every node")
        self.settings = settings
        self.program = program
        normal = mode(settings.sampling, "normal")
        self.lms = [build_lm(settings.teacher, normal, e.url, settings.cache, settings.max_tokens, embedder=settings.embedder) for e in endpoints]
        _, self.creative, self.creative_config = build_teachers(settings, teacher_lm=self.lms[0])
        self.adapter = build_adapter(settings.output_mode, settings.output_form)
        priced = Pricing.lookup((settings.teacher, settings.creative_teacher)) if settings.max_cost_usd is not None else Pricing()
        self.ledger = UsageLedger(priced)
        self.limits = ClusterLimits(broker)
        self.broker, self.token = broker, (token := uuid.uuid4().hex)
        ray.get(broker.register.remote(ray.get_runtime_context().get_actor_id() or token, token))
        self.gate = BrokerGate(broker, token, self.lms, settings, self.limits, self.ledger)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="foveate-articles", daemon=True).start()

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        jobs = list(zip(batch["index"].tolist(), batch["id"].tolist(), batch["text"].tolist(), batch["n"].tolist()))
        if self.setup_error is not None:
            payloads = [pickle.dumps(Outcome(setup_error=self.setup_error))] * len(jobs)
        else:
            payloads = asyncio.run_coroutine_threadsafe(self._run(jobs), self.loop).result()
        return {"index": [job[0] for job in jobs], "payload": payloads}

    async def _run(self, jobs: list[tuple[int, str, str, int]]) -> list[bytes]:
        import dspy

        LEDGER.set(self.ledger)
        LIMITER.set(self.gate)
        LIMITS.set(self.limits)
        PARSE_RETRIES.set(self.settings.parse_retries)
        CREATIVE_LM.set(self.creative)
        CREATIVE_CONFIG.set(self.creative_config)
        missing = [text for _index, _id, text, n in jobs if n == NO_BUDGET]
        if missing and self.budget is None:
            return [pickle.dumps(Outcome(setup_error="an article has no budget n and the run has no stored Algorithm 1 fit"))] * len(jobs)
        # n for the batch's articles that came without one: one batched embedding, in a thread
        computed = iter(await asyncio.to_thread(self.budget.many, missing)) if missing else iter(())
        budgets = [(next(computed), True) if n == NO_BUDGET else (n, False) for _index, _id, _text, n in jobs]
        with dspy.context(lm=self.lms[0], adapter=self.adapter):
            return list(await asyncio.gather(*(self._one(job[1], job[2], *nb) for job, nb in zip(jobs, budgets))))

    async def _one(self, article_id: str, text: str, n: int, computed: bool) -> bytes:
        """Like runner.run_articles' per-article step: nothing starts after a stop, and an article
        a stop cut short is reported as stopped, not as a result. `computed`: n was computed here
        (the driver sent NO_BUDGET), and goes back to be stored."""
        if self.limits.stopped:
            return pickle.dumps(Outcome(stopped=self.limits.stopped))
        # Admission only matters under a call or cost limit: without one, no round trip per article.
        key = uuid.uuid4().hex if self.settings.max_calls is not None or self.settings.max_cost_usd is not None else None
        if key is not None:
            closed = await self.broker.enter_article.remote(self.token, key, n)
            if closed is not None:
                return pickle.dumps(Outcome(closed=closed))
        ADMITTED.set(key)
        log = CallLog.under(self.ledger)
        LEDGER.set(log)
        scope = ArticleScope()
        ARTICLE.set(scope)
        kept, cost = False, 0.0
        try:
            result = await run_article(self.program, Article(article_id, text), n, self.settings.seed, self.settings.output_language)
            if scope.stopped:  # its calls go back too: paid for, so in the run's call ledger (lost)
                return pickle.dumps(Outcome(calls=log.calls, stopped=self.limits.stopped or "stopped at a limit"))
            kept, cost = result.error is None, UsageLedger.totals(log).cost_usd
            return pickle.dumps(
                Outcome(
                    result.items,
                    result.level_failures,
                    result.error,
                    log.calls,
                    n=n if computed else None,
                    extractions=result.extractions,
                    language=result.article.source.get("language"),
                )
            )
        finally:
            if key is not None:
                self.broker.leave_article.remote(key, kept, cost)


# --- the driver ------------------------------------------------------------------------------


def _quiet_ray_data(ray: Any) -> None:
    """The run has its own progress display; Ray Data's bars and per-dataset log lines would
    interleave with it."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost error behind Ray's wrappers (RayTaskError.cause, UserCodeException's cause)."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = getattr(exc, "cause", None) or exc.__cause__
    return seen[-1]


@dataclass
class RayExecutor:
    """Runs a run's pending articles on Ray; called by runner.run in place of its local loop."""

    address: str | None = None  # None: start a local Ray instance (or RAY_ADDRESS); "auto"; "ray://host:port"
    workers: int | None = None  # default: the cluster's CPUs
    batch_size: int | None = None  # articles per Ray Data batch; default 1, more for huge corpora
    endpoints: list[Endpoint] = field(default_factory=list)
    started: bool = field(default=False, init=False)  # this executor started or joined Ray, and leaves it

    def connect(self) -> None:
        """Join the cluster (or start a private instance) unless this process already has; the
        CLI calls it before the run starts, so a wrong --ray-address costs nothing."""
        ray = import_ray()
        if ray.is_initialized():
            return
        options: dict[str, Any] = {"logging_level": logging.WARNING}
        if self.address is None and not os.environ.get("RAY_ADDRESS"):
            options["include_dashboard"] = False  # a private instance for this run
        try:
            ray.init(address=self.address, **options)
        except Exception as exc:  # no cluster at that address, a missing ray[client], a version mismatch
            raise RayRunError(f"cannot start or reach Ray (--ray-address {self.address or 'unset'}): {' '.join(str(exc).split())}") from exc
        self.started = True

    def __call__(
        self,
        program: dspy.Module,
        pending: Iterable[tuple[Article, int | None]],
        settings: RunSettings,
        on_result: Callable[[ArticleResult], None],
        ledger: UsageLedger,
        limits: RunLimits,
        budget: ArticleBudget | None = None,
    ) -> dict[str, Any]:
        ray = import_ray()
        self.connect()
        report = self._run(ray, program, list(pending), settings, on_result, ledger, limits, budget)
        if self.started:
            # Only after a dataset ran to its end: a failed or interrupted one may still have
            # Ray Data threads running, and a shutdown under them ends the process before the run
            # is saved. Ray's exit hook disconnects then.
            ray.shutdown()
            self.started = False
        return report

    def _run(
        self,
        ray: Any,
        program: dspy.Module,
        pending: list[tuple[Article, int | None]],
        settings: RunSettings,
        on_result: Callable[[ArticleResult], None],
        ledger: UsageLedger,
        limits: RunLimits,
        budget: ArticleBudget | None,
    ) -> dict[str, Any]:
        _quiet_ray_data(ray)
        endpoints = self.endpoints or [Endpoint(settings.api_base)]
        layout = _Layout.of(len(pending), self.batch_size, self.workers, ray.cluster_resources().get("CPU", 1.0), settings)
        broker = _start_broker(ray, settings, endpoints, limits)
        constructor = {
            "settings": settings,
            "program_state": _program_state(program),
            "program_sha": program_digest(program),
            "broker": broker,
            "endpoints": endpoints,
            "budget": budget,
        }
        results = layout.dataset(ray, pending, constructor)
        seen: set[int] = set()
        stream = iter(results.iter_rows())
        try:
            for row in stream:
                index = int(row["index"])
                if index in seen:
                    continue  # a retried task reported it again
                seen.add(index)
                _deliver(pickle.loads(row["payload"]), *pending[index], limits, ledger, on_result)
            report = ray.get(broker.report.remote())
        except ray.exceptions.RayError as exc:
            cause = _root_cause(exc)
            text = " ".join(str(cause).split()) or " ".join(str(exc).split())
            raise RayRunError(f"the Ray run failed: {cause.__class__.__name__}: {text[:500]}") from exc
        finally:
            stream.close()  # ends the iteration: Ray Data then winds the dataset's execution down
            ray.kill(broker)
        return {**report, "executor": "ray", "workers": layout.workers, "batch_size": layout.batch}


@dataclass(frozen=True)
class _Layout:
    """How a session's articles are spread over the cluster: articles per Ray Data batch, how
    many batches, worker actors, articles each worker keeps in flight, and CPUs per worker."""

    batch: int
    batches: int
    workers: int
    per_worker: int
    cpus_per_worker: float

    @classmethod
    def of(cls, articles: int, batch_size: int | None, workers: int | None, cpus: float, settings: RunSettings) -> _Layout:
        batch = batch_size or max(1, math.ceil(articles / MAX_BLOCKS))
        batches = math.ceil(articles / batch)
        workers = max(1, min(workers or int(cpus) or 1, batches))
        # Twice as many articles in flight over the cluster as the local executor keeps (one per
        # request slot): an article that ends leaves its slots idle until Ray Data hands its worker
        # the next batch, so each worker keeps spare articles waiting at the broker, which alone
        # bounds the requests in flight.
        per_worker = max(1, math.ceil(math.ceil(2 * settings.max_concurrency / workers) / batch))
        return cls(batch, batches, workers, per_worker, min(1.0, cpus / workers))

    def dataset(self, ray: Any, pending: list[tuple[Article, int | None]], constructor: dict[str, Any]) -> Any:
        """The Ray Data pipeline: the pending articles (an n the workers compute sent as
        NO_BUDGET) mapped in batches over a pool of ArticleWorker actors built with `constructor`."""
        from ray.data import ActorPoolStrategy

        jobs = [{"index": i, "id": a.id, "text": a.text, "n": NO_BUDGET if n is None else n} for i, (a, n) in enumerate(pending)]
        return ray.data.from_items(jobs, override_num_blocks=self.batches).map_batches(
            ArticleWorker,
            batch_size=self.batch,
            batch_format="numpy",
            fn_constructor_kwargs=constructor,
            compute=ActorPoolStrategy(size=self.workers, max_concurrent_calls_per_actor=self.per_worker, enable_true_multi_threading=True),
            num_cpus=self.cpus_per_worker,
        )


def _start_broker(ray: Any, settings: RunSettings, endpoints: list[Endpoint], limits: RunLimits) -> Any:
    """The run's RequestBroker actor. Limits are the run's totals: the broker starts from what
    earlier sessions spent, and admission from what their articles took (the driver's)."""
    admission = ADMISSION.get()
    return ray.remote(RequestBroker).options(num_cpus=0).remote(
        settings,
        endpoints,
        limits.started_calls,
        limits.cost_before,
        admission.history if admission is not None else None,
        admission.prior_cost_per_call if admission is not None else None,
    )


def _program_state(program: dspy.Module) -> dict[str, Any] | None:
    """The program's prompts and demos for the workers; None when it cannot save its state (the
    workers then build it from the settings)."""
    try:
        return program.dump_state()
    except Exception:
        return None


def _deliver(
    outcome: Outcome,
    article: Article,
    n: int | None,
    limits: RunLimits,
    ledger: UsageLedger,
    on_result: Callable[[ArticleResult], None],
) -> None:
    """One worker's outcome on the driver: a setup error ends the run; an article a limit kept
    from starting, or cut short (its calls paid for, its work lost), moves the limits; a finished
    one goes to `on_result` with its calls replayed into the driver's ledgers."""
    if outcome.setup_error is not None:
        raise RayRunError(outcome.setup_error)
    if outcome.closed is not None:  # not started: no article fits in what the limit leaves
        limits.closed = limits.closed or outcome.closed
        return
    if outcome.stopped is not None:
        record_replayed(outcome.calls, Work.article(article.id))  # paid for, work lost
        limits.stop(outcome.stopped)
        return
    computed = outcome.n is not None
    if outcome.language is not None and "language" not in article.source:
        article = replace(article, source={**article.source, "language": outcome.language})
    work = Work.article(article.id)
    record_replayed(outcome.calls, work)  # the run's call ledger, written on the driver
    result = ArticleResult(
        article, outcome.n if computed else n, outcome.items, outcome.level_failures, outcome.error, replay(outcome, ledger), outcome.extractions
    )
    result.attempt = work.attempt
    result.budget_computed = computed
    on_result(result)
