"""The full report: every eval over a list of inputs, as report.json, report.md and PNG plots.

The first input is the method under test: the difficulty head-to-head pits it against each of
the others, as the paper's Table 5 pits Self-Foveate against each baseline. Diversity is scored
at equal size by default (the smallest set's size, several seeds), because SelfBLEU depends on n.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foveate_dspy import json_safe
from evals.diversity import DiversityResult, measure_diversity
from evals.embedding import DEFAULT_EMBEDDER, Embedder, embedder_label, load_embedder
from evals.judges import DEFAULT_THREADS, OFFLINE_JUDGE, make_difficulty_judge, make_quality_judge
from evals.metrics import collect_metrics
from evals.inputs import InstructionSet
from evals.selfbleu import DEFAULT_ORDERS
from evals.stats import CI_METHOD
from evals.tokenizers import DEFAULT_TOKENIZER

SCHEMA = "foveate-evals-report/1"


@dataclass
class ReportOptions:
    """Everything that shapes the numbers; it is written into report.json as ``config``.

    ``sample``: "min" (the smallest set's size), "all" (whole sets) or a number of instructions.
    ``embedder``: "minilm", a sentence-transformers name or path, or None to skip D_EB.
    """

    tokenizer: str = DEFAULT_TOKENIZER
    orders: tuple[int, ...] = DEFAULT_ORDERS
    sample: str | int = "min"
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    embedder: str | None = DEFAULT_EMBEDDER
    top_pairs: int = 5
    difficulty: bool = True
    judge: str = OFFLINE_JUDGE
    quality: bool = True
    quality_judge: str | None = None
    api_base: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    per_article: int | None = None
    max_articles: int | None = None
    quality_sample: int | None = None
    seed: int = 0
    threads: int = DEFAULT_THREADS


def resolve_sample_size(sets: Sequence[InstructionSet], sample: str | int) -> int | None:
    if sample == "all":
        return None
    if sample == "min":
        sizes = [len(s.nonempty_instructions()) for s in sets]
        return min(sizes) if min(sizes) >= 2 else None
    return int(sample)


@dataclass
class Report:
    """``data`` is report.json; the result objects feed the plots and the per-record ratings."""

    data: dict[str, Any]
    diversity: list[DiversityResult]
    difficulty: list[Any]
    quality: list[Any]


def build_report(
    sets: Sequence[InstructionSet],
    options: ReportOptions,
    corpus: dict[str, str] | None = None,
    *,
    embedder: Embedder | None = None,
    difficulty_judge: Any = None,
    quality_judge: Any = None,
    progress: bool = True,
) -> Report:
    """Run every requested eval; judges and embedder can be passed in (tests, custom setups)."""
    sample_size = resolve_sample_size(sets, options.sample)
    if embedder is None and options.embedder is not None:
        embedder = load_embedder(options.embedder, progress=progress)
    diversity = [
        measure_diversity(
            s.name, [r.instruction for r in s.records], tokenizer=options.tokenizer, orders=options.orders,
            embedder=embedder, embedder_name=embedder_label(options.embedder) if options.embedder else "custom",
            sample_size=sample_size, seeds=options.seeds, top_pairs=options.top_pairs,
        )
        for s in sets
    ]
    difficulty = _head_to_heads(sets, options, corpus, difficulty_judge, progress) if options.difficulty and len(sets) > 1 else []
    quality = _quality_ratings(sets, options, quality_judge, progress) if options.quality else []
    metrics, better = collect_metrics(diversity, difficulty, quality)
    config = dict(options.__dict__)
    config.update(orders=list(options.orders), seeds=list(options.seeds), resolved_sample_size=sample_size,
                  ci_method=CI_METHOD)
    return Report(
        data={
            "schema": SCHEMA,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "config": config,
            "inputs": [
                {"method": s.name, "source": s.source, "records": len(s.records), "levels": s.level_counts()}
                for s in sets
            ],
            "diversity": [d.to_dict() for d in diversity],
            "difficulty": [h.to_dict() for h in difficulty],
            "quality": [q.to_dict(with_ratings=False) for q in quality],
            "metrics": metrics,
            "better": better,
            "notes": _notes(diversity, difficulty, quality, sample_size),
        },
        diversity=diversity,
        difficulty=difficulty,
        quality=quality,
    )


def _head_to_heads(
    sets: Sequence[InstructionSet], options: ReportOptions, corpus: dict[str, str] | None, judge: Any, progress: bool
) -> list[Any]:
    """The first set (the method under test) against each other set, as Table 5."""
    from evals.difficulty import plan_matchups, run_head_to_head

    judge = judge or make_difficulty_judge(options.judge, **_judge_settings(options))
    results = []
    for other in sets[1:]:
        plan = plan_matchups(sets[0], other, corpus, per_article=options.per_article,
                             max_articles=options.max_articles, seed=options.seed)
        results.append(run_head_to_head(sets[0].name, other.name, plan, judge,
                                        threads=options.threads, progress=progress))
    return results


def _quality_ratings(sets: Sequence[InstructionSet], options: ReportOptions, judge: Any, progress: bool) -> list[Any]:
    """Every set's answers rated by the quality judge (default: the difficulty judge's model)."""
    from evals.quality import rate_answers

    judge = judge or make_quality_judge(options.quality_judge or options.judge, **_judge_settings(options))
    return [
        rate_answers(s, judge, sample_size=options.quality_sample, seed=options.seed,
                     threads=options.threads, progress=progress)
        for s in sets
    ]


def _judge_settings(options: ReportOptions) -> dict[str, Any]:
    return {"api_base": options.api_base, "temperature": options.temperature, "max_tokens": options.max_tokens}


def _notes(diversity: list[DiversityResult], difficulty: list[Any], quality: list[Any],
           sample_size: int | None) -> list[str]:
    notes = []
    if sample_size is None and len({d.n for d in diversity}) > 1:
        notes.append("Diversity was scored on whole sets of different sizes; SelfBLEU falls as n grows "
                     "(about 0.04 per doubling), so compare them with --sample.")
    for d in diversity:
        if d.undefined:
            notes.append(f"Diversity of {d.method}: {d.undefined}.")
        if d.n_empty_skipped:
            notes.append(f"{d.method}: {d.n_empty_skipped} empty instruction(s) left out of diversity.")
    for h in difficulty:
        if h.compared == 0:
            notes.append(f"Difficulty {h.method_a} vs {h.method_b}: no article with text that both methods "
                         f"wrote about ({h.shared_articles} shared article ids).")
        if h.articles_missing_text:
            notes.append(f"Difficulty {h.method_a} vs {h.method_b}: {h.articles_missing_text} shared article(s) "
                         "skipped, no text (pass --corpus).")
        if h.invalid:
            notes.append(f"Difficulty {h.method_a} vs {h.method_b}: {h.invalid} pair(s) invalid "
                         f"({_reasons(h.invalid_replies_by_reason)}), left out of the rates.")
    for q in quality:
        if q.n_invalid:
            notes.append(f"Quality of {q.method}: {q.n_invalid} invalid rating(s) ({_reasons(q.invalid_by_reason)}).")
    return notes


def _reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in reasons.items())


def _fmt(value: float | None, std: float | None = None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _pct(value: float | None, ci: list[float] | None = None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1%}" + (f" [{ci[0]:.1%}, {ci[1]:.1%}]" if ci else "")


def render_markdown(report: dict[str, Any], images: dict[str, str]) -> str:
    """report.md: the same numbers as report.json, as tables a person can read."""
    lines = ["# Evaluation report", "", f"Generated {report['created']} (schema `{report['schema']}`).", ""]
    lines += _inputs_section(report, images)
    lines += _diversity_section(report, images)
    if report["difficulty"]:
        lines += _difficulty_section(report, images)
    if report["quality"]:
        lines += _quality_section(report, images)
    if report["notes"]:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    lines += ["", "## Metrics (what `python -m evals check` compares)", "", "| metric | value | better |",
              "|---|---:|---|"]
    for name, value in report["metrics"].items():
        lines.append(f"| `{name}` | {_fmt(value, digits=4)} | {report['better'][name]} |")
    return "\n".join(lines) + "\n"


def _inputs_section(report: dict[str, Any], images: dict[str, str]) -> list[str]:
    lines = ["## Inputs", "", "| method | source | records | levels |", "|---|---|---:|---|"]
    for item in report["inputs"]:
        levels = ", ".join(f"{k}: {v}" for k, v in sorted(item["levels"].items()))
        lines.append(f"| {item['method']} | `{item['source']}` | {item['records']} | {levels} |")
    if "levels" in images:
        lines += ["", f"![instructions per level]({images['levels']})"]
    return lines


def _diversity_section(report: dict[str, Any], images: dict[str, str]) -> list[str]:
    """How diversity was scored (n, seeds, orders, tokenizer), one row per method, the most
    similar pairs."""
    config = report["config"]
    lines = ["", "## Diversity", ""]
    sample = config["resolved_sample_size"]
    seeds = config["seeds"]
    lines.append(
        f"Scored at n = {sample} instructions per method, mean ± std over seeds {seeds}."
        if sample else "Scored on whole sets (n per row)."
    )
    lines.append(f"SelfBLEU: BLEU-n for n = {config['orders']}, each sentence against all others, "
                 f"nltk smoothing method1, tokenizer `{config['tokenizer']}`; D_SB = 1 − mean SelfBLEU. "
                 "D_EB = 1 − mean pairwise cosine. Both fall as n grows: compare at equal n only.")
    orders = [str(o) for o in config["orders"]]
    lines += ["", "| method | n | SelfBLEU div. | " + " | ".join(f"BLEU-{o}" for o in orders)
              + " | Embedding div. | embedder |",
              "|---|---:|---:|" + "---:|" * len(orders) + "---:|---|"]
    for d in report["diversity"]:
        bleu = " | ".join(_fmt(d["selfbleu_by_order"].get(o)) for o in orders)
        lines.append(f"| {d['method']} | {d['n']} | {_fmt(d['selfbleu'], d['selfbleu_std'])} | {bleu} | "
                     f"{_fmt(d['embedding'], d['embedding_std'])} | {d['embedder'] or '—'} |")
    if "diversity" in images:
        lines += ["", f"![diversity]({images['diversity']})"]
    similar = [d for d in report["diversity"] if d["most_similar"]]
    if similar:
        lines += ["", "Most similar pairs (cosine, whole set):", ""]
        for d in similar:
            lines.append(f"- **{d['method']}**")
            for pair in d["most_similar"]:
                lines.append(f"  - {pair['cosine']:.3f}: “{pair['a']}” / “{pair['b']}”")
    return lines


def _difficulty_section(report: dict[str, Any], images: dict[str, str]) -> list[str]:
    lines = ["", "## Difficulty head-to-head", "",
             f"Judge: {report['difficulty'][0]['judge']}. Each article's sets are equal-size seeded samples, "
             "judged in both orders; a win or loss needs both orders to agree, otherwise a tie. "
             f"Intervals: {report['config']['ci_method']}. Invalid pairs are excluded from the rates.", "",
             "| A vs B | judged | win | tie | lose | invalid | win / (win + lose) | position bias | "
             "first-position picks |", "|---|---:|---|---|---|---:|---|---:|---:|"]
    for h in report["difficulty"]:
        judged = h["wins"] + h["ties"] + h["losses"]
        lines.append(
            f"| {h['method_a']} vs {h['method_b']} | {judged} | {_pct(h['win_rate'], h['win_ci'])} | "
            f"{_pct(h['tie_rate'], h['tie_ci'])} | {_pct(h['lose_rate'], h['lose_ci'])} | {h['invalid']} | "
            f"{_pct(h['decisive_win_rate'], h['decisive_win_ci'])} | {_pct(h['position_bias_rate'])} | "
            f"{_pct(h['first_position_rate'])} |"
        )
    if "difficulty" in images:
        lines += ["", f"![difficulty]({images['difficulty']})"]
    return lines


def _quality_section(report: dict[str, Any], images: dict[str, str]) -> list[str]:
    lines = ["", "## Answer quality", "", f"Judge: {report['quality'][0]['judge']}. Shares over valid ratings.",
             "", "| method | rated | invalid | fluency high / medium / low | completeness high / medium / low |",
             "|---|---:|---:|---|---|"]
    for q in report["quality"]:
        cells = [" / ".join(_pct(q["shares"][c][level]) for level in ("high", "medium", "low"))
                 for c in ("fluency", "completeness")]
        lines.append(f"| {q['method']} | {q['n_rated']} | {q['n_invalid']} | {cells[0]} | {cells[1]} |")
    if "quality" in images:
        lines += ["", f"![answer quality]({images['quality']})"]
    return lines


def write_report(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write report.json, report.md, quality_ratings.jsonl and the PNGs; returns what was written."""
    from evals import plots

    out_dir.mkdir(parents=True, exist_ok=True)
    levels = {item["method"]: item["levels"] for item in report.data["inputs"]}
    written: dict[str, Path] = {}
    for key, make in (
        ("diversity", lambda p: plots.plot_diversity(report.diversity, p)),
        ("difficulty", lambda p: plots.plot_difficulty(report.difficulty, p)),
        ("levels", lambda p: plots.plot_levels(levels, p)),
        ("quality", lambda p: plots.plot_quality(report.quality, p)),
    ):
        path = make(out_dir / f"{key}.png")
        if path is not None:
            written[key] = path
    images = {key: path.name for key, path in written.items()}
    written["report.json"] = out_dir / "report.json"
    written["report.json"].write_text(json_safe.dumps(report.data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written["report.md"] = out_dir / "report.md"
    written["report.md"].write_text(render_markdown(report.data, images), encoding="utf-8")
    if report.quality:
        written["quality_ratings.jsonl"] = out_dir / "quality_ratings.jsonl"
        with written["quality_ratings.jsonl"].open("w", encoding="utf-8") as handle:
            for summary in report.quality:
                for row in summary.ratings:
                    handle.write(json_safe.dumps({"method": summary.method, **row}, ensure_ascii=False) + "\n")
    return written
