"""Correct/Incorrect verdicts on generated answers: an LLM judge (any DSPy model) or offline.

The LLM judge applies the paper's criteria (appendix I.3) through the `JudgeAnswerCorrectness`
signature. A reply that does not parse into Correct/Incorrect is counted as `unparseable`, never
as a wrong answer, so a flaky judge shows up in the report instead of lowering the score.
The offline judge is a deterministic containment check that keeps CI free and reproducible; it
reports itself under its own name so its figures are never mistaken for an LLM's. A refusal is
Incorrect even when it names the gold answer ("The passage doesn't say whether Denver won"): it
asks the project's one refusal classifier, as the paper's judge would not credit a non-answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from finetune.errors import FinetuneError
from finetune.scoring import contains_gold
from foveate_dspy.method.refusal import is_refusal
from foveate_dspy.teachers.judges import FAILED, SignatureJudge, run_in_threads

CORRECT, INCORRECT, UNPARSEABLE = "Correct", "Incorrect", "unparseable"
OFFLINE = "offline"


@dataclass(frozen=True)
class JudgeInput:
    question: str
    golds: tuple[str, ...]
    generated: str


def ground_truth_text(golds: Sequence[str]) -> str:
    """All distinct gold answers joined with " / ". The judge sees every accepted phrasing, the
    same answers recall takes its best over (SQuAD lists duplicates; they are dropped)."""
    return " / ".join(dict.fromkeys(g.strip() for g in golds if g.strip()))


class Judge(Protocol):
    name: str
    kind: str

    def verdicts(self, items: Sequence[JudgeInput]) -> list[str]: ...


class OfflineJudge:
    """Correct when a normalised gold answer appears, as whole words, in a generated answer that
    is not a refusal."""

    name = OFFLINE
    kind = "offline containment check (normalised gold answer inside a non-refusal generated answer), not an LLM"

    def verdicts(self, items: Sequence[JudgeInput]) -> list[str]:
        return [
            CORRECT if contains_gold(item.generated, item.golds) and not is_refusal(item.generated) else INCORRECT
            for item in items
        ]


class LLMJudge:
    """Ask a DSPy LM for a verdict per item, `threads` requests at a time.

    The ChatAdapter is built without its JSON fallback so an unparseable reply costs one call and
    is counted, rather than silently re-asked in another format."""

    kind = "llm"

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        threads: int = 8,
        lm: Any = None,
    ) -> None:
        from signatures.judge import JudgeAnswerCorrectness

        self.name = model
        self.threads = max(1, threads)
        from foveate_dspy.teachers.settings import adapt

        # A reasoning model takes no temperature and needs max_tokens >= 16000 (noted, not refused).
        options, max_tokens = adapt(model, {"temperature": temperature}, max_tokens)
        if api_base:
            options["api_base"] = api_base
        if max_tokens:
            options["max_tokens"] = max_tokens
        if lm is None:
            from foveate_dspy.teachers.local_server import judge_lm

            api = options.pop("api_base", None)
            try:
                lm = judge_lm(model, api, **options)
            except Exception as exc:  # DSPy refuses some settings for some models: one line, not a traceback
                raise FinetuneError(f"cannot build the judge {model!r}: {' '.join(str(exc).split())[:300]}") from exc
        self.lm = lm
        self.judge = SignatureJudge(JudgeAnswerCorrectness, lm)

    def _verdict(self, item: JudgeInput) -> str:
        answer = self.judge.ask(question=item.question, ground_truth=ground_truth_text(item.golds), generated=item.generated)
        if answer.failure == FAILED:  # network, auth, rate limit: the user must act, not the score
            err = answer.error
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise FinetuneError(
                f"judge '{self.name}' failed ({type(err).__name__}: {first[:300]}); "
                "answers judged so far are saved, rerun the same command to resume"
            ) from err
        if answer.failure is not None:
            return UNPARSEABLE
        verdict = answer.prediction.verdict
        return verdict if verdict in (CORRECT, INCORRECT) else UNPARSEABLE

    def verdicts(self, items: Sequence[JudgeInput]) -> list[str]:
        return run_in_threads(self._verdict, items, threads=self.threads)


def make_judge(
    spec: str, *, api_base: str | None = None, temperature: float = 0.0, max_tokens: int | None = None, threads: int = 8
) -> Judge:
    """`offline` for the containment check, anything else is a DSPy model string
    (e.g. openai/gpt-4o-mini, deepseek/deepseek-chat, openai/<name> with --judge-api-base)."""
    if spec == OFFLINE:
        return OfflineJudge()
    return LLMJudge(spec, api_base=api_base, temperature=temperature, max_tokens=max_tokens, threads=threads)
