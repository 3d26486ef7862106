"""Benchmark: how well `compile` keeps a slow provider busy, and what it costs per LM call.

    python benchmarks/throughput.py                               # 200 articles, 0.5 s, --max-concurrency 32
    python benchmarks/throughput.py --articles 40 --latency 0.2   # a quicker look
    python benchmarks/throughput.py --json throughput.json        # also save the figures

A loopback OpenAI-compatible server (`tests/loopback.py`, in its own process, on 127.0.0.1)
answers every request like the offline teacher, after a fixed latency. `compile` runs against it
in this process through the real DSPy client path (`--teacher openai/loopback --api-base
http://127.0.0.1:PORT/v1`, a dummy OPENAI_API_KEY), on the first N articles of the SQuAD v1.1 dev
file (../shared/data/squad11_dev_2067.jsonl).

A hosted teacher's compute is not on the client's machine; the offline teacher's is, and on a
2-core machine its heavier replies (up to half a second of CPU for an article's keyword
extraction) would queue behind each other and make the server miss its latency. So a priming run
(the same `compile`, in a separate process, against a server with no latency) first records every
reply, and the measured run's server answers from that record (`--replies`): it holds its latency
to the millisecond and costs the client's machine only its HTTP handling. `--no-prime` measures
without it; the report says how many replies came from the record.

Reported, for the LM phase (the runner's article loop; setup before it, such as imports, the
embedding model and Algorithm 1's budgets, is reported separately):
  articles/minute; LM calls and tokens per accepted record (tokens as the server counts them,
  about four characters each); utilisation = mean requests in flight at the server ÷
  --max-concurrency; wall ÷ ideal, where ideal = calls × latency ÷ concurrency; the client's CPU
  per LM call, split into the micro level's keyword embedding (the method's own compute: ranking
  the extracted keywords against the article, ~80 ms per article with MiniLM on one thread) and
  orchestration (everything else: DSPy formatting and parsing, HTTP, the runner, the run store).
  Targets at latency 0.5 s, concurrency 32, 200 articles: utilisation ≥ 0.9, wall ≤ 1.15 × ideal,
  orchestration CPU ≤ 5 ms per call. The figures are measured, never assumed; the script says
  which targets were met, and warns when the server could not hold its latency (a busy machine).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = REPO_ROOT / "tests" / "loopback.py"  # the test and benchmark server, not part of the package
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "squad11_dev_2067.jsonl"
TARGETS = {"utilisation": 0.9, "wall_over_ideal": 1.15, "orchestration_cpu_ms_per_call": 5.0}


def start_server(latency: float, embedder: str, max_seconds: float, replies: Path | None = None) -> tuple[subprocess.Popen, int]:
    """The loopback server in a child process; returns it once it listens (teacher warmed up).
    With `replies`, it answers from that reply log and records new replies in it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, str(LOOPBACK), "--latency", str(latency), "--embedder", embedder, "--max-seconds", str(max_seconds)]
    if replies is not None:
        command += ["--replies", str(replies)]
    proc = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    if not line.startswith("port "):
        proc.kill()
        raise SystemExit(f"the loopback server did not start (it printed {line!r})")
    return proc, int(line.split()[1])


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()  # the server stops cleanly on SIGTERM, its teacher process with it
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def server_stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as reply:
        return json.load(reply)


def compile_argv(args: argparse.Namespace, api_base: str, out: Path) -> list[str]:
    argv = [
        "--corpus", str(args.corpus), "--limit", str(args.articles), "--out", str(out),
        "--teacher", args.model, "--api-base", api_base,
        "--max-concurrency", str(args.concurrency), "--embedder", args.embedder, "--quiet",
    ]
    if args.n_per_level:
        argv += ["--n-per-level", str(args.n_per_level)]
    return argv


def prime(argv: Callable[[str, Path], list[str]], embedder: str, replies: Path, scratch: Path) -> None:
    """Record the offline teacher's replies for a run: `compile` with `argv(api_base, out)`, in a
    separate process (so that nothing it loads or caches helps the measured runs), against a
    server with no latency that writes every reply to `replies`."""
    started = time.perf_counter()
    proc, port = start_server(0.0, embedder, 3600.0, replies)
    try:
        command = [sys.executable, "-m", "foveate_dspy.compile", *argv(f"http://127.0.0.1:{port}/v1", scratch / "priming")]
        subprocess.run(command, cwd=REPO_ROOT, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        recorded = server_stats(port)["requests"]
    finally:
        stop_server(proc)
    print(f"priming: {recorded} teacher replies recorded in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def run_compile(args: argparse.Namespace, api_base: str, out: Path) -> dict[str, float]:
    """Run `compile` in this process; returns the LM phase's wall and CPU seconds."""
    from foveate_dspy import compile as compile_cli
    from foveate_dspy.runtime import runner
    from foveate_dspy.method.embedding import Embedder

    phase: dict[str, float] = {"embedding_cpu": 0.0}
    run_articles, encode = runner.run_articles, Embedder.encode

    async def timed_run_articles(*a: Any, **k: Any) -> None:
        phase["embedding_cpu"] = 0.0  # count the LM phase's embedding only (micro's keyword choice)
        wall, cpu, times = time.perf_counter(), time.process_time(), os.times()
        try:
            await run_articles(*a, **k)
        finally:
            phase["wall"] = time.perf_counter() - wall
            phase["cpu"] = time.process_time() - cpu
            phase["system_cpu"] = os.times().system - times.system

    def timed_encode(self: Embedder, texts: Any) -> Any:
        cpu = time.thread_time()  # torch runs single-threaded here, so thread time is its CPU
        try:
            return encode(self, texts)
        finally:
            phase["embedding_cpu"] += time.thread_time() - cpu

    runner.run_articles, Embedder.encode = timed_run_articles, timed_encode
    try:
        status = compile_cli.main(compile_argv(args, api_base, out))
    finally:
        runner.run_articles, Embedder.encode = run_articles, encode
    if status != 0:
        raise SystemExit(f"compile exited with status {status}")
    return phase


def measure(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["OPENAI_API_KEY"] = "loopback-dummy-key"  # never send a real key, even to 127.0.0.1
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    with tempfile.TemporaryDirectory(prefix="throughput-") as scratch_dir:
        scratch = Path(scratch_dir)
        replies = scratch / "replies.jsonl" if args.prime else None
        if replies is not None:
            prime(functools.partial(compile_argv, args), args.embedder, replies, scratch)
        proc, port = start_server(args.latency, args.embedder, args.max_seconds, replies)
        # The server stands in for a remote provider, whose compute is not on this machine: with
        # --client-nice the client yields the CPU to it, so that it can hold its latency when busy.
        os.nice(args.client_nice)
        try:
            import torch

            torch.set_num_threads(1)
            out = scratch / "run"
            started_wall, started_cpu = time.perf_counter(), time.process_time()
            phase = run_compile(args, f"http://127.0.0.1:{port}/v1", out)
            total_wall, total_cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            server = server_stats(port)
        finally:
            stop_server(proc)
    calls = summary["lm_calls"]
    records = summary["records"]
    ideal = calls * args.latency / args.concurrency
    tokens = summary["input_tokens"] + summary["output_tokens"]
    return {
        "model": args.model,
        "cost_usd": summary["cost_usd"],
        "articles": summary["articles"],
        "articles_done": summary["articles_done"],
        "records": records,
        "lm_calls": calls,
        "lm_errors": summary["lm_errors"],
        "latency_s": args.latency,
        "max_concurrency": args.concurrency,
        "articles_per_minute": 60 * summary["articles_done"] / phase["wall"],
        "calls_per_record": calls / records if records else None,
        "tokens_per_record": tokens / records if records else None,
        "server_mean_in_flight": server["mean_in_flight"],
        "server_max_in_flight": server["max_in_flight"],
        "utilisation": server["mean_in_flight"] / args.concurrency,
        "client_gate_utilisation": (summary.get("lm_concurrency") or {}).get("utilisation"),
        "lm_phase_wall_s": phase["wall"],
        "server_window_s": server["window_seconds"],
        "ideal_s": ideal,
        "wall_over_ideal": phase["wall"] / ideal if ideal else None,
        "cpu_ms_per_call": 1000 * phase["cpu"] / calls if calls else None,
        "embedding_cpu_ms_per_call": 1000 * phase["embedding_cpu"] / calls if calls else None,
        "orchestration_cpu_ms_per_call": 1000 * (phase["cpu"] - phase["embedding_cpu"]) / calls if calls else None,
        "system_cpu_ms_per_call": 1000 * phase["system_cpu"] / calls if calls else None,
        "setup_wall_s": total_wall - phase["wall"],
        "total_wall_s": total_wall,
        "total_cpu_ms_per_call": 1000 * total_cpu / calls if calls else None,
        "server_seconds_per_request": server["mean_request_seconds"],
        "server_respond_seconds_per_request": server["respond_seconds"] / max(server["requests"], 1),
        "server_late_seconds_per_request": server["late_seconds"] / max(server["requests"], 1),
        "server_replayed": server["replayed"],
        "server_requests": server["requests"],
        "load_average": os.getloadavg(),
        "server_teacher_cpu_ms_per_call": 1000 * server["respond_cpu_seconds"] / max(server["requests"], 1),
        "server_http_cpu_ms_per_call": 1000 * server["server_process_cpu_seconds"] / max(server["requests"], 1),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }


def report(figures: dict[str, Any]) -> str:
    f = figures
    lines = [
        f"throughput: {f['articles_done']}/{f['articles']} articles, --teacher {f['model']}, latency {f['latency_s']} s, "
        f"--max-concurrency {f['max_concurrency']} ({f['machine']})",
        f"  articles/minute            {f['articles_per_minute']:.1f}",
        f"  LM calls                   {f['lm_calls']} ({f['lm_errors']} failed), {f['records']} accepted records",
        f"  LM calls per record        {f['calls_per_record']:.2f}",
        f"  tokens per record          {f['tokens_per_record']:.0f} (server count, ~4 characters per token)"
        + (f"; estimated cost ${f['cost_usd']:.4f} at {f['model']}'s list prices" if f["cost_usd"] is not None else ""),
        f"  mean in flight (server)    {f['server_mean_in_flight']:.2f} (max {f['server_max_in_flight']})",
        f"  utilisation                {f['utilisation']:.3f} (client gate: {f['client_gate_utilisation']:.3f})",
        f"  wall / ideal               {f['wall_over_ideal']:.3f} ({f['lm_phase_wall_s']:.1f} s / {f['ideal_s']:.1f} s;"
        f" first request to last reply {f['server_window_s']:.1f} s)",
        f"  client CPU per LM call     {f['cpu_ms_per_call']:.2f} ms = orchestration {f['orchestration_cpu_ms_per_call']:.2f} ms"
        f" + micro's keyword embedding {f['embedding_cpu_ms_per_call']:.2f} ms (kernel time {f['system_cpu_ms_per_call']:.2f} ms;"
        f" whole run incl. setup: {f['total_cpu_ms_per_call']:.2f} ms)",
        f"  setup before the LM phase  {f['setup_wall_s']:.1f} s (imports, embedder, budgets, store)",
        f"  server CPU per call        {f['server_teacher_cpu_ms_per_call']:.2f} ms teacher (its worker process),"
        f" {f['server_http_cpu_ms_per_call']:.2f} ms HTTP (incl. its start-up);"
        f" {f['server_replayed']} of {f['server_requests']} replies from the priming run's log",
        f"  server time per request    {f['server_seconds_per_request']:.3f} s (configured latency {f['latency_s']} s;"
        f" teacher {f['server_respond_seconds_per_request']:.3f} s of it, late by {f['server_late_seconds_per_request']:.3f} s)",
        f"  load average (1/5/15 min)  {' '.join(f'{x:.2f}' for x in f['load_average'])} at the end",
    ]
    if f["server_seconds_per_request"] > 1.1 * f["latency_s"]:
        lines.append("  warning: the server could not hold its latency (machine busy?); the figures understate the client")
    checks = [
        ("utilisation", f["utilisation"] >= TARGETS["utilisation"], f">= {TARGETS['utilisation']}"),
        ("wall / ideal", f["wall_over_ideal"] <= TARGETS["wall_over_ideal"], f"<= {TARGETS['wall_over_ideal']}"),
        (
            "orchestration CPU",
            f["orchestration_cpu_ms_per_call"] <= TARGETS["orchestration_cpu_ms_per_call"],
            f"<= {TARGETS['orchestration_cpu_ms_per_call']} ms per call",
        ),
        ("in-flight bound", f["server_max_in_flight"] <= f["max_concurrency"], f"<= {f['max_concurrency']}"),
    ]
    lines += [f"  target {name:<18} {'met' if ok else 'MISSED'} ({goal})" for name, ok, goal in checks]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_DATA, help="JSONL corpus (default: SQuAD v1.1 dev, 2,067 paragraphs)")
    parser.add_argument("--articles", type=int, default=200, help="first N articles (default 200)")
    parser.add_argument("--latency", type=float, default=0.5, help="server seconds per reply (default 0.5)")
    parser.add_argument("--concurrency", type=int, default=32, help="--max-concurrency (default 32)")
    parser.add_argument("--n-per-level", type=int, help="fixed budget instead of Algorithm 1")
    parser.add_argument(
        "--model",
        default="openai/loopback",
        help="the model name sent (default openai/loopback; a priced name such as openai/gpt-4o-mini also shows cost)",
    )
    parser.add_argument("--embedder", default="minilm", help="embedder for budgets, micro and the teacher (default minilm)")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="the server stops by itself after this long")
    parser.add_argument("--client-nice", type=int, default=0, help="scheduling niceness of the client (default 0; e.g. 10 to let the server keep its latency on a busy machine)")
    parser.add_argument(
        "--no-prime",
        dest="prime",
        action="store_false",
        help="skip the priming run: the server's teacher then computes every reply during the measured run",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus}: corpus not found")
    figures = measure(args)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
