"""Scatter keyword groups (paper appendix B.3, Algorithm 2).

n scatter instructions become a = floor(n/2.50) single-keyword groups, b = floor(n/2.25) pairs and
c = n - a - b triples. The pool is the extracted keywords plus the core and major ones again, so
important concepts turn up in several groups of different sizes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

RATIO_SINGLE = 2.50  # SCATTER_RATIO_A
RATIO_PAIR = 2.25  # SCATTER_RATIO_B


def group_sizes(n: int, ratio_single: float = RATIO_SINGLE, ratio_pair: float = RATIO_PAIR) -> tuple[int, int, int]:
    """(singles, pairs, triples) for n scatter instructions."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    singles = math.floor(n / ratio_single)
    pairs = math.floor(n / ratio_pair)
    return singles, pairs, n - singles - pairs


def keywords_needed(sizes: tuple[int, int, int]) -> int:
    """K = a + 2b + 3c: how many keywords to ask the teacher for."""
    singles, pairs, triples = sizes
    return singles + 2 * pairs + 3 * triples


def build_groups(
    keywords: Sequence[str],
    core: Sequence[str],
    major: Sequence[str],
    sizes: tuple[int, int, int],
    rng: random.Random,
) -> list[list[str]]:
    """Shuffle keywords + core + major and cut them into groups of 1, 2 and 3.

    A group never holds the same keyword twice (the pool repeats core and major ones on purpose);
    when the teacher returned too few keywords the pool is reshuffled and reused, and a group
    shrinks only when fewer distinct keywords exist than its size."""
    pool = [k for k in [*keywords, *core, *major] if k.strip()]
    distinct = {k.casefold() for k in pool}
    if not pool:
        return []
    rng.shuffle(pool)
    queue = list(pool)
    groups: list[list[str]] = []
    for size in [1] * sizes[0] + [2] * sizes[1] + [3] * sizes[2]:
        group: list[str] = []
        target = min(size, len(distinct))
        while len(group) < target:
            if not queue:
                queue = list(pool)
                rng.shuffle(queue)
            taken = {g.casefold() for g in group}
            pick = next((i for i, k in enumerate(queue) if k.casefold() not in taken), None)
            if pick is None:  # everything left is already in this group: refill
                queue = []
                continue
            group.append(queue.pop(pick))
        groups.append(group)
    return groups
