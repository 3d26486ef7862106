"""Each article's own LM usage, so the run store can commit it with the article's records.

The run store commits an article's usage in the same transaction as its records, so after a crash
the ledger still matches the data exactly: calls of articles that were in flight are gone along
with their (uncommitted) records, and the resumed run's calls for them are counted when they
commit. Calls, tokens and cost come from `calls.UsageLedger` (cost at LiteLLM's list prices, for
priced models only); this module adds the per-article view and DSPy cache hits.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from foveate_dspy.runtime.calls import StageUsage, UsageLedger
from foveate_dspy.runtime.store import USAGE_FIELDS


@dataclass
class ArticleLedger(UsageLedger):
    """One article's calls, each also recorded in the run's ledger (`parent`). The runner makes it
    the `calls.LEDGER` of the article's task; `rows()` is the article's own usage, while
    `totals()` and `mean_output_tokens()` answer for the whole run.

    A request that succeeded without reporting any usage is counted as a cache hit: DSPy serves
    replies from its cache (`--cache`) without usage, and a live provider always reports it."""

    parent: UsageLedger | None = None
    cache_hits: Counter[str] = field(default_factory=Counter)

    @classmethod
    def under(cls, parent: UsageLedger | None) -> ArticleLedger:
        return cls(pricing=parent.pricing, parent=parent) if parent is not None else cls()

    def record(self, stage: str, usage_by_model: dict[str, dict[str, Any]], failed: bool, *args: Any, **kwargs: Any) -> None:
        super().record(stage, usage_by_model, failed, *args, **kwargs)
        if not failed and not usage_by_model:
            with self._lock:
                self.cache_hits[stage] += 1
        if self.parent is not None:
            self.parent.record(stage, usage_by_model, failed, *args, **kwargs)

    def record_parse(self, stage: str, event: str) -> None:
        super().record_parse(stage, event)
        if self.parent is not None:
            self.parent.record_parse(stage, event)

    # Whatever reads LEDGER.get() for run-wide decisions (the --max-cost-usd limit reads totals(),
    # the --tpm estimate reads mean_output_tokens()) must see the whole run, not one article.
    def totals(self) -> StageUsage:
        return self.parent.totals() if self.parent is not None else super().totals()

    def mean_output_tokens(self, stage: str) -> float:
        return self.parent.mean_output_tokens(stage) if self.parent is not None else super().mean_output_tokens(stage)

    def rows(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, name, figures) per stage and per model, with the fields of USAGE_FIELDS."""
        usage = self.as_dict()
        rows = []
        for kind, group in (("stage", "stages"), ("model", "models")):
            for name, figures in usage[group].items():
                values = {key: figures.get(key, 0) for key in USAGE_FIELDS}
                values["cache_hits"] = self.cache_hits[name] if kind == "stage" else 0
                rows.append((kind, name, values))
        return rows
