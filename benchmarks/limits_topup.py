"""Limits that make progress, measured with the real command: a user topping up `--max-calls`.

Issue 13's setup: 4 SQuAD articles, `--n-per-level 2`, `--max-concurrency 4`, the offline
teacher behind the loopback OpenAI server (`python tests/loopback.py`, its own process),
reached through the real DSPy client (`--teacher openai/loopback --api-base ...`). One unlimited
run gives the reference; then the same command runs with `--max-calls 30`, 60, 90, ... until the
corpus is complete. Printed per step: articles saved, the run's `lm_calls_total`, calls lost, and
the requests the server received; at the end the top-up total against the unlimited run's.

Also measured: `--dry-run`'s estimate against the calls a real run takes, on examples/articles.jsonl
with the embedded offline teacher (adaptive budgets).

    python benchmarks/limits_topup.py [--data FILE] [--step 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "squad11_dev_small100.jsonl"
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from throughput import start_server, stop_server  # noqa: E402


def compile_run(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_API_KEY": "loopback-dummy-key", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "foveate_dspy.compile", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True)


def requests_received(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as reply:
        return int(json.load(reply)["requests"])


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def topup(data: Path, step: int, work: Path) -> dict:
    proc, port = start_server(latency=0.05, embedder="minilm", max_seconds=3600)
    try:
        base = [
            "--corpus", str(data), "--limit", "4", "--n-per-level", "2", "--teacher", "openai/loopback",
            "--api-base", f"http://127.0.0.1:{port}/v1", "--max-concurrency", "4", "--quiet",
        ]  # fmt: skip
        before = requests_received(port)
        done = compile_run([*base, "--out", str(work / "unlimited")])
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        unlimited = summary(work / "unlimited")["lm_calls_total"]
        print(f"unlimited run: {unlimited} LM calls (server received {requests_received(port) - before})")
        before = requests_received(port)
        steps, limit = [], step
        while len(steps) < 20:
            started = time.monotonic()
            result = compile_run([*base, "--max-calls", str(limit), "--out", str(work / "topped-up")])
            s = summary(work / "topped-up")
            row = {
                "max_calls": limit,
                "exit": result.returncode,
                "articles_done": s["articles_done"],
                "lm_calls_total": s["lm_calls_total"],
                "lost": s["lm_calls_by_outcome"]["lost"],
                "server_requests": requests_received(port) - before,
                "seconds": round(time.monotonic() - started, 1),
            }
            steps.append(row)
            print(json.dumps(row))
            if s["complete"]:
                break
            limit += step
        total = steps[-1]["lm_calls_total"]
        return {"unlimited_calls": unlimited, "steps": steps, "topped_up_calls": total, "ratio": round(total / unlimited, 3)}
    finally:
        stop_server(proc)


def dry_run_accuracy(work: Path) -> dict:
    corpus = REPO_ROOT / "examples" / "articles.jsonl"
    base = ["--corpus", str(corpus), "--quiet"]
    dry = compile_run([*base, "--dry-run", "--out", str(work / "dry")])
    match = re.search(r"≈ ([\d,]+) LM calls", dry.stderr)
    if dry.returncode != 0 or match is None or (work / "dry").exists():
        raise SystemExit(f"--dry-run failed or wrote something: {dry.stderr}")
    estimated = int(match.group(1).replace(",", ""))
    real = compile_run([*base, "--out", str(work / "real")])
    if real.returncode != 0:
        raise SystemExit(real.stderr)
    measured = summary(work / "real")["lm_calls_total"]
    return {"estimated_calls": estimated, "measured_calls": measured, "error": round(estimated / measured - 1, 3), "dry_run_line": dry.stderr.strip().splitlines()[-1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--step", type=int, default=30)
    parser.add_argument("--skip-dry-run", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report = {"topup": topup(args.data, args.step, work)}
        print(f"top-up: {report['topup']['topped_up_calls']} calls against {report['topup']['unlimited_calls']} unlimited (x{report['topup']['ratio']})")
        if not args.skip_dry_run:
            report["dry_run"] = dry_run_accuracy(work)
            print(f"dry run: estimated {report['dry_run']['estimated_calls']}, measured {report['dry_run']['measured_calls']} ({report['dry_run']['error']:+.1%})")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
