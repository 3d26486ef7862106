"""The flat ``metrics`` section of report.json, which ``python -m evals check`` compares.

Names (METHOD, A, B are input names):

=========================================  ======  ==========================================
name                                       better  meaning
=========================================  ======  ==========================================
diversity.selfbleu.METHOD                  higher  D_SB (mean over seeds when sampled)
diversity.embedding.METHOD                 higher  D_EB (mean over seeds when sampled)
difficulty.A_vs_B.win_rate                 higher  pairs where both orders chose A / judged
difficulty.A_vs_B.decisive_win_rate        higher  wins / (wins + losses), as the paper's Table 5
difficulty.A_vs_B.lose_rate                lower   pairs where both orders chose B / judged
difficulty.A_vs_B.position_bias_rate       lower   pairs whose two orders disagreed / judged
difficulty.A_vs_B.invalid_rate             lower   pairs with an unusable reply / all pairs
quality.METHOD.fluency_high                higher  share rated high (over valid ratings)
quality.METHOD.completeness_high           higher
quality.METHOD.fluency_low                 lower
quality.METHOD.completeness_low            lower
quality.METHOD.invalid_rate                lower   unusable replies / rated records
=========================================  ======  ==========================================

A value is null when the metric is undefined (e.g. diversity of fewer than two instructions).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

HIGHER, LOWER = "higher", "lower"


def collect_metrics(
    diversity: Iterable[Any], difficulty: Iterable[Any], quality: Iterable[Any]
) -> tuple[dict[str, float | None], dict[str, str]]:
    """(metrics, better) from the eval results; ``better`` says which direction is good."""
    metrics: dict[str, float | None] = {}
    better: dict[str, str] = {}

    def put(name: str, value: float | None, direction: str) -> None:
        metrics[name] = None if value is None else float(value)
        better[name] = direction

    for d in diversity:
        put(f"diversity.selfbleu.{d.method}", d.selfbleu, HIGHER)
        if d.embedder is not None:
            put(f"diversity.embedding.{d.method}", d.embedding, HIGHER)
    for h in difficulty:
        prefix = f"difficulty.{h.method_a}_vs_{h.method_b}"
        put(f"{prefix}.win_rate", h.win_rate, HIGHER)
        put(f"{prefix}.decisive_win_rate", h.decisive_win_rate, HIGHER)
        put(f"{prefix}.lose_rate", h.lose_rate, LOWER)
        put(f"{prefix}.position_bias_rate", h.position_bias_rate, LOWER)
        put(f"{prefix}.invalid_rate", h.invalid / h.compared if h.compared else None, LOWER)
    for q in quality:
        prefix = f"quality.{q.method}"
        for criterion in ("fluency", "completeness"):
            put(f"{prefix}.{criterion}_high", q.shares[criterion]["high"], HIGHER)
            put(f"{prefix}.{criterion}_low", q.shares[criterion]["low"], LOWER)
        rated = q.n_rated + q.n_invalid
        put(f"{prefix}.invalid_rate", q.n_invalid / rated if rated else None, LOWER)
    return metrics, better
