"""Every LM call the program makes goes through `call_predictor`.

One place to (1) admit requests through the run's `RequestGate` (in-flight bound, rate budgets,
provider pauses), (2) retry transient failures with backoff, (3) count calls, tokens and cost per
stage without relying on `dspy.track_usage` at the run level (it misses calls made in worker
threads), (4) refuse new calls once the run's call or cost limit is reached, and (5) turn DSPy's
errors into a rejection reason an item can carry.

Retries live here, not in DSPy or LiteLLM: the teacher LMs are built with `num_retries=0`, so a
request is sent exactly once per attempt and every attempt is admitted, paced and counted. An
attempt that times out (`--request-timeout`, enforced by the HTTP transport, which closes the
connection) is over before the next one is sent; nothing is ever re-sent in parallel, unlike
straggler re-sends (DSPy's `batch`, which the program does not use).

How DSPy 3.4 reports provider failures: engines raise `dspy.lm15` errors, which DSPy projects onto
`dspy.utils.exceptions.LM*Error` classes carrying `status` and `retry_after` (parsed from a
Retry-After header in seconds or as an HTTP-date, by the native engine and by the LiteLLM
compatibility engine alike). 429 becomes LMRateLimitError, 5xx LMServerError, 408/504
LMTimeoutError, connection failures, read timeouts and truncated bodies LMTransportError, and a
reply that is not JSON (e.g. not UTF-8) an LMProviderError with the reply's 2xx status.

Prompt layout and provider prefix caching: DSPy's ChatAdapter sends a system message (field
descriptions, then the signature's instructions) followed by the user message, which lists the
input fields in signature order. Every program signature declares `article` first, so all calls
of one stage on one article share the system message and the article as an exact prefix, which
providers with automatic prefix caching (OpenAI, DeepSeek) bill at the cached rate. Re-synthesis
calls put their demos (which omit the article) before the final user message, so only their
system message is a shared prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import dspy

from foveate_dspy.runtime import call_ledger

from foveate_dspy.runtime.dspy_workarounds import call_caches as dspy_call_caches

from foveate_dspy.runtime.dspy_workarounds import threadsafe_ast
from foveate_dspy.teachers.adapters import PARSE_NOTES
from foveate_dspy.runtime.estimate import estimate_tokens
from foveate_dspy.runtime.ratelimit import Backoff, RequestGate, Ticket

LM_CALL_FAILED = "LM call failed"
"""Every CallFailed reason for a provider or transport failure starts with this: a later resume
treats such items as worth retrying, unlike a teacher reply that did not parse."""

DEFAULT_OUTPUT_TOKENS = 256  # per-call output guess for --tpm until a stage has history


@dataclass
class StageUsage:
    calls: int = 0  # requests sent (retries included)
    errors: int = 0  # requests that failed
    retries: int = 0  # requests that were retries of a failed one
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # input tokens the provider reports as served from its prefix cache
    cost_usd: float = 0.0  # estimated, for priced models only
    unpriced_calls: int = 0  # calls whose usage could not be priced (unknown model, no usage)
    parse_coerced: int = 0  # replies read only after coercion (adapters.RecoveringChatAdapter, SchemaAdapter)
    parse_failed: int = 0  # replies that did not parse even then (each one sent again, up to --parse-retries)
    parse_retried_ok: int = 0  # calls that parsed only on a retry after such a failure
    parse_lost: int = 0  # calls given up because no reply parsed within --parse-retries


class Pricing:
    """USD per call from LiteLLM's price table, for the models looked up at the start of a run.

    Unknown prices are not zero: a model missing from the table is recorded as unpriced, and
    `--max-cost-usd` refuses to run with it."""

    def __init__(self, priced: Iterable[str] = ()) -> None:
        self.priced = frozenset(priced)

    @classmethod
    def lookup(cls, models: Iterable[str | None]) -> Pricing:
        """Pricing for whichever of `models` LiteLLM knows (imports litellm only when needed)."""
        from foveate_dspy.teachers.local_server import is_local_teacher

        # The offline teacher and GGUF files cost nothing; asking LiteLLM about them prints noise.
        candidates = {m for m in models if m and not m.startswith("offline") and not is_local_teacher(m)}
        if not candidates:
            return cls()
        import litellm

        priced = set()
        for model in candidates:
            try:
                litellm.cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)
            except Exception:  # ModelNotMappedError and friends: no price for this model
                continue
            priced.add(model)
        return cls(priced)

    def cost(self, model: str, usage: dict[str, Any]) -> float | None:
        if model not in self.priced or usage.get("prompt_tokens") is None:
            return None
        import litellm

        details = usage.get("prompt_tokens_details") or {}
        prompt, completion = litellm.cost_per_token(
            model=model,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cache_read_input_tokens=int(details.get("cached_tokens") or 0),
        )
        return prompt + completion


@dataclass
class UsageLedger:
    """Calls, tokens and cost per stage (e.g. "micro.extract") and per model; safe across threads."""

    pricing: Pricing = field(default_factory=Pricing)
    stages: dict[str, StageUsage] = field(default_factory=lambda: defaultdict(StageUsage))
    models: dict[str, StageUsage] = field(default_factory=lambda: defaultdict(StageUsage))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, stage: str, usage_by_model: dict[str, dict[str, Any]], failed: bool, retry: bool = False) -> None:
        """Count one request of `stage` with the usage DSPy tracked for it."""
        with self._lock:
            rows = [self.stages[stage]]
            if not usage_by_model:
                rows[0].calls += 1
                rows[0].errors += int(failed)
                rows[0].retries += int(retry)
                rows[0].unpriced_calls += 1
                return
            for model, usage in usage_by_model.items():
                cost = self.pricing.cost(model, usage)
                cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
                for row in (*rows, self.models[model]):
                    row.calls += 1
                    row.errors += int(failed)
                    row.retries += int(retry)
                    row.input_tokens += int(usage.get("prompt_tokens") or 0)
                    row.output_tokens += int(usage.get("completion_tokens") or 0)
                    row.cached_input_tokens += cached
                    if cost is None:
                        row.unpriced_calls += 1
                    else:
                        row.cost_usd += cost
                rows = []  # a stage counts one call even if usage names several models

    def record_parse(self, stage: str, event: str) -> None:
        """Count a parse event of `stage`: "coerced", "failed", "retried_ok" or "lost"."""
        with self._lock:
            row = self.stages[stage]
            setattr(row, f"parse_{event}", getattr(row, f"parse_{event}") + 1)

    def totals(self) -> StageUsage:
        with self._lock:
            total = StageUsage()
            for row in self.stages.values():
                for name, value in vars(row).items():
                    setattr(total, name, getattr(total, name) + value)
            return total

    def mean_output_tokens(self, stage: str) -> float:
        with self._lock:
            row = self.stages.get(stage)
            if row is None or row.calls - row.errors <= 0 or row.output_tokens == 0:
                return DEFAULT_OUTPUT_TOKENS
            return row.output_tokens / (row.calls - row.errors)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "stages": {k: vars(v).copy() for k, v in sorted(self.stages.items())},
                "models": {k: vars(v).copy() for k, v in sorted(self.models.items())},
            }


class CallFailed(Exception):
    """An LM call produced nothing usable; `reason` is what the item's attempt log records."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunStopped(Exception):
    """The run reached a limit (or the provider refused it outright): no new LM calls.

    The article that hit it is left uncommitted, so re-running the same command redoes it."""


@dataclass
class RunLimits:
    """--max-calls and --max-cost-usd, plus the reason the run stopped, once it has.

    Both limits are the run's totals across sessions: `started_calls` and `cost_before` start at
    what the store's call ledger says earlier sessions paid for. Calls are counted as they are
    admitted, so the call limit is never exceeded; cost is known only after a reply, so the cost
    limit may be overshot by the calls already in flight. `closed` is set when no new article
    fits in what is left (admission.ArticleAdmission): articles in flight still finish."""

    max_calls: int | None = None
    max_cost_usd: float | None = None
    stopped: str | None = None
    started_calls: int = 0
    cost_before: float = 0.0  # USD spent by earlier sessions of the run
    closed: str | None = None

    def spent_cost(self, ledger: UsageLedger | None) -> float:
        return self.cost_before + (ledger.totals().cost_usd if ledger is not None else 0.0)

    def stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason

    def admit(self, ledger: UsageLedger | None) -> None:
        """Count one more request, or raise RunStopped when a limit is reached."""
        if self.stopped is None and self.max_calls is not None and self.started_calls >= self.max_calls:
            self.stop(f"--max-calls {self.max_calls} reached")
        if self.stopped is None and self.max_cost_usd is not None and ledger is not None:
            spent = self.spent_cost(ledger)
            if spent >= self.max_cost_usd:
                self.stop(f"--max-cost-usd {self.max_cost_usd:g} reached (estimated ${spent:.4f} spent)")
        if self.stopped is not None:
            scope = ARTICLE.get()
            if scope is not None:
                scope.stopped = True
            raise RunStopped(self.stopped)
        self.started_calls += 1
        scope = ARTICLE.get()
        if scope is not None:
            scope.calls += 1


@dataclass
class ArticleScope:
    """Per-article flag: set when one of the article's calls was refused by a stop, so the runner
    knows not to commit a result that is missing work."""

    stopped: bool = False
    calls: int = 0  # requests admitted for this article so far (the admission's reserve shrinks by these)


# Run-scoped hooks, set by the runner; a bare program (e.g. inside a teleprompter) works without.
LEDGER: ContextVar[UsageLedger | None] = ContextVar("foveate_ledger", default=None)
LIMITER: ContextVar[RequestGate | None] = ContextVar("foveate_limiter", default=None)
LIMITS: ContextVar[RunLimits | None] = ContextVar("foveate_limits", default=None)
ARTICLE: ContextVar[ArticleScope | None] = ContextVar("foveate_article", default=None)

_DEFAULT_BACKOFF = Backoff()  # for a bare program, outside a run

DEFAULT_PARSE_RETRIES = 2
PARSE_RETRIES: ContextVar[int] = ContextVar("foveate_parse_retries", default=DEFAULT_PARSE_RETRIES)
"""How many times a reply that did not parse is asked for again (--parse-retries)."""


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, outermost first."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: rate limits, server errors, timeouts, connection trouble, garbled replies.

    Not retried: a reply that arrived but did not parse (the item's re-synthesis deals with
    that), invalid requests, authentication and billing failures."""
    from dspy.utils.exceptions import (
        AdapterParseError,
        LMAuthError,
        LMBillingError,
        LMProviderError,
        is_retryable_lm_error,
    )

    for error in _chain(exc):
        if isinstance(error, (AdapterParseError, LMAuthError, LMBillingError)):
            return False
        if is_retryable_lm_error(error) or isinstance(error, (TimeoutError, ConnectionError)):
            return True
        status = _status(error)
        if status is not None and (status in (408, 409, 425, 429) or status >= 500):
            return True
        if isinstance(error, LMProviderError) and (status is None or 200 <= status < 300):
            return True  # a 2xx that was not a valid completion: truncated or garbled on the way
    return False


def provider_refuses_run(exc: BaseException) -> bool:
    """The provider refuses this run as a whole (bad key, no credit): stop, do not grind on."""
    from dspy.utils.exceptions import LMAuthError, LMBillingError

    return any(isinstance(error, (LMAuthError, LMBillingError)) for error in _chain(exc))


def retry_after(exc: BaseException) -> float | None:
    """The provider's requested wait in seconds, from DSPy's parsed hint or a raw header."""
    for error in _chain(exc):
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, (int, float)) and not isinstance(hint, bool) and hint >= 0:
            return float(hint)
        headers = getattr(getattr(error, "response", None), "headers", None) or getattr(error, "headers", None)
        if headers is not None and hasattr(headers, "get"):
            value = headers.get("retry-after") or headers.get("Retry-After")
            if value is not None:
                return parse_retry_after(str(value))
    return None


def parse_retry_after(value: str) -> float | None:
    """A Retry-After header value (delta-seconds or an HTTP-date) as seconds from now."""
    value = value.strip()
    try:
        seconds = float(value)
        return seconds if seconds >= 0 else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


PARSE_FAILED = "teacher output did not parse"
"""Every CallFailed reason for a reply that never parsed starts with this (see runner.retry_reason)."""


def parse_problem(exc: BaseException) -> str | None:
    """What was wrong with a reply that did not parse (the adapter's message), or None when
    `exc` is not a parse failure."""
    from dspy.utils.exceptions import AdapterParseError

    for error in _chain(exc):
        if isinstance(error, AdapterParseError):
            names = list(error.signature.output_fields) if getattr(error, "signature", None) else []
            got = list((error.parsed_result or {}).keys()) if isinstance(getattr(error, "parsed_result", None), dict) else []
            missing = [n for n in names if n not in got]
            message = " ".join(str(getattr(error, "message", "") or "").split())
            if message and "missing or unreadable" in message:
                return message[:300]
            if missing:
                return f"missing or unreadable field(s) {', '.join(missing)}" + (f" ({message[:200]})" if message else "")
            return message[:300] or "the reply could not be read"
    return None


def describe_error(exc: BaseException) -> str:
    """A one-line reason; parse failures say so plainly since they are the teacher's fault."""
    problem = parse_problem(exc)
    if problem is not None:
        return f"{PARSE_FAILED} into the expected fields: {problem}"
    from foveate_dspy.runtime.redaction import redact

    # Redacted before anything uses it: the reason becomes re-synthesis feedback and is stored.
    text = redact(" ".join(str(exc).split())) or "no message"
    return f"{LM_CALL_FAILED}: {exc.__class__.__name__}: {text[:300]}"


def with_feedback(predictor: dspy.Predict, problem: str) -> dspy.Predict:
    """A copy of `predictor` whose instructions end by saying what was wrong with the last
    reply, so that the retry of a reply that did not parse is not the same request again."""
    signature = predictor.signature
    fields = ", ".join(signature.output_fields)
    note = (
        f"\n\nYour previous reply to this request could not be read ({problem}). Reply again with every "
        f"output field ({fields}), each exactly in the requested format."
    )
    retry = dspy.Predict(signature.with_instructions((signature.instructions or "") + note))
    retry.demos = list(predictor.demos)
    return retry


def _request_characters(predictor: dspy.Predict, kwargs: dict[str, Any]) -> int:
    """Rough size of the prompt DSPy will build: instructions, field labels, inputs, demos."""
    signature = predictor.signature
    size = len(signature.instructions or "") + 60 * len(signature.fields)
    size += sum(len(str(v)) for k, v in kwargs.items() if k not in ("config", "demos"))
    demos = kwargs.get("demos", predictor.demos) or []
    size += sum(len(str(d.toDict() if hasattr(d, "toDict") else d)) for d in demos)
    return size


def usage_tokens(usage_by_model: dict[str, dict[str, Any]]) -> int:
    return sum(int(u.get("prompt_tokens") or 0) + int(u.get("completion_tokens") or 0) for u in usage_by_model.values())


async def call_predictor(
    predictor: dspy.Predict,
    stage: str,
    *,
    config: dict[str, Any] | None = None,
    demos: list[dspy.Example] | None = None,
    lm: dspy.LM | None = None,
    **inputs: Any,
) -> dspy.Prediction:
    """Run one predictor call under the run's gate and limits, retrying transient failures.

    Raises CallFailed with a readable reason on any LM or parsing error that retries did not
    cure, and RunStopped once the run's limits are reached."""
    kwargs: dict[str, Any] = dict(inputs)
    if config:
        kwargs["config"] = config
    if demos is not None:
        kwargs["demos"] = demos
    ledger = LEDGER.get()
    gate = LIMITER.get()
    limits = LIMITS.get()
    backoff = gate.backoff if gate is not None else _DEFAULT_BACKOFF
    estimate = _token_estimate(predictor, stage, kwargs, gate, ledger)
    attempt = 0
    parse_failures = 0
    asked = predictor
    while True:
        if limits is not None:
            limits.admit(ledger)
        try:
            got = await _attempt(asked, stage, kwargs, lm, gate, ledger, estimate, retry=attempt + parse_failures > 0)
            if parse_failures and ledger is not None:
                ledger.record_parse(stage, "retried_ok")
            return got
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if provider_refuses_run(exc) and limits is not None:
                limits.stop(f"the provider refused the run: {describe_error(exc)}")
            problem = parse_problem(exc)
            if problem is not None:
                asked, kwargs = _ask_again(exc, problem, predictor, stage, kwargs, ledger, parse_failures)
                parse_failures += 1
                continue
            if not is_transient(exc):
                raise CallFailed(describe_error(exc)) from exc
            attempt += 1
            hint = retry_after(exc)
            wait = _retry_wait(exc, attempt, hint, backoff)
            if hint is not None and gate is not None:
                gate.pause(hint)  # the provider's wait holds back every request, not just this one
            await getattr(gate, "sleep", asyncio.sleep)(wait)  # a RequestGate's clock is injectable for tests


def _token_estimate(
    predictor: dspy.Predict, stage: str, kwargs: dict[str, Any], gate: RequestGate | None, ledger: UsageLedger | None
) -> int:
    """Tokens the call is reckoned to cost before it is sent (prompt size, and the stage's mean
    reply so far), for a gate that limits tokens per minute; 0 when none does."""
    if gate is None or not gate.limits_tokens:
        return 0
    output = ledger.mean_output_tokens(stage) if ledger is not None else DEFAULT_OUTPUT_TOKENS
    return estimate_tokens(_request_characters(predictor, kwargs)) + int(output)


def _ask_again(
    exc: Exception,
    problem: str,
    predictor: dspy.Predict,
    stage: str,
    kwargs: dict[str, Any],
    ledger: UsageLedger | None,
    parse_failures: int,
) -> tuple[dspy.Predict, dict[str, Any]]:
    """The predictor and inputs for asking again after a reply that did not parse (the
    `parse_failures`-th before this one), or CallFailed once --parse-retries are spent."""
    if ledger is not None:
        ledger.record_parse(stage, "failed")
    if parse_failures >= PARSE_RETRIES.get():
        if ledger is not None:
            ledger.record_parse(stage, "lost")
        raise CallFailed(describe_error(exc)) from exc
    # A new rollout id, so neither DSPy's cache nor the provider's hands back the same
    # reply, and the instructions say what was wrong with it.
    config = dict(kwargs.get("config") or {})
    config["rollout_id"] = f"{config.get('rollout_id', 0)}-parse{parse_failures + 1}"
    return with_feedback(predictor, problem), {**kwargs, "config": config}


def _retry_wait(exc: Exception, attempt: int, hint: float | None, backoff: Backoff) -> float:
    """Seconds to wait before the `attempt`-th retry of a transient failure, or CallFailed when
    the retries are spent or the provider asks for a longer wait than --max-retry-after."""
    wait = backoff.delay(attempt, hint)
    if wait is None:
        why = describe_error(exc).removeprefix(LM_CALL_FAILED)
        if attempt <= backoff.max_retries:  # the provider asked for a longer wait than we allow
            why = f" (the provider asked to wait {hint:.0f}s, more than {backoff.max_retry_after:g}s){why}"
        raise CallFailed(f"{LM_CALL_FAILED} after {attempt} attempt{'s' if attempt > 1 else ''}{why}") from exc
    return wait


async def _attempt(
    predictor: dspy.Predict,
    stage: str,
    kwargs: dict[str, Any],
    lm: dspy.LM | None,
    gate: RequestGate | None,
    ledger: UsageLedger | None,
    estimate: int,
    retry: bool,
) -> dspy.Prediction:
    """One request: admitted by the gate, bounded by the request timeout, counted in the ledger."""
    admission = gate.admit(estimate) if gate is not None else contextlib.nullcontext(Ticket(0))
    timeout = gate.request_timeout if gate is not None else None
    async with admission as ticket:
        failed = False
        # A gate that spreads requests over several endpoints names the granted one's LM.
        routed = lm if lm is not None else getattr(ticket, "lm", None)
        row = call_ledger.record_start(stage, getattr(routed or dspy.settings.lm, "model", None))
        with dspy.track_usage() as tracker:
            try:
                prediction, notes = await _in_thread(predictor, kwargs, routed, timeout)
                if "coerced" in notes and ledger is not None:
                    ledger.record_parse(stage, "coerced")
                return prediction
            except BaseException:
                failed = True
                raise
            finally:
                usage = tracker.get_total_tokens()
                call_ledger.record_end(row, usage, failed)
                if ledger is not None:
                    ledger.record(stage, usage, failed, retry)
                if gate is not None:
                    gate.settle(ticket, usage_tokens(usage))


_REQUEST_THREADS: ThreadPoolExecutor | None = None
_REQUEST_THREADS_LOCK = threading.Lock()


def _request_threads() -> ThreadPoolExecutor:
    """The process's request threads. Threads start only as requests need them, so the run's
    gate (not this pool) decides how many run at once; the cap only guards a gate-less caller."""
    global _REQUEST_THREADS
    with _REQUEST_THREADS_LOCK:
        if _REQUEST_THREADS is None:
            threadsafe_ast.install()  # DSPy parses replies with ast.literal_eval in these threads
            dspy_call_caches.install()  # and repeats lookups whose answers never change
            _REQUEST_THREADS = ThreadPoolExecutor(max_workers=512, thread_name_prefix="lm-request")
        return _REQUEST_THREADS


async def _in_thread(
    predictor: dspy.Predict, kwargs: dict[str, Any], lm: dspy.LM | None, timeout: float | None
) -> tuple[dspy.Prediction, list[str]]:
    """Run DSPy's synchronous call path in a request thread and await it.

    Why not `predictor.acall`: DSPy 3.4's async path hops to the default thread pool three times
    per call (request preparation, endpoint resolution, pricing), and under load each hop waits
    for the GIL. Measured with 32 requests in flight and 0.5 s replies (2 cores), the synchronous
    path in a thread kept 29.8-30.6 requests in flight at the server against 25.9-28.2 for
    `acall`, for 2.7 against 2.9-3.4 ms of client CPU per call. The request
    timeout is the transport's own (lm15 or LiteLLM), which closes the connection, so a timed-out
    request is over before its retry is sent. A request cannot be recalled once sent: if the
    caller is cancelled, the request's slot stays taken until the thread is done with it."""
    loop = asyncio.get_running_loop()
    context = copy_context()  # DSPy's settings (LM, adapter, usage tracker) are context variables
    future = loop.run_in_executor(_request_threads(), context.run, _call, predictor, kwargs, lm, timeout)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


CALLER_RETRIES: ContextVar[bool] = ContextVar("foveate_caller_retries", default=False)
"""True inside call_predictor's request: it retries, so an LM-level gate (optimize_gate) must not."""


def _call(
    predictor: dspy.Predict, kwargs: dict[str, Any], lm: dspy.LM | None, timeout: float | None
) -> tuple[dspy.Prediction, list[str]]:
    """The DSPy call, with the adapters' notes on how its reply was read (adapters.PARSE_NOTES)."""
    CALLER_RETRIES.set(True)  # this thread's copied context only
    notes: list[str] = []
    PARSE_NOTES.set(notes)  # this request's own copy of the context
    with dspy.context(lm=lm) if lm is not None else contextlib.nullcontext():
        current = dspy.settings.lm
        # Only provider-backed LMs take a timeout; a custom engine (the offline teacher) refuses
        # client settings, and it answers locally anyway.
        if timeout is not None and isinstance(getattr(current, "engine", None), str):
            kwargs = {**kwargs, "config": {**kwargs.get("config", {}), "timeout": timeout}}
        return predictor(**kwargs), notes
