"""Several `--api-base` endpoints serving the same model (a vLLM fleet), and which one takes the
next request.

`--api-base URL` may be repeated; `URL=LIMIT` caps the requests in flight at that endpoint (a
server's batch size, or its share of a GPU). The run's `--max-concurrency` still bounds the
total. The next request goes to the endpoint with the lowest load, in flight over its limit, so
a fleet of unequal servers is filled in proportion to what each can take, and no endpoint ever
holds more than its limit.

This module stays free of Ray and DSPy: the Ray executor's request broker (`ray_executor.py`)
runs an `EndpointPool` next to the run's `RequestGate`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from foveate_dspy.teachers.model_strings import public_api_base


class EndpointError(ValueError):
    """An --api-base value that cannot be used; the message names it."""


@dataclass(frozen=True)
class Endpoint:
    """One server; `url` None means the provider's default address (no --api-base)."""

    url: str | None
    limit: int | None = None  # requests in flight at most at this endpoint

    def public(self) -> dict[str, Any]:
        """For summary.json: the URL without credentials."""
        return {"url": public_api_base(self.url), "limit": self.limit}


def parse_endpoint(text: str) -> Endpoint:
    """`URL` or `URL=LIMIT`. A URL with a query string takes no limit suffix: its last `=` may
    belong to the query."""
    url, limit = text.strip(), None
    head, sep, tail = url.rpartition("=")
    if sep and "?" not in head and tail.strip().lstrip("-").isdigit():
        url, limit = head, int(tail)
        if limit < 1:
            raise EndpointError(f"--api-base {text}: the limit after '=' must be >= 1")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"--api-base {text}: expected an http(s) URL such as http://host:8000/v1, optionally followed by =LIMIT")
    return Endpoint(url, limit)


def parse_endpoints(values: Iterable[str]) -> list[Endpoint]:
    """Every --api-base value, in order; the same URL twice is refused (give it one limit)."""
    endpoints = [parse_endpoint(value) for value in values]
    seen: set[str] = set()
    for endpoint in endpoints:
        if endpoint.url in seen:
            raise EndpointError(f"--api-base {public_api_base(endpoint.url)} is given twice; give each server once (URL=LIMIT to cap it)")
        seen.add(endpoint.url)
    return endpoints


class EndpointPool:
    """In-flight counts per endpoint; `take` waits for an endpoint below its limit and picks the
    least loaded one. An endpoint without a limit counts as able to take `default_limit` (the
    run's --max-concurrency), which the run's gate enforces anyway."""

    def __init__(self, endpoints: Sequence[Endpoint], default_limit: int) -> None:
        if not endpoints:
            raise ValueError("an endpoint pool needs at least one endpoint")
        self.endpoints = list(endpoints)
        self.limits = [e.limit or default_limit for e in self.endpoints]
        self.in_flight = [0] * len(self.endpoints)
        self.max_in_flight = [0] * len(self.endpoints)
        self.requests = [0] * len(self.endpoints)
        self._free = asyncio.Condition()

    def _pick(self) -> int | None:
        """The endpoint with the lowest in-flight/limit ratio that has room; ties go to the one
        that has served fewer requests, so equal servers take turns."""
        candidates = [i for i, limit in enumerate(self.limits) if self.in_flight[i] < limit]
        if not candidates:
            return None
        return min(candidates, key=lambda i: (self.in_flight[i] / self.limits[i], self.requests[i], i))

    async def take(self) -> int:
        """Hold a slot at some endpoint; returns its index (give it back with `give_back`)."""
        async with self._free:
            while (index := self._pick()) is None:
                await self._free.wait()
            self.in_flight[index] += 1
            self.requests[index] += 1
            self.max_in_flight[index] = max(self.max_in_flight[index], self.in_flight[index])
            return index

    async def give_back(self, index: int) -> None:
        async with self._free:
            self.in_flight[index] -= 1
            self._free.notify()

    def report(self) -> list[dict[str, Any]]:
        """Per endpoint: its public URL, limit, requests sent and the most in flight at once."""
        return [
            {**endpoint.public(), "requests": self.requests[i], "max_in_flight": self.max_in_flight[i]}
            for i, endpoint in enumerate(self.endpoints)
        ]
