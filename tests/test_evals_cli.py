"""The command line: light --help, every command end to end offline, bad input messages."""

from __future__ import annotations

import json
import subprocess
import sys

from evals_helpers import instruction_rows, write_jsonl

from evals.cli import main


def test_help_imports_nothing_heavy(repo_root):
    code = (
        "import sys, contextlib, io\n"
        "from evals.cli import build_parser\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    build_parser().parse_args(['report', '--help'])\n"
        "heavy = ('torch', 'sentence_transformers', 'dspy', 'matplotlib', 'nltk', 'pandas')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    help_text = subprocess.run([sys.executable, "-m", "evals", "--help"], cwd=repo_root, capture_output=True,
                               text=True, check=True).stdout
    for command in ("diversity", "difficulty", "quality", "report", "check", "squad-one:PATH", "NAME="):
        assert command in help_text


def test_diversity_command_on_squad(shared_data, tmp_path, capsys):
    path = shared_data / "squad11_dev_small100.jsonl"
    out = tmp_path / "div.json"
    code = main(["diversity", f"squad-one:{path}", f"every=squad:{path}", "--embedder", "none",
                 "--sample", "min", "--repeats", "3", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "n = 100 per set" in printed and "test-questions" in printed and "every" in printed
    results = json.loads(out.read_text(encoding="utf-8"))
    assert [r["n"] for r in results] == [100, 100] and results[1]["seeds"] == [0, 1, 2]
    assert results[0]["selfbleu_std"] == 0.0 and results[1]["selfbleu_std"] > 0.0


def test_diversity_of_one_sentence_says_undefined(tmp_path, capsys):
    path = write_jsonl(tmp_path / "one.jsonl", [{"instruction": "Just one?"}, {"instruction": ""}])
    assert main(["diversity", str(path), "--embedder", "none"]) == 0
    captured = capsys.readouterr()
    assert "diversity undefined" in captured.out and "undefined for fewer than 2" in captured.out
    assert "1 empty instruction(s) left out" in captured.err


def test_empty_file_is_reported(tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    assert main(["diversity", str(path), "--embedder", "none"]) == 0
    captured = capsys.readouterr()
    assert "no records (empty file)" in captured.err and "undefined" in captured.out


def test_bad_input_exits_2_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"instruction": "ok"}\n{"instruction": "\xff"}\n')
    assert main(["diversity", str(path), "--embedder", "none"]) == 2
    assert "bad.jsonl:2: not valid UTF-8" in capsys.readouterr().err


def _method_files(tmp_path):
    articles = {f"art{i}": [f"How does stage {i} connect the cause with the effect described later?",
                            f"Why does stage {i} matter for the outcome and the cause?"] for i in range(4)}
    simple = {f"art{i}": [f"What is stage {i}?", f"Name stage {i}."] for i in range(4)}
    a = write_jsonl(tmp_path / "a.jsonl", instruction_rows("self-foveate", articles,
                                                           output="Stage connects the cause with the effect."))
    b = write_jsonl(tmp_path / "b.jsonl", instruction_rows("self-qa", simple, level="self-qa", output="Stage."))
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [
        {"id": f"art{i}", "content": f"Stage {i} begins with a cause. Much later, an effect follows. "
                                     "The outcome depends on both."} for i in range(4)])
    return a, b, corpus


def test_difficulty_and_quality_commands(tmp_path, capsys):
    a, b, corpus = _method_files(tmp_path)
    out = tmp_path / "h2h.json"
    assert main(["difficulty", str(a), str(b), "--corpus", str(corpus), "--no-progress", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "judge: heuristic (offline)" in printed and "Wilson" in printed and "position bias" in printed
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["compared"] == 4 and len(result["pairs"]) == 4
    ratings = tmp_path / "ratings.jsonl"
    assert main(["quality", str(a), str(b), "--no-progress", "--ratings", str(ratings)]) == 0
    assert "heuristic (offline)" in capsys.readouterr().out
    assert len(ratings.read_text(encoding="utf-8").splitlines()) == 16


def test_report_then_check_round_trip(tmp_path, capsys):
    a, b, corpus = _method_files(tmp_path)
    out = tmp_path / "report"
    assert main(["report", str(a), str(b), "--corpus", str(corpus), "--out", str(out), "--embedder", "none",
                 "--no-progress"]) == 0
    for name in ("report.json", "report.md", "diversity.png", "difficulty.png", "levels.png", "quality.png"):
        assert (out / name).is_file()
    report = out / "report.json"
    assert main(["check", str(report), "--baseline", str(report)]) == 0
    data = json.loads(report.read_text(encoding="utf-8"))
    data["metrics"]["diversity.selfbleu.self-foveate"] += 0.2  # a baseline the current run falls short of
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(data), encoding="utf-8")
    assert main(["check", str(report), "--baseline", str(baseline), "--tolerance", "0.05"]) == 1
    assert "REGRESSED" in capsys.readouterr().out


def test_report_without_article_ids_points_to_the_flag(tmp_path, capsys):
    plain = write_jsonl(tmp_path / "plain.jsonl", [{"instruction": f"Question {i}?", "output": "A."} for i in range(3)])
    other = write_jsonl(tmp_path / "other.jsonl", [{"instruction": f"Other {i}?", "output": "B."} for i in range(3)])
    args = ["report", str(plain), str(other), "--out", str(tmp_path / "r"), "--embedder", "none", "--no-progress"]
    assert main(args) == 2
    assert "plain.jsonl:1: missing required field 'article_id' (needed by the head-to-head; --no-difficulty skips it)" \
        in capsys.readouterr().err
    assert main(args + ["--no-difficulty"]) == 0
