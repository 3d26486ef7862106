"""A live progress line on stderr: articles, records, LM calls, tokens, rate."""

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

    def _describe(self) -> str:
        totals = self.ledger.totals()
        records = sum(self.tally.records.values())
        elapsed = max(time.monotonic() - self._started, 1e-9)
        return (
            f"records {records} · calls {totals.calls} · tokens {totals.input_tokens + totals.output_tokens:,}"
            f" · {60 * (self.tally.articles_done + len(self.tally.articles_failed)) / elapsed:.1f} art/min"
        )

    def __enter__(self) -> RunProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("articles"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self._describe(), total=self.total)
        return self

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=self._describe())

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
