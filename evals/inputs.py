"""Reading the evals' inputs: instruction JSONL files, SQuAD-format test questions, corpora.

Lenient on extra fields, strict on the ones an eval needs: every problem is reported as
``file:line: what is wrong`` so a broken line in a 100,000-line file can be found at once.

An input on the command line is ``[NAME=]SOURCE`` where SOURCE is

* ``PATH``            an instructions JSONL (what ``python -m foveate_dspy.compile`` writes);
* ``squad:PATH``      every crowd question of a SQuAD-format JSONL, as the "Test Questions"
                      reference of the paper's Table 3 (article_id = the record's id, the
                      paragraph travels along as the article text, the first answer as output);
* ``squad-one:PATH``  one question per paragraph, chosen with ``random.Random(0)`` and
                      ``rng.choice(record["questions"])`` in file order (the sampling behind the
                      data README's 0.706).

NAME defaults to the records' ``method`` field when all records agree, else the file stem
("test-questions" for SQuAD sources).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foveate_dspy.corpus.jsonl import read_objects

SQUAD_PREFIXES = ("squad:", "squad-one:")
TEST_QUESTIONS_METHOD = "test-questions"
RECORD_ARTICLE_FIELDS = ("context", "article")


class InputError(ValueError):
    """A problem with an input file, with the file and line in the message."""


@dataclass(frozen=True)
class Instruction:
    """One instruction (and its answer) as the evals see it; ``where`` is ``file:line``."""

    instruction: str
    where: str
    output: str | None = None
    article_id: str | None = None
    level: str | None = None
    method: str | None = None
    article: str | None = None
    id: str | None = None


@dataclass
class InstructionSet:
    """The instructions of one method, named for tables and metric keys."""

    name: str
    source: str
    records: list[Instruction] = field(default_factory=list)

    def level_counts(self) -> dict[str, int]:
        return dict(Counter(r.level or "unlabelled" for r in self.records))

    def nonempty_instructions(self) -> list[str]:
        """Instruction texts with empty / whitespace-only ones left out (scored as nothing)."""
        return [r.instruction for r in self.records if r.instruction.strip()]


def _string_field(obj: dict[str, Any], name: str, where: str, *, required: bool) -> str | None:
    if name not in obj or obj[name] is None:
        if required:
            raise InputError(f"{where}: missing required field '{name}'")
        return None
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"{where}: field '{name}' must be a string, got {type(value).__name__}")
    return str(value)


def _first_present(obj: dict[str, Any], names: tuple[str, ...], where: str) -> str | None:
    for name in names:
        if obj.get(name) is not None:
            return _string_field(obj, name, where, required=True)
    return None


def load_instructions(path: Path) -> list[Instruction]:
    """Records of an instructions JSONL; only ``instruction`` is required at this point.

    The evals' reading, deliberately looser than fine-tuning's (``finetune.data.load_instructions``),
    which must train on every record: here ``output`` may be missing (diversity and difficulty
    score instructions alone), a field may be an integer, and an empty file is an empty set.
    Stricter on the optional fields the evals use (``article_id``, ``level``, ``method``, the
    article text, ``id``): each must be a string or an integer, which fine-tuning, reading only
    ``article_id`` and ``method``, does not check."""
    records = []
    for lineno, obj in read_objects(path, InputError):
        where = f"{path}:{lineno}"
        records.append(
            Instruction(
                instruction=_string_field(obj, "instruction", where, required=True),
                where=where,
                output=_string_field(obj, "output", where, required=False),
                article_id=_string_field(obj, "article_id", where, required=False),
                level=_string_field(obj, "level", where, required=False),
                method=_string_field(obj, "method", where, required=False),
                article=_first_present(obj, RECORD_ARTICLE_FIELDS, where),
                id=_string_field(obj, "id", where, required=False),
            )
        )
    return records


def load_squad_questions(path: Path, one_per_paragraph: bool = False) -> list[Instruction]:
    """Crowd questions of a SQuAD-format JSONL as instructions (see module docstring)."""
    rng = random.Random(0)
    records = []
    for lineno, obj in read_objects(path, InputError):
        where = f"{path}:{lineno}"
        record_id = _string_field(obj, "id", where, required=True)
        context = _string_field(obj, "context", where, required=True)
        questions = obj.get("questions")
        if not isinstance(questions, list):
            raise InputError(f"{where}: field 'questions' must be a list of objects")
        if not questions:
            continue
        chosen = [rng.choice(questions)] if one_per_paragraph else questions
        for question in chosen:
            if not isinstance(question, dict):
                raise InputError(f"{where}: field 'questions' must hold objects")
            answers = question.get("answers") or []
            records.append(
                Instruction(
                    instruction=_string_field(question, "question", f"{where} (questions[].)", required=True),
                    where=where,
                    output=str(answers[0]) if answers else None,
                    article_id=record_id,
                    level="test-question",
                    method=TEST_QUESTIONS_METHOD,
                    article=context,
                    id=_string_field(question, "id", where, required=False),
                )
            )
    return records


def load_corpus(
    path: Path, chunk_tokens: int | None = None, text_field: str | None = None, id_field: str | None = None
) -> dict[str, str]:
    """Article id -> text, read exactly as ``python -m foveate_dspy.compile`` reads a corpus.

    Sharing the compile's reader means the same formats (JSONL, CSV, Parquet, text folders) and,
    above all, the same article ids: records without an id and the chunks of long documents
    (``<id>#chunk<k>``) get the ids the instructions carry. ``chunk_tokens``, ``text_field`` and
    ``id_field`` must match the compile run's options of the same names (default: the compile's
    defaults). A chunked document can also be looked up by its own id, as its chunks joined.
    """
    from foveate_dspy.corpus.chunking import DEFAULT_CHUNK_TOKENS
    from foveate_dspy.corpus.readers import CorpusError
    from foveate_dspy.corpus.readers import load_corpus as load_articles

    try:
        articles = load_articles(
            path, text_field, id_field=id_field,
            chunk_tokens=DEFAULT_CHUNK_TOKENS if chunk_tokens is None else chunk_tokens,
        )
    except CorpusError as exc:
        raise InputError(str(exc)) from exc
    texts = {article.id: article.text for article in articles}
    chunks_of: dict[str, list[str]] = {}
    for article in articles:
        source_id = article.source.get("source_id")
        if article.source.get("chunks", 1) > 1 and source_id is not None:
            chunks_of.setdefault(str(source_id), []).append(article.text)
    for source_id, parts in chunks_of.items():
        texts.setdefault(source_id, " ".join(parts))
    return texts


def _split_name(spec: str) -> tuple[str | None, str]:
    """``NAME=SOURCE`` -> (NAME, SOURCE); a bare path that happens to contain '=' stays a path."""
    if "=" not in spec or Path(spec).exists():
        return None, spec
    name, source = spec.split("=", 1)
    if not name or "/" in name or name.startswith(SQUAD_PREFIXES):
        return None, spec
    return name, source


def load_input(spec: str) -> InstructionSet:
    """Parse one ``[NAME=]SOURCE`` argument and load its records."""
    name, source = _split_name(spec)
    if source.startswith("squad-one:"):
        path = Path(source[len("squad-one:"):])
        records = load_squad_questions(path, one_per_paragraph=True)
    elif source.startswith("squad:"):
        path = Path(source[len("squad:"):])
        records = load_squad_questions(path)
    else:
        path = Path(source)
        records = load_instructions(path)
    if name is None:
        methods = {r.method for r in records}
        name = methods.pop() if len(methods) == 1 and None not in methods else path.stem
    return InstructionSet(name=name, source=str(path), records=records)


def load_inputs(specs: list[str]) -> list[InstructionSet]:
    """Load every input; two inputs may not share a name (metric keys would collide)."""
    sets = [load_input(spec) for spec in specs]
    seen: dict[str, str] = {}
    for instruction_set in sets:
        if instruction_set.name in seen:
            raise InputError(
                f"inputs {seen[instruction_set.name]} and {instruction_set.source} are both named "
                f"'{instruction_set.name}'; name them explicitly with NAME=PATH"
            )
        seen[instruction_set.name] = instruction_set.source
    return sets


def require_field(instruction_set: InstructionSet, field_name: str, purpose: str) -> None:
    """Fail on the first record lacking ``field_name``, naming its file and line."""
    for record in instruction_set.records:
        if getattr(record, field_name) is None:
            raise InputError(f"{record.where}: missing required field '{field_name}' ({purpose})")
