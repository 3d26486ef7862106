"""German and Chinese passages through the real small model (SmolLM2-135M on llama.cpp).

The teacher is told each article's language; a 135M model mostly writes English anyway. This
test holds what the program guarantees (every record carries its article's language, every reply
is read in schema mode) and prints which language the model actually wrote, for the README."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from real_llm_helpers import MODEL, run_module, summary, write_corpus

from foveate_dspy.corpus.language import detect_language

pytestmark = pytest.mark.slow

PASSAGES = [
    {
        "id": "rhein",
        "content": (
            "Der Rhein entspringt in den Schweizer Alpen und fließt über 1.200 Kilometer bis zur Nordsee. "
            "Anders als die Donau mündet er nicht ins Schwarze Meer, sondern in ein Delta in den Niederlanden. "
            "Seit dem Mittelalter ist er eine der wichtigsten Wasserstraßen Europas."
        ),
    },
    {
        "id": "changjiang",
        "content": (
            "长江是中国最长的河流，全长约六千三百公里。它发源于青藏高原，向东流入东海。"
            "与黄河相比，长江的水量大得多。三峡大坝建在长江上，是世界上最大的水电站之一。"
        ),
    },
]


def test_german_and_chinese_passages_through_the_real_model(smollm, tmp_path: Path, repo_root: Path) -> None:
    corpus = write_corpus(tmp_path / "de-zh.jsonl", PASSAGES)
    out = tmp_path / "run"
    done = run_module(
        "foveate_dspy.compile", "--corpus", str(corpus), "--out", str(out), "--teacher", MODEL, "--api-base", smollm.url,
        "--levels", "micro", "--n-per-level", "1", "--no-reread", "--max-retries", "1", "--max-tokens", "160", "--quiet",
        cwd=repo_root,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1: every article failed, which a 135M model may do
    report = summary(out)
    assert report["output_mode"] == {"mode": "schema", "form": "llamacpp"}
    assert not any(row["calls_lost"] for row in report["parsing"].values())
    expected = {"rhein": "de", "changjiang": "zh"}
    records = [json.loads(line) for line in (out / "instructions.jsonl").read_text(encoding="utf-8").splitlines()]
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    for record in records + [r for r in rejected if r.get("feature") is not None]:  # items, not failed levels
        assert record["language"] == expected[record["article_id"]]
    written = {r["article_id"]: (detect_language(r["instruction"]), detect_language(r["output"])) for r in records}
    print("languages written (instruction, answer) per article:", written, "rejections:", [r["reason"][:80] for r in rejected])
