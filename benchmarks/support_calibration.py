"""Calibration of the answer-support threshold (foveate_dspy.method.support.SUPPORT_THRESHOLD).

    python -m foveate_dspy.compile --corpus examples/articles.jsonl --out /tmp/demo --quiet
    python benchmarks/support_calibration.py --run /tmp/demo [--json calibration.json]

Two sources of answers, scored against their article with `support_score`:
- the accepted answers of a finished run (the README demo with the offline teacher): these are
  grounded by construction and must all pass;
- `benchmarks/support_answers.jsonl`: answers written by hand for the example articles, half
  supported paraphrases (in the style of an LLM teacher: reworded, joined from two sentences, a
  macro answer naming the device), half unsupported (invented facts, another article's facts,
  off-topic or empty talk), which must pass and fail respectively.
It prints the score distribution of each group and, for thresholds 0.30-0.90, how many of each
group pass, then the figures at the threshold in use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from foveate_dspy.method.support import SUPPORT_THRESHOLD, support_score

HAND_WRITTEN = ROOT / "benchmarks" / "support_answers.jsonl"
ARTICLES = ROOT / "examples" / "articles.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def describe(scores: list[float]) -> str:
    if not scores:
        return "none"
    ordered = sorted(scores)
    return (
        f"n={len(scores)} min={ordered[0]:.2f} p5={ordered[int(0.05 * (len(ordered) - 1))]:.2f} "
        f"median={statistics.median(ordered):.2f} max={ordered[-1]:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished run directory (its instructions.jsonl)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    records = args.run / "instructions.jsonl"
    if not records.is_file():
        print(f"error: {records} does not exist; run the demo first (see --help)", file=sys.stderr)
        return 2
    articles = {a["id"]: a["content"] for a in read_jsonl(ARTICLES)}
    demo = [support_score(articles[r["article_id"]], r["output"]) for r in read_jsonl(records)]
    hand = read_jsonl(HAND_WRITTEN)
    supported = [support_score(articles[h["article_id"]], h["answer"]) for h in hand if h["supported"]]
    unsupported = [support_score(articles[h["article_id"]], h["answer"]) for h in hand if not h["supported"]]
    print(f"demo accepted answers : {describe(demo)}")
    print(f"hand-written supported: {describe(supported)}")
    print(f"hand-written unsupported: {describe(unsupported)}")
    print("threshold  demo-pass  supported-pass  unsupported-fail")
    table = []
    for step in range(30, 91, 5):
        t = step / 100
        row = {
            "threshold": t,
            "demo_pass": sum(s >= t for s in demo),
            "supported_pass": sum(s >= t for s in supported),
            "unsupported_fail": sum(s < t for s in unsupported),
        }
        table.append(row)
        marker = "  <- in use" if abs(t - SUPPORT_THRESHOLD) < 1e-9 else ""
        print(
            f"{t:9.2f}  {row['demo_pass']:4d}/{len(demo)}  {row['supported_pass']:8d}/{len(supported)}"
            f"  {row['unsupported_fail']:10d}/{len(unsupported)}{marker}"
        )
    if args.json:
        figures = {
            "threshold": SUPPORT_THRESHOLD,
            "demo": demo,
            "supported": supported,
            "unsupported": unsupported,
            "table": table,
        }
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
