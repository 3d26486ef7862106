"""Benchmark the offline teacher on a corpus, the way the Self-Foveate program calls it.

    python -m foveate_dspy.offline.benchmark examples/articles.jsonl --per-level 8

For each article: micro (keywords -> reverse synthesis), scatter (keywords -> core/major ->
groups of 1-3 -> direct synthesis) and macro (key sentences -> transcription), then answer and
reread every item; an unanswerable item is re-synthesised alone at temperature 1.2 with fresh
feedback, up to 5 times. Prints model loading time, engine time (inside the engine only), wall
time, calls, token counts, and how many items succeeded first time, after re-synthesis, or never.
A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path

MAX_RETRIES = 5


class TimedEngine:
    """Wraps an engine and adds up the seconds spent inside its `complete`."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.seconds = 0.0
        self.calls = 0

    def complete(self, request):
        started = time.perf_counter()
        try:
            return self.engine.complete(request)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1

    def close(self) -> None:
        self.engine.close()


def load_articles(path: Path) -> list[tuple[str, str]]:
    """(id, text) per JSONL line; the text is in `content`, `context` or `text`."""
    articles = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        text = record.get("content") or record.get("context") or record.get("text")
        if not text:
            raise ValueError(f"{path}:{number}: no 'content', 'context' or 'text' field")
        articles.append((str(record.get("id", number)), text))
    return articles


def run(path: Path, per_level: int, embedder: str) -> dict:
    import dspy

    from foveate_dspy.embedding import get_embedder
    from foveate_dspy.offline.engine import OfflineEngine
    from signatures import answer, macro, micro, scatter

    started = time.perf_counter()
    get_embedder(embedder).encode(["warm-up"])  # model loading is reported apart
    load_seconds = time.perf_counter() - started
    engine = TimedEngine(OfflineEngine(embedder))
    lm = dspy.LM("offline/teacher", engine=engine, cache=False, temperature=0.5)
    hot = lm.copy(temperature=1.2)
    adapter = dspy.ChatAdapter(use_json_adapter_fallback=False)
    outcome: Counter = Counter()

    def answerable(article: str, instruction: str) -> bool:
        with dspy.context(lm=lm, adapter=adapter):
            draft = dspy.Predict(answer.AnswerFromArticle)(article=article, instruction=instruction)
            if not draft.answerable:
                return False
            dspy.Predict(answer.RereadAnswer)(
                article=article, instruction=instruction, draft_answer=draft.answer
            )
            return True

    def settle(level: str, article: str, instruction: str, regenerate, **target) -> None:
        """Answer an item; while unanswerable, re-synthesise it with the `regenerate`
        signature (article, feedback and `target` in) in high-creativity mode."""
        for attempt in range(MAX_RETRIES + 1):
            if answerable(article, instruction):
                outcome[f"{level} ok at attempt {attempt}"] += 1
                return
            if attempt < MAX_RETRIES:
                feedback = f"Attempt {attempt + 1} was unanswerable: the answer was 'I don't know.'"
                with dspy.context(lm=hot, adapter=adapter):
                    retry = dspy.Predict(regenerate)(article=article, feedback=feedback, **target)
                instruction = retry.question
        outcome[f"{level} failed"] += 1

    wall = time.perf_counter()
    for article_id, article in load_articles(path):
        with dspy.context(lm=lm, adapter=adapter):
            keywords = dspy.Predict(micro.ExtractKeywords)(article=article, count=2 * per_level)
            answers = keywords.keywords[:per_level]
            questions = dspy.Predict(micro.ReverseSynthesis)(article=article, answers=answers)
        for target, question in zip(answers, questions.questions, strict=False):
            settle("micro", article, question, micro.RegenerateFromAnswer, target_answer=target)

        singles, pairs = int(per_level // 2.5), int(per_level // 2.25)
        triples = per_level - singles - pairs
        with dspy.context(lm=lm, adapter=adapter):
            pool = dspy.Predict(micro.ExtractKeywords)(
                article=article, count=singles + 2 * pairs + 3 * triples
            ).keywords
            dspy.Predict(scatter.SelectImportantKeywords)(
                article=article, keywords=pool, core_count=2, major_count=3
            )
            random.Random(article_id).shuffle(pool)
            groups, cursor = [], 0
            for size, count in ((1, singles), (2, pairs), (3, triples)):
                for _ in range(count):
                    if cursor + size <= len(pool):
                        groups.append(pool[cursor : cursor + size])
                    cursor += size
            questions = dspy.Predict(scatter.DirectSynthesis)(
                article=article, keyword_groups=groups
            )
        for group, question in zip(groups, questions.questions, strict=False):
            settle(
                "scatter",
                article,
                question,
                scatter.RegenerateFromKeywordGroup,
                keyword_group=group,
            )

        with dspy.context(lm=lm, adapter=adapter):
            sentences = dspy.Predict(macro.ExtractKeySentences)(article=article, count=per_level)
            questions = dspy.Predict(macro.TranscriptionSynthesis)(
                article=article, key_sentences=sentences.key_sentences
            )
        for sentence, question in zip(sentences.key_sentences, questions.questions, strict=False):
            settle(
                "macro", article, question, macro.RegenerateFromKeySentence, key_sentence=sentence
            )

    usage = [entry["usage"] for entry in lm.history + hot.history]
    return {
        "articles": len(load_articles(path)),
        "calls": engine.calls,
        "model_load_seconds": round(load_seconds, 2),
        "engine_seconds": round(engine.seconds, 2),
        "wall_seconds": round(time.perf_counter() - wall, 2),
        "prompt_tokens": sum(u["prompt_tokens"] for u in usage),
        "completion_tokens": sum(u["completion_tokens"] for u in usage),
        "outcomes": dict(sorted(outcome.items())),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="JSONL articles (content/context/text field)")
    parser.add_argument(
        "--per-level", type=int, default=8, help="instructions per level per article"
    )
    parser.add_argument(
        "--embedder", default="minilm", help="'minilm', 'mpnet' or a local model path"
    )
    args = parser.parse_args(argv)
    print(json.dumps(run(args.corpus, args.per_level, args.embedder), indent=2))


if __name__ == "__main__":
    main()
