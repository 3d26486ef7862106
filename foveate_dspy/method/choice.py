"""Which program synthesises the data (`--method`).

Every method returns items in the same shape (records.Item), runs under the same runner, store,
teacher and budget, so the evals compare like with like. This module stays free of heavy imports
(the CLI reads METHODS for `--help`); each factory imports its program when called.

Budget: the runner hands every program n per level. Self-Foveate makes n per active level; a
baseline makes n × (number of active --levels) pairs in its single pass, so runs that differ only
in --method aim at the same number of pairs per article.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dspy

    from foveate_dspy.runtime.runner import RunSettings


def _self_foveate(settings: RunSettings) -> dspy.Module:
    from foveate_dspy.method.program import SelfFoveate

    return SelfFoveate(
        levels=settings.levels,
        embedder=settings.embedder,
        max_retries=settings.max_retries,
        demo_count=settings.demo_count,
        reread=settings.reread,
        resynthesis=settings.resynthesis,
        rules=settings.rules,
    )


def _self_qa(settings: RunSettings) -> dspy.Module:
    from foveate_dspy.baselines import offline_rules  # noqa: F401  (teaches the offline teacher)
    from foveate_dspy.baselines.self_qa import SelfQA

    return SelfQA(multiplier=len(settings.levels))


def _wiki2023(settings: RunSettings) -> dspy.Module:
    from foveate_dspy.baselines import offline_rules  # noqa: F401  (teaches the offline teacher)
    from foveate_dspy.baselines.wiki2023 import Wiki2023

    return Wiki2023(multiplier=len(settings.levels))


METHODS: dict[str, Callable[[RunSettings], dspy.Module]] = {
    "self-foveate": _self_foveate,
    "self-qa": _self_qa,
    "wiki2023": _wiki2023,
}


def output_levels(settings: RunSettings) -> tuple[str, ...]:
    """The `level` values the method's items carry: the foveation levels, or the baseline's name."""
    return settings.levels if settings.method == "self-foveate" else (settings.method,)


def build_program(settings: RunSettings) -> dspy.Module:
    """The program for `settings.method`; its acall(article, n, article_id, seed) returns
    Prediction(results=[Item...], level_failures=[LevelFailure...])."""
    try:
        factory = METHODS[settings.method]
    except KeyError:
        raise ValueError(f"unknown method {settings.method!r}; choose from {', '.join(METHODS)}") from None
    return factory(settings)

