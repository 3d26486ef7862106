"""Optimisation inside the same gate as compile (issue 13, item 5): after the directory lock, in
the call ledger and summary.json, under the run's call limit, with the judge's 429s retried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from network_helpers import ARTICLES, scripted_teacher

from foveate_dspy.compile import main as compile_main
from loopback import Fault, LoopbackServer, first_tries_of_every_nth
from foveate_dspy.runtime.store import RunStore


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


def test_the_token_rate_limit_paces_the_optimisations_requests() -> None:
    """--tpm 600 is 10 tokens a second with a 10-second (100-token) burst. A request whose prompt
    is 400 characters (100 tokens) and whose phase has no history (256 output tokens guessed)
    reserves 356: the bucket is full, so it goes at once and leaves the level at -256. Its reported
    usage, 56 tokens, gives 300 back (level 44), and the phase's mean reply is now 6 tokens: the
    second request reserves 106, needs a full bucket of 100 and waits (100 - 44) / 10 = 5.6 s,
    not the (100 + 256) / 10 = 35.6 s it would wait without the settlement."""
    import dspy

    from foveate_dspy.runtime.calls import Pricing, RunLimits, UsageLedger
    from foveate_dspy.optimize.gate import SyncGate
    from foveate_dspy.runtime.ratelimit import Backoff

    waits: list[float] = []
    gate = SyncGate(RunLimits(), UsageLedger(Pricing()), None, 4, None, None, Backoff(), sleep=waits.append, tpm=600)

    def send() -> str:
        dspy.settings.usage_tracker.add_usage("m", {"prompt_tokens": 50, "completion_tokens": 6})
        return "reply"

    assert gate.call(object(), "optimize", send, characters=400) == "reply"
    assert waits == []
    gate.call(object(), "optimize", send, characters=400)
    assert waits == [pytest.approx(5.6, abs=0.05)]


def test_an_optimisation_stopped_by_the_limit_is_not_paid_for_twice(corpus: Path, tmp_path: Path) -> None:
    """Re-run with a higher limit, the optimisation replays the requests the first session paid
    for from the store: the two sessions together send what one unlimited run sends."""
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(_args(corpus, tmp_path / "whole", server.url)) == 0
        whole = server.snapshot()["requests"]
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(_args(corpus, tmp_path / "topped", server.url, "--max-calls", "5")) == 2
        first = server.snapshot()["requests"]
        assert compile_main(_args(corpus, tmp_path / "topped", server.url, "--max-calls", str(whole + 10))) == 0
        both = server.snapshot()["requests"]
    assert 0 < first <= 5
    assert both == whole
    summary = json.loads((tmp_path / "topped" / "summary.json").read_text())
    assert summary["lm_calls_total"] == whole
