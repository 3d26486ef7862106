"""Contamination check: hand-counted shared n-grams, hand-computed cosines, the command, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from evals_helpers import write_jsonl

from evals.cli import main
from evals.contamination import (
    NgramIndex,
    check_contamination,
    nearest_by_cosine,
    ngram_threshold,
    shares,
    words,
)

NORMANS = "When did the Normans conquer England in the eleventh century?"  # 10 words
HAMLET = "Who wrote Hamlet?"  # 3 words


def _record(text: str, level: str = "micro", where: str = "g:1") -> SimpleNamespace:
    return SimpleNamespace(instruction=text, where=where, level=level)


def test_words_are_lowercased_runs_without_punctuation() -> None:
    assert words("What's the U.S. capital?") == ["what", "s", "the", "u", "s", "capital"]
    assert words("  ") == []


@pytest.mark.parametrize(
    ("question_words", "ngram", "expected"),
    [(20, 8, 8), (11, 8, 7), (10, 8, 6), (5, 8, 4), (3, 8, 4), (10, 3, 3), (30, 12, 12), (1, 1, 1)],
)
def test_ngram_threshold_is_shorter_for_short_questions(question_words: int, ngram: int, expected: int) -> None:
    assert ngram_threshold(question_words, ngram) == expected


def test_longest_shared_ngram_and_its_question() -> None:
    index = NgramIndex([HAMLET, NORMANS])
    # shares "did the normans conquer england" (5 words) with NORMANS, "who" (1) with HAMLET
    match = index.longest("In which year did the Normans conquer England?")
    assert (match.length, match.text, match.question) == (5, "did the normans conquer england", 1)
    assert index.longest("Nothing shared here.").length == 0
    assert index.longest("").length == 0
    # 5 < threshold 6 for a 10-word question: not a copy
    assert index.flagged_by("In which year did the Normans conquer England?") is None
    # "when did the normans conquer england in the" = 8 words >= 6
    assert index.flagged_by("Tell me when did the Normans conquer England in the end") == 1
    # a 3-word question needs 4 shared words, more than it has: n-gram can never flag it
    assert index.longest("who wrote hamlet").length == 3
    assert index.flagged_by("Who wrote Hamlet?") is None


def test_nearest_cosine_by_hand() -> None:
    generated = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.1]])
    test = np.array([[1.0, 1.0], [-3.0, 0.0]])
    best, where = nearest_by_cosine(generated, test)
    assert where.tolist() == [0, 0, 1]
    assert best.tolist() == pytest.approx([2**-0.5, 2**-0.5, 1 / np.sqrt(1.01)], abs=1e-6)


def test_check_flags_by_either_signal_and_counts_shares() -> None:
    vectors = {
        NORMANS: [1.0, 0.0, 0.0],
        HAMLET: [0.0, 1.0, 0.0],
        "Who is the author of Hamlet?": [0.1, 0.99, 0.0],  # paraphrase: cosine 0.995
        "Tell me when did the Normans conquer England in the end": [0.5, 0.0, 0.866],  # copy: cosine 0.5
        "How do plants make sugar?": [0.0, 0.0, 1.0],  # unrelated: cosine 0
    }

    def embed(texts):
        return np.array([vectors[t] for t in texts])

    generated = [
        _record("Who is the author of Hamlet?", "micro", "g:1"),
        _record("Tell me when did the Normans conquer England in the end", "macro", "g:2"),
        _record("How do plants make sugar?", "micro", "g:3"),
    ]
    results = check_contamination([("sf", generated)], [HAMLET, NORMANS], ngram=8, cosine=0.9, embedder=embed)
    assert [r.index for r in results] == [0, 1, 2]
    assert [(r.flagged_ngram, r.flagged_cosine, r.flagged) for r in results] == [
        (False, True, True),
        (True, False, True),
        (False, False, False),
    ]
    assert results[0].flagged_question == HAMLET and results[0].cosine == pytest.approx(0.995, abs=1e-3)
    assert results[1].ngram == 8 and results[1].ngram_question == NORMANS
    rows = {(row["level"]): row for row in shares(results)}
    assert rows["all"]["n"] == 3 and rows["all"]["flagged"] == pytest.approx(2 / 3)
    assert rows["micro"]["cosine_flagged"] == 0.5 and rows["macro"]["ngram_flagged"] == 1.0

    no_cosine = check_contamination([("sf", generated)], [HAMLET, NORMANS], embedder=None)
    assert [r.flagged for r in no_cosine] == [False, True, False] and no_cosine[0].cosine is None


def test_index_handles_the_whole_dev_set(shared_data) -> None:
    """10,570 crowd questions indexed; a copied question is found whole, in its normalised form."""
    from evals.inputs import load_squad_questions

    questions = [r.instruction for r in load_squad_questions(shared_data / "squad11_dev_2067.jsonl")]
    index = NgramIndex(questions)
    copied = questions[1234]
    match = index.longest("Please answer: " + copied.upper())
    assert match.length == len(words(copied)) and words(questions[match.question]) == words(copied)
    assert index.flagged_by(copied) is not None


def test_command_writes_items_in_input_order(shared_data, tmp_path, capsys) -> None:
    squad = shared_data / "squad11_dev_small100.jsonl"
    first = json.loads(squad.read_text(encoding="utf-8").splitlines()[0])
    copied = first["questions"][0]["question"]
    gen = write_jsonl(tmp_path / "gen.jsonl", [
        {"instruction": "Describe how photosynthesis turns light into chemical energy.", "level": "macro",
         "method": "self-foveate"},
        {"instruction": copied.lower().rstrip("?"), "level": "micro", "method": "self-foveate"},
    ])
    out = tmp_path / "c.json"
    assert main(["contamination", str(gen), "--against", f"squad:{squad}", "--json", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| self-foveate | all | 2 |" in printed and "50.0% (1)" in printed
    data = json.loads(out.read_text(encoding="utf-8"))
    first_item, second_item = data["items"]
    assert (first_item["index"], first_item["flagged"]) == (0, False)
    assert (second_item["index"], second_item["flagged"]) == (1, True)
    assert second_item["ngram"] == len(words(copied)) and second_item["cosine"] > 0.95
    assert second_item["flagged_question"] == copied and data["n_test_questions"] == 527


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ngram", "0"], "--ngram must be between 1 and 64"),
        (["--cosine", "1.5"], "--cosine must be in (0, 1]"),
        (["--cosine", "0"], "--cosine must be in (0, 1]"),
        (["--against", "squad:{empty}"], "no test questions"),
    ],
)
def test_bad_thresholds_and_empty_test_sets_exit_2_with_one_line(repo_root, tmp_path, extra, message) -> None:
    gen = write_jsonl(tmp_path / "gen.jsonl", [{"instruction": "A question?"}])
    empty = write_jsonl(tmp_path / "empty.jsonl", [{"id": "p", "context": "Text.", "questions": []}])
    args = ["--against", f"squad:{empty}", "--embedder", "none"]
    if extra[0] == "--against":
        args[1] = extra[1].format(empty=empty)
    else:
        args += extra
    done = subprocess.run([sys.executable, "-m", "evals", "contamination", str(gen), *args], cwd=repo_root,
                          capture_output=True, text=True, timeout=120, check=False)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert message in lines[0]
