"""Benchmark the offline teacher on a corpus, the way the Self-Foveate program calls it.

    python -m foveate_dspy.offline.benchmark examples/articles.jsonl --per-level 8

For each article: micro (keywords -> reverse synthesis), scatter (keywords -> core/major ->
groups of 1-3 -> direct synthesis) and macro (key sentences -> transcription), then answer and
reread every item; an unanswerable item is re-synthesised alone at temperature 1.2 with fresh
feedback, up to 5 times. Prints engine time (inside the engine only), wall time, calls and how
many items succeeded first time, after re-synthesis, or never. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path

from foveate_dspy.offline.engine import OfflineEngine

MAX_RETRIES = 5


class TimedEngine(OfflineEngine):
    """The offline engine, also adding up the seconds spent inside `complete`."""

    def __init__(self, embedder: str = "minilm") -> None:
        super().__init__(embedder)
        self.seconds = 0.0
        self.calls = 0

    def complete(self, request):
        started = time.perf_counter()
        try:
            return super().complete(request)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1


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

    from signatures import answer, macro, micro, scatter

    engine = TimedEngine(embedder)
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

    def settle(level: str, article: str, instruction: str, regenerate) -> None:
        for attempt in range(MAX_RETRIES + 1):
            if answerable(article, instruction):
                outcome[f"{level} ok at attempt {attempt}"] += 1
                return
            if attempt < MAX_RETRIES:
                with dspy.context(lm=hot, adapter=adapter):
                    instruction = regenerate(
                        f"Attempt {attempt + 1} was unanswerable: 'I don't know.'"
                    )
        outcome[f"{level} failed"] += 1

    wall = time.perf_counter()
    for article_id, article in load_articles(path):
        with dspy.context(lm=lm, adapter=adapter):
            keywords = dspy.Predict(micro.ExtractKeywords)(article=article, count=2 * per_level)
            answers = keywords.keywords[:per_level]
            questions = dspy.Predict(micro.ReverseSynthesis)(article=article, answers=answers)
        for target, question in zip(answers, questions.questions, strict=False):
            settle(
                "micro",
                article,
                question,
                lambda fb, t=target: (
                    dspy.Predict(micro.RegenerateFromAnswer)(
                        article=article, target_answer=t, feedback=fb
                    ).question
                ),
            )

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
                lambda fb, g=group: (
                    dspy.Predict(scatter.RegenerateFromKeywordGroup)(
                        article=article, keyword_group=g, feedback=fb
                    ).question
                ),
            )

        with dspy.context(lm=lm, adapter=adapter):
            sentences = dspy.Predict(macro.ExtractKeySentences)(article=article, count=per_level)
            questions = dspy.Predict(macro.TranscriptionSynthesis)(
                article=article, key_sentences=sentences.key_sentences
            )
        for sentence, question in zip(sentences.key_sentences, questions.questions, strict=False):
            settle(
                "macro",
                article,
                question,
                lambda fb, s=sentence: (
                    dspy.Predict(macro.RegenerateFromKeySentence)(
                        article=article, key_sentence=s, feedback=fb
                    ).question
                ),
            )

    usage = [entry["usage"] for entry in lm.history + hot.history]
    return {
        "articles": len(load_articles(path)),
        "calls": engine.calls,
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
