"""Reference rows of `finetune compare` (base, open-book, RAG) and decontaminated training data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from finetune_helpers import SQUAD_SMALL, squad_records, tiny_model, write_instructions  # noqa: E402

from finetune.compare import compare, parse_named_files  # noqa: E402
from finetune.config import TrainConfig  # noqa: E402
from finetune.decontaminate import Decontamination  # noqa: E402
from finetune.errors import FinetuneError  # noqa: E402
from finetune.evaluate import question_instruction  # noqa: E402
from finetune.generation import Sampling  # noqa: E402
from finetune.correctness import OfflineJudge  # noqa: E402
from finetune.data import TestQuestion as Question  # noqa: E402
from finetune.retrieval import BM25Retriever, Passage, missing_paragraphs  # noqa: E402
from finetune.train import train  # noqa: E402

SHORT = Sampling(temperature=0.5, top_p=0.95, max_new_tokens=4)
QUICK = dict(quant=False, per_device_train_batch_size=8, gradient_accumulation_steps=1, logging_steps=5)
CORPUS = [
    Passage("seine", "The Seine flows through Paris before it reaches the English Channel at Le Havre."),
    Passage("danube", "The Danube passes Vienna, Budapest and Belgrade on its way to the Black Sea."),
    Passage("thames", "London grew up on the Thames, whose tidal reach ends at Teddington Lock."),
    Passage("volcano", "Mount Etna on Sicily is one of the most active volcanoes in the world."),
]


def _quiet(_: str) -> None:
    pass


def test_bm25_finds_the_paragraph_a_question_is_about() -> None:
    retriever = BM25Retriever(CORPUS, k=2)
    assert retriever.search("Which river flows through Paris?")[0].id == "seine"
    assert retriever.search("Where does the Danube end?")[0].id == "danube"
    assert retriever.search("Which volcano is on Sicily?")[0].id == "volcano"
    assert len(retriever.search("Which river flows through Paris?")) == 2
    assert BM25Retriever(CORPUS, k=10).k == 4  # never more than the corpus holds
    with pytest.raises(FinetuneError, match="no paragraphs"):
        BM25Retriever([], k=3)


def test_missing_paragraphs_counts_distinct_absent_test_paragraphs() -> None:
    contexts = [CORPUS[0].text, "  " + CORPUS[0].text.replace(" ", "\n", 1), "A paragraph not in the corpus.", None]
    assert missing_paragraphs(contexts, CORPUS) == 1
    assert missing_paragraphs(contexts, CORPUS[1:]) == 2


def test_prompts_closed_open_book_and_rag() -> None:
    item = Question("q1", "Which river flows through Paris?", ("Seine",), CORPUS[0].text)
    assert question_instruction(item, False) == "Which river flows through Paris?"
    open_book = question_instruction(item, True)
    assert CORPUS[0].text in open_book and open_book.endswith("Question: Which river flows through Paris?")
    rag = question_instruction(item, False, [CORPUS[2].text, CORPUS[0].text])
    assert f"Passage 1:\n{CORPUS[2].text}" in rag and f"Passage 2:\n{CORPUS[0].text}" in rag
    assert rag.endswith("Question: Which river flows through Paris?")


def test_reference_names_are_reserved(tmp_path: Path) -> None:
    data = write_instructions(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}])
    for name in ("base", "open-book", "rag"):
        with pytest.raises(FinetuneError, match="reserved"):
            parse_named_files([f"{name}={data}"])


@pytest.mark.slow
def test_compare_reference_rows_and_decontamination(tmp_path: Path, shared_data: Path) -> None:
    """Base, open-book and RAG rows beside a tuned run whose copied test questions are dropped;
    the RAG corpus lacks one of the test paragraphs, and the report says so."""
    questions = shared_data / "squad11_dev_small100.jsonl"
    lines = questions.read_text(encoding="utf-8").splitlines()
    test = tmp_path / "test.jsonl"
    test.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(lines[1:30]) + "\n", encoding="utf-8")  # lacks the first test paragraph
    first_two = [json.loads(line) for line in lines[:2]]
    n_test = sum(len(record["questions"]) for record in first_two)
    copies = squad_records(3)  # the first three crowd questions, verbatim
    others = [
        {"instruction": f"Describe topic number {i} in detail.", "output": "It is a topic.", "article_id": "x"}
        for i in range(5)
    ]
    data = write_instructions(tmp_path / "data.jsonl", copies + others)
    spec = Decontamination(f"squad:{test}", embedder="none")
    out = tmp_path / "cmp"
    rows = compare(
        str(tiny_model()), test, out, parse_named_files([f"mixed={data}"]), OfflineJudge(),
        TrainConfig(**QUICK, max_steps=2, save_steps=100), open_book=True, rag=True, rag_corpus=corpus, rag_k=2,
        decontaminate=spec, sampling=SHORT, show_progress=False, log=_quiet,
    )  # fmt: skip
    assert [(r["name"], r["context"], r["n_records"]) for r in rows] == [
        ("base", "closed", 0), ("open-book", "gold", 0), ("rag", "rag", 0), ("mixed", "closed", 5),
    ]  # fmt: skip
    assert rows[3]["decontamination"]["n_dropped"] == 3 and rows[3]["decontamination"]["n_input"] == 8
    assert all(r["n_questions"] == n_test and r["recall"]["mean"] is not None for r in rows)
    table = (out / "compare.md").read_text(encoding="utf-8")
    for needle in ("| base | none (base model, closed-book) |", "| open-book | open-book", "| rag | RAG",
                   "| mixed |", "| 3 of 8 |", "1 of the 2 test paragraphs are absent"):
        assert needle in table, needle
    report = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert report["rag"]["test_paragraphs_absent"] == 1 and report["rag"]["k"] == 2
    open_config = json.loads((out / "open-book" / "eval" / "eval_config.json").read_text())
    rag_config = json.loads((out / "rag" / "eval" / "eval_config.json").read_text())
    assert open_config["with_context"] is True and open_config["rag"] is None
    assert rag_config["with_context"] is False and rag_config["rag"]["paragraphs"] == 29
    kept = [json.loads(line)["instruction"] for line in (out / "mixed" / "instructions.jsonl").open()]
    assert kept == [row["instruction"] for row in others]


def test_train_decontaminates_and_records_it(tmp_path: Path) -> None:
    data = write_instructions(tmp_path / "d.jsonl", squad_records(2) + [
        {"instruction": "Describe topic number 1 in detail.", "output": "It is.", "article_id": "x"}
    ])  # fmt: skip
    spec = Decontamination(f"squad:{SQUAD_SMALL}", embedder="none")
    summary = train(data, str(tiny_model()), tmp_path / "run", TrainConfig(**QUICK, max_steps=1),
                    decontaminate=spec, show_progress=False, log=_quiet)  # fmt: skip
    assert summary["n_records"] == 1
    assert summary["decontamination"]["n_dropped"] == 2 and summary["decontamination"]["n_input"] == 3
    dropped = json.loads((tmp_path / "run" / "decontamination.json").read_text())["dropped"]
    assert [d["instruction"] for d in dropped] == [r["instruction"] for r in squad_records(2)]
    with pytest.raises(FinetuneError, match="--contamination-cosine must be in"):
        Decontamination(f"squad:{SQUAD_SMALL}", cosine=2.0).validate()
    with pytest.raises(FinetuneError, match="absent.jsonl: cannot open"):
        Decontamination(f"squad:{tmp_path / 'absent.jsonl'}").validate()
