"""One LM call against the loopback server: which failures are retried, how long it waits, and
what reason it gives up with. The gate's clock and sleep are fake, so waits are checked exactly
without spending them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import dspy
import pytest
from network_helpers import scripted_teacher

from foveate_dspy.runtime.calls import (
    LEDGER,
    LIMITER,
    LIMITS,
    CallFailed,
    RunLimits,
    UsageLedger,
    call_predictor,
)
from foveate_dspy.teachers.model_strings import build_lm
from loopback import Fault, LoopbackServer
from foveate_dspy.runtime.ratelimit import Backoff, RequestGate
from signatures.answer import AnswerFromArticle

ARTICLE = "Acme Rockets was founded in 1990 in Toulouse by Alice Moreau."


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture(scope="module", autouse=True)
def _dummy_key():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_API_KEY", "loopback-test-key")
        yield


PATIENT = Backoff(max_retries=3, base=1.0, cap=8.0)


def one_call(url: str, backoff: Backoff = PATIENT) -> tuple[Any, FakeTime, RunLimits, UsageLedger]:
    """Make one answering call; returns (prediction or the CallFailed, fake time, limits, ledger)."""
    fake = FakeTime()
    limits = RunLimits()
    ledger = UsageLedger()
    lm = build_lm("openai/loopback", {"temperature": 0.0}, api_base=url)

    async def main() -> Any:
        LIMITER.set(RequestGate(2, backoff=backoff, clock=fake.clock, sleep=fake.sleep))
        LIMITS.set(limits)
        LEDGER.set(ledger)
        try:
            return await call_predictor(dspy.Predict(AnswerFromArticle), "answer", article=ARTICLE, instruction="Who founded Acme?")
        except CallFailed as failure:
            return failure

    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        return asyncio.run(main()), fake, limits, ledger


def serve(*faults: Fault | None) -> LoopbackServer:
    """A server that misbehaves on its first requests as listed, then answers."""
    return LoopbackServer(scripted_teacher, faults=lambda number, _body: faults[number] if number < len(faults) else None)


def test_teacher_lms_do_not_retry_underneath() -> None:
    assert build_lm("openai/loopback", {}, api_base="http://127.0.0.1:9/v1").num_retries == 0


def test_retry_after_seconds_is_waited_exactly() -> None:
    with serve(Fault("status", 429, retry_after="7")) as server:
        got, fake, _, ledger = one_call(server.url)
        assert server.snapshot()["requests"] == 2
    assert got.answer == ARTICLE  # the scripted teacher answers with the article's first sentence
    assert fake.sleeps == [7.0]  # the backoff wait; the gate's shared pause ends at the same time
    assert ledger.totals().calls == 2 and ledger.totals().errors == 1 and ledger.totals().retries == 1


def test_retry_after_http_date_is_waited_until_that_time() -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    with serve(Fault("status", 503, retry_after=when)) as server:
        got, fake, _, _ = one_call(server.url)
    assert got.answer
    assert len(fake.sleeps) == 1 and 25.0 < fake.sleeps[0] <= 30.0


def test_without_retry_after_the_wait_doubles_with_jitter() -> None:
    with serve(Fault("status", 429), Fault("status", 500), Fault("status", 502)) as server:
        got, fake, _, _ = one_call(server.url)
    assert got.answer
    assert len(fake.sleeps) == 3
    for number, wait in enumerate(fake.sleeps):
        ceiling = 2.0**number
        assert ceiling / 2 <= wait <= ceiling


def test_retries_are_bounded_and_the_reason_says_lm_call_failed() -> None:
    with serve(*[Fault("status", 500)] * 10) as server:
        got, fake, limits, _ = one_call(server.url, Backoff(max_retries=2, base=1.0))
        assert server.snapshot()["requests"] == 3
    assert isinstance(got, CallFailed)
    assert got.reason.startswith("LM call failed after 3 attempts: LMServerError")
    assert len(fake.sleeps) == 2 and limits.stopped is None


def test_a_retry_after_beyond_the_cap_fails_at_once() -> None:
    with serve(Fault("status", 429, retry_after="86400")) as server:
        got, fake, _, _ = one_call(server.url)
        assert server.snapshot()["requests"] == 1
    assert isinstance(got, CallFailed)
    assert got.reason.startswith("LM call failed after 1 attempt (the provider asked to wait 86400s")
    assert fake.sleeps == []


def test_invalid_request_is_not_retried() -> None:
    with serve(Fault("status", 400)) as server:
        got, _, limits, _ = one_call(server.url)
        assert server.snapshot()["requests"] == 1
    assert isinstance(got, CallFailed) and got.reason.startswith("LM call failed: LMInvalidRequestError")
    assert limits.stopped is None


def test_rejected_credentials_stop_the_run() -> None:
    with serve(Fault("status", 401)) as server:
        got, _, limits, _ = one_call(server.url)
        assert server.snapshot()["requests"] == 1
    assert isinstance(got, CallFailed) and "LMAuthError" in got.reason
    assert limits.stopped.startswith("the provider refused the run")
