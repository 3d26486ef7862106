"""A live progress display on stderr: articles, records, LM calls, tokens, estimated cost, rate.

The numbers are read from the run's tally and usage ledger each time the display refreshes (twice
a second), not only when an article finishes, so a long article still shows its calls and spend
ticking up: the point of the display is to let a user stop a run that costs more than expected.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class RunProgress:
    def __init__(self, total: int, tally: Any, ledger: Any, enabled: bool = True) -> None:
        self.total = total
        self.tally = tally
        self.ledger = ledger
        self.enabled = enabled and sys.stderr is not None
        self._progress = None
        self._task = None
        self._started = time.monotonic()

    def describe(self) -> str:
        """One line: records, calls (and failed requests), tokens, estimated cost, articles/min."""
        totals = self.ledger.totals()
        records = sum(self.tally.records.values())
        elapsed = max(time.monotonic() - self._started, 1e-9)
        finished = self.tally.articles_done + len(self.tally.articles_failed)
        parts = [f"records {records}", f"calls {totals.calls}"]
        if totals.errors:
            parts.append(f"failed {totals.errors}")
        parts.append(f"tokens {totals.input_tokens + totals.output_tokens:,}")
        if self.ledger.pricing.priced:
            parts.append(f"≈${totals.cost_usd:.4f}")
        parts.append(f"{60 * finished / elapsed:.1f} art/min")
        return " · ".join(parts)

    def __enter__(self) -> RunProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                ProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.text import Text

            describe = self.describe

            class LiveColumn(ProgressColumn):
                def render(self, task: Any) -> Text:
                    return Text(describe())

            self._progress = Progress(
                TextColumn("articles"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                LiveColumn(),
                console=Console(stderr=True),
                transient=False,
                refresh_per_second=2,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("", total=self.total)
        return self

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
