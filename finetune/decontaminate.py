"""Dropping training pairs that nearly copy a test question, before a model learns them.

A tuned model that saw a test question (or a paraphrase) during training answers it from memory
of the pair, not of the corpus, and the downstream score stops measuring what the data taught.
`python -m evals contamination` decides which items are copies; this module applies its verdicts
to an instruction file and records what it dropped, so a run's report says how clean its data was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneError


@dataclass(frozen=True)
class Decontamination:
    """What to check training data against: TEST in any evals input form (e.g. squad:PATH)."""

    against: str
    ngram: int = 8
    cosine: float = 0.9
    embedder: str = "minilm"

    def validate(self) -> None:
        """Refuse bad thresholds and unreadable or empty test sets before anything runs."""
        from evals.contamination import check_thresholds

        try:
            check_thresholds(self.ngram, self.cosine)
        except ValueError as err:
            raise FinetuneError(str(err).replace("--", "--contamination-")) from None
        self.questions()

    def questions(self) -> list[str]:
        from evals.inputs import InputError, load_input

        try:
            test = load_input(self.against)
        except (InputError, OSError) as err:
            raise FinetuneError(f"--decontaminate {self.against}: {err}") from None
        questions = [record.instruction for record in test.records if record.instruction.strip()]
        if not questions:
            raise FinetuneError(f"--decontaminate {self.against}: no test questions in it")
        return questions


def flag_instructions(data: Path, spec: Decontamination) -> tuple[list[bool], dict[str, Any]]:
    """Per record of `data` (file order, blank lines skipped, as every loader here reads it):
    whether it is flagged; and a report with the counts and every dropped item."""
    from evals.contamination import check_contamination
    from evals.embedding import load_embedder
    from evals.inputs import InputError, load_instructions

    questions = spec.questions()
    try:
        records = load_instructions(Path(data))
    except InputError as err:
        raise FinetuneError(str(err)) from None
    embedder = None if spec.embedder == "none" else load_embedder(spec.embedder)
    results = check_contamination([(Path(data).name, records)], questions, ngram=spec.ngram,
                                  cosine=spec.cosine, embedder=embedder)
    dropped = [item for item in results if item.flagged]
    report = {
        **asdict(spec),
        "n_test_questions": len(questions),
        "n_input": len(results),
        "n_dropped": len(dropped),
        "n_kept": len(results) - len(dropped),
        "dropped_by_ngram": sum(item.flagged_ngram for item in dropped),
        "dropped_by_cosine": sum(item.flagged_cosine for item in dropped),
        "dropped": [
            {"where": item.where, "instruction": item.instruction, "ngram": item.ngram, "cosine": item.cosine,
             "test_question": item.flagged_question}
            for item in dropped
        ],
    }
    return [item.flagged for item in results], report


def decontaminate_file(data: Path, spec: Decontamination, out: Path) -> dict[str, Any]:
    """Write the records of `data` that are not flagged to `out`; return the report."""
    from finetune.data import write_jsonl
    from foveate_dspy.corpus.jsonl import read_objects

    flags, report = flag_instructions(data, spec)
    rows = [obj for _, obj in read_objects(Path(data), FinetuneError, required=True)]
    if len(rows) != len(flags):  # both readers skip the same blank lines; anything else is a bug
        raise FinetuneError(f"{data}: read {len(rows)} records but checked {len(flags)}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(Path(out), [row for row, flagged in zip(rows, flags, strict=True) if not flagged])
    return report
