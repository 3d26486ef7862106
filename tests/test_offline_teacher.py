"""The offline teacher driven through real dspy.Predict calls, one signature at a time."""

from __future__ import annotations

import asyncio
import re

import dspy
import pytest
from offline_helpers import example_article, using

from foveate_dspy.teachers.offline import (
    OfflineEngine,
    offline_lm,
    register_handler,
    respond_to_messages,
)
from foveate_dspy.method.rhetoric import detect_devices
from foveate_dspy.corpus.text import split_sentences
from signatures.answer import AnswerFromArticle, RereadAnswer
from signatures.judge import CompareDifficulty
from signatures.macro import ExtractKeySentences, RegenerateFromKeySentence, TranscriptionSynthesis
from signatures.micro import ExtractKeywords, RegenerateFromAnswer, ReverseSynthesis
from signatures.scatter import DirectSynthesis, RegenerateFromKeywordGroup, SelectImportantKeywords


@pytest.fixture(scope="module")
def lm() -> dspy.LM:
    import torch

    torch.set_num_threads(1)
    return offline_lm()


@pytest.fixture(scope="module")
def hot(lm) -> dspy.LM:
    """The re-synthesis setting: high-creativity mode."""
    return lm.copy(temperature=1.2)


@pytest.fixture(scope="module")
def fire() -> str:
    return example_article("great-fire-london")


@pytest.fixture(scope="module")
def keywords(lm, fire) -> list[str]:
    with using(lm):
        return dspy.Predict(ExtractKeywords)(article=fire, count=12).keywords


def ask(lm, article: str, instruction: str) -> dspy.Prediction:
    with using(lm):
        return dspy.Predict(AnswerFromArticle)(article=article, instruction=instruction)


def test_keywords_are_verbatim_distinct_and_counted(keywords, fire):
    assert len(keywords) == 12
    assert all(k in fire for k in keywords)
    assert len({k.lower() for k in keywords}) == 12


def test_keywords_are_fewer_when_the_article_has_fewer(lm):
    article = "Ada Lovelace met Charles Babbage in London in 1833."
    with using(lm):
        found = dspy.Predict(ExtractKeywords)(article=article, count=30).keywords
    assert 0 < len(found) < 30
    assert all(k in article for k in found)


def test_core_and_major_keywords_come_from_the_list(lm, fire, keywords):
    with using(lm):
        chosen = dspy.Predict(SelectImportantKeywords)(
            article=fire, keywords=keywords, core_count=3, major_count=4
        )
    assert len(chosen.core_keywords) == 3 and len(chosen.major_keywords) == 4
    assert set(chosen.core_keywords) | set(chosen.major_keywords) <= set(keywords)
    assert not set(chosen.core_keywords) & set(chosen.major_keywords)


def test_key_sentences_are_verbatim_distinct_and_rhetorical(lm, fire):
    with using(lm):
        sentences = dspy.Predict(ExtractKeySentences)(article=fire, count=5).key_sentences
    assert len(sentences) == len(set(sentences)) == 5
    article_sentences = {s.text for s in split_sentences(fire)}
    assert set(sentences) <= article_sentences
    assert all(detect_devices(s) for s in sentences)


def test_reverse_synthesis_writes_one_answerable_question_per_answer(lm, fire, keywords):
    answers = [*keywords[:8], "the Tower of Pisa"]
    with using(lm):
        entries = dspy.Predict(ReverseSynthesis)(article=fire, answers=answers).questions
    assert [e.answer for e in entries] == answers  # each entry copies its answer
    questions = [e.question for e in entries]
    assert "Tower of Pisa" in questions[-1]  # absent span: a generic question about it
    for answer, question in zip(answers[:-1], questions[:-1], strict=False):
        assert answer.lower() not in question.lower()
        reply = ask(lm, fire, question)
        assert reply.answerable, question
        assert answer.lower() in reply.answer.lower(), (question, reply.answer)


def test_reverse_synthesis_picks_wh_words_by_span_type(lm, fire):
    answers = ["13,200 houses", "Christopher Wren", "1891", "Paris"]
    curie = example_article("marie-curie")
    with using(lm):
        fire_questions = [e.question for e in dspy.Predict(ReverseSynthesis)(article=fire, answers=answers[:2]).questions]
        curie_questions = [e.question for e in dspy.Predict(ReverseSynthesis)(article=curie, answers=answers[2:]).questions]
    assert fire_questions[0].startswith("How many houses")
    assert fire_questions[1].startswith("Who ")
    assert curie_questions[0].startswith("When ") and curie_questions[1].startswith("Where ")


def test_direct_synthesis_uses_every_keyword_of_every_group(lm, fire, keywords):
    groups = [keywords[:1], keywords[1:3], keywords[3:6], keywords[6:8]]
    with using(lm):
        entries = dspy.Predict(DirectSynthesis)(article=fire, keyword_groups=groups).questions
    assert [e.keywords for e in entries] == groups
    questions = [e.question for e in entries]
    for group, question in zip(groups, questions, strict=False):
        assert all(k in question for k in group), (group, question)


def test_far_apart_keywords_need_resynthesis_and_then_succeed(lm, hot, fire):
    group = ["Thomas Farriner", "Monument"]  # first and last sentence of the article
    with using(lm):
        first = dspy.Predict(DirectSynthesis)(article=fire, keyword_groups=[group]).questions[0].question
    assert not ask(lm, fire, first).answerable
    with using(hot):
        retry = dspy.Predict(RegenerateFromKeywordGroup)(
            article=fire, keyword_group=group, feedback="the answerer said it does not know"
        ).question
    assert all(k in retry for k in group) and "each of" in retry
    reply = ask(lm, fire, retry)
    assert reply.answerable and "Farriner" in reply.answer and "Monument" in reply.answer


def test_transcription_turns_each_sentence_into_an_answerable_instruction(lm, fire):
    with using(lm):
        sentences = dspy.Predict(ExtractKeySentences)(article=fire, count=6).key_sentences
        entries = dspy.Predict(TranscriptionSynthesis)(article=fire, key_sentences=sentences).questions
    assert [e.key_sentence for e in entries] == sentences
    questions = [e.question for e in entries]
    for sentence, question in zip(sentences, questions, strict=False):
        assert question.rstrip("?.") != sentence.rstrip("?.")
        assert ask(lm, fire, question).answerable, question


def test_unsupported_instruction_is_answered_honestly(lm, fire):
    reply = ask(lm, fire, "What is the capital of Mars?")
    assert reply.answerable is False
    assert reply.answer == "I don't know."


def test_reread_adds_article_context_and_keeps_unknowns(lm, fire):
    sentences = [s.text for s in split_sentences(fire)]
    instruction = "How many houses had the fire destroyed, and what did the Lord Mayor do?"
    with using(lm):
        improved = dspy.Predict(RereadAnswer)(
            article=fire, instruction=instruction, draft_answer=sentences[2]
        ).answer
        unknown = dspy.Predict(RereadAnswer)(
            article=fire, instruction=instruction, draft_answer="I don't know."
        ).answer
    assert improved.startswith(sentences[2]) and "Lord Mayor" in improved
    assert all(s.text in sentences for s in split_sentences(improved))
    assert unknown == "I don't know."


def test_normal_mode_is_deterministic(lm, fire, keywords):
    with using(lm):
        first = dspy.Predict(ReverseSynthesis)(article=fire, answers=keywords[:5]).questions
        second = dspy.Predict(ReverseSynthesis)(article=fire, answers=keywords[:5]).questions
    assert first == second


def test_creative_mode_varies_with_feedback_but_repeats_exactly(lm, hot, fire):
    sentence = split_sentences(fire)[4].text
    feedbacks = [f"attempt {i}: the answer was 'I don't know'" for i in range(6)]
    with using(lm):
        normal = dspy.Predict(RegenerateFromAnswer)(
            article=fire, target_answer="Samuel Pepys", feedback=feedbacks[0]
        ).question
    with using(hot):
        answer_retries = [
            dspy.Predict(RegenerateFromAnswer)(
                article=fire, target_answer="Samuel Pepys", feedback=f
            ).question
            for f in feedbacks
        ]
        sentence_retries = [
            dspy.Predict(RegenerateFromKeySentence)(
                article=fire, key_sentence=sentence, feedback=f
            ).question
            for f in feedbacks
        ]
        again = dspy.Predict(RegenerateFromAnswer)(
            article=fire, target_answer="Samuel Pepys", feedback=feedbacks[0]
        ).question
    assert normal not in answer_retries
    assert len(set(answer_retries)) > 1 and len(set(sentence_retries)) > 1
    assert again == answer_retries[0]


def test_usage_is_counted(lm, fire):
    assert ask(lm, fire, "When did the Great Fire of London begin?").answerable  # began ~ begin
    usage = lm.history[-1]["usage"]
    assert usage["prompt_tokens"] > len(fire.split()) and usage["completion_tokens"] > 0


def test_async_calls_match_sync_calls(lm, fire):
    async def run():
        with using(lm):
            return await dspy.Predict(ExtractKeywords).acall(article=fire, count=5)

    with using(lm):
        expected = dspy.Predict(ExtractKeywords)(article=fire, count=5).keywords
    assert asyncio.run(run()).keywords == expected


def test_chain_of_thought_gets_an_honest_reasoning_field(lm, fire):
    with using(lm):
        reply = dspy.ChainOfThought(AnswerFromArticle)(article=fire, instruction="Who was Pepys?")
    assert "does not reason" in reply.reasoning and reply.answerable


def test_plain_chat_messages_get_the_engine_reply(lm, fire):
    ask(lm, fire, "Who was Pepys?")
    entry = lm.history[-1]
    as_parts = [
        {"role": m["role"], "content": [{"type": "text", "text": m["content"]}]}
        for m in entry["messages"]
    ]
    assert respond_to_messages(entry["messages"]) == entry["outputs"][0]
    assert respond_to_messages(as_parts) == entry["outputs"][0]


def test_json_adapter_requests_are_answered(lm, fire):
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        reply = dspy.Predict(AnswerFromArticle)(
            article=fire, instruction="What is the capital of Mars?"
        )
    assert reply.answerable is False


def test_unknown_signature_raises_a_clear_error(lm, fire):
    with using(lm), pytest.raises(Exception, match=r"instruction_set_1.*harder"):
        dspy.Predict(CompareDifficulty)(
            content=fire, instruction_set_1=["a"], instruction_set_2=["b"]
        )


def test_other_signatures_plug_in(lm, fire):
    class CountSentences(dspy.Signature):
        """Count the sentences of the text."""

        text_for_counting: str = dspy.InputField()
        sentence_total: int = dspy.OutputField()

    def count(call):
        return {"sentence_total": len(split_sentences(call.inputs["text_for_counting"]))}

    register_handler(
        frozenset({"text_for_counting"}), frozenset({"sentence_total"}), count, replace=True
    )
    with using(lm):
        assert dspy.Predict(CountSentences)(text_for_counting=fire).sentence_total == 10
    with pytest.raises(ValueError, match="already registered"):
        register_handler(
            frozenset({"text_for_counting"}), frozenset({"sentence_total"}), lambda call: {}
        )


def test_lm_state_round_trips_with_the_engine(lm):
    state = lm.dump_state()
    assert state["engine"]["state"] == {"embedder": "minilm"}
    restored = dspy.LM.load_state(state, allow_custom_lm_class=True)
    assert isinstance(restored.engine, OfflineEngine) and restored.kwargs["temperature"] == 0.5
    assert not re.search(r"api_(?:key|base)", str(state))
