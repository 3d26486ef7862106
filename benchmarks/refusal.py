"""Benchmark: the refusal classifier (`foveate_dspy.method.refusal.is_refusal`) on the labelled set.

    python benchmarks/refusal.py                       # figures per split, tune mistakes listed
    python benchmarks/refusal.py --baseline 70f7af9    # also the detector of that git revision
    python benchmarks/refusal.py --json refusal.json   # also save the figures

The set (tests/data/refusals.jsonl) is hand-written: refusals in many phrasings and genuine
answers that contain negations, quotes, hedges, "unknown" or "unable to", in English, German and
Chinese. Its split was fixed by a seeded hash of each text before any rule was written; the rules
are tuned on `tune` only. So this script lists the mistakes on `tune` and only counts those on
`heldout`: reading the held-out mistakes would turn the held-out figures into tune figures.

`--baseline REV` loads `foveate_dspy/validity.py` as it was at git revision REV and measures its
`is_unknown_answer`, the detector this classifier replaced (70f7af9 is the last revision with
it), on the same split.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "tests" / "data" / "refusals.jsonl"
SPLITS = ("tune", "heldout")


def load(path: Path) -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            if row.get("label") not in ("refusal", "answer") or row.get("split") not in SPLITS or not row.get("batch"):
                raise SystemExit(f"{path}:{number}: label must be refusal|answer, split tune|heldout, batch set")
            rows.append(row)
    return rows


def scores(rows: list[dict[str, str]], predicted: list[bool]) -> dict[str, Any]:
    """Precision, recall and F1 with 'refusal' as the positive class."""
    tp = sum(p and r["label"] == "refusal" for r, p in zip(rows, predicted))
    fp = sum(p and r["label"] == "answer" for r, p in zip(rows, predicted))
    fn = sum(not p and r["label"] == "refusal" for r, p in zip(rows, predicted))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(rows), "tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def baseline_detector(revision: str) -> Callable[[str], bool]:
    """`is_unknown_answer` from foveate_dspy/validity.py at a git revision."""
    source = subprocess.run(
        ["git", "show", f"{revision}:foveate_dspy/validity.py"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if source.returncode != 0:
        raise SystemExit(f"--baseline {revision}: {source.stderr.strip()}")
    module = types.ModuleType(f"validity_at_{revision}")
    exec(compile(source.stdout, f"{revision}:foveate_dspy/validity.py", "exec"), module.__dict__)  # noqa: S102 (this repository's own history)
    if not hasattr(module, "is_unknown_answer"):
        raise SystemExit(f"--baseline {revision}: foveate_dspy/validity.py has no is_unknown_answer there")
    return module.is_unknown_answer


def measure(name: str, detect: Callable[[str], bool], rows: list[dict[str, str]], show_mistakes: bool) -> dict[str, Any]:
    started = time.perf_counter()
    predicted = [detect(r["text"]) for r in rows]
    per_answer_us = (time.perf_counter() - started) / len(rows) * 1e6
    result: dict[str, Any] = {"detector": name, "per_answer_us": per_answer_us}
    print(f"{name}  ({per_answer_us:.0f} µs per answer)")
    for split in SPLITS:
        chosen = [(r, p) for r, p in zip(rows, predicted) if r["split"] == split]
        figures = scores([r for r, _ in chosen], [p for _, p in chosen])
        result[split] = figures
        per_lang = {
            lang: scores([r for r, _ in chosen if r["lang"] == lang], [p for r, p in chosen if r["lang"] == lang])
            for lang in sorted({r["lang"] for r, _ in chosen})
        }
        result[f"{split}_per_lang"] = per_lang
        per_batch = {
            batch: scores([r for r, _ in chosen if r["batch"] == batch], [p for r, p in chosen if r["batch"] == batch])
            for batch in sorted({r["batch"] for r, _ in chosen})
        }
        result[f"{split}_per_batch"] = per_batch
        print(
            f"  {split:8} n={figures['n']:3}  precision {figures['precision']:.3f}  recall {figures['recall']:.3f}  "
            f"F1 {figures['f1']:.3f}  (missed refusals {figures['fn']}, answers taken for refusals {figures['fp']})"
        )
        for group, f in [*per_lang.items(), *(("batch " + b, f) for b, f in per_batch.items())]:
            print(
                f"    {group:8} n={f['n']:3}  precision {f['precision']:.3f}  recall {f['recall']:.3f}  "
                f"(missed {f['fn']}, false alarms {f['fp']})"
            )
        if show_mistakes and split == "tune":
            for r, p in chosen:
                if p != (r["label"] == "refusal"):
                    print(f"    tune mistake ({'false alarm' if p else 'missed'}): {r['text']}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="labelled JSONL (text, label, split, lang)")
    parser.add_argument("--baseline", metavar="REV", help="also measure is_unknown_answer at this git revision")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    from foveate_dspy.method.refusal import is_refusal

    rows = load(args.data)
    print(f"{args.data}: {len(rows)} answers ({sum(r['label'] == 'refusal' for r in rows)} refusals)")
    results = [measure("is_refusal", is_refusal, rows, show_mistakes=True)]
    if args.baseline:
        results.append(measure(f"is_unknown_answer@{args.baseline}", baseline_detector(args.baseline), rows, False))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
