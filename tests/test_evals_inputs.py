"""Input loading: formats, names, and bad input reported with file, line and field."""

from __future__ import annotations

import json
import random

import pytest
from evals_helpers import instruction_rows, write_jsonl

from evals.inputs import InputError, load_corpus, load_input, load_inputs, require_field


def test_loads_compile_output_and_names_it_by_method(tmp_path):
    path = write_jsonl(tmp_path / "instructions.jsonl", instruction_rows("self-foveate", {"a1": ["Q1?", "Q2?"]}))
    loaded = load_input(str(path))
    assert loaded.name == "self-foveate"
    assert [r.instruction for r in loaded.records] == ["Q1?", "Q2?"]
    assert loaded.records[0].article_id == "a1" and loaded.records[0].where == f"{path}:1"


def test_name_falls_back_to_file_stem_and_can_be_given(tmp_path):
    rows = instruction_rows("m1", {"a": ["x"]}) + instruction_rows("m2", {"a": ["y"]})
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    assert load_input(str(path)).name == "mixed"
    assert load_input(f"baseline={path}").name == "baseline"


def test_duplicate_names_must_be_made_explicit(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_jsonl(tmp_path / "a" / "instructions.jsonl", instruction_rows("self-foveate", {"x": ["q"]}))
    second = write_jsonl(tmp_path / "b" / "instructions.jsonl", instruction_rows("self-foveate", {"x": ["q"]}))
    with pytest.raises(InputError, match="NAME=PATH"):
        load_inputs([str(first), str(second)])
    assert [s.name for s in load_inputs([f"old={first}", f"new={second}"])] == ["old", "new"]


def test_missing_required_field_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"instruction": "ok"}\n\n{"output": "no instruction"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl:3: missing required field 'instruction'"):
        load_input(str(path))


def test_field_of_wrong_type_is_named(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"instruction": ["not", "a", "string"]}])
    with pytest.raises(InputError, match=r":1: field 'instruction' must be a string, got list"):
        load_input(str(path))


def test_required_only_where_an_eval_needs_it(tmp_path):
    path = write_jsonl(tmp_path / "min.jsonl", [{"instruction": "a"}, {"instruction": "b", "article_id": "x"}])
    loaded = load_input(str(path))
    with pytest.raises(InputError, match=r"min\.jsonl:1: missing required field 'article_id'"):
        require_field(loaded, "article_id", "difficulty")


def test_non_utf8_bytes_are_reported_with_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"instruction": "fine"}\n{"instruction": "caf\xe9"}\n')
    with pytest.raises(InputError, match=r"latin1\.jsonl:2: not valid UTF-8 \(byte 0xe9"):
        load_input(str(path))


def test_invalid_json_and_non_objects(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"instruction": "ok"}\n{"instruction": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.jsonl:2: not valid JSON"):
        load_input(str(path))
    path.write_text('["a list"]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r":1: expected a JSON object, got list"):
        load_input(str(path))


def test_empty_file_and_missing_file(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert load_input(str(empty)).records == []
    with pytest.raises(InputError, match="cannot open"):
        load_input(str(tmp_path / "absent.jsonl"))


def test_squad_sources(shared_data):
    path = shared_data / "squad11_dev_small100.jsonl"
    every = load_input(f"squad:{path}")
    one = load_input(f"squad-one:{path}")
    assert every.name == one.name == "test-questions"
    assert len(every.records) == 527 and len(one.records) == 100
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    rng = random.Random(0)
    assert [r.instruction for r in one.records] == [rng.choice(row["questions"])["question"] for row in rows]
    first = every.records[0]
    assert first.article_id == rows[0]["id"] and first.article == rows[0]["context"]
    assert first.output == rows[0]["questions"][0]["answers"][0]


def test_corpus_ids_match_the_compile_reader(tmp_path):
    path = write_jsonl(tmp_path / "corpus.jsonl", [{"id": "x", "content": "A."}, {"text": "B."}, {"context": "C."}])
    assert load_corpus(path) == {"x": "A.", "corpus-2": "B.", "corpus-3": "C."}
    long_text = " ".join(f"Sentence number {i} says something." for i in range(40))
    chunked = load_corpus(write_jsonl(tmp_path / "long.jsonl", [{"id": "doc", "text": long_text}]), chunk_tokens=50)
    assert "doc#chunk0" in chunked and "doc#chunk1" in chunked
    assert chunked["doc"].startswith("Sentence number 0") and "Sentence number 39" in chunked["doc"]
    custom = write_jsonl(tmp_path / "custom.jsonl", [{"key": "k1", "body": "Text one."}])
    assert load_corpus(custom, text_field="body", id_field="key") == {"k1": "Text one."}
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "y", "body": "?"}])
    with pytest.raises(InputError, match=r"bad\.jsonl:1"):
        load_corpus(bad)
