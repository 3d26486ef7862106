"""`python -m foveate_dspy.compile`: corpus in, instruction dataset out.

Every argument is checked before the first LM call; a user error prints one line on stderr and
exits with status 2, so a misspelt flag never costs API money.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from foveate_dspy.levels import LEVELS, parse_levels

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m foveate_dspy.compile",
        description="Synthesise diverse, difficult, source-grounded instruction/answer pairs from a corpus "
        "with the Self-Foveate method (micro-, scatter- and macro-foveation plus re-synthesis).",
    )
    io = parser.add_argument_group("input and output")
    io.add_argument("--corpus", required=True, help="JSONL corpus, one article per line (text in content/context/text)")
    io.add_argument("--text-field", help="the field holding the text (default: auto-detect content, context, text)")
    io.add_argument("--limit", type=int, help="use only the first N articles")
    io.add_argument("--out", required=True, help="run directory: instructions.jsonl, rejected.jsonl, summary.json")

    lm = parser.add_argument_group("teacher")
    lm.add_argument(
        "--teacher",
        help="any DSPy/LiteLLM model string (openai/gpt-4o-mini, deepseek/deepseek-chat, hosted_vllm/NAME, "
        "ollama_chat/NAME); default: the embedded deterministic 'offline' teacher",
    )
    lm.add_argument("--api-base", help="endpoint for the teacher (a vLLM or Ollama server); keys come from the environment")
    lm.add_argument("--creative-teacher", help="a different model for re-synthesis (high-creativity mode)")
    lm.add_argument("--creative-api-base", help="endpoint for --creative-teacher")
    lm.add_argument("--max-tokens", type=int, help="cap on tokens per LM reply (default: provider's)")
    lm.add_argument("--cache", action="store_true", help="use DSPy's response cache (off by default: its key ignores --api-base)")

    method = parser.add_argument_group("method")
    method.add_argument("--levels", default=",".join(LEVELS), help="comma-separated subset of micro,scatter,macro")
    method.add_argument("--max-retries", type=int, default=5, help="re-synthesis tries per failed item (default 5)")
    method.add_argument("--demos", type=int, default=3, help="reference items shown per re-synthesis try (default 3)")
    method.add_argument("--no-resynthesis", action="store_true", help="ablation: keep first attempts only")
    method.add_argument("--no-reread", action="store_true", help="ablation: skip the answer-rereading step")
    method.add_argument("--n-per-level", type=int, help="fixed instructions per level instead of the adaptive budget")
    method.add_argument("--tau", type=float, default=0.16, help="budget: word relevance threshold (default 0.16)")
    method.add_argument("--mu", type=float, default=8.0, help="budget: mean instructions per level (default 8)")
    method.add_argument("--alpha", type=float, default=1.0, help="budget: spread (default 1.0)")
    method.add_argument(
        "--embedder",
        default="minilm",
        help="sentence-transformers model name or path; 'minilm' (bundled, default) or 'mpnet' (the paper's)",
    )
    method.add_argument("--seed", type=int, default=0, help="seed for grouping and re-synthesis sampling")

    runtime = parser.add_argument_group("runtime")
    runtime.add_argument("--max-concurrency", type=int, default=16, help="LM requests in flight at most (default 16)")
    runtime.add_argument("--quiet", action="store_true", help="no progress display")
    return parser


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        levels = parse_levels(args.levels)
    except ValueError as exc:
        return _fail(str(exc))
    for flag, value, low in (
        ("--max-retries", args.max_retries, 0),
        ("--demos", args.demos, 0),
        ("--max-concurrency", args.max_concurrency, 1),
        ("--n-per-level", args.n_per_level, 1),
        ("--limit", args.limit, 1),
        ("--max-tokens", args.max_tokens, 1),
    ):
        if value is not None and value < low:
            return _fail(f"{flag} must be >= {low}, got {value}")

    from foveate_dspy.budget import BudgetConfig
    from foveate_dspy.corpus import CorpusError, load_corpus
    from foveate_dspy.lm import OFFLINE, TeacherError, check_teacher

    teacher = args.teacher or OFFLINE
    if args.teacher is None:
        print(
            "note: no --teacher given; using the embedded offline teacher (deterministic rules, a demo and CI "
            "teacher, not an LLM)",
            file=sys.stderr,
        )
    try:
        check_teacher(teacher, args.api_base)
        if args.creative_teacher:
            check_teacher(args.creative_teacher, args.creative_api_base)
        articles = load_corpus(args.corpus, args.text_field, args.limit)
    except (TeacherError, CorpusError) as exc:
        return _fail(str(exc))

    from foveate_dspy.runner import RunSettings, run

    settings = RunSettings(
        teacher=teacher,
        api_base=args.api_base,
        creative_teacher=args.creative_teacher,
        creative_api_base=args.creative_api_base,
        levels=levels,
        embedder=args.embedder,
        budget=BudgetConfig(threshold=args.tau, target_mean=args.mu, alpha=args.alpha),
        n_per_level=args.n_per_level,
        max_retries=args.max_retries,
        demo_count=args.demos,
        reread=not args.no_reread,
        resynthesis=not args.no_resynthesis,
        seed=args.seed,
        max_concurrency=args.max_concurrency,
        cache=args.cache,
        max_tokens=args.max_tokens,
    )
    out = Path(args.out)
    try:
        summary = run(articles, out, settings, progress=not args.quiet)
    except OSError as exc:
        return _fail(f"{out}: cannot write the run: {exc.strerror or exc}")
    per_level = ", ".join(f"{k} {v}" for k, v in summary["records_per_level"].items())
    print(
        f"{summary['records']} instructions ({per_level}) from {summary['articles_done']}/{summary['articles']} articles; "
        f"{summary['resynthesized']} re-synthesised, {summary['failed']} failed; {summary['lm_calls']} LM calls, "
        f"{summary['input_tokens'] + summary['output_tokens']:,} tokens → {out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
