"""Filters inside a run: removed pairs move to rejected.jsonl with their reason, counts add up."""

from __future__ import annotations

import json

import dspy

from foveate_dspy.corpus.readers import Article
from foveate_dspy.method.filters import FilterConfig
from foveate_dspy.method.items import Attempt, Item
from foveate_dspy.runtime.runner import RunSettings, run

NORMAL_ANSWER = "Alice Moreau founded the company in Toulouse in 1990 with two partners."  # 12 words
PAIRS = {
    "a0": [
        ("Who founded Acme Rockets?", NORMAL_ANSWER),
        ("Who founded Acme Rockets in Toulouse?", NORMAL_ANSWER),  # near-duplicate of the first
        ("Where is Acme based?", "As an AI language model, I believe it is Toulouse, a city in France."),  # noise
    ],
    "a1": [
        (question, NORMAL_ANSWER)
        for question in (
            "When was the launch pad finished?",
            "Which engineer designed the second stage?",
            "How many rockets flew in 1999?",
            "What fuel powered the early engines?",
            "Where did the test flights take place?",
            "Why were the rivals slower?",
        )
    ],
    "a2": [
        ("Why did the engines use recycled steel?", NORMAL_ANSWER),
        ("Describe the whole history of the company.", " ".join(["history"] * 300)),  # length outlier
    ],
}


class HandMade(dspy.Module):
    """A program returning fixed pairs, so the test sees the filters and the files, not an LM."""

    async def aforward(self, article: str, n: int, article_id: str, seed: int) -> dspy.Prediction:
        items = [
            Item(f"{article_id}:micro:{i}", article_id, "micro", "kw", [Attempt(0, q, a, 0.5)])
            for i, (q, a) in enumerate(PAIRS[article_id])
        ]
        return dspy.Prediction(results=items, level_failures=[])


def read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_filters_move_pairs_to_rejected_and_report(tmp_path) -> None:
    articles = [Article(id=i, text=f"Text of {i}.") for i in PAIRS]
    settings = RunSettings(
        levels=("micro",), n_per_level=3, filters=("noise", "rouge", "length"), filter_config=FilterConfig()
    )
    summary = run(articles, tmp_path, settings, program=HandMade(), progress=False, teacher_lm=dspy.utils.DummyLM([]))

    kept = read(tmp_path / "instructions.jsonl")
    rejected = {r["id"]: r["reason"] for r in read(tmp_path / "rejected.jsonl")}
    assert rejected["a0:micro:1"].startswith("filtered: rouge: ROUGE-L")
    assert rejected["a0:micro:2"].startswith("filtered: noise: the answer contains the noise term 'as an ai")
    assert rejected["a2:micro:1"].startswith("filtered: length: answer of 300 words outside")
    assert len(rejected) == 3
    assert len(kept) == 11 - 3 and not {r["id"] for r in kept} & set(rejected)
    assert summary["records"] == 8 and summary["failed"] == 3
    assert summary["records_per_level"] == {"micro": 8}
    assert summary["filters"]["removed_per_filter"] == {"noise": 1, "rouge": 1, "length": 1}
    on_disk = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert on_disk["filters"]["removed"] == 3
    assert on_disk["settings"]["filters"] == ["noise", "rouge", "length"]


def test_no_filters_keep_every_valid_pair(tmp_path) -> None:
    articles = [Article(id=i, text=f"Text of {i}.") for i in PAIRS]
    summary = run(articles, tmp_path, RunSettings(levels=("micro",), n_per_level=3), program=HandMade(), progress=False, teacher_lm=dspy.utils.DummyLM([]))
    assert summary["records"] == 11 and "filters" not in summary
    assert (tmp_path / "rejected.jsonl").read_text(encoding="utf-8") == ""


def test_bad_filter_options_fail_before_any_lm_call(repo_root, tmp_path, capsys) -> None:
    from foveate_dspy.compile import main

    base = ["--corpus", str(repo_root / "examples" / "articles.jsonl"), "--out", str(tmp_path / "run"), "--limit", "1"]
    assert main([*base, "--filters", "noise,bleu"]) == 2
    assert "--filters takes a comma-separated subset of noise,rouge,length" in capsys.readouterr().err
    assert main([*base, "--filters", "noise", "--noise-terms", str(tmp_path / "none.txt")]) == 2
    assert "none.txt: cannot read the noise term list" in capsys.readouterr().err
    assert main([*base, "--filters", "rouge", "--rouge-threshold", "1.5"]) == 2
    assert not (tmp_path / "run").exists()
