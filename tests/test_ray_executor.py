"""`compile --executor ray` on a local Ray instance: same records as a local run, one in-flight
bound across the cluster and several endpoints, a killed worker redone exactly once, and runs
resumed from one executor on the other.

One Ray instance (2 CPUs, no dashboard) serves the whole module: starting Ray costs seconds on
a 2-core machine. Every run goes through `foveate_dspy.compile.main` in this process, which finds
Ray already initialised and uses it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

import pytest
from ray_helpers import (
    Probe,
    article_tries,
    articles_done,
    compile_in_thread,
    read_jsonl,
    scripted_args,
    servers,
    worker_pids,
)

from foveate_dspy.compile import main as compile_main
from foveate_dspy.export import main as export_main

SCRIPTED_ARTICLES = 12
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")  # Ray Data's own


@pytest.fixture(scope="module")
def cluster():
    """The module's Ray instance. Workers read API keys from the environment Ray starts in, as
    on a real cluster: the loopback servers' dummy key is set first."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_API_KEY", "sk-loopback-dummy")
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
        yield ray
        ray.shutdown()


@pytest.fixture(scope="module")
def corpus(shared_data: Path) -> Path:
    return shared_data / "squad11_dev_small100.jsonl"


@pytest.fixture(scope="module")
def reference(cluster, tmp_path_factory, corpus: Path) -> Path:
    """An uninterrupted local run of the scripted teacher: what every scripted run must equal."""
    out = tmp_path_factory.mktemp("reference") / "run"
    with servers(1, Probe(0.0)) as (server,):
        assert compile_main(scripted_args(corpus, SCRIPTED_ARTICLES, out, [server.url], 4)) == 0
    return out


def same_records(run: Path, reference: Path) -> None:
    for name in ("instructions.jsonl", "rejected.jsonl"):
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name


def test_offline_teacher_on_ray_writes_what_a_local_run_writes(cluster, corpus: Path, tmp_path: Path) -> None:
    """The whole SQuAD slice with the offline teacher, same seed: the same records in the same
    files, the same usage figures, and exports that work unchanged."""
    common = ["--corpus", str(corpus), "--levels", "scatter", "--n-per-level", "1", "--seed", "7", "--quiet"]
    local, remote = tmp_path / "local", tmp_path / "ray"
    assert compile_main([*common, "--out", str(local)]) == 0
    assert compile_main([*common, "--out", str(remote), "--executor", "ray", "--ray-workers", "2"]) == 0

    same_records(remote, local)
    records = read_jsonl(remote / "instructions.jsonl")
    assert len({r["article_id"] for r in records}) > 90 and len({r["id"] for r in records}) == len(records)
    ours, theirs = (json.loads((d / "summary.json").read_text()) for d in (remote, local))
    for key in ("articles_done", "records", "resynthesized", "failed", "level_failures", "lm_calls", "input_tokens", "output_tokens", "lm_usage", "budget"):
        assert ours[key] == theirs[key], key
    assert ours["complete"] and ours["articles"] == 100
    assert ours["resynthesized"] > 0  # the seeded re-synthesis path ran on the workers
    assert ours["lm_concurrency"]["executor"] == "ray" and ours["lm_concurrency"]["workers"] == 2
    for run in (local, remote):
        assert export_main([str(run), "--format", "alpaca", "--out", str(run / "alpaca.json")]) == 0
    assert (remote / "alpaca.json").read_bytes() == (local / "alpaca.json").read_bytes()


def test_the_in_flight_bound_holds_across_workers_and_endpoints(cluster, corpus: Path, reference: Path, tmp_path: Path) -> None:
    """Two workers, two endpoints capped at 3 each, --max-concurrency 5: the servers never see
    more than 5 requests at once in total, nor more than 3 each, and the records do not depend
    on which endpoint answered."""
    probe = Probe(0.05)
    with servers(2, probe) as (first, second):
        argv = scripted_args(corpus, SCRIPTED_ARTICLES, tmp_path / "run", [f"{first.url}=3", f"{second.url}=3"], 5)
        assert compile_main([*argv, "--executor", "ray", "--ray-workers", "2"]) == 0
        stats = [first.snapshot(), second.snapshot()]
    assert probe.peak <= 5
    assert all(s["max_in_flight"] <= 3 for s in stats)
    assert all(s["requests"] > 0 for s in stats)  # both endpoints served
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    report = summary["lm_concurrency"]
    assert report["max_in_flight"] <= 5
    # The run's output-mode probe requests are sent by the driver, outside the broker, and answered
    # by the loopback itself (not the scripted teacher): the server counts them as not_dspy.
    probes = [s["replies"].get("not_dspy", 0) for s in stats]
    assert [e["requests"] for e in report["endpoints"]] == [s["requests"] - p for s, p in zip(stats, probes)]
    assert sum(s["requests"] for s in stats) == summary["lm_calls"] == probe.requests + sum(probes)
    same_records(tmp_path / "run", reference)


def test_a_killed_worker_costs_only_its_articles_and_resume_is_exact(cluster, corpus: Path, reference: Path, tmp_path: Path) -> None:
    """kill -9 a worker mid-run with --max-concurrency 2: Ray restarts it, its articles are redone,
    the slots it held come back (else the run would stall), every article is committed once, and
    running the command again has nothing left to do."""
    run = tmp_path / "run"
    probe = Probe(0.06)
    with servers(1, probe) as (server,):
        argv = [*scripted_args(corpus, SCRIPTED_ARTICLES, run, [server.url], 2), "--executor", "ray", "--ray-workers", "2"]
        thread, outcome = compile_in_thread(argv)
        deadline = time.monotonic() + 120
        while thread.is_alive() and articles_done(run) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert thread.is_alive(), "the run ended before a worker could be killed"
        victims = worker_pids()
        assert victims, "no Ray Data worker process found"
        os.kill(victims[0], signal.SIGKILL)
        killed_at = articles_done(run)
        thread.join(timeout=200)
        assert not thread.is_alive(), "the run did not finish after a worker was killed"
        assert outcome["rc"] == 0
        assert killed_at < SCRIPTED_ARTICLES
        assert victims[0] not in worker_pids()
        requests = probe.requests
        assert compile_main(argv) == 0  # again: nothing to do
        assert probe.requests == requests
    same_records(run, reference)
    assert article_tries(run) == [1] * SCRIPTED_ARTICLES  # no article committed twice
    summary = json.loads((run / "summary.json").read_text())
    assert summary["complete"] and summary["this_run"]["lm_calls"] == 0


@pytest.mark.parametrize("first,then", [("local", "ray"), ("ray", "local")])
def test_a_run_stopped_on_one_executor_is_finished_on_the_other(cluster, corpus: Path, reference: Path, tmp_path: Path, first: str, then: str) -> None:
    """--max-calls stops the first session cleanly (never more requests than allowed, on Ray
    counted by the cluster's one gate); the same command on the other executor finishes the run
    with exactly the records of an uninterrupted one."""
    run = tmp_path / "run"
    probe = Probe(0.0)
    with servers(1, probe) as (server,):
        argv = scripted_args(corpus, SCRIPTED_ARTICLES, run, [server.url], 3)
        executor = {"local": [], "ray": ["--executor", "ray", "--ray-workers", "2"]}
        assert compile_main([*argv, *executor[first], "--max-calls", "100"]) == 0
        assert probe.requests <= 100
        stopped = json.loads((run / "summary.json").read_text())
        assert "--max-calls 100" in stopped["stopped"] and 0 < stopped["articles_done"] < SCRIPTED_ARTICLES
        assert compile_main([*argv, *executor[then]]) == 0
    same_records(run, reference)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["complete"] and summary["stopped"] is None
    assert [s["status"] for s in summary["sessions"]] == ["stopped", "finished"]
    assert article_tries(run) == [1] * SCRIPTED_ARTICLES


def test_topping_up_a_ray_run_saves_whole_articles_and_pays_about_an_unlimited_runs_calls(
    cluster, corpus: Path, reference: Path, tmp_path: Path
) -> None:
    """The cluster admits an article only when the limit can pay for it: each top-up of a quarter
    of an unlimited run's calls saves more articles, and the finished run has paid within 10% of
    what the unlimited one did, with its records."""
    whole = json.loads((reference / "summary.json").read_text())["lm_calls_total"]
    run, limit, done, sessions = tmp_path / "run", 0, 0, 0
    with servers(1, Probe(0.0)) as (server,):
        argv = [*scripted_args(corpus, SCRIPTED_ARTICLES, run, [server.url], 3), "--executor", "ray", "--ray-workers", "2"]
        while True:
            limit += whole // 4
            sessions += 1
            assert compile_main([*argv, "--max-calls", str(limit)]) == 0
            summary = json.loads((run / "summary.json").read_text())
            assert summary["articles_done"] > done, f"session {sessions} (--max-calls {limit}) saved no article"
            done = summary["articles_done"]
            if summary["complete"]:
                break
            assert sessions < 8
    assert summary["lm_calls_total"] <= whole * 1.10
    same_records(run, reference)
