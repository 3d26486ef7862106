"""Optimisation inside the same gate as compile: limits, pacing, timeouts, retries, the ledger.

DSPy's teleprompters run the program, the proposer (MIPROv2's prompt model, GEPA's reflection LM)
and the judge from their own worker threads, each program run on its own event loop
(`ArticleProgram.forward`), where the compile run's asyncio RequestGate cannot reach. So the gate
is applied one level lower, on the LMs themselves: every LM used by the optimisation is switched
to a subclass whose `__call__` goes through `SyncGate.call`, a thread-safe counterpart of
`calls.call_predictor`'s path:

- the run's call and cost limits (`calls.RunLimits`, the same object the compile run uses, so
  optimisation spends from the same budget) refuse a call once reached;
- at most `--max-concurrency` requests in flight, `--rpm` requests and `--tpm` tokens per minute
  (a request's tokens estimated from its prompt and the phase's mean reply, then settled with the
  usage the provider reports, as `calls.call_predictor` does);
- `--request-timeout` per request, for provider LMs;
- transient failures (429, 5xx, timeouts) retried with the run's backoff and Retry-After, unless
  the call comes through `call_predictor`, which retries itself (`calls.CALLER_RETRIES`); so the
  judge's 429 is retried instead of becoming an "invalid" verdict;
- every request written to the call ledger (phase "optimize", or "judge" for the judge's LM) and
  counted in the run's usage ledger, so summary.json reports the optimisation's calls and cost;
- every reply kept in the store: a re-run after a limit stopped the optimisation replays the
  requests it already paid for from there (`replayed`) and pays only for the new ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from foveate_dspy.runtime.call_ledger import CallLog
from foveate_dspy.runtime.calls import CALLER_RETRIES, RunLimits, RunStopped, UsageLedger, is_transient, retry_after, usage_tokens
from foveate_dspy.runtime.estimate import estimate_tokens
from foveate_dspy.runtime.ratelimit import TokenBucket

if TYPE_CHECKING:
    from foveate_dspy.runtime.ratelimit import Backoff

_ACTIVE: SyncGate | None = None  # the gate of the optimisation in progress; module-wide for DSPy's threads
_CLASSES: dict[type, type] = {}


class SyncGate:
    """Admission, pacing, retries and accounting for LM calls made from any thread."""

    def __init__(
        self,
        limits: RunLimits,
        ledger: UsageLedger,
        log: CallLog | None,
        max_concurrency: int,
        rpm: float | None,
        request_timeout: float | None,
        backoff: Backoff,
        sleep: Callable[[float], None] = time.sleep,
        tpm: float | None = None,
    ) -> None:
        self.limits = limits
        self.ledger = ledger
        self.log = log
        self.slots = threading.BoundedSemaphore(max(1, max_concurrency))
        self.interval = 60.0 / rpm if rpm else 0.0
        self.tokens = TokenBucket(tpm) if tpm else None  # used through `reserve`, under self._lock
        self.request_timeout = request_timeout
        self.backoff = backoff
        self.sleep = sleep
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._paused_until = 0.0
        self.replayed = 0  # requests answered from replies an earlier session paid for

    @contextlib.contextmanager
    def active(self) -> Iterator[SyncGate]:
        """Route every gated LM's calls through this gate for the duration."""
        global _ACTIVE
        _ACTIVE = self
        try:
            yield self
        finally:
            _ACTIVE = None

    def _admit(self, tokens: int) -> None:
        with self._lock:
            self.limits.admit(self.ledger)  # raises RunStopped at the run's limits
            now = time.monotonic()
            start = max(now, self._next_start, self._paused_until)
            self._next_start = start + self.interval
            if self.tokens is not None:
                start = max(start, now + self.tokens.reserve(tokens))
        if start > now:
            self.sleep(start - now)

    def call(self, lm: Any, phase: str, send: Callable[[], Any], characters: int = 0, request: str | None = None) -> Any:
        """Send one request (`send`) under the gate; `characters`: the size of its prompt;
        `request`: its digest, under which its reply is saved and replayed."""
        import dspy

        if request is not None and self.log is not None:
            saved = self.log.saved_reply(request)
            if saved is not None:
                with self._lock:
                    self.replayed += 1
                return saved
        nested = CALLER_RETRIES.get()
        attempt = 0
        estimate = estimate_tokens(characters) + int(self.ledger.mean_output_tokens(phase)) if self.tokens is not None else 0
        while True:
            self._admit(estimate)
            error: BaseException | None = None
            outer = dspy.settings.usage_tracker
            with self.slots:
                row = self.log.started(phase, getattr(lm, "model", None), phase=phase) if self.log is not None else None
                with dspy.track_usage() as tracker:
                    try:
                        result = send()
                    except Exception as exc:
                        error = exc
                    usage = tracker.get_total_tokens()
                if self.tokens is not None:
                    with self._lock:
                        self.tokens.settle(usage_tokens(usage) - estimate)
                if self.log is not None:
                    self.log.finished(row, usage, error is not None)
                self.ledger.record(phase, usage, error is not None, attempt > 0)
                if outer is not None:  # the caller's own tracker (call_predictor's) still sees the usage
                    for model, entry in usage.items():
                        outer.add_usage(model, entry)
            if error is None:
                if request is not None and self.log is not None and isinstance(result, list):
                    self.log.save_reply(request, result)
                return result
            if nested or not is_transient(error):
                raise error
            attempt += 1
            hint = retry_after(error)
            wait = self.backoff.delay(attempt, hint)
            if wait is None:
                raise error
            if hint is not None:
                with self._lock:
                    self._paused_until = max(self._paused_until, time.monotonic() + hint)
            self.sleep(wait)


def _prompt_characters(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """The size of a `dspy.LM` call's prompt: `lm(prompt=None, messages=None, **kwargs)`."""
    prompt = kwargs.get("prompt", args[0] if args else None)
    messages = kwargs.get("messages", args[1] if len(args) > 1 else None)
    return len(prompt or "") + sum(len(str(m.get("content") or "")) for m in messages or [] if isinstance(m, dict))


def _request_digest(lm: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """What identifies a request: the model, its server, the prompt and every sampling setting
    (the LM's own merged with the call's, rollout id included), as sent."""
    request = {
        "model": getattr(lm, "model", None),
        "api_base": (getattr(lm, "kwargs", {}) or {}).get("api_base"),
        "args": args,
        "kwargs": {**(getattr(lm, "kwargs", {}) or {}), **kwargs},
    }
    text = json.dumps(request, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def gated(lm: Any, phase: str) -> Any:
    """`lm`, switched to a subclass whose calls go through the active SyncGate (if any); its
    copies (`lm.copy`, deepcopy) stay gated."""
    base = type(lm)
    cls = _CLASSES.get(base)
    if cls is None:

        def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
            gate = _ACTIVE
            if gate is None:
                return base.__call__(self, *args, **kwargs)
            if gate.request_timeout is not None and isinstance(getattr(self, "engine", None), str) and "timeout" not in kwargs:
                kwargs["timeout"] = gate.request_timeout
            send = lambda: base.__call__(self, *args, **kwargs)  # noqa: E731
            phase = getattr(self, "_foveate_phase", "optimize")
            return gate.call(self, phase, send, _prompt_characters(args, kwargs), _request_digest(self, args, kwargs))

        cls = type(f"Gated{base.__name__}", (base,), {"__call__": __call__, "__module__": __name__})
        _CLASSES[base] = cls
    lm.__class__ = cls
    lm._foveate_phase = phase
    return lm


__all__ = ["RunStopped", "SyncGate", "gated"]
