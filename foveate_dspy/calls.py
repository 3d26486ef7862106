"""Every LM call the program makes goes through `call_predictor`.

One place to (1) bound requests in flight across all articles and levels, (2) count calls and
tokens per stage without relying on `dspy.track_usage` at the run level (it misses calls made in
worker threads), and (3) turn DSPy's errors into a rejection reason an item can carry.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import dspy


@dataclass
class StageUsage:
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class UsageLedger:
    """Calls and tokens per stage (e.g. "micro.extract") and per model; safe across threads."""

    stages: dict[str, StageUsage] = field(default_factory=lambda: defaultdict(StageUsage))
    models: dict[str, StageUsage] = field(default_factory=lambda: defaultdict(StageUsage))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, stage: str, usage_by_model: dict[str, dict[str, Any]], failed: bool) -> None:
        with self._lock:
            rows = [self.stages[stage]]
            if not usage_by_model:
                rows[0].calls += 1
                rows[0].errors += int(failed)
                return
            for model, usage in usage_by_model.items():
                for row in (*rows, self.models[model]):
                    row.calls += 1
                    row.errors += int(failed)
                    row.input_tokens += int(usage.get("prompt_tokens") or 0)
                    row.output_tokens += int(usage.get("completion_tokens") or 0)
                rows = []  # a stage counts one call even if usage names several models

    def totals(self) -> StageUsage:
        with self._lock:
            total = StageUsage()
            for row in self.stages.values():
                total.calls += row.calls
                total.errors += row.errors
                total.input_tokens += row.input_tokens
                total.output_tokens += row.output_tokens
            return total

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


# Run-scoped hooks, set by the runner; a bare program (e.g. inside a teleprompter) works without.
LEDGER: ContextVar[UsageLedger | None] = ContextVar("foveate_ledger", default=None)
LIMITER: ContextVar[asyncio.Semaphore | None] = ContextVar("foveate_limiter", default=None)


@contextlib.asynccontextmanager
async def _slot() -> AsyncIterator[None]:
    limiter = LIMITER.get()
    if limiter is None:
        yield
        return
    async with limiter:
        yield


def describe_error(exc: BaseException) -> str:
    """A one-line reason; parse failures say so plainly since they are the teacher's fault."""
    from dspy.utils.exceptions import AdapterParseError

    if isinstance(exc, AdapterParseError):
        return f"teacher output did not parse into the expected fields ({exc.__class__.__name__})"
    text = " ".join(str(exc).split())
    return f"LM call failed: {exc.__class__.__name__}: {text[:300]}"


async def call_predictor(
    predictor: dspy.Predict,
    stage: str,
    *,
    config: dict[str, Any] | None = None,
    demos: list[dspy.Example] | None = None,
    lm: dspy.LM | None = None,
    **inputs: Any,
) -> dspy.Prediction:
    """Run one predictor call under the in-flight bound, recording its usage under `stage`.

    Raises CallFailed with a readable reason on any LM or parsing error."""
    kwargs: dict[str, Any] = dict(inputs)
    if config:
        kwargs["config"] = config
    if demos is not None:
        kwargs["demos"] = demos
    ledger = LEDGER.get()
    failed = False
    async with _slot():
        with dspy.track_usage() as tracker:
            try:
                if lm is not None:
                    with dspy.context(lm=lm):
                        return await predictor.acall(**kwargs)
                return await predictor.acall(**kwargs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failed = True
                raise CallFailed(describe_error(exc)) from exc
            finally:
                if ledger is not None:
                    ledger.record(stage, tracker.get_total_tokens(), failed)
