"""Benchmark: SelfBLEU and embedding diversity, time and peak memory, side by side with the
authors' C++ library (fast-bleu) and nltk.

    python benchmarks/diversity.py                      # 20,000 and 200,000 sentences, nltk on 200
    python benchmarks/diversity.py --nltk-n 1000        # nltk on 1,000 sentences (about 95 s)
    python benchmarks/diversity.py --json bench.json    # also save the figures

Sentences: the SQuAD v1.1 dev crowd questions plus the sentences of their paragraphs
(../shared/data/squad11_dev_2067.jsonl); sizes beyond that pool are filled with sentences spliced
from the first half of one pool sentence and the second half of another (seeded), which keeps
real n-gram statistics while adding distinct sentences. Embedding diversity runs on random
Gaussian vectors (the metric's cost does not depend on where the vectors come from).

Every measurement runs in a fresh process, so its peak RSS is its own. Timings include
tokenisation (NLTK Treebank, as the evals use) for every SelfBLEU implementation. fast-bleu is
measured only when importable (``pip install fast-bleu==0.0.90``, builds with g++); otherwise
the script says it was skipped and reports no figure for it.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "squad11_dev_2067.jsonl"
ORDERS = (2, 3, 4, 5)


def build_sentences(data: Path, size: int, seed: int = 0) -> list[str]:
    """``size`` sentences: real ones first, spliced ones beyond the pool (see module docstring)."""
    pool: list[str] = []
    seen: set[str] = set()
    with data.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            candidates = [q["question"] for q in record["questions"]]
            candidates += re.split(r"(?<=[.!?])\s+", record["context"])
            for sentence in candidates:
                sentence = sentence.strip()
                if sentence and sentence not in seen:
                    seen.add(sentence)
                    pool.append(sentence)
    rng = random.Random(seed)
    rng.shuffle(pool)
    sentences = pool[:size]
    while len(sentences) < size:
        left, right = rng.choice(pool).split(), rng.choice(pool).split()
        sentences.append(" ".join(left[: len(left) // 2] + right[len(right) // 2 :]))
    return sentences


def _peak_rss_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _run_ours(sentences: list[str]) -> dict[str, Any]:
    from evals.selfbleu import self_bleu_diversity
    from evals.tokenizers import tokenize_all

    tokenize_all(["warm up"])  # imports out of the timing, as for the other libraries
    base = _peak_rss_mib()
    cpu = time.process_time()
    start = time.perf_counter()
    tokenized = tokenize_all(sentences)
    tokenized_at = time.perf_counter()
    result = self_bleu_diversity(tokenized, ORDERS)
    end = time.perf_counter()
    return {"seconds": end - start, "cpu_seconds": time.process_time() - cpu,
            "tokenize_seconds": tokenized_at - start, "score_seconds": end - tokenized_at,
            "diversity": result.diversity,
            "ngrams": sum(max(0, len(t) - k + 1) for t in tokenized for k in range(1, 6)),
            "peak_rss_mib": _peak_rss_mib(), "rss_before_mib": base}


def _run_fast_bleu(sentences: list[str]) -> dict[str, Any]:
    from fast_bleu import SelfBLEU

    from evals.tokenizers import tokenize_all

    tokenize_all(["warm up"])
    base = _peak_rss_mib()
    cpu = time.process_time()
    start = time.perf_counter()
    tokenized = tokenize_all(sentences)
    scores = SelfBLEU(tokenized, {n: (1.0 / n,) * n for n in ORDERS}).get_score()
    end = time.perf_counter()
    mean = sum(sum(v) for v in scores.values()) / sum(len(v) for v in scores.values())
    return {"seconds": end - start, "cpu_seconds": time.process_time() - cpu, "diversity": 1.0 - mean,
            "peak_rss_mib": _peak_rss_mib(), "rss_before_mib": base}


def _run_nltk(sentences: list[str]) -> dict[str, Any]:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    from evals.tokenizers import tokenize_all

    smoothing = SmoothingFunction(epsilon=0.1).method1
    cpu = time.process_time()
    start = time.perf_counter()
    tokenized = tokenize_all(sentences)
    total = 0.0
    for i, hypothesis in enumerate(tokenized):
        references = tokenized[:i] + tokenized[i + 1 :]
        total += sum(sentence_bleu(references, hypothesis, (1.0 / n,) * n, smoothing) for n in ORDERS)
    end = time.perf_counter()
    return {"seconds": end - start, "cpu_seconds": time.process_time() - cpu,
            "diversity": 1.0 - total / (len(ORDERS) * len(tokenized)),
            "peak_rss_mib": _peak_rss_mib()}


def _run_embedding(n: int, dim: int, top_pairs: int) -> dict[str, Any]:
    import numpy as np

    from evals.embedding import embedding_diversity, most_similar_pairs

    vectors = np.random.default_rng(0).standard_normal((n, dim), dtype=np.float32)
    base = _peak_rss_mib()
    cpu = time.process_time()
    start = time.perf_counter()
    diversity = embedding_diversity(vectors)
    mid = time.perf_counter()
    pairs = most_similar_pairs(vectors, top_pairs) if top_pairs else []
    end = time.perf_counter()
    return {"diversity_seconds": mid - start, "top_pairs_seconds": end - mid, "cpu_seconds": time.process_time() - cpu,
            "diversity": diversity,
            "top_pair_cosine": pairs[0].cosine if pairs else None, "vectors_mib": vectors.nbytes / 2**20,
            "rss_before_mib": base, "peak_rss_mib": _peak_rss_mib(),
            "n_by_n_float32_gib": n * n * 4 / 2**30}


def in_fresh_process(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def fast_bleu_available() -> bool:
    try:
        import fast_bleu  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sizes", default="20000,200000", help="SelfBLEU sizes (default: %(default)s)")
    parser.add_argument("--fast-bleu-n", type=int, default=20000,
                        help="fast-bleu size, 0 = skip (default: %(default)s)")
    parser.add_argument("--nltk-n", type=int, default=200,
                        help="nltk size; it is quadratic, 1,000 takes about 95 s (default: %(default)s, 0 = skip)")
    parser.add_argument("--embedding-n", type=int, default=100000, help="vectors for D_EB (default: %(default)s)")
    parser.add_argument("--embedding-dim", type=int, default=384)
    parser.add_argument("--top-pairs", type=int, default=5, help="also find the K most similar pairs (0 = skip)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))

    sizes = [int(s) for s in args.sizes.split(",") if s]
    figures: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": _cpus(),
                                           "platform": platform.platform(),
                                           "load_average_at_start": _load_average()}, "selfbleu": {}}
    print(f"machine: {figures['machine']}")
    for size in sizes:
        run = in_fresh_process(_run_ours, build_sentences(args.data, size))
        figures["selfbleu"][str(size)] = run
        print(f"ours      n={size:>7,}: {run['seconds']:7.2f} s wall, {run['cpu_seconds']:.2f} s CPU "
              f"(tokenise {run['tokenize_seconds']:.2f} s, score "
              f"{run['score_seconds']:.2f} s), {run['ngrams']:,} n-grams, peak RSS {run['peak_rss_mib']:.0f} MiB "
              f"(before {run['rss_before_mib']:.0f} MiB), D_SB {run['diversity']:.4f}")
    if len(sizes) > 1:
        small, large = figures["selfbleu"][str(sizes[0])], figures["selfbleu"][str(sizes[-1])]
        growth = {
            "size_ratio": sizes[-1] / sizes[0],
            "time_ratio": large["seconds"] / small["seconds"],
            "cpu_time_ratio": large["cpu_seconds"] / small["cpu_seconds"],
            "score_time_ratio": large["score_seconds"] / small["score_seconds"],
            "ngram_ratio": large["ngrams"] / small["ngrams"],
            "memory_growth_ratio": (large["peak_rss_mib"] - large["rss_before_mib"])
            / max(1e-9, small["peak_rss_mib"] - small["rss_before_mib"]),
        }
        figures["scaling"] = growth
        print(f"scaling {sizes[0]:,} -> {sizes[-1]:,}: size x{growth['size_ratio']:.1f}, n-grams "
              f"x{growth['ngram_ratio']:.1f}, wall time x{growth['time_ratio']:.1f}, CPU time "
              f"x{growth['cpu_time_ratio']:.1f} (scoring alone "
              f"x{growth['score_time_ratio']:.1f}), memory above baseline x{growth['memory_growth_ratio']:.1f} "
              f"(quadratic would be x{growth['size_ratio'] ** 2:.0f})")

    if args.fast_bleu_n:
        if not fast_bleu_available():
            figures["fast_bleu"] = "skipped: fast-bleu not installed"
            print("fast-bleu: skipped: fast-bleu not installed")
        else:
            sentences = build_sentences(args.data, args.fast_bleu_n)
            theirs = in_fresh_process(_run_fast_bleu, sentences)
            ours = figures["selfbleu"].get(str(args.fast_bleu_n)) or in_fresh_process(_run_ours, sentences)
            theirs["speedup_of_ours"] = theirs["seconds"] / ours["seconds"]
            theirs["cpu_speedup_of_ours"] = theirs["cpu_seconds"] / ours["cpu_seconds"]
            theirs["abs_diff_vs_ours"] = abs(theirs["diversity"] - ours["diversity"])
            figures["fast_bleu"] = theirs
            print(f"fast-bleu n={args.fast_bleu_n:>7,}: {theirs['seconds']:7.2f} s wall, "
                  f"{theirs['cpu_seconds']:.2f} s CPU, peak RSS "
                  f"{theirs['peak_rss_mib']:.0f} MiB, D_SB {theirs['diversity']:.4f} "
                  f"(|diff| {theirs['abs_diff_vs_ours']:.1e}); ours {ours['seconds']:.2f} s wall, "
                  f"{ours['cpu_seconds']:.2f} s CPU -> {theirs['speedup_of_ours']:.1f}x faster by wall time, "
                  f"{theirs['cpu_speedup_of_ours']:.1f}x by CPU time")

    if args.nltk_n:
        sentences = build_sentences(args.data, args.nltk_n)
        slow = in_fresh_process(_run_nltk, sentences)
        ours = in_fresh_process(_run_ours, sentences)
        slow["speedup_of_ours"] = slow["seconds"] / ours["seconds"]
        slow["cpu_speedup_of_ours"] = slow["cpu_seconds"] / ours["cpu_seconds"]
        slow["abs_diff_vs_ours"] = abs(slow["diversity"] - ours["diversity"])
        figures["nltk"] = {"n": args.nltk_n, **slow, "ours_seconds": ours["seconds"],
                           "ours_cpu_seconds": ours["cpu_seconds"]}
        print(f"nltk      n={args.nltk_n:>7,}: {slow['seconds']:7.2f} s wall, {slow['cpu_seconds']:.2f} s CPU, "
              f"D_SB {slow['diversity']:.6f} "
              f"(|diff| {slow['abs_diff_vs_ours']:.1e}); ours {ours['seconds']:.3f} s wall, "
              f"{ours['cpu_seconds']:.3f} s CPU -> {slow['speedup_of_ours']:.0f}x faster by wall time, "
              f"{slow['cpu_speedup_of_ours']:.0f}x by CPU time (nltk is quadratic: x4 time per doubling)")

    if args.embedding_n:
        run = in_fresh_process(_run_embedding, args.embedding_n, args.embedding_dim, args.top_pairs)
        figures["embedding"] = {"n": args.embedding_n, "dim": args.embedding_dim, **run}
        print(f"embedding n={args.embedding_n:,} d={args.embedding_dim}: D_EB {run['diversity_seconds']:.2f} s, "
              f"top-{args.top_pairs} pairs {run['top_pairs_seconds']:.1f} s (blocked products); peak RSS "
              f"{run['peak_rss_mib']:.0f} MiB with {run['vectors_mib']:.0f} MiB of vectors (an n x n float32 "
              f"matrix would be {run['n_by_n_float32_gib']:.0f} GiB)")
    figures["machine"]["load_average_at_end"] = _load_average()
    print(f"load average: start {figures['machine']['load_average_at_start']}, end {_load_average()}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def _load_average() -> list[float] | None:
    """Other work on the machine slows wall-clock figures; the CPU-time figures are the steadier."""
    import os

    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
