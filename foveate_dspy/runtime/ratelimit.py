"""Pacing LM requests to what a provider accepts.

A `RequestGate` is shared by every call of a run. It bounds the requests in flight
(`--max-concurrency`), spends optional requests-per-minute and tokens-per-minute budgets
(`--rpm`, `--tpm`) before each request is sent, and holds every new request back while a
provider's Retry-After pause is running, so one 429 slows the whole run down instead of each
call discovering the limit on its own. `Backoff` is the retry schedule; `calls.call_predictor`
drives the retries.

Token budgets need a request's size before it is sent, which only the provider knows exactly:
the caller passes an estimate and settles it with the reported usage afterwards, so estimation
errors do not accumulate.

The clock and the sleep function are injectable so pacing can be tested without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

BURST_SECONDS = 10.0
"""A bucket holds this many seconds' worth of its per-minute budget: short bursts are fine,
a whole minute's budget at once is what providers' per-second enforcement rejects."""


class TokenBucket:
    """A per-minute budget refilled continuously; the level may go negative after settling.

    `acquire` waits until the level covers the amount (or the full bucket, for an amount larger
    than the bucket), then spends it. Waiters are served first come, first served, so a large
    request is not starved by a stream of small ones.
    """

    def __init__(self, per_minute: float, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        if not per_minute > 0:
            raise ValueError(f"a per-minute budget must be positive, got {per_minute}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self.level = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self, amount: float) -> float:
        """Spend `amount` now and return how long to wait before using it (0.0 when the level
        covered it): the arithmetic of `acquire`, for callers that wait by themselves (the
        optimisation's threads, optimize_gate.SyncGate) under their own lock."""
        self._refill()
        need = min(amount, self.capacity)
        wait = max(0.0, (need - self.level) / self.rate)
        self.level -= amount
        return wait

    async def acquire(self, amount: float) -> None:
        async with self._lock:  # held while waiting: first come, first served
            wait = self.reserve(amount)
            if wait > 0:
                await self._sleep(wait)

    def settle(self, delta: float) -> None:
        """Spend `delta` more (or give back, when negative): the actual cost minus the estimate."""
        self._refill()
        self.level = min(self.capacity, self.level - delta)


@dataclass(frozen=True)
class Backoff:
    """When to retry a transient failure, and when to stop trying.

    A provider's Retry-After is honoured as given (up to `max_retry_after`; a longer wait, such
    as a daily quota, fails the call instead of stalling the run). Otherwise the wait doubles
    from `base` up to `cap`, with jitter so that calls failing together do not retry together.
    """

    max_retries: int = 5
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 300.0

    def delay(self, retry: int, retry_after: float | None, rng: random.Random | None = None) -> float | None:
        """Seconds to wait before retry number `retry` (1-based), or None to give up."""
        if retry > self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        ceiling = min(self.cap, self.base * 2 ** (retry - 1))
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


@dataclass
class Ticket:
    """One admitted request: its token estimate, to be settled with the actual usage."""

    estimate: float
    settled: bool = False


class RequestGate:
    """Admission for LM requests: concurrency bound, rate budgets, provider-requested pauses.

    It also measures what it admits (requests in flight now, at most, and on average while any
    is in flight), which the benchmark reports as limiter utilisation.
    """

    def __init__(
        self,
        max_concurrency: int,
        rpm: float | None = None,
        tpm: float | None = None,
        request_timeout: float | None = None,
        backoff: Backoff | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        self.request_timeout = request_timeout
        self.backoff = backoff or Backoff()
        self.requests = TokenBucket(rpm, clock, sleep) if rpm else None
        self.tokens = TokenBucket(tpm, clock, sleep) if tpm else None
        self._slots = asyncio.Semaphore(max_concurrency)
        self._clock = clock
        self.sleep = sleep  # also what calls.call_predictor waits with between retries
        self._resume_at = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.admitted = 0
        self._in_flight_seconds = 0.0
        self._busy_seconds = 0.0
        self._changed = clock()

    @property
    def limits_tokens(self) -> bool:
        return self.tokens is not None

    def pause(self, seconds: float) -> None:
        """Hold back new requests for `seconds` (a provider's Retry-After), extending any pause."""
        self._resume_at = max(self._resume_at, self._clock() + seconds)

    async def _wait_for_pause(self) -> None:
        while (remaining := self._resume_at - self._clock()) > 0:
            await self.sleep(remaining)

    @contextlib.asynccontextmanager
    async def admit(self, estimated_tokens: float = 0.0) -> AsyncIterator[Ticket]:
        """Hold a request slot with its rate budgets spent, for the duration of one request.

        The slot is taken first and the budgets spent last, right before sending, so the pace
        of actual sends is what the budgets describe."""
        async with self._slots:
            await self._wait_for_pause()
            if self.requests is not None:
                await self.requests.acquire(1)
            if self.tokens is not None:
                await self.tokens.acquire(estimated_tokens)
            ticket = Ticket(estimated_tokens)
            self._account(+1)
            try:
                yield ticket
            finally:
                self._account(-1)

    def settle(self, ticket: Ticket, actual_tokens: float | None) -> None:
        """Replace the ticket's token estimate by the usage the provider reported (None: none)."""
        if ticket.settled:
            return
        ticket.settled = True
        if self.tokens is not None:
            self.tokens.settle((actual_tokens or 0.0) - ticket.estimate)

    def _account(self, delta: int) -> None:
        now = self._clock()
        if self.in_flight:
            self._in_flight_seconds += self.in_flight * (now - self._changed)
            self._busy_seconds += now - self._changed
        self._changed = now
        self.in_flight += delta
        if delta > 0:
            self.admitted += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def utilisation(self) -> dict[str, float]:
        """Mean requests in flight while any was in flight, and that mean over the bound."""
        self._account(0)
        mean = self._in_flight_seconds / self._busy_seconds if self._busy_seconds > 0 else 0.0
        return {
            "mean_in_flight": mean,
            "max_in_flight": float(self.max_in_flight),
            "utilisation": mean / self.max_concurrency,
            "busy_seconds": self._busy_seconds,
        }
