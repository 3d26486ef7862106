"""Difficulty head-to-head: pairing, both-order verdicts, ties, invalid replies, LM judge path."""

from __future__ import annotations

import random
import re

import pytest
from evals_helpers import chat_reply, instruction_rows, scripted_lm, write_jsonl

from evals.difficulty import plan_matchups, run_head_to_head
from evals.heuristics import HeuristicDifficultyJudge, instruction_difficulty
from evals.judges import DIFFICULTY_SAMPLING, JudgeReply, LLMDifficultyJudge, make_difficulty_judge
from evals.inputs import InputError, load_input

ARTICLE = (
    "The Amazon river flows through Brazil. Its basin covers seven million square kilometres. "
    "The river carries more water than any other. Manaus, founded in 1669, lies on its banks. "
    "Rubber made Manaus rich around 1900, when an opera house was built there."
)


def make_sets(tmp_path, a_articles, b_articles, with_context=False):
    rows_a = instruction_rows("foveate", a_articles)
    rows_b = instruction_rows("baseline", b_articles)
    if with_context:
        for row in rows_a + rows_b:
            row["context"] = f"text of {row['article_id']}"
    return (load_input(str(write_jsonl(tmp_path / "a.jsonl", rows_a))),
            load_input(str(write_jsonl(tmp_path / "b.jsonl", rows_b))))


class KeywordJudge:
    """Says the set containing 'HARD' is harder; consistent in both orders."""

    label = "keyword test judge"

    def compare(self, content, first, second):
        return JudgeReply(values={"harder": "1" if any("HARD" in s for s in first) else "2"})


class AlwaysFirstJudge:
    label = "position-biased test judge"

    def compare(self, content, first, second):
        return JudgeReply(values={"harder": "1"})


class FlakyJudge:
    """Invalid for articles whose content says so, else prefers A (which contains 'HARD')."""

    label = "flaky test judge"

    def compare(self, content, first, second):
        if "BROKEN" in content:
            return JudgeReply(invalid="unparseable reply", detail="maybe")
        return KeywordJudge().compare(content, first, second)


def test_equal_size_seeded_samples_per_shared_article(tmp_path):
    a, b = make_sets(tmp_path, {"x": [f"a{i}" for i in range(10)], "y": ["a-y"], "only-a": ["z"]},
                     {"x": ["b0", "b1", "b2"], "y": ["b-y1", "b-y2"]}, with_context=True)
    plan = plan_matchups(a, b, seed=0)
    assert plan.shared_articles == 2 and not plan.missing_text
    by_id = {m.article_id: m for m in plan.matchups}
    assert len(by_id["x"].set_a) == len(by_id["x"].set_b) == 3
    assert len(by_id["y"].set_a) == len(by_id["y"].set_b) == 1
    rng = random.Random("0:x")
    expected = [r.instruction for r in rng.sample([r for r in a.records if r.article_id == "x"], 3)]
    assert list(by_id["x"].set_a) == expected != ["a0", "a1", "a2"]  # sampled, not file order
    assert plan_matchups(a, b, seed=0).matchups == plan.matchups  # reproducible
    assert plan_matchups(a, b, seed=1).matchups != plan.matchups


def test_per_article_and_max_articles(tmp_path):
    articles = {f"art{i}": [f"q{i}-{j}" for j in range(5)] for i in range(6)}
    a, b = make_sets(tmp_path, articles, articles, with_context=True)
    plan = plan_matchups(a, b, per_article=2, max_articles=4, seed=0)
    assert plan.shared_articles == 6 and len(plan.matchups) == 4
    assert all(len(m.set_a) == len(m.set_b) == 2 for m in plan.matchups)


def test_article_text_from_corpus_and_missing_text(tmp_path):
    a, b = make_sets(tmp_path, {"x": ["qa"], "y": ["qa"]}, {"x": ["qb"], "y": ["qb"]})
    plan = plan_matchups(a, b, {"x": ARTICLE})
    assert [m.article_id for m in plan.matchups] == ["x"] and plan.matchups[0].content == ARTICLE
    assert plan.missing_text == ["y"]


def test_article_id_is_required_with_file_and_line(tmp_path):
    a = load_input(str(write_jsonl(tmp_path / "a.jsonl", [{"instruction": "q"}])))
    with pytest.raises(InputError, match=r"a\.jsonl:1: missing required field 'article_id'"):
        plan_matchups(a, a)


def test_win_needs_both_orders_to_agree(tmp_path):
    a, b = make_sets(tmp_path, {f"art{i}": ["HARD question", "other"] for i in range(8)},
                     {f"art{i}": ["easy", "easier"] for i in range(8)}, with_context=True)
    plan = plan_matchups(a, b, per_article=2)
    result = run_head_to_head("foveate", "baseline", plan, KeywordJudge(), threads=4, progress=False)
    assert (result.wins, result.ties, result.losses, result.invalid) == (8, 0, 0, 0)
    assert result.win_rate == 1.0 and result.position_bias_rate == 0.0
    assert result.first_position_rate == 0.5
    low, high = result.win_ci
    assert 0.6 < low < 1.0 and high == pytest.approx(1.0)  # Wilson: 8/8 is not certainty
    assert result.ci_method.startswith("Wilson")
    reverse = run_head_to_head("baseline", "foveate", plan_matchups(b, a, per_article=2), KeywordJudge(),
                               progress=False)
    assert (reverse.wins, reverse.losses) == (0, 8) and reverse.decisive_win_rate == 0.0


def test_position_bias_becomes_ties(tmp_path):
    a, b = make_sets(tmp_path, {f"art{i}": ["q"] for i in range(5)}, {f"art{i}": ["r"] for i in range(5)},
                     with_context=True)
    result = run_head_to_head("a", "b", plan_matchups(a, b), AlwaysFirstJudge(), progress=False)
    assert (result.wins, result.ties, result.losses) == (0, 5, 0)
    assert result.position_bias_rate == 1.0 and result.first_position_rate == 1.0
    assert result.decisive_win_rate is None


def test_invalid_replies_are_counted_never_losses(tmp_path):
    rows_a = instruction_rows("foveate", {f"art{i}": ["HARD q"] for i in range(4)})
    rows_b = instruction_rows("baseline", {f"art{i}": ["easy"] for i in range(4)})
    for row in rows_a + rows_b:
        row["context"] = "BROKEN" if row["article_id"] in ("art0", "art1") else "fine text"
    a = load_input(str(write_jsonl(tmp_path / "a.jsonl", rows_a)))
    b = load_input(str(write_jsonl(tmp_path / "b.jsonl", rows_b)))
    result = run_head_to_head("foveate", "baseline", plan_matchups(a, b), FlakyJudge(), progress=False)
    assert (result.wins, result.ties, result.losses, result.invalid) == (2, 0, 0, 2)
    assert result.win_rate == 1.0 and result.lose_rate == 0.0  # over judged pairs only
    assert result.invalid_replies_by_reason == {"unparseable reply": 4}
    assert [p["outcome"] for p in result.pairs].count("invalid") == 2


def test_heuristic_judge_prefers_instructions_spanning_the_article():
    judge = HeuristicDifficultyJudge()
    local = ["Which river flows through Brazil?"]
    spread = ["How did rubber wealth around 1900 change Manaus, founded in 1669 on the Amazon river banks?"]
    assert instruction_difficulty(ARTICLE, spread[0]) > instruction_difficulty(ARTICLE, local[0])
    assert judge.compare(ARTICLE, local, spread).values == {"harder": "2"}
    assert judge.compare(ARTICLE, spread, local).values == {"harder": "1"}
    assert judge.label == "heuristic (offline)"
    assert instruction_difficulty(ARTICLE, "Unrelated words only?") == 0.0


def _set_text(user_text: str, number: int) -> str:
    match = re.search(rf"\[\[ ## instruction_set_{number} ## \]\]\n(.*?)(\n\n\[\[|$)", user_text, re.DOTALL)
    return match.group(1)


def test_llm_judge_both_orders_anonymised_with_paper_sampling(tmp_path):
    def respond(user_text):
        return chat_reply(harder="1" if "HARD" in _set_text(user_text, 1) else "2")

    lm, engine = scripted_lm(respond, **DIFFICULTY_SAMPLING)
    a, b = make_sets(tmp_path, {f"art{i}": ["HARD one", "two"] for i in range(6)},
                     {f"art{i}": ["three", "four"] for i in range(6)}, with_context=True)
    result = run_head_to_head("foveate", "baseline", plan_matchups(a, b), LLMDifficultyJudge(lm),
                              threads=3, progress=False)
    assert (result.wins, result.ties, result.losses, result.invalid) == (6, 0, 0, 0)
    assert result.judge == "offline/scripted (LLM judge)"
    assert len(engine.requests) == 12
    for request in engine.requests:
        assert request.config.temperature == 0.5
        text = request.system + "".join(p.text for m in request.messages for p in m.parts)
        assert "foveate" not in text and "baseline" not in text  # anonymised


def test_llm_judge_unparseable_and_failed_calls_are_invalid(tmp_path):
    def respond(user_text):
        content = user_text.split("[[ ## content ## ]]\n", 1)[1]
        if content.startswith("garbled"):
            # Names no set (a verdict naming exactly one, "Set 1 is harder", is read as that set).
            return chat_reply(harder="Both sets are about equally hard")
        if content.startswith("down"):
            raise ConnectionError("server unavailable, key sk-abcdefghijklmnopqrstuvwxyz")
        return chat_reply(harder="1" if "HARD" in _set_text(user_text, 1) else "2")

    lm, _ = scripted_lm(respond, **DIFFICULTY_SAMPLING)
    rows_a = instruction_rows("foveate", {"ok": ["HARD"], "g": ["HARD"], "d": ["HARD"]})
    rows_b = instruction_rows("baseline", {"ok": ["easy"], "g": ["easy"], "d": ["easy"]})
    for row in rows_a + rows_b:
        row["context"] = {"ok": "fine", "g": "garbled", "d": "down"}[row["article_id"]]
    a = load_input(str(write_jsonl(tmp_path / "a.jsonl", rows_a)))
    b = load_input(str(write_jsonl(tmp_path / "b.jsonl", rows_b)))
    result = run_head_to_head("foveate", "baseline", plan_matchups(a, b), LLMDifficultyJudge(lm), progress=False)
    assert (result.wins, result.losses, result.invalid) == (1, 0, 2)
    assert result.invalid_replies_by_reason == {"unparseable reply": 2, "judge call failed": 2}
    failures = " ".join(" ".join(p["invalid"]) for p in result.pairs)
    assert "server unavailable" in failures and "sk-abcdefghijklmnop" not in failures


def test_judge_factory():
    assert make_difficulty_judge("offline").label == "heuristic (offline)"
    judge = make_difficulty_judge("openai/gpt-4o", api_base="http://localhost:8000/v1", max_tokens=16)
    assert judge.label == "openai/gpt-4o (LLM judge)"
    assert judge._judge.lm.kwargs == {"temperature": 0.5, "max_tokens": 16, "api_base": "http://localhost:8000/v1"}
