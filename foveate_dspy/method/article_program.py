"""The contract every data-synthesis program (Self-Foveate and the baselines) implements."""

from __future__ import annotations

import asyncio

import dspy


class ArticleProgram(dspy.Module):
    """Turns one article into items: `aforward(article, n, article_id, seed)` returns
    Prediction(results=[records.Item], level_failures=[records.LevelFailure]).

    Async first, because an article's calls are independent and the runner interleaves many
    articles on one event loop; `forward` runs the same coroutine for synchronous callers such as
    DSPy's teleprompters."""

    def forward(self, article: str, n: int = 8, article_id: str = "article", seed: int | str = 0) -> dspy.Prediction:
        return asyncio.run(self.aforward(article=article, n=n, article_id=article_id, seed=seed))

    async def aforward(
        self, article: str, n: int = 8, article_id: str = "article", seed: int | str = 0
    ) -> dspy.Prediction:
        raise NotImplementedError(f"{type(self).__name__} must implement aforward")
