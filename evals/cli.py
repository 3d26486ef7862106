"""``python -m evals``: a thin command line over the eval functions.

Heavy libraries (nltk, torch, sentence-transformers, dspy, matplotlib) are imported inside the
commands so that ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.tokenizers import DEFAULT_TOKENIZER, TOKENIZERS
from foveate_dspy import json_safe

INPUT_HELP = """\
inputs are [NAME=]SOURCE, SOURCE one of:
  PATH                 instructions JSONL (needs "instruction"; "article_id" for difficulty,
                       "output" for quality; "context"/"article" text is used when present)
  squad:PATH           every crowd question of a SQuAD-format JSONL (the "Test Questions"
                       reference of the paper's Table 3; article_id = record id)
  squad-one:PATH       one question per paragraph (random.Random(0), rng.choice, file order)
NAME defaults to the records' "method" when uniform, else the file stem ("test-questions"
for SQuAD sources)."""

EPILOG = f"""\
{INPUT_HELP}

examples:
  python -m evals diversity run/instructions.jsonl squad-one:../shared/data/squad11_dev_2067.jsonl --sample min
  python -m evals difficulty run/instructions.jsonl baseline.jsonl --corpus corpus.jsonl --judge openai/gpt-4o
  python -m evals quality run/instructions.jsonl --judge offline
  python -m evals report run/instructions.jsonl baseline.jsonl --corpus corpus.jsonl --out eval-report
  python -m evals check eval-report/report.json --baseline baseline-report.json --tolerance 0.01
  python -m evals contamination run/instructions.jsonl --against squad:../shared/data/squad11_dev_2067.jsonl --json c.json

exit status: 0 fine, 1 regression found (check), 2 bad input or usage."""

EXIT_OK, EXIT_REGRESSION, EXIT_INPUT = 0, 1, 2


def _seeds(args: argparse.Namespace) -> tuple[int, ...]:
    return tuple(range(args.seed, args.seed + args.repeats))


def _sample_arg(value: str) -> str | int:
    if value in ("min", "all"):
        return value
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, 'min' or 'all', got {value!r}") from None
    if number < 2:
        raise argparse.ArgumentTypeError("diversity needs a sample of at least 2")
    return number


def _orders_arg(value: str) -> tuple[int, ...]:
    try:
        orders = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None
    if not orders or min(orders) < 1:
        raise argparse.ArgumentTypeError("n-gram orders must be positive")
    return orders


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _add_diversity_options(parser: argparse.ArgumentParser, sample_default: str | None) -> None:
    group = parser.add_argument_group("diversity")
    group.add_argument("--tokenizer", choices=TOKENIZERS, default=DEFAULT_TOKENIZER,
                       help="treebank: nltk word_tokenize(s, preserve_line=True), no lowercasing (the paper's); "
                            "13a, zh (Han characters), char (every character), intl: sacrebleu's; "
                            "auto: zh for Chinese, char for Japanese/Thai, treebank otherwise, per instruction "
                            "(default: %(default)s)")
    group.add_argument("--orders", type=_orders_arg, default=(2, 3, 4, 5),
                       help="BLEU-n orders averaged into SelfBLEU (default: 2,3,4,5)")
    group.add_argument("--embedder", default="minilm",
                       help="'minilm' (offline all-MiniLM-L6-v2), a sentence-transformers name or local path "
                            "(paper: sentence-transformers/paraphrase-multilingual-mpnet-base-v2), "
                            "or 'none' to skip embedding diversity (default: %(default)s)")
    group.add_argument("--sample", type=_sample_arg, default=sample_default,
                       help="score N random instructions per set, 'min' = the smallest set's size, 'all' = whole "
                            "sets; SelfBLEU falls as n grows, so compare sets at equal size"
                            + (" (default: %(default)s)" if sample_default else " (default: whole sets)"))
    group.add_argument("--seed", type=int, default=0, help="first sampling seed (default: %(default)s)")
    group.add_argument("--repeats", type=_positive, default=5,
                       help="seeds SEED..SEED+REPEATS-1 when sampling; mean ± std over them (default: %(default)s)")
    group.add_argument("--top-pairs", type=int, default=5,
                       help="list the K most similar pairs by embedding (default: %(default)s, 0 = none)")


def _add_judge_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("judge")
    group.add_argument("--judge", default="offline",
                       help="'offline' (deterministic heuristic, for CI), 'local' or gguf:PATH (a GGUF model on a "
                            "private llama.cpp server), or a DSPy model string, e.g. "
                            "openai/gpt-4o, deepseek/deepseek-chat, ollama_chat/llama3.1 (default: %(default)s); "
                            "API keys come from the provider's environment variables")
    group.add_argument("--api-base", help="base URL of an OpenAI-compatible server (vLLM, Ollama, ...)")
    group.add_argument("--temperature", type=float,
                       help="override the paper's judge temperature (difficulty 0.5, quality 0.2)")
    group.add_argument("--max-tokens", type=int,
                       help="override the judge's completion budget (difficulty 64, quality 128; reasoning "
                            "models need far more)")
    group.add_argument("--threads", type=_positive, default=8, help="concurrent judge calls (default: %(default)s)")


def _add_difficulty_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("difficulty head-to-head")
    group.add_argument("--corpus", type=Path,
                       help="the corpus the instructions were compiled from (JSONL with id + content/context/"
                            "text, CSV, Parquet, a text folder; read as the compile reads it), looked up by "
                            "article_id; not needed when records carry 'context'/'article'")
    group.add_argument("--chunk-tokens", type=int,
                       help="as given to the compile run, so article ids of chunked documents match "
                            "(default: the compile's default)")
    group.add_argument("--text-field", help="as given to the compile run (default: content, context or text)")
    group.add_argument("--id-field", help="as given to the compile run (default: id, else file stem and line)")
    group.add_argument("--per-article", type=_positive,
                       help="at most K instructions per side and article (default: as many as the smaller side has)")
    group.add_argument("--max-articles", type=_positive, help="judge a seeded random subset of M shared articles")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evals",
        description="Evaluate instruction sets: SelfBLEU and embedding diversity, difficulty head-to-head, "
                    "answer quality, a report with plots, and a regression check for CI.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    formatter = argparse.RawDescriptionHelpFormatter
    _add_diversity_arguments(commands.add_parser("diversity", help="SelfBLEU and embedding diversity per input",
                                                 epilog=INPUT_HELP, formatter_class=formatter))
    _add_difficulty_arguments(commands.add_parser("difficulty", help="head-to-head difficulty of A against B (paper §4.3)",
                                                  epilog=INPUT_HELP, formatter_class=formatter))
    _add_quality_arguments(commands.add_parser("quality", help="answer fluency and completeness (paper appendix J)",
                                               epilog=INPUT_HELP, formatter_class=formatter))
    _add_report_arguments(commands.add_parser(
        "report", help="all evals -> report.json, report.md and PNG plots",
        epilog="The first INPUT is the method under test; the head-to-head compares it with each other input.\n\n"
               + INPUT_HELP, formatter_class=formatter,
    ))
    _add_contamination_arguments(commands.add_parser(
        "contamination", help="flag generated items that nearly copy a test question (n-gram and cosine)",
        epilog=INPUT_HELP, formatter_class=formatter,
    ))
    _add_check_arguments(commands.add_parser("check", help="fail (exit 1) when a metric regressed against a baseline"))
    return parser


def _add_diversity_arguments(diversity: argparse.ArgumentParser) -> None:
    diversity.add_argument("inputs", nargs="+", metavar="INPUT")
    _add_diversity_options(diversity, sample_default=None)
    diversity.add_argument("--json", type=Path, help="also write the results to this JSON file")
    diversity.add_argument("--no-progress", action="store_true")


def _add_difficulty_arguments(difficulty: argparse.ArgumentParser) -> None:
    difficulty.add_argument("inputs", nargs=2, metavar="INPUT", help="A (method under test) and B")
    _add_difficulty_options(difficulty)
    _add_judge_options(difficulty)
    difficulty.add_argument("--seed", type=int, default=0, help="sampling seed (default: %(default)s)")
    difficulty.add_argument("--json", type=Path, help="write the result with every pair's verdicts to this file")
    difficulty.add_argument("--no-progress", action="store_true")


def _add_quality_arguments(quality: argparse.ArgumentParser) -> None:
    quality.add_argument("inputs", nargs="+", metavar="INPUT")
    _add_judge_options(quality)
    quality.add_argument("--sample", type=_positive, help="rate N random records per input (default: all)")
    quality.add_argument("--seed", type=int, default=0, help="sampling seed (default: %(default)s)")
    quality.add_argument("--json", type=Path, help="write the summaries to this JSON file")
    quality.add_argument("--ratings", type=Path, help="write every record's rating to this JSONL file")
    quality.add_argument("--no-progress", action="store_true")


def _add_report_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("inputs", nargs="+", metavar="INPUT")
    report.add_argument("--out", type=Path, required=True, help="output directory")
    _add_diversity_options(report, sample_default="min")
    _add_difficulty_options(report)
    _add_judge_options(report)
    report.add_argument("--quality-judge", help="judge for answer quality (default: the --judge)")
    report.add_argument("--quality-sample", type=_positive, help="rate N random records per input (default: all)")
    report.add_argument("--no-difficulty", action="store_true", help="skip the head-to-head")
    report.add_argument("--no-quality", action="store_true", help="skip answer quality")
    report.add_argument("--no-progress", action="store_true")


def _add_contamination_arguments(contamination: argparse.ArgumentParser) -> None:
    contamination.add_argument("inputs", nargs="+", metavar="GENERATED", help="the generated set(s) to check")
    contamination.add_argument("--against", required=True, metavar="TEST",
                               help="the test questions, any input form (e.g. squad:PATH)")
    contamination.add_argument("--ngram", type=int, default=8,
                               help="shared words that flag a copy; shorter questions need "
                                    "min(N, max(4, ceil(0.6 x their words))) (default: %(default)s)")
    contamination.add_argument("--cosine", type=float, default=0.9,
                               help="embedding cosine that flags a paraphrase, in (0, 1] (default: %(default)s)")
    contamination.add_argument("--embedder", default="minilm",
                               help="'minilm' (offline), a sentence-transformers name or path, or 'none' to "
                                    "flag by n-gram only (default: %(default)s)")
    contamination.add_argument("--worst", type=int, default=5, help="list the K closest items (default: %(default)s)")
    contamination.add_argument("--json", type=Path,
                               help="write shares and every item's verdict (an 'items' list in input order)")
    contamination.add_argument("--no-progress", action="store_true")


def _add_check_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("report", type=Path, help="report.json to check")
    check.add_argument("--baseline", type=Path, required=True,
                       help="a previous report.json, or a flat JSON of metric -> value")
    check.add_argument("--tolerance", type=float, default=0.01,
                       help="allowed drop (absolute unless --relative) per metric (default: %(default)s)")
    check.add_argument("--metric-tolerance", action="append", default=[], metavar="NAME=TOL",
                       help="per-metric tolerance; NAME may be a glob, e.g. 'difficulty.*=0.05' (repeatable)")
    check.add_argument("--relative", action="store_true", help="tolerances are fractions of the baseline value")
    check.add_argument("--only", action="append", default=[], metavar="GLOB",
                       help="check only metrics matching GLOB (repeatable)")
    check.add_argument("--json", type=Path, help="write the comparison to this JSON file")


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # markup off: method names, paths and LM replies are printed literally, brackets and all;
    # soft wrap: a file:line in an error message stays on one line for grep; a fixed width off a
    # terminal, because rich would squeeze tables to 80 columns in CI logs
    return Console(stderr=stderr, highlight=False, markup=False, soft_wrap=True,
                   width=None if stream.isatty() else 160)


def _warn(message: str) -> None:
    from rich.text import Text

    _console(stderr=True).print(Text("warning:", style="yellow"), message)


def _load(specs: Sequence[str]) -> list[Any]:
    from evals.inputs import load_inputs

    sets = load_inputs(list(specs))
    for instruction_set in sets:
        if not instruction_set.records:
            _warn(f"{instruction_set.source}: no records (empty file)")
    return sets


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json_safe.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _fmt(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "undefined"
    return f"{value:.3f}" + (f" ± {std:.3f}" if std is not None else "")


def cmd_diversity(args: argparse.Namespace) -> int:
    from rich.table import Table

    from evals.diversity import measure_diversity
    from evals.embedding import embedder_label, load_embedder
    from evals.report import resolve_sample_size

    sets = _load(args.inputs)
    sample = resolve_sample_size(sets, args.sample) if args.sample is not None else None
    embedder = None if args.embedder == "none" else load_embedder(args.embedder, progress=not args.no_progress)
    results = [
        measure_diversity(s.name, [r.instruction for r in s.records], tokenizer=args.tokenizer, orders=args.orders,
                          embedder=embedder, embedder_name=embedder_label(args.embedder), sample_size=sample,
                          seeds=_seeds(args), top_pairs=args.top_pairs)
        for s in sets
    ]
    console = _console()
    how = (f"n = {sample} per set, mean ± std over seeds {list(_seeds(args))}" if sample
           else "whole sets (n per row)")
    table = Table(title=f"Diversity — {how}; tokenizer {args.tokenizer}; BLEU orders {list(args.orders)}")
    for column in ("method", "n", "SelfBLEU div.", *(f"BLEU-{o}" for o in args.orders), "Embedding div."):
        table.add_column(column, justify="left" if column == "method" else "right")
    for r in results:
        bleu = [_fmt(r.selfbleu_by_order.get(str(o))) if r.selfbleu is not None else "" for o in args.orders]
        table.add_row(r.method, str(r.n), _fmt(r.selfbleu, r.selfbleu_std), *bleu,
                      _fmt(r.embedding, r.embedding_std) if embedder else "skipped")
    console.print(table)
    if embedder:
        console.print(f"embedder: {embedder_label(args.embedder)}")
    for r in results:
        if r.undefined:
            console.print(f"{r.method}: diversity undefined — {r.undefined}")
        if r.n_empty_skipped:
            _warn(f"{r.method}: {r.n_empty_skipped} empty instruction(s) left out")
        if r.most_similar:
            console.print(f"{r.method}: most similar pairs")
            for pair in r.most_similar:
                console.print(f"  {pair['cosine']:.3f}  {pair['a']!r}  /  {pair['b']!r}")
    if sample is None and len({r.n for r in results}) > 1:
        _warn("sets differ in size and SelfBLEU falls as n grows; compare them with --sample min")
    if args.json:
        _write_json(args.json, [r.to_dict() for r in results])
    return EXIT_OK


def _corpus(args: argparse.Namespace) -> dict[str, str] | None:
    from evals.inputs import load_corpus

    if not args.corpus:
        return None
    return load_corpus(args.corpus, args.chunk_tokens, args.text_field, args.id_field)


def _judge_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {"api_base": args.api_base, "temperature": args.temperature, "max_tokens": args.max_tokens}


def _print_head_to_head(h: Any) -> None:
    console = _console()
    console.print(f"Difficulty: {h.method_a} (A) vs {h.method_b} (B) — judge: {h.judge}")
    console.print(f"  shared articles {h.shared_articles}, compared {h.compared}, "
                  f"skipped without text {h.articles_missing_text}, instructions per side {h.instructions_per_side}")

    def line(label: str, count: int, rate: float | None, ci: list[float] | None) -> None:
        rate_text = "n/a" if rate is None else f"{rate:6.1%}  [{ci[0]:.1%}, {ci[1]:.1%}]"
        console.print(f"  {label:<8}{count:>6}  {rate_text}")

    line("win", h.wins, h.win_rate, h.win_ci)
    line("tie", h.ties, h.tie_rate, h.tie_ci)
    line("lose", h.losses, h.lose_rate, h.lose_ci)
    console.print(f"  invalid {h.invalid:>6}  {h.invalid_replies_by_reason or ''}")
    if h.decisive_win_rate is not None:
        console.print(f"  win / (win + lose) {h.decisive_win_rate:.1%} [{h.decisive_win_ci[0]:.1%}, "
                      f"{h.decisive_win_ci[1]:.1%}]")
    if h.position_bias_rate is not None:
        console.print(f"  position bias (orders disagree) {h.position_bias_rate:.1%}; "
                      f"first set chosen in {h.first_position_rate:.1%} of valid replies")
    console.print(f"  intervals: {h.ci_method}")


def cmd_difficulty(args: argparse.Namespace) -> int:
    from evals.difficulty import plan_matchups, run_head_to_head
    from evals.judges import make_difficulty_judge

    a, b = _load(args.inputs)
    plan = plan_matchups(a, b, _corpus(args), per_article=args.per_article, max_articles=args.max_articles,
                         seed=args.seed)
    if plan.missing_text:
        _warn(f"{len(plan.missing_text)} shared article(s) have no text (e.g. {plan.missing_text[0]!r}); "
              "pass --corpus")
    judge = make_difficulty_judge(args.judge, **_judge_kwargs(args))
    result = run_head_to_head(a.name, b.name, plan, judge, threads=args.threads, progress=not args.no_progress)
    _print_head_to_head(result)
    if result.compared and result.invalid == result.compared:
        _warn("every pair is invalid; check the judge model, --api-base and the API key")
    if args.json:
        _write_json(args.json, result.to_dict())
    return EXIT_OK


def cmd_quality(args: argparse.Namespace) -> int:
    from rich.table import Table

    from evals.judges import make_quality_judge
    from evals.quality import rate_answers

    sets = _load(args.inputs)
    judge = make_quality_judge(args.judge, **_judge_kwargs(args))
    summaries = [rate_answers(s, judge, sample_size=args.sample, seed=args.seed, threads=args.threads,
                              progress=not args.no_progress) for s in sets]
    table = Table(title=f"Answer quality — judge: {judge.label}; shares over valid ratings")
    for column in ("method", "rated", "invalid", "fluency H / M / L", "completeness H / M / L"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for q in summaries:
        cells = [" / ".join("n/a" if q.shares[c][lv] is None else f"{q.shares[c][lv]:.1%}"
                            for lv in ("high", "medium", "low")) for c in ("fluency", "completeness")]
        table.add_row(q.method, str(q.n_rated), str(q.n_invalid), *cells)
    _console().print(table)
    for q in summaries:
        if q.n_invalid:
            _warn(f"{q.method}: {q.n_invalid} invalid rating(s): {q.invalid_by_reason}")
    if args.json:
        _write_json(args.json, [q.to_dict(with_ratings=False) for q in summaries])
    if args.ratings:
        args.ratings.parent.mkdir(parents=True, exist_ok=True)
        with args.ratings.open("w", encoding="utf-8") as handle:
            for q in summaries:
                for row in q.ratings:
                    handle.write(json_safe.dumps({"method": q.method, **row}, ensure_ascii=False) + "\n")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from evals.inputs import require_field
    from evals.report import ReportOptions, build_report, write_report

    sets = _load(args.inputs)
    for instruction_set in sets:  # fail before any model is loaded, and say which flag skips the eval
        if not args.no_difficulty and len(sets) > 1:
            require_field(instruction_set, "article_id", "needed by the head-to-head; --no-difficulty skips it")
        if not args.no_quality:
            require_field(instruction_set, "output", "needed by answer quality; --no-quality skips it")
    options = ReportOptions(
        tokenizer=args.tokenizer, orders=args.orders, sample=args.sample, seeds=_seeds(args),
        embedder=None if args.embedder == "none" else args.embedder, top_pairs=args.top_pairs,
        difficulty=not args.no_difficulty, judge=args.judge, quality=not args.no_quality,
        quality_judge=args.quality_judge, api_base=args.api_base, temperature=args.temperature,
        max_tokens=args.max_tokens, per_article=args.per_article,
        max_articles=args.max_articles, quality_sample=args.quality_sample, seed=args.seed, threads=args.threads,
    )
    report = build_report(sets, options, _corpus(args), progress=not args.no_progress)
    written = write_report(report, args.out)
    console = _console()
    for note in report.data["notes"]:
        _warn(note)
    console.print(f"wrote {', '.join(str(p) for p in written.values())}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from evals.regression import (
        MISSING,
        REGRESSED,
        checks_as_rows,
        compare_metrics,
        failed,
        parse_overrides,
        read_metrics,
    )

    current, better = read_metrics(args.report)
    baseline, baseline_better = read_metrics(args.baseline)
    checks = compare_metrics(current, baseline, {**baseline_better, **better}, tolerance=args.tolerance,
                             overrides=parse_overrides(args.metric_tolerance), relative=args.relative,
                             only=args.only or None)
    kind = "relative" if args.relative else "absolute"
    table = Table(title=f"Regression check: {args.report} against {args.baseline} ({kind} tolerance)")
    for column in ("metric", "better", "baseline", "current", "delta", "tolerance", "status"):
        table.add_column(column, justify="left" if column in ("metric", "better", "status") else "right")

    def num(value: float | None, signed: bool = False) -> str:
        return "—" if value is None else (f"{value:+.4f}" if signed else f"{value:.4f}")

    for c in checks:
        status = Text(c.status, style="bold red" if c.status in (REGRESSED, MISSING) else "")
        table.add_row(c.metric, c.better, num(c.baseline), num(c.current), num(c.delta, signed=True),
                      f"{c.tolerance:g}", status)
    console = _console()
    console.print(table)
    if args.json:
        _write_json(args.json, checks_as_rows(checks))
    bad = failed(checks)
    if not checks:
        _warn("no metrics to compare")
    console.print(f"{len(bad)} of {len(checks)} metric(s) regressed or missing" if bad
                  else f"all {len(checks)} metric(s) within tolerance")
    return EXIT_REGRESSION if bad else EXIT_OK


def cmd_contamination(args: argparse.Namespace) -> int:
    from evals.contamination import check_contamination, check_thresholds, markdown, shares
    from evals.inputs import InputError, load_input

    try:
        check_thresholds(args.ngram, args.cosine)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    sets = _load(args.inputs)
    test = load_input(args.against)
    questions = [r.instruction for r in test.records]
    if not any(q.strip() for q in questions):
        raise InputError(f"{test.source}: no test questions to check against")
    embedder = None
    if args.embedder != "none":
        from evals.embedding import load_embedder

        embedder = load_embedder(args.embedder, progress=not args.no_progress)
    results = check_contamination([(s.name, s.records) for s in sets], questions, ngram=args.ngram,
                                  cosine=args.cosine, embedder=embedder)
    print(markdown(results, ngram=args.ngram, cosine=args.cosine, with_cosine=embedder is not None, k=args.worst),
          end="")
    if args.json:
        _write_json(args.json, {
            "against": test.source, "n_test_questions": len(questions), "ngram": args.ngram,
            "cosine": args.cosine if embedder is not None else None, "embedder": args.embedder,
            "shares": shares(results), "items": [item.to_dict() for item in results],
        })
    return EXIT_OK


COMMANDS = {"contamination": cmd_contamination, "diversity": cmd_diversity, "difficulty": cmd_difficulty, "quality": cmd_quality,
            "report": cmd_report, "check": cmd_check}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from evals.inputs import InputError
    from foveate_dspy.cli_numbers import non_finite

    problem = non_finite(args) or (
        "--tolerance must be >= 0" if isinstance(getattr(args, "tolerance", None), float) and args.tolerance < 0 else None
    )
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_INPUT

    try:
        return COMMANDS[args.command](args)
    except (InputError, RuntimeError) as exc:
        from rich.text import Text

        _console(stderr=True).print(Text("error:", style="red"), str(exc))
        return EXIT_INPUT
