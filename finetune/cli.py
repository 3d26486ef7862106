"""`python -m finetune {train,evaluate,compare,make-tiny}`: a thin argparse layer.

Heavy libraries are imported inside the command handlers so `--help` answers at once. Every
user-fixable problem surfaces as one `finetune: error: ...` line and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from finetune.config import PROMPT_FORMATS, add_train_flags, resolve_config
from finetune.errors import FinetuneError
from foveate_dspy import json_safe

EPILOG = "Defaults follow the Self-Foveate paper (arXiv 2507.23440), appendix I."


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None
    if not sizes or any(k < 1 for k in sizes):
        raise argparse.ArgumentTypeError(f"expected positive integers, got '{text}'")
    return sizes


def _add_gguf_flag(parser: argparse.ArgumentParser, model_flag: str) -> None:
    parser.add_argument(
        "--gguf-file",
        metavar="NAME",
        help=f"load the GGUF file NAME inside the {model_flag} directory (transformers dequantises it; "
        f"a .gguf path as {model_flag} works too)",
    )


def _add_decontamination_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decontamination")
    group.add_argument(
        "--decontaminate",
        metavar="TEST",
        help="drop training records that nearly copy a question of TEST (an evals input: squad:PATH, a JSONL, ...)",
    )
    group.add_argument(
        "--contamination-ngram", type=int, default=8, metavar="N",
        help="shared words that flag a copy, fewer for short questions (default: 8; see python -m evals contamination)",
    )  # fmt: skip
    group.add_argument(
        "--contamination-cosine", type=float, default=0.9, metavar="X",
        help="MiniLM cosine that flags a paraphrase (default: 0.9)",
    )  # fmt: skip


def _decontamination(args: argparse.Namespace):  # -> Decontamination | None
    from finetune.decontaminate import Decontamination

    if not args.decontaminate:
        return None
    spec = Decontamination(args.decontaminate, ngram=args.contamination_ngram, cosine=args.contamination_cosine)
    spec.validate()
    return spec


def _model_source(name: str, gguf_file: str | None, role: str) -> str:
    """`--base-model`/`--model` with `--gguf-file` folded in, as the one path the run records."""
    if gguf_file is None:
        return name
    from finetune.modeling import resolve_model_source

    return resolve_model_source(name, role=role, gguf_file=gguf_file)


def _add_common_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="JSON or YAML file of training settings (flags override it)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _add_eval_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("evaluation")
    group.add_argument(
        "--questions", type=Path, required=True, help="test questions: SQuAD records or flat {question, answers} JSONL"
    )
    group.add_argument("--limit", type=_positive_int, help="use only the first N questions")
    group.add_argument(
        "--with-context", action="store_true", help="give the model the passage (default: closed-book, as the paper)"
    )
    group.add_argument(
        "--gen-batch-size", type=_positive_int, default=16, help="questions answered per batch (default: 16)"
    )
    group.add_argument("--temperature", type=float, default=0.5, help="sampling temperature; 0 = greedy (default: 0.5)")
    group.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default: 0.95)")
    group.add_argument("--max-new-tokens", type=_positive_int, default=256, help="answer length limit (default: 256)")
    group.add_argument(
        "--rounds", type=_positive_int, default=1, help="sample every answer K times; report mean ± std (default: 1)"
    )
    group.add_argument(
        "--sample-seed",
        type=int,
        default=0,
        help="seed for sampling (round r uses seed + r) and, in compare, per-article subsampling (default: 0)",
    )
    group.add_argument(
        "--judge",
        default="offline",
        help="DSPy model string for the accuracy judge (e.g. openai/gpt-4o-mini), 'local' or gguf:PATH (a GGUF "
        "model on a private llama.cpp server), or 'offline' for the deterministic containment check (default: offline)",
    )
    group.add_argument("--judge-api-base", help="API base URL for the judge (a local vLLM or Ollama server)")
    group.add_argument("--judge-temperature", type=float, default=0.0, help="judge temperature (default: 0.0)")
    group.add_argument("--judge-max-tokens", type=_positive_int, help="judge reply token limit")
    group.add_argument("--judge-threads", type=_positive_int, default=8, help="parallel judge requests (default: 8)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m finetune",
        description="QLoRA fine-tuning on synthesised instructions and downstream scoring (recall, judged accuracy).",
        epilog=EPILOG,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train_arguments(
        commands.add_parser("train", help="QLoRA/LoRA fine-tune a base model on an instructions.jsonl", epilog=EPILOG)
    )
    _add_evaluate_arguments(
        commands.add_parser("evaluate", help="answer test questions; score recall and judged accuracy", epilog=EPILOG)
    )
    _add_compare_arguments(
        commands.add_parser(
            "compare",
            help="train+evaluate several instruction files against one base model (Table 4, Figure 3)",
            epilog=EPILOG,
        )
    )
    _add_make_tiny_arguments(
        commands.add_parser("make-tiny", help="build a tiny random Llama + offline tokenizer for demos and CI")
    )
    return parser


def _add_train_arguments(train: argparse.ArgumentParser) -> None:
    train.add_argument("--data", type=Path, required=True, help="instructions.jsonl (instruction, output per line)")
    train.add_argument(
        "--base-model", required=True, help="local model directory, GGUF file (or a hub name when online)"
    )
    _add_gguf_flag(train, "--base-model")
    train.add_argument("--out", type=Path, required=True, help="run directory (checkpoints, adapter, summary)")
    train.add_argument(
        "--resume", action="store_true", help="continue an unfinished run in --out from its last checkpoint"
    )
    train.add_argument("--overwrite", action="store_true", help="delete the run already in --out and start over")
    _add_common_run_flags(train)
    _add_decontamination_flags(train)
    add_train_flags(train)


def _add_evaluate_arguments(evaluate: argparse.ArgumentParser) -> None:
    evaluate.add_argument(
        "--model", required=True, help="a `finetune train` run directory, a PEFT adapter, a full model or a GGUF file"
    )
    _add_gguf_flag(evaluate, "--model")
    evaluate.add_argument("--out", type=Path, required=True, help="evaluation directory (items.jsonl, summary.json)")
    evaluate.add_argument("--overwrite", action="store_true", help="discard an earlier evaluation in --out")
    evaluate.add_argument(
        "--quant",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="load in 4-bit (default: as the run was trained)",
    )
    evaluate.add_argument("--prompt-format", choices=PROMPT_FORMATS, help="override the run's prompt format")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_eval_flags(evaluate)


def _add_compare_arguments(compare: argparse.ArgumentParser) -> None:
    compare.add_argument(
        "runs", nargs="*", metavar="NAME=PATH", help="instruction files to compare, e.g. self-foveate=sf.jsonl"
    )
    compare.add_argument(
        "--base-model", required=True, help="local model directory, GGUF file (or a hub name when online)"
    )
    _add_gguf_flag(compare, "--base-model")
    compare.add_argument("--out", type=Path, required=True, help="comparison directory (one subdirectory per run)")
    compare.add_argument(
        "--sizes", type=_sizes, default=[], help="also run each file cut to k instructions per article, e.g. 1,2,4,8"
    )
    _add_reference_flags(compare)
    _add_common_run_flags(compare)
    _add_decontamination_flags(compare)
    add_train_flags(compare)
    _add_eval_flags(compare)


def _add_reference_flags(compare: argparse.ArgumentParser) -> None:
    references = compare.add_argument_group("reference rows (the untuned base model)")
    references.add_argument(
        "--no-base", dest="include_base", action="store_false", help="leave out the closed-book base row ('None')"
    )
    references.add_argument("--include-base", action="store_true", help=argparse.SUPPRESS)  # the default now
    compare.set_defaults(include_base=True)
    references.add_argument(
        "--open-book", action="store_true", help="add the base model given the gold paragraph (reading ceiling)"
    )
    references.add_argument("--rag", action="store_true", help="add the base model given the top-k BM25 paragraphs")
    references.add_argument(
        "--rag-corpus", type=Path, help="paragraphs to retrieve from (default: the --questions file's paragraphs)"
    )
    references.add_argument(
        "--rag-k", type=_positive_int, default=3, help="paragraphs retrieved per question (default: 3)"
    )


def _add_make_tiny_arguments(tiny: argparse.ArgumentParser) -> None:
    tiny.add_argument(
        "--out", type=Path, required=True, help="directory to write the model into (must be new or empty)"
    )
    tiny.add_argument(
        "--corpus", type=Path, required=True, help="JSONL to train the tokenizer on (corpus, SQuAD or instructions)"
    )
    tiny.add_argument(
        "--vocab-size", type=_positive_int, default=2000, help="tokenizer vocabulary size (default: 2000)"
    )
    tiny.add_argument("--chat-template", action="store_true", help="give the tokenizer a minimal chat template")
    tiny.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default: 0)")


def _sampling(args: argparse.Namespace):  # -> Sampling (import kept lazy)
    from finetune.generation import Sampling

    if args.temperature < 0 or not 0 < args.top_p <= 1:
        raise FinetuneError("--temperature must be >= 0 and --top-p in (0, 1]")
    return Sampling(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens)


def _judge(args: argparse.Namespace):  # -> Judge
    from finetune.correctness import make_judge

    return make_judge(
        args.judge,
        api_base=args.judge_api_base,
        temperature=args.judge_temperature,
        max_tokens=args.judge_max_tokens,
        threads=args.judge_threads,
    )


def _print_scores(summary: dict) -> None:
    def fmt(stat: dict) -> str:
        if stat["mean"] is None:
            return "n/a"
        return f"{stat['mean']:.3f}" + (f" ± {stat['std']:.3f}" if stat["std"] is not None else "")

    print(
        f"recall {fmt(summary['recall'])}  accuracy {fmt(summary['accuracy'])}  "
        f"unparseable {summary['unparseable']['total']}  "
        f"({summary['n_questions']} questions x {summary['rounds']} round(s), "
        f"judge: {summary['judge']})"
    )


def run_train(args: argparse.Namespace) -> int:
    from finetune.train import train

    config = resolve_config(args.config, vars(args))
    summary = train(
        args.data,
        _model_source(args.base_model, args.gguf_file, "base model"),
        args.out,
        config,
        resume=args.resume,
        overwrite=args.overwrite,
        show_progress=not args.no_progress,
        decontaminate=_decontamination(args),
    )
    print(json_safe.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from finetune.evaluate import evaluate

    summary = evaluate(
        _model_source(args.model, args.gguf_file, "model"),
        args.questions,
        args.out,
        _judge(args),
        sampling=_sampling(args),
        rounds=args.rounds,
        batch_size=args.gen_batch_size,
        limit=args.limit,
        with_context=args.with_context,
        seed=args.sample_seed,
        quant=args.quant,
        prompt_format=args.prompt_format,
        overwrite=args.overwrite,
        show_progress=not args.no_progress,
    )
    _print_scores(summary)
    print(f"per-item results: {args.out / 'items.jsonl'}; summary: {args.out / 'summary.json'}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from finetune.compare import compare, parse_named_files

    config = resolve_config(args.config, vars(args))
    if args.rag_corpus is not None and not args.rag:
        raise FinetuneError("--rag-corpus needs --rag")
    compare(
        _model_source(args.base_model, args.gguf_file, "base model"),
        args.questions,
        args.out,
        parse_named_files(args.runs),
        _judge(args),
        config,
        sizes=args.sizes,
        include_base=args.include_base,
        open_book=args.open_book,
        rag=args.rag,
        rag_corpus=args.rag_corpus,
        rag_k=args.rag_k,
        decontaminate=_decontamination(args),
        sampling=_sampling(args),
        rounds=args.rounds,
        batch_size=args.gen_batch_size,
        limit=args.limit,
        with_context=args.with_context,
        seed=args.sample_seed,
        show_progress=not args.no_progress,
    )
    print((args.out / "compare.md").read_text(encoding="utf-8"))
    print(f"written: {args.out / 'compare.json'}, {args.out / 'compare.md'}, {args.out / 'compare.png'}")
    return 0


def run_make_tiny(args: argparse.Namespace) -> int:
    from finetune.tiny import make_tiny

    path = make_tiny(
        args.out, args.corpus, vocab_size=args.vocab_size, chat_template=args.chat_template, seed=args.seed
    )
    print(f"tiny model written to {path}")
    return 0


HANDLERS = {"train": run_train, "evaluate": run_evaluate, "compare": run_compare, "make-tiny": run_make_tiny}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from foveate_dspy.cli_numbers import non_finite

    problem = non_finite(args)
    if problem:
        print(f"finetune: error: {problem}", file=sys.stderr)
        return 2
    try:
        return HANDLERS[args.command](args)
    except FinetuneError as err:
        print(f"finetune: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        again = "the same command with --resume" if args.command == "train" else "the same command"
        print(f"finetune: interrupted; run {again} to continue where it stopped", file=sys.stderr)
        return 130
