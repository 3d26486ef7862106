"""Optimisation inside the same gate as compile (issue 13, item 5): after the directory lock, in
the call ledger and summary.json, under the run's call limit, with the judge's 429s retried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from network_helpers import ARTICLES, scripted_teacher

from foveate_dspy.compile import main as compile_main
from foveate_dspy.loopback import Fault, LoopbackServer, first_tries_of_every_nth
from foveate_dspy.store import RunStore


@pytest.fixture(autouse=True)
def _dummy_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-test")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "articles.jsonl"
    path.write_text("".join(json.dumps({"id": a.id, "text": a.text}) + "\n" for a in ARTICLES[:3]), encoding="utf-8")
    return path


def _args(corpus: Path, out: Path, url: str, *extra: str) -> list[str]:
    return [
        "--corpus", str(corpus), "--out", str(out), "--teacher", "openai/loopback", "--api-base", url, "--n-per-level", "1",
        "--levels", "micro,macro", "--quiet", "--optimize", "bootstrap", "--optimize-train", "1", "--optimize-n", "1",
        "--optimize-max-calls", "2", "--max-concurrency", "2", *extra,
    ]  # fmt: skip


def _judge(body: dict) -> str:
    """An LM judge's reply (JudgeSynthesizedPair) or the scripted teacher's."""
    system = body["messages"][0]["content"]
    system = system if isinstance(system, str) else json.dumps(system)
    if "`grounded`" in system:
        return "[[ ## grounded ## ]]\nTrue\n\n[[ ## difficulty ## ]]\nmedium\n\n[[ ## completed ## ]]"
    return scripted_teacher(body)


def test_optimisation_calls_are_in_the_ledger_and_the_judge_retries_429(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    faults = first_tries_of_every_nth(3, Fault("status", status=429, retry_after="0"))
    with LoopbackServer(_judge, faults=faults) as server:
        args = _args(corpus, out, server.url, "--judge", "openai/loopback-judge", "--judge-api-base", server.url)
        assert compile_main(args) == 0
        received = server.snapshot()["requests"]
    summary = json.loads((out / "summary.json").read_text())
    by = summary["lm_calls_by_outcome"]
    assert by["optimize"] > 0 and by["judge"] > 0
    assert summary["lm_calls_total"] == received  # every request, optimisation's and judge's included
    report = json.loads((out / "optimization.json").read_text())
    assert report["invalid_judgements"] == 0  # a 429 was retried, not turned into an "invalid" verdict


def test_program_json_is_written_only_under_the_directory_lock(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with LoopbackServer(scripted_teacher) as server, RunStore.open(out):  # another writer holds the directory
        assert compile_main(_args(corpus, out, server.url)) == 1
        assert server.snapshot()["requests"] == 0
    assert "another run is writing this directory" in capsys.readouterr().err
    assert not (out / "program.json").exists() and not (out / "optimization.json").exists()


def test_the_call_limit_covers_the_optimisation(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(_args(corpus, out, server.url, "--max-calls", "5")) == 2
        assert server.snapshot()["requests"] <= 5
    assert "--max-calls 5 reached while optimising" in capsys.readouterr().err
    assert not (out / "program.json").exists()
