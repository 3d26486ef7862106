"""Which program synthesises the data (`--method`).

Every method returns items in the same shape (records.Item), runs under the same runner, store,
teacher and budget, so the evals compare like with like.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import dspy

if TYPE_CHECKING:
    from foveate_dspy.runner import RunSettings


def _self_foveate(settings: RunSettings) -> dspy.Module:
    from foveate_dspy.program import SelfFoveate

    return SelfFoveate(
        levels=settings.levels,
        embedder=settings.embedder,
        max_retries=settings.max_retries,
        demo_count=settings.demo_count,
        reread=settings.reread,
        resynthesis=settings.resynthesis,
    )


METHODS: dict[str, Callable[[RunSettings], dspy.Module]] = {"self-foveate": _self_foveate}


def build_program(settings: RunSettings) -> dspy.Module:
    """The program for `settings.method`; its acall(article, n, article_id, seed) returns
    Prediction(results=[Item...], level_failures=[LevelFailure...])."""
    try:
        factory = METHODS[settings.method]
    except KeyError:
        raise ValueError(f"unknown method {settings.method!r}; choose from {', '.join(METHODS)}") from None
    return factory(settings)
