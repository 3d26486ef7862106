"""Admitting articles under a call or cost limit, so that every budget step saves whole articles.

Without it every article starts at once and shares the budget: at the limit they are all cut
short, their calls are paid for and their work is lost, and the next run starts over the same
way. With it an article starts only when what the run has spent, plus what the articles in
flight are still expected to spend (their reserve), plus this article's own estimate, fits in the
limit. When the next article does not fit, admission waits for an article in flight to finish
(its unused reserve comes back); with none in flight, it closes: the run stops starting articles
and ends cleanly ("closed"), and the message says how far to raise the limit.

An article's estimate is the prior of `estimate.article_calls` for its budget n, scaled by what
the articles finished so far actually took (calls kept over their prior), times RESERVE_MARGIN.
An article in flight may run past its estimate; the hard limit (`calls.RunLimits.admit`) still
refuses the call that would exceed `--max-calls`, so the limit itself is never exceeded.
"""

from __future__ import annotations

import asyncio
import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from foveate_dspy.runtime.estimate import article_calls

if TYPE_CHECKING:
    from foveate_dspy.runtime.calls import ArticleScope, RunLimits, UsageLedger
    from foveate_dspy.runtime.runner import RunSettings

RESERVE_MARGIN = 1.15  # reserve this much more than the expected calls: articles vary


@dataclass
class History:
    """Articles finished and kept: their summed prior, and the calls and cost they took."""

    prior: float = 0.0
    calls: int = 0
    cost: float = 0.0

    def ratio(self) -> float:
        return self.calls / self.prior if self.prior > 0 else 1.0

    def cost_per_call(self) -> float | None:
        return self.cost / self.calls if self.calls and self.cost > 0 else None


class ArticleAdmission:
    """Decides, article by article, whether the run's limits can still pay for it."""

    def __init__(
        self, limits: RunLimits, ledger: UsageLedger, settings: RunSettings, history: History, prior_cost_per_call: float | None = None
    ) -> None:
        self.limits = limits
        self.ledger = ledger
        self.settings = settings
        self.history = history
        self.prior_cost_per_call = prior_cost_per_call
        self.in_flight: dict[int, tuple[ArticleScope, int]] = {}
        self._changed = asyncio.Condition()

    @property
    def active(self) -> bool:
        return self.limits.max_calls is not None or self.limits.max_cost_usd is not None

    def expected_calls(self, n: int) -> int:
        return math.ceil(article_calls(self.settings, n) * self.history.ratio() * RESERVE_MARGIN)

    def _cost_per_call(self) -> float:
        observed = self.history.cost_per_call()
        if observed is None:
            totals = self.ledger.totals()
            observed = totals.cost_usd / totals.calls if totals.calls and totals.cost_usd > 0 else None
        return observed if observed is not None else (self.prior_cost_per_call or 0.0)

    def shortfall(self, n: int) -> str | None:
        """Why an article of budget n does not fit now, or None when it does."""
        limits = self.limits
        expected = self.expected_calls(n)
        if limits.max_calls is not None:
            reserved = sum(max(self.expected_calls(k) - scope.calls, 0) for scope, k in self.in_flight.values())
            spent = limits.started_calls
            if spent + reserved + expected > limits.max_calls:
                return (
                    f"--max-calls {limits.max_calls}: the run has made {spent} LM calls in all and the next article is "
                    f"expected to take about {expected}; re-run with --max-calls {max(spent + expected, limits.max_calls + 1)} "
                    "or more to continue"
                )
        if limits.max_cost_usd is not None:
            per_call = self._cost_per_call()
            reserved_cost = sum(max(self.expected_calls(k) - scope.calls, 0) for scope, k in self.in_flight.values()) * per_call
            spent_cost = limits.spent_cost(self.ledger)
            cost = expected * per_call
            if spent_cost + reserved_cost + cost > limits.max_cost_usd:
                return (
                    f"--max-cost-usd {limits.max_cost_usd:g}: the run has spent about ${spent_cost:.4f} in all and the next "
                    f"article is expected to cost about ${cost:.4f}; re-run with --max-cost-usd "
                    f"{_round_up(spent_cost + cost)} or more to continue"
                )
        return None

    async def enter(self, scope: ArticleScope, n: int) -> bool:
        """Wait until an article of budget n fits, then reserve it; False once admission closed."""
        if not self.active:
            return True
        async with self._changed:
            while True:
                if self.limits.closed is not None or self.limits.stopped is not None:
                    return False
                why = self.shortfall(n)
                if why is None:
                    self.in_flight[id(scope)] = (scope, n)
                    return True
                if not self.in_flight:
                    self.limits.closed = why
                    return False
                await self._changed.wait()

    async def leave(self, scope: ArticleScope, kept: bool, cost: float) -> None:
        """The article ended; a kept one teaches the estimate what an article really takes."""
        if not self.active:
            return
        async with self._changed:
            entry = self.in_flight.pop(id(scope), None)
            if entry is not None and kept:
                self.history.prior += article_calls(self.settings, entry[1])
                self.history.calls += scope.calls
                self.history.cost += cost
            self._changed.notify_all()


ADMISSION: ContextVar[ArticleAdmission | None] = ContextVar("foveate_admission", default=None)


def _round_up(value: float) -> str:
    """A limit to suggest: the amount rounded up to two significant figures."""
    if value <= 0:
        return "0.01"
    step = 10 ** (math.floor(math.log10(value)) - 1)
    return f"{math.ceil(value / step) * step:.10g}"
