"""Reading real teachers' replies: the coercions, both adapters, and batch entries matched to
their features by what they echo. Every expected value is written out by hand."""

from __future__ import annotations

from typing import Literal

import dspy
import pytest
from dspy.utils.exceptions import AdapterParseError

from foveate_dspy.teachers.adapters import RecoveringChatAdapter, SchemaAdapter, response_format, split_sections
from foveate_dspy.method.proposals import match_by_echo
from foveate_dspy.teachers.replies import as_bool, as_literal, as_string_list, coerce, lenient_json, strip_reasoning
from signatures.answer import AnswerFromArticle
from signatures.micro import ExtractKeywords, QuestionForAnswer, ReverseSynthesis
from signatures.scatter import QuestionForGroup


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["Paris", "Lyon"]', ["Paris", "Lyon"]),
        ("['Paris', 'Lyon',]", ["Paris", "Lyon"]),
        ('[1903, "Marie Curie", 2.5]', ["1903", "Marie Curie", "2.5"]),
        ("1. Paris\n2. Lyon\n3) Nice", ["Paris", "Lyon", "Nice"]),
        ("- Paris\n* Lyon\n• Nice", ["Paris", "Lyon", "Nice"]),
        ("Paris, Lyon, Nice", ["Paris", "Lyon", "Nice"]),
        ("Paris; Lyon, France", ["Paris", "Lyon, France"]),
        ("**Paris**\n**Lyon**", ["Paris", "Lyon"]),
        ('{"keywords": ["Paris", "Lyon"]}', ["Paris", "Lyon"]),
        ("```json\n[\"Paris\"]\n```", ["Paris"]),
        ("Paris", ["Paris"]),
    ],
)
def test_string_lists_in_the_forms_models_write(text: str, expected: list[str]) -> None:
    assert as_string_list(text) == expected


def test_an_empty_list_field_is_not_a_list() -> None:
    assert as_string_list("   ") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("False.", False), ("false", False), ("No, the article does not say.", False), ("**True**", True),
     ("Yes", True), ("not answerable", False), ("maybe", None), ("", None)],
)  # fmt: skip
def test_booleans_in_words(text: str, expected: bool | None) -> None:
    assert as_bool(text) == expected


def test_literals_named_in_a_sentence() -> None:
    assert as_literal("Set 1 is harder.", ("1", "2")) == "1"
    assert as_literal("'2'", ("1", "2")) == "2"
    assert as_literal("HIGH", ("high", "medium", "low")) == "high"
    assert as_literal("1 or 2", ("1", "2")) is None  # names both: no verdict


def test_reasoning_blocks_are_removed() -> None:
    assert strip_reasoning("<think>the user wants a list</think>\n[[ ## answer ## ]]\nParis") == "[[ ## answer ## ]]\nParis"
    # A server that strips the opening tag leaves the closing one.
    assert strip_reasoning("first I should look at the article...</think>\n{\"answer\": 1}") == '{"answer": 1}'


def test_lenient_json_takes_raw_control_characters_and_trailing_commas() -> None:
    assert lenient_json('{"answer": "line one\nline two\ttab"}') == {"answer": "line one\nline two\ttab"}
    assert lenient_json("Sure! {'a': [1, 2,],}") == {"a": [1, 2]}
    with pytest.raises(ValueError):
        lenient_json("no json here")


def test_coerce_by_annotation() -> None:
    assert coerce("3.", int) == 3
    assert coerce("False.", bool) is False
    assert coerce("Set 2", Literal["1", "2"]) == "2"
    assert coerce('[{"answer": "1666", "question": "When did it start?"}]', list[QuestionForAnswer]) == [
        QuestionForAnswer(answer="1666", question="When did it start?")
    ]
    with pytest.raises(ValueError):
        coerce("perhaps", bool)


def test_sections_under_misspelt_markers() -> None:
    text = "[[## answerable ##]]\nFalse.\n**answer**: I don't know.\n[[ ## completed ## ]]"
    assert split_sections(text, {"answerable", "answer", "completed"}) == [
        (None, ""), ("answerable", "False."), ("answer", "I don't know."), ("completed", "")
    ]


def test_chat_reply_with_the_wrong_marker_and_a_numbered_list() -> None:
    """SmolLM2's reply that lost every record of the first real run: the input field's marker,
    then a list DSPy cannot read."""
    adapter = RecoveringChatAdapter()
    reply = "[[ ## article ## ]]\n1. Great Fire\n2. Thomas Farriner\n3. Pudding Lane"
    assert adapter.parse(ExtractKeywords, reply) == {"keywords": ["Great Fire", "Thomas Farriner", "Pudding Lane"]}


def test_prose_without_any_marker_is_not_taken_as_the_field() -> None:
    from signatures.micro import RegenerateFromAnswer

    with pytest.raises(AdapterParseError):
        RecoveringChatAdapter().parse(RegenerateFromAnswer, "Sure! Here are some great questions you might like.")


def test_chat_reply_with_bool_in_words() -> None:
    adapter = RecoveringChatAdapter()
    reply = "[[ ## answerable ## ]]\nFalse.\n\n[[ ## answer ## ]]\nI don't know.\n\n[[ ## completed ## ]]"
    assert adapter.parse(AnswerFromArticle, reply) == {"answerable": False, "answer": "I don't know."}


def test_chat_reply_missing_a_field_still_fails_naming_it() -> None:
    with pytest.raises(AdapterParseError, match="answerable"):
        RecoveringChatAdapter().parse(AnswerFromArticle, "[[ ## answer ## ]]\nParis")


def test_json_reply_with_a_control_character_and_string_numbers() -> None:
    adapter = SchemaAdapter("llamacpp")
    reply = '{"answerable": "false", "answer": "It burned\tfor four days."}'
    assert adapter.parse(AnswerFromArticle, reply) == {"answerable": False, "answer": "It burned\tfor four days."}


def test_schema_request_forms() -> None:
    openai_form = response_format(AnswerFromArticle, "openai")
    assert openai_form["type"] == "json_schema" and openai_form["json_schema"]["strict"] is True
    schema = openai_form["json_schema"]["schema"]
    assert schema["required"] == ["answerable", "answer"] and schema["additionalProperties"] is False
    llama = response_format(AnswerFromArticle, "llamacpp")
    assert llama == {"type": "json_object", "schema": schema}
    assert response_format(AnswerFromArticle, None) == {"type": "json_object"}


def test_schema_adapter_sends_its_form_to_the_server() -> None:
    lm_kwargs: dict = {}
    SchemaAdapter("llamacpp")._prepare_response_format(None, lm_kwargs, ReverseSynthesis)
    items = lm_kwargs["response_format"]["schema"]["properties"]["questions"]
    assert items["type"] == "array"


def test_list_lengths_come_from_the_inputs() -> None:
    from foveate_dspy.teachers.adapters import list_bounds
    from signatures.scatter import SelectImportantKeywords

    assert list_bounds(ExtractKeywords, {"article": "x", "count": 6}) == {"keywords": (1, 6)}
    assert list_bounds(ReverseSynthesis, {"article": "x", "answers": ["a", "b"]}) == {"questions": (2, 2)}
    assert list_bounds(SelectImportantKeywords, {"keywords": ["a"], "core_count": 1, "major_count": 2}) == {
        "core_keywords": (1, 1),
        "major_keywords": (1, 2),
    }
    bounded = response_format(ReverseSynthesis, "openai", {"questions": (2, 2)})["json_schema"]["schema"]
    assert bounded["properties"]["questions"]["minItems"] == bounded["properties"]["questions"]["maxItems"] == 2
    assert "maxItems" not in response_format(ReverseSynthesis, "openai")["json_schema"]["schema"]["properties"]["questions"]


def test_key_sentences_are_chosen_from_the_article_in_schema_mode() -> None:
    """The schema lists the article's own sentences as the only values a key sentence may take
    (straight double quotes offered as curly ones, which llama-cpp-python's grammar survives),
    never asks for more than there are, and the reply is mapped back to the article's text."""
    from foveate_dspy.teachers.adapters import SchemaAdapter, list_choices, restore_choices
    from signatures.macro import ExtractKeySentences

    article = 'Dr. Lee wrote 3.5 pages. "Why?" asked Ann.\nThe end came fast, like a storm.'
    inputs = {"article": article, "count": 6}
    offered = {
        "Dr. Lee wrote 3.5 pages.": "Dr. Lee wrote 3.5 pages.",
        "\u201cWhy?\u201d asked Ann.": '"Why?" asked Ann.',
        "The end came fast, like a storm.": "The end came fast, like a storm.",
    }
    assert list_choices(ExtractKeySentences, inputs) == {"key_sentences": offered}
    assert list_choices(ExtractKeywords, {"article": article, "count": 6}) == {}  # keywords are not sentences
    kwargs = SchemaAdapter("llamacpp")._with_format({}, ExtractKeySentences, inputs, {"key_sentences": offered})
    prop = kwargs["response_format"]["schema"]["properties"]["key_sentences"]
    assert prop["items"] == {"type": "string", "enum": list(offered)}
    assert (prop["minItems"], prop["maxItems"]) == (1, 3)
    reply = [{"key_sentences": ["\u201cWhy?\u201d asked Ann.", "The end came fast, like a storm."]}]
    assert restore_choices(reply, {"key_sentences": offered}) == [{"key_sentences": ['"Why?" asked Ann.', "The end came fast, like a storm."]}]
    assert SchemaAdapter(None)._choices(ExtractKeySentences, inputs) == {}  # JSON mode sends no schema


def _entries(*pairs: tuple[str, str]) -> list[QuestionForAnswer]:
    return [QuestionForAnswer(answer=a, question=q) for a, q in pairs]


def test_entries_are_matched_by_echo_not_position() -> None:
    """The teacher skipped the second answer: by position, 'Who baked?' would label 1666."""
    features = ["Thomas Farriner", "1666", "Pudding Lane"]
    entries = _entries(("Thomas Farriner", "Who owned the bakery?"), ("Pudding Lane", "On which street did it start?"))
    proposals = match_by_echo(features, entries, lambda e: e.answer, "answer")
    assert [(p.feature, p.instruction, p.problem is None) for p in proposals] == [
        ("Thomas Farriner", "Who owned the bakery?", True),
        ("1666", "", False),
        ("Pudding Lane", "On which street did it start?", True),
    ]
    assert "no question for this answer" in proposals[1].problem


def test_reordered_and_loosely_copied_echoes() -> None:
    features = [["fire", "wind"], ["Monument"]]
    entries = [
        QuestionForGroup(keywords=["the Monument"], question="Why was the Monument built?"),
        QuestionForGroup(keywords=["Wind", "fire"], question="How did the wind spread the fire?"),
    ]
    proposals = match_by_echo(features, entries, lambda e: e.keywords, "keyword group")
    assert [p.instruction for p in proposals] == ["How did the wind spread the fire?", "Why was the Monument built?"]


def test_an_entry_that_copied_nothing_keeps_its_own_slot_only() -> None:
    features = ["1666", "Pudding Lane"]
    entries = _entries(("", "When did it start?"))
    proposals = match_by_echo(features, entries, lambda e: e.answer, "answer")
    assert proposals[0].instruction == "When did it start?" and proposals[1].problem is not None


def test_an_invented_echo_labels_nothing() -> None:
    proposals = match_by_echo(["1666"], _entries(("Sunderland Cathedral", "What is it?")), lambda e: e.answer, "answer")
    assert proposals[0].problem is not None


def test_dspy_parses_real_chat_reply_end_to_end() -> None:
    """Through dspy.Predict with a canned engine: the adapter's recovery is what DSPy uses."""
    from scripted_lm import scripted_lm

    lm, _ = scripted_lm(lambda outputs, inputs, call: "[[ ## keywords ## ]]\n- Great Fire\n- 1666\n\n[[ ## completed ## ]]")
    with dspy.context(lm=lm, adapter=RecoveringChatAdapter()):
        got = dspy.Predict(ExtractKeywords)(article="The Great Fire of 1666.", count=2)
    assert got.keywords == ["Great Fire", "1666"]
