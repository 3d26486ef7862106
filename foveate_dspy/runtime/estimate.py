"""How many LM calls and tokens an article costs, before and while a run pays for it.

Used twice: by `--dry-run`, which prints the whole run's expected calls, tokens and (priced
models) cost before anything is spent, and by the limits (admission.ArticleAdmission), which
reserve an article's expected calls before starting it so that a budget step saves whole
articles instead of starting them all and finishing none.

The prior follows the program's structure (program.py, the levels, answering.py,
resynthesis.py): per foveation level a fixed number of stage calls (micro: extract and
synthesize; scatter: extract, rank and synthesize; macro: extract and synthesize), then per item
one answering call plus one reread call, plus re-synthesis for the items whose first attempt is
rejected. How many are rejected depends on the teacher, so the prior assumes RESYNTHESIS_SHARE of
the items need RESYNTHESIS_TRIES tries of three calls each (regenerate, answer, reread); during a
run the limits replace that guess by the calls the finished articles actually took.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from foveate_dspy.corpus.readers import Article
    from foveate_dspy.runtime.runner import RunSettings

STAGE_CALLS = {"micro": 2, "scatter": 3, "macro": 2}
RESYNTHESIS_SHARE = 0.05  # items whose first attempt is rejected (offline teacher on examples/: see README)
RESYNTHESIS_TRIES = 1.5  # tries per rejected item until one is accepted or the retries run out
CHARS_PER_TOKEN = 4.0  # the usual rule of thumb for English prose with BPE tokenizers
PROMPT_OVERHEAD_TOKENS = 350  # system message: field descriptions and the signature's instructions
OUTPUT_TOKENS = {"stage": 120, "answer": 80}  # reply tokens per call, by kind of call


def estimate_tokens(characters: int) -> int:
    """Tokens in `characters` characters of text, by CHARS_PER_TOKEN; at least one."""
    return max(1, math.ceil(characters / CHARS_PER_TOKEN))


def article_calls(settings: RunSettings, n: int) -> float:
    """Expected LM calls of one article with budget `n` per level (the prior, see above)."""
    levels = len(settings.levels)
    per_answer = 2 if settings.reread else 1
    if settings.method == "self-qa":
        return 1 + n * levels * 1
    if settings.method == "wiki2023":
        return 1.0
    items = n * levels
    calls = sum(STAGE_CALLS[level] for level in settings.levels) + items * per_answer
    if settings.resynthesis and settings.max_retries > 0:
        tries = min(RESYNTHESIS_TRIES, settings.max_retries)
        calls += items * RESYNTHESIS_SHARE * tries * (1 + per_answer)
    return calls


@dataclass
class Estimate:
    """The expected cost of a set of articles."""

    articles: int
    calls: float
    input_tokens: float
    output_tokens: float
    cost_usd: float | None  # None: a model without a price

    def as_dict(self) -> dict[str, Any]:
        cost = None if self.cost_usd is None else round(self.cost_usd, 4)
        return {
            "articles": self.articles,
            "lm_calls": round(self.calls),
            "input_tokens": round(self.input_tokens),
            "output_tokens": round(self.output_tokens),
            "cost_usd": cost,
        }


def estimate_run(articles: list[Article], budgets: list[int], settings: RunSettings) -> Estimate:
    """The whole run's expected calls and tokens: every call carries the article and the prompt's
    fixed part; stage calls reply with a list, answering calls with an answer."""
    calls = inputs = outputs = 0.0
    for article, n in zip(articles, budgets):
        count = article_calls(settings, n)
        stage = sum(STAGE_CALLS[level] for level in settings.levels) if settings.method == "self-foveate" else 1
        prompt = len(article.text) / CHARS_PER_TOKEN + PROMPT_OVERHEAD_TOKENS
        calls += count
        inputs += count * prompt
        outputs += stage * OUTPUT_TOKENS["stage"] + (count - stage) * OUTPUT_TOKENS["answer"]
    return Estimate(len(articles), calls, inputs, outputs, _cost(settings.teacher, calls, inputs, outputs))


def _cost(model: str, calls: float, inputs: float, outputs: float) -> float | None:
    """At LiteLLM's list prices; None for the offline teacher or a model without a price."""
    from foveate_dspy.runtime.calls import Pricing

    if calls == 0:
        return 0.0
    pricing = Pricing.lookup([model])
    if model not in pricing.priced:
        return None
    per_call = {"prompt_tokens": math.ceil(inputs / calls), "completion_tokens": math.ceil(outputs / calls)}
    return (pricing.cost(model, per_call) or 0.0) * calls


def describe(estimate: Estimate, settings: RunSettings) -> str:
    cost = "no price known for this teacher" if estimate.cost_usd is None else f"≈ ${estimate.cost_usd:.4f} at list prices"
    return (
        f"dry run: {estimate.articles} articles would take ≈ {estimate.calls:,.0f} LM calls, "
        f"≈ {estimate.input_tokens:,.0f} input and {estimate.output_tokens:,.0f} output tokens; {cost} "
        f"(teacher {settings.teacher}; an estimate from the budgets and prompt sizes, re-synthesis assumed for "
        f"{RESYNTHESIS_SHARE:.0%} of the items). Nothing was spent and nothing was written."
    )
