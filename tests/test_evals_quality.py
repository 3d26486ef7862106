"""Answer quality: distributions, invalid ratings, heuristic and LM judges."""

from __future__ import annotations

import pytest
from dspy.utils import DummyLM
from evals_helpers import write_jsonl

from evals.heuristics import HeuristicQualityJudge, rate_completeness, rate_fluency
from evals.judges import QUALITY_SAMPLING, LLMQualityJudge, make_quality_judge
from evals.quality import rate_answers
from evals.inputs import InputError, load_input


def qa_set(tmp_path, pairs):
    rows = [{"id": f"r{i}", "article_id": "a", "level": "micro", "instruction": q, "output": a, "method": "m"}
            for i, (q, a) in enumerate(pairs)]
    return load_input(str(write_jsonl(tmp_path / "qa.jsonl", rows)))


def test_heuristic_ratings():
    question = "Why did Manaus grow rich around 1900?"
    full = "Manaus grew rich around 1900 because the rubber boom brought traders, money and an opera house to the city."
    assert rate_fluency(question, full) == "high"
    assert rate_completeness(question, full) == "high"
    assert rate_fluency(question, "rubber") == "low"
    assert rate_completeness(question, "Rubber.") == "low"
    assert rate_fluency(question, "I don't know.") == "low"
    assert rate_completeness(question, "The text does not say; it cannot be determined.") == "low"
    # the evals ask the project's refusal classifier: phrasings the old pattern missed rate low ...
    assert rate_fluency(question, "The passage says nothing about why Manaus grew rich around 1900.") == "low"
    assert rate_completeness(question, "Not stated.") == "low"
    # ... and answers that merely contain "no information" or "not mentioned" are rated on merit
    rubber = "No information about the rubber price reached Manaus traders, so they kept buying until the 1910 crash."
    assert rate_fluency("Why did Manaus traders keep buying rubber?", rubber) == "high"
    assert HeuristicQualityJudge().label == "heuristic (offline)"


def test_distribution_over_valid_ratings_with_invalid_apart(tmp_path):
    instruction_set = qa_set(tmp_path, [("Q1?", "A1."), ("Q2?", "A2."), ("Q3?", "A3."), ("Q4?", "A4.")])
    lm = DummyLM([
        {"fluency": "high", "completeness": "high"},
        {"fluency": "high", "completeness": "low"},
        {"fluency": "splendid", "completeness": "high"},  # outside the choices: unparseable
        {"fluency": "medium", "completeness": "low"},
    ])
    summary = rate_answers(instruction_set, LLMQualityJudge(lm), threads=1, progress=False)
    assert summary.n_rated == 3 and summary.n_invalid == 1
    assert summary.invalid_by_reason == {"unparseable reply": 1}
    assert summary.counts["fluency"] == {"high": 2, "medium": 1, "low": 0}
    assert summary.shares["completeness"]["low"] == pytest.approx(2 / 3)
    invalid_rows = [r for r in summary.ratings if r["invalid"]]
    assert len(invalid_rows) == 1 and invalid_rows[0]["fluency"] is None
    assert summary.judge == "dummy (LLM judge)"


def test_sample_and_required_output(tmp_path):
    instruction_set = qa_set(tmp_path, [(f"Question {i}?", "An answer that is a sentence.") for i in range(10)])
    summary = rate_answers(instruction_set, HeuristicQualityJudge(), sample_size=4, progress=False)
    assert summary.n_rated == 4 and summary.n_records == 10 and summary.sample_size == 4
    no_output = load_input(str(write_jsonl(tmp_path / "no.jsonl", [{"instruction": "q"}])))
    with pytest.raises(InputError, match=r"no\.jsonl:1: missing required field 'output'"):
        rate_answers(no_output, HeuristicQualityJudge(), progress=False)


def test_quality_judge_uses_paper_temperature():
    judge = make_quality_judge("deepseek/deepseek-chat")
    assert judge._judge.lm.kwargs["temperature"] == QUALITY_SAMPLING["temperature"] == 0.2
    assert make_quality_judge("offline").label == "heuristic (offline)"
