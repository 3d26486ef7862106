"""Recall, containment, summaries and the judges: pure functions and scripted LMs, no model."""

from __future__ import annotations

import pytest
from finetune_helpers import scripted_judge_lm

from finetune.evaluate import summarise
from finetune.correctness import CORRECT, INCORRECT, UNPARSEABLE, JudgeInput, LLMJudge, OfflineJudge, ground_truth_text
from finetune.scoring import best_recall, contains_gold, normalize_answer, token_recall


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Denver Broncos!", "denver broncos"),
        ("  A  tale of   an apple ", "tale of apple"),
        ("U.S.-based", "usbased"),
        ("Theory, then", "theory then"),  # 'the' only as a whole word
        ("", ""),
    ],
)
def test_normalize_answer_matches_squad_rules(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    ("generated", "gold", "expected"),
    [
        # gold "Denver Broncos" -> {denver, broncos}; both present
        ("The champions were the Denver Broncos.", "Denver Broncos", 1.0),
        # only "broncos" present: 1 of 2 gold tokens
        ("The Broncos won.", "Denver Broncos", 0.5),
        # gold "Santa Clara, California" -> {santa, clara, california}; 2 of 3
        ("It was in Santa Clara.", "Santa Clara, California", 2 / 3),
        # multiset: gold has 'new' twice, answer once -> 2 of 3 tokens
        ("New York", "New New York", 2 / 3),
        # articles and punctuation do not count as gold tokens
        ("an answer: 1989", "The 1989", 1.0),
        ("nothing relevant", "Levi's Stadium", 0.0),
        # gold normalising to nothing: 1 only against an empty answer (SQuAD's empty-span rule)
        ("", "The", 1.0),
        ("something", "The", 0.0),
    ],
)
def test_token_recall_hand_computed(generated: str, gold: str, expected: float) -> None:
    assert token_recall(generated, gold) == pytest.approx(expected)


def test_best_recall_takes_the_most_favourable_gold() -> None:
    golds = ["Denver Broncos", "Broncos", "the Denver Broncos team"]
    # vs gold 1: 1/2, gold 2: 1/1, gold 3 {denver, broncos, team}: 1/3
    assert best_recall("Broncos", golds) == 1.0
    assert best_recall("the team", golds) == pytest.approx(1 / 3)


def test_contains_gold_matches_whole_words_after_normalisation() -> None:
    assert contains_gold("It happened in 1989, I think.", ["1989"])
    assert contains_gold("the DENVER broncos won", ["Denver Broncos"])
    assert not contains_gold("a party", ["art"])
    assert not contains_gold("anything", ["The"])  # empty after normalisation never matches


def test_ground_truth_text_deduplicates_in_order() -> None:
    assert ground_truth_text(["15 days", "15", "15", " 15 days "]) == "15 days / 15"


def test_offline_judge_verdicts() -> None:
    items = [JudgeInput("Who?", ("Peyton Manning",), "peyton manning led them"), JudgeInput("When?", ("2001",), "1999")]
    assert OfflineJudge().verdicts(items) == [CORRECT, INCORRECT]


def test_offline_judge_gives_no_credit_to_a_refusal_naming_the_gold() -> None:
    items = [
        JudgeInput("Who won?", ("Denver Broncos",), "The passage doesn't say whether the Denver Broncos won."),
        JudgeInput("Why?", ("an injury",), "He was unable to finish the race because of an injury."),
    ]
    assert OfflineJudge().verdicts(items) == [INCORRECT, CORRECT]


def test_llm_judge_counts_unparseable_replies_separately() -> None:
    lm, engine = scripted_judge_lm()
    judge = LLMJudge("offline/scripted", lm=lm, threads=3)
    items = [
        JudgeInput("Q1", ("A",), "good answer"),
        JudgeInput("Q2", ("A",), "bad answer"),
        JudgeInput("Q3", ("A",), "rambling"),
        JudgeInput("Q4", ("A",), "good answer again"),
    ]
    assert judge.verdicts(items) == [CORRECT, INCORRECT, UNPARSEABLE, CORRECT]
    assert engine.calls == 4  # no silent JSON-adapter retry on the unparseable reply


def test_summarise_leaves_unparseable_out_of_accuracy() -> None:
    rows = [
        {"round": 0, "recall": 1.0, "verdict": CORRECT},
        {"round": 0, "recall": 0.0, "verdict": INCORRECT},
        {"round": 0, "recall": 0.5, "verdict": UNPARSEABLE},
        {"round": 1, "recall": 0.5, "verdict": CORRECT},
        {"round": 1, "recall": 0.5, "verdict": CORRECT},
        {"round": 1, "recall": 0.5, "verdict": INCORRECT},
    ]
    summary = summarise(rows, rounds=2)
    assert summary["recall"]["per_round"] == [pytest.approx(0.5), pytest.approx(0.5)]
    assert summary["accuracy"]["per_round"] == [pytest.approx(0.5), pytest.approx(2 / 3)]
    assert summary["accuracy"]["mean"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert summary["accuracy"]["std"] == pytest.approx(0.117851, abs=1e-6)  # sample std of (1/2, 2/3)
    assert summary["unparseable"] == {"total": 1, "per_round": [1, 0]}
    assert summarise(rows[:3], rounds=1)["recall"]["std"] is None


def test_llm_judge_failure_is_one_actionable_error() -> None:
    import dspy

    from finetune.errors import FinetuneError

    class Failing:
        def complete(self, request):
            raise ConnectionError("server unreachable")

        def close(self) -> None:
            pass

    class AsyncFailing:
        async def complete(self, request):
            raise ConnectionError("server unreachable")

        async def aclose(self) -> None:
            pass

    lm = dspy.LM("offline/failing", engine=Failing(), async_engine=AsyncFailing(), cache=False, num_retries=0)
    judge = LLMJudge("offline/failing", lm=lm, threads=2)
    with pytest.raises(FinetuneError, match=r"judge 'offline/failing' failed \(.*server unreachable.*rerun the same"):
        judge.verdicts([JudgeInput("Q", ("A",), "text")])
