"""The reference-free metric, its feedback, the offline proposer rules and program files."""

from __future__ import annotations

import json

import dspy
import pytest

from foveate_dspy.corpus.readers import Article
from foveate_dspy.teachers.offline.registry import Call
from foveate_dspy.optimize.teleprompt import (
    HeuristicJudge,
    OptimizeError,
    ProgramMetric,
    Verdict,
    feedback_text,
    judge_items,
    load_program,
    save_program,
    split_articles,
    summarise,
)
from foveate_dspy.optimize.offline_stand_ins import propose_from_feedback, propose_from_tip
from foveate_dspy.method.program import SelfFoveate
from foveate_dspy.method.items import Attempt, Item, LevelFailure

ARTICLE = (
    "Alice Moreau founded Acme Rockets in 1990 in Toulouse. Bob Chen joined the company in 1995 as chief "
    "engineer. Unlike its rivals, Acme built its engines from recycled steel. The first launch failed; however, "
    "the second reached orbit in 1999."
)


def item(i: int, level: str, attempts: list[tuple[str, str, str | None]]) -> Item:
    return Item(f"a1:{level}:{i}", "a1", level, "kw", [Attempt(k, q, a, 0.5, r) for k, (q, a, r) in enumerate(attempts)])


ITEMS = [
    item(0, "micro", [("Who founded Acme Rockets?", "Alice Moreau founded Acme Rockets in 1990.", None)]),
    item(1, "micro", [("When?", "", "empty answer"), ("When did Bob Chen join Acme?", "Bob Chen joined in 1995.", None)]),
    item(2, "macro", [("What did the moon say?", "I don't know.", "the answer is a refusal ('I don't know.')")]),
    item(3, "macro", [("How did the second launch differ from the first?", "Pluto has purple volcanoes.", None)]),
]


class FixedJudge:
    label = "fixed"

    def __init__(self, verdicts: dict[str, Verdict]) -> None:
        self.verdicts = verdicts

    def judge(self, article: str, instruction: str, answer: str) -> Verdict:
        return self.verdicts[instruction]


def test_signals_combine_first_pass_grounding_and_difficulty() -> None:
    judge = FixedJudge(
        {
            "Who founded Acme Rockets?": Verdict(1.0, 0.0),
            "When did Bob Chen join Acme?": Verdict(1.0, 0.5),
            "How did the second launch differ from the first?": Verdict(None, None, "judge reply did not parse"),
        }
    )
    failures = [LevelFailure("a1", "scatter", "keyword extraction failed")]
    signals = summarise(2, ITEMS, failures, judge_items(ARTICLE, ITEMS, judge))
    # slots: 4 items + n=2 for the failed level; first-pass accepted: items 0 and 3
    assert signals.slots == 6 and signals.first_pass == pytest.approx(2 / 6)
    assert signals.accepted == 3 and signals.invalid_judgements == 1  # invalid: left out, not a 0
    assert (signals.grounded, signals.difficulty) == (1.0, 0.25)
    assert signals.score == pytest.approx(0.4 * 2 / 6 + 0.4 * 1.0 + 0.2 * 0.25)
    assert signals.rejections == {"empty answer": 1, "the answer is a refusal": 1}


def test_heuristic_judge_rewards_grounded_answers_and_multi_sentence_questions() -> None:
    judge = HeuristicJudge()
    grounded = judge.judge(ARTICLE, "Who founded Acme Rockets?", "Alice Moreau founded Acme Rockets in Toulouse.")
    invented = judge.judge(ARTICLE, "Who founded Acme Rockets?", "Pluto has purple volcanoes.")
    assert grounded.grounded == 1.0 and invented.grounded == 0.0
    easy = judge.judge(ARTICLE, "When was Acme Rockets founded?", "1990").difficulty
    hard = judge.judge(ARTICLE, "How did Bob Chen's engineering and the recycled steel engines lead to orbit in 1999?", "x").difficulty
    assert 0 <= easy < hard < 1
    assert judge.label == "heuristic (offline)"


def test_feedback_is_aimed_at_the_predictor() -> None:
    signals = summarise(2, ITEMS, [], judge_items(ARTICLE, ITEMS, HeuristicJudge()))
    answering = feedback_text(signals, "heuristic (offline)", "answerer.respond")
    assert answering.splitlines()[0].startswith("Score ")
    assert 'Ungrounded answer: to "How did the second launch differ from the first?"' in answering
    writing = feedback_text(signals, "heuristic (offline)", "macro.synthesize")
    assert "1 first attempt(s) were rejected: empty answer. Write instructions the article fully answers." in writing
    assert "Ungrounded" not in writing


class CountingJudge(HeuristicJudge):
    def __init__(self) -> None:
        super().__init__()
        self.judged = 0

    def judge(self, article, instruction, output):
        self.judged += 1
        return super().judge(article, instruction, output)


def test_gepa_form_scores_the_whole_output_and_talks_about_one_level() -> None:
    judge = CountingJudge()
    metric = ProgramMetric(judge)
    example = dspy.Example(article=ARTICLE, n=2, article_id="a1", seed=0).with_inputs("article", "n", "article_id", "seed")
    prediction = dspy.Prediction(results=ITEMS, level_failures=[])
    whole = metric(example, prediction)
    judged_once = judge.judged
    focused = metric.with_feedback(example, prediction, None, "micro.synthesize", None)
    metric.with_feedback(example, prediction, None, "answerer.respond", None)
    assert focused.score == whole
    assert "of 2 instruction slots" in focused.feedback  # the two micro items only
    assert (metric.calls, metric.feedback_calls) == (1, 2)
    # Feedback reuses the scoring's verdicts: an LM judge is not asked again per predictor.
    assert judged_once == sum(item.accepted is not None for item in ITEMS) > 0 and judge.judged == judged_once
    metric(example, dspy.Prediction(results=list(ITEMS), level_failures=[]))  # another output is judged anew
    assert judge.judged == 2 * judged_once


def test_offline_proposers_follow_feedback_and_tips() -> None:
    feedback = [
        {"Feedback": "Score 0.5\nToo easy: \"Q?\". Ask for relations, causes or comparisons across the article."},
        {"Feedback": "Score 0.4\nToo easy: \"R?\". Ask for relations, causes or comparisons across the article."},
    ]
    call = Call({"current_instruction": "Write questions.", "examples_with_feedback": feedback}, ("new_instruction",), 1.0, "d", None)
    assert propose_from_feedback(call) == {
        "new_instruction": "Write questions.\n\nAsk for relations, causes or comparisons across the article."
    }
    tip = Call({"basic_instruction": "First part.\n\nSecond part.", "tip": "Keep the instruction clear and concise."}, ("proposed_instruction",), 1.0, "d", None)
    assert propose_from_tip(tip) == {"proposed_instruction": "First part."}


def test_split_is_seeded_and_disjoint() -> None:
    articles = [Article(id=f"a{i}", text="t") for i in range(7)]
    train, val = split_articles(articles, 3, seed=5)
    assert (train, val) == split_articles(articles, 3, seed=5)
    assert len(train) == 3 and len(val) == 3 and not {a.id for a in train} & {a.id for a in val}
    assert split_articles(articles[:2], 3, seed=5)[1] == []


def test_program_files_hold_no_lm_and_refuse_a_mismatch(tmp_path) -> None:
    program = SelfFoveate(levels=("micro", "macro"))
    program.micro.extract.demos = [dspy.Example(article="A.", count=1, keywords=["A"], augmented=True)]
    program.answerer.respond.lm = dspy.LM("openai/gpt-4o-mini", api_key="sk-secret-123456")
    path = tmp_path / "program.json"
    save_program(program, path, {"method": "self-foveate"})
    text = path.read_text(encoding="utf-8")
    assert "gpt-4o-mini" not in text and "sk-secret" not in text and "api_key" not in text
    assert all(v["lm"] is None for k, v in json.loads(text).items() if k not in ("metadata", "foveate_dspy"))

    fewer = SelfFoveate(levels=("micro",))  # a file with more levels fits a run with fewer
    load_program(fewer, path, "self-foveate")
    assert fewer.micro.extract.demos[0]["keywords"] == ["A"] and fewer.answerer.respond.lm is None
    with pytest.raises(OptimizeError, match="saved for --method self-foveate, not self-qa"):
        load_program(SelfFoveate(), path, "self-qa")
    with pytest.raises(OptimizeError, match="no state for scatter.extract"):
        load_program(SelfFoveate(), path, "self-foveate")
    broken = tmp_path / "broken.json"
    broken.write_text('{"micro.extract":\n', encoding="utf-8")
    with pytest.raises(OptimizeError, match="broken.json:2: not a JSON program file"):
        load_program(SelfFoveate(), broken, "self-foveate")


def test_lm_judge_parses_verdicts_counts_bad_replies_and_stays_out_of_traces() -> None:
    from scripted_lm import scripted_lm

    from foveate_dspy.optimize.teleprompt import LMJudge

    replies = iter([{"grounded": True, "difficulty": "hard"}, "no idea"])
    lm, engine = scripted_lm(lambda outputs, inputs, call: next(replies))
    judge = LMJudge(lm)
    with dspy.context(trace=[]):
        assert judge.judge(ARTICLE, "Q?", "A.") == Verdict(1.0, 1.0)
        bad = judge.judge(ARTICLE, "Q?", "A.")
        assert dspy.settings.trace == []  # judge calls never become demos
    assert (bad.grounded, bad.difficulty) == (None, None) and "did not parse" in bad.problem
    assert engine.calls[0].outputs == ("grounded", "difficulty") and judge.label == "scripted/teacher"
