"""The method's rules (foveate_dspy.method.rules): hand-made passing and failing cases for each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foveate_dspy.corpus.language import answer_language_mismatch
from foveate_dspy.method.matching import find_term, locate_sentence
from foveate_dspy.method.rules import (
    MAX_ANSWER_WORDS,
    ItemCheck,
    capped,
    feature_problem,
    feature_spans,
    key_sentence_flag,
    key_sentence_problem,
    keyword_problem,
    reason_name,
    repeats_question,
    rule_name,
)
from foveate_dspy.method.support import SUPPORT_THRESHOLD, support_score

DURHAM = (
    "Durham Cathedral was begun in 1093 by the Normans, who replaced a 10th-century church that "
    "housed the shrine of St Cuthbert. Its rib vaults are among the earliest in Europe, and they "
    "let the builders raise a stone roof higher than any before it. “The cathedral is the best "
    "building on planet Earth,” the travel writer Bill Bryson once said. Unlike many English "
    "cathedrals, it kept most of its Norman character — the later Gothic additions are few. "
    "Today it is a UNESCO World Heritage Site, together with the nearby castle."
)
ROOT = Path(__file__).resolve().parent.parent


def name_of(reason: str | None) -> str | None:
    return rule_name(reason)


# --- keywords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keyword",
    [
        "Durham Cathedral",
        "durham cathedral",  # case
        "Normans",
        "Norman",  # inflection: "Normans" in the text... and "Norman character"
        "10th century",  # hyphen in the article
        "10th-century church",
        "St. Cuthbert",  # full stop the article does not have
        "rib vault",  # plural in the article
        "Bill  Bryson",  # whitespace
        "UNESCO World Heritage Site",
    ],
)
def test_keywords_in_the_article_pass(keyword: str) -> None:
    assert keyword_problem(DURHAM, keyword) is None


@pytest.mark.parametrize("keyword", ["Sunderland Cathedral", "flights_to_destination", "Gothic cathedral", "Norm", "1094", ""])
def test_keywords_not_in_the_article_fail(keyword: str) -> None:
    assert name_of(keyword_problem(DURHAM, keyword)) == "keyword-not-in-article"


def test_keyword_span_is_provenance() -> None:
    start, end = find_term(DURHAM, "10th century")
    assert DURHAM[start:end] == "10th-century"
    assert feature_spans(DURHAM, ["Normans", "Bill Bryson"], "scatter") == [
        [DURHAM.index("Normans"), DURHAM.index("Normans") + 7],
        [DURHAM.index("Bill Bryson"), DURHAM.index("Bill Bryson") + 11],
    ]


def test_scatter_group_fails_on_any_invented_keyword() -> None:
    assert feature_problem("scatter", DURHAM, ["Normans", "St Cuthbert"]) is None
    assert name_of(feature_problem("scatter", DURHAM, ["Normans", "Sunderland"])) == "keyword-not-in-article"


# --- key sentences -----------------------------------------------------------------------------


def test_verbatim_key_sentence_passes_with_its_span() -> None:
    sentence = "Unlike many English cathedrals, it kept most of its Norman character — the later Gothic additions are few."
    assert key_sentence_problem(DURHAM, sentence) is None
    located = locate_sentence(DURHAM, sentence)
    assert DURHAM[located.start : located.end] == sentence


def test_key_sentence_copied_with_straight_quotes_and_hyphen_passes() -> None:
    copied = '"The cathedral is the best building on planet Earth," the travel writer Bill Bryson once said.'
    assert key_sentence_problem(DURHAM, copied) is None
    copied_dash = "Unlike many English cathedrals, it kept most of its Norman character - the later Gothic additions are few."
    assert key_sentence_problem(DURHAM, copied_dash) is None


def test_key_sentence_with_a_dropped_word_passes() -> None:
    assert key_sentence_problem(DURHAM, "Its rib vaults are among the earliest in Europe, and they let builders raise a stone roof higher than any before it.") is None


@pytest.mark.parametrize(
    "sentence",
    [
        "Sunderland Cathedral was built by the Vikings in 800.",
        "The Normans built the cathedral, which has some of Europe's first rib vaults.",  # paraphrase
    ],
)
def test_key_sentences_not_in_the_article_fail(sentence: str) -> None:
    assert name_of(key_sentence_problem(DURHAM, sentence)) == "key-sentence-not-in-article"


def test_a_scrap_of_a_sentence_fails() -> None:
    assert name_of(key_sentence_problem(DURHAM, "higher than any before it")) == "key-sentence-fragment"


def test_a_sentence_without_a_rhetorical_device_is_flagged_not_rejected() -> None:
    plain = "Today it is a UNESCO World Heritage Site, together with the nearby castle."
    assert key_sentence_problem(DURHAM, plain) is None
    assert key_sentence_flag(plain) == "no-rhetorical-device"
    assert key_sentence_flag("Unlike many English cathedrals, it kept most of its Norman character.") is None
    assert key_sentence_flag('"The cathedral is the best building on planet Earth," Bill Bryson said.') is None


# --- instructions ------------------------------------------------------------------------------


def micro(keyword: str) -> ItemCheck:
    return ItemCheck("micro", DURHAM, keyword)


def test_micro_question_passes() -> None:
    assert micro("Bill Bryson").instruction_problem("Which travel writer called the cathedral the best building on Earth?") is None
    assert micro("1093").instruction_problem("Name the year in which work on the cathedral began.") is None


@pytest.mark.parametrize(
    "question",
    [
        "Who is Bill Bryson?",
        "What did bill bryson say about the cathedral?",
        "What did Bill Bryson's remark praise?",  # possessive
    ],
)
def test_micro_question_containing_its_answer_fails(question: str) -> None:
    assert name_of(micro("Bill Bryson").instruction_problem(question)) == "question-contains-answer"


@pytest.mark.parametrize("question", ["Bill Bryson", "Bill Bryson?", "Who?", "The cathedral is old."])
def test_non_questions_fail(question: str) -> None:
    assert name_of(micro("Bill Bryson").instruction_problem(question)) == "not-a-question"


def test_macro_instruction_repeating_its_sentence_fails_and_an_instruction_passes() -> None:
    sentence = "Its rib vaults are among the earliest in Europe."
    check = ItemCheck("macro", DURHAM, sentence)
    assert name_of(check.instruction_problem(sentence)) == "not-a-question"
    assert check.instruction_problem("Explain what the rib vaults allowed the builders to do.") is None


def test_scatter_question_uses_every_keyword() -> None:
    check = ItemCheck("scatter", DURHAM, ["Normans", "10th-century church", "St Cuthbert"])
    good = "What did the Norman builders replace, and how was that 10th century church linked to St. Cuthbert?"
    assert check.instruction_problem(good) is None
    missing = "What did the Normans replace when they began the cathedral?"
    reason = check.instruction_problem(missing)
    assert name_of(reason) == "keyword-missing-from-question"
    assert "St Cuthbert" in reason and "10th-century church" in reason and "'Normans'" not in reason


# --- answers -----------------------------------------------------------------------------------


def answer_problem(answer: str, instruction: str = "Why are the rib vaults of Durham Cathedral important?") -> str | None:
    return ItemCheck("macro", DURHAM, "x").answer_problem(instruction, answer)


def test_supported_answers_pass() -> None:
    assert answer_problem("They are among Europe's earliest rib vaults and let the builders raise a stone roof higher than before.") is None
    assert answer_problem("1093.", "When was the cathedral begun?") is None
    assert answer_problem("Yes, the Normans began it.", "Did the Normans begin the cathedral?") is None


def test_unsupported_answer_fails_with_its_score() -> None:
    reason = answer_problem("They were designed by Italian architects from Venice and financed by the Pope in 1350.")
    assert name_of(reason) == "answer-unsupported"
    assert f"< {SUPPORT_THRESHOLD:.2f}" in reason


def test_answer_repeating_the_question_fails() -> None:
    question = "Why are the rib vaults of Durham Cathedral important?"
    assert repeats_question(question, "The rib vaults of Durham Cathedral are important.")
    assert name_of(answer_problem("Why are the rib vaults of Durham Cathedral important?", question)) == "answer-repeats-question"
    # A choice answer repeats part of the question and is still an answer.
    assert not repeats_question("Which came first, the Normans' cathedral or the 10th-century church?", "The 10th-century church.")
    assert not repeats_question("Did the Normans begin the cathedral?", "Yes, the Normans began the cathedral.")
    # A question quoting the article may be answered in the quotation's words, but not by itself.
    quoting = "Explain the contrast in “Unlike many English cathedrals, it kept most of its Norman character”."
    assert not repeats_question(quoting, "Unlike many English cathedrals, it kept its Norman character; the contrast is with other cathedrals.")
    assert repeats_question(quoting, quoting)


def test_enormous_answer_is_rejected_and_capped() -> None:
    huge = " ".join(["The Normans began the cathedral in 1093."] * 200)
    reason = answer_problem(huge)
    assert name_of(reason) == "answer-too-long"
    assert "1400 words" in reason and f"{MAX_ANSWER_WORDS} words" in reason
    cut = capped(huge)
    assert len(cut.split()) < MAX_ANSWER_WORDS + 10 and "capped: 1400 words" in cut
    assert capped("Short answer.") == "Short answer."


def test_answer_in_another_script_fails() -> None:
    assert name_of(answer_problem("杜伦大教堂始建于1093年，由诺曼人建造。")) == "answer-language-mismatch"
    assert name_of(answer_problem("Даремский собор был начат норманнами в 1093 году.")) == "answer-language-mismatch"
    assert answer_language_mismatch("北京是中国的首都，有很多名胜古迹。", "北京是中国的首都。") is None
    assert answer_language_mismatch("北京是中国的首都，有很多名胜古迹。", "Beijing is the capital of China.") is not None
    # A short name in its own script inside an answer is not a language switch.
    assert answer_language_mismatch(DURHAM, "St Cuthbert (Cuðberht) lies in the shrine.") is None


def test_unicode_quotes_and_dashes_are_normalised() -> None:
    assert find_term("Pepys wrote “a most horrid flame” — twice.", '"a most horrid flame"') is not None
    assert support_score(DURHAM, "“The best building on planet Earth” – Bill Bryson.") == 1.0


def test_reason_names_cover_validity_reasons() -> None:
    assert reason_name("rule: answer-unsupported: support 0.10 < 0.60") == "answer-unsupported"
    assert reason_name("empty answer") == "empty-answer"
    assert reason_name("the answerer said the article does not support an answer") == "not-answerable"
    assert reason_name("the answer is a refusal ('I cannot tell')") == "refusal"
    assert reason_name("could not parse the reply") == "other"


# --- the support threshold, calibrated on hand-written answers --------------------------------


def hand_written() -> list[tuple[str, str, bool]]:
    articles = {json.loads(l)["id"]: json.loads(l)["content"] for l in (ROOT / "examples/articles.jsonl").read_text().splitlines() if l.strip()}
    rows = [json.loads(l) for l in (ROOT / "benchmarks/support_answers.jsonl").read_text().splitlines() if l.strip()]
    return [(articles[r["article_id"]], r["answer"], r["supported"]) for r in rows]


def test_support_threshold_separates_the_hand_written_answers() -> None:
    rows = hand_written()
    assert sum(s for *_, s in rows) >= 20 and sum(not s for *_, s in rows) >= 20
    wrong = [(answer, support_score(article, answer)) for article, answer, supported in rows if (support_score(article, answer) >= SUPPORT_THRESHOLD) != supported]
    assert wrong == []
