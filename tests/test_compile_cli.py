"""`python -m foveate_dspy.compile`: user errors exit 2 with one line, before any LM call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from foveate_dspy.compile import main


def run_cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "foveate_dspy.compile", *args], capture_output=True, text=True, env=env, timeout=300
    )


def error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"id": "a", "content": "Some text about Paris in 1900."}) + "\n", encoding="utf-8")
    return path


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, runpy; sys.argv=['x','--help']\n"
        "try:\n    runpy.run_module('foveate_dspy.compile', run_name='__main__')\nexcept SystemExit: pass\n"
        "heavy=[m for m in ('dspy','torch','sentence_transformers','litellm') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "--corpus" in out and "HEAVY []" in out


def test_missing_corpus(tmp_path: Path, capsys) -> None:
    assert main(["--corpus", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "run")]) == 2
    assert "nope.jsonl: corpus not found" in error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_empty_corpus(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    assert main(["--corpus", str(empty), "--out", str(tmp_path / "run")]) == 2
    assert "no articles with text" in error_line(capsys)


def test_malformed_line_names_file_and_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"content": "fine"}\n{"content": oops}\n', encoding="utf-8")
    assert main(["--corpus", str(bad), "--out", str(tmp_path / "run")]) == 2
    assert f"{bad}:2: not valid JSON" in error_line(capsys)


def test_missing_text_field_is_named(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "text"}\n', encoding="utf-8")
    assert main(["--corpus", str(bad), "--out", str(tmp_path / "run")]) == 2
    line = error_line(capsys)
    assert f"{bad}:1" in line and "content, context, text" in line and "body" in line


def test_empty_texts_are_skipped_with_a_warning(tmp_path: Path, capsys) -> None:
    from foveate_dspy.corpus.readers import load_corpus

    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "x", "text": "  "}\n{"id": "y", "text": "Real text."}\n', encoding="utf-8")
    assert [a.id for a in load_corpus(path)] == ["y"]
    assert f"warning: {path}:1: empty text in article 'x', skipped" in capsys.readouterr().err


def test_text_field_override(tmp_path: Path) -> None:
    from foveate_dspy.corpus.readers import load_corpus

    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "x", "text": "short", "body": "Long body text."}\n', encoding="utf-8")
    assert load_corpus(path, text_field="body")[0].text == "Long body text."


@pytest.mark.parametrize("levels", ["micro,foo", "", ",", "MICRO"])
def test_bad_levels(corpus: Path, tmp_path: Path, capsys, levels: str) -> None:
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "run"), "--levels", levels]) == 2
    assert "--levels" in error_line(capsys)


def test_unknown_teacher(corpus: Path, tmp_path: Path, capsys) -> None:
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "run"), "--teacher", "nosuchprovider/model-x"]) == 2
    assert "unknown teacher 'nosuchprovider/model-x'" in error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_teacher_without_its_key(corpus: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "run"), "--teacher", "openai/gpt-4o-mini"]) == 2
    assert "OPENAI_API_KEY" in error_line(capsys)


def test_an_embedder_that_cannot_load_is_one_line_before_the_run_directory(corpus: Path, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-such-model"
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "run"), "--embedder", str(missing)]) == 2
    line = error_line(capsys)
    assert "cannot load embedding model" in line and str(missing) in line and "'minilm'" in line
    assert not (tmp_path / "run").exists()


def test_bad_numbers(corpus: Path, tmp_path: Path, capsys) -> None:
    assert main(["--corpus", str(corpus), "--out", str(tmp_path / "run"), "--max-concurrency", "0"]) == 2
    assert "--max-concurrency must be >= 1" in error_line(capsys)


def test_exit_code_2_from_the_real_command(tmp_path: Path) -> None:
    result = run_cli("--corpus", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error:")


def test_the_readme_demo_writes_all_three_levels_with_resynthesised_items(repo_root: Path, tmp_path: Path) -> None:
    """The README's first command (on two of the example passages, to stay quick): the embedded
    offline teacher, Algorithm 1's budgets, every level, and items that succeed only on a retry."""
    out = tmp_path / "demo"
    assert main(["--corpus", str(repo_root / "examples" / "articles.jsonl"), "--out", str(out), "--limit", "2", "--quiet"]) == 0
    records = [json.loads(line) for line in (out / "instructions.jsonl").read_text(encoding="utf-8").splitlines()]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {r["level"] for r in records} == {"micro", "scatter", "macro"}
    assert {r["article_id"] for r in records} == {"great-fire-london", "marie-curie"}
    retried = [r for r in records if r["resynthesized"]]
    assert retried and all(r["attempts"] == len(r["history"]) + 1 >= 2 for r in retried)
    assert all(h["rejection"] for r in retried for h in r["history"])
    assert summary["records"] == len(records) and summary["resynthesized"] == len(retried)
    assert summary["complete"] and summary["lm_calls"] > len(records) and summary["teacher"] == "offline"
    assert (out / "rejected.jsonl").exists()
