"""The program as a library: for notebooks and for DSPy code of your own.

    import dspy, foveate_dspy as fd

    dspy.configure(lm=fd.teacher_lm("openai/gpt-4o-mini"))   # or any dspy.LM
    pairs = fd.generate(article_text, n=4)                   # a list of plain dicts
    pairs = await fd.agenerate(article_text, n=4)            # the same, in Jupyter or async code
    summary = fd.compile_corpus("articles.jsonl", "runs/demo", teacher="openai/gpt-4o-mini")

Three layers, from the smallest:

* the programs themselves (`self_foveate`, `baseline`, `make_program`), plain `dspy.Module`s:
  `program(article=..., n=...)` or `await program.acall(article=..., n=...)` returns a
  Prediction of `records.Item`s, with whatever LM `dspy.configure`/`dspy.context` sets. This is
  the form to put inside your own DSPy code or hand to a teleprompter.
* `generate` / `agenerate`: one article in, the accepted pairs out as plain dicts, the same
  records instructions.jsonl holds, with the run's per-article settings (request pacing,
  output language, re-synthesis's creative sampling, the tolerant chat adapter) put in place for
  the call, so a bare program behaves as it does under the CLI.
* `compile_corpus`: a whole corpus into a run directory, exactly as `python -m
  foveate_dspy.compile` does it (the same settings and defaults, resumable, summary returned).

Every synchronous entry point also works inside a running event loop (Jupyter), where
`asyncio.run` refuses: the work then runs on a private loop in a worker thread that carries the
caller's context, DSPy's `dspy.context` overrides included (article_program.call_off_the_loop).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foveate_dspy.corpus.chunking import DEFAULT_CHUNK_TOKENS
from foveate_dspy.method.level_names import LEVELS

if TYPE_CHECKING:
    import dspy

    from foveate_dspy.method.article_program import ArticleProgram
    from foveate_dspy.corpus.readers import Article
    from foveate_dspy.method.program import SelfFoveate
    from foveate_dspy.runtime.runner import RunSettings
    from foveate_dspy.teachers.serving import TeacherServer

__all__ = ["agenerate", "baseline", "compile_corpus", "generate", "make_program", "self_foveate", "teacher_lm"]

DEFAULT_N = 8  # pairs per level for one article: the budget's target mean mu


# --- programs ---------------------------------------------------------------------------------


def _levels(levels: str | Sequence[str]) -> tuple[str, ...]:
    from foveate_dspy.method.level_names import parse_levels

    return parse_levels(levels if isinstance(levels, str) else ",".join(levels))


def _settings(**options: Any) -> RunSettings:
    """RunSettings from keyword options named like its fields (levels and filters may also be
    comma-separated strings, as on the command line; tau, mu and alpha set the budget), so the
    library takes every setting the CLI takes, with the CLI's defaults. Unknown names raise."""
    from foveate_dspy.method.budget import BudgetConfig
    from foveate_dspy.method.filters import parse_filters
    from foveate_dspy.runtime.runner import RunSettings

    names = {f.name for f in dataclasses.fields(RunSettings)}
    unknown = sorted(set(options) - names - {"tau", "mu", "alpha"})
    if unknown:
        raise TypeError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names | {'tau', 'mu', 'alpha'}))}")
    budget = {key: options.pop(key) for key in ("tau", "mu", "alpha") if key in options}
    if budget:
        base = options.get("budget") or BudgetConfig()
        options["budget"] = BudgetConfig(
            threshold=budget.get("tau", base.threshold), target_mean=budget.get("mu", base.target_mean), alpha=budget.get("alpha", base.alpha)
        )
    if "levels" in options:
        options["levels"] = _levels(options["levels"])
    if isinstance(options.get("filters"), str):
        options["filters"] = parse_filters(options["filters"])
    elif "filters" in options:
        options["filters"] = tuple(options["filters"])
    return RunSettings(**options)


def self_foveate(
    levels: str | Sequence[str] = LEVELS,
    *,
    embedder: str = "minilm",
    max_retries: int = 5,
    demo_count: int = 3,
    reread: bool = True,
    resynthesis: bool = True,
    rules: bool = True,
) -> SelfFoveate:
    """The Self-Foveate program (micro, scatter and macro foveation, answering with rereading,
    re-synthesis of rejected items, the level rules of method/rules.py), with the CLI's
    defaults; `rules=False` is --no-rules. It uses the LM of `dspy.configure`/`dspy.context` when
    called; `program(article=..., n=...)` returns Prediction(results=[Item...],
    level_failures=[...], extractions=[...])."""
    from foveate_dspy.method.program import SelfFoveate

    return SelfFoveate(
        levels=_levels(levels),
        embedder=embedder,
        max_retries=max_retries,
        demo_count=demo_count,
        reread=reread,
        resynthesis=resynthesis,
        rules=rules,
    )


def baseline(name: str, levels: str | Sequence[str] = LEVELS) -> ArticleProgram:
    """A baseline program, "self-qa" (Zhang & Yang 2023) or "wiki2023" (Jiang et al. 2024), sized
    as under the CLI: n x len(levels) pairs per article in one pass, so that it aims at as many
    pairs as Self-Foveate with the same levels."""
    if name == "self-foveate":
        raise ValueError("self-foveate is not a baseline; use self_foveate()")
    return make_program(name, levels=levels)


def make_program(method: str = "self-foveate", **settings: Any) -> ArticleProgram:
    """The program `--method` names, built from settings named like RunSettings' fields (the
    CLI's; e.g. levels="micro,scatter", max_retries=2, reread=False), exactly as the CLI builds it."""
    from foveate_dspy.method.choice import build_program

    return build_program(_settings(method=method, **settings))


def teacher_lm(model: str = "offline", *, api_base: str | None = None, cache: bool = False, max_tokens: int | None = None, **sampling: Any) -> dspy.LM:
    """A dspy.LM for `model` built as the CLI builds its teacher: the paper's normal sampling mode
    (temperature 0.5, frequency penalty 0.5; `sampling` overrides it), adapted to what the model
    accepts, and no retries inside DSPy (the program's calls retry with backoff themselves).
    "offline" is the embedded deterministic teacher (rules, not an LLM: for demos and tests).
    Any dspy.LM of your own works too; this one only saves you choosing the settings."""
    from foveate_dspy.teachers.model_strings import build_lm, check_teacher
    from foveate_dspy.teachers.sampling import NORMAL

    check_teacher(model, api_base)
    return build_lm(model, {**NORMAL, **sampling}, api_base, cache=cache, max_tokens=max_tokens)


# --- one article ------------------------------------------------------------------------------


def _method_of(program: Any) -> str:
    from foveate_dspy.baselines.self_qa import SelfQA
    from foveate_dspy.baselines.wiki2023 import Wiki2023

    if isinstance(program, SelfQA):
        return "self-qa"
    if isinstance(program, Wiki2023):
        return "wiki2023"
    return "self-foveate"


async def agenerate(
    article: str,
    n: int = DEFAULT_N,
    *,
    program: dspy.Module | None = None,
    lm: dspy.LM | None = None,
    article_id: str = "article",
    seed: int = 0,
    output_language: str = "auto",
    include_rejected: bool = False,
    max_concurrency: int = 16,
    request_timeout: float | None = 120.0,
) -> list[dict[str, Any]]:
    """The pairs the program makes from one article, as plain dicts (id, article_id, level,
    feature, instruction, output, attempts, history, teacher, method, language): the lines
    instructions.jsonl would hold. `n` is per level (a baseline makes n x its level count).

    `program` defaults to `self_foveate()`; `lm` to the LM of `dspy.configure`/`dspy.context`.
    For the call, and only for it, the settings a CLI run gives each article are put in place: at
    most `max_concurrency` requests in flight, each retried with backoff and cut at
    `request_timeout` seconds; the teacher writes in the article's detected language (or in
    `output_language`, an ISO 639 code); re-synthesis samples in the paper's creative mode adapted
    to the model; replies are read by the run's tolerant chat adapter unless you configured an
    adapter. `include_rejected` adds the items no attempt got accepted (with "reason", no
    instruction or output) and the levels that produced nothing."""
    # Its own task: the context variables set below stay in it, not in the caller's context.
    return await asyncio.create_task(
        _generate(article, n, program, lm, article_id, seed, output_language, include_rejected, max_concurrency, request_timeout)
    )


def generate(
    article: str,
    n: int = DEFAULT_N,
    *,
    program: dspy.Module | None = None,
    lm: dspy.LM | None = None,
    article_id: str = "article",
    seed: int = 0,
    output_language: str = "auto",
    include_rejected: bool = False,
    max_concurrency: int = 16,
    request_timeout: float | None = 120.0,
) -> list[dict[str, Any]]:
    """`agenerate` for synchronous code: in a script, and in a Jupyter cell too (inside the
    running loop it runs on a private loop in a worker thread, with the caller's DSPy context).
    In async code prefer `await agenerate(...)`, which does not block the loop."""
    from foveate_dspy.method.article_program import run_coroutine_sync

    return run_coroutine_sync(
        lambda: agenerate(
            article,
            n,
            program=program,
            lm=lm,
            article_id=article_id,
            seed=seed,
            output_language=output_language,
            include_rejected=include_rejected,
            max_concurrency=max_concurrency,
            request_timeout=request_timeout,
        )
    )


async def _generate(
    article: str,
    n: int,
    program: dspy.Module | None,
    lm: dspy.LM | None,
    article_id: str,
    seed: int,
    output_language: str,
    include_rejected: bool,
    max_concurrency: int,
    request_timeout: float | None,
) -> list[dict[str, Any]]:
    import dspy

    from foveate_dspy.teachers.adapters import build_adapter
    from foveate_dspy.runtime.calls import LIMITER
    from foveate_dspy.corpus.language import AUTO, LANGUAGE_FORCED, OUTPUT_LANGUAGE, detect_language, resolve
    from foveate_dspy.runtime.ratelimit import Backoff, RequestGate
    from foveate_dspy.teachers.sampling import CREATIVE, CREATIVE_CONFIG
    from foveate_dspy.teachers.settings import per_call

    if not isinstance(article, str) or not article.strip():
        raise ValueError("article must be a non-empty string")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    lm = lm or dspy.settings.lm
    if lm is None:
        raise ValueError("no LM: call dspy.configure(lm=...) (e.g. foveate_dspy.teacher_lm('openai/gpt-4o-mini')), use dspy.context(lm=...), or pass lm=")
    program = program if program is not None else self_foveate()
    model = getattr(lm, "model", None)
    detected = detect_language(article) if output_language == AUTO else None
    OUTPUT_LANGUAGE.set(resolve(output_language, detected))
    LANGUAGE_FORCED.set(output_language != AUTO)
    LIMITER.set(RequestGate(max_concurrency, None, None, request_timeout, Backoff()))
    if CREATIVE_CONFIG.get() is None:
        CREATIVE_CONFIG.set(per_call(model if isinstance(model, str) else None, CREATIVE))
    overrides: dict[str, Any] = {"lm": lm}
    if dspy.settings.adapter is None:  # DSPy's default ChatAdapter; the run's reads more replies
        overrides["adapter"] = build_adapter("chat")
    with dspy.context(**overrides):
        prediction = await program.acall(article=article, n=n, article_id=article_id, seed=seed)
    teacher, method, language = str(model or type(lm).__name__), _method_of(program), detected
    records = []
    for item in prediction.results:
        if item.accepted is not None or include_rejected:
            records.append({**item.to_record(teacher, method), "language": language})
    if include_rejected:
        records += [{**failure.to_record(teacher, method), "language": language} for failure in prediction.level_failures]
    return records


# --- a whole corpus ---------------------------------------------------------------------------


class _InMemoryCorpus:
    """Articles given as Python objects, re-iterable as the runner needs: a str is an article's
    text; a mapping is a record as in a JSONL corpus (text in content/context/text or
    `text_field`, id in id or `id_field`, optional title); a corpus.Article is used as is. Texts
    are chunked as the CLI chunks them, and ids default to article-<index>."""

    def __init__(self, items: Sequence[Any], text_field: str | None, id_field: str | None, limit: int | None, chunk_tokens: int) -> None:
        self.items, self.text_field, self.id_field, self.limit, self.chunk_tokens = items, text_field, id_field, limit, chunk_tokens

    def __iter__(self) -> Iterator[Article]:
        from foveate_dspy.corpus.readers import Article, CorpusError, Document, chunk_document, record_document

        count = 0
        for index, item in enumerate(self.items):
            where = f"articles[{index}]"
            if isinstance(item, Article):
                pieces = [item]
            elif isinstance(item, str):
                pieces = chunk_document(Document(f"article-{index}", item, None, where, {"index": index}), self.chunk_tokens)
            elif isinstance(item, Mapping):
                doc = record_document(dict(item), self.text_field, self.id_field, f"article-{index}", where, {"index": index})
                pieces = chunk_document(doc, self.chunk_tokens)
            else:
                raise CorpusError(f"{where}: expected a str, a mapping or a corpus.Article, got {type(item).__name__}")
            for article in pieces:
                if self.limit is not None and count >= self.limit:
                    return
                yield article
                count += 1
        if not count:
            raise CorpusError("the corpus holds no article with text")


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def compile_corpus(
    corpus: str | Path | Iterable[Any] | None,
    out_dir: str | Path,
    *,
    teacher: str | dspy.LM | None = None,
    program: dspy.Module | None = None,
    text_field: str | None = None,
    id_field: str | None = None,
    limit: int | None = None,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    hf_dataset: str | None = None,
    split: str | None = None,
    force_new: bool = False,
    progress: bool = False,
    log: Callable[[str], None] = _note,
    **settings: Any,
) -> dict[str, Any]:
    """Compile (or resume) a dataset from a whole corpus into the run directory `out_dir`, as
    `python -m foveate_dspy.compile --corpus ... --out ...` does: run.sqlite (the resumable
    store), instructions.jsonl, rejected.jsonl and summary.json. Returns the summary.

    `corpus` is what --corpus takes (a JSONL/CSV/Parquet/text/PDF/HTML/DOCX file, a folder, a
    saved dataset), or `hf_dataset` (with `split`) instead of it, or a list of texts, of records
    (dicts like JSONL lines) or of corpus.Article. The texts are cleaned and chunked as the CLI
    does (`chunk_tokens`, 0: never), `limit` keeps the first articles.

    `teacher`: a model string as --teacher takes ("openai/gpt-4o-mini", "local", "offline"...),
    or a dspy.LM used as is; by default the LM of `dspy.configure`/`dspy.context`, else the
    offline teacher as the CLI's default. `program` replaces the one the settings build (a loaded
    or optimised program). Every other keyword is a RunSettings field, the CLI's flags by their
    field names (levels, n_per_level, max_retries, demo_count, reread, resynthesis, rules, seed,
    max_concurrency, rpm, tpm, request_timeout, max_calls, max_cost_usd, method, filters,
    output_mode, output_language, sampling, ...; tau, mu, alpha for the budget), with the CLI's
    defaults. As with the CLI, running it again on the same directory resumes; other settings
    there raise store.SettingsMismatch unless `force_new`.

    Works in a script and inside a running event loop (Jupyter), where it runs in a worker thread;
    either way it blocks until the run ends."""
    from foveate_dspy.method.article_program import call_off_the_loop

    return call_off_the_loop(
        lambda: _compile_corpus(
            corpus, Path(out_dir), teacher, program, text_field, id_field, limit, chunk_tokens, hf_dataset, split, force_new, progress, log, settings
        )
    )


def _compile_corpus(
    corpus: Any,
    out: Path,
    teacher: Any,
    program: dspy.Module | None,
    text_field: str | None,
    id_field: str | None,
    limit: int | None,
    chunk_tokens: int,
    hf_dataset: str | None,
    split: str | None,
    force_new: bool,
    progress: bool,
    log: Callable[[str], None],
    settings: dict[str, Any],
) -> dict[str, Any]:
    from foveate_dspy import json_safe
    from foveate_dspy.corpus.readers import CorpusError
    from foveate_dspy.teachers.model_strings import check_teacher
    from foveate_dspy.corpus.hygiene import CleanedCorpus
    from foveate_dspy.runtime.runner import run, scan_corpus
    from foveate_dspy.teachers.serving import fit_to_context, serve_teacher

    _settings(**settings)  # unknown names and bad levels or filters raise before the corpus is read
    lm, teacher = _teacher_of(teacher, log)
    source = _corpus_source(corpus, text_field, id_field, limit, chunk_tokens, hf_dataset, split)
    articles = CleanedCorpus(source)  # article text cannot inject prompt structure, as in the CLI
    scan = scan_corpus(articles)
    if articles.report.describe():
        log(articles.report.describe())
    api_base = settings.pop("api_base", None)
    if lm is None:
        check_teacher(teacher, api_base)
        if settings.get("creative_teacher"):
            check_teacher(settings["creative_teacher"], settings.get("creative_api_base"))
    with serve_teacher(teacher if lm is None else "", api_base, settings.pop("context_tokens", None)) as served:
        run_settings = _served_settings(teacher, lm is None, api_base, served, settings)
        problem = fit_to_context(served, articles, run_settings.max_tokens)
        if problem:
            raise CorpusError(problem)
        summary = run(
            articles,
            out,
            run_settings,
            program=program,
            progress=progress,
            force_new=force_new,
            teacher_lm=lm,
            log=log,
            notes={"input_hygiene": articles.report.as_dict()},
            scan=scan,
        )
    # As summary.json holds it (lists, not tuples; null for a non-finite number).
    return json.loads(json_safe.dumps(summary, ensure_ascii=False))


def _served_settings(teacher: str, built: bool, api_base: str | None, served: TeacherServer, settings: dict[str, Any]) -> RunSettings:
    """The run's settings once the teacher is served: its server's address, context and slots.
    A creative teacher that is the GGUF teacher itself (`built`: not an LM given as is) shares
    its private server, as in the CLI."""
    from foveate_dspy.teachers.serving import request_concurrency

    if built and settings.get("creative_teacher") == teacher and served.api_base != api_base:
        settings["creative_api_base"] = served.api_base
    return _settings(
        teacher=teacher,
        api_base=served.api_base,
        context_tokens=served.context_tokens,
        max_concurrency=request_concurrency(settings.pop("max_concurrency", None), served.slots),
        **settings,
    )


def _teacher_of(teacher: str | dspy.LM | None, log: Callable[[str], None]) -> tuple[dspy.LM | None, str]:
    """The LM to use as is (None: one built from the model string) and the teacher's name:
    `teacher`, else the LM dspy is configured with, else the offline teacher, said in the log."""
    import dspy

    from foveate_dspy.teachers.model_strings import OFFLINE

    teacher = teacher if teacher is not None else dspy.settings.lm
    if teacher is None:
        log("no teacher given and no LM configured with dspy; using the embedded offline teacher (deterministic rules, not an LLM)")
        return None, OFFLINE
    if isinstance(teacher, str):
        return None, teacher
    return teacher, str(getattr(teacher, "model", None) or type(teacher).__name__)


def _corpus_source(
    corpus: Any,
    text_field: str | None,
    id_field: str | None,
    limit: int | None,
    chunk_tokens: int,
    hf_dataset: str | None,
    split: str | None,
) -> Iterable[Article]:
    """The articles of what --corpus takes (a path, a saved or hub dataset), or of Python objects."""
    from foveate_dspy.corpus.readers import CorpusError, CorpusSource

    if isinstance(corpus, (str, Path)) or (corpus is None and hf_dataset is not None):
        return CorpusSource(corpus, text_field, limit, id_field, hf_dataset, split, chunk_tokens)
    if hf_dataset is not None:
        raise CorpusError("give either a corpus or hf_dataset, not both")
    return _InMemoryCorpus(list(corpus), text_field, id_field, limit, chunk_tokens)
