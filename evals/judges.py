"""Judge replies, LM judges over the project's judge signatures, and the bounded thread pool
that runs many judge calls concurrently.

A reply that is not one of the allowed choices, or a call that fails, becomes an *invalid*
reply with its reason: it is counted and reported, never turned into a verdict (a silent
"loss" would bias every win rate towards whichever side a broken judge happens to favour).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

OFFLINE_JUDGE = "offline"
# Paper, Table 10: temperature 0.5, top_p 1, 5 completion tokens for a bare "1"/"2". DSPy's
# ChatAdapter wraps the answer in field markers, so the budget is larger.
DIFFICULTY_SAMPLING = {"temperature": 0.5, "max_tokens": 64}
# Paper, Table 12: temperature 0.2, top_p 1, 50 completion tokens.
QUALITY_SAMPLING = {"temperature": 0.2, "max_tokens": 128}
DEFAULT_THREADS = 8
_SECRET = re.compile(r"(sk|key|token)-[A-Za-z0-9_\-]{6,}", re.IGNORECASE)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class JudgeReply:
    """Parsed verdict fields, or why there is none (``invalid`` is a short category)."""

    values: dict[str, str] | None = None
    invalid: str | None = None
    detail: str | None = None

    @property
    def valid(self) -> bool:
        return self.values is not None


def _clean(text: str, limit: int = 300) -> str:
    """One line, bounded, with anything that looks like a credential masked."""
    return _SECRET.sub("***", " ".join(str(text).split()))[:limit]


def make_lm(model: str, *, api_base: str | None, temperature: float, max_tokens: int, cache: bool = True) -> Any:
    """A ``dspy.LM`` for a judge; keys come from the provider's usual environment variables."""
    from evals.inputs import InputError
    from foveate_dspy.teachers.local_server import judge_lm
    from foveate_dspy.teachers.settings import adapt

    # A reasoning model takes no temperature and needs max_tokens >= 16000 (noted, not refused).
    sampling, adapted_max_tokens = adapt(model, {"temperature": temperature}, max_tokens)
    try:
        return judge_lm(model, api_base, **sampling, max_tokens=adapted_max_tokens, cache=cache)
    except Exception as exc:  # DSPy refuses some settings for some models: one line, not a traceback
        raise InputError(f"cannot build the judge {model!r}: {_clean(str(exc))}") from exc


class DSPyJudge:
    """Runs one judge signature with ``dspy.Predict`` and checks the reply against its choices.

    The LM and adapter are installed with ``dspy.context`` per call, so the judge is safe in
    worker threads. The JSON-adapter fallback is off: one reply, one call, one verdict.
    """

    def __init__(self, signature: Any, lm: Any, choices: dict[str, tuple[str, ...]]):
        from foveate_dspy.teachers.judges import SignatureJudge

        self.lm = lm
        self.choices = choices
        self.judge = SignatureJudge(signature, lm)
        self.label = f"{lm.model} (LLM judge)"

    def __call__(self, **inputs: Any) -> JudgeReply:
        from foveate_dspy.teachers.judges import UNPARSEABLE

        answer = self.judge.ask(**inputs)
        if answer.failure == UNPARSEABLE:
            return JudgeReply(invalid=answer.failure, detail=_clean(getattr(answer.error, "lm_response", "")))
        if answer.failure is not None:  # network, auth, rate limits: recorded, never fatal for the run
            return JudgeReply(invalid=answer.failure, detail=_clean(f"{type(answer.error).__name__}: {answer.error}"))
        values = {name: str(answer.prediction[name]).strip() for name in self.choices}
        for name, value in values.items():
            if value not in self.choices[name]:
                return JudgeReply(invalid="reply outside the choices", detail=_clean(f"{name}={value!r}"))
        return JudgeReply(values=values)


class LLMDifficultyJudge:
    """CompareDifficulty (paper appendix H) answered by an LM."""

    def __init__(self, lm: Any):
        from signatures.judge import CompareDifficulty

        self._judge = DSPyJudge(CompareDifficulty, lm, {"harder": ("1", "2")})
        self.label = self._judge.label

    def compare(self, content: str, first: Sequence[str], second: Sequence[str]) -> JudgeReply:
        return self._judge(content=content, instruction_set_1=list(first), instruction_set_2=list(second))


class LLMQualityJudge:
    """RateAnswerQuality (paper appendix J) answered by an LM."""

    def __init__(self, lm: Any):
        from signatures.judge import RateAnswerQuality

        levels = ("high", "medium", "low")
        self._judge = DSPyJudge(RateAnswerQuality, lm, {"fluency": levels, "completeness": levels})
        self.label = self._judge.label

    def rate(self, question: str, answer: str) -> JudgeReply:
        return self._judge(question=question, answer=answer)


def make_difficulty_judge(spec: str, *, api_base: str | None = None, temperature: float | None = None,
                          max_tokens: int | None = None) -> Any:
    """``"offline"`` -> the heuristic judge; anything else is a DSPy model string."""
    if spec == OFFLINE_JUDGE:
        from evals.heuristics import HeuristicDifficultyJudge

        return HeuristicDifficultyJudge()
    lm = make_lm(
        spec,
        api_base=api_base,
        temperature=DIFFICULTY_SAMPLING["temperature"] if temperature is None else temperature,
        max_tokens=max_tokens or DIFFICULTY_SAMPLING["max_tokens"],
    )
    return LLMDifficultyJudge(lm)


def make_quality_judge(spec: str, *, api_base: str | None = None, temperature: float | None = None,
                       max_tokens: int | None = None) -> Any:
    """``"offline"`` -> the heuristic judge; anything else is a DSPy model string."""
    if spec == OFFLINE_JUDGE:
        from evals.heuristics import HeuristicQualityJudge

        return HeuristicQualityJudge()
    lm = make_lm(
        spec,
        api_base=api_base,
        temperature=QUALITY_SAMPLING["temperature"] if temperature is None else temperature,
        max_tokens=max_tokens or QUALITY_SAMPLING["max_tokens"],
    )
    return LLMQualityJudge(lm)


def run_concurrently(
    task: Callable[[T], R], items: Sequence[T], *, threads: int = DEFAULT_THREADS, description: str = "judging",
    progress: bool = True,
) -> list[R]:
    """``[task(item) for item in items]`` on a bounded thread pool, in input order, with a bar."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from foveate_dspy.teachers.judges import run_in_threads

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=True) as bar:
        bar_task = bar.add_task(description, total=len(items))
        return run_in_threads(task, items, threads=threads, on_done=lambda: bar.advance(bar_task))
