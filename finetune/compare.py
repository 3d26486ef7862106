"""Several instruction sets, one base model, one test set: the paper's Table 4 and Figure 3.

Each named instruction file is trained and evaluated into OUT/NAME/{train,eval}. With `sizes`,
each file is also cut to k instructions per article (the data-scale curve of Figure 3) and run
as NAME@k. Reference rows put the tuned models in context: the untuned base model closed-book
(the "None" row, on by default), open-book (the gold paragraph in the prompt: the
reading-comprehension ceiling) and RAG (the top-k BM25 paragraphs of a corpus in the prompt).
With `decontaminate`, each file first loses the records that nearly copy a test question
(OUT/NAME/instructions.jsonl holds the rest). Every step resumes, so an interrupted comparison is
rerun with the same command, and a finished one only redraws its report.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune.config import TrainConfig
from finetune.decontaminate import Decontamination, decontaminate_file
from finetune.errors import FinetuneError
from finetune.evaluate import evaluate
from finetune.generation import PAPER_SAMPLING, Sampling
from finetune.correctness import Judge
from finetune.data import TestQuestion, load_instructions, load_questions, write_jsonl
from foveate_dspy.corpus.jsonl import read_objects
from finetune.retrieval import DEFAULT_RAG_K, BM25Retriever, load_passages, missing_paragraphs
from finetune.train import train

BASE_RUN, OPEN_BOOK_RUN, RAG_RUN = "base", "open-book", "rag"
#: Rows that evaluate the untuned base model: name -> (prompt context, method label).
REFERENCE_ROWS = {
    BASE_RUN: ("closed", "none (base model, closed-book)"),
    OPEN_BOOK_RUN: ("gold", "open-book (base model + gold paragraph)"),
    RAG_RUN: ("rag", "RAG (base model + BM25 top-k paragraphs)"),
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _log(message: str) -> None:
    print(f"[finetune] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RunSpec:
    """One row of the comparison: `data` None means the base model evaluated untuned, with
    `context` closed (no passage), gold (the question's paragraph) or rag (retrieved ones)."""

    name: str
    source: str | None
    data: Path | None
    size: int | None
    context: str = "closed"


def parse_named_files(specs: Sequence[str]) -> list[tuple[str, Path]]:
    """`NAME=PATH` arguments; names become directory names, so they are kept simple and unique."""
    parsed: list[tuple[str, Path]] = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise FinetuneError(f"'{spec}': expected NAME=PATH (e.g. self-foveate=runs/sf/instructions.jsonl)")
        if not _NAME.fullmatch(name) or name in REFERENCE_ROWS:
            raise FinetuneError(
                f"'{name}': run names use letters, digits, '.', '_' and '-' (and "
                f"{', '.join(repr(n) for n in REFERENCE_ROWS)} are reserved)"
            )
        if any(name == seen for seen, _ in parsed):
            raise FinetuneError(f"run name '{name}' is given twice")
        if not Path(path).is_file():
            raise FinetuneError(f"{path}: no such instruction file (for run '{name}')")
        parsed.append((name, Path(path)))
    return parsed


def subsample_per_article(path: Path, per_article: int, seed: int) -> list[dict[str, Any]]:
    """At most `per_article` records of each article, in file order.

    Each article's records are shuffled once with a seed derived from (seed, article id), and the
    first k are kept, so the subsets are nested (k=1 inside k=2 inside k=4) and a curve over k
    adds data instead of swapping it."""
    load_instructions(path)  # validates required fields, naming file:line
    by_article: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for lineno, obj in read_objects(path, FinetuneError, required=True):
        if obj.get("article_id") is None:
            raise FinetuneError(f"{path}:{lineno}: missing field 'article_id', which --sizes needs to group by article")
        by_article[str(obj["article_id"])].append((lineno, obj))
    kept: list[tuple[int, dict[str, Any]]] = []
    for article, records in by_article.items():
        shuffled = list(records)
        random.Random(f"{seed}/{article}").shuffle(shuffled)
        kept += shuffled[:per_article]
    return [obj for _, obj in sorted(kept, key=lambda pair: pair[0])]


def plan_runs(
    named: list[tuple[str, Path]],
    sizes: Sequence[int],
    include_base: bool,
    out: Path,
    seed: int,
    *,
    open_book: bool = False,
    rag: bool = False,
) -> list[RunSpec]:
    """Rows to run: the reference rows asked for, every file in full, every file at every size."""
    wanted = {BASE_RUN: include_base, OPEN_BOOK_RUN: open_book, RAG_RUN: rag}
    runs = [RunSpec(name, None, None, None, REFERENCE_ROWS[name][0]) for name, on in wanted.items() if on]
    for name, path in named:
        runs.append(RunSpec(name, name, path, None))
        for k in sizes:
            subset = out / f"{name}@{k}" / "instructions.jsonl"
            subset.parent.mkdir(parents=True, exist_ok=True)
            write_jsonl(subset, subsample_per_article(path, k, seed))
            runs.append(RunSpec(f"{name}@{k}", name, subset, k))
    return runs


def _method_label(path: Path, fallback: str) -> str:
    """The `method` the synthesiser recorded (most common one), else the run's name."""
    methods = Counter(record.method for record in load_instructions(path) if record.method)
    return methods.most_common(1)[0][0] if methods else fallback


def compare(
    base_model: str,
    questions: Path,
    out: Path,
    named: list[tuple[str, Path]],
    judge: Judge,
    config: TrainConfig,
    *,
    sizes: Sequence[int] = (),
    include_base: bool = True,
    open_book: bool = False,
    rag: bool = False,
    rag_corpus: Path | None = None,
    rag_k: int = DEFAULT_RAG_K,
    decontaminate: Decontamination | None = None,
    sampling: Sampling = PAPER_SAMPLING,
    rounds: int = 1,
    batch_size: int = 16,
    limit: int | None = None,
    with_context: bool = False,
    seed: int = 0,
    show_progress: bool = True,
    log: Callable[[str], None] = _log,
) -> list[dict[str, Any]]:
    """Train and evaluate every planned run, then write compare.json, compare.md and compare.png.

    `rag_corpus` defaults to the questions file's own paragraphs."""
    from finetune.compare_report import write_report

    _check_rows(named, sizes, include_base or open_book or rag)
    test_items = _test_items(Path(questions), limit, open_book)
    retriever, rag_info = None, None
    if rag:
        retriever, rag_info = _rag_retriever(Path(rag_corpus) if rag_corpus is not None else Path(questions), rag_k, test_items, log)
    if decontaminate is not None:
        decontaminate.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cleaning: dict[str, dict[str, Any]] = {}
    if decontaminate is not None:
        named, cleaning = _decontaminate_all(named, decontaminate, out, log)
    runs = plan_runs(named, sorted(set(sizes)), include_base, out, seed, open_book=open_book, rag=rag)
    evaluation = _Evaluation(
        Path(questions), judge, sampling, rounds, batch_size, limit, with_context, seed, config, show_progress, retriever, log
    )
    rows = []
    for number, run in enumerate(runs, start=1):
        log(f"run {number}/{len(runs)}: {run.name}")
        trained = _train_run(run, base_model, out, config, show_progress, log)
        summary = evaluation.run(run, trained.model, out / run.name / "eval")
        rows.append(_row(run, trained, summary, rounds, cleaning.get(run.source) if run.source else None))
    write_report(rows, out, base_model=base_model, questions=Path(questions), rag=rag_info)
    return rows


def _check_rows(named: list[tuple[str, Path]], sizes: Sequence[int], references: bool) -> None:
    """Refuse a comparison with no row at all, or a data-scale curve with a size below one."""
    if not named and not references:
        raise FinetuneError("nothing to compare: give NAME=PATH instruction files and/or reference rows")
    if any(k < 1 for k in sizes):
        raise FinetuneError("--sizes must be positive instructions-per-article counts")


def _test_items(questions: Path, limit: int | None, open_book: bool) -> list[TestQuestion]:
    """The test questions; the open-book row needs every one to carry its paragraph."""
    test_items = load_questions(questions, limit=limit)
    if open_book and not all(item.context for item in test_items):
        missing = next(item.qid for item in test_items if not item.context)
        raise FinetuneError(f"{questions}: question '{missing}' has no paragraph, which the open-book row needs")
    return test_items


def _rag_retriever(
    corpus: Path, k: int, test_items: list[TestQuestion], log: Callable[[str], None]
) -> tuple[BM25Retriever, dict[str, Any]]:
    """The RAG row's retriever over `corpus`, and its description for the report; a corpus that
    lacks some test paragraphs is allowed, with a warning (those questions cannot find their own)."""
    passages = load_passages(corpus)
    absent = missing_paragraphs([item.context for item in test_items], passages)
    paragraphs = len({item.context for item in test_items if item.context})
    if absent:
        log(f"warning: the RAG corpus {corpus} lacks {absent} of the {paragraphs} test paragraphs; "
            "their questions cannot retrieve their own paragraph")
    retriever = BM25Retriever(passages, k, source=str(corpus))
    return retriever, {**retriever.describe(), "test_paragraphs": paragraphs, "test_paragraphs_absent": absent}


def _decontaminate_all(
    named: list[tuple[str, Path]], decontaminate: Decontamination, out: Path, log: Callable[[str], None]
) -> tuple[list[tuple[str, Path]], dict[str, dict[str, Any]]]:
    """Each file without the records that nearly copy a test question (OUT/NAME/instructions.jsonl),
    and per run name the decontamination report for the comparison's rows."""
    cleaned, cleaning = [], {}
    for name, path in named:
        kept = out / name / "instructions.jsonl"
        report = decontaminate_file(path, decontaminate, kept)
        (out / name / "decontamination.json").write_text(
            json.dumps(report, indent=2) + "\n", encoding="utf-8"
        )
        log(f"{name}: decontamination dropped {report['n_dropped']} of {report['n_input']} records")
        if not report["n_kept"]:
            raise FinetuneError(f"{path}: every record nearly copies a test question; nothing left to train on")
        cleaning[name] = {k: v for k, v in report.items() if k != "dropped"}
        cleaned.append((name, kept))
    return cleaned, cleaning


@dataclass(frozen=True)
class _Trained:
    """The model a row evaluates, and what it was tuned on (nothing for a reference row)."""

    model: str
    n_records: int
    n_articles: int
    method: str


def _train_run(run: RunSpec, base_model: str, out: Path, config: TrainConfig, show_progress: bool, log: Callable[[str], None]) -> _Trained:
    """Tune the base model on the run's instructions (resuming a finished or interrupted training);
    a reference row evaluates the base model as it is."""
    if run.data is None:
        return _Trained(base_model, 0, 0, REFERENCE_ROWS[run.name][1])
    train(run.data, base_model, out / run.name / "train", config, resume=True, show_progress=show_progress, log=log)
    records = load_instructions(run.data)
    return _Trained(
        str(out / run.name / "train"),
        len(records),
        len({r.article_id for r in records if r.article_id is not None}),
        _method_label(run.data, run.source or run.name),
    )


@dataclass(frozen=True)
class _Evaluation:
    """How every row is evaluated: the same test set, judge and sampling for all of them."""

    questions: Path
    judge: Judge
    sampling: Sampling
    rounds: int
    batch_size: int
    limit: int | None
    with_context: bool
    seed: int
    config: TrainConfig
    show_progress: bool
    retriever: BM25Retriever | None
    log: Callable[[str], None]

    def run(self, run: RunSpec, model: str, out: Path) -> dict[str, Any]:
        """Evaluate `model` for `run` into `out`; a reference row gets its own prompt context
        (gold passage, retrieved passages) and the training config's prompt format."""
        return evaluate(
            model,
            self.questions,
            out,
            self.judge,
            sampling=self.sampling,
            rounds=self.rounds,
            batch_size=self.batch_size,
            limit=self.limit,
            with_context=run.context == "gold" or (self.with_context and run.context == "closed"),
            seed=self.seed,
            quant=self.config.quant,
            prompt_format=None if run.data is not None else self.config.prompt_format,
            show_progress=self.show_progress,
            retriever=self.retriever if run.context == "rag" else None,
            log=self.log,
        )


def _row(run: RunSpec, trained: _Trained, summary: dict[str, Any], rounds: int, cleaning: dict[str, Any] | None) -> dict[str, Any]:
    """One row of compare.json: the run, what it was tuned on, and its evaluation's scores."""
    return {
        "name": run.name,
        "source": run.source,
        "method": trained.method,
        "per_article": run.size,
        "n_records": trained.n_records,
        "n_articles": trained.n_articles,
        "recall": summary["recall"],
        "accuracy": summary["accuracy"],
        "unparseable": summary["unparseable"]["total"],
        "judge": summary["judge"],
        "judge_kind": summary["judge_kind"],
        "n_questions": summary["n_questions"],
        "rounds": rounds,
        "context": run.context,
        "decontamination": cleaning,
    }
