"""LM judges: one judge signature answered by an LM, and many judgements on a bounded thread pool.

The evals' difficulty and quality judges, the fine-tuning correctness judge and the optimiser's
pair judge all ask through `SignatureJudge`. It never raises: a reply that does not parse and a
call that fails come back as a `JudgeAnswer` that says so, and each caller applies its own
policy (the evals count an invalid reply, fine-tuning stops on a failed call, the optimiser
counts an invalid judgement). The judge's own calls never enter a DSPy trace, so they cannot
become demos or reflection material.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, TypeVar

from foveate_dspy.runtime.dspy_workarounds import call_caches, threadsafe_ast

T = TypeVar("T")
R = TypeVar("R")

UNPARSEABLE = "unparseable reply"
FAILED = "judge call failed"


@dataclass(frozen=True)
class JudgeAnswer:
    """The judge's prediction, or why there is none: `failure` is UNPARSEABLE or FAILED and
    `error` the exception."""

    prediction: Any = None
    failure: str | None = None
    error: BaseException | None = None


class SignatureJudge:
    """Runs one judge signature with `dspy.Predict` through the judge adapter (no JSON fallback:
    one reply, one call, one verdict). The LM and adapter are installed with `dspy.context` per
    call, so the judge is safe in worker threads."""

    def __init__(self, signature: Any, lm: Any) -> None:
        import dspy

        from foveate_dspy.teachers.output_mode import JudgeAdapter

        self.lm = lm
        self.predict = dspy.Predict(signature)
        self.adapter = JudgeAdapter(lm)

    def ask(self, **inputs: Any) -> JudgeAnswer:
        import dspy
        from dspy.utils.exceptions import AdapterParseError

        try:
            with dspy.context(lm=self.lm, adapter=self.adapter.get(), trace=None):
                return JudgeAnswer(prediction=self.predict(**inputs))
        except AdapterParseError as exc:
            return JudgeAnswer(failure=UNPARSEABLE, error=exc)
        except Exception as exc:  # noqa: BLE001  (network, auth, rate limits: the caller's policy decides)
            return JudgeAnswer(failure=FAILED, error=exc)


def run_in_threads(
    task: Callable[[T], R], items: Sequence[T], *, threads: int, on_done: Callable[[], None] | None = None
) -> list[R]:
    """`[task(item) for item in items]` on a bounded thread pool, in input order; `on_done` is
    called as each task finishes (a progress bar). An exception a task raises is raised here."""
    threadsafe_ast.install()  # DSPy parses replies with ast in these threads
    call_caches.install()  # and repeats lookups whose answers never change
    results: list[R | None] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        futures = {pool.submit(task, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_done is not None:
                on_done()
    return results  # type: ignore[return-value]
