"""Run a program over a corpus: budgets, concurrency, per-article output, summary.

All articles run on one asyncio loop. Articles start as slots free up and every LM call waits for
one of `max_concurrency` request slots, so a slow provider is kept busy without being flooded.
Each finished article is appended to the output files at once, so a crash costs only the
articles in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foveate_dspy.budget import BudgetConfig, article_budgets
from foveate_dspy.calls import LEDGER, LIMITER, UsageLedger
from foveate_dspy.corpus import Article
from foveate_dspy.lm import OFFLINE, build_lm, public_api_base
from foveate_dspy.levels import LEVELS
from foveate_dspy.records import Item, LevelFailure

if TYPE_CHECKING:
    import dspy
from foveate_dspy.resynthesis import CREATIVE_LM, DEMO_COUNT, MAX_RETRIES
from foveate_dspy.sampling import CREATIVE, NORMAL


@dataclass
class RunSettings:
    teacher: str = OFFLINE
    api_base: str | None = None
    creative_teacher: str | None = None
    creative_api_base: str | None = None
    levels: tuple[str, ...] = LEVELS
    embedder: str = "minilm"
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    n_per_level: int | None = None  # fixed budget instead of Algorithm 1
    max_retries: int = MAX_RETRIES
    demo_count: int = DEMO_COUNT
    reread: bool = True
    resynthesis: bool = True
    seed: int = 0
    max_concurrency: int = 16
    cache: bool = False
    max_tokens: int | None = None
    method: str = "self-foveate"

    def public(self) -> dict[str, Any]:
        """The settings as written to summary.json: no secrets, credentials stripped from URLs."""
        data = asdict(self)
        data["api_base"] = public_api_base(self.api_base)
        data["creative_api_base"] = public_api_base(self.creative_api_base)
        data["levels"] = list(self.levels)
        return data


@dataclass
class ArticleResult:
    article: Article
    n: int
    items: list[Item] = field(default_factory=list)
    level_failures: list[LevelFailure] = field(default_factory=list)
    error: str | None = None


class OutputFiles:
    """instructions.jsonl, rejected.jsonl and summary.json in the run directory."""

    def __init__(self, out_dir: Path, teacher: str, method: str) -> None:
        self.out_dir = out_dir
        self.teacher = teacher
        self.method = method
        out_dir.mkdir(parents=True, exist_ok=True)
        self.accepted = (out_dir / "instructions.jsonl").open("w", encoding="utf-8")
        self.rejected = (out_dir / "rejected.jsonl").open("w", encoding="utf-8")

    def write(self, result: ArticleResult) -> None:
        for item in result.items:
            target = self.accepted if item.accepted else self.rejected
            target.write(json.dumps(item.to_record(self.teacher, self.method), ensure_ascii=False) + "\n")
        for failure in result.level_failures:
            self.rejected.write(json.dumps(failure.to_record(self.teacher, self.method), ensure_ascii=False) + "\n")
        for handle in (self.accepted, self.rejected):
            handle.flush()
            os.fsync(handle.fileno())

    def close(self, summary: dict[str, Any]) -> None:
        self.accepted.close()
        self.rejected.close()
        tmp = self.out_dir / "summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.out_dir / "summary.json")


class Tally:
    """Counts for the summary and the progress line."""

    def __init__(self) -> None:
        self.records: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.resynthesized: Counter[str] = Counter()
        self.retry_attempts = 0
        self.level_failures: Counter[str] = Counter()
        self.articles_done = 0
        self.articles_failed: list[dict[str, str]] = []

    def add(self, result: ArticleResult) -> None:
        if result.error is not None:
            self.articles_failed.append({"article_id": result.article.id, "error": result.error})
            return
        self.articles_done += 1
        for item in result.items:
            (self.records if item.accepted else self.rejected)[item.level] += 1
            if item.accepted and item.resynthesized:
                self.resynthesized[item.level] += 1
            self.retry_attempts += len(item.attempts) - 1
        for failure in result.level_failures:
            self.level_failures[failure.level] += 1


def compute_budgets(articles: list[Article], settings: RunSettings) -> list[int]:
    if settings.n_per_level is not None:
        return [settings.n_per_level] * len(articles)
    from foveate_dspy.embedding import get_embedder

    return article_budgets([a.text for a in articles], get_embedder(settings.embedder), settings.budget)


async def _run_article(program: dspy.Module, article: Article, n: int, seed: int) -> ArticleResult:
    result = ArticleResult(article, n)
    try:
        prediction = await program.acall(article=article.text, n=n, article_id=article.id, seed=seed)
    except Exception as exc:  # one article's bug or outage must not end the run
        result.error = f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:300]}"
        return result
    result.items = prediction.results
    result.level_failures = prediction.level_failures
    return result


async def run_articles(
    program: dspy.Module,
    articles: list[Article],
    budgets: list[int],
    settings: RunSettings,
    on_result,
) -> None:
    """Run every article with bounded concurrency, calling `on_result` as each one finishes."""
    LIMITER.set(asyncio.Semaphore(settings.max_concurrency))
    # Each article keeps a handful of calls in flight; this many articles saturate the limiter.
    article_slots = asyncio.Semaphore(max(1, settings.max_concurrency))

    async def one(article: Article, n: int) -> None:
        async with article_slots:
            result = await _run_article(program, article, n, settings.seed)
        on_result(result)

    await asyncio.gather(*(one(a, n) for a, n in zip(articles, budgets)))


def run(articles: list[Article], out_dir: Path, settings: RunSettings, program: dspy.Module | None = None, progress: bool = True) -> dict[str, Any]:
    """Compile a dataset from `articles` into `out_dir`; returns the summary it wrote."""
    import dspy

    started = time.monotonic()
    from foveate_dspy.methods import build_program

    program = program or build_program(settings)
    teacher = build_lm(settings.teacher, NORMAL, settings.api_base, settings.cache, settings.max_tokens, embedder=settings.embedder)
    creative = None
    if settings.creative_teacher:
        creative = build_lm(
            settings.creative_teacher, CREATIVE, settings.creative_api_base, settings.cache, settings.max_tokens, embedder=settings.embedder
        )
    budgets = compute_budgets(articles, settings)
    outputs = OutputFiles(out_dir, settings.teacher, settings.method)
    ledger = UsageLedger()
    tally = Tally()

    from foveate_dspy.progress import RunProgress

    with RunProgress(len(articles), tally, ledger, enabled=progress) as bar:

        def on_result(result: ArticleResult) -> None:
            outputs.write(result)
            tally.add(result)
            bar.advance()

        async def main() -> None:
            LEDGER.set(ledger)
            CREATIVE_LM.set(creative)
            await run_articles(program, articles, budgets, settings, on_result)

        adapter = dspy.ChatAdapter(use_json_adapter_fallback=False)
        with dspy.context(lm=teacher, adapter=adapter):
            asyncio.run(main())

    summary = build_summary(articles, budgets, settings, tally, ledger, time.monotonic() - started)
    outputs.close(summary)
    return summary


def build_summary(
    articles: list[Article], budgets: list[int], settings: RunSettings, tally: Tally, ledger: UsageLedger, wall: float
) -> dict[str, Any]:
    totals = ledger.totals()
    records = sum(tally.records.values())
    return {
        "method": settings.method,
        "teacher": settings.teacher,
        "articles": len(articles),
        "articles_done": tally.articles_done,
        "articles_failed": tally.articles_failed,
        "records": records,
        "records_per_level": {lv: tally.records[lv] for lv in settings.levels},
        "resynthesized": sum(tally.resynthesized.values()),
        "resynthesized_per_level": {lv: tally.resynthesized[lv] for lv in settings.levels},
        "resynthesis_attempts": tally.retry_attempts,
        "failed": sum(tally.rejected.values()),
        "failed_per_level": {lv: tally.rejected[lv] for lv in settings.levels},
        "level_failures": dict(tally.level_failures),
        "budget": {
            "total_per_level": sum(budgets),
            "mean_per_level": (sum(budgets) / len(budgets)) if budgets else 0.0,
            "min": min(budgets, default=0),
            "max": max(budgets, default=0),
        },
        "lm_calls": totals.calls,
        "lm_errors": totals.errors,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "tokens_per_record": ((totals.input_tokens + totals.output_tokens) / records) if records else None,
        "lm_usage": ledger.as_dict(),
        "wall_seconds": round(wall, 3),
        "settings": settings.public(),
    }
