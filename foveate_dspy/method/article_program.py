"""The contract every data-synthesis program (Self-Foveate and the baselines) implements."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import dspy

T = TypeVar("T")


def call_off_the_loop(function: Callable[[], T]) -> T:
    """`function()` from synchronous code that may be running inside an event loop.

    Outside a running loop it is called here. Inside one (a Jupyter cell, an async web handler,
    synchronous code under `asyncio.run(main())`), where `asyncio.run` refuses, it runs in a
    worker thread in a copy of the caller's context: DSPy keeps `dspy.context(lm=..., adapter=...)`
    overrides in a context variable, and so does the run's state (calls.LEDGER,
    language.OUTPUT_LANGUAGE ...), so the worker sees the caller's LM and settings. The caller's
    loop is blocked meanwhile, as any synchronous call blocks it; `await program.acall(...)` is
    the way that does not block it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function()
    context = contextvars.copy_context()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = context.run(function)
        except BaseException as exc:  # raised again in the caller's thread, KeyboardInterrupt included
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="foveate-sync-call", daemon=True)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def run_coroutine_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine `make()` to its end from synchronous code and return its result:
    `asyncio.run`, on a private loop in a worker thread when the caller is inside a running loop
    (`call_off_the_loop`)."""
    return call_off_the_loop(lambda: asyncio.run(make()))


class ArticleProgram(dspy.Module):
    """Turns one article into items: `aforward(article, n, article_id, seed)` returns
    Prediction(results=[records.Item], level_failures=[records.LevelFailure]).

    Async first, because an article's calls are independent and the runner interleaves many
    articles on one event loop; `forward` runs the same coroutine for synchronous callers such as
    DSPy's teleprompters, and works inside a running event loop too (Jupyter; see
    `run_coroutine_sync`)."""

    def forward(self, article: str, n: int = 8, article_id: str = "article", seed: int | str = 0) -> dspy.Prediction:
        return run_coroutine_sync(lambda: self.aforward(article=article, n=n, article_id=article_id, seed=seed))

    async def aforward(
        self, article: str, n: int = 8, article_id: str = "article", seed: int | str = 0
    ) -> dspy.Prediction:
        raise NotImplementedError(f"{type(self).__name__} must implement aforward")
