"""Answer test questions with a (tuned) model and score recall and judged accuracy.

The model answers each question closed-book, as in the paper: it was tuned on the corpus, and the
test asks whether that knowledge stuck (`with_context` gives it the passage instead). Results go
to an evaluation directory:

    OUT/eval_config.json   what was asked (model, questions and their sha256, sampling, judge)
    OUT/items.jsonl        one line per (round, question): answer, recall, verdict; appended as
                           batches finish, so a rerun with the same settings skips finished items
    OUT/summary.json       recall and accuracy, mean +- std over rounds, unparseable verdicts
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneError
from finetune.generation import PAPER_SAMPLING, Answer, Sampling
from finetune.correctness import CORRECT, INCORRECT, UNPARSEABLE, Judge, JudgeInput
from finetune.prompts import CONTEXT_INSTRUCTION, RAG_INSTRUCTION
from finetune.data import TestQuestion, load_questions
from finetune.retrieval import BM25Retriever
from finetune.scoring import best_recall
from finetune.train import file_sha256
from foveate_dspy import json_safe

EVAL_CONFIG = "eval_config.json"
ITEMS = "items.jsonl"
SUMMARY = "summary.json"


def _log(message: str) -> None:
    print(f"[finetune] {message}", file=sys.stderr, flush=True)


def question_instruction(item: TestQuestion, with_context: bool, passages: Sequence[str] = ()) -> str:
    """What the model is asked: the bare question (closed-book), the gold passage and the question
    (open-book), or retrieved passages and the question (RAG)."""
    if passages:
        numbered = "\n\n".join(f"Passage {n}:\n{text}" for n, text in enumerate(passages, start=1))
        return RAG_INSTRUCTION.format(passages=numbered, question=item.question)
    if not with_context:
        return item.question
    return CONTEXT_INSTRUCTION.format(context=item.context, question=item.question)


def _prepare_out(out: Path, config: dict[str, Any], overwrite: bool) -> None:
    """Create `out`, or accept it for resumption when it was started with the same settings.

    `rounds` may grow between runs (more rounds extend the earlier ones)."""
    if out.exists() and not out.is_dir():
        raise FinetuneError(f"--out {out} is a file; expected a directory")
    if out.is_dir() and any(out.iterdir()):
        if not (out / EVAL_CONFIG).is_file():
            raise FinetuneError(f"--out {out} is not empty and holds no evaluation; choose another --out")
        old = json.loads((out / EVAL_CONFIG).read_text(encoding="utf-8"))
        changed = [k for k in config if k != "rounds" and old.get(k) != config[k]]
        if changed and not overwrite:
            details = "; ".join(f"{k}: {old.get(k)!r} -> {config[k]!r}" for k in changed)
            raise FinetuneError(
                f"--out {out} holds an evaluation with other settings ({details}); "
                "pass --overwrite to replace it or choose another --out"
            )
        if changed or overwrite:
            for name in (EVAL_CONFIG, ITEMS, SUMMARY):
                (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / EVAL_CONFIG).write_text(json_safe.dumps(config, indent=2) + "\n", encoding="utf-8")


def read_items(path: Path, log: Callable[[str], None] = _log) -> list[dict[str, Any]]:
    """Finished items of an earlier run. A torn last line (the process died mid-write) is
    dropped and re-done; a bad line elsewhere means the file was edited and is an error."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if lineno != len(lines):
                raise FinetuneError(f"{path}:{lineno}: not valid JSON; delete the file to start over") from None
            log(f"{path}:{lineno}: dropping a torn last line; that item is redone")
            path.write_text("".join(json_safe.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


def _mean_std(values: list[float]) -> dict[str, Any]:
    """Mean and sample standard deviation over rounds (std is undefined for one round)."""
    return {
        "mean": statistics.fmean(values) if values else None,
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "per_round": values,
    }


def summarise(rows: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    """Recall and accuracy per round, then mean +- std over rounds.

    Accuracy is Correct / (Correct + Incorrect): unparseable verdicts are left out of it and
    counted on their own, so a judge's format failures neither help nor hurt the model."""
    recalls, accuracies, unparseable, judged = [], [], [], []
    for r in range(rounds):
        these = [row for row in rows if row["round"] == r]
        if not these:
            continue
        recalls.append(statistics.fmean(row["recall"] for row in these))
        verdicts = [row["verdict"] for row in these]
        parsed = verdicts.count(CORRECT) + verdicts.count(INCORRECT)
        if parsed:
            accuracies.append(verdicts.count(CORRECT) / parsed)
        unparseable.append(verdicts.count(UNPARSEABLE))
        judged.append(parsed)
    return {
        "recall": _mean_std(recalls),
        "accuracy": _mean_std(accuracies),
        "unparseable": {"total": sum(unparseable), "per_round": unparseable},
        "judged": {"total": sum(judged), "per_round": judged},
    }


def evaluate(
    model: str,
    questions: Path,
    out: Path,
    judge: Judge,
    *,
    sampling: Sampling = PAPER_SAMPLING,
    rounds: int = 1,
    batch_size: int = 16,
    limit: int | None = None,
    with_context: bool = False,
    seed: int = 0,
    quant: bool | None = None,
    prompt_format: str | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    retriever: BM25Retriever | None = None,
    log: Callable[[str], None] = _log,
) -> dict[str, Any]:
    """Generate, score and judge; return (and write) the summary. Reruns resume.

    With `retriever`, each question comes with its top-k retrieved passages (the RAG row)."""
    from finetune.modeling import describe_model_dir

    questions, out = Path(questions), Path(out)
    items = _load_items(questions, limit, with_context, rounds, batch_size, retriever is not None)
    described = describe_model_dir(model)
    config = {
        "model": str(Path(described["path"]).resolve()) if Path(described["path"]).exists() else described["path"],
        "questions": str(questions.resolve()),
        "questions_sha256": file_sha256(questions),
        "limit": limit,
        "with_context": with_context,
        "rag": retriever.describe() if retriever is not None else None,
        "sampling": dataclasses.asdict(sampling),
        "seed": seed,
        "judge": judge.name,
        "quant": quant,
        "prompt_format": prompt_format,
        "rounds": rounds,
    }
    _prepare_out(out, config, overwrite)
    rows, pending = _resume(out, items, rounds, log)
    todo = sum(len(batch) for batch in pending.values())
    timings = {"load_seconds": 0.0, "generation_seconds": 0.0, "judge_seconds": 0.0}
    new_rows: list[dict[str, Any]] = []
    if todo:
        instructions = _instructions(pending, with_context, retriever)
        new_rows, timings = _answer_and_judge(
            model, out, judge, pending, instructions, sampling, batch_size, seed, quant, prompt_format, show_progress
        )
        rows += new_rows
    summary = _summary(config, described, judge, len(items), rows, todo, new_rows, timings)
    (out / SUMMARY).write_text(json_safe.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _load_items(
    questions: Path, limit: int | None, with_context: bool, rounds: int, batch_size: int, retrieval: bool
) -> list[TestQuestion]:
    """The test questions, once the options are known to fit together; with `with_context`,
    every question must carry its passage."""
    if rounds < 1 or batch_size < 1:
        raise FinetuneError("--rounds and --batch-size must be at least 1")
    if retrieval and with_context:
        raise FinetuneError("--with-context (the gold passage) and retrieval (RAG) exclude each other")
    items = load_questions(questions, limit=limit)
    if with_context:
        missing = next((item.qid for item in items if not item.context), None)
        if missing:
            raise FinetuneError(f"{questions}: question '{missing}' has no context, which --with-context needs")
    return items


def _resume(
    out: Path, items: list[TestQuestion], rounds: int, log: Callable[[str], None]
) -> tuple[list[dict[str, Any]], dict[int, list[TestQuestion]]]:
    """The rows an earlier run finished (for questions still asked), and per round the questions
    still to answer."""
    wanted = {item.qid for item in items}
    rows = [row for row in read_items(out / ITEMS, log) if row["id"] in wanted]
    done = {(row["round"], row["id"]) for row in rows}
    pending = {r: [item for item in items if (r, item.qid) not in done] for r in range(rounds)}
    if done:
        log(f"resuming: {len(done)} items already answered, {sum(len(batch) for batch in pending.values())} to go")
    return rows, pending


def _instructions(
    pending: dict[int, list[TestQuestion]], with_context: bool, retriever: BM25Retriever | None
) -> dict[str, str]:
    """Per question id, what the model is asked (retrieval runs once per question, not per round)."""
    return {
        item.qid: question_instruction(
            item, with_context, [p.text for p in retriever.search(item.question)] if retriever else ()
        )
        for batch in pending.values()
        for item in batch
    }


def _summary(
    config: dict[str, Any],
    described: dict[str, Any],
    judge: Judge,
    n_questions: int,
    rows: list[dict[str, Any]],
    todo: int,
    new_rows: list[dict[str, Any]],
    timings: dict[str, float],
) -> dict[str, Any]:
    """summary.json: the settings, the scores over every round, and this session's work."""
    generated = sum(row["generated_tokens"] for row in new_rows)
    return {
        "model": config["model"],
        "model_kind": described["kind"],
        "loaded_in_4bit": described["quant"] if config["quant"] is None else config["quant"],
        "questions": config["questions"],
        "n_questions": n_questions,
        "rounds": config["rounds"],
        "with_context": config["with_context"],
        "rag": config["rag"],
        "sampling": config["sampling"],
        "judge": judge.name,
        "judge_kind": judge.kind,
        **summarise(rows, config["rounds"]),
        "answered_this_session": todo,
        **timings,
        "generated_tokens_this_session": generated,
        "generated_tokens_per_second": (
            round(generated / timings["generation_seconds"], 1) if timings["generation_seconds"] else None
        ),
    }


def _answer_and_judge(
    model: str,
    out: Path,
    judge: Judge,
    pending: dict[int, list[TestQuestion]],
    instructions: dict[str, str],
    sampling: Sampling,
    batch_size: int,
    seed: int,
    quant: bool | None,
    prompt_format: str | None,
    show_progress: bool,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Answer pending items round by round; judge and append each batch as soon as it is done.
    Returns the new rows and the seconds spent loading the model, generating and judging."""
    from tqdm.auto import tqdm

    from finetune.generation import iter_answers
    from finetune.modeling import load_for_generation
    from finetune.prompts import render_prompt, resolve_prompt_format

    started = time.perf_counter()
    loaded = load_for_generation(model, quant=quant)
    loaded_at = time.perf_counter()
    judge_seconds = 0.0
    fmt = resolve_prompt_format(loaded.tokenizer, prompt_format or loaded.prompt_format or "auto")
    new_rows: list[dict[str, Any]] = []
    total = sum(len(batch) for batch in pending.values())
    with (
        tqdm(total=total, desc="answering", unit="q", disable=not show_progress) as bar,
        (out / ITEMS).open("a", encoding="utf-8") as sink,
    ):
        for round_index, items in pending.items():
            prompts = [render_prompt(loaded.tokenizer, instructions[i.qid], fmt) for i in items]
            for batch in iter_answers(
                loaded.model, loaded.tokenizer, prompts, fmt, sampling, batch_size=batch_size, seed=seed + round_index
            ):
                judging = time.perf_counter()
                verdicts = judge.verdicts(
                    [JudgeInput(items[a.index].question, items[a.index].answers, a.text) for a in batch]
                )
                judge_seconds += time.perf_counter() - judging
                for row in _scored_rows(round_index, items, batch, verdicts):
                    sink.write(json_safe.dumps(row, ensure_ascii=False) + "\n")
                    new_rows.append(row)
                sink.flush()
                bar.update(len(batch))
    generation_seconds = time.perf_counter() - loaded_at - judge_seconds
    return new_rows, {
        "load_seconds": round(loaded_at - started, 2),
        "generation_seconds": round(generation_seconds, 2),
        "judge_seconds": round(judge_seconds, 2),
    }


def _scored_rows(round_index: int, items: list[TestQuestion], batch: list[Answer], verdicts: list[str]) -> list[dict[str, Any]]:
    """items.jsonl rows for one batch of answers: each with its recall and the judge's verdict."""
    rows = []
    for answer, verdict in zip(batch, verdicts, strict=True):
        item = items[answer.index]
        rows.append(
            {
                "round": round_index,
                "id": item.qid,
                "question": item.question,
                "answers": list(item.answers),
                "generated": answer.text,
                "generated_tokens": answer.tokens,
                "recall": best_recall(answer.text, item.answers),
                "verdict": verdict,
            }
        )
    return rows
