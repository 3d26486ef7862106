"""Reading the two inputs of the downstream loop: instruction pairs and test questions.

Lenient on extra fields (the synthesis pipeline and the baselines add their own), strict on the
fields fine-tuning needs: every error names the file, the line and the field, because these
files are written by other tools and edited by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from finetune.errors import FinetuneError
from foveate_dspy import json_safe
from foveate_dspy.corpus.jsonl import read_objects, write_objects


@dataclass(frozen=True)
class InstructionRecord:
    """One training pair; `article_id` groups pairs for the data-scale curve."""

    instruction: str
    output: str
    article_id: str | None
    method: str | None
    line: int


@dataclass(frozen=True)
class TestQuestion:
    """One test item: a question and every gold answer (scores take the best over them)."""

    qid: str
    question: str
    answers: tuple[str, ...]
    context: str | None


def _text_field(path: Path, lineno: int, obj: dict, field: str) -> str:
    if field not in obj:
        raise FinetuneError(f"{path}:{lineno}: missing required field '{field}'")
    value = obj[field]
    if not isinstance(value, str):
        raise FinetuneError(f"{path}:{lineno}: field '{field}' must be a string, got {type(value).__name__}")
    if not value.strip():
        raise FinetuneError(f"{path}:{lineno}: field '{field}' is empty")
    return value


def _optional_str(obj: dict, field: str) -> str | None:
    value = obj.get(field)
    return None if value is None else str(value)


def load_instructions(path: Path) -> list[InstructionRecord]:
    """Read an instructions.jsonl (`instruction`, `output`; optional `article_id`, `method`).

    Fine-tuning's reading, stricter than the evals' (`evals.inputs.load_instructions`, which
    `--decontaminate` uses on the same file) where training needs it: the file must exist and
    hold a record, and `instruction` and `output` must both be non-empty strings, since every
    record becomes a training pair. Looser elsewhere: any other field is ignored, and
    `article_id` and `method` (grouping and labels only) are taken as text whatever their type."""
    path = Path(path)
    return [
        InstructionRecord(
            instruction=_text_field(path, lineno, obj, "instruction"),
            output=_text_field(path, lineno, obj, "output"),
            article_id=_optional_str(obj, "article_id"),
            method=_optional_str(obj, "method"),
            line=lineno,
        )
        for lineno, obj in read_objects(path, FinetuneError, required=True)
    ]


def _answers(path: Path, lineno: int, obj: dict, where: str) -> tuple[str, ...]:
    if "answers" in obj:
        value = obj["answers"]
        field = "answers"
    elif "answer" in obj:
        value = obj["answer"]
        field = "answer"
    else:
        raise FinetuneError(f"{path}:{lineno}: {where}missing required field 'answers' (or 'answer')")
    golds = [value] if isinstance(value, str) else value
    if not isinstance(golds, list) or not all(isinstance(g, str) for g in golds):
        raise FinetuneError(f"{path}:{lineno}: {where}field '{field}' must be a string or a list of strings")
    golds = [g for g in golds if g.strip()]
    if not golds:
        raise FinetuneError(f"{path}:{lineno}: {where}field '{field}' holds no non-empty answer")
    return tuple(golds)


def load_questions(path: Path, limit: int | None = None) -> list[TestQuestion]:
    """Read test questions, one item per question, in file order; keep the first `limit`.

    Two layouts are accepted: the SQuAD paragraph records of ../shared/data (`context` plus a
    `questions` list) and a flat layout, one `question` with `answers` (or `answer`) per line,
    for users' own test sets."""
    path = Path(path)
    items: list[TestQuestion] = []
    for lineno, obj in read_objects(path, FinetuneError, required=True):
        if "questions" in obj:
            questions = obj["questions"]
            if not isinstance(questions, list):
                raise FinetuneError(f"{path}:{lineno}: field 'questions' must be a list")
            context = obj.get("context")
            for index, q in enumerate(questions):
                where = f"questions[{index}]: "
                if not isinstance(q, dict):
                    raise FinetuneError(f"{path}:{lineno}: {where}expected an object")
                question = _text_field(path, lineno, q, "question")
                qid = str(q.get("id", f"{obj.get('id', lineno)}#{index}"))
                items.append(TestQuestion(qid, question, _answers(path, lineno, q, where), context))
        else:
            question = _text_field(path, lineno, obj, "question")
            qid = str(obj.get("id", f"line{lineno}"))
            context = obj.get("context")
            items.append(TestQuestion(qid, question, _answers(path, lineno, obj, ""), context))
        if limit is not None and len(items) >= limit:
            break
    ids = [item.qid for item in items]
    if len(set(ids)) != len(ids):
        duplicate = next(qid for qid in ids if ids.count(qid) > 1)
        raise FinetuneError(f"{path}: question id '{duplicate}' occurs more than once; ids must be unique")
    return items[:limit] if limit is not None else items


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """Write rows as JSON Lines (UTF-8, one object per line)."""
    with Path(path).open("w", encoding="utf-8") as handle:
        write_objects(handle, rows)
