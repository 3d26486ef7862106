"""Scatter-foveation (paper §3.2, Algorithm 2): keyword groups, then direct synthesis.

Groups of one to three keywords, drawn from a pool where the core and major keywords appear
twice, force questions that connect entities mentioned in different places of the article.
"""

from __future__ import annotations

import random

import dspy

from foveate_dspy.runtime.calls import CallFailed, call_predictor
from foveate_dspy.method.extraction import ExtractionLog, dedupe, extract_valid, no_valid
from foveate_dspy.method.grouping import build_groups, group_sizes, keywords_needed
from foveate_dspy.corpus.language import output_language
from foveate_dspy.method.proposals import FoveationLevel, LevelFailed, Proposal, failed_batch, match_by_echo
from signatures.micro import ExtractKeywords
from signatures.scatter import DirectSynthesis, RegenerateFromKeywordGroup, SelectImportantKeywords

# The paper leaves the core/major counts open; these keep both present for any K.
CORE_SHARE = 1 / 8
MAJOR_SHARE = 1 / 4


class ScatterFoveate(FoveationLevel):
    name = "scatter"
    feature_field = "keyword_group"

    def __init__(self, rules: bool = True) -> None:
        super().__init__()
        self.rules = rules
        self.extract = dspy.Predict(ExtractKeywords)
        self.rank = dspy.Predict(SelectImportantKeywords)
        self.synthesize = dspy.Predict(DirectSynthesis)
        self.regenerate = dspy.Predict(RegenerateFromKeywordGroup)

    async def propose(self, article: str, n: int, rng: random.Random, log: ExtractionLog | None = None) -> list[Proposal]:
        log = log if log is not None else ExtractionLog(self.name, n)
        sizes = group_sizes(n)
        needed = keywords_needed(sizes)
        keywords = await extract_valid(
            self.extract,
            "scatter.extract",
            "keywords",
            self.feature_check(article),
            # Re-ask below n distinct keywords, not below K: the groups reuse keywords when there
            # are fewer than K (Algorithm 2's pool already repeats the important ones), but with
            # fewer than n some groups could only repeat others.
            n,
            log,
            "keyword",
            article=article,
            count=needed,
        )
        if not keywords:
            raise LevelFailed(f"keyword extraction returned no keywords{no_valid(log)}")
        core: list[str] = []
        major: list[str] = []
        try:
            ranked = await call_predictor(
                self.rank,
                "scatter.rank",
                article=article,
                keywords=keywords,
                core_count=max(1, round(len(keywords) * CORE_SHARE)),
                major_count=max(1, round(len(keywords) * MAJOR_SHARE)),
            )
            known = {k.casefold(): k for k in keywords}
            # Only keywords from the list may be doubled; anything invented is ignored.
            core = [known[k.casefold()] for k in dedupe(ranked.core_keywords or []) if k.casefold() in known]
            major = [known[k.casefold()] for k in dedupe(ranked.major_keywords or []) if k.casefold() in known]
        except CallFailed:
            pass  # ranking only enriches the pool; groups can still be built from the keywords
        groups = build_groups(keywords, core, major, sizes, rng)
        log.filled = len(groups)
        try:
            made = await call_predictor(
                self.synthesize, "scatter.synthesize", article=article, keyword_groups=groups, language=output_language()
            )
        except CallFailed as failure:
            return failed_batch(groups, failure.reason)
        return match_by_echo(groups, made.questions, lambda entry: entry.keywords, "keyword group")
