"""The cluster-wide gate's logic, in-process (no Ray): endpoint parsing, the endpoint pool's
choice and limits, and the broker's grants, stops and recovery from a dead worker."""

from __future__ import annotations

import asyncio

import pytest

from foveate_dspy.runtime.endpoints import (
    Endpoint,
    EndpointError,
    EndpointPool,
    parse_endpoint,
    parse_endpoints,
)
from foveate_dspy.runtime.ray_executor import RequestBroker
from foveate_dspy.runtime.runner import RunSettings


def test_endpoints_parse_with_and_without_limits() -> None:
    assert parse_endpoint("http://gpu1:8000/v1") == Endpoint("http://gpu1:8000/v1", None)
    assert parse_endpoint("http://gpu1:8000/v1=16") == Endpoint("http://gpu1:8000/v1", 16)
    # a query string keeps its own '=': no limit is read from it
    assert parse_endpoint("https://x.example/v1?api-version=2024") == Endpoint("https://x.example/v1?api-version=2024", None)
    assert parse_endpoint("https://bob:pw@x.example/v1=4").public() == {"url": "https://x.example/v1", "limit": 4}
    with pytest.raises(EndpointError, match="must be >= 1"):
        parse_endpoint("http://gpu1:8000/v1=0")
    with pytest.raises(EndpointError, match="http"):
        parse_endpoint("gpu1:8000")
    with pytest.raises(EndpointError, match="given twice"):
        parse_endpoints(["http://a/v1=2", "http://a/v1=3"])


def test_the_pool_fills_endpoints_by_load_and_never_past_their_limits() -> None:
    async def scenario() -> tuple[list[int], list[int], bool]:
        pool = EndpointPool([Endpoint("http://a/v1", 1), Endpoint("http://b/v1", 3)], default_limit=8)
        taken = [await pool.take() for _ in range(4)]
        waiter = asyncio.create_task(pool.take())
        await asyncio.sleep(0.01)
        blocked = not waiter.done()  # both endpoints full
        await pool.give_back(0)
        freed = await asyncio.wait_for(waiter, 1)
        return taken, [freed], blocked

    taken, freed, blocked = asyncio.run(scenario())
    assert sorted(taken) == [0, 1, 1, 1] and taken[0] == 0  # both empty: a tie, the first wins; then by load
    assert blocked and freed == [0]


def test_an_endpoint_without_a_limit_is_weighed_against_the_run_bound() -> None:
    async def scenario() -> list[int]:
        pool = EndpointPool([Endpoint("http://a/v1", None), Endpoint("http://b/v1", 2)], default_limit=6)
        return [await pool.take() for _ in range(8)]

    taken = asyncio.run(scenario())
    assert taken.count(1) == 2 and taken.count(0) == 6  # each filled in proportion, neither past its limit


def broker(**settings) -> RequestBroker:
    return RequestBroker(RunSettings(**{"max_concurrency": 2, **settings}), [Endpoint("http://a/v1", 2), Endpoint("http://b/v1", 2)])


def test_the_broker_bounds_grants_and_frees_a_dead_workers_slots() -> None:
    async def scenario() -> dict:
        gate = broker()
        await gate.register("actor-1", "process-1")
        first = await gate.acquire("process-1", 0)
        second = await gate.acquire("process-1", 0)
        third = asyncio.create_task(gate.acquire("process-2", 0))
        await asyncio.sleep(0.01)
        seen = {"waited": not third.done(), "endpoints": [first[1], second[1]]}  # --max-concurrency 2 reached
        await gate.register("actor-1", "process-1b")  # actor-1 was restarted: process-1 is dead
        seen["granted"] = await asyncio.wait_for(third, 1)
        await gate.release(first[0], 10, None)  # a late release from the dead process changes nothing
        seen["in_flight"] = gate.gate.in_flight
        late = await gate.acquire("process-1", 0)  # nor does a request it had queued
        seen["late"], seen["report"] = late, await gate.report()
        return seen

    seen = asyncio.run(scenario())
    assert seen["waited"] and isinstance(seen["granted"], tuple)
    assert seen["endpoints"] == [0, 1]  # spread over both endpoints
    assert seen["in_flight"] == 1
    assert seen["late"] == "this worker process was replaced"
    assert seen["report"]["max_in_flight"] == 2
    assert [e["requests"] for e in seen["report"]["endpoints"]] == [2, 2]


def test_the_broker_stops_at_max_calls_and_at_a_workers_refusal() -> None:
    async def scenario() -> tuple[list, str]:
        gate = broker(max_calls=3, max_concurrency=4)
        replies = []
        for _ in range(4):
            reply = await gate.acquire("p", 0)
            replies.append(reply)
            if not isinstance(reply, str):
                await gate.release(reply[0], None, None)
        other = broker()
        await other.stop("the provider refused the run: LM call failed: AuthenticationError")
        return replies, await other.acquire("p", 0)

    replies, refused = asyncio.run(scenario())
    assert [isinstance(r, str) for r in replies] == [False, False, False, True]
    assert "--max-calls 3 reached" in replies[-1]
    assert refused.startswith("the provider refused the run")


def test_the_broker_stops_once_the_workers_spend_reaches_max_cost() -> None:
    async def scenario() -> list:
        gate = broker(max_cost_usd=0.5)
        first = await gate.acquire("p1", 0)
        await gate.release(first[0], 100, 0.3)
        second = await gate.acquire("p2", 0)
        await gate.release(second[0], 100, 0.25)  # 0.55 spent over two workers
        return [first, second, await gate.acquire("p1", 0)]

    replies = asyncio.run(scenario())
    assert "--max-cost-usd 0.5 reached" in replies[-1]


def test_the_broker_admits_only_the_articles_the_call_limit_can_pay_for() -> None:
    """Under --max-calls the cluster starts an article only when the limit still covers it: with
    room for one and a half articles, the second waits while the first runs, and once the first
    has spent its calls no second fits: admission closes and says how far to raise the limit.
    A restarted worker's articles give their reserve back."""

    async def scenario() -> dict:
        probe = broker(max_calls=1000)
        expected = probe.admission.expected_calls(2)
        gate = broker(max_calls=expected + expected // 2, max_concurrency=4)
        await gate.register("actor-1", "p1")
        seen = {"first": await gate.enter_article("p1", "a1", 2)}
        second = asyncio.create_task(gate.enter_article("p1", "a2", 2))
        await asyncio.sleep(0.01)
        seen["second waited"] = not second.done()
        for _ in range(expected):
            grant = await gate.acquire("p1", 0, "a1")
            await gate.release(grant[0], None, None)
        await gate.leave_article("a1", kept=True, cost=0.0)
        seen["second"] = await asyncio.wait_for(second, 1)
        seen["history"] = gate.admission.history.calls

        restarted = broker(max_calls=expected + expected // 2, max_concurrency=4)
        await restarted.register("actor-1", "p1")
        await restarted.enter_article("p1", "b1", 2)
        waiting = asyncio.create_task(restarted.enter_article("p2", "b2", 2))
        await asyncio.sleep(0.01)
        await restarted.register("actor-1", "p1b")  # p1 died with b1 in flight: its reserve comes back
        seen["after restart"] = await asyncio.wait_for(waiting, 1)
        return seen | {"expected": expected}

    seen = asyncio.run(scenario())
    assert seen["first"] is None and seen["second waited"]
    assert seen["second"] is not None and "re-run with --max-calls" in seen["second"]
    assert seen["history"] == seen["expected"]
    assert seen["after restart"] is None
