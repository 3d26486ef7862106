"""PNG plots for the report (matplotlib, headless Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

_COLORS = {"win": "#2e7d32", "tie": "#9e9e9e", "lose": "#c62828",
           "high": "#2e7d32", "medium": "#f9a825", "low": "#c62828"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_diversity(results: Sequence[Any], path: Path) -> Path | None:
    """Bars per method for D_SB and D_EB, error bars = std over seeds, n under each label."""
    defined = [r for r in results if r.selfbleu is not None]
    if not defined:
        return None
    plt = _pyplot()
    panels = [("selfbleu", "SelfBLEU diversity")]
    if any(r.embedding is not None for r in defined):
        panels.append(("embedding", "Embedding diversity"))
    width = max(5.0, 1.6 * len(defined)) * len(panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(width, 4.2), squeeze=False)
    labels = [f"{r.method}\nn={r.n}" for r in defined]
    for ax, (key, title) in zip(axes[0], panels):
        values = [getattr(r, key) or 0.0 for r in defined]
        errors = [getattr(r, f"{key}_std") or 0.0 for r in defined]
        bars = ax.bar(labels, values, yerr=errors, capsize=6, color="#4c72b0", edgecolor="black", linewidth=0.6)
        for bar, value, error, result in zip(bars, values, errors, defined):
            text = f"{value:.3f}" if getattr(result, key) is not None else "n/a"
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, value + error), xytext=(0, 4),
                        textcoords="offset points", ha="center", fontsize=9)
        ax.set_title(title)
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("diversity (higher = more diverse)")
        ax.grid(axis="y", alpha=0.3)
    seeds = defined[0].seeds
    if seeds:
        subtitle = f"equal size, mean ± std over {len(seeds)} seeds"
    elif len({r.n for r in defined}) > 1:
        subtitle = "whole sets of different sizes: compare with care"
    else:
        subtitle = "whole sets"
    fig.suptitle(f"Diversity per method — {subtitle}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_difficulty(results: Sequence[Any], path: Path) -> Path | None:
    """Grouped win / tie / lose rates per head-to-head with 95% interval whiskers."""
    judged = [h for h in results if h.win_rate is not None]
    if not judged:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5.5, 2.4 * len(judged)), 4.4))
    width = 0.26
    for offset, outcome in zip((-width, 0.0, width), ("win", "tie", "lose")):
        rates = [getattr(h, f"{outcome}_rate") for h in judged]
        intervals = [getattr(h, f"{outcome}_ci") for h in judged]
        lower = [rate - ci[0] for rate, ci in zip(rates, intervals)]
        upper = [ci[1] - rate for rate, ci in zip(rates, intervals)]
        xs = [i + offset for i in range(len(judged))]
        ax.bar(xs, rates, width, yerr=[lower, upper], capsize=4, label=outcome, color=_COLORS[outcome],
               edgecolor="black", linewidth=0.6)
        for x, rate, ci in zip(xs, rates, intervals):
            ax.annotate(f"{rate:.0%}", (x, ci[1]), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(range(len(judged)))
    ax.set_xticklabels([f"{h.method_a}\nvs {h.method_b}\n({h.compared - h.invalid} articles)" for h in judged])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("share of judged articles")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"Difficulty head-to-head: A vs B\njudge: {judged[0].judge}; whiskers: 95% Wilson intervals",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_levels(level_counts: dict[str, dict[str, int]], path: Path) -> Path | None:
    """One horizontal bar per method, split into its levels, counts written on the segments."""
    if not any(level_counts.values()):
        return None
    plt = _pyplot()
    levels = sorted({level for counts in level_counts.values() for level in counts})
    methods = list(level_counts)[::-1]  # first input on top
    colors = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(9.0, 1.2 + 0.6 * len(methods)))
    left = [0] * len(methods)
    for index, level in enumerate(levels):
        counts = [level_counts[m].get(level, 0) for m in methods]
        bars = ax.barh(methods, counts, left=left, label=level, color=colors(index % 10), edgecolor="black",
                       linewidth=0.6)
        for bar, count in zip(bars, counts):
            if count:
                ax.annotate(str(count), (bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2),
                            ha="center", va="center", fontsize=8)
        left = [a + b for a, b in zip(left, counts)]
    ax.set_xlabel("instructions")
    ax.set_title("Instructions per level")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, title="level")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_quality(results: Sequence[Any], path: Path) -> Path | None:
    """100% stacked bars of high / medium / low per method, fluency and completeness."""
    rated = [q for q in results if q.n_rated]
    if not rated:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(max(5.0, 1.5 * len(rated)) * 2, 4.2), squeeze=False)
    for ax, criterion in zip(axes[0], ("fluency", "completeness")):
        bottom = [0.0] * len(rated)
        labels = [f"{q.method}\nn={q.n_rated}" for q in rated]
        for level in ("high", "medium", "low"):
            shares = [q.shares[criterion][level] for q in rated]
            ax.bar(labels, shares, bottom=bottom, label=level, color=_COLORS[level], edgecolor="black", linewidth=0.6)
            for i, share in enumerate(shares):
                if share >= 0.06:
                    ax.annotate(f"{share:.0%}", (i, bottom[i] + share / 2), ha="center", va="center", fontsize=8)
            bottom = [b + s for b, s in zip(bottom, shares)]
        ax.set_title(criterion.capitalize())
        ax.set_ylim(0, 1.0)
        ax.set_ylabel("share of rated answers")
    axes[0][1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9)
    fig.suptitle(f"Answer quality (judge: {rated[0].judge})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
