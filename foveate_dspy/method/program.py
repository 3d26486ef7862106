"""SelfFoveate: the whole method for one article, top-down as in the paper's Figure 2.

    article ──► micro   (keywords → reverse synthesis)      ┐
            ──► scatter (keyword groups → direct synthesis)  ├─► answer + reread ─► valid? ─► items
            ──► macro   (key sentences → transcription)      ┘        ▲                │ no
                                                                       └── re-synthesis ◄┘

Levels run concurrently, and so do the answers within a level; every LM call goes through
`calls.call_predictor`, which bounds requests in flight for the whole run. Each level's rules
(`rules.py`) filter its extraction and check every attempt; what extraction dropped or lacked is
returned per level as `extractions` (extraction.ExtractionLog). With `rules=False` (the
--no-rules ablation) none of them applies: only what validity.rejection_reason rejects (empty
answers, `answerable: false`, refusals) is rejected, as before the rules existed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import dspy

from foveate_dspy.method.answering import AnswerInstruction, answer_proposal
from foveate_dspy.method.article_program import ArticleProgram
from foveate_dspy.method.extraction import ExtractionLog
from foveate_dspy.method.proposals import FoveationLevel, LevelFailed
from foveate_dspy.method.level_names import LEVELS
from foveate_dspy.method.macro import MacroFoveate
from foveate_dspy.method.micro import MicroFoveate
from foveate_dspy.method.items import Item, LevelFailure
from foveate_dspy.method.resynthesis import DEMO_COUNT, MAX_RETRIES, Resynthesis
from foveate_dspy.method.rules import ItemCheck, feature_spans
from foveate_dspy.method.scatter import ScatterFoveate

class SelfFoveate(ArticleProgram):
    def __init__(
        self,
        levels: Sequence[str] = LEVELS,
        embedder: str = "minilm",
        max_retries: int = MAX_RETRIES,
        demo_count: int = DEMO_COUNT,
        reread: bool = True,
        resynthesis: bool = True,
        rules: bool = True,
    ) -> None:
        super().__init__()
        self.micro = MicroFoveate(embedder, rules=rules) if "micro" in levels else None
        self.scatter = ScatterFoveate(rules=rules) if "scatter" in levels else None
        self.macro = MacroFoveate(rules=rules) if "macro" in levels else None
        self.answerer = AnswerInstruction(reread=reread)
        self.resynthesis = Resynthesis(max_retries, demo_count) if resynthesis and max_retries > 0 else None
        self.rules = rules

    @property
    def levels(self) -> list[FoveationLevel]:
        return [lv for lv in (self.micro, self.scatter, self.macro) if lv is not None]

    async def aforward(
        self, article: str, n: int = 8, article_id: str = "article", seed: int | str = 0
    ) -> dspy.Prediction:
        outcomes = await asyncio.gather(*(self.run_level(lv, article, n, article_id, seed) for lv in self.levels))
        items = [item for level_items, _, _ in outcomes for item in level_items]
        failures = [failure for _, failure, _ in outcomes if failure is not None]
        extractions = [log for _, _, log in outcomes]
        return dspy.Prediction(results=items, level_failures=failures, extractions=extractions)

    async def run_level(
        self, level: FoveationLevel, article: str, n: int, article_id: str, seed: int | str
    ) -> tuple[list[Item], LevelFailure | None, ExtractionLog]:
        rng = random.Random(f"{seed}:{article_id}:{level.name}")
        log = ExtractionLog(level.name, n)
        try:
            proposals = await level.propose(article, n, rng, log)
        except LevelFailed as failure:
            return [], LevelFailure(article_id, level.name, str(failure)), log
        items = [
            Item(f"{article_id}:{level.name}:{i}", article_id, level.name, p.feature, feature_spans=feature_spans(article, p.feature, level.name))
            for i, p in enumerate(proposals)
        ]
        checks = [ItemCheck(level.name, article, item.feature) if self.rules else None for item in items]
        await asyncio.gather(
            *(answer_proposal(self.answerer, article, item, p, check) for item, p, check in zip(items, proposals, checks))
        )
        if self.resynthesis is not None:
            references = [item for item in items if item.accepted]
            await asyncio.gather(
                *(
                    self.resynthesis.retry(level, article, item, references, self.answerer, seed, check)
                    for item, check in zip(items, checks)
                    if not item.accepted
                )
            )
        return items, None, log
