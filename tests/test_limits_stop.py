"""--max-calls and --max-cost-usd stop a run cleanly and resumably; cost is shown and summarised;
prompts put the article first so provider prefix caching applies."""

from __future__ import annotations

import json
from pathlib import Path

import dspy
import pytest
from network_helpers import ARTICLES, read_jsonl, scripted_teacher

from foveate_dspy.runtime.calls import Pricing, UsageLedger
from foveate_dspy.compile import main as compile_main
from loopback import LoopbackServer
from foveate_dspy.runtime.progress import RunProgress
from foveate_dspy.runtime.runner import Tally


@pytest.fixture(scope="module", autouse=True)
def _dummy_key():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_API_KEY", "loopback-test-key")
        patch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        yield


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "articles.jsonl"
    path.write_text("".join(json.dumps({"id": a.id, "text": a.text}) + "\n" for a in ARTICLES[:4]), encoding="utf-8")
    return path


def compile_args(corpus: Path, out: Path, url: str, *extra: str, teacher: str = "openai/loopback") -> list[str]:
    return [
        "--corpus", str(corpus), "--out", str(out), "--teacher", teacher, "--api-base", url,
        "--n-per-level", "2", "--max-concurrency", "2", "--quiet", *extra,
    ]  # fmt: skip


def summary_of(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def unlimited(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("unlimited") / "run"
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(compile_args(corpus, out, server.url)) == 0
    return {"summary": summary_of(out), "records": sorted(r["id"] for r in read_jsonl(out / "instructions.jsonl"))}


def test_max_calls_stops_cleanly_and_a_raised_limit_resumes(
    corpus: Path, tmp_path: Path, unlimited: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    # Room for two articles (--max-concurrency 2) but not three: two are admitted and finish.
    step = unlimited["summary"]["lm_calls"] // 4 * 2 + 5
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(compile_args(corpus, out, server.url, "--max-calls", str(step))) == 0
        assert server.snapshot()["requests"] <= step  # admitted calls are counted: never more
        first = summary_of(out)
        assert "stopped early: --max-calls" in capsys.readouterr().err
        assert first["stopped"].startswith(f"--max-calls {step}: ") and not first["complete"]
        assert first["articles_done"] == 2 and first["lm_calls_by_outcome"]["lost"] == 0
        committed = sorted(r["id"] for r in read_jsonl(out / "instructions.jsonl"))
        # The limit is the run's total: the same command again makes no call.
        requests = server.snapshot()["requests"]
        assert compile_main(compile_args(corpus, out, server.url, "--max-calls", str(step))) == 0
        assert server.snapshot()["requests"] == requests
        limit = step
        for _ in range(6):  # a user topping up
            limit += step
            assert compile_main(compile_args(corpus, out, server.url, "--max-calls", str(limit))) == 0
            if summary_of(out)["complete"]:
                break
    final = summary_of(out)
    assert final["complete"] and final["stopped"] is None
    assert final["lm_calls_total"] == unlimited["summary"]["lm_calls_total"]  # nothing paid twice
    records = sorted(r["id"] for r in read_jsonl(out / "instructions.jsonl"))
    assert records == unlimited["records"] and set(committed) <= set(records)


def test_max_cost_admits_only_the_articles_the_limit_can_pay_for(corpus: Path, tmp_path: Path, unlimited: dict) -> None:
    out = tmp_path / "run"
    with LoopbackServer(scripted_teacher) as server:
        # A priced model name: the loopback answers any model, LiteLLM prices gpt-4o-mini's usage.
        assert compile_main(compile_args(corpus, out, server.url, "--max-cost-usd", "0.004", teacher="openai/gpt-4o-mini")) == 0
        requests = server.snapshot()["requests"]
    summary = summary_of(out)
    assert summary["stopped"].startswith("--max-cost-usd 0.004") and not summary["complete"]
    assert summary["articles_done"] >= 1 and summary["lm_calls_by_outcome"]["lost"] == 0  # whole articles, none cut short
    assert summary["lm_calls_total"] == requests < unlimited["summary"]["lm_calls"]
    assert summary["cost_usd_total"] <= 0.004 and summary["limits"]["cost_left_usd"] == pytest.approx(0.004 - summary["cost_usd_total"], abs=1e-6)


def test_max_cost_refuses_an_unpriced_model_before_any_call(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(compile_args(corpus, tmp_path / "run", server.url, "--max-cost-usd", "1")) == 2
        assert server.snapshot()["requests"] == 0
    assert "LiteLLM has none for openai/loopback" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--rpm", "--tpm", "--request-timeout", "--max-cost-usd", "--max-calls"])
def test_runtime_limits_must_be_positive(flag: str, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert compile_main(compile_args(corpus, tmp_path / "run", "http://127.0.0.1:9/v1", flag, "0")) == 2
    assert flag in capsys.readouterr().err


def test_tpm_and_rpm_runs_complete_with_the_same_records(corpus: Path, tmp_path: Path, unlimited: dict) -> None:
    out = tmp_path / "run"
    with LoopbackServer(scripted_teacher) as server:
        assert compile_main(compile_args(corpus, out, server.url, "--tpm", "100000000", "--rpm", "1000000")) == 0
    assert sorted(r["id"] for r in read_jsonl(out / "instructions.jsonl")) == unlimited["records"]


def test_cost_is_estimated_from_usage_and_shown_in_the_progress_line() -> None:
    ledger = UsageLedger(Pricing.lookup(["openai/gpt-4o-mini", "openai/loopback"]))
    assert ledger.pricing.priced == {"openai/gpt-4o-mini"}
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 800}}
    ledger.record("answer", {"openai/gpt-4o-mini": usage}, failed=False)
    ledger.record("answer", {"openai/loopback": usage}, failed=False)
    totals = ledger.totals()
    # 200 uncached and 800 cached input tokens, 100 output tokens, at gpt-4o-mini's list prices.
    assert totals.cost_usd == pytest.approx(200 * 0.15e-6 + 800 * 0.075e-6 + 100 * 0.6e-6)
    assert totals.unpriced_calls == 1 and totals.cached_input_tokens == 1600
    line = RunProgress(4, Tally(), ledger, enabled=False).describe()
    assert "calls 2" in line and "≈$0.0001" in line


def test_every_call_puts_the_article_first_for_prefix_caching() -> None:
    from signatures import answer, macro, micro, scatter

    adapter = dspy.ChatAdapter()
    signatures = [
        value
        for module in (answer, macro, micro, scatter)
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, dspy.Signature) and value is not dspy.Signature
    ]
    assert len(signatures) >= 11
    for signature in signatures:
        assert next(iter(signature.input_fields)) == "article", signature.__name__
    # Two calls of a stage on one article share the system message and the article verbatim.
    first, second = (
        adapter.format(answer.AnswerFromArticle, [], {"article": "The article text.", "instruction": question})
        for question in ("Who?", "When?")
    )
    assert first[0] == second[0] and first[0]["role"] == "system"
    assert first[-1]["content"].startswith("[[ ## article ## ]]\nThe article text.\n\n[[ ## instruction ## ]]")
    assert second[-1]["content"].startswith("[[ ## article ## ]]\nThe article text.\n\n[[ ## instruction ## ]]")
