"""Benchmark the real 4-bit QLoRA path: training tokens/second, peak GPU memory, and answer
generation throughput, for a randomly initialised model with Llama-3.1-8B's shape.

Random weights train and generate at exactly the speed and memory of real ones (the same
matrices, the same 128,256-entry output layer), and need no download. The model is built on the
GPU in bf16, saved once under --workdir (about 16 GB, reused by later runs), then trained through
`finetune.train.train`, the same code `python -m finetune train` runs, with the paper's settings
(4-bit NF4, double quant, LoRA r 8 on every linear layer, effective batch 16, cutoff 2048) for a
fixed number of steps, and evaluated through `finetune.evaluate.evaluate` with the paper's
sampling (T 0.5, top-p 0.95, 256 new tokens).

    # on a CUDA machine with bitsandbytes installed
    python benchmarks/finetune_qlora.py --workdir /tmp/qlora-bench
    # a CPU smoke run of this script (tiny model, plain LoRA): checks the script, measures nothing useful
    python benchmarks/finetune_qlora.py --shape tiny --no-quant --workdir /tmp/qlora-smoke

Training examples are SQuAD v1.1 dev paragraphs from ../shared/data: the instruction is a
question, the answer its paragraph, so sequences are a few hundred tokens long, like the
paper's generated answers. Prints one JSON object with the measured figures and writes it to
WORKDIR/benchmark.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from finetune.config import TrainConfig  # noqa: E402
from finetune.errors import FinetuneError  # noqa: E402
from finetune.tiny import TINY_SHAPE  # noqa: E402

SQUAD = REPO.parent / "shared" / "data" / "squad11_dev_2067.jsonl"

#: Meta-Llama-3.1-8B's config.json, as LlamaConfig fields (8.03 B parameters).
LLAMA_3_1_8B_SHAPE = {
    "vocab_size": 128256,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-5,
    "initializer_range": 0.02,
    "rope_parameters": {
        "rope_type": "llama3",
        "rope_theta": 500000.0,
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    },
}
SHAPES = {"llama-3.1-8b": LLAMA_3_1_8B_SHAPE, "tiny": TINY_SHAPE}


def build_model(workdir: Path, shape_name: str, vocab_size: int) -> Path:
    """Tokenizer trained on SQuAD, random weights of the chosen shape; built once, then reused."""
    import torch

    from finetune.tiny import corpus_texts, random_llama, train_tokenizer

    target = workdir / f"model-{shape_name}"
    if (target / "config.json").is_file():
        return target
    tokenizer = train_tokenizer(corpus_texts(SQUAD, limit=20000), vocab_size=vocab_size)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = random_llama(tokenizer, seed=0, **dict(SHAPES[shape_name]))
    finally:
        torch.set_default_dtype(previous)
    target.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(target)
    model.save_pretrained(target, max_shard_size="5GB")
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return target


def build_data(workdir: Path, records: int) -> Path:
    """Question -> paragraph pairs from SQuAD dev (long answers, a few hundred tokens each)."""
    path = workdir / "bench_instructions.jsonl"
    rows = []
    with SQUAD.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            question = record["questions"][0]
            rows.append({"article_id": record["id"], "instruction": question["question"], "output": record["context"]})
            if len(rows) == records:
                break
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def steady_tokens_per_second(log_history: Path) -> float | None:
    """Training throughput between the first and the last loss log, which leaves out the first
    step's warm-up (CUDA kernels, allocator growth)."""
    logs = [json.loads(line) for line in log_history.read_text(encoding="utf-8").splitlines()]
    logs = [entry for entry in logs if "loss" in entry and "train_runtime" in entry]
    if len(logs) < 2 or logs[-1]["train_runtime"] <= logs[0]["train_runtime"]:
        return None
    tokens = logs[-1]["num_input_tokens_seen"] - logs[0]["num_input_tokens_seen"]
    return round(tokens / (logs[-1]["train_runtime"] - logs[0]["train_runtime"]), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="where the model, data and runs go (reused)")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="llama-3.1-8b")
    parser.add_argument("--no-quant", action="store_true", help="plain LoRA instead of 4-bit QLoRA")
    parser.add_argument("--steps", type=int, default=20, help="optimiser steps to time (default: 20)")
    parser.add_argument("--batch-size", type=int, default=4, help="per-device batch (default: 4)")
    parser.add_argument(
        "--grad-accum", type=int, default=4, help="gradient accumulation (default: 4; 4 x 4 = the paper's 16)"
    )
    parser.add_argument("--records", type=int, default=512, help="training pairs (default: 512)")
    parser.add_argument(
        "--questions", type=int, default=64, help="test questions answered for the generation figure (default: 64)"
    )
    parser.add_argument("--gen-batch-size", type=int, default=16, help="generation batch (default: 16)")
    parser.add_argument("--vocab-size", type=int, default=8000, help="tokenizer vocabulary (default: 8000)")
    args = parser.parse_args()

    import torch

    from finetune.evaluate import evaluate
    from finetune.generation import Sampling
    from finetune.correctness import OfflineJudge
    from finetune.modeling import require_4bit
    from finetune.train import train

    try:
        if args.shape != "tiny" and not torch.cuda.is_available():
            raise FinetuneError(
                f"the {args.shape} shape needs a CUDA GPU; use --shape tiny --no-quant for a CPU smoke run"
            )
        if not args.no_quant:
            require_4bit()  # before the model build: one line where 4-bit cannot run
        if not SQUAD.is_file():
            raise FinetuneError(f"{SQUAD}: SQuAD data not found (the benchmark reads ../shared/data)")
        args.workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        model_dir = build_model(args.workdir, args.shape, args.vocab_size)
        build_seconds = time.perf_counter() - started
        data = build_data(args.workdir, args.records)
        config = TrainConfig(
            quant=not args.no_quant,
            max_steps=args.steps,
            per_device_train_batch_size=args.batch_size,
            gradient_accumulation_steps=args.grad_accum,
            logging_steps=max(1, args.steps // 10),
            save_steps=10**9,  # nothing to resume in a benchmark; checkpoint writes would skew timing
        )
        run = args.workdir / f"run-{args.shape}"
        summary = train(data, str(model_dir), run, config, overwrite=True, show_progress=True)

        gc.collect()  # drop the training model before loading the tuned one for generation
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        sampling = Sampling()  # the paper's: T 0.5, top-p 0.95, 256 new tokens
        evaluation = evaluate(
            str(run), SQUAD, args.workdir / f"eval-{args.shape}", OfflineJudge(), sampling=sampling,
            batch_size=args.gen_batch_size, limit=args.questions, overwrite=True,
        )  # fmt: skip
        gen_peak = round(torch.cuda.max_memory_allocated() / 2**30, 3) if torch.cuda.is_available() else None
    except FinetuneError as err:
        print(f"finetune_qlora: error: {err}", file=sys.stderr)
        return 2

    result = {
        "device": summary["device"],
        "torch": torch.__version__,
        "shape": args.shape,
        "parameters": summary["total_parameters"],
        "trainable_parameters": summary["trainable_parameters"],
        "quant": summary["quant"],
        "steps": summary["global_step"],
        "effective_batch": config.effective_batch_size,
        "mean_tokens_per_record": round(
            summary["session_tokens"] / (summary["global_step"] * config.effective_batch_size), 1
        ),
        "model_build_seconds": round(build_seconds, 1),
        "train_seconds": summary["session_seconds"],
        "train_tokens_per_second": summary["train_tokens_per_second"],
        "train_tokens_per_second_after_first_log": steady_tokens_per_second(run / "log_history.jsonl"),
        "train_peak_gpu_allocated_gib": summary["peak_gpu_allocated_gib"],
        "train_peak_gpu_reserved_gib": summary["peak_gpu_reserved_gib"],
        "peak_rss_mib": summary["peak_rss_mib"],
        "generation_questions": evaluation["n_questions"],
        "generation_load_seconds": evaluation["load_seconds"],
        "generation_seconds": evaluation["generation_seconds"],
        "generated_tokens": evaluation["generated_tokens_this_session"],
        "generated_tokens_per_second": evaluation["generated_tokens_per_second"],
        "generation_peak_gpu_allocated_gib": gen_peak,
        "sampling": evaluation["sampling"],
    }
    (args.workdir / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
