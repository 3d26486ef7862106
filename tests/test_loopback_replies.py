"""The loopback server's reply log (the throughput benchmark's priming run) and the caches that keep
DSPy's per-call lookups cheap (`foveate_dspy.runtime.dspy_workarounds.call_caches`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from network_helpers import ARTICLES, read_jsonl, scripted_teacher

from loopback import LoopbackServer, ReplyLog
from foveate_dspy.runtime.runner import RunSettings, run


@pytest.fixture(autouse=True)
def _dummy_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "loopback-test-key")


def compile_against(server: LoopbackServer, out: Path) -> list[tuple[str, str, str]]:
    settings = RunSettings(teacher="openai/loopback", api_base=server.url, n_per_level=2, max_concurrency=4)
    summary = run(list(ARTICLES[:2]), out, settings, progress=False)
    assert summary["complete"]
    return sorted((r["id"], r["instruction"], r["output"]) for r in read_jsonl(out / "instructions.jsonl"))


def test_a_primed_reply_log_answers_the_same_run_without_the_teacher(tmp_path: Path) -> None:
    calls: list[int] = []

    def counting_teacher(body: dict[str, Any]) -> str:
        calls.append(1)
        return scripted_teacher(body)

    log_path = tmp_path / "replies.jsonl"
    with LoopbackServer(counting_teacher, reply_log=ReplyLog(log_path)) as server:
        primed = compile_against(server, tmp_path / "priming")
        priming = server.snapshot()
    # A request repeated within the run (the same question asked twice) is already a replay; the
    # run's output-mode probe requests are no DSPy calls and get the server's prose.
    probes = priming["replies"]["not_dspy"]
    assert probes == 2 and len(calls) > 0 and len(calls) + priming["replayed"] + probes == priming["requests"]
    assert len(read_jsonl(log_path)) == len(calls)  # every distinct reply, written as it was made
    distinct = len(calls)

    calls.clear()
    with LoopbackServer(counting_teacher, reply_log=ReplyLog(log_path)) as server:
        replayed = compile_against(server, tmp_path / "measured")
        stats = server.snapshot()
    assert calls == [] and stats["replayed"] + probes == stats["requests"] == priming["requests"]
    assert replayed == primed
    assert len(read_jsonl(log_path)) == distinct  # nothing new was appended


def test_a_malformed_reply_log_names_the_file_and_line(tmp_path: Path) -> None:
    log_path = tmp_path / "replies.jsonl"
    log_path.write_text('{"key": "k1", "reply": "r1"}\n{"key": "k2"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"replies\.jsonl, line 2: not a reply record"):
        ReplyLog(log_path)


def test_the_model_lookup_cache_answers_like_dspy_and_hands_out_copies() -> None:
    from dspy.clients import capabilities, costs, model_metadata

    from foveate_dspy.runtime.dspy_workarounds import call_caches as dspy_call_caches

    original = dspy_call_caches._MODEL_INFO
    dspy_call_caches.install()
    for module in (model_metadata, capabilities, costs):
        assert module.model_info is dspy_call_caches.cached_model_info
    for provider, model, namespaces in [
        ("openai", "gpt-4o-mini", None),  # in the table: prices and capabilities
        ("openai", "loopback", None),  # not in the table: the slow scan, then nothing
        ("vllm", "Qwen2.5-7B-Instruct", None),
        ("openai", "gpt-4o-mini", ["openai"]),
    ]:
        expected = original(provider, model, namespaces=namespaces)
        got = model_metadata.model_info(provider, model, namespaces=namespaces)
        assert got == expected
        got["input_cost_per_token"] = -1.0  # a caller mutating its answer changes no later answer
        assert model_metadata.model_info(provider, model, namespaces=namespaces) == expected
    assert original("openai", "gpt-4o-mini")["input_cost_per_token"] > 0


def test_type_adapters_are_shared_per_type_and_behave_like_new_ones() -> None:
    import pydantic
    from dspy.adapters import utils

    from foveate_dspy.runtime.dspy_workarounds import call_caches as dspy_call_caches

    dspy_call_caches.install()
    assert utils.TypeAdapter(list[str]) is utils.TypeAdapter(list[str])
    assert utils.TypeAdapter(list[str]).validate_python(["a", "b"]) == ["a", "b"]
    with pytest.raises(pydantic.ValidationError):
        utils.TypeAdapter(int).validate_python("not a number")
    assert utils.serialize_for_json({"n": 1, "tags": ("x",)}) == {"n": 1, "tags": ["x"]}
    assert utils.parse_value("[1, 2]", list[int]) == [1, 2]
    strict = utils.TypeAdapter(list[str], config=pydantic.ConfigDict(strict=True))  # options bypass the cache
    assert strict is not utils.TypeAdapter(list[str])
