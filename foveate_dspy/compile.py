"""`python -m foveate_dspy.compile`: corpus in, instruction dataset out.

Every argument is checked before the first LM call; a user error prints one line on stderr and
exits with status 2, so a misspelt flag never costs API money.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from foveate_dspy.corpus.chunking import DEFAULT_CHUNK_TOKENS
from foveate_dspy.method.filters import FILTERS, FilterError, parse_filters
from foveate_dspy.method.level_names import LEVELS, parse_levels
from foveate_dspy.method.choice import METHODS

EXIT_USAGE = 2
EXIT_RUNTIME = 1  # the run could not be saved (disk full, directory lost); what was committed is safe
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m foveate_dspy.compile",
        description="Synthesise diverse, difficult, source-grounded instruction/answer pairs from a corpus "
        "with the Self-Foveate method (micro-, scatter- and macro-foveation plus re-synthesis).",
    )
    _add_input_output(parser)
    _add_teacher(parser)
    _add_method(parser)
    from foveate_dspy.optimize.cli import add_arguments
    from foveate_dspy.teachers import settings as teacher_settings

    teacher_settings.add_arguments(parser)
    add_arguments(parser)
    _add_runtime(parser)
    return parser


def _add_input_output(parser: argparse.ArgumentParser) -> None:
    """--corpus and its readers, --limit, --out, --force-new."""
    io = parser.add_argument_group("input and output")
    io.add_argument(
        "--corpus",
        help="the articles: a JSONL file (text in content/context/text), a CSV/TSV or Parquet file, a .txt/.md file, "
        "a PDF, HTML or DOCX document, a directory of .txt/.md/.pdf/.html/.docx files (id = relative path) "
        "or a datasets.save_to_disk directory",
    )
    io.add_argument("--hf-dataset", metavar="NAME_OR_PATH", help="a Hugging Face dataset instead of --corpus: a local path, or a hub name when online")
    io.add_argument("--split", help="--hf-dataset split (default: the only one, or train)")
    io.add_argument(
        "--text-field", "--text-column", dest="text_field", help="the field/column holding the text (default: auto-detect content, context, text)"
    )
    io.add_argument("--id-field", "--id-column", dest="id_field", help="the field/column holding the article id (default: id, else the line or row)")
    io.add_argument(
        "--chunk-tokens",
        type=int,
        default=DEFAULT_CHUNK_TOKENS,
        help=f"split longer documents into chunks of whole sentences of at most this many words (default {DEFAULT_CHUNK_TOKENS}; 0: never)",
    )
    io.add_argument("--limit", type=int, help="use only the first N articles (after chunking)")
    io.add_argument(
        "--out",
        required=True,
        help="run directory: run.sqlite (the resumable store), instructions.jsonl, rejected.jsonl, summary.json; "
        "running the same command again resumes it",
    )
    io.add_argument(
        "--force-new",
        action="store_true",
        help="start over even though --out holds a run (made with other settings): the old run is moved to --out/superseded-<time>/",
    )


def _add_teacher(parser: argparse.ArgumentParser) -> None:
    """The teacher, where it is served and how it is asked."""
    lm = parser.add_argument_group("teacher")
    lm.add_argument(
        "--teacher",
        help="any DSPy/LiteLLM model string (openai/gpt-4o-mini, deepseek/deepseek-chat, hosted_vllm/NAME, "
        "ollama_chat/NAME); 'local' (the bundled SmolLM2-135M-Instruct GGUF) or gguf:PATH / PATH.gguf (any GGUF "
        "file, served by a private llama.cpp server for the run); default: the embedded deterministic 'offline' teacher",
    )
    lm.add_argument(
        "--api-base",
        action="append",
        metavar="URL[=LIMIT]",
        help="endpoint for the teacher (a vLLM or Ollama server); keys come from the environment. With --executor ray, "
        "repeat it for several servers of the same model; =LIMIT caps the requests in flight at that server",
    )
    lm.add_argument(
        "--output-language",
        default="auto",
        metavar="CODE",
        help="language the teacher writes instructions and answers in: auto (default: each article's detected language) "
        "or an ISO 639 code such as en, de, zh",
    )
    lm.add_argument("--creative-teacher", help="a different model for re-synthesis (high-creativity mode)")
    lm.add_argument("--creative-api-base", help="endpoint for --creative-teacher")
    lm.add_argument("--max-tokens", type=int, help="cap on tokens per LM reply (default: provider's; 768 for a GGUF teacher)")
    lm.add_argument(
        "--output-mode",
        choices=("auto", "schema", "json", "chat"),
        default="auto",
        help="how replies are structured: auto (default: the signature's JSON schema for constrained decoding when a "
        "probe request shows the server enforces it, else chat), schema, json (JSON mode, no schema) or chat (DSPy's "
        "[[ ## field ## ]] blocks)",
    )
    lm.add_argument(
        "--parse-retries", type=int, default=2, help="times a reply that does not parse is asked for again, saying what was wrong (default 2)"
    )
    lm.add_argument(
        "--context-tokens",
        type=int,
        help="the teacher's context window in tokens (default: what the server says; 8192 for a GGUF teacher); "
        "articles are chunked so that prompt and reply fit",
    )
    lm.add_argument("--cache", action="store_true", help="use DSPy's response cache (off by default: its key ignores --api-base)")


def _add_method(parser: argparse.ArgumentParser) -> None:
    """The method: levels, budgets, re-synthesis, filters."""
    method = parser.add_argument_group("method")
    method.add_argument("--levels", default=",".join(LEVELS), help="comma-separated subset of micro,scatter,macro")
    method.add_argument("--max-retries", type=int, default=5, help="re-synthesis tries per failed item (default 5)")
    method.add_argument("--demos", type=int, default=3, help="reference items shown per re-synthesis try (default 3)")
    method.add_argument("--no-resynthesis", action="store_true", help="ablation: keep first attempts only")
    method.add_argument("--no-reread", action="store_true", help="ablation: skip the answer-rereading step")
    method.add_argument(
        "--no-rules",
        action="store_true",
        help="ablation: skip the level rules (extraction filters, question and answer checks); "
        "empty answers, answerable: false and refusals are still rejected",
    )
    method.add_argument("--n-per-level", type=int, help="fixed instructions per level instead of the adaptive budget")
    method.add_argument("--tau", type=float, default=0.16, help="budget: word relevance threshold (default 0.16)")
    method.add_argument("--mu", type=float, default=8.0, help="budget: mean instructions per level (default 8)")
    method.add_argument("--alpha", type=float, default=1.0, help="budget: spread (default 1.0)")
    method.add_argument(
        "--budget-sample",
        type=int,
        default=2000,
        help="budget: fit Algorithm 1 on a seeded sample of this many articles (default 2000; the whole corpus when smaller); "
        "each article's n is computed when it runs, and a resume reuses the stored fit",
    )
    method.add_argument(
        "--embedder",
        default="minilm",
        help="sentence-transformers model name or path; 'minilm' (bundled, default) or 'mpnet' (the paper's); "
        "append '@bf16' (minilm@bf16) to run it in bfloat16: about 0.6x the CPU on CPUs with AMX or AVX-512 BF16, budgets within 1",
    )
    method.add_argument("--seed", type=int, default=0, help="seed for grouping and re-synthesis sampling")
    method.add_argument(
        "--method",
        choices=list(METHODS),
        default="self-foveate",
        help="self-foveate (default), or a baseline under the same teacher, budget and output format: self-qa "
        "(Zhang & Yang 2023) or wiki2023 (Jiang et al. 2024 QA extraction); baselines make n x (number of --levels) "
        "pairs per article in one pass",
    )
    method.add_argument(
        "--filters",
        default="",
        help=f"comma-separated subset of {','.join(FILTERS)}: drop noisy pairs (SELF-GUIDE), near-duplicate "
        "instructions within an article (SeDi-Instruct ROUGE-L) and answers of outlying length (SELF-GUIDE)",
    )
    method.add_argument("--noise-terms", help="noise term list for --filters noise (default: the packaged list)")
    method.add_argument("--rouge-threshold", type=float, default=0.55, help="ROUGE-L above which an instruction is a near-duplicate (default 0.55)")
    method.add_argument("--length-stds", type=float, default=2.0, help="length filter: keep answers within mean ± this many std (default 2)")


def _add_runtime(parser: argparse.ArgumentParser) -> None:
    """Concurrency, limits, the executor."""
    runtime = parser.add_argument_group("runtime")
    runtime.add_argument(
        "--max-concurrency",
        type=int,
        help="LM requests in flight at most (default 16, or the server's slots when it says: 1 for a GGUF teacher)",
    )
    runtime.add_argument("--rpm", type=float, help="LM requests per minute at most (default: no limit)")
    runtime.add_argument("--tpm", type=float, help="LM tokens per minute at most, estimated before each request (default: no limit)")
    runtime.add_argument(
        "--request-timeout", type=float, default=120.0, help="seconds before an LM request is cancelled and retried (default 120)"
    )
    runtime.add_argument(
        "--max-calls",
        type=int,
        help="the run's LM requests at most, counted across resumes: articles start only while the rest of the limit can "
        "pay for them, so every step saves whole articles; re-run with a higher limit to continue",
    )
    runtime.add_argument(
        "--max-cost-usd",
        type=float,
        help="the run's estimated spend (LiteLLM prices) at most, across resumes, admitted like --max-calls; re-run with a "
        "higher limit to continue",
    )
    runtime.add_argument(
        "--dry-run",
        action="store_true",
        help="print the run's expected LM calls, tokens and (priced teachers) cost from the budgets and prompt sizes, "
        "then exit: no LM call, nothing written",
    )
    runtime.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local (default): this process runs every article; ray: articles are sharded over a Ray cluster's workers "
        "with Ray Data (pip install 'foveate-dspy[ray]'); the run directory is the same either way",
    )
    runtime.add_argument("--ray-address", help="Ray cluster to use: auto, or ray://HOST:PORT (default: a private local instance)")
    runtime.add_argument("--ray-workers", type=int, help="Ray workers, each building the program once (default: the cluster's CPUs)")
    runtime.add_argument(
        "--ray-batch-size", type=int, help="articles per Ray task, lost and redone together if a worker dies (default 1; more for huge corpora)"
    )
    runtime.add_argument("--quiet", action="store_true", help="no progress display")


class UsageError(Exception):
    """A problem with the command line or its inputs: one line on stderr, exit status 2."""


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Read the arguments, check them, open the corpus and the teacher, then run (`_compile`)."""
    args = build_parser().parse_args(argv)
    from foveate_dspy.teachers.local_server import LocalServerError
    from foveate_dspy.teachers.serving import serve_teacher

    try:
        sampling, levels, filters = _checked_options(args)
        executor, executor_errors = _executor(args)
        teacher, articles, scan = _open_corpus(args)
        with serve_teacher(teacher, args.api_base, args.context_tokens) as served:
            return _compile(args, teacher, served, articles, scan, levels, filters, sampling, executor, executor_errors)
    except (UsageError, LocalServerError) as exc:
        return _fail(str(exc))


_AT_LEAST = (
    ("--max-retries", "max_retries", 0),
    ("--demos", "demos", 0),
    ("--max-concurrency", "max_concurrency", 1),
    ("--n-per-level", "n_per_level", 1),
    ("--limit", "limit", 1),
    ("--budget-sample", "budget_sample", 2),
    ("--max-tokens", "max_tokens", 1),
    ("--max-calls", "max_calls", 1),
    ("--parse-retries", "parse_retries", 0),
    ("--context-tokens", "context_tokens", 256),
    ("--chunk-tokens", "chunk_tokens", 0),
    ("--ray-workers", "ray_workers", 1),
    ("--ray-batch-size", "ray_batch_size", 1),
)
_POSITIVE = (("--rpm", "rpm"), ("--tpm", "tpm"), ("--request-timeout", "request_timeout"), ("--max-cost-usd", "max_cost_usd"))


def _checked_options(args: argparse.Namespace) -> tuple:
    """(sampling, levels, filters) from the arguments; UsageError names the first bad one."""
    from foveate_dspy.cli_numbers import non_finite
    from foveate_dspy.corpus.language import AUTO, is_language_code
    from foveate_dspy.optimize.cli import check_arguments
    from foveate_dspy.teachers.settings import SamplingError, resolve

    _raise_if(non_finite(args))
    if not -1.0 <= args.tau <= 1.0 or not args.mu > 0 or not args.alpha >= 0:
        raise UsageError(f"--tau must be in [-1, 1] (a cosine), --mu > 0 and --alpha >= 0; got {args.tau:g}, {args.mu:g}, {args.alpha:g}")
    try:
        sampling = resolve(args)
        levels = parse_levels(args.levels)
        filters = parse_filters(args.filters)
    except (SamplingError, ValueError, FilterError) as exc:
        raise UsageError(str(exc)) from None
    if args.output_language != AUTO and not is_language_code(args.output_language):
        raise UsageError(f"--output-language must be auto or an ISO 639 code such as de or zh, got {args.output_language!r}")
    if not 0 < args.rouge_threshold <= 1 or not args.length_stds > 0:
        raise UsageError("--rouge-threshold must be in (0, 1] and --length-stds > 0")
    _raise_if(check_arguments(args))
    for flag, name, low in _AT_LEAST:
        value = getattr(args, name)
        if value is not None and value < low:
            raise UsageError(f"{flag} must be >= {low}, got {value}")
    for flag, name in _POSITIVE:
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise UsageError(f"{flag} must be > 0, got {value}")
    return sampling, levels, filters


def _raise_if(problem: str | None) -> None:
    if problem:
        raise UsageError(problem)


def _executor(args: argparse.Namespace) -> tuple:
    """(executor, the errors it raises) for --executor; None for this process. Sets args.api_base
    to the first endpoint's URL."""
    from foveate_dspy.runtime.endpoints import EndpointError, parse_endpoints

    try:
        endpoints = parse_endpoints(args.api_base or [])
    except EndpointError as exc:
        raise UsageError(str(exc)) from None
    args.api_base = endpoints[0].url if endpoints else None
    if args.executor == "ray":
        from foveate_dspy.runtime.ray_executor import RayExecutor, RayRunError, RayUnavailable, import_ray

        try:
            import_ray()
        except RayUnavailable as exc:
            raise UsageError(str(exc)) from None
        return RayExecutor(args.ray_address, args.ray_workers, args.ray_batch_size, endpoints), (RayRunError,)
    if len(endpoints) > 1 or any(e.limit for e in endpoints):
        raise UsageError("several --api-base endpoints, or URL=LIMIT, need --executor ray")
    if args.ray_address or args.ray_workers or args.ray_batch_size:
        raise UsageError("--ray-address, --ray-workers and --ray-batch-size need --executor ray")
    return None, ()


def _open_corpus(args: argparse.Namespace) -> tuple:
    """(teacher, articles, scan): the teachers checked, the corpus read once through."""
    from foveate_dspy.corpus.hygiene import CleanedCorpus
    from foveate_dspy.corpus.readers import CorpusError, CorpusSource
    from foveate_dspy.runtime.runner import scan_corpus
    from foveate_dspy.teachers.local_server import is_local_teacher
    from foveate_dspy.teachers.model_strings import OFFLINE, TeacherError, check_teacher

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
        corpus = CorpusSource(args.corpus, args.text_field, args.limit, args.id_field, args.hf_dataset, args.split, args.chunk_tokens)
        # One streaming pass before anything is touched: a bad record is a usage error naming its
        # line, and the count and digest identify the run (the corpus is never held in memory).
        articles = CleanedCorpus(corpus)  # article text cannot inject prompt structure
        scan = scan_corpus(articles)
    except (TeacherError, CorpusError) as exc:
        raise UsageError(str(exc)) from None
    if articles.report.describe():
        print(f"note: {articles.report.describe()}", file=sys.stderr)
    if is_local_teacher(teacher) and args.api_base:
        raise UsageError(f"--api-base does not apply to {teacher!r}: a GGUF teacher is served by its own local llama.cpp server")
    if is_local_teacher(args.creative_teacher) and args.creative_teacher != teacher:
        raise UsageError("--creative-teacher can be a GGUF file only when it is the --teacher itself")
    return teacher, articles, scan


def _compile(
    args: argparse.Namespace, teacher: str, served, articles, scan, levels, filters, sampling, executor, executor_errors
) -> int:
    """The run itself, once the teacher is reachable: settings, checks, run, closing lines."""
    from foveate_dspy.teachers.serving import fit_to_context

    settings = _settings(args, teacher, served, levels, filters, sampling)
    _raise_if(fit_to_context(served, articles, args.max_tokens))
    _check_run(args, teacher, settings)
    if args.dry_run:
        return _dry_run(args, settings, articles)
    summary = _run(args, settings, articles, scan, executor, executor_errors)
    if isinstance(summary, int):
        return summary
    _report_summary(summary, Path(args.out))
    return _report_end(summary)


def _settings(args: argparse.Namespace, teacher: str, served, levels, filters, sampling):
    """The run's settings from the arguments and what the teacher's server said about itself."""
    from foveate_dspy.method.budget import BudgetConfig
    from foveate_dspy.method.filters import FilterConfig
    from foveate_dspy.runtime.runner import RunSettings
    from foveate_dspy.teachers.serving import request_concurrency

    return RunSettings(
        teacher=teacher,
        api_base=served.api_base,
        creative_teacher=args.creative_teacher,
        creative_api_base=served.api_base if args.creative_teacher == teacher and served.api_base != args.api_base else args.creative_api_base,
        levels=levels,
        embedder=args.embedder,
        budget=BudgetConfig(threshold=args.tau, target_mean=args.mu, alpha=args.alpha),
        n_per_level=args.n_per_level,
        budget_sample=args.budget_sample,
        max_retries=args.max_retries,
        demo_count=args.demos,
        reread=not args.no_reread,
        resynthesis=not args.no_resynthesis,
        rules=not args.no_rules,
        seed=args.seed,
        max_concurrency=request_concurrency(args.max_concurrency, served.slots),
        cache=args.cache,
        max_tokens=args.max_tokens,
        rpm=args.rpm,
        tpm=args.tpm,
        request_timeout=args.request_timeout,
        max_calls=args.max_calls,
        max_cost_usd=args.max_cost_usd,
        method=args.method,
        filters=filters,
        filter_config=FilterConfig(args.noise_terms, args.rouge_threshold, args.length_stds),
        output_mode=args.output_mode,
        parse_retries=args.parse_retries,
        context_tokens=served.context_tokens,
        output_language=args.output_language,
        sampling=sampling,
    )


def _check_run(args: argparse.Namespace, teacher: str, settings) -> None:
    """What would fail the run, found before the run directory is touched: teacher settings DSPy
    refuses, a cost limit without prices, an embedding model that cannot load."""
    from foveate_dspy.runtime.calls import Pricing
    from foveate_dspy.teachers.model_strings import OFFLINE
    from foveate_dspy.teachers.settings import build_teachers

    try:
        build_teachers(settings)  # DSPy refuses some settings for some models: say so before anything is touched
    except Exception as exc:
        raise UsageError(f"cannot use the teacher {teacher!r} with these settings: {' '.join(str(exc).split())[:300]}") from None
    if args.max_cost_usd is not None:
        models = [m for m in (teacher, args.creative_teacher) if m]
        unpriced = sorted(set(models) - Pricing.lookup(models).priced)
        if unpriced:
            raise UsageError(f"--max-cost-usd needs prices and LiteLLM has none for {', '.join(unpriced)}; use --max-calls instead")
    if settings.n_per_level is None or "micro" in settings.levels or teacher == OFFLINE:
        # Budgets, micro's keyword ranking and the offline teacher embed text: a model that cannot
        # load is a usage error, found before the run directory is touched.
        from foveate_dspy.method.embedding import get_embedder

        try:
            get_embedder(settings.embedder).dimension  # loads the model once for the whole run
        except RuntimeError as exc:
            raise UsageError(" ".join(str(exc).split())) from None


def _dry_run(args: argparse.Namespace, settings, articles) -> int:
    """--dry-run: the estimate of the whole run, and no LM call."""
    from foveate_dspy.runtime.estimate import describe, estimate_run
    from foveate_dspy.runtime.runner import compute_budgets

    corpus = list(articles)  # an estimate of the whole run: Algorithm 1 over the whole corpus
    print(describe(estimate_run(corpus, compute_budgets(corpus, settings), settings), settings), file=sys.stderr)
    if args.optimize:
        print("note: the estimate leaves out --optimize, which makes up to --optimize-max-calls program runs and their judge calls", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, settings, articles, scan, executor, executor_errors) -> dict | int:
    """The run's summary, or the exit status of a run that could not finish."""
    from foveate_dspy.corpus.readers import CorpusError
    from foveate_dspy.method.filters import FilterChain
    from foveate_dspy.optimize.cli import prepare
    from foveate_dspy.optimize.teleprompt import OptimizeError
    from foveate_dspy.runtime.runner import run
    from foveate_dspy.runtime.signals import sigterm_like_ctrl_c
    from foveate_dspy.runtime.store import DuplicateArticle, SettingsMismatch, StoreError

    out = Path(args.out)
    if executor is not None:
        try:
            executor.connect()  # a wrong --ray-address fails here, before the run directory is touched
        except executor_errors as exc:
            raise UsageError(str(exc)) from None
    try:
        FilterChain(settings.filters, settings.filter_config)  # reads the noise list: fail before any LM call
        with sigterm_like_ctrl_c():
            return run(
                articles,
                out,
                settings,
                program_factory=functools.partial(prepare, args, settings, articles, out),
                progress=not args.quiet,
                force_new=args.force_new,
                executor=executor,
                notes={"input_hygiene": articles.report.as_dict()},
                scan=scan,
            )
    except (FilterError, OptimizeError, SettingsMismatch, DuplicateArticle, CorpusError) as exc:
        raise UsageError(str(exc)) from None
    except executor_errors as exc:
        print(f"error: {exc}; every finished article is saved in {out}, run the same command again to resume", file=sys.stderr)
        return EXIT_RUNTIME
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the run: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        print(f"interrupted: every finished article is saved in {out}; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def _report_summary(summary: dict, out: Path) -> None:
    """The closing lines on stderr: what the run made, what failed and where it is."""
    per_level = ", ".join(f"{k} {v}" for k, v in summary["records_per_level"].items())
    print(
        f"{summary['records']} instructions ({per_level}) from {summary['articles_done']}/{summary['articles']} articles; "
        f"{summary['resynthesized']} re-synthesised, {summary['failed']} failed; {summary['lm_calls']} LM calls, "
        f"{summary['input_tokens'] + summary['output_tokens']:,} tokens → {out}",
        file=sys.stderr,
    )
    this_run = summary["this_run"]
    if this_run["articles_skipped_done"]:
        print(
            f"this run: {this_run['lm_calls']} LM calls; {this_run['articles_skipped_done']} articles were already done",
            file=sys.stderr,
        )
    if summary["articles_failed"]:
        first = summary["articles_failed"][0]
        print(
            f"{len(summary['articles_failed'])} articles failed (see summary.json articles_failed; first: "
            f"{first['article_id']}: {first['error'][:200]}); run the same command again to retry them",
            file=sys.stderr,
        )
    if summary["level_failures"]:
        levels_failed = ", ".join(f"{level} {count}" for level, count in summary["level_failures"].items())
        example = summary.get("level_failure_examples", [{}])[0]
        print(
            f"levels that produced nothing: {levels_failed} (e.g. {example.get('article_id')}: {example.get('level')}: "
            f"{str(example.get('reason', ''))[:200]})",
            file=sys.stderr,
        )


def _report_end(summary: dict) -> int:
    """Say why the run stopped early, if it did, and choose the exit status: a run that produced
    nothing (every article it ran failed, or the whole run holds no record) is not a success."""
    stopped = summary.get("stopped")
    if stopped:
        if stopped.startswith(("--max-calls", "--max-cost-usd")):
            spent = f"{summary['lm_calls_total']} LM calls in all"
            if summary.get("cost_usd_total") is not None:
                spent += f", about ${summary['cost_usd_total']:.4f}"
            print(
                f"stopped early: {stopped}. Limits count the whole run across resumes ({spent} so far); re-running with the "
                "same limit makes no call",
                file=sys.stderr,
            )
        else:
            print(f"stopped early: {stopped}; re-run the same command to continue where it stopped", file=sys.stderr)
    this_run = summary["this_run"]
    if this_run.get("articles_failed") and not this_run.get("articles_done"):
        print(f"error: every article this run tried failed ({this_run['articles_failed']}); see summary.json articles_failed", file=sys.stderr)
        return EXIT_RUNTIME
    if summary["complete"] and summary["records"] == 0:
        print("error: the run is complete but produced no instruction (0 records); see rejected.jsonl for why", file=sys.stderr)
        return EXIT_RUNTIME
    return 0


if __name__ == "__main__":
    sys.exit(main())
