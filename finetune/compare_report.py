"""The comparison's outputs: compare.json (everything), compare.md (Table 4) and compare.png
(bars per method, plus Figure 3's recall and accuracy against instructions per article)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any


def _cell(stat: dict[str, Any]) -> str:
    if stat["mean"] is None:
        return "n/a"
    if stat["std"] is None:
        return f"{stat['mean']:.3f}"
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}"


def _dropped(row: dict[str, Any]) -> str:
    cleaning = row.get("decontamination")
    return "-" if not cleaning else f"{cleaning['n_dropped']} of {cleaning['n_input']}"


def markdown_table(
    rows: list[dict[str, Any]], *, base_model: str, questions: Path, rag: dict[str, Any] | None = None
) -> str:
    """Table 4's shape: one row per run, recall and judged accuracy (± std over rounds)."""
    judges = sorted({(row["judge"], row["judge_kind"]) for row in rows})
    lines = [
        "# Downstream comparison",
        "",
        f"Base model: `{base_model}`; test questions: `{questions}` ({rows[0]['n_questions']} questions, "
        f"{rows[0]['rounds']} round(s)).",
        "Judge: " + "; ".join(f"`{name}` ({kind})" for name, kind in judges) + ".",
        "Accuracy counts Correct / (Correct + Incorrect); unparseable verdicts are listed apart.",
    ]
    if any(row.get("decontamination") for row in rows):
        spec = next(row["decontamination"] for row in rows if row.get("decontamination"))
        lines.append(
            f"Training data decontaminated against `{spec['against']}` (n-gram {spec['ngram']}, cosine "
            f"{spec['cosine']}); 'dropped' counts the records left out."
        )
    if rag is not None:
        absent = rag["test_paragraphs_absent"]
        lines.append(
            f"RAG row: BM25 ({rag['retriever']}) top-{rag['k']} of {rag['paragraphs']} paragraphs of "
            f"`{rag['corpus']}`; {absent} of the {rag['test_paragraphs']} test paragraphs are absent from it"
            + (" (their questions cannot retrieve their own paragraph)." if absent else ".")
        )
    lines += [
        "",
        "| run | method | per article | records | dropped | recall | accuracy | unparseable |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        per_article = "all" if row["per_article"] is None else str(row["per_article"])
        if row["n_records"] == 0:
            per_article = "-"
        lines.append(
            f"| {row['name']} | {row['method']} | {per_article} | {row['n_records']} | {_dropped(row)} | "
            f"{_cell(row['recall'])} | {_cell(row['accuracy'])} | {row['unparseable']} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Bars for the full-data runs; when sizes were run, recall and accuracy curves over
    instructions per article, one line per instruction source (Figure 3)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    full = [row for row in rows if row["per_article"] is None]
    curves: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["per_article"] is not None:
            curves[row["source"]].append(row)
    panels = 1 + (2 if curves else 0)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.2), squeeze=False)
    axes = axes[0]

    bars = axes[0]
    width = 0.38
    positions = range(len(full))
    for offset, metric in ((-width / 2, "recall"), (width / 2, "accuracy")):
        means = [row[metric]["mean"] or 0.0 for row in full]
        errors = [row[metric]["std"] or 0.0 for row in full]
        drawn = bars.bar([p + offset for p in positions], means, width, yerr=errors, capsize=3, label=metric)
        bars.bar_label(drawn, labels=[f"{m:.3f}" for m in means], fontsize=7, padding=2)
    bars.set_xticks(list(positions), [row["name"] for row in full], rotation=20, ha="right")
    bars.set_ylabel("score")
    bars.set_ylim(0, 1)
    bars.set_title("Recall and judged accuracy")
    bars.legend()

    for axis, metric in zip(axes[1:], ("recall", "accuracy"), strict=False):
        for source, points in sorted(curves.items()):
            points = sorted(points, key=lambda row: row["per_article"])
            axis.errorbar(
                [row["per_article"] for row in points],
                [row[metric]["mean"] or 0.0 for row in points],
                yerr=[row[metric]["std"] or 0.0 for row in points],
                marker="o",
                capsize=3,
                label=source,
            )
        sizes = sorted({row["per_article"] for points in curves.values() for row in points})
        axis.set_xscale("log", base=2)
        axis.set_xticks(sizes, [str(k) for k in sizes])
        axis.minorticks_off()
        axis.set_ylim(bottom=0)
        axis.set_xlabel("instructions per article")
        axis.set_ylabel(metric)
        axis.set_title(f"{metric.capitalize()} vs data scale")
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(
    rows: list[dict[str, Any]], out: Path, *, base_model: str, questions: Path, rag: dict[str, Any] | None = None
) -> None:
    out = Path(out)
    (out / "compare.json").write_text(
        json.dumps({"base_model": base_model, "questions": str(questions), "rag": rag, "runs": rows}, indent=2)
        + "\n",
        encoding="utf-8",
    )
    (out / "compare.md").write_text(
        markdown_table(rows, base_model=base_model, questions=questions, rag=rag), encoding="utf-8"
    )
    plot(rows, out / "compare.png")
