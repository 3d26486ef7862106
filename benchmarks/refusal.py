"""Benchmark: the refusal classifier (`foveate_dspy.method.refusal.is_refusal`) on the labelled set.

    python benchmarks/refusal.py                       # figures per split, tune mistakes listed
    python benchmarks/refusal.py --baseline 70f7af9    # also the detector of that git revision
    python benchmarks/refusal.py --json refusal.json   # also save the figures
    python benchmarks/refusal.py --train               # refit foveate_dspy/data/refusal_model.json

The set (tests/data/refusals.jsonl) is hand-written: refusals in many phrasings and genuine
answers that contain negations, quotes, hedges, "unknown" or "unable to", in English, German and
Chinese, written in thirty-six batches. `heldout` is the thirty-second to thirty-fourth
batches (v32 realistic, v33 a stress test, v34 half of each; 1,086 answers after dropping repeats
of other batches' texts), each written by someone who had seen neither the
classifier nor any other batch, and set aside before anything was measured or tuned on it; the
rules and the learned model (`--train`) are tuned on `tune` only (every other batch). So this
script lists the mistakes on `tune` and only counts those on `heldout`: reading the held-out
mistakes would turn the held-out figures into tune figures.

`--baseline REV` loads `foveate_dspy/validity.py` as it was at git revision REV and measures its
`is_unknown_answer`, the detector this classifier replaced (70f7af9 is the last revision with
it), on the same split.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "tests" / "data" / "refusals.jsonl"
MODEL = REPO_ROOT / "foveate_dspy" / "data" / "refusal_model.json"
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


THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(13)]  # 0.30 .. 0.90
MIN_PRECISION = 0.98  # the threshold: the lowest whose cross-validated precision reaches this
VETOES = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10, 0.15, 0.20)  # 0.0: the model never overrules a cue
L2 = 0.1


def train(rows: list[dict[str, str]], out: Path) -> dict[str, Any]:
    """Fit the learned half of the classifier on the tune split and choose its two thresholds.

    The logistic regression is fitted on every tune answer the rules do not overrule (no cue
    answered by content): the refusals the rules catch teach it what refusals mean too. Each tune
    answer is scored by a fit that left its writing batch out. The veto (below it, the model
    overrules a rules' "refusal" where `refusal.model_may_overrule`) is the one of VETOES that
    corrects the most verdicts net on tune: answers it frees minus refusals it lets go (ties go to
    the lower). The threshold (from it up, an answer with no cue that `refusal.asks_model` is a
    refusal) is then the lowest at which rules, veto and model together keep precision >=
    MIN_PRECISION on tune (a margin over the 0.97 target)."""
    import numpy as np

    from foveate_dspy.method import refusal
    from foveate_dspy.method.embedding import DEFAULT_EMBEDDER
    from foveate_dspy.method.refusal_model import RefusalModel, features, fit_weights, held_out_probabilities

    tune = [r for r in rows if r["split"] == "tune"]
    texts = [refusal.prepared(r["text"]) for r in tune]
    verdicts = [refusal.rule_verdict(t) if re.search(r"\w", t) else True for t in texts]
    fitted_on = np.array([v is not False for v in verdicts])
    scored = np.array([refusal.needs_model(t, v) for v, t in zip(verdicts, texts)])
    overrulable = scored & np.array([v is True for v in verdicts])
    labels = np.array([r["label"] == "refusal" for r in tune], dtype=float)
    vectors = features(texts, DEFAULT_EMBEDDER)
    probability = held_out_probabilities(vectors, labels, [r["batch"] for r in tune], L2, fitted_on, scored)
    refusals = labels == 1.0
    net = [int((overrulable & ~refusals & (probability < v)).sum()) - int((overrulable & refusals & (probability < v)).sum()) for v in VETOES]
    veto = VETOES[net.index(max(net))]
    for v, n in zip(VETOES, net):
        print(f"  veto {v:.2f}: cross-validated net verdicts corrected on tune {n:+d}")
    chosen, table = None, []
    for threshold in THRESHOLDS:
        predicted = [refusal.combined(v, p, threshold, veto) if s else bool(v) for v, s, p in zip(verdicts, scored, probability)]
        figures = scores(tune, predicted)
        table.append({"threshold": threshold, **figures})
        print(f"  threshold {threshold:.2f}: cross-validated tune precision {figures['precision']:.3f} recall {figures['recall']:.3f}")
        if chosen is None and figures["precision"] >= MIN_PRECISION:
            chosen = threshold
    chosen = THRESHOLDS[-1] if chosen is None else chosen
    weights, bias = fit_weights(vectors[fitted_on], labels[fitted_on], L2)
    model = RefusalModel(
        DEFAULT_EMBEDDER, tuple(round(float(w), 5) for w in weights), round(bias, 5), chosen, veto, L2, int(fitted_on.sum())
    )
    out.write_text(model.to_json(), encoding="utf-8")
    print(f"wrote {out}: fitted on {int(fitted_on.sum())} tune answers, threshold {chosen}, veto {veto}")
    return {"threshold": chosen, "veto": veto, "veto_net": dict(zip(VETOES, net)), "cross_validation": table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="labelled JSONL (text, label, split, lang)")
    parser.add_argument("--baseline", metavar="REV", help="also measure is_unknown_answer at this git revision")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--train", action="store_true", help=f"refit {MODEL} on the tune split first")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    rows = load(args.data)
    if args.train:
        train(rows, MODEL)
    from foveate_dspy.method.refusal import is_refusal

    print(f"{args.data}: {len(rows)} answers ({sum(r['label'] == 'refusal' for r in rows)} refusals)")
    results = [measure("is_refusal", is_refusal, rows, show_mistakes=True)]
    if args.baseline:
        results.append(measure(f"is_unknown_answer@{args.baseline}", baseline_detector(args.baseline), rows, False))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
