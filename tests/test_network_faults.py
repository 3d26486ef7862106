"""Provider faults through the real client path: DSPy's LM, lm15's HTTP client and a real socket
to the loopback server, which misbehaves on cue. The run must go on, lose nothing it committed,
and record why anything is missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from network_helpers import ARTICLES, closed_port_url, read_jsonl, scripted_teacher

from loopback import Fault, LoopbackServer, first_tries_of_every_nth
from foveate_dspy.runtime.ratelimit import Backoff
from foveate_dspy.runtime.runner import RunSettings, run

FAST = Backoff(max_retries=3, base=0.01, cap=0.05)


@pytest.fixture(scope="module", autouse=True)
def _dummy_key():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_API_KEY", "loopback-test-key")
        yield


def compile_run(api_base: str, out: Path, articles=ARTICLES[:3], **overrides: Any) -> dict[str, Any]:
    options = {"n_per_level": 2, "max_concurrency": 4, "backoff": FAST, **overrides}
    settings = RunSettings(teacher="openai/loopback", api_base=api_base, **options)
    return run(list(articles), out, settings, progress=False)


def records(out: Path) -> list[tuple[str, str, str]]:
    return sorted((r["id"], r["instruction"], r["output"]) for r in read_jsonl(out / "instructions.jsonl"))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a healthy server gives for the same articles and settings."""
    out = tmp_path_factory.mktemp("baseline") / "run"
    with LoopbackServer(scripted_teacher, latency=0.01) as server:
        summary = compile_run(server.url, out)
        stats = server.snapshot()
    assert summary["complete"] and summary["records"] > 0
    return {"summary": summary, "records": records(out), "requests": stats["requests"]}


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", 429),
        Fault("status", 429, retry_after="0"),
        Fault("status", 500),
        Fault("status", 503, retry_after="0"),
        Fault("truncate"),
        Fault("non_utf8"),
        Fault("drop"),
    ],
    ids=["429", "429-retry-after", "500", "503-retry-after", "truncated", "non-utf8", "dropped"],
)
def test_transient_faults_are_retried_and_nothing_is_lost(fault: Fault, baseline: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "run"
    with LoopbackServer(scripted_teacher, latency=0.01, faults=first_tries_of_every_nth(3, fault)) as server:
        summary = compile_run(server.url, out)
        stats = server.snapshot()
    faulty = stats["requests"] - stats["replies"].get("200", 0) - stats["replies"].get("not_dspy", 0)  # not_dspy: the probe
    assert faulty > 0
    assert summary["complete"] and not summary["articles_failed"]
    assert records(out) == baseline["records"]
    # Every request is counted, the failed ones as errors, and each failure cost one extra request.
    assert summary["lm_calls"] == stats["requests"] == baseline["requests"] + faulty
    assert summary["lm_errors"] == faulty


def test_timeout_cancels_the_request_before_sending_it_again(tmp_path: Path) -> None:
    slow = Fault("slow", delay=30.0)
    first_call = []  # the first DSPy call, after the run's output-mode probe requests

    def plan(_number: int, body: dict) -> Fault | None:
        if first_call or "Your input fields are:" not in json.dumps(body["messages"]):
            return None
        first_call.append(True)
        return slow

    with LoopbackServer(scripted_teacher, latency=0.0, faults=plan) as server:
        summary = compile_run(
            server.url, tmp_path / "run", ARTICLES[:1], max_concurrency=1, request_timeout=0.5, backoff=Backoff(base=0.3, cap=0.3)
        )
        stats = server.snapshot()
    assert summary["complete"] and summary["records"] > 0
    # The timed-out request was abandoned (its connection closed) and sent again once, never twice
    # at the same time: with --max-concurrency 1 the server never saw two requests in flight.
    assert stats["replies"]["client_gone"] == 1
    assert stats["max_in_flight"] == 1
    assert summary["lm_errors"] == 1 and summary["lm_calls"] == stats["requests"]


def test_connection_refused_records_why_and_commits_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    summary = compile_run(closed_port_url(), out, ARTICLES[:2], backoff=Backoff(max_retries=1, base=0.01, cap=0.01))
    assert not summary["complete"] and summary["records"] == 0
    assert [f["article_id"] for f in summary["articles_failed"]] == ["a0", "a1"]
    for failure in summary["articles_failed"]:
        assert "LM call failed after 2 attempts" in failure["error"] and "LMTransportError" in failure["error"]
    assert read_jsonl(out / "instructions.jsonl") == [] and read_jsonl(out / "rejected.jsonl") == []


def test_outage_mid_run_loses_no_committed_article_and_the_rerun_completes(baseline: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "run"
    per_article = baseline["requests"] // 3  # the scripted teacher makes the same calls for every article
    outage = lambda number, _body: Fault("status", 503) if number >= per_article + 2 else None
    with LoopbackServer(scripted_teacher, latency=0.0, faults=outage) as server:
        first = compile_run(server.url, out, max_concurrency=1, backoff=Backoff(max_retries=1, base=0.01, cap=0.01))
    assert first["articles_done"] == 1 and not first["complete"]
    assert {f["article_id"] for f in first["articles_failed"]} == {"a1", "a2"}
    kept = records(out)
    assert kept and set(kept) <= set(baseline["records"])
    with LoopbackServer(scripted_teacher, latency=0.0) as server:
        second = compile_run(server.url, out)
    assert second["complete"]
    assert records(out) == baseline["records"]  # the first run's article is still there, unchanged


def test_prose_instead_of_fields_is_a_parse_failure_not_a_retry(tmp_path: Path) -> None:
    def prose_answers(number: int, body: dict[str, Any]) -> Fault | None:
        return Fault("prose") if "`answerable`" in body["messages"][0]["content"] else None

    out = tmp_path / "run"
    with LoopbackServer(scripted_teacher, latency=0.0, faults=prose_answers) as server:
        summary = compile_run(server.url, out, ARTICLES[:1], max_retries=1)
        stats = server.snapshot()
    # A reply that arrived but does not parse is the teacher's verdict: final, not an outage.
    assert summary["complete"] and summary["records"] == 0
    rejected = read_jsonl(out / "rejected.jsonl")
    assert rejected and all("did not parse" in r["reason"] for r in rejected)
    # No call-level retry: each prose reply was one request, counted once as an error.
    assert summary["lm_errors"] == stats["replies"]["prose"]


def test_in_flight_bound_holds_at_the_server(tmp_path: Path) -> None:
    with LoopbackServer(scripted_teacher, latency=0.05) as server:
        summary = compile_run(server.url, tmp_path / "run", ARTICLES, max_concurrency=3)
        stats = server.snapshot()
    assert summary["complete"]
    assert stats["max_in_flight"] == 3  # never more, and the bound is actually used
    assert summary["lm_concurrency"]["max_in_flight"] == 3


def test_summary_is_plain_json_with_no_key(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with LoopbackServer(scripted_teacher, latency=0.0) as server:
        compile_run(server.url, out, ARTICLES[:1])
    text = (out / "summary.json").read_text(encoding="utf-8")
    assert "loopback-test-key" not in text
    assert json.loads(text)["settings"]["request_timeout"] == 120.0
