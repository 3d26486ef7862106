"""The report: JSON with a flat metrics section, Markdown, readable PNGs."""

from __future__ import annotations

import json

import pytest
from evals_helpers import fake_embedder, instruction_rows, write_jsonl

from evals.inputs import load_input
from evals.report import ReportOptions, build_report, resolve_sample_size, write_report


@pytest.fixture()
def two_methods(tmp_path):
    foveate = {f"art{i}": [f"How does process {i} combine step {j} with the outcome of stage {j + 2}?"
                           for j in range(4)] for i in range(5)}
    baseline = {f"art{i}": [f"What is item {i}-{j}?" for j in range(3)] for i in range(5)}
    rows_a = instruction_rows("self-foveate", foveate, output="Process works by combining the steps in order.")
    rows_b = instruction_rows("self-qa", baseline, level="self-qa", output="Item.")
    corpus = {f"art{i}": f"Process {i} has stages. Step one feeds stage three. The outcome depends on both."
              for i in range(5)}
    return (load_input(str(write_jsonl(tmp_path / "a.jsonl", rows_a))),
            load_input(str(write_jsonl(tmp_path / "b.jsonl", rows_b))), corpus)


def test_build_and_write_report(tmp_path, two_methods):
    a, b, corpus = two_methods
    options = ReportOptions(embedder=None, seeds=(0, 1, 2))
    report = build_report([a, b], options, corpus, embedder=fake_embedder, progress=False)
    data = report.data
    assert data["config"]["resolved_sample_size"] == 15  # the smaller set
    assert [d["n"] for d in data["diversity"]] == [15, 15]
    metrics = data["metrics"]
    assert set(metrics) >= {
        "diversity.selfbleu.self-foveate", "diversity.embedding.self-qa",
        "difficulty.self-foveate_vs_self-qa.win_rate", "difficulty.self-foveate_vs_self-qa.position_bias_rate",
        "quality.self-qa.fluency_high", "quality.self-foveate.invalid_rate",
    }
    assert all(v is None or isinstance(v, float) for v in metrics.values())
    assert data["better"]["difficulty.self-foveate_vs_self-qa.lose_rate"] == "lower"
    assert data["difficulty"][0]["judge"] == "heuristic (offline)"
    assert data["difficulty"][0]["compared"] == 5

    written = write_report(report, tmp_path / "out")
    assert {"report.json", "report.md", "diversity", "difficulty", "levels", "quality",
            "quality_ratings.jsonl"} <= set(written)
    for key in ("diversity", "difficulty", "levels", "quality"):
        assert written[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert on_disk["metrics"] == metrics
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    for text in ("## Diversity", "## Difficulty head-to-head", "## Answer quality", "heuristic (offline)",
                 "Wilson", "![diversity](diversity.png)", "n = 15"):
        assert text in markdown
    ratings = (tmp_path / "out" / "quality_ratings.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(ratings) == len(a.records) + len(b.records)


def test_undefined_diversity_is_null_and_noted(tmp_path, two_methods):
    a, _, _ = two_methods
    single = load_input(str(write_jsonl(tmp_path / "one.jsonl", [{"instruction": "Only one?", "method": "tiny"}])))
    options = ReportOptions(embedder=None, sample="all", difficulty=False, quality=False)
    report = build_report([a, single], options, progress=False)
    assert report.data["metrics"]["diversity.selfbleu.tiny"] is None
    assert any("tiny" in note and "undefined" in note for note in report.data["notes"])
    written = write_report(report, tmp_path / "out")
    assert "n/a" in written["report.md"].read_text(encoding="utf-8")


def test_resolve_sample_size(two_methods):
    a, b, _ = two_methods
    assert resolve_sample_size([a, b], "min") == 15
    assert resolve_sample_size([a, b], "all") is None
    assert resolve_sample_size([a, b], 7) == 7


def test_report_with_an_lm_judge_counts_invalid_replies(tmp_path, two_methods):
    from evals_helpers import chat_reply, scripted_lm

    from evals.judges import LLMDifficultyJudge

    def respond(user_text):
        if "Process 0 " in user_text:
            return "I think the first set, probably."  # no field markers: unparseable
        return chat_reply(harder="1" if "combine step" in user_text.split("instruction_set_2")[0] else "2")

    lm, engine = scripted_lm(respond, temperature=0.5, max_tokens=64)
    a, b, corpus = two_methods
    options = ReportOptions(embedder=None, quality=False)
    report = build_report([a, b], options, corpus, difficulty_judge=LLMDifficultyJudge(lm), progress=False)
    head_to_head = report.data["difficulty"][0]
    assert head_to_head["judge"] == "offline/scripted (LLM judge)"
    assert (head_to_head["wins"], head_to_head["losses"], head_to_head["invalid"]) == (4, 0, 1)
    assert report.data["metrics"]["difficulty.self-foveate_vs_self-qa.invalid_rate"] == pytest.approx(0.2)
    assert any("1 pair(s) invalid (unparseable reply: 2)" in note for note in report.data["notes"])
    assert len(engine.requests) == 10
