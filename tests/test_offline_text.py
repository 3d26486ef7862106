"""Pure parts of the offline teacher: sentences, verbs, keyword candidates, request protocol."""

from __future__ import annotations

import json

from offline_helpers import example_article

from foveate_dspy.teachers.offline.grammar import past_to_base, present_to_base
from foveate_dspy.teachers.offline.keywords import extract_candidates
from foveate_dspy.teachers.offline.protocol import count_tokens, decode_value, format_reply, parse_request
from foveate_dspy.teachers.offline.registry import Call
from foveate_dspy.method.rhetoric import detect_devices
from foveate_dspy.teachers.offline.span_questions import classify_span
from foveate_dspy.corpus.text import split_sentences
from foveate_dspy.teachers.offline.workbench import Workbench


def test_sentence_splitter_respects_abbreviations_initials_and_decimals():
    text = 'Dr. Smith met J. S. Bach in 1720. It cost 3.5 million. "Why?" he asked.\nSt. Paul left.'
    assert [s.text for s in split_sentences(text)] == [
        "Dr. Smith met J. S. Bach in 1720.",
        "It cost 3.5 million.",
        '"Why?" he asked.',
        "St. Paul left.",
    ]


def test_sentences_are_exact_slices_of_the_text():
    article = example_article("great-fire-london")
    sentences = split_sentences(article)
    assert len(sentences) == 10
    assert all(article[s.start : s.end] == s.text for s in sentences)


def test_verb_base_forms():
    pairs = {
        "opened": "open",
        "named": "name",
        "stopped": "stop",
        "travelled": "travel",
        "studied": "study",
        "built": "build",
        "required": "require",
        "visited": "visit",
    }
    assert {verb: past_to_base(verb) for verb in pairs} == pairs
    assert past_to_base("house") is None
    assert present_to_base("climbs") == "climb" and present_to_base("carries") == "carry"


def test_candidates_are_verbatim_and_typed():
    article = example_article("great-fire-london")
    candidates = extract_candidates(article, split_sentences(article))
    kinds = {c.text: c.kind for c in candidates}
    assert kinds["Great Fire of London"] == "entity"
    assert kinds["2 September 1666"] == "date"
    assert kinds["13,200 houses"] == "quantity"
    assert all(article[c.start : c.start + len(c.text)] == c.text for c in candidates)
    assert "Pudding" not in kinds  # only ever inside "Pudding Lane"
    lowered = [c.text.lower() for c in candidates]
    assert len(lowered) == len(set(lowered))


def test_span_kinds_choose_the_wh_word():
    assert classify_span("1666", "in", "").front() == "When"
    assert classify_span("13,200 houses", "", "").front() == "How many houses"
    assert classify_span("Christopher Wren", "", " designed").front() == "Who"
    assert classify_span("Paris", "to", "").front() == "Where"
    assert classify_span("Chemistry", "in", "", inside_name=True).front() == "What"


def test_rhetorical_cues():
    names = lambda s: [d.name for d in detect_devices(s)]  # noqa: E731
    assert names("Is there a better way?")[0] == "question"
    assert "contrast" in names("The Baixa is planned, whereas the Alfama is crooked.")
    assert "comparison" in names("It is older than the kingdom.")
    assert names('"Climb it," said one driver.')[0] == "quotation"
    assert detect_devices("The cat sat on the mat.") == []


SYSTEM = (
    "Your input fields are:\n1. `article` (str): \n2. `keyword_groups` (list[list[str]]): \n"
    "3. `count` (int):\nYour output fields are:\n1. `questions` (list[str]): one per group\n"
    "2. `answerable` (bool):\nAll interactions will be structured in the following way, with the "
    "appropriate values filled in.\n\n[[ ## article ## ]]\n{article}\n\nIn adhering to this structure"
)


def test_parse_request_reads_fields_types_and_the_last_user_message():
    demo = "[[ ## article ## ]]\nDemo.\n\n[[ ## keyword_groups ## ]]\n[]\n\n[[ ## count ## ]]\n1"
    last = (
        "[[ ## article ## ]]\nLine one.\n\nLine two.\n\n[[ ## keyword_groups ## ]]\n"
        '[["Zürich"], ["a", "b"]]\n\n[[ ## count ## ]]\n3\n\n'
        "Respond with the corresponding output fields, starting with the field `[[ ## questions ## ]]`."
    )
    parsed = parse_request(
        SYSTEM, [("user", demo), ("assistant", "[[ ## questions ## ]]\n[]"), ("user", last)]
    )
    assert [f.name for f in parsed.inputs] == ["article", "keyword_groups", "count"]
    assert [(f.name, f.type) for f in parsed.outputs] == [
        ("questions", "list[str]"),
        ("answerable", "bool"),
    ]
    assert parsed.values == {
        "article": "Line one.\n\nLine two.",
        "keyword_groups": [["Zürich"], ["a", "b"]],
        "count": 3,
    }
    assert not parsed.json_reply
    assert parsed.digest(0.5) != parsed.digest(1.2)


def test_reply_format_and_value_decoding():
    parsed = parse_request(SYSTEM, [("user", "[[ ## article ## ]]\nx")])
    reply = format_reply(
        parsed.outputs, {"questions": ["Où?", "Why?"], "answerable": False}, json_reply=False
    )
    assert (
        reply
        == '[[ ## questions ## ]]\n["Où?", "Why?"]\n\n[[ ## answerable ## ]]\nFalse\n\n[[ ## completed ## ]]'
    )
    as_json = format_reply(
        parsed.outputs, {"questions": ["Q?"], "answerable": True}, json_reply=True
    )
    assert json.loads(as_json) == {"questions": ["Q?"], "answerable": True}
    assert decode_value('["a", "b"]', "list[str]") == ["a", "b"]
    assert decode_value("True", "bool") is True
    assert count_tokens("Hello, world!") == 4


def test_choose_is_best_first_in_normal_mode_and_hash_varied_in_creative_mode():
    workbench = Workbench("unused", encode=lambda texts: None)
    options = ["best", "second", "third", "fourth"]

    def call(temperature, digest):
        return Call(
            inputs={}, outputs=(), temperature=temperature, digest=digest, workbench=workbench
        )

    assert call(0.5, "x").choose(options, "s") == "best"
    assert call(None, "x").choose(options, "s") == "best"
    picks = {call(1.2, f"request {i}").choose(options, "s") for i in range(12)}
    assert "best" not in picks and len(picks) >= 2
    assert call(1.2, "same").choose(options, "s") == call(1.2, "same").choose(options, "s")
