"""`python -m foveate_dspy.export`: every format loads back with its usual reader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from resume_helpers import Teacher, compile_run, make_articles, read_jsonl, reply

from foveate_dspy import export as export_module
from foveate_dspy.export import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "run"
    compile_run(make_articles(3), out)
    return out


def _refusing_run(out: Path) -> Path:
    """A run where the answerer refuses every question about Alice: rejected items."""
    teacher = Teacher()

    def respond(outputs, inputs, call):
        teacher.calls.append(inputs)
        if outputs == ("answerable", "answer") and "Alice" in inputs["instruction"]:
            return {"answerable": False, "answer": "I don't know."}
        return reply(outputs, inputs)

    teacher.respond = respond
    compile_run(make_articles(2), out, teacher)
    return out


def test_jsonl_is_the_instructions_file(run_dir: Path, tmp_path: Path) -> None:
    assert main([str(run_dir), "--format", "jsonl", "--out", str(tmp_path / "x.jsonl")]) == 0
    assert read_jsonl(tmp_path / "x.jsonl") == read_jsonl(run_dir / "instructions.jsonl")


def test_alpaca_sharegpt_and_openai_chat_load_back(run_dir: Path, tmp_path: Path) -> None:
    records = read_jsonl(run_dir / "instructions.jsonl")
    assert main([str(run_dir), "--format", "alpaca", "--out", str(tmp_path / "a.json")]) == 0
    alpaca = json.loads((tmp_path / "a.json").read_text())
    assert [(r["instruction"], r["input"], r["output"]) for r in alpaca] == [(r["instruction"], "", r["output"]) for r in records]

    assert main([str(run_dir), "--format", "sharegpt", "--out", str(tmp_path / "s.json"), "--system", "Be brief."]) == 0
    sharegpt = json.loads((tmp_path / "s.json").read_text())
    assert sharegpt[0]["conversations"] == [
        {"from": "system", "value": "Be brief."},
        {"from": "human", "value": records[0]["instruction"]},
        {"from": "gpt", "value": records[0]["output"]},
    ]
    assert len(sharegpt) == len(records)

    assert main([str(run_dir), "--format", "openai-chat", "--out", str(tmp_path / "o.jsonl"), "--with-context"]) == 0
    chats = read_jsonl(tmp_path / "o.jsonl")
    assert len(chats) == len(records)
    user, assistant = chats[0]["messages"]
    assert user["role"] == "user" and user["content"].startswith("Alice Moreau founded") and user["content"].endswith(records[0]["instruction"])
    assert assistant == {"role": "assistant", "content": records[0]["output"]}


def test_hf_loads_with_load_from_disk(run_dir: Path, tmp_path: Path) -> None:
    import datasets

    out = tmp_path / "hf"
    assert main([str(run_dir), "--format", "hf", "--out", str(out)]) == 0
    assert main([str(run_dir), "--format", "hf", "--out", str(out)]) == 0  # replacing an export works
    dataset = datasets.load_from_disk(str(out))
    records = read_jsonl(run_dir / "instructions.jsonl")
    assert len(dataset) == len(records)
    assert dataset[0]["instruction"] == records[0]["instruction"] and dataset[0]["feature"] == [records[0]["feature"]]
    scatter = next(row for row in dataset if row["level"] == "scatter")
    assert isinstance(scatter["feature"], list) and json.loads(scatter["source"])["file"] == "memory"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_rejected_items_can_be_included(tmp_path: Path) -> None:
    import datasets

    run = _refusing_run(tmp_path / "run")
    rejected = [r for r in read_jsonl(run / "rejected.jsonl") if r.get("history")]
    assert rejected
    assert main([str(run), "--format", "jsonl", "--out", str(tmp_path / "all.jsonl"), "--include-rejected"]) == 0
    rows = read_jsonl(tmp_path / "all.jsonl")
    refused = [r for r in rows if not r["accepted"]]
    assert len(refused) == len(rejected) and all(r["reason"] and r["instruction"] for r in refused)
    assert main([str(run), "--format", "hf", "--out", str(tmp_path / "hf"), "--include-rejected"]) == 0
    assert sum(not a for a in datasets.load_from_disk(str(tmp_path / "hf"))["accepted"]) == len(rejected)
    assert main([str(run), "--format", "alpaca", "--out", str(tmp_path / "x.json"), "--include-rejected"]) == 2


def test_a_plain_instructions_file_exports_and_bad_lines_are_named(tmp_path: Path, capsys) -> None:
    path = tmp_path / "baseline.jsonl"
    path.write_text('{"instruction": "Q1?", "output": "A1"}\n{"instruction": "Q2?"}\n', encoding="utf-8")
    assert main([str(path), "--format", "alpaca", "--out", str(tmp_path / "a.json")]) == 2
    assert f"{path}:2: missing or non-string field 'output'" in capsys.readouterr().err
    assert not (tmp_path / "a.json").exists()


def test_push_to_hub_offline_is_a_clear_error(run_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main([str(run_dir), "--format", "hf", "--push-to-hub", "me/my-data"]) == 2
    assert "cannot push 'me/my-data' to the Hugging Face Hub: offline mode is on" in capsys.readouterr().err
    assert main([str(run_dir), "--format", "jsonl", "--push-to-hub", "me/my-data", "--out", str(tmp_path / "x")]) == 2


def test_a_failed_write_leaves_the_previous_export_whole(run_dir: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "o.jsonl"
    out.write_text("previous export\n")

    def full_disk(record, context=None, system=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "to_openai_chat", full_disk)
    assert main([str(run_dir), "--format", "openai-chat", "--out", str(out)]) == 1
    assert out.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["o.jsonl"]


def test_a_missing_run_and_an_empty_folder_are_errors(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "nope"), "--format", "jsonl", "--out", str(tmp_path / "x")]) == 2
    assert main([str(tmp_path), "--format", "jsonl", "--out", str(tmp_path / "x")]) == 2
    assert "no run store here" in capsys.readouterr().err


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, runpy; sys.argv=['x','--help']\n"
        "try:\n    runpy.run_module('foveate_dspy.export', run_name='__main__')\nexcept SystemExit: pass\n"
        "print('HEAVY', [m for m in ('dspy', 'datasets', 'torch', 'litellm') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "--format" in out and "HEAVY []" in out
