"""Rate budgets, the in-flight bound, provider pauses and the retry schedule, on a fake clock."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from dspy.utils.exceptions import (
    AdapterParseError,
    LMAuthError,
    LMInvalidRequestError,
    LMProviderError,
    LMRateLimitError,
    LMServerError,
    LMTransportError,
)

from foveate_dspy.runtime.calls import is_transient, parse_retry_after, retry_after
from foveate_dspy.runtime.ratelimit import Backoff, RequestGate, TokenBucket
from signatures.answer import AnswerFromArticle


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def test_rpm_allows_a_ten_second_burst_then_paces_evenly() -> None:
    fake = FakeTime()
    sent: list[float] = []

    async def main() -> None:
        gate = RequestGate(100, rpm=60, clock=fake.clock, sleep=fake.sleep)
        for _ in range(25):
            async with gate.admit():
                sent.append(fake.now)

    asyncio.run(main())
    assert sent[:10] == [0.0] * 10  # ten seconds' worth at once
    assert sent[10:] == pytest.approx([float(i) for i in range(1, 16)])  # then one per second


def test_tpm_spends_the_estimate_and_settles_with_actual_usage() -> None:
    fake = FakeTime()

    async def main() -> list[float]:
        bucket = TokenBucket(6000, fake.clock, fake.sleep)  # 100 tokens/s, holds 1000
        await bucket.acquire(1000)
        bucket.settle(500)  # the request used 1500 tokens, not the 1000 estimated
        await bucket.acquire(100)  # must wait for the debt of 500 and these 100 to refill
        waited = fake.now
        bucket.settle(-100)  # this one used nothing after all (it failed): the estimate comes back
        await bucket.acquire(100)
        return [waited, fake.now]

    waited, then = asyncio.run(main())
    assert waited == pytest.approx(6.0)
    assert then == pytest.approx(6.0)  # no further wait: the refund covered it


def test_a_request_larger_than_the_bucket_still_goes_through() -> None:
    fake = FakeTime()

    async def main() -> None:
        bucket = TokenBucket(600, fake.clock, fake.sleep)  # holds 100
        await bucket.acquire(5000)  # e.g. one long article: goes at once, leaves a debt of 4900
        assert fake.now == 0.0
        await bucket.acquire(10)  # waits until the debt and these 10 tokens have refilled

    asyncio.run(main())
    assert fake.now == pytest.approx(491.0)


def test_the_in_flight_bound_holds_under_contention() -> None:
    async def main() -> RequestGate:
        gate = RequestGate(4)

        async def request(i: int) -> None:
            async with gate.admit():
                assert gate.in_flight <= 4
                await asyncio.sleep(0.001 * (i % 3))

        await asyncio.gather(*(request(i) for i in range(40)))
        return gate

    gate = asyncio.run(main())
    assert gate.max_in_flight == 4 and gate.admitted == 40 and gate.in_flight == 0
    assert 0 < gate.utilisation()["utilisation"] <= 1


def test_a_provider_pause_holds_back_every_new_request() -> None:
    fake = FakeTime()

    async def main() -> float:
        gate = RequestGate(8, clock=fake.clock, sleep=fake.sleep)
        gate.pause(5.0)
        gate.pause(2.0)  # a shorter pause never shortens a running one
        async with gate.admit():
            return fake.now

    assert asyncio.run(main()) == pytest.approx(5.0)


def test_backoff_schedule() -> None:
    backoff = Backoff(max_retries=4, base=1.0, cap=4.0, max_retry_after=60.0)
    rng = random.Random(0)
    for retry, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0)):
        for _ in range(20):
            assert ceiling / 2 <= backoff.delay(retry, None, rng) <= ceiling
    assert backoff.delay(1, 12.5) == 12.5  # Retry-After wins over the schedule
    assert backoff.delay(1, 61.0) is None  # too long to wait: give up
    assert backoff.delay(5, None) is None and backoff.delay(5, 1.0) is None  # retries spent


def test_retry_after_values() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    future = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=60), usegmt=True)
    assert 55 < parse_retry_after(future) <= 60
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after("-4") is None


def test_retry_after_is_read_from_dspy_errors_and_raw_headers() -> None:
    assert retry_after(LMRateLimitError("slow down", retry_after=4.0)) == 4.0

    class Response:
        headers = {"retry-after": "9"}

    class SDKError(Exception):
        response = Response()

    assert retry_after(SDKError()) == 9.0
    assert retry_after(LMServerError("boom")) is None


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (LMRateLimitError("429", status=429), True),
        (LMServerError("500", status=500), True),
        (LMTransportError("connection refused"), True),
        (TimeoutError("no reply"), True),
        (LMProviderError("not JSON", status=200), True),
        (LMInvalidRequestError("bad", status=400), False),
        (LMAuthError("bad key", status=401), False),
        (AdapterParseError(adapter_name="ChatAdapter", signature=AnswerFromArticle, lm_response="prose"), False),
    ],
)
def test_which_failures_are_retried(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient
