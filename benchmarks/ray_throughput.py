"""Benchmark: `compile --executor ray` against the local executor, and over several endpoints.

    python benchmarks/ray_throughput.py                          # 60 articles, latency 0.5 s
    python benchmarks/ray_throughput.py --articles 20 --latency 0.2 --endpoints 1,2
    python benchmarks/ray_throughput.py --json ray_throughput.json

Every endpoint is a loopback OpenAI-compatible server (`tests/loopback.py`, its own process,
127.0.0.1) answering like the offline teacher after a fixed latency, so the client path is the
real one (DSPy, HTTP) and the teacher's CPU work stays out of the client processes. As in
benchmarks/throughput.py, a priming run first records the teacher's replies and the servers answer
from that record, so that on a small machine they hold their latency instead of competing with
the clients for the CPUs (`--no-prime` to measure without). The corpus is the first N articles of
the SQuAD v1.1 dev file with a fixed budget (--n-per-level).

Runs, each into a fresh run directory and against fresh servers:
  1. local executor, one endpoint, --max-concurrency C;
  2. Ray, W workers on a local Ray instance started once here (ray.init, 2 CPUs by default), the
     same endpoint count and C: the Ray executor should be within 10% of the local one;
  3. Ray, W workers, 1, 2, 4 ... endpoints, each capped at L requests in flight (URL=L), with
     --max-concurrency S >= the sum of the caps: throughput should grow with the endpoints
     while each server stays within its cap, as with a fleet of vLLM servers.

Reported per run: articles/minute over the LM phase (from the first request any server saw to
the last reply, taken from the servers' own clocks), mean requests in flight summed over the
servers, the most any one server held at once, the executor's wall time including its start-up
(Ray workers build the program and load the embedding model), how busy the machine's CPUs were
meanwhile, and LM calls. The figures are measured, never assumed; the script says whether the 10%
target was met.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the single-machine benchmark's server helpers
from throughput import DEFAULT_DATA, prime, server_stats, start_server, stop_server

TARGET = 0.10  # Ray within 10% of local at the same --max-concurrency


@contextlib.contextmanager
def endpoints(count: int, latency: float, embedder: str, replies: Path | None) -> Iterator[list[int]]:
    """`count` fresh loopback servers (answering from the reply log `replies`, when given);
    yields their ports, stops them afterwards."""
    procs = []
    try:
        for _ in range(count):
            procs.append(start_server(latency, embedder, 1800, replies))
        yield [port for _, port in procs]
    finally:
        for proc, _ in procs:
            stop_server(proc)


def timed(holder: Any, name: str, phase: dict[str, float]) -> Any:
    """Replace holder.name by a wrapper that records its wall time in phase["executor"], and how
    busy the machine's CPUs were meanwhile (clients, Ray workers and servers share them)."""
    import psutil

    original = getattr(holder, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        psutil.cpu_percent(None)  # starts the measurement window
        try:
            return original(*args, **kwargs)
        finally:
            phase["executor"] = time.perf_counter() - started
            phase["cpu_busy"] = psutil.cpu_percent(None) / 100

    setattr(holder, name, wrapper)
    return original


def compile_argv(args: argparse.Namespace, out: Path, concurrency: int) -> list[str]:
    """compile's arguments shared by every run, without --api-base."""
    argv = ["--corpus", str(args.corpus), "--limit", str(args.articles), "--n-per-level", str(args.n_per_level)]
    return argv + ["--teacher", "openai/loopback", "--embedder", args.embedder, "--max-concurrency", str(concurrency), "--out", str(out), "--quiet"]


def one_run(args: argparse.Namespace, label: str, executor: str, count: int, limit: int | None, concurrency: int) -> dict[str, Any]:
    from foveate_dspy import compile as compile_cli
    from foveate_dspy.runtime import ray_executor
    from foveate_dspy.runtime import runner

    out = Path(tempfile.mkdtemp(prefix="ray-throughput-")) / "run"
    phase: dict[str, float] = {}
    with endpoints(count, args.latency, args.embedder, args.replies) as ports:
        argv = compile_argv(args, out, concurrency)
        for port in ports:
            argv += ["--api-base", f"http://127.0.0.1:{port}/v1" + (f"={limit}" if limit else "")]
        if executor == "ray":
            argv += ["--executor", "ray", "--ray-workers", str(args.workers)]
        holder, name = (ray_executor.RayExecutor, "__call__") if executor == "ray" else (runner, "run_local")
        original = timed(holder, name, phase)
        try:
            status = compile_cli.main(argv)
        finally:
            setattr(holder, name, original)
        if status != 0:
            raise SystemExit(f"{label}: compile exited with status {status}")
        stats = [server_stats(port) for port in ports]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    window = max(s["window_seconds"] for s in stats)  # the servers run side by side from the start
    return {
        "run": label,
        "executor": executor,
        "endpoints": count,
        "endpoint_limit": limit,
        "max_concurrency": concurrency,
        "articles_done": summary["articles_done"],
        "lm_calls": summary["lm_calls"],
        "server_requests": sum(s["requests"] for s in stats),
        "articles_per_minute": 60 * summary["articles_done"] / window,
        "lm_phase_s": window,
        "mean_in_flight": sum(s["mean_in_flight"] for s in stats),
        "max_in_flight_per_server": max(s["max_in_flight"] for s in stats),
        "executor_wall_s": phase["executor"],
        "cpu_busy": phase["cpu_busy"],
        "server_seconds_per_request": sum(s["mean_request_seconds"] * s["requests"] for s in stats) / max(1, sum(s["requests"] for s in stats)),
        "replayed": sum(s["replayed"] for s in stats),
        "gate_in_flight": (summary.get("lm_concurrency") or {}).get("mean_in_flight"),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    os.environ["OPENAI_API_KEY"] = "loopback-dummy-key"  # never send a real key, even to 127.0.0.1
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import ray
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="ray-throughput-replies-") as scratch:
        args.replies = Path(scratch) / "replies.jsonl" if args.prime else None
        if args.replies is not None:

            def priming_argv(api_base: str, out: Path) -> list[str]:
                return [*compile_argv(args, out, args.concurrency), "--api-base", api_base]

            prime(priming_argv, args.embedder, args.replies, Path(scratch))
        started = time.perf_counter()
        ray.init(num_cpus=args.ray_cpus, include_dashboard=False, logging_level=logging.WARNING)
        ray_start = time.perf_counter() - started
        try:
            runs = [
                one_run(args, "local", "local", 1, None, args.concurrency),
                one_run(args, f"ray x{args.workers}", "ray", 1, None, args.concurrency),
            ]
            for count in args.endpoints:
                label = f"ray x{args.workers}, {count} endpoint(s) of {args.endpoint_limit}"
                runs.append(one_run(args, label, "ray", count, args.endpoint_limit, args.scale_concurrency))
        finally:
            ray.shutdown()
    return {
        "latency_s": args.latency,
        "articles": args.articles,
        "n_per_level": args.n_per_level,
        "workers": args.workers,
        "ray_init_s": ray_start,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "runs": runs,
    }


def report(figures: dict[str, Any]) -> str:
    f = figures
    lines = [
        (
            f"ray throughput: {f['articles']} articles, --n-per-level {f['n_per_level']}, latency {f['latency_s']} s, "
            f"{f['workers']} Ray workers ({f['machine']}; ray.init once, {f['ray_init_s']:.1f} s)"
        ),
        f"  {'run':<36} {'conc.':>5} {'art/min':>8} {'LM phase s':>10} {'in flight':>9} {'max/server':>10} {'executor s':>10} {'CPU busy':>8}"
        f" {'calls':>6} {'s/request':>9} {'replayed':>8} {'gate':>6}",
    ]
    for r in f["runs"]:
        lines.append(
            f"  {r['run']:<36} {r['max_concurrency']:>5} {r['articles_per_minute']:>8.1f} {r['lm_phase_s']:>10.1f} {r['mean_in_flight']:>9.2f}"
            f" {r['max_in_flight_per_server']:>10} {r['executor_wall_s']:>10.1f} {r['cpu_busy']:>8.0%} {r['lm_calls']:>6}"
            f" {r['server_seconds_per_request']:>9.3f} {r['replayed']:>8} {r['gate_in_flight']:>6.2f}"
        )
    local, ray_run = f["runs"][0], f["runs"][1]
    ratio = ray_run["articles_per_minute"] / local["articles_per_minute"]
    lines.append(f"  Ray / local throughput at --max-concurrency {local['max_concurrency']}: {ratio:.3f} "
                 f"(target: within {TARGET:.0%}: {'met' if abs(ratio - 1) <= TARGET or ratio > 1 else 'MISSED'})")
    scaling = f["runs"][2:]
    if scaling:
        base = scaling[0]["articles_per_minute"]
        lines.append("  scaling by endpoints: " + ", ".join(f"{r['endpoints']} -> {r['articles_per_minute'] / base:.2f}x" for r in scaling))
        capped = all(r["max_in_flight_per_server"] <= r["endpoint_limit"] for r in scaling)
        lines.append(f"  per-endpoint caps held: {'yes' if capped else 'NO'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_DATA, help="JSONL corpus (default: SQuAD v1.1 dev, 2,067 paragraphs)")
    parser.add_argument("--articles", type=int, default=60, help="first N articles (default 60)")
    parser.add_argument("--n-per-level", type=int, default=2, help="fixed budget per level (default 2)")
    parser.add_argument("--latency", type=float, default=0.5, help="server seconds per reply (default 0.5)")
    parser.add_argument("--concurrency", type=int, default=16, help="--max-concurrency of the local-vs-Ray comparison (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="Ray workers (default 2)")
    parser.add_argument("--ray-cpus", type=int, default=2, help="CPUs of the local Ray instance (default 2)")
    parser.add_argument("--endpoints", default="1,2,4", help="endpoint counts of the scaling runs (default 1,2,4; empty: none)")
    parser.add_argument("--endpoint-limit", type=int, default=8, help="requests in flight per endpoint in the scaling runs (default 8)")
    parser.add_argument("--scale-concurrency", type=int, default=32, help="--max-concurrency of the scaling runs (default 32)")
    parser.add_argument("--embedder", default="minilm", help="embedder for micro and the teacher (default minilm)")
    parser.add_argument(
        "--no-prime",
        dest="prime",
        action="store_false",
        help="skip the priming run: the servers' teacher then computes every reply during the measured runs",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    args.endpoints = [int(x) for x in args.endpoints.split(",") if x.strip()]
    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus}: corpus not found")
    figures = measure(args)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
